// Reference (de)quantization of the K-quant and 5-bit block formats (see quant_k.hpp for the
// value definitions). The quantizers follow GGML's reference algorithms: a weighted
// least-squares search over a small grid of candidate scales per sub-block, then the sub-block
// scales themselves quantized to 6 (Q4_K/Q5_K/Q3_K), 8 (Q6_K) or 4 (Q2_K) bits against one f16
// super-block scale, and finally every value re-rounded against its quantized sub-block scale.
#include "kernels/quant_k.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/support/check.hpp"
#include "kernels/half.hpp"

namespace sgl::kernels {
namespace {

constexpr float kGroupEps = 1e-15f;

// Round to nearest, ties to even (the current rounding mode), like GGML's nearest_int.
inline int nearest(float v) { return static_cast<int>(std::nearbyint(v)); }

inline float rf16(float v) { return f16_to_f32(f32_to_f16(v)); }

// Asymmetric fit x ≈ scale·l - off, l ∈ [0, nmax], weights w: starts from the min/max grid, then
// tries nstep+1 stretched grids and keeps the weighted least-squares (scale, min) with the
// smallest error (squared, or absolute when `mad`). Returns scale; *off = -min >= 0.
float fit_asym(int n, int nmax, const float* x, const float* w, uint8_t* L, float* off, uint8_t* Laux, float rmin,
               float rdelta, int nstep, bool mad) {
  float mn = x[0], mx = x[0], sum_w = w[0], sum_x = w[0] * x[0];
  for (int i = 1; i < n; ++i) {
    mn = std::min(mn, x[i]);
    mx = std::max(mx, x[i]);
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (mn > 0) mn = 0;
  if (mx == mn) {
    std::fill(L, L + n, uint8_t{0});
    *off = -mn;
    return 0.0f;
  }
  float iscale = nmax / (mx - mn);
  float scale = 1.0f / iscale;
  float best = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(nearest(iscale * (x[i] - mn)), 0, nmax);
    L[i] = static_cast<uint8_t>(l);
    float diff = scale * l + mn - x[i];
    diff = mad ? std::fabs(diff) : diff * diff;
    best += w[i] * diff;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * is + nmax) / (mx - mn);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest(iscale * (x[i] - mn)), 0, nmax);
      Laux[i] = static_cast<uint8_t>(l);
      sum_l += w[i] * l;
      sum_l2 += w[i] * l * l;
      sum_xl += w[i] * l * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det > 0) {
      float s = (sum_w * sum_xl - sum_x * sum_l) / det;
      float m = (sum_l2 * sum_x - sum_l * sum_xl) / det;
      if (m > 0) {
        m = 0;
        s = sum_xl / sum_l2;
      }
      float err = 0;
      for (int i = 0; i < n; ++i) {
        float diff = s * Laux[i] + m - x[i];
        diff = mad ? std::fabs(diff) : diff * diff;
        err += w[i] * diff;
      }
      if (err < best) {
        std::copy(Laux, Laux + n, L);
        best = err;
        scale = s;
        mn = m;
      }
    }
  }
  *off = -mn;
  return scale;
}

