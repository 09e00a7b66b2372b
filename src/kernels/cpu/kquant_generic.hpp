// K-quant (Q2_K..Q6_K) and 5-bit (Q5_0, Q5_1) matmul pieces shared by every ISA: the prepared
// activation layout, the scalar block decomposition the SIMD kernels must agree with, and the
// register-tiling driver.
//
// Like kernels_generic.hpp this is NOT an ordinary header: each kquant_<isa>.cpp includes it
// inside its anonymous namespace (after defining `kq_f16` and, for SIMD, `KqMicro`), so every
// function gets internal linkage and that file's -m flags.
//
// Every 256-value weight super-block is rewritten as
//     Σ x·w = da · ( D · Σ_g S_g · Σ_{i∈g} u_i·a_i  -  M · Σ_g C_g · Σ_{i∈g} a_i )
// over 16 groups g of 16 values, with u ∈ [0, 63] unsigned (u8 × s8 products fit vpmaddubsw):
//   Q4_K/Q5_K: u = q, S = scale of the 32-value sub-block, C = its min, D = d, M = dmin
//   Q6_K:      u = q (0..63), S = C = int8 scale, D = d, M = 32·d        (x = d·s·(q-32))
//   Q3_K:      u = 2 low bits + 4·hbit, S = C = scale-32, D = d, M = 4·d  (x = d·s·(u-4))
//   Q2_K:      u = q, S = 4-bit scale, C = 4-bit min, D = d, M = dmin
// Activations per 256 values (kKqSb bytes): int8 a[256] (|a| <= 127, d_a = amax/127, one scale
// per super-block as GGML's Q8_K), int16 Σa per group of 16, f32 d_a.
//
// Expects in scope: namespace sgl::kernels (DType), GemmTile, `float kq_f16(const uint8_t*)`.

constexpr int kKqTok = 4;        // token rows per register tile
constexpr size_t kKqSb = 320;    // prepared bytes per 256 activations (64-byte multiple)
constexpr size_t kKqBsum = 256;  // offset of the int16 group sums
constexpr size_t kKqD = 288;     // offset of the f32 scale

inline bool kq_super(DType t) {
  return t == DType::Q2_K || t == DType::Q3_K || t == DType::Q4_K || t == DType::Q5_K || t == DType::Q6_K;
}

inline int kq_block_bytes(DType t) {
  switch (t) {
    case DType::Q2_K: return 84;
    case DType::Q3_K: return 110;
    case DType::Q4_K: return 144;
    case DType::Q5_K: return 176;
    case DType::Q6_K: return 210;
    case DType::Q5_0: return 22;
    default: return 24;  // Q5_1
  }
}

inline float kq_absf(float v) { return v < 0 ? -v : v; }
inline float maxf_kq(float a, float b) { return a > b ? a : b; }

// Q5_0 / Q5_1 use 32-value blocks: int8 a[cols], then f32 d[cols/32], then int32 Σa[cols/32].
size_t kq_act_bytes(DType t, int64_t cols) {
  if (kq_super(t)) return static_cast<size_t>(cols / 256) * kKqSb;
  return static_cast<size_t>(cols) + static_cast<size_t>(cols / 32) * 8;
}

// Rounds x·(1/d) to nearest-even into [-127, 127]; returns Σ of the n rounded values.
inline int32_t kq_round_block(const float* x, int n, float id, int8_t* q) {
  int32_t s = 0;
  for (int i = 0; i < n; ++i) {
    const int v = static_cast<int>(__builtin_nearbyintf(x[i] * id));
    q[i] = static_cast<int8_t>(v);
    s += v;
  }
  return s;
}

