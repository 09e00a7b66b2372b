// 256-bit integer micro-kernels for K-quant weights, shared by kquant_avx2.cpp (vpmaddubsw +
// vpmaddwd) and kquant_avx512.cpp (vpmaddubsw + AVX512-VNNI vpdpwssd, more rows per tile). Not an
// ordinary header: included inside each file's anonymous namespace after kquant_generic.hpp, with
// KQ_ROWS / KQ_ROWS1 (weight rows per tile for prefill / decode) and KQ_DPWSSD(acc, p16, s)
// defined.
//
// Register k (0..7) of a super-block holds the 32 unsigned values 32k..32k+31 (groups 2k, 2k+1),
// extracted straight from the block bytes. The group scales are kept per super-block as
// Sx = [S_0, S_2, ..., S_14 | S_1, S_3, ..., S_15] (int16, even groups in the low lane, odd in the
// high one), so register k's scales [S_2k × 8 | S_2k+1 × 8] are one in-lane byte shuffle. C, the
// min/offset factors, stay in natural group order to meet the activations' group sums.

#define SGL_KQ_INLINE inline __attribute__((always_inline))

SGL_KQ_INLINE __m256i kq_load(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

// int16 lanes 0-7 = S[2k], lanes 8-15 = S[2k+1], from Sx (see above).
SGL_KQ_INLINE __m256i kq_group_scales(__m256i sx, int k) {
  const char lo = static_cast<char>(2 * k), hi = static_cast<char>(2 * k + 1);
  return _mm256_shuffle_epi8(sx, _mm256_setr_epi8(lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi,
                                                  lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi));
}

// 16 bytes in group order -> [even groups (8) | odd groups (8)].
SGL_KQ_INLINE __m128i kq_even_odd(__m128i v) {
  return _mm_shuffle_epi8(v, _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15));
}

SGL_KQ_INLINE __m256i kq_bit_to(__m256i bits, int k, int value) {
  const __m256i m = _mm256_set1_epi8(static_cast<char>(1 << k));
  return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(bits, m), m), _mm256_set1_epi8(static_cast<char>(value)));
}

SGL_KQ_INLINE __m256i kq_nibble(__m256i v, bool high) {
  const __m256i lo = _mm256_set1_epi8(0x0f);
  return high ? _mm256_and_si256(_mm256_srli_epi16(v, 4), lo) : _mm256_and_si256(v, lo);
}

// Q4_K / Q5_K: S, C from the 12 packed bytes (sub-block values duplicated over its two groups).
SGL_KQ_INLINE void kq_q45_scales(const uint8_t* p, __m256i* S, __m256i* C) {
  uint32_t a0, a1, a2;
  __builtin_memcpy(&a0, p, 4);
  __builtin_memcpy(&a1, p + 4, 4);
  __builtin_memcpy(&a2, p + 8, 4);
  const uint32_t sc_lo = a0 & 0x3f3f3f3fu, m_lo = a1 & 0x3f3f3f3fu;
  const uint32_t sc_hi = (a2 & 0x0f0f0f0fu) | (((a0 >> 6) & 0x03030303u) << 4);
  const uint32_t m_hi = ((a2 >> 4) & 0x0f0f0f0fu) | (((a1 >> 6) & 0x03030303u) << 4);
  const __m128i s8 = _mm_cvtepu8_epi16(_mm_setr_epi32(static_cast<int>(sc_lo), static_cast<int>(sc_hi), 0, 0));
  const __m128i m8 = _mm_cvtepu8_epi16(_mm_setr_epi32(static_cast<int>(m_lo), static_cast<int>(m_hi), 0, 0));
  *S = _mm256_broadcastsi128_si256(s8);  // groups 2k and 2k+1 share sub-block k's scale
  *C = _mm256_set_m128i(_mm_unpackhi_epi16(m8, m8), _mm_unpacklo_epi16(m8, m8));
}

// Per-type super-block view: init() reads the header, u(k) yields register k's unsigned values.
template <DType DT>
struct KqSb;

template <>
struct KqSb<DType::Q4_K> {
  static constexpr int kBytes = 144;
  const uint8_t* qs;
  __m256i S, C;
  float D, M;
  SGL_KQ_INLINE void init(const uint8_t* p) {
    D = kq_f16(p);
    M = kq_f16(p + 2);
    kq_q45_scales(p + 4, &S, &C);
    qs = p + 16;
  }
  SGL_KQ_INLINE __m256i u(int k) const { return kq_nibble(kq_load(qs + 32 * (k / 2)), k & 1); }
};

