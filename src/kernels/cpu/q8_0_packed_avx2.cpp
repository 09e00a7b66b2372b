// Q8_0 weights repacked at load for the AVX2 kernels: 8 output rows interleaved ("q8_0x8"), the
// 256-bit counterpart of q8_0_packed_avx512.cpp, and the AVX2 table's packed-layout entry points.
//
// Why: the plain layout's GEMV converts one scale per row and block and ends every row with a
// horizontal sum; interleaved, lane j of each 256-bit load is row j, 8 scales convert in one
// vcvtph2ps and the accumulator's lanes are the 8 outputs. Without VNNI the dot product is
// vpmaddubsw (u8 × s8 → saturating s16 pairs): |w| is the unsigned operand and w's sign moves onto
// the broadcast activation bytes (vpsignb), so a pair is at most 2·128·127 < 32767 and never
// saturates. 8 rows, not 16: 16 ymm registers hold 4 token rows' sums and accumulators plus one
// weight chunk at 8 rows; at 16 they would spill.
//
// Group layout: pairs of blocks (nb = cols/32; an odd last block leaves its pair half zero),
// 544 B each, the group padded to a multiple of 64 B:
//   pair p at p·544: 32 B of f16 row scales (block 2p's 8, then block 2p+1's 8), then block 2p's
//   and block 2p+1's values, 256 B each: 8 chunks of 32 B, chunk c's lane j (4 bytes) is values
//   4c..4c+3 of row j (plain int8).
// Rows past the matrix's end are zero with scale 0. Activations: the plain prepared rows of
// kernels_generic.hpp (int8 q[cols], f32 d[nb], ...).
#include <immintrin.h>

#include <cstring>

#include "kernels/cpu/cpu_kernels.hpp"

namespace sgl::kernels::cpu {
namespace {

#define SGL_INLINE inline __attribute__((always_inline))

constexpr int kRows = kAvx2PackRows;
constexpr size_t kBlockBytes = 34;  // BlockQ8_0: f16 d, 32 int8
constexpr size_t kPairBytes = 32 + 2 * 256;
constexpr int kPrefetchBytes = 2048;

inline size_t scales_at(int64_t b) { return static_cast<size_t>(b >> 1) * kPairBytes + 16 * static_cast<size_t>(b & 1); }
inline size_t qs_at(int64_t b) {
  return static_cast<size_t>(b >> 1) * kPairBytes + 32 + 256 * static_cast<size_t>(b & 1);
}

size_t q8_0x8_group_bytes(int64_t cols) {
  return (static_cast<size_t>((cols / 32 + 1) / 2) * kPairBytes + 63) / 64 * 64;
}

void q8_0x8_pack(const uint8_t* src, size_t src_stride, int64_t n_rows, int64_t cols, uint8_t* dst) {
  const int64_t nb = cols / 32;
  std::memset(dst, 0, q8_0x8_group_bytes(cols));
  for (int64_t r = 0; r < n_rows; ++r) {
    const uint8_t* row = src + static_cast<size_t>(r) * src_stride;
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* blk = row + b * kBlockBytes;
      std::memcpy(dst + scales_at(b) + r * 2, blk, 2);
      for (int c = 0; c < 8; ++c) std::memcpy(dst + qs_at(b) + c * 32 + r * 4, blk + 2 + 4 * c, 4);
    }
  }
}

SGL_INLINE __m256i bcast32(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

template <int T>
void q8_0x8_tile(const GemmTile& g, const uint8_t* gp, int64_t r, int64_t t0) {
  const int64_t nb = g.cols / 32;
  const int8_t* q[T];
  const float* d[T];
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) {
    q[t] = reinterpret_cast<const int8_t*>(static_cast<const uint8_t*>(g.act) + (t0 + t) * g.act_stride);
    d[t] = reinterpret_cast<const float*>(q[t] + g.cols);
  }
  __m256 acc[T];
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t b = 0; b < nb; ++b) {
    if ((b & 1) == 0) {
      const char* ahead = reinterpret_cast<const char*>(gp + scales_at(b) + kPrefetchBytes);
#pragma GCC unroll 9
      for (int i = 0; i < 9; ++i) _mm_prefetch(ahead + 64 * i, _MM_HINT_T0);
    }
    const uint8_t* wq = gp + qs_at(b);
    __m256i s[T];
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) s[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int c = 0; c < 8; ++c) {
      const __m256i w = _mm256_load_si256(reinterpret_cast<const __m256i*>(wq + 32 * c));
      const __m256i wa = _mm256_abs_epi8(w);
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        const __m256i a = _mm256_sign_epi8(bcast32(q[t] + b * 32 + 4 * c), w);
        s[t] = _mm256_add_epi32(s[t], _mm256_madd_epi16(_mm256_maddubs_epi16(wa, a), ones));
      }
    }
    const __m256 ws = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(gp + scales_at(b))));
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t)
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[t]), _mm256_mul_ps(ws, _mm256_set1_ps(d[t][b])), acc[t]);
  }
  const int64_t n = g.r1 - r < kRows ? g.r1 - r : kRows;
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) {
    float* y = g.y + (t0 + t) * g.ldy + r;
    if (n == kRows) {
      _mm256_storeu_ps(y, acc[t]);
    } else {
      alignas(32) float tmp[kRows];
      _mm256_store_ps(tmp, acc[t]);
      std::memcpy(y, tmp, static_cast<size_t>(n) * 4);
    }
  }
}

void q8_0x8_gemm(const GemmTile& g) {
  // Group outer, token tiles inner: one group's weights (8 rows) stay in cache across the tokens.
  for (int64_t r = g.r0; r < g.r1; r += kRows) {
    const uint8_t* gp = g.w + static_cast<size_t>(r / kRows) * g.w_stride;
    int64_t t = g.t0;
    for (; t + 4 <= g.t1; t += 4) q8_0x8_tile<4>(g, gp, r, t);
    switch (g.t1 - t) {
      case 3:
        q8_0x8_tile<3>(g, gp, r, t);
        break;
      case 2:
        q8_0x8_tile<2>(g, gp, r, t);
        break;
      case 1:
        q8_0x8_tile<1>(g, gp, r, t);
        break;
      default:
        break;
    }
  }
}

}  // namespace

size_t avx2_packed_group_bytes(DType wt, int64_t cols) { return wt == DType::Q8_0 ? q8_0x8_group_bytes(cols) : 0; }

void avx2_pack_group(DType wt, const uint8_t* src, size_t src_stride, int64_t n_rows, int64_t cols, uint8_t* dst) {
  if (wt == DType::Q8_0) q8_0x8_pack(src, src_stride, n_rows, cols, dst);
}

void avx2_gemm_packed(const GemmTile& g) {
  if (g.wt == DType::Q8_0) q8_0x8_gemm(g);
}

}  // namespace sgl::kernels::cpu
