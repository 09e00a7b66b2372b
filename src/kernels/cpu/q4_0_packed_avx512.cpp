// Q4_0 weights repacked at load for the AVX-512 kernels: 16 output rows interleaved ("q4_0x16").
//
// Why: the plain GGML layout puts one row's 32 nibbles and its f16 scale in an 18-byte block, so
// a GEMV must unpack, shuffle and convert per row and per block and reduce each row's vector
// horizontally at the end. With 16 rows interleaved at 4-byte granularity, lane j of every
// 512-bit load belongs to row j: one load + and/shift gives 16 rows × 4 values ready for
// vpdpbusd against a broadcast of 4 activation bytes, 16 row scales convert in one vcvtph2ps,
// and the accumulator's lanes are the 16 outputs (no horizontal sums).
//
// Group layout: pairs of blocks (nb = cols/32; an odd last block leaves its pair half zero),
// 576 B = 9 cache lines each, so the whole matrix is one aligned sequential stream:
//   pair p at p·576: 64 B of f16 row scales (block 2p's 16, then block 2p+1's 16), then block 2p's
//   and block 2p+1's nibbles, 256 B each. A block's nibbles are 4 chunks of 64 B; chunk c's lane j
//   (4 bytes) is bytes 4c..4c+3 of row j's qs: values 4c..4c+3 (low nibbles) and 16+4c..19+4c
//   (high nibbles).
// Rows past the matrix's end are zero (scale 0), so they contribute nothing and are not stored.
//
// Activations are the AVX-512 prepared rows of kernels_avx512.cpp (per 64 columns: 64 int8,
// 16 f32 scale lanes, 16 s32 lanes of -Σa; block b of a pair at byte offset 32·(b&1) in each
// part). Σ(q-8)·a = Σq·a - 8Σa: the dpbusd accumulator starts at 8·(-Σa).
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
constexpr size_t kActPairBytes = 192;
constexpr int kPrefetchBytes = 2048;  // kernels_avx512.cpp: prepared Q4_0 activations per 64 columns

constexpr size_t kPairBytes = 64 + 2 * 256;

size_t q4_0x16_bytes(int64_t cols) { return static_cast<size_t>((cols / 32 + 1) / 2) * kPairBytes; }

// Offsets of block b's scales and nibbles inside a group.
inline size_t scales_at(int64_t b) { return static_cast<size_t>(b >> 1) * kPairBytes + 32 * static_cast<size_t>(b & 1); }
inline size_t qs_at(int64_t b) {
  return static_cast<size_t>(b >> 1) * kPairBytes + 64 + 256 * static_cast<size_t>(b & 1);
}

void q4_0x16_pack(const uint8_t* src, size_t src_stride, int64_t n_rows, int64_t cols, uint8_t* dst) {
  const int64_t nb = cols / 32;
  std::memset(dst, 0, q4_0x16_bytes(cols));
  for (int64_t r = 0; r < n_rows; ++r) {
    const uint8_t* row = src + static_cast<size_t>(r) * src_stride;
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* blk = row + b * 18;  // BlockQ4_0: f16 d, 16 bytes of nibbles
      std::memcpy(dst + scales_at(b) + r * 2, blk, 2);
      for (int c = 0; c < 4; ++c) std::memcpy(dst + qs_at(b) + c * 64 + r * 4, blk + 2 + 4 * c, 4);
    }
  }
}