template <>
struct KqSb<DType::Q5_K> {
  static constexpr int kBytes = 176;
  const uint8_t* qs;
  __m256i qh, S, C;
  float D, M;
  SGL_KQ_INLINE void init(const uint8_t* p) {
    D = kq_f16(p);
    M = kq_f16(p + 2);
    kq_q45_scales(p + 4, &S, &C);
    qh = kq_load(p + 16);
    qs = p + 48;
  }
  SGL_KQ_INLINE __m256i u(int k) const {
    return _mm256_or_si256(kq_nibble(kq_load(qs + 32 * (k / 2)), k & 1), kq_bit_to(qh, k, 16));
  }
};

template <>
struct KqSb<DType::Q6_K> {
  static constexpr int kBytes = 210;
  const uint8_t* p;
  __m256i S, C;
  float D, M;
  SGL_KQ_INLINE void init(const uint8_t* b) {
    p = b;
    D = kq_f16(b + 208);
    M = 32.0f * D;
    const __m128i sc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 192));
    S = _mm256_cvtepi8_epi16(kq_even_odd(sc));
    C = _mm256_cvtepi8_epi16(sc);
  }
  SGL_KQ_INLINE __m256i u(int k) const {
    const int h = k / 4, q = k % 4;
    const __m256i lo = kq_nibble(kq_load(p + 64 * h + 32 * (q & 1)), q >= 2);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(kq_load(p + 128 + 32 * h), 2 * q), _mm256_set1_epi8(3));
    return _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4));
  }
};

SGL_KQ_INLINE __m256i kq_crumb(const uint8_t* qs, int k) {
  return _mm256_and_si256(_mm256_srli_epi16(kq_load(qs + 32 * (k / 4)), 2 * (k % 4)), _mm256_set1_epi8(3));
}

template <>
struct KqSb<DType::Q3_K> {
  static constexpr int kBytes = 110;
  const uint8_t* qs;
  __m256i hm, S, C;
  float D, M;
  SGL_KQ_INLINE void init(const uint8_t* p) {
    D = kq_f16(p + 108);
    M = 4.0f * D;
    const uint8_t* s = p + 96;
    alignas(32) int16_t sc[16], sx[16];
    for (int g = 0; g < 16; ++g) {
      const int lo = g < 8 ? (s[g] & 0x0f) : (s[g - 8] >> 4);
      sc[g] = static_cast<int16_t>((lo | (((s[8 + g % 4] >> (2 * (g / 4))) & 3) << 4)) - 32);
      sx[(g % 2) * 8 + g / 2] = sc[g];
    }
    S = _mm256_load_si256(reinterpret_cast<const __m256i*>(sx));
    C = _mm256_load_si256(reinterpret_cast<const __m256i*>(sc));
    hm = kq_load(p);
    qs = p + 32;
  }
  SGL_KQ_INLINE __m256i u(int k) const { return _mm256_or_si256(kq_crumb(qs, k), kq_bit_to(hm, k, 4)); }
};

template <>
struct KqSb<DType::Q2_K> {
  static constexpr int kBytes = 84;
  const uint8_t* qs;
  __m256i S, C;
  float D, M;
  SGL_KQ_INLINE void init(const uint8_t* p) {
    D = kq_f16(p + 80);
    M = kq_f16(p + 82);
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    S = _mm256_and_si256(_mm256_cvtepu8_epi16(kq_even_odd(b)), _mm256_set1_epi16(0x0f));
    C = _mm256_srli_epi16(_mm256_cvtepu8_epi16(b), 4);
    qs = p + 16;
  }
  SGL_KQ_INLINE __m256i u(int k) const { return kq_crumb(qs, k); }
};

template <DType DT>
struct KqMicro {
  static constexpr int kRows = KQ_ROWS;
  static constexpr int kRows1 = KQ_ROWS1;

