// Paged causal attention written against the SIMD wrapper `V`; included by kernels_generic.hpp
// (same rules: internal linkage only, compiled once per ISA).
//
// A task is a few query rows of one head. Keys are taken in blocks of up to 64; per query row
//   scores: N keys at a time, each a dot product over head_dim, reduced together (V::hsum_n)
//   online softmax: block max, rescale of the running output, vectorized exp
//   output: o += p_j · v_j with o held in registers per N-wide slice of head_dim.
// Everything is f32. A Q8_0 cache (blocks of 32 along head_dim, f16 scale) is always widened:
// each key block is dequantized once into the f32 scratch and shared by the task's rows.

// Floats per scratch matrix (36 KiB): 16 rows of the widest head, 576 = DeepSeek's MLA row
// (kv_lora 512 + rope 64), so a block always holds at least one vector width of keys.
constexpr int kAttnBuf = 16 * 576;

inline int round_up_n(int x) { return (x + V::N - 1) / V::N * V::N; }

// Rows are reached through pointer arrays: either straight into the KV pool (element type KD,
// used when one query row would not amortize a conversion) or into f32 copies widened once per
// key block and shared by all the task's rows.

// sc[j] = q · row_j for j < nv (q zero-padded to a multiple of N). Rows past nv repeat the last
// one so every group of N is full; their lanes are ignored.
template <DType LD>
inline void dot_rows(const float* q, const void* const* rows, int nv, int hd, float* sc) {
  using F = typename V::F;
  constexpr int N = V::N;
  const int hd_full = hd / N * N;
  for (int j = 0; j < nv; j += N) {
    const void* r[N];
#pragma GCC unroll 16
    for (int jj = 0; jj < N; ++jj) r[jj] = rows[j + jj < nv ? j + jj : nv - 1];
    F acc[N];
#pragma GCC unroll 16
    for (int jj = 0; jj < N; ++jj) acc[jj] = V::zero();
    int d = 0;
    for (; d < hd_full; d += N) {
      const F qv = V::load(q + d);
#pragma GCC unroll 16
      for (int jj = 0; jj < N; ++jj) acc[jj] = V::fma(qv, load_as_f32<LD>(r[jj], d), acc[jj]);
    }
    if (d < hd) {
      const F qv = V::load(q + d);
#pragma GCC unroll 16
      for (int jj = 0; jj < N; ++jj) acc[jj] = V::fma(qv, loadn_as_f32<LD>(r[jj], d, hd - d), acc[jj]);
    }
    V::store(sc + j, V::hsum_n(acc));  // sc has room for a full vector past nv
  }
}

// Slice [d, d+N) of a row (masked when it runs past hd).
template <DType LD>
inline typename V::F load_slice(const void* row, int d, int hd) {
  return d + V::N <= hd ? load_as_f32<LD>(row, d) : loadn_as_f32<LD>(row, d, hd - d);
}

// o[0..hd) += Σ_j p[j] · row_j. Up to 4 slices of head_dim × 2 alternating keys = 8 independent
// FMA chains (one chain per slice would be latency-bound). o is padded to a multiple of N.
template <DType LD>
inline void accumulate_pv(const float* p, const void* const* rows, int nv, int hd, float* o) {
  using F = typename V::F;
  constexpr int N = V::N;
  for (int d0 = 0; d0 < hd; d0 += 4 * N) {
    const int ns = mini(4, (hd - d0 + N - 1) / N);
    F acc0[4], acc1[4];
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      acc0[k] = k < ns ? V::load(o + d0 + k * N) : V::zero();
      acc1[k] = V::zero();
    }
    int j = 0;
    for (; j + 2 <= nv; j += 2) {
      const F p0 = V::set1(p[j]), p1 = V::set1(p[j + 1]);
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) {
        if (k < ns) {
          acc0[k] = V::fma(p0, load_slice<LD>(rows[j], d0 + k * N, hd), acc0[k]);
          acc1[k] = V::fma(p1, load_slice<LD>(rows[j + 1], d0 + k * N, hd), acc1[k]);
        }
      }
    }
    if (j < nv) {
      const F p0 = V::set1(p[j]);
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k)
        if (k < ns) acc0[k] = V::fma(p0, load_slice<LD>(rows[j], d0 + k * N, hd), acc0[k]);
    }
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k)
      if (k < ns) V::store(o + d0 + k * N, V::add(acc0[k], acc1[k]));
  }
}

