// K-quant and 5-bit block formats: dequantization of blocks built by hand from the format
// definitions (GGML's ggml-common.h layouts, restated in kernels/quant_k.hpp), and the reference
// quantizers' error on random data.
//
// Error bounds (quantize -> dequantize, per type): every element lies within half a grid step of
// its sub-block plus the error of the quantized sub-block scale/min, which is at most half a step
// of the super-block grid times the sub-block's level count. We check, on Gaussian data of mixed
// magnitudes, (a) the relative RMS error ||x - x̂|| / ||x|| and (b) the worst element error
// relative to its super-block's max |x|, both against the bounds in kBounds (observed values
// are 55-90% of them). Q5_0 maps the block's signed extreme to -16, so a value of the opposite
// sign near +amax clamps at 15: one full step, amax/16. The quantizers are GGML's reference
// algorithms: identical bytes for all types but Q3_K (checked out of tree against libggml).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/half.hpp"
#include "kernels/quant.hpp"
#include "kernels/quant_k.hpp"
#include "sgl/error.hpp"

namespace sgl::kernels {
namespace {

// Sub-block scales/mins chosen to exercise every bit of the 6-bit packing.
constexpr uint8_t kSc[8] = {1, 2, 3, 4, 17, 33, 63, 48};
constexpr uint8_t kMn[8] = {0, 1, 5, 63, 2, 16, 40, 7};

// The 12 bytes written straight from the layout: bytes 0-3 scale j (6 bits) + top 2 bits of scale
// j+4; bytes 4-7 min j + top 2 bits of min j+4; bytes 8-11 low nibbles of scale/min j+4.
void pack_by_hand(uint8_t* s) {
  for (int j = 0; j < 4; ++j) {
    s[j] = static_cast<uint8_t>(kSc[j] | ((kSc[j + 4] >> 4) << 6));
    s[j + 4] = static_cast<uint8_t>(kMn[j] | ((kMn[j + 4] >> 4) << 6));
    s[j + 8] = static_cast<uint8_t>((kSc[j + 4] & 15) | ((kMn[j + 4] & 15) << 4));
  }
}

TEST_CASE("Q4_K block built by hand dequantizes exactly") {
  BlockQ4K b{};
  b.d = 0x3C00;     // 1.0
  b.dmin = 0x3800;  // 0.5
  pack_by_hand(b.scales);
  // Chunk c: low nibbles are sub-block 2c, high nibbles sub-block 2c+1.
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l) b.qs[32 * c + l] = static_cast<uint8_t>((l % 16) | ((15 - l % 16) << 4));
  std::vector<float> y(256);
  dequantize_row(DType::Q4_K, &b, y.data(), 256);
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      CHECK(y[64 * c + l] == kSc[2 * c] * (l % 16) - 0.5f * kMn[2 * c]);
      CHECK(y[64 * c + 32 + l] == kSc[2 * c + 1] * (15 - l % 16) - 0.5f * kMn[2 * c + 1]);
    }
  }
}

TEST_CASE("Q5_K block built by hand dequantizes exactly") {
  BlockQ5K b{};
  b.d = 0x3800;     // 0.5
  b.dmin = 0x3C00;  // 1.0
  pack_by_hand(b.scales);
  auto q = [](int k) { return (k * 5 + 3) % 32; };
  for (int k = 0; k < 256; ++k) {
    const int c = k / 64, l = k % 32, hi = (k % 64) >= 32;
    b.qs[32 * c + l] |= static_cast<uint8_t>((q(k) & 15) << (4 * hi));
    b.qh[l] |= static_cast<uint8_t>((q(k) >> 4) << (2 * c + hi));
  }
  std::vector<float> y(256);
  dequantize_row(DType::Q5_K, &b, y.data(), 256);
  for (int k = 0; k < 256; ++k) CHECK(y[k] == 0.5f * kSc[k / 32] * q(k) - 1.0f * kMn[k / 32]);
}

TEST_CASE("Q6_K block built by hand dequantizes exactly") {
  BlockQ6K b{};
  b.d = 0x3400;  // 0.25
  for (int j = 0; j < 16; ++j) b.scales[j] = static_cast<int8_t>(j * 9 - 70);
  auto q = [](int k) { return (k * 7 + 1) % 64; };
  for (int k = 0; k < 256; ++k) {
    const int h = k / 128, l = k % 32, quarter = (k % 128) / 32;
    b.ql[64 * h + l + 32 * (quarter & 1)] |= static_cast<uint8_t>((q(k) & 15) << (quarter < 2 ? 0 : 4));
    b.qh[32 * h + l] |= static_cast<uint8_t>((q(k) >> 4) << (2 * quarter));
  }
  std::vector<float> y(256);
  dequantize_row(DType::Q6_K, &b, y.data(), 256);
  for (int k = 0; k < 256; ++k) CHECK(y[k] == 0.25f * b.scales[k / 16] * (q(k) - 32));
}