  template <int R, int T>
  static void run(const GemmTile& g, int64_t r0, int64_t t0) {
    using Sb = KqSb<DT>;
    const int64_t nsb = g.cols / 256;
    const uint8_t* w[R];
    const uint8_t* a[T];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) w[r] = g.w + (r0 + r) * g.w_stride;
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) a[t] = static_cast<const uint8_t*>(g.act) + (t0 + t) * g.act_stride;
    __m256 acc[R][T];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
    for (int64_t s = 0; s < nsb; ++s) {
      Sb sb[R];
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) sb[r].init(w[r] + s * Sb::kBytes);
      __m256i sumi[R][T];
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) sumi[r][t] = _mm256_setzero_si256();
#pragma GCC unroll 8
      for (int k = 0; k < 8; ++k) {
        __m256i u[R], sc[R];
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
          u[r] = sb[r].u(k);
          sc[r] = kq_group_scales(sb[r].S, k);
        }
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) {
          const __m256i av = kq_load(a[t] + s * kKqSb + 32 * k);
#pragma GCC unroll 8
          for (int r = 0; r < R; ++r) sumi[r][t] = KQ_DPWSSD(sumi[r][t], _mm256_maddubs_epi16(u[r], av), sc[r]);
        }
      }
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const uint8_t* o = a[t] + s * kKqSb;
        const __m256i bs = kq_load(o + kKqBsum);
        float da;
        __builtin_memcpy(&da, o + kKqD, 4);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
          const __m256 summ = _mm256_cvtepi32_ps(_mm256_madd_epi16(sb[r].C, bs));
          acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[r][t]), _mm256_set1_ps(sb[r].D * da), acc[r][t]);
          acc[r][t] = _mm256_fmadd_ps(summ, _mm256_set1_ps(-sb[r].M * da), acc[r][t]);
        }
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t)
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) g.y[(t0 + t) * g.ldy + r0 + r] = kq_hsum(acc[r][t]);
  }
};

#ifdef __AVX512BW__
// Q4_K with 512-bit registers: chunk c (64 values: sub-block 2c in the low nibbles of qs[32c..],
// 2c+1 in the high ones) is one register, [low nibbles | high nibbles], against 64 contiguous
// activations; 128-bit lanes 0-1 take scale sc_2c, lanes 2-3 sc_2c+1 (one byte shuffle of the
// 8 sub-block scales broadcast to every lane).
struct KqQ4K512 {
  static constexpr int kRows = KQ_ROWS;
  static constexpr int kRows1 = KQ_ROWS1;

  template <int R, int T>
  static void run(const GemmTile& g, int64_t r0, int64_t t0) {
    const int64_t nsb = g.cols / 256;
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
    const __m256i nib = _mm256_set1_epi8(0x0f);
    for (int64_t s = 0; s < nsb; ++s) {
      __m512i sx[R];
      __m256i cm[R];
      float dd[R], dm[R];
      const uint8_t* qs[R];
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const uint8_t* p = w[r] + s * 144;
        dd[r] = kq_f16(p);
        dm[r] = kq_f16(p + 2);
        __m256i S;
        kq_q45_scales(p + 4, &S, &cm[r]);
        sx[r] = _mm512_broadcast_i32x4(_mm256_castsi256_si128(S));
        qs[r] = p + 16;
      }
      __m512i sumi[R][T];
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) sumi[r][t] = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) {
        const __m512i mask = _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm256_set1_epi16(static_cast<short>(((4 * c + 1) << 8) | (4 * c)))),
            _mm256_set1_epi16(static_cast<short>(((4 * c + 3) << 8) | (4 * c + 2))), 1);
        __m512i u[R], sc[R];
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
          const __m256i v = kq_load(qs[r] + 32 * c);
          u[r] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(v, nib)),
                                    _mm256_and_si256(_mm256_srli_epi16(v, 4), nib), 1);
          sc[r] = _mm512_shuffle_epi8(sx[r], mask);
        }
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) {
          const __m512i av = _mm512_loadu_si512(a[t] + s * kKqSb + 64 * c);
#pragma GCC unroll 8
          for (int r = 0; r < R; ++r) sumi[r][t] = _mm512_dpwssd_epi32(sumi[r][t], _mm512_maddubs_epi16(u[r], av), sc[r]);
        }
      }
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const uint8_t* o = a[t] + s * kKqSb;
        const __m256i bs = kq_load(o + kKqBsum);
        float da;
        __builtin_memcpy(&da, o + kKqD, 4);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
          const __m512 summ = _mm512_zextps256_ps512(_mm256_cvtepi32_ps(_mm256_madd_epi16(cm[r], bs)));
          acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[r][t]), _mm512_set1_ps(dd[r] * da), acc[r][t]);
          acc[r][t] = _mm512_fmadd_ps(summ, _mm512_set1_ps(-dm[r] * da), acc[r][t]);
        }
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t)
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) g.y[(t0 + t) * g.ldy + r0 + r] = _mm512_reduce_add_ps(acc[r][t]);
  }
};

