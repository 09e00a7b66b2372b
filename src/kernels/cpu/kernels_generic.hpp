// Kernels written once against a small SIMD wrapper `V` and compiled once per ISA.
//
// This is NOT an ordinary header: each kernels_<isa>.cpp defines `struct V` (vector width N,
// loads/stores of F32/F16/BF16, fma, horizontal sums, exp) inside an anonymous namespace and then
// includes this file there, so every function below has internal linkage and is compiled with
// that translation unit's -m flags. Keep it free of std:: templates and other inline functions
// with external linkage: the linker may merge such COMDAT copies across translation units and
// hand AVX-512 code to the scalar path.
//
// Expects in scope: namespace sgl::kernels (DType, KvLayer, ...), GemmTile, AttnTask, V.

constexpr int kMaxHeadDim = 576;  // checked by CpuBackend; attention scratch holds 16 rows of it (MLA rows)
constexpr int kTokTile = 4;       // token rows per register tile in every gemm micro-kernel

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
inline float maxf(float a, float b) { return a > b ? a : b; }
inline int mini(int a, int b) { return a < b ? a : b; }
inline int maxi(int a, int b) { return a > b ? a : b; }

// f32 -> bf16, round to nearest even (same rule as half.hpp, which ISA files must not include).
inline uint16_t bf16_round(float f) {
  uint32_t u;
  __builtin_memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

// ---- loads of one weight / KV element type as a float vector ----------------------------------

template <DType DT>
inline typename V::F load_as_f32(const void* base, int64_t i) {
  if constexpr (DT == DType::F32) return V::load(static_cast<const float*>(base) + i);
  if constexpr (DT == DType::F16) return V::load_f16(static_cast<const uint16_t*>(base) + i);
  if constexpr (DT == DType::BF16) return V::load_bf16(static_cast<const uint16_t*>(base) + i);
}

template <DType DT>
inline typename V::F loadn_as_f32(const void* base, int64_t i, int n) {
  if constexpr (DT == DType::F32) return V::loadn(static_cast<const float*>(base) + i, n);
  if constexpr (DT == DType::F16) return V::loadn_f16(static_cast<const uint16_t*>(base) + i, n);
  if constexpr (DT == DType::BF16) return V::loadn_bf16(static_cast<const uint16_t*>(base) + i, n);
}

// ---- matmul tiling -------------------------------------------------------------------------------
// A micro-kernel M computes R weight rows × T token rows from registers; M::kRows is R for T > 1,
// M::kRows1 for T == 1 (GEMV wants more independent rows in flight). The driver covers a GemmTile
// with token tiles of kTokTile (outer, so their activations stay in L1) and row tiles (inner).

template <class M, int T>
void gemm_token_tile(const GemmTile& g, int64_t t) {
  constexpr int R = T == 1 ? M::kRows1 : M::kRows;
  int64_t r = g.r0;
  for (; r + R <= g.r1; r += R) M::template run<R, T>(g, r, t);
  for (; r < g.r1; ++r) M::template run<1, T>(g, r, t);
}

template <class M>
void gemm_tiles(const GemmTile& g) {
  static_assert(kTokTile == 4);
  int64_t t = g.t0;
  for (; t + kTokTile <= g.t1; t += kTokTile) gemm_token_tile<M, kTokTile>(g, t);
  switch (g.t1 - t) {
    case 3:
      gemm_token_tile<M, 3>(g, t);
      break;
    case 2:
      gemm_token_tile<M, 2>(g, t);
      break;
    case 1:
      gemm_token_tile<M, 1>(g, t);
      break;
    default:
      break;
  }
}

// F32 / F16 / BF16 weights: widen in registers, FMA in f32.
template <DType DT>
struct FloatMicro {
  static constexpr int kRows = V::kFloatRows;
  static constexpr int kRows1 = V::kFloatRows1;

  template <int R, int T>
  static void run(const GemmTile& g, int64_t r0, int64_t t0) {
    using F = typename V::F;
    constexpr int N = V::N;
    const int64_t cols = g.cols;
    const void* w[R];
    const float* x[T];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) w[r] = g.w + (r0 + r) * g.w_stride;
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t)
      x[t] = reinterpret_cast<const float*>(static_cast<const uint8_t*>(g.act) + (t0 + t) * g.act_stride);
    F acc[R][T];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) acc[r][t] = V::zero();
    int64_t c = 0;
    for (; c + N <= cols; c += N) {
      F wv[R];
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) wv[r] = load_as_f32<DT>(w[r], c);
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        F xv = V::load(x[t] + c);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) acc[r][t] = V::fma(wv[r], xv, acc[r][t]);
      }
    }
    if (c < cols) {
      int n = static_cast<int>(cols - c);
      F wv[R];
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) wv[r] = loadn_as_f32<DT>(w[r], c, n);
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        F xv = V::loadn(x[t] + c, n);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) acc[r][t] = V::fma(wv[r], xv, acc[r][t]);
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t)
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) g.y[(t0 + t) * g.ldy + r0 + r] = V::hsum(acc[r][t]);
  }
};

