// Multi-head latent attention (deepseek2), as llama.cpp computes it for MLA-layout files:
//   q = q_b(rmsnorm(q_a h)) (or attn_q h), per head [q_nope | q_pe]
//   [latent | k_pe] = kv_a_mqa h; latent rms-normed; RoPE on q_pe and the one shared k_pe
//   Q_h = [k_b_h . q_nope_h | q_pe_h], K = V = [latent | k_pe] (one KV head, MQA)
//   o_h = softmax(Q_h K^T * kq_scale) V, out = attn_output(concat_h v_b_h . o_h[:kv_lora])
// The KV pool stores the compressed row [latent | k_pe] only; attention's value output over
// that row carries the latent part in its first kv_lora values, which is all v_b reads. The
// gathers between head layouts are host loops: cpu and ref keep activations in host memory.
#include <algorithm>

#include "core/model/transformer.hpp"
#include "core/support/check.hpp"

namespace sgl {
namespace {

enum MlaSlot : size_t { kQ, kQa, kKva, kRow, kPe, kQPe, kHeadIn, kHeadOut, kQFull, kO, kAttn, kSlots };

// dst[t][0..w) = src[t * src_stride + off ..] for n rows.
void gather(float* dst, const float* src, int64_t n, int64_t w, int64_t src_stride, int64_t off) {
  for (int64_t t = 0; t < n; ++t) std::copy_n(src + t * src_stride + off, w, dst + t * w);
}

void scatter(float* dst, const float* src, int64_t n, int64_t w, int64_t dst_stride, int64_t off) {
  for (int64_t t = 0; t < n; ++t) std::copy_n(src + t * w, w, dst + t * dst_stride + off);
}

}  // namespace

float* Transformer::mla_buf(size_t slot, size_t n) {
  if (mla_bufs_.size() < kSlots) mla_bufs_.resize(kSlots);
  auto& v = mla_bufs_[slot];
  if (v.size() < n) v.resize(n);
  return v.data();
}

void Transformer::mla_attention(const LayerWeights& L, const ForwardBatch& b, const kernels::KvLayer& kv, float* h,
                                int64_t n) {
  const ModelConfig& c = model_->config;
  const MlaConfig& m = c.mla;
  kernels::Backend& be = backend_;
  const int64_t H = c.n_head, nope = m.qk_nope, rope = m.qk_rope, R = m.kv_lora_rank, qk = nope + rope;
  const int64_t row = R + rope, V = m.v_head_dim;
  SGL_CHECK(kv.head_dim == row && kv.n_kv_heads == 1, "MLA KV layer is {} x {}, expected one head of {}", kv.n_kv_heads,
            kv.head_dim, row);

  float* q = mla_buf(kQ, n * H * qk);
  if (m.q_lora_rank > 0) {
    float* qa = mla_buf(kQa, n * m.q_lora_rank);
    be.matmul(h, n, L.wq_a, qa);
    be.rms_norm(qa, L.q_a_norm.data(), qa, n, m.q_lora_rank, c.rms_eps);
    be.matmul(qa, n, L.wq_b, q);
  } else {
    be.matmul(h, n, L.wq, q);
  }

  // The cache row: [rmsnorm(latent) | rope(k_pe)].
  float* kva = mla_buf(kKva, n * row);
  be.matmul(h, n, L.wkv_a, kva);
  float* kr = mla_buf(kRow, n * row);
  float* pe = mla_buf(kPe, n * rope);
  float* lat = mla_buf(kHeadIn, n * std::max(R, nope));
  gather(lat, kva, n, R, row, 0);
  be.rms_norm(lat, L.kv_a_norm.data(), lat, n, R, c.rms_eps);
  gather(pe, kva, n, rope, row, R);
  be.rope(pe, n, 1, b.positions.data(), mla_rope_);
  scatter(kr, lat, n, R, row, 0);
  scatter(kr, pe, n, rope, row, R);
  be.kv_store(kv, kr, kr, b.slots.data(), n);

  // Queries in the latent space: [k_b_h . q_nope_h | rope(q_pe_h)] per head.
  float* qpe = mla_buf(kQPe, n * H * rope);
  for (int64_t hh = 0; hh < H; ++hh)
    for (int64_t t = 0; t < n; ++t) std::copy_n(q + (t * H + hh) * qk + nope, rope, qpe + (t * H + hh) * rope);
  be.rope(qpe, n, static_cast<int>(H), b.positions.data(), mla_rope_);
  float* qfull = mla_buf(kQFull, n * H * row);
  float* hin = mla_buf(kHeadIn, n * std::max(R, nope));
  float* hout = mla_buf(kHeadOut, n * std::max(R, V));
  for (int64_t hh = 0; hh < H; ++hh) {
    gather(hin, q, n, nope, H * qk, hh * qk);
    be.matmul(hin, n, L.k_b[hh], hout);
    scatter(qfull, hout, n, R, H * row, hh * row);
  }
  for (int64_t hh = 0; hh < H; ++hh)
    for (int64_t t = 0; t < n; ++t)
      std::copy_n(qpe + (t * H + hh) * rope, rope, qfull + (t * H + hh) * row + R);

  float* o = mla_buf(kO, n * H * row);
  be.attention(qfull, kv, b.seqs, static_cast<int>(H), mla_kq_scale_, o);

  // Each head's latent output through its value up-projection, then attn_output.
  float* attn = mla_buf(kAttn, n * H * V);
  for (int64_t hh = 0; hh < H; ++hh) {
    gather(hin, o, n, R, H * row, hh * row);
    be.matmul(hin, n, L.v_b[hh], hout);
    scatter(attn, hout, n, V, H * V, hh * V);
  }
  be.matmul(attn, n, L.wo, h);
}

}  // namespace sgl
