// AVX2 K-quant kernels (compiled with -mavx2 -mfma -mf16c only): vpmaddubsw (u8 weights × s8
// activations) then vpmaddwd by the group scales; see kquant_generic.hpp / kquant_x86.hpp.
#include <immintrin.h>

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

// 1 row × 4 tokens (4 int + 4 float accumulators of 16 ymm); GEMV: 2 rows.
#define KQ_ROWS 1
#define KQ_ROWS1 2
#define KQ_DPWSSD(acc, p16, s) _mm256_add_epi32(acc, _mm256_madd_epi16(p16, s))
#include "kernels/cpu/kquant_x86.hpp"

}  // namespace

const KQuantKernels& kquant_avx2() {
  static const KQuantKernels table = {kq_act_bytes, kq_prepare_act, kq_gemm};
  return table;
}

}  // namespace sgl::kernels::cpu