// Activation layout shared by the scalar and AVX2 integer kernels: one token row is
// int8 q[cols], then float d[nb] (block scales), then int32 sum[nb] (Σq per block, for Q4_0's
// -8 offset). x ≈ q · d per 32-value block, d = amax / 127.
[[maybe_unused]] size_t plain_act_bytes(DType, int64_t cols) {
  return static_cast<size_t>(cols) + static_cast<size_t>(cols / 32) * 8;
}

[[maybe_unused]] void plain_prepare_act(DType, const float* x, int64_t cols, void* dst) {
  const int64_t nb = cols / 32;
  int8_t* q = static_cast<int8_t*>(dst);
  float* d = reinterpret_cast<float*>(q + cols);
  int32_t* sum = reinterpret_cast<int32_t*>(d + nb);
  for (int64_t b = 0; b < nb; ++b) {
    const float* xb = x + b * 32;
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = maxf(amax, __builtin_fabsf(xb[j]));
    const float db = amax / 127.0f;
    const float id = db != 0.0f ? 1.0f / db : 0.0f;
    int32_t s = 0;
    for (int j = 0; j < 32; ++j) {
      const int v = static_cast<int>(__builtin_nearbyintf(xb[j] * id));
      q[b * 32 + j] = static_cast<int8_t>(v);
      s += v;
    }
    d[b] = db;
    sum[b] = s;
  }
}

// Integer micro-kernels (QuantMicro<DType::Q8_0> / <DType::Q4_0>) come from the ISA file.
void gemm(const GemmTile& g) {
  switch (g.wt) {
    case DType::F32:
      gemm_tiles<FloatMicro<DType::F32>>(g);
      return;
    case DType::F16:
      gemm_tiles<FloatMicro<DType::F16>>(g);
      return;
    case DType::BF16:
      gemm_tiles<FloatMicro<DType::BF16>>(g);
      return;
    case DType::Q8_0:
      gemm_tiles<QuantMicro<DType::Q8_0>>(g);
      return;
    case DType::Q4_0:
      gemm_tiles<QuantMicro<DType::Q4_0>>(g);
      return;
    default:
      return;  // CpuBackend rejects other types before tiling
  }
}

// ---- element-wise ops ------------------------------------------------------------------------------

