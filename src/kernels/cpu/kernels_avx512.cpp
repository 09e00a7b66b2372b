// AVX-512 kernels (F/BW/VL/DQ + VNNI; compiled with those -m flags, see cmake/Sources.cmake).
// Float weights: 16 lanes, F16 via vcvtph2ps, masked loads for any tail. Quantized weights use
// vpdpbusd (u8 × s8 → s32, no saturation) on two 32-value blocks per 512-bit register, with the
// activations prepared in a layout that makes the GGML offsets free:
//   per 64 columns: [64 B int8 activations][16 f32 scale lanes][16 s32 bias lanes (Q4_0 only)]
//   Q8_0: activations are stored as a+128 (unsigned); Σ(a+128)·w - 128·Σw = Σa·w, and 128·Σw is
//         one vpdpbusd per weight register, shared by all token rows.
//   Q4_0: nibbles q ∈ [0,15] are the unsigned operand; Σ(q-8)·a = Σq·a - 8Σa, and -8Σa enters as
//         the dpbusd accumulator (-Σa in each of a block's 8 lanes).
// The scale lanes hold d_a of block 0 (lanes 0-7) and block 1 (lanes 8-15).
#include <immintrin.h>

// GCC 12's AVX-512 reduction intrinsics start from _mm512_undefined_*, which trips these.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/cpu/cpu_kernels.hpp"

namespace sgl::kernels::cpu {
namespace {

#define SGL_INLINE inline __attribute__((always_inline))

struct V {
  using F = __m512;
  static constexpr int N = 16;
  static constexpr int kFloatRows = 4;   // 4 rows x 4 tokens = 16 accumulators of 32 zmm
  static constexpr int kFloatRows1 = 8;  // GEMV: 8 rows in flight to keep loads streaming

