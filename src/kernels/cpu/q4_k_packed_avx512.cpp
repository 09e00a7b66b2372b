// Q4_K (and Q5_K) weights repacked at load for the AVX-512 kernels: 16 output rows interleaved ("q4_Kx16").
//
// Why: the GGML Q4_K super-block (144 B: f16 d, f16 dmin, 12 bytes of packed 6-bit scales/mins,
// 128 bytes of nibbles) makes a row-wise GEMV decode the scales, shuffle them across lanes and
// reduce every row's vector horizontally. With 16 rows interleaved at 4-byte granularity (as
// q4_0_packed_avx512.cpp does for Q4_0) lane j of every 512-bit load belongs to row j: one load +
// and/shift feeds vpdpbusd against a broadcast of 4 activation bytes, the sub-block scales and
// mins are pre-decoded to one byte per lane, and the accumulator's lanes are the 16 outputs.
//
// Super-block layout inside a group (2368 B = 37 cache lines, one sequential stream):
//     0: f16 d of rows 0..15          32: f16 dmin of rows 0..15
//    64: u8 scale sc_j of row r at 64 + 16j + r                        (j = sub-block 0..7)
//   192: u8 min pairs: m_2k, m_2k+1 of row r at 192 + 32k + 2r, +1     (k = 0..3)
//   320: nibbles: chunk c (0..3), quad q (0..7): 64 B, lane r = qs[32c + 4q .. 32c + 4q + 3] of
//        row r (low nibbles: values 64c+4q.., sub-block 2c; high: 64c+32+4q.., sub-block 2c+1).
// Rows past the matrix's end are zero (d = dmin = 0), contribute nothing and are not stored.
//
// Q5_K (176 B: d, dmin, scales as Q4_K, qh[32], qs[128]) uses the same layout with the fifth
// bits inserted at 320 (quad q: 64 B, lane r = qh[4q .. 4q+3] of row r; bit 2c / 2c+1 of qh[l]
// is the fifth bit of value 64c+l / 64c+32+l) and the nibbles moved to 832 (2880 B = 45 lines).
//
// Activations are kquant_generic.hpp's prepared rows (per 256 values: int8 a[256], int16 Σa per
// 16 at +256, f32 d_a at +288). Per row: Σ x·w = d_a·(d·Σ_j sc_j·Σ_{i∈j} q_i·a_i − dmin·Σ_j m_j·Σ_{i∈j} a_i);
// the min term is one vpdpwssd per sub-block pair against (Σa_2k, Σa_2k+1) broadcast.
#include <immintrin.h>

#include <cstring>

// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*, which trips these.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/cpu/cpu_kernels.hpp"