// Online-softmax update of one query row with this block's raw scores sc[0..nv): returns the
// weights in sc and rescales o/l when the running maximum grows.
inline void softmax_block(float* sc, int nv, int hdp, float* o, float* m, float* l) {
  using F = typename V::F;
  constexpr int N = V::N;
  float bm = -__builtin_inff();
  for (int j = 0; j < nv; ++j) bm = maxf(bm, sc[j]);
  const float mnew = maxf(*m, bm);
  if (mnew > *m && *l > 0.0f) {
    const float corr = __builtin_expf(*m - mnew);
    *l *= corr;
    const F cv = V::set1(corr);
    for (int d = 0; d < hdp; d += N) V::store(o + d, V::mul(V::load(o + d), cv));
  }
  *m = mnew;
  const F mv = V::set1(mnew);
  F lsum = V::zero();
  int j = 0;
  for (; j + N <= nv; j += N) {
    const F e = V::exp(V::sub(V::load(sc + j), mv));
    V::store(sc + j, e);
    lsum = V::add(lsum, e);
  }
  if (j < nv) {
    const F e = V::mask_tail(V::exp(V::sub(V::load(sc + j), mv)), nv - j);
    V::store(sc + j, e);
    lsum = V::add(lsum, e);
  }
  *l += V::hsum(lsum);
}