  static SGL_INLINE __mmask16 m16(int n) { return static_cast<__mmask16>((1u << n) - 1); }
  static SGL_INLINE F zero() { return _mm512_setzero_ps(); }
  static SGL_INLINE F set1(float x) { return _mm512_set1_ps(x); }
  static SGL_INLINE F load(const float* p) { return _mm512_loadu_ps(p); }
  static SGL_INLINE F loadn(const float* p, int n) { return _mm512_maskz_loadu_ps(m16(n), p); }
  static SGL_INLINE F load_f16(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static SGL_INLINE F loadn_f16(const uint16_t* p, int n) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m16(n), p));
  }
  static SGL_INLINE F widen_bf16(__m256i h) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
  static SGL_INLINE F load_bf16(const uint16_t* p) {
    return widen_bf16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static SGL_INLINE F loadn_bf16(const uint16_t* p, int n) { return widen_bf16(_mm256_maskz_loadu_epi16(m16(n), p)); }
  static SGL_INLINE void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static SGL_INLINE void storen(float* p, F v, int n) { _mm512_mask_storeu_ps(p, m16(n), v); }
  static void store_f16_row(const float* s, uint16_t* d, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + i),
                          _mm512_cvtps_ph(load(s + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    if (i < n) {
      const int k = static_cast<int>(n - i);
      _mm256_mask_storeu_epi16(d + i, m16(k),
                               _mm512_cvtps_ph(loadn(s + i, k), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
  }
  static SGL_INLINE F add(F a, F b) { return _mm512_add_ps(a, b); }
  static SGL_INLINE F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static SGL_INLINE F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static SGL_INLINE F div(F a, F b) { return _mm512_div_ps(a, b); }
  static SGL_INLINE F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static SGL_INLINE F mask_tail(F v, int n) { return _mm512_maskz_mov_ps(m16(n), v); }
  static SGL_INLINE float hsum(F v) { return _mm512_reduce_add_ps(v); }
  // Lane i of the result = sum of a[i]: 16 vectors reduced together (45 shuffles/adds instead of
  // 16 separate reductions).
  static SGL_INLINE F hsum_n(const F* a) {
    F u[8], w[4];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i)
      u[i] = _mm512_add_ps(_mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]), _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]));
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i)
      w[i] = _mm512_add_ps(_mm512_shuffle_ps(u[2 * i], u[2 * i + 1], 0x44),
                           _mm512_shuffle_ps(u[2 * i], u[2 * i + 1], 0xee));
    const F x = _mm512_add_ps(_mm512_shuffle_f32x4(w[0], w[1], 0x88), _mm512_shuffle_f32x4(w[0], w[1], 0xdd));
    const F y = _mm512_add_ps(_mm512_shuffle_f32x4(w[2], w[3], 0x88), _mm512_shuffle_f32x4(w[2], w[3], 0xdd));
    return _mm512_add_ps(_mm512_shuffle_f32x4(x, y, 0x88), _mm512_shuffle_f32x4(x, y, 0xdd));
  }
  // e^x = 2^n · e^r with |r| ≤ ln2/2 (degree-6 polynomial); vscalefps applies 2^n without
  // building exponent bits, so only the lower clamp (exp underflows to 0 there anyway) is needed.
  static SGL_INLINE F exp(F x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-104.0f)), _mm512_set1_ps(88.7f));
    F n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    F r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    F p = _mm512_set1_ps(1.9875691500e-4f);
    p = fma(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = fma(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = fma(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = fma(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = fma(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = fma(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
  }
};

// Bytes per 64 columns of prepared activations.
constexpr size_t sb_bytes(DType wt) { return wt == DType::Q8_0 ? 128 : 192; }

size_t act_bytes(DType wt, int64_t cols) { return static_cast<size_t>((cols + 63) / 64) * sb_bytes(wt); }

void prepare_act(DType wt, const float* x, int64_t cols, void* dst) {
  const int64_t nb = cols / 32;
  uint8_t* out = static_cast<uint8_t*>(dst);
  const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  for (int64_t s = 0; s < (nb + 1) / 2; ++s) {
    uint8_t* sb = out + s * sb_bytes(wt);
    alignas(64) float scale[16];
    alignas(64) int32_t bias[16];
    for (int h = 0; h < 2; ++h) {
      const int64_t b = 2 * s + h;
      __m128i q0 = _mm_setzero_si128(), q1 = _mm_setzero_si128();
      float d = 0.0f;
      int32_t sum = 0;
      if (b < nb) {
        const __m512 x0 = _mm512_loadu_ps(x + b * 32), x1 = _mm512_loadu_ps(x + b * 32 + 16);
        const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_and_ps(x0, absmask), _mm512_and_ps(x1, absmask)));
        d = amax / 127.0f;
        const __m512 id = _mm512_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
        const __m512i i0 = _mm512_cvtps_epi32(_mm512_mul_ps(x0, id));  // round to nearest even
        const __m512i i1 = _mm512_cvtps_epi32(_mm512_mul_ps(x1, id));
        sum = _mm512_reduce_add_epi32(_mm512_add_epi32(i0, i1));
        q0 = _mm512_cvtepi32_epi8(i0);
        q1 = _mm512_cvtepi32_epi8(i1);
      }
      if (wt == DType::Q8_0) {
        q0 = _mm_xor_si128(q0, _mm_set1_epi8(static_cast<char>(0x80)));
        q1 = _mm_xor_si128(q1, _mm_set1_epi8(static_cast<char>(0x80)));
      }
      _mm_storeu_si128(reinterpret_cast<__m128i*>(sb + 32 * h), q0);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(sb + 32 * h + 16), q1);
      for (int j = 0; j < 8; ++j) {
        scale[8 * h + j] = d;
        bias[8 * h + j] = -sum;
      }
    }
    _mm512_storeu_ps(sb + 64, _mm512_load_ps(scale));
    if (wt == DType::Q4_0) _mm512_storeu_si512(sb + 128, _mm512_load_si512(bias));
  }
}

// Two blocks' f16 scales as 8 + 8 lanes (one conversion, one permute); p1 == nullptr gives zeros
// in the upper lanes (odd block count).
SGL_INLINE __m512 block_scales(const uint8_t* p0, const uint8_t* p1) {
  uint16_t h0, h1 = 0;
  __builtin_memcpy(&h0, p0, 2);
  if (p1) __builtin_memcpy(&h1, p1, 2);
  const __m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(h0 | static_cast<uint32_t>(h1) << 16)));
  return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1),
                               _mm512_castps128_ps512(f));
}