void kq_prepare_act(DType t, const float* x, int64_t cols, void* dst) {
  uint8_t* out = static_cast<uint8_t*>(dst);
  const int blk = kq_super(t) ? 256 : 32;
  const int64_t nb = cols / blk;
  float* d32 = reinterpret_cast<float*>(out + cols);
  int32_t* s32 = reinterpret_cast<int32_t*>(d32 + nb);
  for (int64_t b = 0; b < nb; ++b) {
    const float* xb = x + b * blk;
    float amax = 0.0f;
    for (int i = 0; i < blk; ++i) amax = maxf_kq(amax, kq_absf(xb[i]));
    const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    if (blk == 256) {
      uint8_t* o = out + b * kKqSb;
      int8_t* q = reinterpret_cast<int8_t*>(o);
      int16_t* bs = reinterpret_cast<int16_t*>(o + kKqBsum);
      for (int g = 0; g < 16; ++g) bs[g] = static_cast<int16_t>(kq_round_block(xb + 16 * g, 16, id, q + 16 * g));
      __builtin_memcpy(o + kKqD, &d, 4);
    } else {
      s32[b] = kq_round_block(xb, 32, id, reinterpret_cast<int8_t*>(out) + b * 32);
      d32[b] = d;
    }
  }
}

// ---- scalar decomposition (reference for the SIMD kernels, and the scalar ISA's kernel) -------

struct KqBlock {
  uint8_t u[256];
  int16_t S[16], C[16];
  float D, M;
};

