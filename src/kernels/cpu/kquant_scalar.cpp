// Scalar K-quant kernels: the integer decomposition of kquant_generic.hpp one row × one token at
// a time. The fallback for CPUs without AVX2 and the baseline the SIMD tables are tested against.
#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/half.hpp"

namespace sgl::kernels::cpu {
namespace {

inline float kq_f16(const uint8_t* p) {
  uint16_t h;
  __builtin_memcpy(&h, p, 2);
  return f16_to_f32(h);
}

#include "kernels/cpu/kquant_generic.hpp"

}  // namespace

const KQuantKernels& kquant_scalar() {
  static const KQuantKernels table = {kq_act_bytes, kq_prepare_act, kq_gemm_rowwise};
  return table;
}

}  // namespace sgl::kernels::cpu
