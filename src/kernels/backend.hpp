// The internal device interface. The transformer forward pass is written against it; a device
// (cpu, ref, gcu) implements it. Kernels know tensors and numbers only: never requests, tokens
// or tokenizers.
//
// Conventions:
//  - Activations are F32, row-major, one row per token.
//  - A weight matrix W has `rows` output features and `cols` input features, stored row-major
//    in its dtype (quantized types are blocked along `cols`); matmul computes y = x · Wᵀ, i.e.
//    y[t][r] = Σ_c x[t][c] · W[r][c]. This is GGUF's layout ([in, out] dims, ne0 = cols).
//  - Pointers handed to an op live in the backend's memory (host memory for cpu/ref).
//  - Ops may run in parallel internally; calls themselves are issued from one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "kernels/dtype.hpp"

namespace sgl::kernels {

struct WeightView {
  const void* data = nullptr;
  DType dtype = DType::F32;
  int64_t rows = 0;  // output features
  int64_t cols = 0;  // input features; a multiple of the dtype's block size
  // Optional backend-owned copy of `data` in a layout of that backend's choosing, made by
  // Backend::prepare_weight. Only the backend that made it reads it (matmul); every other op and
  // backend uses `data`, which must stay valid.
  const void* packed = nullptr;
};

enum class RopeStyle : int {
  kNorm = 0,  // rotate adjacent pairs (2i, 2i+1) — GGUF llama
  kNeox = 1,  // rotate (i, i + n_rot/2) — GGUF qwen2/qwen3, HF layout
};

struct RopeParams {
  int head_dim = 0;
  int n_rot = 0;            // rotated dims per head (≤ head_dim); the rest pass through
  float theta = 10000.0f;   // base frequency
  float freq_scale = 1.0f;  // linear rope scaling: angle *= freq_scale (= 1/factor)
  RopeStyle style = RopeStyle::kNorm;
  const float* freq_factors = nullptr;  // optional, n_rot/2 values: angle_i /= freq_factors[i]
  float mscale = 1.0f;                  // cos and sin are multiplied by this (YaRN magnitude term)
};

enum class MoeGating : int { kSoftmax = 1, kSigmoid = 2 };  // GGUF expert_gating_func values

// Expert routing (llama.cpp build_moe_ffn): probs = gating(logits); selection = probs + bias;
// with groups > 1 only the n_group_used groups with the largest sum of their top-2 selection
// scores stay eligible; top-k of the selection; weights = the unbiased probs of the chosen
// experts, renormalised if `norm` (sum clamped to >= 6.103515625e-5), times `scale` unless 0 or 1.
struct MoeRouting {
  int n_expert = 0;
  int n_used = 0;
  MoeGating gating = MoeGating::kSoftmax;
  bool norm = false;
  float scale = 0;
  int n_group = 0, n_group_used = 0;
  const float* bias = nullptr;  // n_expert selection biases, or null
};

// The routed experts of one layer: expert e computes down_e(silu(gate_e x) * up_e x).
struct MoeExperts {
  std::span<const WeightView> gate, up, down;
};

// K and V storage of one layer. Slot s (a token's place in the pool) holds
// k[s][n_kv_heads][head_dim] and v likewise, in `dtype` (F32, F16 or BF16).
// Slot s lives on page s / page_size.
struct KvLayer {
  void* k = nullptr;
  void* v = nullptr;
  DType dtype = DType::F16;
  int n_kv_heads = 0;
  int head_dim = 0;
  int page_size = 1;
  int64_t n_slots = 0;
};

// One sequence of an attention call. Its q_len query rows start at row q_start of q/out and sit
// at kv positions kv_len - q_len .. kv_len - 1 (causal: query i sees positions ≤ its own).
// KV position p is stored in slot pages[p / page_size] * page_size + p % page_size.
struct AttnSeq {
  int32_t q_start = 0;
  int32_t q_len = 0;
  int32_t kv_len = 0;
  const int32_t* pages = nullptr;
};

struct BackendOptions {
  int threads = 0;   // 0 = all hardware threads
  std::string isa;   // "" = best available; or "scalar", "avx2", "avx512" (also env SGL_ISA)
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::string_view name() const = 0;
  // A short description: ISA in use, thread count.
  virtual std::string describe() const = 0;
  virtual int threads() const = 0;