void rms_norm_row(const float* x, const float* w, float* y, int64_t dim, float eps) {
  using F = typename V::F;
  constexpr int N = V::N;
  F a0 = V::zero(), a1 = V::zero();
  int64_t i = 0;
  for (; i + 2 * N <= dim; i += 2 * N) {
    F v0 = V::load(x + i), v1 = V::load(x + i + N);
    a0 = V::fma(v0, v0, a0);
    a1 = V::fma(v1, v1, a1);
  }
  for (; i + N <= dim; i += N) {
    F v = V::load(x + i);
    a0 = V::fma(v, v, a0);
  }
  if (i < dim) {
    F v = V::loadn(x + i, static_cast<int>(dim - i));
    a0 = V::fma(v, v, a0);
  }
  float scale = 1.0f / __builtin_sqrtf(V::hsum(V::add(a0, a1)) / static_cast<float>(dim) + eps);
  F s = V::set1(scale);
  for (i = 0; i + N <= dim; i += N) V::store(y + i, V::mul(V::mul(V::load(x + i), s), V::load(w + i)));
  if (i < dim) {
    int n = static_cast<int>(dim - i);
    V::storen(y + i, V::mul(V::mul(V::loadn(x + i, n), s), V::loadn(w + i, n)), n);
  }
}

// cs: cos[0..n_rot/2) followed by sin[0..n_rot/2) for this token.
void rope_row(float* x, int n_heads, const float* cs, const RopeParams& p) {
  using F = typename V::F;
  constexpr int N = V::N;
  const int half = p.n_rot / 2;
  const float* cosv = cs;
  const float* sinv = cs + half;
  for (int h = 0; h < n_heads; ++h) {
    float* v = x + static_cast<int64_t>(h) * p.head_dim;
    if (p.style == RopeStyle::kNeox) {
      int i = 0;
      for (; i + N <= half; i += N) {
        F a = V::load(v + i), b = V::load(v + i + half), c = V::load(cosv + i), s = V::load(sinv + i);
        V::store(v + i, V::sub(V::mul(a, c), V::mul(b, s)));
        V::store(v + i + half, V::fma(a, s, V::mul(b, c)));
      }
      for (; i < half; ++i) {
        float a = v[i], b = v[i + half];
        v[i] = a * cosv[i] - b * sinv[i];
        v[i + half] = a * sinv[i] + b * cosv[i];
      }
    } else {
      // Adjacent pairs: scalar; the compiler interleaves it well enough and rope is a tiny cost.
      for (int i = 0; i < half; ++i) {
        float a = v[2 * i], b = v[2 * i + 1];
        v[2 * i] = a * cosv[i] - b * sinv[i];
        v[2 * i + 1] = a * sinv[i] + b * cosv[i];
      }
    }
  }
}

void swiglu(const float* gate, const float* up, float* out, int64_t n) {
  using F = typename V::F;
  constexpr int N = V::N;
  const F one = V::set1(1.0f);
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    F g = V::load(gate + i);
    F e = V::exp(V::sub(V::zero(), g));
    V::store(out + i, V::mul(V::div(g, V::add(one, e)), V::load(up + i)));
  }
  if (i < n) {
    int k = static_cast<int>(n - i);
    F g = V::loadn(gate + i, k);
    F e = V::exp(V::sub(V::zero(), g));
    V::storen(out + i, V::mul(V::div(g, V::add(one, e)), V::loadn(up + i, k)), k);
  }
}

void add(float* y, const float* x, int64_t n) {
  constexpr int N = V::N;
  int64_t i = 0;
  for (; i + N <= n; i += N) V::store(y + i, V::add(V::load(y + i), V::load(x + i)));
  if (i < n) {
    int k = static_cast<int>(n - i);
    V::storen(y + i, V::add(V::loadn(y + i, k), V::loadn(x + i, k)), k);
  }
}

void store_row(DType dt, const float* src, void* dst, int64_t n) {
  if (dt == DType::F32) {
    float* d = static_cast<float*>(dst);
    for (int64_t i = 0; i < n; ++i) d[i] = src[i];
  } else if (dt == DType::F16) {
    V::store_f16_row(src, static_cast<uint16_t*>(dst), n);
  } else {
    uint16_t* d = static_cast<uint16_t*>(dst);
    for (int64_t i = 0; i < n; ++i) d[i] = bf16_round(src[i]);
  }
}

#include "kernels/cpu/attention_generic.hpp"
