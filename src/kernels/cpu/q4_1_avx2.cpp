// Q4_1 integer matmul, AVX2: the 32 nibbles of a block are the unsigned operand of vpmaddubsw
// against the int8 activations, vpmaddwd folds the pairs to 8 int32 lanes; the offset term
// m·ds is one scalar FMA per block and (row, token), kept in its own accumulator.
#include <immintrin.h>

#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/quant_q4_1.hpp"

namespace sgl::kernels::cpu {
namespace {

struct Micro {
  static constexpr int kRows = 2;   // 2 rows × 4 tokens: 8 vector accumulators
  static constexpr int kRows1 = 4;  // GEMV: 4 independent rows in flight
  template <int R, int T>
  static void run(const GemmTile& g, int64_t r0, int64_t t0);
};

#include "kernels/cpu/q4_1_generic.hpp"

inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

template <int R, int T>
void Micro::run(const GemmTile& g, int64_t r0, int64_t t0) {
  const int64_t nb = g.cols / 32;
  const BlockQ4_1* w[R];
  Q41Act a[T];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) w[r] = reinterpret_cast<const BlockQ4_1*>(g.w + (r0 + r) * g.w_stride);
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t) a[t] = q4_1_act(g, t0 + t);
  __m256 acc[R][T];
  float macc[R][T];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      acc[r][t] = _mm256_setzero_ps();
      macc[r][t] = 0.0f;
    }
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  for (int64_t b = 0; b < nb; ++b) {
    __m256i wq[R];
    __m256 dw[R];
    float mw[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const BlockQ4_1* blk = w[r] + b;
      dw[r] = _mm256_set1_ps(_cvtsh_ss(blk->d));
      mw[r] = _cvtsh_ss(blk->m);
      const __m128i qs = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk->qs));
      wq[r] = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(qs, 4), qs), low4);
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[t].q + b * 32));
      const __m256 da = _mm256_set1_ps(a[t].d[b]);
      const float ds = a[t].ds[b];
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const __m256i p32 = _mm256_madd_epi16(_mm256_maddubs_epi16(wq[r], av), ones);
        acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p32), _mm256_mul_ps(dw[r], da), acc[r][t]);
        macc[r][t] += mw[r] * ds;
      }
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t)
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) g.y[(t0 + t) * g.ldy + r0 + r] = hsum8(acc[r][t]) + macc[r][t];
}

}  // namespace

const QuantGemm& q4_1_gemm_avx2() {
  static const QuantGemm table = {q4_1_act_bytes, q4_1_prepare_act, q4_1_gemm_tiles};
  return table;
}

}  // namespace sgl::kernels::cpu