template <DType DT>
struct QuantMicro {
  static constexpr int kRows = 4;
  static constexpr int kRows1 = 4;
  static constexpr int kBlockBytes = DT == DType::Q8_0 ? 34 : 18;

  // Weight register (two blocks, or one when `tail`) ready for vpdpbusd, and its offset term.
  template <bool kTail>
  static SGL_INLINE void load_weights(const uint8_t* p, __m512i* wv, __m512i* corr, __m512* ws) {
    if constexpr (DT == DType::Q8_0) {
      const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 2));
      if constexpr (kTail) {
        *wv = _mm512_zextsi256_si512(lo);
      } else {
        *wv = _mm512_inserti64x4(_mm512_castsi256_si512(lo),
                                 _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + kBlockBytes + 2)), 1);
      }
      // -128·Σw per lane: the dpbusd accumulator start for every token row.
      *corr =
          _mm512_sub_epi32(_mm512_setzero_si512(),
                           _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(static_cast<char>(0x80)), *wv));
    } else {
      const __m128i q0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2));
      __m256i y;
      if constexpr (kTail) {
        y = _mm256_zextsi128_si256(q0);
      } else {
        y = _mm256_set_m128i(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + kBlockBytes + 2)), q0);
      }
      // [q0, q0, q1, q1] >> [0, 4, 0, 4] & 0xf = block 0 values 0-15, 16-31, block 1 values 0-15, 16-31.
      const __m512i dup =
          _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 1, 0, 1, 2, 3, 2, 3), _mm512_castsi256_si512(y));
      const __m512i shifts = _mm512_setr_epi64(0, 0, 0x0004000400040004LL, 0x0004000400040004LL, 0, 0,
                                               0x0004000400040004LL, 0x0004000400040004LL);
      *wv = _mm512_and_si512(_mm512_srlv_epi16(dup, shifts), _mm512_set1_epi8(0x0f));
      *corr = _mm512_setzero_si512();
    }
    *ws = block_scales(p, kTail ? nullptr : p + kBlockBytes);
  }

  template <int R, int T, bool kTail>
  static SGL_INLINE void step(const uint8_t* const* w, const uint8_t* const* a, int64_t s, __m512 (&acc)[R][T]) {
    __m512i wv[R], corr[R];
    __m512 ws[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) load_weights<kTail>(w[r] + s * 2 * kBlockBytes, &wv[r], &corr[r], &ws[r]);
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      const uint8_t* sb = a[t] + s * sb_bytes(DT);
      const __m512i av = _mm512_loadu_si512(sb);
      const __m512 as = _mm512_loadu_ps(sb + 64);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        __m512i dot;
        if constexpr (DT == DType::Q8_0) {
          dot = _mm512_dpbusd_epi32(corr[r], av, wv[r]);
        } else {
          dot = _mm512_dpbusd_epi32(_mm512_loadu_si512(sb + 128), wv[r], av);
        }
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(ws[r], as), acc[r][t]);
      }
    }
  }

  template <int R, int T>
  static void run(const GemmTile& g, int64_t r0, int64_t t0) {
    const int64_t nb = g.cols / 32;
    const uint8_t* w[R];
    const uint8_t* a[T];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) w[r] = g.w + (r0 + r) * g.w_stride;
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) a[t] = static_cast<const uint8_t*>(g.act) + (t0 + t) * g.act_stride;
    __m512 acc[R][T];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
    int64_t s = 0;
    for (; s < nb / 2; ++s) step<R, T, false>(w, a, s, acc);
    if (nb % 2) step<R, T, true>(w, a, s, acc);
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t)
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) g.y[(t0 + t) * g.ldy + r0 + r] = _mm512_reduce_add_ps(acc[r][t]);
  }
};

#include "kernels/cpu/kernels_generic.hpp"

}  // namespace

const KernelTable& kernels_avx512() {
  static const KernelTable table = {
      "avx512",         act_bytes,         prepare_act,       gemm,       rms_norm_row,
      rope_row,         swiglu,            add,               store_row,  attention,
      kAvx512PackRows,  avx512_packed_group_bytes, avx512_pack_group, avx512_gemm_packed,
  };
  return table;
}

}  // namespace sgl::kernels::cpu
