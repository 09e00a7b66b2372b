// sgl-mkmodel: writes a synthetic random-weight model (GGUF, optionally also an HF directory)
// with a small real tokenizer, for tests and benchmarks on machines with no models.
//
//   sgl-mkmodel --arch llama --preset 110m --type q8_0 --out model.gguf [--hf-out DIR] [--seed N]
//               [--hf-quant awq|gptq --group-size 128 [--gptq-sym] [--act-order] [--gptq-v2] --twin-out DIR]
//               [--vocab N --embd N --layers N --heads N --kv-heads N --head-dim N --ff N --ctx N]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>

#include "core/model/synthetic_hf_quant.hpp"
#include "core/model/synthetic_model.hpp"
#include "core/support/check.hpp"

using namespace sgl;

namespace {

kernels::DType parse_type(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  using kernels::DType;
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0,
                  DType::Q5_1, DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K})
    if (kernels::dtype_name(t) == s) return t;
  SGL_THROW(Status::kInvalidArgument,
            "--type '{}' is not one of f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, q6_k", s);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Write a synthetic random-weight model (GGUF and optionally an HF directory)"};
  std::string arch = "llama", preset = "tiny", type = "f32", out, hf_out, hf_type;
  uint64_t seed = 1;
  int64_t vocab = 0, embd = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = -1, ff = 0, ctx = 0;
  float theta = 0;
  bool tied = false, llama3 = false, fused = false;
  int64_t experts = 0, experts_used = 0, ff_exp = 0, ff_shexp = -1;
  int64_t q_lora = -1, kv_lora = 0, dense_lead = -1, shared = -1, groups = -1, groups_used = -1;
  float yarn = -1, weights_scale = -1;
  std::string gating;
  bool legacy_kv_b = false, no_probs_bias = false, no_norm = false;
  float yarn_mscale = -1;
  HfQuantSpec hq;
  std::string hf_quant, twin_out;
  app.add_option("--arch", arch, "llama, qwen2, qwen3, qwen2moe, qwen3moe, mixtral or deepseek2")->capture_default_str();
  app.add_option("--preset", preset, "tiny, 110m, 1b; small for deepseek2 / qwen3moe")->capture_default_str();
  app.add_option("--type", type,
                 "weight type: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k..q6_k (K-quants: Q8_0 for rows "
                 "not a multiple of 256)")
      ->capture_default_str();
  app.add_option("--out", out, "GGUF file to write");
  app.add_option("--hf-out", hf_out, "also write an HF model directory here");
  app.add_option("--hf-type", hf_type, "HF weight dtype: f32, f16, bf16 (default: --type, or f32 if quantized)");
  app.add_option("--seed", seed, "random seed")->capture_default_str();
  app.add_option("--vocab", vocab, "vocabulary size");
  app.add_option("--embd", embd, "embedding length");
  app.add_option("--layers", layers, "layer count");
  app.add_option("--heads", heads, "attention heads");
  app.add_option("--kv-heads", kv_heads, "KV heads");
  app.add_option("--head-dim", head_dim, "head dimension (default embd/heads)");
  app.add_option("--ff", ff, "feed-forward length");
  app.add_option("--ctx", ctx, "training context length");
  app.add_option("--rope-theta", theta, "rope frequency base");
  app.add_option("--experts", experts, "MoE: expert count");
  app.add_option("--experts-used", experts_used, "MoE: experts per token");
  app.add_option("--ff-exp", ff_exp, "MoE: expert feed-forward length (Mixtral: --ff)");
  app.add_option("--ff-shexp", ff_shexp, "qwen2moe: shared expert feed-forward length");
  app.add_option("--q-lora", q_lora, "deepseek2: q_lora_rank (0: plain attn_q, like V2-Lite)");
  app.add_option("--kv-lora", kv_lora, "deepseek2: kv_lora_rank");
  app.add_flag("--legacy-kv-b", legacy_kv_b, "deepseek2: write the old combined attn_kv_b layout (no key_length_mla)");
  app.add_option("--dense-lead", dense_lead, "deepseek2: leading dense layers");
  app.add_option("--shared", shared, "deepseek2: shared experts");
  app.add_option("--groups", groups, "deepseek2: expert groups (0: plain top-k)");
  app.add_option("--groups-used", groups_used, "deepseek2: expert groups kept per token");
  app.add_option("--gating", gating, "deepseek2: softmax or sigmoid routing");
  app.add_flag("--no-probs-bias", no_probs_bias, "deepseek2: no exp_probs_b selection bias");
  app.add_option("--weights-scale", weights_scale, "deepseek2: routed weight scale (0: none)");
  app.add_option("--yarn", yarn, "deepseek2: YaRN factor (0: no rope scaling)");
  app.add_option("--yarn-mscale-all-dim", yarn_mscale, "deepseek2: YaRN mscale_all_dim (V3 1.0, V2-Lite 0.707)");
  app.add_flag("--no-norm", no_norm, "deepseek2: do not renormalise the chosen experts' weights");
  app.add_flag("--fused-gate-up", fused, "MoE: write ffn_gate_up_exps instead of ffn_gate_exps + ffn_up_exps");
  app.add_flag("--tied", tied, "tie the output matrix to the token embedding");
  app.add_flag("--llama3-rope", llama3, "llama3 rope scaling (factor 8, low 1, high 4, original context 1024)");
  app.add_option("--hf-quant", hf_quant,
                 "write --hf-out as an AWQ or GPTQ 4-bit checkpoint (awq, gptq), and --twin-out as its dequantized F32 twin");
  app.add_option("--group-size", hq.group_size, "AWQ/GPTQ group size (-1: whole column)")->capture_default_str();
  app.add_flag("--gptq-sym", hq.sym, "GPTQ: symmetric quantization (zero point 8)");
  app.add_flag("--act-order", hq.act_order, "GPTQ: desc_act with a permuted g_idx");
  app.add_flag("--gptq-v2", hq.gptq_v2, "GPTQ: checkpoint_format gptq_v2 (zeros stored without the -1 offset)");
  app.add_option("--twin-out", twin_out, "with --hf-quant: directory for the dequantized F32 twin");
  CLI11_PARSE(app, argc, argv);
  if (out.empty() && hf_out.empty()) {
    std::fprintf(stderr, "sgl-mkmodel: give --out FILE.gguf and/or --hf-out DIR\n");
    return 2;
  }
  try {
    SyntheticSpec s = synthetic_preset(preset, arch);
    if (vocab) s.n_vocab = vocab;
    if (embd) s.n_embd = embd;
    if (layers) s.n_layer = layers;
    if (heads) s.n_head = heads;
    if (kv_heads) s.n_head_kv = kv_heads;
    else if (heads) s.n_head_kv = std::min(s.n_head_kv, heads);
    if (head_dim >= 0) s.head_dim = head_dim;
    if (ff) s.n_ff = ff;
    if (experts) s.n_expert = experts;
    if (experts_used) s.n_expert_used = experts_used;
    if (ff_exp) s.n_ff_exp = ff_exp;
    else if (ff && arch == "mixtral") s.n_ff_exp = ff;
    if (ff_shexp >= 0) s.n_ff_shexp = ff_shexp;
    s.fused_gate_up = fused;
    if (q_lora >= 0) s.q_lora_rank = q_lora;
    if (kv_lora) s.kv_lora_rank = kv_lora;
    s.legacy_kv_b = legacy_kv_b;
    if (dense_lead >= 0) s.n_leading_dense = dense_lead;
    if (shared >= 0) s.n_shared = shared;
    if (groups >= 0) s.n_group = groups;
    if (groups_used >= 0) s.n_group_used = groups_used;
    if (!gating.empty()) {
      if (gating != "softmax" && gating != "sigmoid")
        SGL_THROW(Status::kInvalidArgument, "--gating '{}' is not softmax or sigmoid", gating);
      s.sigmoid_gating = gating == "sigmoid";
    }
    if (no_probs_bias) s.probs_bias = false;
    if (weights_scale >= 0) s.weights_scale = weights_scale;
    if (yarn >= 0) s.yarn_factor = yarn;
    if (yarn_mscale >= 0) s.yarn_mscale_all_dim = yarn_mscale;
    if (no_norm) s.norm_weights = false;
    if (ctx) s.n_ctx = ctx;
    if (theta > 0) s.rope_theta = theta;
    s.tied_embeddings = tied;
    s.llama3_rope = llama3;
    s.seed = seed;
    s.weight_type = parse_type(type);
    validate_synthetic_spec(s);
    if (!out.empty()) {
      write_synthetic_gguf(s, out);
      std::printf("wrote %s: %s\n", out.c_str(), synthetic_config(s).summary().c_str());
    }
    if (!hf_quant.empty()) {
      hq.method = hf_quant;
      if (hf_out.empty() || twin_out.empty())
        SGL_THROW(Status::kInvalidArgument, "--hf-quant needs --hf-out DIR and --twin-out DIR");
      write_synthetic_hf_quant(s, hq, hf_out, twin_out);
      std::printf("wrote %s HF directory %s and its F32 twin %s\n", hf_quant.c_str(), hf_out.c_str(), twin_out.c_str());
    } else if (!hf_out.empty()) {
      if (hf_type.empty()) write_synthetic_hf(s, hf_out);
      else write_synthetic_hf(s, hf_out, parse_type(hf_type));
      std::printf("wrote HF directory %s\n", hf_out.c_str());
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "sgl-mkmodel: %s\n", e.what());
    return 1;
  }
  return 0;
}
