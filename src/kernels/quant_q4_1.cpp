#include "kernels/quant_q4_1.hpp"

#include <algorithm>

#include "kernels/half.hpp"

namespace sgl::kernels {

void quantize_row_q4_1(const float* src, BlockQ4_1* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK4_1; ++i) {
    const float* x = src + i * kQK4_1;
    float lo = x[0], hi = x[0];
    for (int j = 1; j < kQK4_1; ++j) {
      lo = std::min(lo, x[j]);
      hi = std::max(hi, x[j]);
    }
    // Codes are computed from the f32 d and min (as GGML does), not their f16 roundings.
    const float d = (hi - lo) / 15.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    dst[i].d = f32_to_f16(d);
    dst[i].m = f32_to_f16(lo);
    for (int j = 0; j < kQK4_1 / 2; ++j) {
      const int q0 = std::min(15, static_cast<int>((x[j] - lo) * id + 0.5f));
      const int q1 = std::min(15, static_cast<int>((x[j + kQK4_1 / 2] - lo) * id + 0.5f));
      dst[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

void dequantize_row_q4_1(const BlockQ4_1* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK4_1; ++i) {
    const float d = f16_to_f32(src[i].d), m = f16_to_f32(src[i].m);
    for (int j = 0; j < kQK4_1 / 2; ++j) {
      dst[i * kQK4_1 + j] = (src[i].qs[j] & 0x0f) * d + m;
      dst[i * kQK4_1 + j + kQK4_1 / 2] = (src[i].qs[j] >> 4) * d + m;
    }
  }
}

}  // namespace sgl::kernels