inline int kq_2bit(const uint8_t* qs, int i) { return (qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3; }

// Q4_K / Q5_K sub-block j: 6-bit scale and min from the 12 packed bytes.
inline void kq_sm(const uint8_t* s, int j, int* sc, int* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

void kq_unpack(DType t, const uint8_t* p, KqBlock* b) {
  switch (t) {
    case DType::Q4_K:
    case DType::Q5_K: {
      const bool five = t == DType::Q5_K;
      const uint8_t* qh = p + 16;
      const uint8_t* qs = p + (five ? 48 : 16);
      b->D = kq_f16(p);
      b->M = kq_f16(p + 2);
      for (int j = 0; j < 8; ++j) {
        int sc, m;
        kq_sm(p + 4, j, &sc, &m);
        b->S[2 * j] = b->S[2 * j + 1] = static_cast<int16_t>(sc);
        b->C[2 * j] = b->C[2 * j + 1] = static_cast<int16_t>(m);
      }
      for (int i = 0; i < 256; ++i) {
        const int c = i / 64, l = i % 32, hi = (i % 64) >= 32;
        int u = hi ? qs[32 * c + l] >> 4 : qs[32 * c + l] & 0x0f;
        if (five) u |= ((qh[l] >> (2 * c + hi)) & 1) << 4;
        b->u[i] = static_cast<uint8_t>(u);
      }
      return;
    }
    case DType::Q6_K: {
      const uint8_t* ql = p;
      const uint8_t* qh = p + 128;
      const int8_t* sc = reinterpret_cast<const int8_t*>(p + 192);
      b->D = kq_f16(p + 208);
      b->M = 32.0f * b->D;
      for (int g = 0; g < 16; ++g) b->S[g] = b->C[g] = sc[g];
      for (int i = 0; i < 256; ++i) {
        const int h = i / 128, l = i % 32, q4 = (i % 128) / 32;
        const uint8_t lo = ql[64 * h + l + 32 * (q4 & 1)];
        b->u[i] = static_cast<uint8_t>((q4 < 2 ? lo & 0x0f : lo >> 4) | (((qh[32 * h + l] >> (2 * q4)) & 3) << 4));
      }
      return;
    }
    case DType::Q3_K: {
      const uint8_t* hm = p;
      const uint8_t* qs = p + 32;
      const uint8_t* s = p + 96;
      b->D = kq_f16(p + 108);
      b->M = 4.0f * b->D;
      for (int g = 0; g < 16; ++g) {
        const int lo = g < 8 ? (s[g] & 0x0f) : (s[g - 8] >> 4);
        b->S[g] = b->C[g] = static_cast<int16_t>((lo | (((s[8 + g % 4] >> (2 * (g / 4))) & 3) << 4)) - 32);
      }
      for (int i = 0; i < 256; ++i) b->u[i] = static_cast<uint8_t>(kq_2bit(qs, i) + 4 * ((hm[i % 32] >> (i / 32)) & 1));
      return;
    }
    default: {  // Q2_K
      const uint8_t* s = p;
      const uint8_t* qs = p + 16;
      b->D = kq_f16(p + 80);
      b->M = kq_f16(p + 82);
      for (int g = 0; g < 16; ++g) {
        b->S[g] = static_cast<int16_t>(s[g] & 0x0f);
        b->C[g] = static_cast<int16_t>(s[g] >> 4);
      }
      for (int i = 0; i < 256; ++i) b->u[i] = static_cast<uint8_t>(kq_2bit(qs, i));
      return;
    }
  }
}

// One weight row · one prepared activation row, integer block dot products.
float kq_dot_scalar(DType t, const uint8_t* w, const uint8_t* act, int64_t cols) {
  float acc = 0.0f;
  if (kq_super(t)) {
    const int bb = kq_block_bytes(t);
    for (int64_t s = 0; s < cols / 256; ++s) {
      KqBlock b;
      kq_unpack(t, w + s * bb, &b);
      const uint8_t* o = act + s * kKqSb;
      const int8_t* a = reinterpret_cast<const int8_t*>(o);
      const int16_t* bs = reinterpret_cast<const int16_t*>(o + kKqBsum);
      float da;
      __builtin_memcpy(&da, o + kKqD, 4);
      int32_t sumi = 0, summ = 0;
      for (int g = 0; g < 16; ++g) {
        int32_t dg = 0;
        for (int l = 0; l < 16; ++l) dg += b.u[16 * g + l] * a[16 * g + l];
        sumi += b.S[g] * dg;
        summ += b.C[g] * bs[g];
      }
      acc += da * (b.D * static_cast<float>(sumi) - b.M * static_cast<float>(summ));
    }
    return acc;
  }
  // Q5_0: x = d·(u-16); Q5_1: x = d·u + m; u = nibble | bit of qh << 4.
  const int64_t nb = cols / 32;
  const int8_t* a = reinterpret_cast<const int8_t*>(act);
  const float* da = reinterpret_cast<const float*>(act + cols);
  const int32_t* sa = reinterpret_cast<const int32_t*>(da + nb);
  const bool one = t == DType::Q5_1;
  const int bb = one ? 24 : 22;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* p = w + b * bb;
    uint32_t qh;
    __builtin_memcpy(&qh, p + (one ? 4 : 2), 4);
    const uint8_t* qs = p + (one ? 8 : 6);
    int32_t dot = 0;
    for (int j = 0; j < 16; ++j) {
      dot += ((qs[j] & 0x0f) | (((qh >> j) & 1) << 4)) * a[b * 32 + j];
      dot += ((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) * a[b * 32 + j + 16];
    }
    const float d = kq_f16(p);
    if (one)
      acc += da[b] * (d * static_cast<float>(dot) + kq_f16(p + 2) * static_cast<float>(sa[b]));
    else
      acc += da[b] * d * static_cast<float>(dot - 16 * sa[b]);
  }
  return acc;
}

// ---- tiling -------------------------------------------------------------------------------------

template <class M, int T>
void kq_token_tile(const GemmTile& g, int64_t t) {
  constexpr int R = T == 1 ? M::kRows1 : M::kRows;
  int64_t r = g.r0;
  for (; r + R <= g.r1; r += R) M::template run<R, T>(g, r, t);
  for (; r < g.r1; ++r) M::template run<1, T>(g, r, t);
}

template <class M>
void kq_tiles(const GemmTile& g) {
  static_assert(kKqTok == 4);
  int64_t t = g.t0;
  for (; t + kKqTok <= g.t1; t += kKqTok) kq_token_tile<M, kKqTok>(g, t);
  switch (g.t1 - t) {
    case 3: kq_token_tile<M, 3>(g, t); break;
    case 2: kq_token_tile<M, 2>(g, t); break;
    case 1: kq_token_tile<M, 1>(g, t); break;
    default: break;
  }
}

// Q5_0 / Q5_1 on every ISA: one row × one token at a time through the scalar decomposition (the
// compiler vectorizes the inner loops with this file's flags).
void kq_gemm_rowwise(const GemmTile& g) {
  for (int64_t t = g.t0; t < g.t1; ++t) {
    const uint8_t* a = static_cast<const uint8_t*>(g.act) + t * g.act_stride;
    for (int64_t r = g.r0; r < g.r1; ++r) g.y[t * g.ldy + r] = kq_dot_scalar(g.wt, g.w + r * g.w_stride, a, g.cols);
  }
}
