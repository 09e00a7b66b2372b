// Q4_1 matmul pieces shared by the per-ISA files q4_1_{scalar,avx2,avx512}.cpp.
//
// Like kernels_generic.hpp this is included inside each file's anonymous namespace, so all of it
// has internal linkage and is compiled with that file's -m flags (no COMDAT sharing across ISAs).
// Expects in scope: sgl::kernels names, GemmTile, and `struct Micro` with kRows (rows per tile
// when several tokens), kRows1 (rows per tile for one token) and template <int R, int T> run().
//
// Activation layout of one token row (identical on every ISA, so all three agree bit for bit on
// the rounding): int8 q[cols], then float d[nb] (block scales, d = amax/127), then float
// ds[nb] = d·Σq. A weight block contributes d_w·d·Σ(q_w·q) + m_w·ds, the second term being
// Q4_1's offset times the block sum of the (rounded) activations.

constexpr int kQ41TokTile = 4;

struct Q41Act {
  const int8_t* q;
  const float* d;
  const float* ds;
};

inline Q41Act q4_1_act(const GemmTile& g, int64_t t) {
  const int64_t nb = g.cols / 32;
  Q41Act a;
  a.q = reinterpret_cast<const int8_t*>(static_cast<const uint8_t*>(g.act) + t * g.act_stride);
  a.d = reinterpret_cast<const float*>(a.q + g.cols);
  a.ds = a.d + nb;
  return a;
}

inline float q4_1_f16(const uint8_t* p) {  // f16 -> f32 without half.hpp (external-linkage inlines)
  uint16_t h;
  __builtin_memcpy(&h, p, 2);
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, u;
  if (exp == 0x1f) {
    u = sign | 0x7f800000u | (man << 13);
  } else if (exp != 0) {
    u = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man == 0) {
    u = sign;
  } else {  // subnormal: renormalize
    exp = 113;
    while (!(man & 0x400u)) {
      man <<= 1;
      --exp;
    }
    u = sign | (exp << 23) | ((man & 0x3ffu) << 13);
  }
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}

size_t q4_1_act_bytes(int64_t cols) { return static_cast<size_t>(cols) + static_cast<size_t>(cols / 32) * 8; }

void q4_1_prepare_act(const float* x, int64_t cols, void* dst) {
  const int64_t nb = cols / 32;
  int8_t* q = static_cast<int8_t*>(dst);
  float* d = reinterpret_cast<float*>(q + cols);
  float* ds = d + nb;
  for (int64_t b = 0; b < nb; ++b) {
    const float* xb = x + b * 32;
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) {
      const float a = __builtin_fabsf(xb[j]);
      amax = a > amax ? a : amax;
    }
    const float db = amax / 127.0f;
    const float id = db != 0.0f ? 1.0f / db : 0.0f;
    int32_t s = 0;
    for (int j = 0; j < 32; ++j) {
      const int v = static_cast<int>(__builtin_nearbyintf(xb[j] * id));
      q[b * 32 + j] = static_cast<int8_t>(v);
      s += v;
    }
    d[b] = db;
    ds[b] = db * static_cast<float>(s);
  }
}

// Token tiles of kQ41TokTile (outer, activations stay in L1) × row tiles (inner).
template <int T>
void q4_1_token_tile(const GemmTile& g, int64_t t) {
  constexpr int R = T == 1 ? Micro::kRows1 : Micro::kRows;
  int64_t r = g.r0;
  for (; r + R <= g.r1; r += R) Micro::template run<R, T>(g, r, t);
  for (; r < g.r1; ++r) Micro::template run<1, T>(g, r, t);
}

void q4_1_gemm_tiles(const GemmTile& g) {
  static_assert(kQ41TokTile == 4);
  int64_t t = g.t0;
  for (; t + kQ41TokTile <= g.t1; t += kQ41TokTile) q4_1_token_tile<kQ41TokTile>(g, t);
  switch (g.t1 - t) {
    case 3:
      q4_1_token_tile<3>(g, t);
      break;
    case 2:
      q4_1_token_tile<2>(g, t);
      break;
    case 1:
      q4_1_token_tile<1>(g, t);
      break;
    default:
      break;
  }
}