// Symmetric fit x ≈ scale·l, l ∈ [-nmax, nmax-1] (stored as l + nmax), weights x² so large
// values fit best; tries 19 grids around nmax/max. Returns the (signed) scale.
float fit_sym(int n, int nmax, const float* x, uint8_t* L) {
  float mx = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      mx = x[i];
    }
  }
  if (amax < kGroupEps) {
    std::fill(L, L + n, uint8_t{0});
    return 0.0f;
  }
  auto q = [&](float iscale, int i) { return std::clamp(nearest(iscale * x[i]), -nmax, nmax - 1); };
  float iscale = -nmax / mx;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = q(iscale, i);
    L[i] = static_cast<uint8_t>(l + nmax);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(nmax + 0.1f * is) / mx;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = q(iscale, i);
      const float w = x[i] * x[i];
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) L[i] = static_cast<uint8_t>(nmax + q(iscale, i));
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// Q4_K and Q5_K share the scale search; nmax 15 or 31. Fills L[256] and the header fields.
void quantize_q45k_block(const float* x, int nmax, uint16_t* d_out, uint16_t* dmin_out, uint8_t* scales, uint8_t* L) {
  uint8_t Laux[32];
  float w[32], sc[8], mins[8];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    const float* xb = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xb[l] * xb[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) w[l] = av_x + std::fabs(xb[l]);
    sc[j] = nmax == 15 ? fit_asym(32, 15, xb, w, L + 32 * j, &mins[j], Laux, -1.0f, 0.1f, 20, false)
                       : fit_asym(32, 31, xb, w, L + 32 * j, &mins[j], Laux, -0.5f, 0.1f, 15, false);
    max_scale = std::max(max_scale, sc[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  std::memset(scales, 0, 12);
  for (int j = 0; j < 8; ++j) {
    const int ls = std::min(63, nearest(inv_scale * sc[j]));
    const int lm = std::min(63, nearest(inv_min * mins[j]));
    if (j < 4) {
      scales[j] = static_cast<uint8_t>(ls);
      scales[j + 4] = static_cast<uint8_t>(lm);
    } else {
      scales[j + 4] = static_cast<uint8_t>((ls & 0x0f) | ((lm & 0x0f) << 4));
      scales[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
      scales[j] |= static_cast<uint8_t>((lm >> 4) << 6);
    }
  }
  *d_out = f32_to_f16(max_scale / 63.0f);
  *dmin_out = f32_to_f16(max_min / 63.0f);
  const float d = f16_to_f32(*d_out), dmin = f16_to_f32(*dmin_out);
  for (int j = 0; j < 8; ++j) {
    uint8_t s, m;
    kq_scale_min(scales, j, &s, &m);
    const float dj = d * s;
    if (dj == 0) continue;
    const float dm = dmin * m;
    for (int l = 0; l < 32; ++l)
      L[32 * j + l] = static_cast<uint8_t>(std::clamp(nearest((x[32 * j + l] + dm) / dj), 0, nmax));
  }
}

void quantize_q4k(const float* x, BlockQ4K* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
    uint8_t L[kQK_K];
    quantize_q45k_block(x, 15, &y[i].d, &y[i].dmin, y[i].scales, L);
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l)
        y[i].qs[32 * c + l] = static_cast<uint8_t>(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
  }
}

void quantize_q5k(const float* x, BlockQ5K* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
    uint8_t L[kQK_K];
    quantize_q45k_block(x, 31, &y[i].d, &y[i].dmin, y[i].scales, L);
    std::memset(y[i].qh, 0, sizeof y[i].qh);
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        const int lo = L[64 * c + l], hi = L[64 * c + 32 + l];
        y[i].qs[32 * c + l] = static_cast<uint8_t>((lo & 0x0f) | ((hi & 0x0f) << 4));
        y[i].qh[l] |= static_cast<uint8_t>(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
      }
    }
  }
}

void quantize_q6k(const float* x, BlockQ6K* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
    uint8_t L[kQK_K];
    float sc[16];
    float max_scale = 0, max_abs = 0;
    for (int j = 0; j < 16; ++j) {
      sc[j] = fit_sym(16, 32, x + 16 * j, L + 16 * j);
      if (std::fabs(sc[j]) > max_abs) {
        max_abs = std::fabs(sc[j]);
        max_scale = sc[j];
      }
    }
    if (max_abs < kGroupEps) {
      std::memset(&y[i], 0, sizeof y[i]);
      continue;
    }
    const float iscale = -128.0f / max_scale;
    y[i].d = f32_to_f16(1.0f / iscale);
    for (int j = 0; j < 16; ++j) y[i].scales[j] = static_cast<int8_t>(std::min(127, nearest(iscale * sc[j])));
    const float d = f16_to_f32(y[i].d);
    for (int j = 0; j < 16; ++j) {
      const float dj = d * y[i].scales[j];
      if (dj == 0) continue;
      for (int l = 0; l < 16; ++l)
        L[16 * j + l] = static_cast<uint8_t>(std::clamp(nearest(x[16 * j + l] / dj), -32, 31) + 32);
    }
    for (int h = 0; h < 2; ++h) {
      const uint8_t* Lh = L + 128 * h;
      for (int l = 0; l < 32; ++l) {
        y[i].ql[64 * h + l] = static_cast<uint8_t>((Lh[l] & 0x0f) | ((Lh[l + 64] & 0x0f) << 4));
        y[i].ql[64 * h + l + 32] = static_cast<uint8_t>((Lh[l + 32] & 0x0f) | ((Lh[l + 96] & 0x0f) << 4));
        y[i].qh[32 * h + l] = static_cast<uint8_t>((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) | ((Lh[l + 64] >> 4) << 4) |
                                                   ((Lh[l + 96] >> 4) << 6));
      }
    }
  }
}

