// Q6_K weights repacked at load for the AVX-512 kernels: 16 output rows interleaved ("q6_Kx16"),
// the Q6_K counterpart of q4_k_packed_avx512.cpp (same idea: lane j of every 512-bit load is
// row j, vpdpbusd against a broadcast of 4 activation bytes, no horizontal sums).
//
// GGML Q6_K (210 B per 256 values): ql[128] low nibbles, qh[64] 2-bit high parts, int8 scale per
// 16 values, f16 d; x = d·sc_g·(q - 32). For half h (0..1) and l in 0..31, ql[64h+l] holds values
// 128h+l (low nibble) and 128h+64+l (high), ql[64h+32+l] values 128h+32+l and 128h+96+l, and bits
// 2s..2s+1 of qh[32h+l] are the high bits of value 128h+32s+l.
//
// Super-block layout inside a group (3392 B = 53 cache lines, one sequential stream):
//     0: f16 d of rows 0..15 (32 B, then 32 B of padding)
//    64: int8 scale sc_g of row r at 64 + 16g + r                       (g = group of 16, 0..15)
//   320: per half h and quad k (0..7): 192 B at 320 + 192·(8h + k): lane r = row r's
//        ql[64h+4k..+3], then ql[64h+32+4k..+3], then qh[32h+4k..+3].
// Rows past the matrix's end are zero (d = 0), contribute nothing and are not stored.
//
// Activations: kquant_generic.hpp's prepared rows. Σ x·w = d_a·d·Σ_g sc_g·(Σ_{i∈g} q_i·a_i − 32·Σ_{i∈g} a_i):
// each group's dpbusd chain starts from −32·Σa_g (the same for all 16 rows), then one vpmulld by
// the per-lane scales.
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
constexpr size_t kSbBytes = 3392;     // one packed super-block of 16 rows
constexpr size_t kSrcSb = 210;        // BlockQ6K
constexpr size_t kActSb = 320;        // kquant_generic.hpp kKqSb
constexpr size_t kActBsum = 256;      // kKqBsum
constexpr size_t kActD = 288;         // kKqD
constexpr int kPrefetchBytes = 2048;  // same distance as the Q4_0 / Q4_K packed GEMVs
constexpr size_t kSc = 64, kQ = 320;

static_assert(kQ + 16 * 192 == kSbBytes && kSbBytes % 64 == 0);

SGL_INLINE __m512i bcast32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// acc[t] (lane j = row j) += the group's dot products with T prepared activation rows.
template <int T>
SGL_INLINE void q6_kx16_group(const uint8_t* gp, int64_t nsb, const uint8_t* const* a, __m512 (&acc)[T]) {
  const __m512i m0f = _mm512_set1_epi8(0x0f);
  const __m512i m30 = _mm512_set1_epi8(0x30);
  for (int64_t s = 0; s < nsb; ++s) {
    const uint8_t* base = gp + static_cast<size_t>(s) * kSbBytes;
    __m512i sumi[T];
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) sumi[t] = _mm512_setzero_si512();
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
#pragma GCC unroll 2
      for (int kk = 0; kk < 2; ++kk) {
        // Groups 8h + {0, 2, 4, 6} + kk: the four value streams of quads k = 4kk .. 4kk+3.
        const uint8_t* q = base + kQ + 192 * static_cast<size_t>(8 * h + 4 * kk);
        // The weights are one stream read once per token: prefetch ~2 KiB ahead (the next
        // super-block / group, same stream; prefetches never fault). 53 lines over 4 steps.
        const char* ahead = reinterpret_cast<const char*>(base + kPrefetchBytes);
        const int step = 2 * h + kk;
#pragma GCC unroll 13
        for (int i = 0; i < 13; ++i) _mm_prefetch(ahead + 64 * (13 * step + i), _MM_HINT_T0);
        if (step == 3) _mm_prefetch(ahead + 64 * 52, _MM_HINT_T0);
        __m512i d[T][4];
#pragma GCC unroll 4
        for (int t = 0; t < T; ++t) {
          const int16_t* bs = reinterpret_cast<const int16_t*>(a[t] + static_cast<size_t>(s) * kActSb + kActBsum);
          int16_t b[16];
          std::memcpy(b, bs, sizeof b);
#pragma GCC unroll 4
          for (int v = 0; v < 4; ++v) d[t][v] = _mm512_set1_epi32(-32 * b[8 * h + 2 * v + kk]);
        }
#pragma GCC unroll 4
        for (int k4 = 0; k4 < 4; ++k4) {
          const uint8_t* p = q + 192 * k4;
          const __m512i A = _mm512_load_si512(p);
          const __m512i B = _mm512_load_si512(p + 64);
          const __m512i H = _mm512_load_si512(p + 128);
          // q = nibble | (2 high bits << 4); ternlog 0xEA: (x & m0f) | y.
          const __m512i q0 = _mm512_ternarylogic_epi32(A, m0f, _mm512_and_si512(_mm512_slli_epi16(H, 4), m30), 0xEA);
          const __m512i q1 = _mm512_ternarylogic_epi32(B, m0f, _mm512_and_si512(_mm512_slli_epi16(H, 2), m30), 0xEA);
          const __m512i q2 = _mm512_ternarylogic_epi32(_mm512_srli_epi16(A, 4), m0f, _mm512_and_si512(H, m30), 0xEA);
          const __m512i q3 =
              _mm512_ternarylogic_epi32(_mm512_srli_epi16(B, 4), m0f, _mm512_and_si512(_mm512_srli_epi16(H, 2), m30), 0xEA);
          const int k = 4 * kk + k4;
#pragma GCC unroll 4
          for (int t = 0; t < T; ++t) {
            const uint8_t* ab = a[t] + static_cast<size_t>(s) * kActSb + 128 * h + 4 * k;
            d[t][0] = _mm512_dpbusd_epi32(d[t][0], q0, bcast32(ab));
            d[t][1] = _mm512_dpbusd_epi32(d[t][1], q1, bcast32(ab + 32));
            d[t][2] = _mm512_dpbusd_epi32(d[t][2], q2, bcast32(ab + 64));
            d[t][3] = _mm512_dpbusd_epi32(d[t][3], q3, bcast32(ab + 96));
          }
        }
        __m512i sc[4];
#pragma GCC unroll 4
        for (int v = 0; v < 4; ++v)
          sc[v] = _mm512_cvtepi8_epi32(
              _mm_load_si128(reinterpret_cast<const __m128i*>(base + kSc + 16 * (8 * h + 2 * v + kk))));
#pragma GCC unroll 4
        for (int t = 0; t < T; ++t) {
          const __m512i p01 = _mm512_add_epi32(_mm512_mullo_epi32(d[t][0], sc[0]), _mm512_mullo_epi32(d[t][1], sc[1]));
          const __m512i p23 = _mm512_add_epi32(_mm512_mullo_epi32(d[t][2], sc[2]), _mm512_mullo_epi32(d[t][3], sc[3]));
          sumi[t] = _mm512_add_epi32(sumi[t], _mm512_add_epi32(p01, p23));
        }
      }
    }
    const __m512 dd = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(base)));
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
      float da;
      std::memcpy(&da, a[t] + static_cast<size_t>(s) * kActSb + kActD, 4);
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[t]), _mm512_mul_ps(dd, _mm512_set1_ps(da)), acc[t]);
    }
  }
}

