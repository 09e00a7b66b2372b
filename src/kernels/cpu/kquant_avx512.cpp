// AVX-512 K-quant kernels: Q4_K on 512-bit registers (KqQ4K512), the other types on the 256-bit
// micro-kernels of kquant_x86.hpp; 32 vector registers (2 rows × 4 tokens, 4 rows for GEMV) and
// AVX512-VNNI vpdpwssd fusing the scale multiply and the accumulation.
#include <immintrin.h>

// GCC 12's AVX-512 reduction intrinsics start from _mm512_undefined_*, which trips these.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/cpu/cpu_kernels.hpp"

namespace sgl::kernels::cpu {
namespace {

inline float kq_f16(const uint8_t* p) {
  uint16_t h;
  __builtin_memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

inline float kq_hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

#include "kernels/cpu/kquant_generic.hpp"

#define KQ_ROWS 2
#define KQ_ROWS1 4
#define KQ_DPWSSD(acc, p16, s) _mm256_dpwssd_epi32(acc, p16, s)
#include "kernels/cpu/kquant_x86.hpp"

}  // namespace

const KQuantKernels& kquant_avx512() {
  static const KQuantKernels table = {kq_act_bytes, kq_prepare_act, kq_gemm};
  return table;
}

}  // namespace sgl::kernels::cpu