// 2-bit fields shared by Q2_K and Q3_K: value i at shift 2·((i%128)/32) of qs[32·(i/128) + i%32].
void pack_2bit(const uint8_t* L, uint8_t* qs) {
  for (int h = 0; h < 2; ++h)
    for (int l = 0; l < 32; ++l)
      qs[32 * h + l] = static_cast<uint8_t>(L[128 * h + l] | (L[128 * h + l + 32] << 2) | (L[128 * h + l + 64] << 4) |
                                            (L[128 * h + l + 96] << 6));
}

inline int get_2bit(const uint8_t* qs, int i) { return (qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3; }

void quantize_q3k(const float* x, BlockQ3K* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
    uint8_t L[kQK_K];
    float sc[16];
    float max_scale = 0, amax = 0;
    for (int j = 0; j < 16; ++j) {
      sc[j] = fit_sym(16, 4, x + 16 * j, L + 16 * j);
      if (std::fabs(sc[j]) > amax) {
        amax = std::fabs(sc[j]);
        max_scale = sc[j];
      }
    }
    std::memset(y[i].scales, 0, sizeof y[i].scales);
    if (max_scale != 0) {
      const float iscale = -32.0f / max_scale;
      for (int j = 0; j < 16; ++j) {
        const int l = std::clamp(nearest(iscale * sc[j]), -32, 31) + 32;
        if (j < 8)
          y[i].scales[j] = static_cast<uint8_t>(l & 0x0f);
        else
          y[i].scales[j - 8] |= static_cast<uint8_t>((l & 0x0f) << 4);
        y[i].scales[8 + j % 4] |= static_cast<uint8_t>((l >> 4) << (2 * (j / 4)));
      }
      y[i].d = f32_to_f16(1.0f / iscale);
    } else {
      y[i].d = 0;
    }
    const float d = f16_to_f32(y[i].d);
    for (int j = 0; j < 16; ++j) {
      const float dj = d * (kq3_scale(y[i].scales, j) - 32);
      if (dj == 0) continue;
      for (int l = 0; l < 16; ++l)
        L[16 * j + l] = static_cast<uint8_t>(std::clamp(nearest(x[16 * j + l] / dj), -4, 3) + 4);
    }
    std::memset(y[i].hmask, 0, sizeof y[i].hmask);
    for (int k = 0; k < kQK_K; ++k) {
      if (L[k] > 3) {
        y[i].hmask[k % 32] |= static_cast<uint8_t>(1u << (k / 32));
        L[k] = static_cast<uint8_t>(L[k] - 4);
      }
    }
    pack_2bit(L, y[i].qs);
  }
}

void quantize_q2k(const float* x, BlockQ2K* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
    uint8_t L[kQK_K], Laux[16];
    float w[16], sc[16], mins[16];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 16; ++j) {
      for (int l = 0; l < 16; ++l) w[l] = std::fabs(x[16 * j + l]);
      sc[j] = fit_asym(16, 3, x + 16 * j, w, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
      max_scale = std::max(max_scale, sc[j]);
      max_min = std::max(max_min, mins[j]);
    }
    std::memset(y[i].scales, 0, sizeof y[i].scales);
    y[i].d = y[i].dmin = 0;
    if (max_scale > 0) {
      const float iscale = 15.0f / max_scale;
      for (int j = 0; j < 16; ++j) y[i].scales[j] = static_cast<uint8_t>(std::min(15, nearest(iscale * sc[j])));
      y[i].d = f32_to_f16(max_scale / 15.0f);
    }
    if (max_min > 0) {
      const float iscale = 15.0f / max_min;
      for (int j = 0; j < 16; ++j) y[i].scales[j] |= static_cast<uint8_t>(std::min(15, nearest(iscale * mins[j])) << 4);
      y[i].dmin = f32_to_f16(max_min / 15.0f);
    }
    const float d = f16_to_f32(y[i].d), dmin = f16_to_f32(y[i].dmin);
    for (int j = 0; j < 16; ++j) {
      const float dj = d * (y[i].scales[j] & 0x0f);
      if (dj == 0) continue;
      const float dm = dmin * (y[i].scales[j] >> 4);
      for (int l = 0; l < 16; ++l)
        L[16 * j + l] = static_cast<uint8_t>(std::clamp(nearest((x[16 * j + l] + dm) / dj), 0, 3));
    }
    pack_2bit(L, y[i].qs);
  }
}

