// Scalar kernels: the fallback for CPUs without AVX2 and the baseline the SIMD tables are tested
// against. Compiled without ISA flags. Quantized matmul still works on int8 activations with
// integer block dot products, so all three ISAs share one numerical recipe.
#include <cmath>

#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/half.hpp"

namespace sgl::kernels::cpu {
namespace {

struct V {
  using F = float;
  static constexpr int N = 1;
  static constexpr int kFloatRows = 2;
  static constexpr int kFloatRows1 = 2;
  static F zero() { return 0.0f; }
  static F set1(float x) { return x; }
  static F load(const float* p) { return *p; }
  static F loadn(const float* p, int) { return *p; }  // never called: N == 1 leaves no tails
  static F load_f16(const uint16_t* p) { return f16_to_f32(*p); }
  static F loadn_f16(const uint16_t* p, int) { return f16_to_f32(*p); }
  static F load_bf16(const uint16_t* p) { return bf16_to_f32(*p); }
  static F loadn_bf16(const uint16_t* p, int) { return bf16_to_f32(*p); }
  static void store(float* p, F v) { *p = v; }
  static void storen(float* p, F v, int) { *p = v; }
  static void store_f16_row(const float* s, uint16_t* d, int64_t n) {
    for (int64_t i = 0; i < n; ++i) d[i] = f32_to_f16(s[i]);
  }
  static F add(F a, F b) { return a + b; }
  static F sub(F a, F b) { return a - b; }
  static F mul(F a, F b) { return a * b; }
  static F div(F a, F b) { return a / b; }
  static F fma(F a, F b, F c) { return a * b + c; }
  static F mask_tail(F v, int) { return v; }
  static float hsum(F v) { return v; }
  static F hsum_n(const F* a) { return a[0]; }
  static F exp(F x) { return std::exp(x); }
};

// Integer block dot products on the plain activation layout (see kernels_generic.hpp).
template <DType DT>
struct QuantMicro;

template <>
struct QuantMicro<DType::Q8_0> {
  static constexpr int kRows = 1;
  static constexpr int kRows1 = 1;
  template <int R, int T>
  static void run(const GemmTile& g, int64_t r0, int64_t t0);
};

template <>
struct QuantMicro<DType::Q4_0> {
  static constexpr int kRows = 1;
  static constexpr int kRows1 = 1;
  template <int R, int T>
  static void run(const GemmTile& g, int64_t r0, int64_t t0);
};

template <DType DT>
float quant_dot(const GemmTile& g, int64_t r, int64_t t) {
  const int64_t nb = g.cols / 32;
  const int8_t* q = reinterpret_cast<const int8_t*>(static_cast<const uint8_t*>(g.act) + t * g.act_stride);
  const float* d = reinterpret_cast<const float*>(q + g.cols);
  const int32_t* sum = reinterpret_cast<const int32_t*>(d + nb);
  const uint8_t* w = g.w + r * g.w_stride;
  float acc = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    int32_t dot = 0;
    float dw;
    if constexpr (DT == DType::Q8_0) {
      const auto* blk = reinterpret_cast<const BlockQ8_0*>(w) + b;
      for (int j = 0; j < 32; ++j) dot += blk->qs[j] * q[b * 32 + j];
      dw = f16_to_f32(blk->d);
    } else {
      const auto* blk = reinterpret_cast<const BlockQ4_0*>(w) + b;
      for (int j = 0; j < 16; ++j) {
        dot += (blk->qs[j] & 0x0f) * q[b * 32 + j];
        dot += (blk->qs[j] >> 4) * q[b * 32 + j + 16];
      }
      dot -= 8 * sum[b];
      dw = f16_to_f32(blk->d);
    }
    acc += dw * d[b] * static_cast<float>(dot);
  }
  return acc;
}

template <int R, int T>
void QuantMicro<DType::Q8_0>::run(const GemmTile& g, int64_t r0, int64_t t0) {
  for (int t = 0; t < T; ++t)
    for (int r = 0; r < R; ++r) g.y[(t0 + t) * g.ldy + r0 + r] = quant_dot<DType::Q8_0>(g, r0 + r, t0 + t);
}

template <int R, int T>
void QuantMicro<DType::Q4_0>::run(const GemmTile& g, int64_t r0, int64_t t0) {
  for (int t = 0; t < T; ++t)
    for (int r = 0; r < R; ++r) g.y[(t0 + t) * g.ldy + r0 + r] = quant_dot<DType::Q4_0>(g, r0 + r, t0 + t);
}

#include "kernels/cpu/kernels_generic.hpp"

}  // namespace

const KernelTable& kernels_scalar() {
  static const KernelTable table = {
      "scalar", plain_act_bytes, plain_prepare_act, gemm, rms_norm_row, rope_row, swiglu, add, store_row, attention,
      0,       nullptr,         nullptr,           nullptr,  // no packed weight layout
  };
  return table;
}

}  // namespace sgl::kernels::cpu
