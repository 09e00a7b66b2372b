// Transformer: the decoder forward pass shared by every supported architecture, driven by
// ModelConfig: attention standard or MLA, FFN dense or MoE. One call computes a whole mixed batch (prefill chunks and decode tokens of
// many sequences), so weights are read once per step.
#pragma once

#include <memory>
#include <vector>

#include "core/model/forward_batch.hpp"
#include "core/model/model_loader.hpp"
#include "core/model/model_weights.hpp"
#include "kernels/backend.hpp"

namespace sgl {

class Transformer {
 public:
  // Keeps `model` (its tensors) alive. Throws sgl::Error if tensors are missing or misshapen.
  Transformer(std::shared_ptr<const LoadedModel> model, kernels::Backend& backend);
  // Releases the backend's repacked weight copies (Backend::prepare_weight).
  ~Transformer();
  Transformer(const Transformer&) = delete;
  Transformer& operator=(const Transformer&) = delete;

  const ModelConfig& config() const { return model_->config; }
  kernels::Backend& backend() const { return backend_; }

  // Writes batch.logit_rows.size() × n_vocab logits (host memory) and stores the batch's K/V in
  // `kv` (one KvLayer per model layer, from a KvPool).
  void forward(const ForwardBatch& batch, const std::vector<kernels::KvLayer>& kv, float* logits);
  // Host scratch forward() holds after a step of n_tokens tokens with n_logits logit rows (its
  // activation buffers are kept at their high-water mark), not counting the caller's logits and
  // the routed-expert buffers of MoE layers. For start-up memory reports.
  static size_t scratch_bytes(const ModelConfig& c, int64_t n_tokens, int64_t n_logits);

 private:
  float* scratch(size_t slot, size_t n);
  void moe_ffn(const LayerWeights& L, const float* h, int64_t n);
  // deepseek2: h (normed rows) -> h = attn_output of the absorbed multi-head latent attention;
  // stores each token's compressed row in `kv` (transformer_mla.cpp).
  void mla_attention(const LayerWeights& L, const ForwardBatch& b, const kernels::KvLayer& kv, float* h, int64_t n);
  float* mla_buf(size_t slot, size_t n);
  // Every matrix the forward pass multiplies by (not the embedding table's rows).
  std::vector<kernels::WeightView*> matmul_weights();

  std::shared_ptr<const LoadedModel> model_;
  kernels::Backend& backend_;
  ModelWeights w_;
  kernels::RopeParams rope_;
  std::vector<std::vector<float>> scratch_;
  kernels::MoeRouting routing_;
  kernels::RopeParams mla_rope_;  // the qk_rope part of each head and the shared k_pe
  std::vector<float> mla_rope_factors_;
  float mla_kq_scale_ = 1.0f;
  std::vector<std::vector<float>> mla_bufs_;
  std::vector<int32_t> ids_;
};

}  // namespace sgl
