// GGML's K-quant super-block formats (256 values per block) and the 5-bit 32-value formats
// Q5_0 / Q5_1, with their scalar reference (de)quantizers. Layouts match ggml-common.h byte for
// byte (little-endian, packed), so GGUF files written by either side load in the other.
//
// Value of element i of a block (the definitions the SIMD kernels must agree with):
//   Q4_K: sub-block j = i/32 has a 6-bit scale sc_j and min m_j (packed in `scales`, see
//         kq_scale_min); 64-value chunk c = i/64 stores sub-block 2c in the low nibbles of
//         qs[32c..32c+32) and 2c+1 in the high nibbles;   x = d·sc_j·q - dmin·m_j.
//   Q5_K: as Q4_K plus a fifth bit: bit (2c) / (2c+1) of qh[i%32] for the low / high nibble.
//   Q6_K: 128-value halves h; within a half, l = i%32 and quarter k = (i%128)/32:
//         low 4 bits in ql[64h + l + 32·(k&1)] (low nibble for k<2, high for k>=2), high 2 bits
//         at bit 2k of qh[32h + l];  x = d·scales[i/16]·(q - 32).
//   Q3_K: 2 low bits at shift 2·((i%128)/32) of qs[32·(i/128) + i%32], third bit at bit i/32 of
//         hmask[i%32] (clear = subtract 4); 16 6-bit signed scales (minus 32) packed in 12 bytes;
//         x = d·(s - 32)·(q - 4·!hbit).
//   Q2_K: 2 bits as Q3_K's low bits; scales[i/16] holds a 4-bit scale (low) and min (high);
//         x = d·sc·q - dmin·m.
//   Q5_0: x = d·(q - 16), q = nibble | bit j of qh (as little-endian u32) << 4, element j in the
//         low nibble of qs[j], j+16 in the high nibble.   Q5_1: x = d·q + m.
#pragma once

#include <cstdint>

#include "kernels/dtype.hpp"

namespace sgl::kernels {

constexpr int kQK_K = 256;

struct BlockQ4K {
  uint16_t d;       // f16 scale of the sub-block scales
  uint16_t dmin;    // f16 scale of the sub-block mins
  uint8_t scales[12];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ4K) == 144);

struct BlockQ5K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ5K) == 176);

struct BlockQ6K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  uint16_t d;
};
static_assert(sizeof(BlockQ6K) == 210);

struct BlockQ3K {
  uint8_t hmask[kQK_K / 8];
  uint8_t qs[kQK_K / 4];
  uint8_t scales[12];
  uint16_t d;
};
static_assert(sizeof(BlockQ3K) == 110);

struct BlockQ2K {
  uint8_t scales[kQK_K / 16];
  uint8_t qs[kQK_K / 4];
  uint16_t d;
  uint16_t dmin;
};
static_assert(sizeof(BlockQ2K) == 84);

struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ5_0) == 22);

struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ5_1) == 24);

// Sub-block j (0..7) of Q4_K / Q5_K's 12 packed bytes: 6-bit scale and min. Bytes 0-3 hold the
// scales of 0-3, bytes 4-7 the mins of 0-3 (low 6 bits); sub-blocks 4-7 keep their low 4 bits in
// bytes 8-11 (scale low nibble, min high nibble) and their top 2 bits in bits 6-7 of bytes 0-7.
inline void kq_scale_min(const uint8_t* s, int j, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
  }
}

// Q3_K's 6-bit scale j (0..15) before the -32: low 4 bits from byte j (j<8) or the high nibble of
// byte j-8; high 2 bits from byte 8 + j%4 at shift 2·(j/4).
inline int kq3_scale(const uint8_t* s, int j) {
  const int lo = j < 8 ? (s[j] & 0x0f) : (s[j - 8] >> 4);
  const int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
  return lo | (hi << 4);
}

// True for the types this file (de)quantizes.
bool is_kq_family(DType t);

// Scalar reference; n must be a multiple of the type's block size.
void dequantize_row_kq(DType t, const void* src, float* dst, int64_t n);
// GGML's reference quantizers (same search over scales, same rounding; Q3_K uses the weighted
// scale search of Q6_K instead of GGML's make_q3_quants). Worst-case error per element is
// bounded by the grid spacing of its sub-block (see test_quant_k.cpp for the bounds tested).
void quantize_row_kq(DType t, const float* src, void* dst, int64_t n);

}  // namespace sgl::kernels
