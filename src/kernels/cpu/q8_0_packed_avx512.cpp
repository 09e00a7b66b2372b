// Q8_0 weights repacked at load for the AVX-512 kernels: 16 output rows interleaved ("q8_0x16"),
// the Q4_0 layout of q4_0_packed_avx512.cpp with bytes instead of nibbles.
//
// Why: the plain GGML layout (34-byte blocks) costs the GEMV a scale conversion and broadcast per
// row and block, a -128·Σw correction per weight register and a horizontal sum per row; decode
// then runs at about half the machine's bandwidth. Interleaved, lane j of every 512-bit load is
// row j: 16 scales convert in one vcvtph2ps, vpdpbusd takes a broadcast of 4 activation bytes,
// and the accumulator's lanes are the 16 outputs.
//
// vpdpbusd multiplies unsigned by signed bytes. The weights are stored as w ^ 0x80 = w + 128
// (unsigned) and the activations stay signed, so Σ(w+128)·a = Σw·a + 128·Σa: the accumulator
// starts at 128·(-Σa), which the Q4_0 prepared activations already carry (kernels_avx512.cpp:
// per 64 columns 64 int8, 16 f32 scale lanes, 16 s32 lanes of -Σa). CpuBackend therefore
// prepares Q4_0-layout activations for packed Q8_0 weights.
//
// Group layout: pairs of blocks (nb = cols/32; an odd last block leaves its pair half zero),
// 1088 B = 17 cache lines each:
//   pair p at p·1088: 64 B of f16 row scales (block 2p's 16, then block 2p+1's 16), then block
//   2p's and block 2p+1's bytes, 512 B each. A block's bytes are 8 chunks of 64 B; chunk c's lane
//   j (4 bytes) is values 4c..4c+3 of row j, each XOR 0x80.
// Rows past the matrix's end are zero with scale 0, so they contribute nothing and are not stored.
#include <immintrin.h>

#include <cstring>

// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*, which trips these.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/cpu/cpu_kernels.hpp"

namespace sgl::kernels::cpu {
namespace {

#define SGL_INLINE inline __attribute__((always_inline))

constexpr int kRows = kAvx512PackRows;
constexpr size_t kBlockBytes = 34;      // BlockQ8_0: f16 d, 32 int8
constexpr size_t kActPairBytes = 192;   // Q4_0 prepared activations per 64 columns
constexpr size_t kPairBytes = 64 + 2 * 512;
constexpr int kPrefetchBytes = 4096;    // ~4 pairs ahead of the current one

inline size_t scales_at(int64_t b) { return static_cast<size_t>(b >> 1) * kPairBytes + 32 * static_cast<size_t>(b & 1); }
inline size_t qs_at(int64_t b) {
  return static_cast<size_t>(b >> 1) * kPairBytes + 64 + 512 * static_cast<size_t>(b & 1);
}

SGL_INLINE __m512i bcast32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// acc[t] (lane j = row j) += the group's dot products with T prepared activation rows.
template <int T>
SGL_INLINE void q8_0x16_group(const uint8_t* gp, int64_t nb, const uint8_t* const* a, __m512 (&acc)[T]) {
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* q = gp + qs_at(b);
    if ((b & 1) == 0) {
      const char* ahead = reinterpret_cast<const char*>(gp + scales_at(b) + kPrefetchBytes);
#pragma GCC unroll 17
      for (int i = 0; i < static_cast<int>(kPairBytes / 64); ++i) _mm_prefetch(ahead + 64 * i, _MM_HINT_T0);
    }
    __m512i w[8];
#pragma GCC unroll 8
    for (int c = 0; c < 8; ++c) w[c] = _mm512_load_si512(q + 64 * c);
    const __m512 ws = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(gp + scales_at(b))));
    const size_t off = static_cast<size_t>(b >> 1) * kActPairBytes + 32 * static_cast<size_t>(b & 1);
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
      const uint8_t* sb = a[t] + off;
      int32_t neg_sum;
      float da;
      std::memcpy(&neg_sum, sb + 128, 4);
      std::memcpy(&da, sb + 64, 4);
      // Two independent chains (values 0-15 / 16-31) halve the dependent dpbusd latency.
      __m512i s0 = _mm512_set1_epi32(128 * neg_sum), s1 = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) {
        s0 = _mm512_dpbusd_epi32(s0, w[c], bcast32(sb + 4 * c));
        s1 = _mm512_dpbusd_epi32(s1, w[c + 4], bcast32(sb + 16 + 4 * c));
      }
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1)), _mm512_mul_ps(ws, _mm512_set1_ps(da)),
                               acc[t]);
    }
  }
}

template <int T>
void q8_0x16_tile(const GemmTile& g, const uint8_t* gp, int64_t r, int64_t t0) {
  const uint8_t* a[T];
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) a[t] = static_cast<const uint8_t*>(g.act) + (t0 + t) * g.act_stride;
  __m512 acc[T];
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  q8_0x16_group<T>(gp, g.cols / 32, a, acc);
  const int64_t n = g.r1 - r < kRows ? g.r1 - r : kRows;
  const __mmask16 mask = static_cast<__mmask16>((1u << n) - 1);
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(g.y + (t0 + t) * g.ldy + r, mask, acc[t]);
}

}  // namespace

size_t q8_0x16_group_bytes(int64_t cols) { return static_cast<size_t>((cols / 32 + 1) / 2) * kPairBytes; }

void q8_0x16_pack(const uint8_t* src, size_t src_stride, int64_t n_rows, int64_t cols, uint8_t* dst) {
  const int64_t nb = cols / 32;
  std::memset(dst, 0, q8_0x16_group_bytes(cols));
  for (int64_t r = 0; r < n_rows; ++r) {
    const uint8_t* row = src + static_cast<size_t>(r) * src_stride;
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* blk = row + b * kBlockBytes;
      std::memcpy(dst + scales_at(b) + r * 2, blk, 2);
      uint8_t* q = dst + qs_at(b) + r * 4;
      for (int c = 0; c < 8; ++c)
        for (int i = 0; i < 4; ++i) q[c * 64 + i] = static_cast<uint8_t>(blk[2 + 4 * c + i] ^ 0x80);
    }
  }
}

void q8_0x16_gemm(const GemmTile& g) {
  // Group outer, token tiles inner: one group's weights (16 rows) stay in L1/L2 across the tokens.
  for (int64_t r = g.r0; r < g.r1; r += kRows) {
    const uint8_t* gp = g.w + static_cast<size_t>(r / kRows) * g.w_stride;
    int64_t t = g.t0;
    for (; t + 4 <= g.t1; t += 4) q8_0x16_tile<4>(g, gp, r, t);
    switch (g.t1 - t) {
      case 3:
        q8_0x16_tile<3>(g, gp, r, t);
        break;
      case 2:
        q8_0x16_tile<2>(g, gp, r, t);
        break;
      case 1:
        q8_0x16_tile<1>(g, gp, r, t);
        break;
      default:
        break;
    }
  }
}

}  // namespace sgl::kernels::cpu