TEST_CASE("Q3_K and Q2_K blocks built by hand dequantize exactly") {
  auto q2 = [](int k) { return (k * 3 + k / 7) % 4; };
  SUBCASE("Q3_K") {
    BlockQ3K b{};
    b.d = 0x3C00;
    // 6-bit scale j = 4j + 1: low 4 bits in byte j (j<8) / high nibble of byte j-8, top 2 bits at
    // shift 2·(j/4) of byte 8 + j%4.
    for (int j = 0; j < 16; ++j) {
      const int s = 4 * j + 1;
      if (j < 8)
        b.scales[j] |= static_cast<uint8_t>(s & 15);
      else
        b.scales[j - 8] |= static_cast<uint8_t>((s & 15) << 4);
      b.scales[8 + j % 4] |= static_cast<uint8_t>((s >> 4) << (2 * (j / 4)));
    }
    for (int k = 0; k < 256; ++k) {
      b.qs[32 * (k / 128) + k % 32] |= static_cast<uint8_t>(q2(k) << (2 * ((k % 128) / 32)));
      if (k % 3 == 0) b.hmask[k % 32] |= static_cast<uint8_t>(1 << (k / 32));
    }
    std::vector<float> y(256);
    dequantize_row(DType::Q3_K, &b, y.data(), 256);
    for (int k = 0; k < 256; ++k)
      CHECK(y[k] == static_cast<float>((4 * (k / 16) + 1 - 32) * (q2(k) - (k % 3 == 0 ? 0 : 4))));
  }
  SUBCASE("Q2_K") {
    BlockQ2K b{};
    b.d = 0x3C00;     // 1.0
    b.dmin = 0x3800;  // 0.5
    for (int j = 0; j < 16; ++j) b.scales[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
    for (int k = 0; k < 256; ++k)
      b.qs[32 * (k / 128) + k % 32] |= static_cast<uint8_t>(q2(k) << (2 * ((k % 128) / 32)));
    std::vector<float> y(256);
    dequantize_row(DType::Q2_K, &b, y.data(), 256);
    for (int k = 0; k < 256; ++k) CHECK(y[k] == (k / 16) * q2(k) - 0.5f * (15 - k / 16));
  }
}

TEST_CASE("Q5_0 and Q5_1 blocks built by hand dequantize exactly") {
  auto q = [](int j) { return (j * 11 + 4) % 32; };
  uint32_t qh = 0;
  uint8_t qs[16] = {};
  for (int j = 0; j < 32; ++j) {
    qs[j % 16] |= static_cast<uint8_t>((q(j) & 15) << (j < 16 ? 0 : 4));
    qh |= static_cast<uint32_t>(q(j) >> 4) << j;
  }
  BlockQ5_0 a{};
  a.d = 0x4000;  // 2.0
  std::memcpy(a.qh, &qh, 4);
  std::memcpy(a.qs, qs, 16);
  BlockQ5_1 b{};
  b.d = 0x3800;  // 0.5
  b.m = 0xBC00;  // -1.0
  std::memcpy(b.qh, &qh, 4);
  std::memcpy(b.qs, qs, 16);
  std::vector<float> ya(32), yb(32);
  dequantize_row(DType::Q5_0, &a, ya.data(), 32);
  dequantize_row(DType::Q5_1, &b, yb.data(), 32);
  for (int j = 0; j < 32; ++j) {
    CHECK(ya[j] == 2.0f * (q(j) - 16));
    CHECK(yb[j] == 0.5f * q(j) - 1.0f);
  }
}

struct Bound {
  DType t;
  double rel_rms;    // ||x - x̂|| / ||x||
  double rel_max;    // max |x - x̂| / max|x| of the element's super-block
};
constexpr Bound kBounds[] = {
    {DType::Q2_K, 0.42, 0.40}, {DType::Q3_K, 0.22, 0.20}, {DType::Q4_K, 0.11, 0.10}, {DType::Q5_K, 0.055, 0.05},
    {DType::Q6_K, 0.028, 0.025}, {DType::Q5_0, 0.065, 0.07}, {DType::Q5_1, 0.055, 0.04},
};

TEST_CASE("quantize -> dequantize error stays within the per-type bound") {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const int64_t n = 256 * 24;
  std::vector<float> x(n);
  for (int64_t i = 0; i < n; ++i) x[i] = nd(rng) * static_cast<float>(1 + (i / 256) % 5) * 0.01f;
  for (const Bound& b : kBounds) {
    CAPTURE(dtype_name(b.t));
    std::vector<uint8_t> q(row_bytes(b.t, n));
    std::vector<float> y(n);
    quantize_row(b.t, x.data(), q.data(), n);
    dequantize_row(b.t, q.data(), y.data(), n);
    double se = 0, sx = 0, worst = 0;
    for (int64_t s = 0; s < n / 256; ++s) {
      float amax = 0;
      for (int i = 0; i < 256; ++i) amax = std::max(amax, std::fabs(x[s * 256 + i]));
      for (int i = 0; i < 256; ++i) {
        const double e = y[s * 256 + i] - x[s * 256 + i];
        se += e * e;
        sx += static_cast<double>(x[s * 256 + i]) * x[s * 256 + i];
        worst = std::max(worst, std::fabs(e) / amax);
      }
    }
    MESSAGE(dtype_name(b.t), ": rel rms ", std::sqrt(se / sx), ", rel max ", worst);
    CHECK(std::sqrt(se / sx) <= b.rel_rms);
    CHECK(worst <= b.rel_max);
  }
}

TEST_CASE("all-zero and constant rows survive quantization") {
  for (const Bound& b : kBounds) {
    CAPTURE(dtype_name(b.t));
    std::vector<float> zero(512, 0.0f), cst(512, 0.75f), y(512);
    std::vector<uint8_t> q(row_bytes(b.t, 512));
    quantize_row(b.t, zero.data(), q.data(), 512);
    dequantize_row(b.t, q.data(), y.data(), 512);
    for (float v : y) CHECK(v == 0.0f);
    quantize_row(b.t, cst.data(), q.data(), 512);
    dequantize_row(b.t, q.data(), y.data(), 512);
    for (float v : y) CHECK(std::fabs(v - 0.75f) <= 0.75f * b.rel_max);
  }
}

}  // namespace
}  // namespace sgl::kernels
