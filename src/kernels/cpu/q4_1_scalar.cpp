// Q4_1 integer matmul, scalar: the fallback and the numerical recipe the SIMD files follow
// (int8 activation blocks, exact int32 block dot products, f32 scales). Also holds the ISA
// dispatch for Q4_1, since this file is compiled without ISA flags.
#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/quant_q4_1.hpp"

namespace sgl::kernels::cpu {

const QuantGemm& q4_1_gemm_avx2();
const QuantGemm& q4_1_gemm_avx512();

namespace {

struct Micro {
  static constexpr int kRows = 1;
  static constexpr int kRows1 = 1;
  template <int R, int T>
  static void run(const GemmTile& g, int64_t r0, int64_t t0);
};

#include "kernels/cpu/q4_1_generic.hpp"

template <int R, int T>
void Micro::run(const GemmTile& g, int64_t r0, int64_t t0) {
  const int64_t nb = g.cols / 32;
  for (int t = 0; t < T; ++t) {
    const Q41Act a = q4_1_act(g, t0 + t);
    for (int r = 0; r < R; ++r) {
      const auto* blk = reinterpret_cast<const BlockQ4_1*>(g.w + (r0 + r) * g.w_stride);
      float acc = 0.0f;
      for (int64_t b = 0; b < nb; ++b) {
        int32_t dot = 0;
        const int8_t* q = a.q + b * 32;
        for (int j = 0; j < 16; ++j) dot += (blk[b].qs[j] & 0x0f) * q[j] + (blk[b].qs[j] >> 4) * q[j + 16];
        const float dw = q4_1_f16(reinterpret_cast<const uint8_t*>(&blk[b].d));
        const float mw = q4_1_f16(reinterpret_cast<const uint8_t*>(&blk[b].m));
        acc += dw * a.d[b] * static_cast<float>(dot) + mw * a.ds[b];
      }
      g.y[(t0 + t) * g.ldy + r0 + r] = acc;
    }
  }
}

}  // namespace

const QuantGemm& q4_1_gemm(Isa isa) {
  static const QuantGemm scalar = {q4_1_act_bytes, q4_1_prepare_act, q4_1_gemm_tiles};
  switch (isa) {
    case Isa::kAvx512:
      return q4_1_gemm_avx512();
    case Isa::kAvx2:
      return q4_1_gemm_avx2();
    case Isa::kScalar:
      break;
  }
  return scalar;
}

}  // namespace sgl::kernels::cpu
