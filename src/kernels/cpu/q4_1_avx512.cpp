// Q4_1 integer matmul, AVX-512 VNNI: two 32-value blocks per 512-bit register, nibbles as the
// unsigned operand of vpdpbusd against the int8 activations (u8 × s8 → s32, no saturation);
// lanes 0-7 hold block b, lanes 8-15 block b+1, scaled by d_w·d_a of their block. An odd last
// block uses the 256-bit form. The offset term m·ds is a scalar FMA per block, as on AVX2.
#include <immintrin.h>

// GCC 12's AVX-512 reduction intrinsics start from _mm512_undefined_*, which trips these.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/quant_q4_1.hpp"

namespace sgl::kernels::cpu {
namespace {

struct Micro {
  static constexpr int kRows = 4;   // 4 rows × 4 tokens: 16 zmm accumulators
  static constexpr int kRows1 = 8;  // GEMV: 8 independent rows in flight
  template <int R, int T>
  static void run(const GemmTile& g, int64_t r0, int64_t t0);
};

#include "kernels/cpu/q4_1_generic.hpp"

inline __m256i nibbles(const BlockQ4_1* blk) {
  const __m128i qs = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk->qs));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(qs, 4), qs), _mm256_set1_epi8(0x0f));
}

inline __m512 pair_scale(float lo, float hi) {
  return _mm512_insertf32x8(_mm512_set1_ps(lo), _mm256_set1_ps(hi), 1);
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
  __m512 acc[R][T];
  float macc[R][T];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      acc[r][t] = _mm512_setzero_ps();
      macc[r][t] = 0.0f;
    }
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    __m512i wq[R];
    __m512 dw[R];
    float mw0[R], mw1[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const BlockQ4_1* blk = w[r] + b;
      wq[r] = _mm512_inserti64x4(_mm512_castsi256_si512(nibbles(blk)), nibbles(blk + 1), 1);
      dw[r] = pair_scale(_cvtsh_ss(blk[0].d), _cvtsh_ss(blk[1].d));
      mw0[r] = _cvtsh_ss(blk[0].m);
      mw1[r] = _cvtsh_ss(blk[1].m);
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      const __m512i av = _mm512_loadu_si512(a[t].q + b * 32);
      const __m512 da = pair_scale(a[t].d[b], a[t].d[b + 1]);
      const float ds0 = a[t].ds[b], ds1 = a[t].ds[b + 1];
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const __m512i p32 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wq[r], av);
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p32), _mm512_mul_ps(dw[r], da), acc[r][t]);
        macc[r][t] = __builtin_fmaf(mw1[r], ds1, __builtin_fmaf(mw0[r], ds0, macc[r][t]));
      }
    }
  }
  if (b < nb) {
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const BlockQ4_1* blk = w[r] + b;
      const __m256i wq = nibbles(blk);
      const float dw = _cvtsh_ss(blk->d), mw = _cvtsh_ss(blk->m);
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[t].q + b * 32));
        const __m256i p32 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), wq, av);
        const __m512 v = _mm512_castps256_ps512(_mm256_mul_ps(_mm256_cvtepi32_ps(p32), _mm256_set1_ps(dw * a[t].d[b])));
        acc[r][t] = _mm512_add_ps(acc[r][t], _mm512_maskz_mov_ps(0x00ff, v));
        macc[r][t] += mw * a[t].ds[b];
      }
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t)
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) g.y[(t0 + t) * g.ldy + r0 + r] = _mm512_reduce_add_ps(acc[r][t]) + macc[r][t];
}

}  // namespace

const QuantGemm& q4_1_gemm_avx512() {
  static const QuantGemm table = {q4_1_act_bytes, q4_1_prepare_act, q4_1_gemm_tiles};
  return table;
}

}  // namespace sgl::kernels::cpu