SGL_INLINE __m512i bcast32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// acc[t] (lane j = row j) += the group's dot products with T prepared activation rows.
template <int T>
SGL_INLINE void q4_0x16_group(const uint8_t* gp, int64_t nb, const uint8_t* const* a, __m512 (&acc)[T]) {
  const __m512i m4 = _mm512_set1_epi8(0x0f);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* q = gp + qs_at(b);
    // A GEMV streams the weights once from DRAM: ask for what lies ~2 KiB ahead (past the group's
    // end that is the next group, the same stream; prefetches never fault). ~1.4x at m=1.
    if ((b & 1) == 0) {
      const char* ahead = reinterpret_cast<const char*>(gp + scales_at(b) + kPrefetchBytes);
#pragma GCC unroll 9
      for (int i = 0; i < static_cast<int>(kPairBytes / 64); ++i) _mm_prefetch(ahead + 64 * i, _MM_HINT_T0);
    }
    __m512i lo[4], hi[4];
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      const __m512i w = _mm512_load_si512(q + 64 * c);
      lo[c] = _mm512_and_si512(w, m4);
      hi[c] = _mm512_and_si512(_mm512_srli_epi16(w, 4), m4);
    }
    const __m512 ws = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(gp + scales_at(b))));
    const size_t off = static_cast<size_t>(b >> 1) * kActPairBytes + 32 * static_cast<size_t>(b & 1);
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
      const uint8_t* sb = a[t] + off;
      int32_t neg_sum;
      float da;
      std::memcpy(&neg_sum, sb + 128, 4);
      std::memcpy(&da, sb + 64, 4);
      // Two independent chains (low / high nibbles) halve the dependent dpbusd latency.
      __m512i s0 = _mm512_set1_epi32(8 * neg_sum), s1 = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) {
        s0 = _mm512_dpbusd_epi32(s0, lo[c], bcast32(sb + 4 * c));
        s1 = _mm512_dpbusd_epi32(s1, hi[c], bcast32(sb + 16 + 4 * c));
      }
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1)), _mm512_mul_ps(ws, _mm512_set1_ps(da)),
                               acc[t]);
    }
  }
}

template <int T>
void q4_0x16_tile(const GemmTile& g, const uint8_t* gp, int64_t r, int64_t t0) {
  const uint8_t* a[T];
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) a[t] = static_cast<const uint8_t*>(g.act) + (t0 + t) * g.act_stride;
  __m512 acc[T];
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  q4_0x16_group<T>(gp, g.cols / 32, a, acc);
  const int64_t n = g.r1 - r < kRows ? g.r1 - r : kRows;
  const __mmask16 mask = static_cast<__mmask16>((1u << n) - 1);
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(g.y + (t0 + t) * g.ldy + r, mask, acc[t]);
}

void q4_0x16_gemm(const GemmTile& g) {
  // Group outer, token tiles inner: one group's weights (16 rows) stay in L1 across the tokens.
  for (int64_t r = g.r0; r < g.r1; r += kRows) {
    const uint8_t* gp = g.w + static_cast<size_t>(r / kRows) * g.w_stride;
    int64_t t = g.t0;
    for (; t + 4 <= g.t1; t += 4) q4_0x16_tile<4>(g, gp, r, t);
    switch (g.t1 - t) {
      case 3:
        q4_0x16_tile<3>(g, gp, r, t);
        break;
      case 2:
        q4_0x16_tile<2>(g, gp, r, t);
        break;
      case 1:
        q4_0x16_tile<1>(g, gp, r, t);
        break;
      default:
        break;
    }
  }
}

}  // namespace

size_t avx512_packed_group_bytes(DType wt, int64_t cols) {
  if (wt == DType::Q4_K) return q4_kx16_group_bytes(cols);
  if (wt == DType::Q6_K) return q6_kx16_group_bytes(cols);
  if (wt == DType::Q5_K) return q5_kx16_group_bytes(cols);
  if (wt == DType::Q8_0) return q8_0x16_group_bytes(cols);
  return wt == DType::Q4_0 ? q4_0x16_bytes(cols) : 0;
}

void avx512_pack_group(DType wt, const uint8_t* src, size_t src_stride, int64_t n_rows, int64_t cols, uint8_t* dst) {
  if (wt == DType::Q4_0) q4_0x16_pack(src, src_stride, n_rows, cols, dst);
  else if (wt == DType::Q4_K) q4_kx16_pack(src, src_stride, n_rows, cols, dst);
  else if (wt == DType::Q6_K) q6_kx16_pack(src, src_stride, n_rows, cols, dst);
  else if (wt == DType::Q5_K) q5_kx16_pack(src, src_stride, n_rows, cols, dst);
  else if (wt == DType::Q8_0) q8_0x16_pack(src, src_stride, n_rows, cols, dst);
}

void avx512_gemm_packed(const GemmTile& g) {
  if (g.wt == DType::Q4_0) q4_0x16_gemm(g);
  else if (g.wt == DType::Q4_K) q4_kx16_gemm(g);
  else if (g.wt == DType::Q6_K) q6_kx16_gemm(g);
  else if (g.wt == DType::Q5_K) q5_kx16_gemm(g);
  else if (g.wt == DType::Q8_0) q8_0x16_gemm(g);
}

}  // namespace sgl::kernels::cpu
