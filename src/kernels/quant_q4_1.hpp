// GGML's Q4_1 block format: 32 values as 4-bit unsigned codes with an f16 scale d and an f16
// offset m, value = d·q + m. Unlike Q4_0 the offset is free, which is what AWQ/GPTQ groups
// (w = s·(q - z)) repack into losslessly: d = s, m = -s·z.
#pragma once

#include <cstdint>

namespace sgl::kernels {

constexpr int kQK4_1 = 32;
struct BlockQ4_1 {
  uint16_t d;  // f16 scale
  uint16_t m;  // f16 offset (the block minimum for GGML's quantizer)
  uint8_t qs[kQK4_1 / 2];  // element j in the low nibble of qs[j], element j+16 in the high nibble
};
static_assert(sizeof(BlockQ4_1) == 20);

// n a multiple of 32. GGML's reference rounding: d = (max - min)/15, m = min,
// q = min(15, (int)((x - min)/d + 0.5)).
void quantize_row_q4_1(const float* src, BlockQ4_1* dst, int64_t n);
void dequantize_row_q4_1(const BlockQ4_1* src, float* dst, int64_t n);

}  // namespace sgl::kernels