  // Memory in the device's address space. Returned memory is 64-byte aligned.
  virtual void* alloc(size_t bytes) = 0;
  virtual void free(void* p) = 0;
  virtual void copy_to_device(void* dst, const void* src, size_t bytes) = 0;
  virtual void copy_to_host(void* dst, const void* src, size_t bytes) = 0;

  // A view of `w` that may carry a repacked copy for faster matmul (WeightView::packed), owned
  // by this backend until release_weight(view) or the backend's destruction. Backends without
  // such a layout return `w` unchanged. Called once per weight at model load.
  virtual WeightView prepare_weight(const WeightView& w) { return w; }
  // Frees what prepare_weight made for `w` (no-op for views it did not repack).
  virtual void release_weight(const WeightView& w) {}
  // Bytes of the repacked copies prepare_weight holds now, and of their sources' pages it handed
  // back to the OS after packing (read-only file maps only; the views stay readable). Resident
  // weight memory is the model's bytes + packed - released: what the KV planner subtracts.
  struct WeightMemory {
    size_t packed = 0;
    size_t released = 0;
  };
  virtual WeightMemory weight_memory() const { return {}; }

  // y[m][w.rows] = x[m][w.cols] · Wᵀ.
  virtual void matmul(const float* x, int64_t m, const WeightView& w, float* y) = 0;
  // y[r] = x[r] / sqrt(mean(x[r]²) + eps) * weight, for `rows` rows of `dim`; y may alias x.
  virtual void rms_norm(const float* x, const float* weight, float* y, int64_t rows, int64_t dim,
                        float eps) = 0;
  // In place on x[n_tokens][n_heads][head_dim]; token t rotates by positions[t].
  virtual void rope(float* x, int64_t n_tokens, int n_heads, const int32_t* positions,
                    const RopeParams& p) = 0;
  // out[i] = silu(gate[i]) * up[i]; out may alias gate.
  virtual void swiglu(const float* gate, const float* up, float* out, int64_t n) = 0;
  // y[i] += x[i].
  virtual void add(float* y, const float* x, int64_t n) = 0;
  // y[r][c] += bias[c].
  virtual void add_bias(float* y, const float* bias, int64_t rows, int64_t dim) = 0;
  // out[i] = row ids[i] of the table, dequantized to F32 (out is n × table.cols).
  virtual void embedding(const WeightView& table, const int32_t* ids, int64_t n, float* out) = 0;
  // Routing of n tokens: logits[n][r.n_expert] -> ids[n][r.n_used], weights[n][r.n_used].
  virtual void moe_route(const float* logits, int64_t n, const MoeRouting& r, int32_t* ids, float* weights) = 0;
  // out[t] = Σ_j weights[t][j] · expert ids[t][j] (x[t]) for n tokens of x.cols() = gate[0].cols;
  // out is overwritten. k = experts per token.
  virtual void moe_ffn(const float* x, int64_t n, const int32_t* ids, const float* weights, int k,
                       const MoeExperts& experts, float* out) = 0;
  // y[r][i] *= sigmoid(g[r]) for `rows` rows of `dim` (qwen2moe's shared-expert gate).
  virtual void scale_rows_sigmoid(float* y, const float* g, int64_t rows, int64_t dim) = 0;
  // Store K/V rows (k, v: n_tokens × n_kv_heads*head_dim, F32) into their slots.
  virtual void kv_store(const KvLayer& kv, const float* k, const float* v, const int32_t* slots,
                        int64_t n_tokens) = 0;
  // Causal scaled-dot-product attention with GQA (query head h uses KV head
  // h / (n_heads / n_kv_heads)). q, out: rows × n_heads*head_dim.
  virtual void attention(const float* q, const KvLayer& kv, std::span<const AttnSeq> seqs,
                         int n_heads, float scale, float* out) = 0;
};

constexpr int kBackendApiVersion = 1;

struct BackendEntry {
  const char* name;
  int api_version;
  std::unique_ptr<Backend> (*create)(const BackendOptions&);
};

// The explicit list of backends compiled into this build (no static self-registration).
std::span<const BackendEntry> backend_registry();

// `device` is a backend name, optionally with an index ("cpu", "ref", "gcu:0").
// Throws sgl::Error(kUnsupported) naming the device and the available ones.
std::unique_ptr<Backend> create_backend(std::string_view device, const BackendOptions& opts = {});

}  // namespace sgl::kernels