template <DType KD>
void attention_impl(const AttnTask& a) {
  constexpr int N = V::N;
  constexpr size_t esize = KD == DType::F32 ? 4 : 2;  // plain types
  constexpr int kBlock = 64;
  const KvLayer& kv = *a.kv;
  const AttnSeq& s = *a.seq;
  const int hd = kv.head_dim;
  const int hdp = round_up_n(hd);
  const int ps = kv.page_size;
  const int kvh = a.head / (a.n_heads / kv.n_kv_heads);
  const size_t head_bytes =
      KD == DType::Q8_0 ? static_cast<size_t>(hd / kQK8_0) * sizeof(BlockQ8_0) : static_cast<size_t>(hd) * esize;
  const size_t slot_bytes = static_cast<size_t>(kv.n_kv_heads) * head_bytes;
  const int64_t q_stride = static_cast<int64_t>(a.n_heads) * hd;
  const uint8_t* kbase = static_cast<const uint8_t*>(kv.k) + kvh * head_bytes;
  const uint8_t* vbase = static_cast<const uint8_t*>(kv.v) + kvh * head_bytes;
  // Keys per block and query rows per pass, so each scratch matrix fits kAttnBuf floats.
  const int kb_keys = mini(kBlock, maxi(N, kAttnBuf / hdp / N * N));
  const int q_rows = mini(16, kAttnBuf / hdp);

  alignas(64) float kf[kAttnBuf];
  alignas(64) float vf[kAttnBuf];
  alignas(64) float qs[kAttnBuf];
  alignas(64) float o[kAttnBuf];
  alignas(64) float sc[kBlock + V::N];
  const void* kp[kBlock];
  const void* vp[kBlock];
  const void* kfp[kBlock];
  const void* vfp[kBlock];
  float m[16], l[16];
  for (int j = 0; j < kb_keys; ++j) {
    kfp[j] = kf + j * hdp;
    vfp[j] = vf + j * hdp;
  }

  for (int r0 = a.i0; r0 < a.i1; r0 += q_rows) {
    const int nr = mini(q_rows, a.i1 - r0);
    // Converting K/V once pays off when several rows share it; Q8_0 rows are only read widened.
    const bool widen = KD == DType::Q8_0 || nr >= 3;
    const int first_vis = s.kv_len - s.q_len + r0 + 1;  // keys seen by the pass's first row
    for (int r = 0; r < nr; ++r) {
      const float* qp = a.q + (s.q_start + r0 + r) * q_stride + static_cast<int64_t>(a.head) * hd;
      for (int d = 0; d < hdp; ++d) {
        qs[r * hdp + d] = d < hd ? qp[d] * a.scale : 0.0f;
        o[r * hdp + d] = 0.0f;
      }
      m[r] = -__builtin_inff();
      l[r] = 0.0f;
    }
    const int n_max = first_vis + nr - 1;  // keys seen by the last row
    for (int p0 = 0; p0 < n_max; p0 += kb_keys) {
      const int nb = mini(kb_keys, n_max - p0);
      int page = p0 / ps, off = p0 % ps;
      for (int j = 0; j < nb; ++j) {
        const size_t at = (static_cast<size_t>(s.pages[page]) * ps + off) * slot_bytes;
        kp[j] = kbase + at;
        vp[j] = vbase + at;
        if (++off == ps) {
          off = 0;
          ++page;
        }
      }
      if constexpr (KD == DType::Q8_0) {
        for (int j = 0; j < nb; ++j) {  // hd is a multiple of 32, so of N: hdp == hd
          ::sgl::kernels::dequantize_row(DType::Q8_0, kp[j], kf + j * hdp, hd);
          ::sgl::kernels::dequantize_row(DType::Q8_0, vp[j], vf + j * hdp, hd);
        }
      } else if (widen) {
        for (int j = 0; j < nb; ++j) {
          for (int d = 0; d < hdp; d += N) {
            V::store(kf + j * hdp + d, load_slice<KD>(kp[j], d, hd));
            V::store(vf + j * hdp + d, load_slice<KD>(vp[j], d, hd));
          }
        }
      }
      for (int r = 0; r < nr; ++r) {
        const int nv = mini(nb, first_vis + r - p0);  // causal: row r sees keys < first_vis + r
        if (nv <= 0) continue;
        float* orow = o + r * hdp;
        if constexpr (KD == DType::Q8_0) {
          dot_rows<DType::F32>(qs + r * hdp, kfp, nv, hdp, sc);
          softmax_block(sc, nv, hdp, orow, &m[r], &l[r]);
          accumulate_pv<DType::F32>(sc, vfp, nv, hdp, orow);
        } else {
          if (widen) {
            dot_rows<DType::F32>(qs + r * hdp, kfp, nv, hdp, sc);
          } else {
            dot_rows<KD>(qs + r * hdp, kp, nv, hd, sc);
          }
          softmax_block(sc, nv, hdp, orow, &m[r], &l[r]);
          if (widen) {
            accumulate_pv<DType::F32>(sc, vfp, nv, hdp, orow);
          } else {
            accumulate_pv<KD>(sc, vp, nv, hd, orow);
          }
        }
      }
    }
    for (int r = 0; r < nr; ++r) {
      float* op = a.out + (s.q_start + r0 + r) * q_stride + static_cast<int64_t>(a.head) * hd;
      const float inv = 1.0f / l[r];
      for (int d = 0; d < hd; ++d) op[d] = o[r * hdp + d] * inv;
    }
  }
}

void attention(const AttnTask& a) {
  switch (a.kv->dtype) {
    case DType::F32:
      attention_impl<DType::F32>(a);
      return;
    case DType::F16:
      attention_impl<DType::F16>(a);
      return;
    case DType::BF16:
      attention_impl<DType::BF16>(a);
      return;
    case DType::Q8_0:
      attention_impl<DType::Q8_0>(a);
      return;
    default:
      return;  // CpuBackend rejects other KV types
  }
}