template <int T>
void q6_kx16_tile(const GemmTile& g, const uint8_t* gp, int64_t r, int64_t t0) {
  const uint8_t* a[T];
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) a[t] = static_cast<const uint8_t*>(g.act) + (t0 + t) * g.act_stride;
  __m512 acc[T];
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  q6_kx16_group<T>(gp, g.cols / 256, a, acc);
  const int64_t n = g.r1 - r < kRows ? g.r1 - r : kRows;
  const __mmask16 mask = static_cast<__mmask16>((1u << n) - 1);
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(g.y + (t0 + t) * g.ldy + r, mask, acc[t]);
}

}  // namespace

size_t q6_kx16_group_bytes(int64_t cols) { return static_cast<size_t>(cols / 256) * kSbBytes; }

void q6_kx16_pack(const uint8_t* src, size_t src_stride, int64_t n_rows, int64_t cols, uint8_t* dst) {
  const int64_t nsb = cols / 256;
  std::memset(dst, 0, q6_kx16_group_bytes(cols));
  for (int64_t r = 0; r < n_rows; ++r) {
    const uint8_t* row = src + static_cast<size_t>(r) * src_stride;
    for (int64_t s = 0; s < nsb; ++s) {
      const uint8_t* blk = row + static_cast<size_t>(s) * kSrcSb;  // ql, qh, scales, d
      uint8_t* o = dst + static_cast<size_t>(s) * kSbBytes;
      std::memcpy(o + 2 * r, blk + 208, 2);
      for (int g = 0; g < 16; ++g) o[kSc + 16 * g + r] = blk[192 + g];
      for (int h = 0; h < 2; ++h)
        for (int k = 0; k < 8; ++k) {
          uint8_t* p = o + kQ + 192 * (8 * h + k) + 4 * r;
          std::memcpy(p, blk + 64 * h + 4 * k, 4);
          std::memcpy(p + 64, blk + 64 * h + 32 + 4 * k, 4);
          std::memcpy(p + 128, blk + 128 + 32 * h + 4 * k, 4);
        }
    }
  }
}

void q6_kx16_gemm(const GemmTile& g) {
  // Group outer, token tiles inner: one group's weights (16 rows) stay in L1/L2 across tokens.
  for (int64_t r = g.r0; r < g.r1; r += kRows) {
    const uint8_t* gp = g.w + static_cast<size_t>(r / kRows) * g.w_stride;
    int64_t t = g.t0;
    for (; t + 4 <= g.t1; t += 4) q6_kx16_tile<4>(g, gp, r, t);
    switch (g.t1 - t) {
      case 3:
        q6_kx16_tile<3>(g, gp, r, t);
        break;
      case 2:
        q6_kx16_tile<2>(g, gp, r, t);
        break;
      case 1:
        q6_kx16_tile<1>(g, gp, r, t);
        break;
      default:
        break;
    }
  }
}

}  // namespace sgl::kernels::cpu