// Q6_K with 512-bit registers: half h, register j (values 128h + 64j .. +63) takes the 64 bytes
// ql[64h..64h+63] (low nibbles for j = 0, high for j = 1) and the 32 bytes qh[32h..] broadcast to
// both 256-bit halves, shifted by 4j (low half) and 4j+2 (high half); 128-bit lane i holds group
// 8h + 4j + i, whose int8 scale one vpermw spreads over the lane.
struct KqQ6K512 {
  static constexpr int kRows = KQ_ROWS;
  static constexpr int kRows1 = KQ_ROWS1;

  template <int R, int T>
  static void run(const GemmTile& g, int64_t r0, int64_t t0) {
    const int64_t nsb = g.cols / 256;
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
    const __m512i nib = _mm512_set1_epi8(0x0f), three = _mm512_set1_epi8(3);
    for (int64_t s = 0; s < nsb; ++s) {
      __m512i sw[R];
      __m256i cm[R];
      float dd[R];
      const uint8_t* p[R];
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        p[r] = w[r] + s * 210;
        dd[r] = kq_f16(p[r] + 208);
        cm[r] = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p[r] + 192)));
        sw[r] = _mm512_castsi256_si512(cm[r]);
      }
      __m512i sumi[R][T];
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) sumi[r][t] = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) {
        const int h = k / 2, j = k % 2;
        const __m512i idx = _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm256_set_m128i(_mm_set1_epi16(static_cast<short>(8 * h + 4 * j + 1)),
                                                    _mm_set1_epi16(static_cast<short>(8 * h + 4 * j)))),
            _mm256_set_m128i(_mm_set1_epi16(static_cast<short>(8 * h + 4 * j + 3)),
                             _mm_set1_epi16(static_cast<short>(8 * h + 4 * j + 2))),
            1);
        const __m512i shifts = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16(static_cast<short>(4 * j))),
                                                  _mm256_set1_epi16(static_cast<short>(4 * j + 2)), 1);
        __m512i u[R], sc[R];
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
          const __m512i lq = _mm512_loadu_si512(p[r] + 64 * h);
          const __m512i lo = j ? _mm512_and_si512(_mm512_srli_epi16(lq, 4), nib) : _mm512_and_si512(lq, nib);
          const __m512i hq = _mm512_broadcast_i64x4(kq_load(p[r] + 128 + 32 * h));
          const __m512i hi = _mm512_and_si512(_mm512_srlv_epi16(hq, shifts), three);
          u[r] = _mm512_or_si512(lo, _mm512_slli_epi16(hi, 4));
          sc[r] = _mm512_permutexvar_epi16(idx, sw[r]);
        }
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) {
          const __m512i av = _mm512_loadu_si512(a[t] + s * kKqSb + 64 * k);
#pragma GCC unroll 8
          for (int r = 0; r < R; ++r) sumi[r][t] = _mm512_dpwssd_epi32(sumi[r][t], _mm512_maddubs_epi16(u[r], av), sc[r]);
        }
      }
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const uint8_t* o = a[t] + s * kKqSb;
        const __m256i bs = kq_load(o + kKqBsum);
        float da;
        __builtin_memcpy(&da, o + kKqD, 4);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
          const __m512 summ = _mm512_zextps256_ps512(_mm256_cvtepi32_ps(_mm256_madd_epi16(cm[r], bs)));
          acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[r][t]), _mm512_set1_ps(dd[r] * da), acc[r][t]);
          acc[r][t] = _mm512_fmadd_ps(summ, _mm512_set1_ps(-32.0f * dd[r] * da), acc[r][t]);
        }
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t)
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) g.y[(t0 + t) * g.ldy + r0 + r] = _mm512_reduce_add_ps(acc[r][t]);
  }
};
#endif

void kq_gemm(const GemmTile& g) {
  switch (g.wt) {
#ifdef __AVX512BW__
    case DType::Q4_K: return kq_tiles<KqQ4K512>(g);
#else
    case DType::Q4_K: return kq_tiles<KqMicro<DType::Q4_K>>(g);
#endif
    case DType::Q5_K: return kq_tiles<KqMicro<DType::Q5_K>>(g);
#ifdef __AVX512BW__
    case DType::Q6_K: return kq_tiles<KqQ6K512>(g);
#else
    case DType::Q6_K: return kq_tiles<KqMicro<DType::Q6_K>>(g);
#endif
    case DType::Q3_K: return kq_tiles<KqMicro<DType::Q3_K>>(g);
    case DType::Q2_K: return kq_tiles<KqMicro<DType::Q2_K>>(g);
    default: return kq_gemm_rowwise(g);
  }
}
