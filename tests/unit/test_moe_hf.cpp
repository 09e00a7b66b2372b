// Hugging Face directories of the MoE families (MixtralForCausalLM, Qwen2MoeForCausalLM,
// Qwen3MoeForCausalLM: per-expert Linear tensors, the router, Qwen2-MoE's shared expert and its
// [1, hidden] gate) load to the GGUF form's config and give the same logits.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/model/model_loader.hpp"
#include "core/model/safetensors.hpp"
#include "core/model/synthetic_model.hpp"
#include "sgl/error.hpp"
#include "support/model_logits.hpp"
#include "support/test_support.hpp"

using namespace sgl;

TEST_CASE("MoE HF directories load to the GGUF config and logits") {
  const auto dir = test::scratch_dir("moe_hf");
  std::vector<int32_t> prompt;
  for (int i = 0; i < 14; ++i) prompt.push_back(3 + (i * 53) % 500);
  for (const std::string arch : {"mixtral", "qwen2moe", "qwen3moe"}) {
    INFO(arch);
    SyntheticSpec s = synthetic_preset("tiny", arch);
    s.seed = 5;
    const std::string gguf = (dir / (arch + ".gguf")).string();
    const std::string hf = (dir / arch).string();
    write_synthetic_gguf(s, gguf);
    write_synthetic_hf(s, hf);
    const ModelConfig g = load_model(gguf).config, h = load_model(hf).config;
    CHECK(g.arch == h.arch);
    CHECK(g.moe.n_expert == h.moe.n_expert);
    CHECK(g.moe.n_expert_used == h.moe.n_expert_used);
    CHECK(g.moe.n_ff_exp == h.moe.n_ff_exp);
    CHECK(g.moe.n_ff_shexp == h.moe.n_ff_shexp);
    CHECK(g.moe.shared_gate == h.moe.shared_gate);
    CHECK(g.moe.norm_weights == h.moe.norm_weights);
    for (const std::string device : {"cpu", "ref"}) {
      const auto a = test::prefill_decode_logits(gguf, device, prompt);
      const auto b = test::prefill_decode_logits(hf, device, prompt);
      REQUIRE(a.size() == b.size());
      double worst = 0;
      for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, static_cast<double>(std::fabs(a[i] - b[i])));
      MESSAGE(arch << " [" << device << "] GGUF vs HF max |diff| " << worst);
      CHECK(worst < 1e-4);
    }
  }
}

TEST_CASE("MoE HF config errors name the key") {
  const auto dir = test::scratch_dir("moe_hf_errors");
  const std::string hf = (dir / "q3").string();
  write_synthetic_hf(synthetic_preset("tiny", "qwen3moe"), hf);
  const auto cfg_path = std::filesystem::path(hf) / "config.json";
  const nlohmann::json orig = nlohmann::json::parse(std::ifstream(cfg_path));
  auto with = [&](const char* key, nlohmann::json v) {
    nlohmann::json j = orig;
    if (v.is_null()) j.erase(key);
    else j[key] = v;
    std::ofstream(cfg_path) << j.dump();
    try {
      load_model(hf);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(with("num_experts_per_tok", 9).find("num_experts_per_tok") != std::string::npos);
  CHECK(with("moe_intermediate_size", nullptr).find("moe_intermediate_size") != std::string::npos);
  CHECK(with("decoder_sparse_step", 2).find("decoder_sparse_step") != std::string::npos);
  CHECK(with("mlp_only_layers", nlohmann::json::array({0})).find("mlp_only_layers") != std::string::npos);
  CHECK(with("num_experts", 4).find("ffn_gate_inp.weight") != std::string::npos);
  CHECK(with("num_experts", 8).empty());  // the original value loads again
}

TEST_CASE("DeepSeek HF directory (DeepseekV3ForCausalLM, kv_b_proj, MTP layer skipped) matches its GGUF twin") {
  const auto dir = test::scratch_dir("deepseek_hf");
  std::vector<int32_t> prompt;
  for (int i = 0; i < 14; ++i) prompt.push_back(3 + (i * 53) % 500);
  for (bool q_lora : {true, false}) {
    INFO("q_lora " << q_lora);
    SyntheticSpec s = synthetic_preset("tiny", "deepseek2");
    s.legacy_kv_b = true;
    if (!q_lora) s.q_lora_rank = 0;
    s.yarn_mscale_all_dim = q_lora ? 1.0f : 0.707f;
    const std::string gguf = (dir / "ds.gguf").string(), hf = (dir / (q_lora ? "ds_hf" : "ds_lite_hf")).string();
    write_synthetic_gguf(s, gguf);
    write_synthetic_hf(s, hf);
    {
      // A V3 checkpoint's MTP layer sits at index num_hidden_layers; the loader skips it.
      const std::string st = hf + "/model.safetensors";
      std::vector<safetensors::WriteTensor> all;
      {
        const auto f = safetensors::SafetensorsFile::open(st);
        for (const auto& t : f.tensors()) all.push_back({t.name, t.dtype, t.shape, std::vector<uint8_t>(t.data, t.data + t.nbytes())});
      }
      all.push_back({"model.layers.3.eh_proj.weight", safetensors::DType::kF32, {2, 2}, std::vector<uint8_t>(16, 0)});
      all.push_back({"model.layers.3.self_attn.q_a_proj.weight", safetensors::DType::kF32, {2, 2}, std::vector<uint8_t>(16, 0)});
      safetensors::write_file(st, safetensors::serialize(all, {{"format", "pt"}}));
    }
    const ModelConfig g = load_model(gguf).config, h = load_model(hf).config;
    CHECK(h.arch == "deepseek2");
    CHECK(h.mla.q_lora_rank == g.mla.q_lora_rank);
    CHECK(h.mla.kv_lora_rank == g.mla.kv_lora_rank);
    CHECK(h.moe.gating == g.moe.gating);
    CHECK(h.moe.probs_bias == g.moe.probs_bias);
    CHECK(h.moe.n_group == g.moe.n_group);
    CHECK(h.moe.n_leading_dense == g.moe.n_leading_dense);
    CHECK(h.moe.weights_scale == g.moe.weights_scale);
    CHECK(h.rope_scaling.type == RopeScalingType::kYarn);
    CHECK(h.rope_style == kernels::RopeStyle::kNorm);
    for (const std::string device : {"cpu", "ref"}) {
      const auto a = test::prefill_decode_logits(gguf, device, prompt);
      const auto b = test::prefill_decode_logits(hf, device, prompt);
      REQUIRE(a.size() == b.size());
      double worst = 0;
      for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, static_cast<double>(std::fabs(a[i] - b[i])));
      MESSAGE("deepseek2 q_lora " << q_lora << " [" << device << "] GGUF vs HF max |diff| " << worst);
      CHECK(worst < 1e-4);
    }
  }
}