namespace sgl::kernels::cpu {
namespace {

#define SGL_INLINE inline __attribute__((always_inline))

constexpr int kRows = kAvx512PackRows;
// One packed super-block of 16 rows, where its nibbles start, and the source block's size.
constexpr size_t sb_bytes(bool five) { return five ? 2880 : 2368; }
constexpr size_t qs_at(bool five) { return five ? 832 : 320; }
constexpr size_t kActSb = 320;        // kquant_generic.hpp kKqSb
constexpr size_t kActBsum = 256;      // kKqBsum
constexpr size_t kActD = 288;         // kKqD
constexpr int kPrefetchBytes = 2048;  // same distance as the Q4_0 packed GEMV
constexpr size_t kSc = 64, kMin = 192, kQh = 320;

static_assert(qs_at(false) + 4 * 8 * 64 == sb_bytes(false) && qs_at(true) + 4 * 8 * 64 == sb_bytes(true));
static_assert(sb_bytes(false) % 64 == 0 && sb_bytes(true) % 64 == 0);

// Moves bit `from` of every byte to bit 4 (only bit 4 is kept by the caller, so the 16-bit
// shift's bleed across bytes does not matter).
template <int From>
SGL_INLINE __m512i bit_to_4(__m512i v) {
  if constexpr (From < 4) return _mm512_slli_epi16(v, 4 - From);
  else if constexpr (From > 4) return _mm512_srli_epi16(v, From - 4);
  else return v;
}

// Sub-block j's 6-bit scale and min from the 12 packed bytes (quant_k.hpp's layout).
void scale_min(const uint8_t* s, int j, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
  }
}

SGL_INLINE __m512i bcast32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// Chunk C (64 values: sub-block 2C in the low nibbles, 2C+1 in the high ones) of super-block s:
// sumi[t] += sc_2C·Σ q·a + sc_2C+1·Σ q·a, per row lane.
template <int T, bool Five, int C>
SGL_INLINE void q4_kx16_chunk(const uint8_t* base, const uint8_t* const* a, int64_t s, __m512i m4, __m512i m10,
                              __m512i (&sumi)[T]) {
  constexpr int kLines = static_cast<int>(sb_bytes(Five) / 64 - 1) / 4;
  // The weights are one stream read once per token: prefetch ~2 KiB ahead (into the next
  // super-block / group, same stream; prefetches never fault), a quarter of the lines per chunk.
  const char* ahead = reinterpret_cast<const char*>(base + kPrefetchBytes);
#pragma GCC unroll 11
  for (int i = 0; i < kLines; ++i) _mm_prefetch(ahead + 64 * (kLines * C + i), _MM_HINT_T0);
  if constexpr (C == 3) _mm_prefetch(ahead + 64 * (4 * kLines), _MM_HINT_T0);
  const uint8_t* q = base + qs_at(Five) + 512 * static_cast<size_t>(C);
  // Per token: low / high sub-block, two chains each (even / odd quads) to halve the latency.
  __m512i d0[T], d1[T], d2[T], d3[T];
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) d0[t] = d1[t] = d2[t] = d3[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
  for (int k = 0; k < 8; k += 2) {
    const __m512i w0 = _mm512_load_si512(q + 64 * k);
    const __m512i w1 = _mm512_load_si512(q + 64 * k + 64);
    __m512i lo0, hi0, lo1, hi1;
    if constexpr (Five) {
      // value = nibble | fifth bit << 4; ternlog 0xEA: (x & m4) | y.
      const __m512i h0 = _mm512_load_si512(base + kQh + 64 * k);
      const __m512i h1 = _mm512_load_si512(base + kQh + 64 * k + 64);
      lo0 = _mm512_ternarylogic_epi32(w0, m4, _mm512_and_si512(bit_to_4<2 * C>(h0), m10), 0xEA);
      hi0 = _mm512_ternarylogic_epi32(_mm512_srli_epi16(w0, 4), m4, _mm512_and_si512(bit_to_4<2 * C + 1>(h0), m10), 0xEA);
      lo1 = _mm512_ternarylogic_epi32(w1, m4, _mm512_and_si512(bit_to_4<2 * C>(h1), m10), 0xEA);
      hi1 = _mm512_ternarylogic_epi32(_mm512_srli_epi16(w1, 4), m4, _mm512_and_si512(bit_to_4<2 * C + 1>(h1), m10), 0xEA);
    } else {
      lo0 = _mm512_and_si512(w0, m4);
      hi0 = _mm512_and_si512(_mm512_srli_epi16(w0, 4), m4);
      lo1 = _mm512_and_si512(w1, m4);
      hi1 = _mm512_and_si512(_mm512_srli_epi16(w1, 4), m4);
    }
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
      const uint8_t* ab = a[t] + static_cast<size_t>(s) * kActSb + 64 * C + 4 * k;
      d0[t] = _mm512_dpbusd_epi32(d0[t], lo0, bcast32(ab));
      d1[t] = _mm512_dpbusd_epi32(d1[t], lo1, bcast32(ab + 4));
      d2[t] = _mm512_dpbusd_epi32(d2[t], hi0, bcast32(ab + 32));
      d3[t] = _mm512_dpbusd_epi32(d3[t], hi1, bcast32(ab + 36));
    }
  }
  const __m512i sc_lo = _mm512_cvtepu8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(base + kSc + 32 * C)));
  const __m512i sc_hi = _mm512_cvtepu8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(base + kSc + 32 * C + 16)));
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t)
    sumi[t] = _mm512_add_epi32(sumi[t], _mm512_add_epi32(_mm512_mullo_epi32(_mm512_add_epi32(d0[t], d1[t]), sc_lo),
                                                         _mm512_mullo_epi32(_mm512_add_epi32(d2[t], d3[t]), sc_hi)));
}

// acc[t] (lane j = row j) += the group's dot products with T prepared activation rows.
template <int T, bool Five>
SGL_INLINE void q4_kx16_group(const uint8_t* gp, int64_t nsb, const uint8_t* const* a, __m512 (&acc)[T]) {
  constexpr size_t kSb = sb_bytes(Five);
  const __m512i m4 = _mm512_set1_epi8(0x0f);
  const __m512i m10 = _mm512_set1_epi8(0x10);
  for (int64_t s = 0; s < nsb; ++s) {
    const uint8_t* base = gp + static_cast<size_t>(s) * kSb;
    __m512i sumi[T];
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) sumi[t] = _mm512_setzero_si512();
    q4_kx16_chunk<T, Five, 0>(base, a, s, m4, m10, sumi);
    q4_kx16_chunk<T, Five, 1>(base, a, s, m4, m10, sumi);
    q4_kx16_chunk<T, Five, 2>(base, a, s, m4, m10, sumi);
    q4_kx16_chunk<T, Five, 3>(base, a, s, m4, m10, sumi);
    const __m512 dd = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(base)));
    const __m512 dm = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(base + 32)));
    __m512i mins[4];
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k)
      mins[k] = _mm512_cvtepu8_epi16(_mm256_load_si256(reinterpret_cast<const __m256i*>(base + kMin + 32 * k)));
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
      const uint8_t* o = a[t] + static_cast<size_t>(s) * kActSb;
      int16_t bs[16];
      float da;
      std::memcpy(bs, o + kActBsum, sizeof bs);
      std::memcpy(&da, o + kActD, 4);
      __m512i summ = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) {
        // (Σa over sub-block 2k, over 2k+1) as an int16 pair; each fits (32·127).
        const auto s0 = static_cast<uint16_t>(bs[4 * k] + bs[4 * k + 1]);
        const auto s1 = static_cast<uint16_t>(bs[4 * k + 2] + bs[4 * k + 3]);
        summ = _mm512_dpwssd_epi32(summ, mins[k], _mm512_set1_epi32(static_cast<int32_t>(s0 | (uint32_t{s1} << 16))));
      }
      const __m512 vda = _mm512_set1_ps(da);
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[t]), _mm512_mul_ps(dd, vda), acc[t]);
      acc[t] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(summ), _mm512_mul_ps(dm, vda), acc[t]);
    }
  }
}