template <class B>
void quantize_q5_01(const float* x, B* y, int64_t nb) {
  constexpr bool kOff = std::is_same_v<B, BlockQ5_1>;
  for (int64_t i = 0; i < nb; ++i, x += 32) {
    float d, id, mn = 0;
    if constexpr (kOff) {
      float mx = x[0];
      mn = x[0];
      for (int j = 1; j < 32; ++j) {
        mn = std::min(mn, x[j]);
        mx = std::max(mx, x[j]);
      }
      d = (mx - mn) / 31;
      y[i].m = f32_to_f16(mn);
    } else {
      float amax = 0, mx = 0;
      for (int j = 0; j < 32; ++j) {
        if (std::fabs(x[j]) > amax) {
          amax = std::fabs(x[j]);
          mx = x[j];
        }
      }
      d = mx / -16;
    }
    id = d != 0 ? 1.0f / d : 0.0f;
    y[i].d = f32_to_f16(d);
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
      int q0, q1;
      if constexpr (kOff) {
        q0 = static_cast<int>((x[j] - mn) * id + 0.5f);
        q1 = static_cast<int>((x[j + 16] - mn) * id + 0.5f);
      } else {
        q0 = std::min(31, static_cast<int>(static_cast<int8_t>(x[j] * id + 16.5f)));
        q1 = std::min(31, static_cast<int>(static_cast<int8_t>(x[j + 16] * id + 16.5f)));
      }
      q0 = std::clamp(q0, 0, 31);
      q1 = std::clamp(q1, 0, 31);
      y[i].qs[j] = static_cast<uint8_t>((q0 & 0x0f) | ((q1 & 0x0f) << 4));
      qh |= static_cast<uint32_t>(q0 >> 4) << j;
      qh |= static_cast<uint32_t>(q1 >> 4) << (j + 16);
    }
    std::memcpy(y[i].qh, &qh, 4);
  }
}

template <class B>
void dequantize_q5_01(const B* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    uint32_t qh;
    std::memcpy(&qh, b[i].qh, 4);
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < 16; ++j) {
      const int q0 = (b[i].qs[j] & 0x0f) | (((qh >> j) & 1) << 4);
      const int q1 = (b[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
      if constexpr (std::is_same_v<B, BlockQ5_1>) {
        const float m = f16_to_f32(b[i].m);
        y[j] = d * q0 + m;
        y[j + 16] = d * q1 + m;
      } else {
        y[j] = d * (q0 - 16);
        y[j + 16] = d * (q1 - 16);
      }
    }
  }
}

}  // namespace

bool is_kq_family(DType t) {
  switch (t) {
    case DType::Q2_K:
    case DType::Q3_K:
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K:
    case DType::Q5_0:
    case DType::Q5_1:
      return true;
    default:
      return false;
  }
}

