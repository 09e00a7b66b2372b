// AVX2 + FMA + F16C kernels (compiled with those -m flags only; see cmake/Sources.cmake).
// Float weights: F16 via vcvtph2ps, BF16 via a 16-bit shift, FMA in f32. Quantized weights:
// int8 activations (plain layout, see kernels_generic.hpp) and vpmaddubsw / vpmaddwd block dot
// products; the f16 block scales multiply the per-block int32 sums.
#include <immintrin.h>

#include "kernels/cpu/cpu_kernels.hpp"

namespace sgl::kernels::cpu {
namespace {

#define SGL_INLINE inline __attribute__((always_inline))

struct V {
  using F = __m256;
  static constexpr int N = 8;
  static constexpr int kFloatRows = 2;   // 2 rows x 4 tokens = 8 accumulators of 16 ymm
  static constexpr int kFloatRows1 = 4;  // GEMV: 4 independent rows in flight

  static SGL_INLINE __m256i tail_mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static SGL_INLINE F zero() { return _mm256_setzero_ps(); }
  static SGL_INLINE F set1(float x) { return _mm256_set1_ps(x); }
  static SGL_INLINE F load(const float* p) { return _mm256_loadu_ps(p); }
  static SGL_INLINE F loadn(const float* p, int n) { return _mm256_maskload_ps(p, tail_mask(n)); }
  static SGL_INLINE F load_f16(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static SGL_INLINE F loadn_f16(const uint16_t* p, int n) {
    alignas(16) uint16_t tmp[8] = {};
    __builtin_memcpy(tmp, p, static_cast<size_t>(n) * 2);
    return _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(tmp)));
  }
  static SGL_INLINE F widen_bf16(__m128i h) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  static SGL_INLINE F load_bf16(const uint16_t* p) {
    return widen_bf16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static SGL_INLINE F loadn_bf16(const uint16_t* p, int n) {
    alignas(16) uint16_t tmp[8] = {};
    __builtin_memcpy(tmp, p, static_cast<size_t>(n) * 2);
    return widen_bf16(_mm_load_si128(reinterpret_cast<const __m128i*>(tmp)));
  }
  static SGL_INLINE void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static SGL_INLINE void storen(float* p, F v, int n) { _mm256_maskstore_ps(p, tail_mask(n), v); }
  static void store_f16_row(const float* s, uint16_t* d, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + i), _mm256_cvtps_ph(load(s + i), _MM_FROUND_TO_NEAREST_INT));
    if (i < n) {
      alignas(16) uint16_t tmp[8];
      _mm_store_si128(reinterpret_cast<__m128i*>(tmp),
                      _mm256_cvtps_ph(loadn(s + i, static_cast<int>(n - i)), _MM_FROUND_TO_NEAREST_INT));
      __builtin_memcpy(d + i, tmp, static_cast<size_t>(n - i) * 2);
    }
  }
  static SGL_INLINE F add(F a, F b) { return _mm256_add_ps(a, b); }
  static SGL_INLINE F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static SGL_INLINE F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static SGL_INLINE F div(F a, F b) { return _mm256_div_ps(a, b); }
  static SGL_INLINE F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static SGL_INLINE F mask_tail(F v, int n) { return _mm256_and_ps(v, _mm256_castsi256_ps(tail_mask(n))); }
  static SGL_INLINE float hsum(F v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  // Lane i of the result = sum of a[i] (8 vectors reduced together with hadd).
  static SGL_INLINE F hsum_n(const F* a) {
    const F u0 = _mm256_hadd_ps(a[0], a[1]), u1 = _mm256_hadd_ps(a[2], a[3]);
    const F u2 = _mm256_hadd_ps(a[4], a[5]), u3 = _mm256_hadd_ps(a[6], a[7]);
    const F w0 = _mm256_hadd_ps(u0, u1), w1 = _mm256_hadd_ps(u2, u3);
    return _mm256_add_ps(_mm256_permute2f128_ps(w0, w1, 0x20), _mm256_permute2f128_ps(w0, w1, 0x31));
  }
  // e^x: x = n·ln2 + r, |r| ≤ ln2/2, degree-6 polynomial for e^r, 2^n through the exponent bits.
  // Relative error ~2e-7; inputs are clamped to the range where 2^n stays a normal float.
  static SGL_INLINE F exp(F x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    F n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    F r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    F p = _mm256_set1_ps(1.9875691500e-4f);
    p = fma(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = fma(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = fma(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = fma(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = fma(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = fma(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
  }
};

SGL_INLINE float load_scale(const uint8_t* p) {
  uint16_t h;
  __builtin_memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// Quantized micro-kernels: R weight rows × T token rows, one 32-value block per step.
template <DType DT>
struct QuantMicro {
  static constexpr int kRows = 2;
  static constexpr int kRows1 = 4;
  static constexpr int kBlockBytes = DT == DType::Q8_0 ? 34 : 18;

  template <int R, int T>
  static void run(const GemmTile& g, int64_t r0, int64_t t0) {
    const int64_t nb = g.cols / 32;
    const uint8_t* w[R];
    const int8_t* q[T];
    const float* d[T];
    const int32_t* sum[T];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) w[r] = g.w + (r0 + r) * g.w_stride;
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      q[t] = reinterpret_cast<const int8_t*>(static_cast<const uint8_t*>(g.act) + (t0 + t) * g.act_stride);
      d[t] = reinterpret_cast<const float*>(q[t] + g.cols);
      sum[t] = reinterpret_cast<const int32_t*>(d[t] + nb);
    }
    __m256 acc[R][T];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
    const __m256i ones = _mm256_set1_epi16(1);
    for (int64_t b = 0; b < nb; ++b) {
      __m256i wa[R], ws[R];
      __m256 dw[R];
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const uint8_t* p = w[r] + b * kBlockBytes;
        dw[r] = _mm256_set1_ps(load_scale(p));
        if constexpr (DT == DType::Q8_0) {
          ws[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 2));
          wa[r] = _mm256_abs_epi8(ws[r]);  // |w| unsigned, sign moved onto the activation
        } else {
          __m128i qs = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2));
          wa[r] = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(qs, 4), qs), _mm256_set1_epi8(0x0f));
        }
      }
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q[t] + b * 32));
        const __m256 da = _mm256_set1_ps(d[t][b]);
        [[maybe_unused]] __m256i bias;
        if constexpr (DT == DType::Q4_0) bias = _mm256_set1_epi32(sum[t][b]);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
          __m256i p32;
          if constexpr (DT == DType::Q8_0) {
            p32 = _mm256_madd_epi16(_mm256_maddubs_epi16(wa[r], _mm256_sign_epi8(a, ws[r])), ones);
          } else {
            // Σ(q-8)·a = Σq·a - 8Σa: each of the 8 lanes takes away Σa once.
            p32 = _mm256_sub_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(wa[r], a), ones), bias);
          }
          acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p32), _mm256_mul_ps(dw[r], da), acc[r][t]);
        }
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t)
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) g.y[(t0 + t) * g.ldy + r0 + r] = V::hsum(acc[r][t]);
  }
};

#include "kernels/cpu/kernels_generic.hpp"

}  // namespace

const KernelTable& kernels_avx2() {
  static const KernelTable table = {
      "avx2", plain_act_bytes, plain_prepare_act, gemm, rms_norm_row, rope_row, swiglu, add, store_row, attention,
      kAvx2PackRows, avx2_packed_group_bytes, avx2_pack_group, avx2_gemm_packed,
  };
  return table;
}

}  // namespace sgl::kernels::cpu