template <int T, bool Five>
void q4_kx16_tile(const GemmTile& g, const uint8_t* gp, int64_t r, int64_t t0) {
  const uint8_t* a[T];
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) a[t] = static_cast<const uint8_t*>(g.act) + (t0 + t) * g.act_stride;
  __m512 acc[T];
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  q4_kx16_group<T, Five>(gp, g.cols / 256, a, acc);
  const int64_t n = g.r1 - r < kRows ? g.r1 - r : kRows;
  const __mmask16 mask = static_cast<__mmask16>((1u << n) - 1);
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(g.y + (t0 + t) * g.ldy + r, mask, acc[t]);
}

template <bool Five>
void pack(const uint8_t* src, size_t src_stride, int64_t n_rows, int64_t cols, uint8_t* dst) {
  constexpr size_t kSrcSb = Five ? 176 : 144;  // BlockQ5K / BlockQ4K
  constexpr size_t kSrcQs = Five ? 48 : 16;
  const int64_t nsb = cols / 256;
  std::memset(dst, 0, static_cast<size_t>(nsb) * sb_bytes(Five));
  for (int64_t r = 0; r < n_rows; ++r) {
    const uint8_t* row = src + static_cast<size_t>(r) * src_stride;
    for (int64_t s = 0; s < nsb; ++s) {
      const uint8_t* blk = row + static_cast<size_t>(s) * kSrcSb;
      uint8_t* o = dst + static_cast<size_t>(s) * sb_bytes(Five);
      std::memcpy(o + 2 * r, blk, 2);
      std::memcpy(o + 32 + 2 * r, blk + 2, 2);
      for (int j = 0; j < 8; ++j) {
        uint8_t sc, m;
        scale_min(blk + 4, j, &sc, &m);
        o[kSc + 16 * j + r] = sc;
        o[kMin + 32 * (j / 2) + 2 * r + (j & 1)] = m;
      }
      if constexpr (Five)
        for (int q = 0; q < 8; ++q) std::memcpy(o + kQh + 64 * q + 4 * r, blk + 16 + 4 * q, 4);
      for (int c = 0; c < 4; ++c)
        for (int q = 0; q < 8; ++q)
          std::memcpy(o + qs_at(Five) + 512 * c + 64 * q + 4 * r, blk + kSrcQs + 32 * c + 4 * q, 4);
    }
  }
}

template <bool Five>
void gemm(const GemmTile& g) {
  // Group outer, token tiles inner: one group's weights (16 rows) stay in L1/L2 across tokens.
  for (int64_t r = g.r0; r < g.r1; r += kRows) {
    const uint8_t* gp = g.w + static_cast<size_t>(r / kRows) * g.w_stride;
    int64_t t = g.t0;
    for (; t + 4 <= g.t1; t += 4) q4_kx16_tile<4, Five>(g, gp, r, t);
    switch (g.t1 - t) {
      case 3:
        q4_kx16_tile<3, Five>(g, gp, r, t);
        break;
      case 2:
        q4_kx16_tile<2, Five>(g, gp, r, t);
        break;
      case 1:
        q4_kx16_tile<1, Five>(g, gp, r, t);
        break;
      default:
        break;
    }
  }
}

}  // namespace

size_t q4_kx16_group_bytes(int64_t cols) { return static_cast<size_t>(cols / 256) * sb_bytes(false); }
void q4_kx16_pack(const uint8_t* src, size_t src_stride, int64_t n_rows, int64_t cols, uint8_t* dst) {
  pack<false>(src, src_stride, n_rows, cols, dst);
}
void q4_kx16_gemm(const GemmTile& g) { gemm<false>(g); }

size_t q5_kx16_group_bytes(int64_t cols) { return static_cast<size_t>(cols / 256) * sb_bytes(true); }
void q5_kx16_pack(const uint8_t* src, size_t src_stride, int64_t n_rows, int64_t cols, uint8_t* dst) {
  pack<true>(src, src_stride, n_rows, cols, dst);
}
void q5_kx16_gemm(const GemmTile& g) { gemm<true>(g); }

}  // namespace sgl::kernels::cpu