void dequantize_row_kq(DType t, const void* src, float* y, int64_t n) {
  const int64_t nb = n / dtype_info(t).block_elems;
  switch (t) {
    case DType::Q4_K:
    case DType::Q5_K: {
      const bool five = t == DType::Q5_K;
      for (int64_t i = 0; i < nb; ++i, y += kQK_K) {
        const uint8_t* base = static_cast<const uint8_t*>(src) + i * (five ? sizeof(BlockQ5K) : sizeof(BlockQ4K));
        uint16_t hd, hm;
        std::memcpy(&hd, base, 2);
        std::memcpy(&hm, base + 2, 2);
        const uint8_t* scales = base + 4;
        const uint8_t* qh = five ? base + 16 : nullptr;
        const uint8_t* qs = base + (five ? 48 : 16);
        const float d = f16_to_f32(hd), dmin = f16_to_f32(hm);
        for (int c = 0; c < 4; ++c) {
          uint8_t s0, m0, s1, m1;
          kq_scale_min(scales, 2 * c, &s0, &m0);
          kq_scale_min(scales, 2 * c + 1, &s1, &m1);
          for (int l = 0; l < 32; ++l) {
            int lo = qs[32 * c + l] & 0x0f, hi = qs[32 * c + l] >> 4;
            if (five) {
              lo |= ((qh[l] >> (2 * c)) & 1) << 4;
              hi |= ((qh[l] >> (2 * c + 1)) & 1) << 4;
            }
            y[64 * c + l] = d * s0 * lo - dmin * m0;
            y[64 * c + 32 + l] = d * s1 * hi - dmin * m1;
          }
        }
      }
      return;
    }
    case DType::Q6_K: {
      const auto* b = static_cast<const BlockQ6K*>(src);
      for (int64_t i = 0; i < nb; ++i, y += kQK_K) {
        const float d = f16_to_f32(b[i].d);
        for (int k = 0; k < kQK_K; ++k) {
          const int h = k / 128, l = k % 32, q4 = (k % 128) / 32;
          const uint8_t lo = b[i].ql[64 * h + l + 32 * (q4 & 1)];
          const int low = q4 < 2 ? (lo & 0x0f) : (lo >> 4);
          const int high = (b[i].qh[32 * h + l] >> (2 * q4)) & 3;
          y[k] = d * b[i].scales[k / 16] * ((low | (high << 4)) - 32);
        }
      }
      return;
    }
    case DType::Q3_K: {
      const auto* b = static_cast<const BlockQ3K*>(src);
      for (int64_t i = 0; i < nb; ++i, y += kQK_K) {
        const float d = f16_to_f32(b[i].d);
        for (int k = 0; k < kQK_K; ++k) {
          const int q = get_2bit(b[i].qs, k) - ((b[i].hmask[k % 32] >> (k / 32)) & 1 ? 0 : 4);
          y[k] = d * (kq3_scale(b[i].scales, k / 16) - 32) * q;
        }
      }
      return;
    }
    case DType::Q2_K: {
      const auto* b = static_cast<const BlockQ2K*>(src);
      for (int64_t i = 0; i < nb; ++i, y += kQK_K) {
        const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
        for (int k = 0; k < kQK_K; ++k) {
          const uint8_t s = b[i].scales[k / 16];
          y[k] = d * (s & 0x0f) * get_2bit(b[i].qs, k) - dmin * (s >> 4);
        }
      }
      return;
    }
    case DType::Q5_0:
      dequantize_q5_01(static_cast<const BlockQ5_0*>(src), y, nb);
      return;
    case DType::Q5_1:
      dequantize_q5_01(static_cast<const BlockQ5_1*>(src), y, nb);
      return;
    default:
      SGL_THROW(Status::kUnsupported, "dequantize: tensor type {} is not supported", dtype_name(t));
  }
}

void quantize_row_kq(DType t, const float* x, void* dst, int64_t n) {
  const int64_t nb = n / dtype_info(t).block_elems;
  switch (t) {
    case DType::Q4_K:
      return quantize_q4k(x, static_cast<BlockQ4K*>(dst), nb);
    case DType::Q5_K:
      return quantize_q5k(x, static_cast<BlockQ5K*>(dst), nb);
    case DType::Q6_K:
      return quantize_q6k(x, static_cast<BlockQ6K*>(dst), nb);
    case DType::Q3_K:
      return quantize_q3k(x, static_cast<BlockQ3K*>(dst), nb);
    case DType::Q2_K:
      return quantize_q2k(x, static_cast<BlockQ2K*>(dst), nb);
    case DType::Q5_0:
      return quantize_q5_01(x, static_cast<BlockQ5_0*>(dst), nb);
    case DType::Q5_1:
      return quantize_q5_01(x, static_cast<BlockQ5_1*>(dst), nb);
    default:
      SGL_THROW(Status::kUnsupported, "quantize: tensor type {} is not supported", dtype_name(t));
  }
}

}  // namespace sgl::kernels
