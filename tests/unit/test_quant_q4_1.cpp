// Q4_1 reference (de)quantization: hand-made blocks pin the GGML layout (f16 d, f16 m, element j
// in the low nibble of qs[j], j+16 in the high nibble, value = d·q + m), quantize's error bound,
// and the dtype table entry. The cpu kernels are checked against ref in test_kernels_cpu.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/dtype.hpp"
#include "kernels/half.hpp"
#include "kernels/quant.hpp"
#include "kernels/quant_q4_1.hpp"

namespace sgl::kernels {
namespace {

TEST_CASE("Q4_1 dtype entry") {
  const DTypeInfo& i = dtype_info(DType::Q4_1);
  CHECK(i.name == "Q4_1");
  CHECK(i.block_elems == 32);
  CHECK(i.block_bytes == 20);
  CHECK(i.supported);
  CHECK(row_bytes(DType::Q4_1, 96) == 60);
}

TEST_CASE("Q4_1 dequantizes hand-made blocks") {
  // Block 0: d = 0.5, m = -2, qs[j] = j (low) | (15 - j) (high).
  // Block 1: d = 0.25, m = 1, every byte 0xf3 (low 3, high 15).
  uint8_t bytes[40];
  const uint16_t d0 = f32_to_f16(0.5f), m0 = f32_to_f16(-2.0f), d1 = f32_to_f16(0.25f), m1 = f32_to_f16(1.0f);
  std::memcpy(bytes + 0, &d0, 2);
  std::memcpy(bytes + 2, &m0, 2);
  for (int j = 0; j < 16; ++j) bytes[4 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  std::memcpy(bytes + 20, &d1, 2);
  std::memcpy(bytes + 22, &m1, 2);
  for (int j = 0; j < 16; ++j) bytes[24 + j] = 0xf3;
  float out[64];
  dequantize_row(DType::Q4_1, bytes, out, 64);
  for (int j = 0; j < 16; ++j) {
    CAPTURE(j);
    CHECK(out[j] == 0.5f * j - 2.0f);
    CHECK(out[j + 16] == 0.5f * (15 - j) - 2.0f);
    CHECK(out[32 + j] == 0.25f * 3 + 1.0f);
    CHECK(out[48 + j] == 0.25f * 15 + 1.0f);
  }
}

TEST_CASE("Q4_1 quantize: exact grids round-trip, codes follow GGML's rule") {
  // Values m + d·q with f16-exact d and m and every code used: quantize must give them back.
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = -1.5f + 0.125f * static_cast<float>((j * 7) % 16);
  std::vector<uint8_t> q(20);
  quantize_row(DType::Q4_1, x.data(), q.data(), 32);
  BlockQ4_1 b;
  std::memcpy(&b, q.data(), 20);
  CHECK(f16_to_f32(b.d) == 0.125f);
  CHECK(f16_to_f32(b.m) == -1.5f);
  for (int j = 0; j < 16; ++j) {
    CHECK((b.qs[j] & 0x0f) == (j * 7) % 16);
    CHECK((b.qs[j] >> 4) == ((j + 16) * 7) % 16);
  }
  std::vector<float> back(32);
  dequantize_row(DType::Q4_1, q.data(), back.data(), 32);
  CHECK(back == x);

  // A constant block: d = 0, every value is m.
  std::vector<float> c(32, 0.75f);
  quantize_row(DType::Q4_1, c.data(), q.data(), 32);
  dequantize_row(DType::Q4_1, q.data(), back.data(), 32);
  CHECK(back == c);
}

TEST_CASE("Q4_1 quantize error bound on random rows") {
  // Codes come from the f32 d and min; the stored f16 d, m add their rounding:
  // |x - x̂| <= d/2 + 15·|d - d16| + |min - m16| (+ f32 slack).
  std::mt19937 rng(7);
  for (float scale : {1e-3f, 1.0f, 300.0f}) {
    std::uniform_real_distribution<float> dist(-scale, scale * 0.5f);
    std::vector<float> x(32 * 64);
    for (float& v : x) v = dist(rng);
    std::vector<uint8_t> q(row_bytes(DType::Q4_1, static_cast<int64_t>(x.size())));
    quantize_row(DType::Q4_1, x.data(), q.data(), static_cast<int64_t>(x.size()));
    std::vector<float> back(x.size());
    dequantize_row(DType::Q4_1, q.data(), back.data(), static_cast<int64_t>(x.size()));
    int bad = 0;
    for (size_t b = 0; b < x.size() / 32; ++b) {
      float lo = x[b * 32], hi = x[b * 32];
      for (int j = 0; j < 32; ++j) lo = std::min(lo, x[b * 32 + j]), hi = std::max(hi, x[b * 32 + j]);
      const float d = (hi - lo) / 15;
      const float d16 = f16_to_f32(f32_to_f16(d)), m16 = f16_to_f32(f32_to_f16(lo));
      const double bound = d / 2 + 15 * std::fabs(d - d16) + std::fabs(lo - m16) + 1e-6 * (std::fabs(hi) + std::fabs(lo));
      for (int j = 0; j < 32; ++j)
        if (!(std::fabs(x[b * 32 + j] - back[b * 32 + j]) <= bound)) ++bad;
    }
    CAPTURE(scale);
    CHECK(bad == 0);
  }
}

}  // namespace
}  // namespace sgl::kernels
