// safetensors parsing and HF model directories: round trip, hostile headers (bad JSON, offsets
// past the end, shape/dtype mismatch, overlapping or unordered offsets, holes), truncation at
// every byte, sharded checkpoints (missing shards, bad index), config.json errors, and the tensor
// checks against the config. Every bad input gives sgl::Error with the right status and a
// message naming the problem (this test also runs under ASan + UBSan).
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/model/hf_names.hpp"
#include "core/model/model_loader.hpp"
#include "core/model/safetensors.hpp"
#include "core/model/synthetic_model.hpp"
#include "sgl/error.hpp"
#include "support/test_support.hpp"

using namespace sgl;
using namespace sgl::safetensors;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::vector<uint8_t> raw(const std::string& header, size_t data_bytes) {
  std::vector<uint8_t> b(8 + header.size() + data_bytes, 0);
  uint64_t n = header.size();
  std::memcpy(b.data(), &n, 8);
  std::memcpy(b.data() + 8, header.data(), header.size());
  return b;
}

void expect_parse_error(const std::vector<uint8_t>& b, Status st, const std::string& part) {
  try {
    SafetensorsFile::parse(b.data(), b.size(), "x.safetensors");
    FAIL("no error; expected: " << part);
  } catch (const Error& e) {
    INFO(std::string(e.what()));
    CHECK(e.code() == st);
    CHECK(std::string(e.what()).find(part) != std::string::npos);
    CHECK(std::string(e.what()).find("x.safetensors") != std::string::npos);
  }
}

template <class F>
void expect_error(F&& f, Status st, const std::string& part) {
  try {
    f();
    FAIL("no error; expected: " << part);
  } catch (const Error& e) {
    INFO(std::string(e.what()));
    CHECK(e.code() == st);
    CHECK(std::string(e.what()).find(part) != std::string::npos);
  }
}

void write_bytes(const fs::path& p, const std::vector<uint8_t>& b) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

void write_text(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary | std::ios::trunc) << s; }

// A tiny synthetic HF dir to mutate.
fs::path make_hf(const std::string& name, const std::string& arch = "llama") {
  auto dir = test::scratch_dir(name);
  write_synthetic_hf(synthetic_preset("tiny", arch), (dir / "hf").string());
  return dir / "hf";
}

json read_config(const fs::path& dir) { return json::parse(test::read_text(dir / "config.json")); }
void write_config(const fs::path& dir, const json& j) { write_text(dir / "config.json", j.dump()); }

std::vector<WriteTensor> tensors_of(const fs::path& file) {
  SafetensorsFile f = SafetensorsFile::open(file.string());
  std::vector<WriteTensor> out;
  for (const auto& t : f.tensors())
    out.push_back({t.name, t.dtype, t.shape, std::vector<uint8_t>(t.data, t.data + t.nbytes())});
  return out;
}

}  // namespace

TEST_CASE("safetensors round trip") {
  std::vector<WriteTensor> ts = {
      {"a", DType::kF32, {2, 3}, std::vector<uint8_t>(24, 1)},
      {"b", DType::kBF16, {5}, std::vector<uint8_t>(10, 2)},
      {"c", DType::kI64, {1}, std::vector<uint8_t>(8, 3)},
      {"empty", DType::kF16, {0, 4}, {}},
  };
  std::vector<uint8_t> b = serialize(ts, {{"format", "pt"}});
  uint64_t hl;
  std::memcpy(&hl, b.data(), 8);
  CHECK(hl % 8 == 0);
  SafetensorsFile f = SafetensorsFile::parse(b.data(), b.size());
  REQUIRE(f.tensors().size() == 4);
  CHECK(f.metadata().at("format") == "pt");
  const TensorInfo* a = f.find("a");
  REQUIRE(a);
  CHECK(a->dtype == DType::kF32);
  CHECK(a->shape == std::vector<int64_t>{2, 3});
  CHECK(a->nbytes() == 24);
  CHECK(a->data[0] == 1);
  CHECK(f.find("b")->data[9] == 2);
  CHECK(f.find("c")->dtype == DType::kI64);
  CHECK(f.find("empty")->nbytes() == 0);
  CHECK(f.find("zzz") == nullptr);
  CHECK_THROWS_AS(serialize({{"bad", DType::kF32, {3}, std::vector<uint8_t>(8)}}), Error);
}

TEST_CASE("safetensors hostile headers give errors naming the problem") {
  expect_parse_error({1, 2, 3}, Status::kParseError, "truncated");
  expect_parse_error({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0}, Status::kParseError, "absurd");
  {
    std::vector<uint8_t> b = raw("{}", 0);
    uint64_t n = 1000;
    std::memcpy(b.data(), &n, 8);
    expect_parse_error(b, Status::kParseError, "truncated");
  }
  expect_parse_error(raw("{\"a\": ", 0), Status::kParseError, "not valid JSON");
  expect_parse_error(raw("[1, 2]", 0), Status::kParseError, "not a JSON object");
  expect_parse_error(raw(R"({"a": 5})", 0), Status::kParseError, "not an object");
  expect_parse_error(raw(R"({"a": {"shape": [1], "data_offsets": [0, 4]}})", 4), Status::kParseError, "'dtype'");
  expect_parse_error(raw(R"({"a": {"dtype": "F32", "data_offsets": [0, 4]}})", 4), Status::kParseError, "'shape'");
  expect_parse_error(raw(R"({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", 4), Status::kParseError,
                     "not a non-negative integer");
  expect_parse_error(raw(R"({"a": {"dtype": "F32", "shape": [1]}})", 4), Status::kParseError, "'data_offsets'");
  expect_parse_error(raw(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})", 4), Status::kParseError,
                     "'data_offsets'");
  expect_parse_error(raw(R"({"a": {"dtype": "Q4", "shape": [1], "data_offsets": [0, 4]}})", 4), Status::kUnsupported,
                     "unsupported dtype Q4");
  // Offsets past the end, in the wrong order, not matching shape x dtype.
  expect_parse_error(raw(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", 8), Status::kParseError,
                     "past the end");
  expect_parse_error(raw(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}})", 8), Status::kParseError,
                     "wrong order");
  expect_parse_error(raw(R"({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", 8), Status::kParseError,
                     "needs 12 bytes");
  expect_parse_error(raw(R"({"a": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 12]}})", 12),
                     Status::kParseError, "needs 6 bytes");
  expect_parse_error(
      raw(R"({"a": {"dtype": "F32", "shape": [4294967296, 4294967296, 4294967296], "data_offsets": [0, 8]}})", 8),
      Status::kParseError, "overflows");
  // Overlaps, holes and unused bytes.
  expect_parse_error(raw(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                              "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                         12),
                     Status::kParseError, "overlap");
  expect_parse_error(raw(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})", 8), Status::kParseError,
                     "hole");
  expect_parse_error(raw(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", 8), Status::kParseError,
                     "cover 4 bytes but the data buffer is 8");
  expect_parse_error(raw(R"({"__metadata__": {"k": 1}})", 0), Status::kParseError, "__metadata__");
  // The tensors may appear in any order in the header as long as they tile the buffer.
  std::vector<uint8_t> ok = raw(R"({"b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]},
                                    "a": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}})",
                                8);
  CHECK(SafetensorsFile::parse(ok.data(), ok.size()).tensors().size() == 2);
}

TEST_CASE("safetensors truncated at every byte and with flipped header bytes never crash") {
  std::vector<uint8_t> b = serialize({{"model.norm.weight", DType::kF32, {3}, std::vector<uint8_t>(12, 1)},
                                      {"w", DType::kF16, {2, 2}, std::vector<uint8_t>(8, 2)}});
  for (size_t cut = 0; cut < b.size(); ++cut) {
    try {
      SafetensorsFile::parse(b.data(), cut);
      FAIL("cut at " << cut << " accepted");
    } catch (const Error& e) {
      CHECK(e.code() == Status::kParseError);
    }
  }
  int rejected = 0;
  for (size_t i = 0; i < b.size() - 20; ++i) {
    for (uint8_t mask : {0x01, 0x20, 0xff}) {
      std::vector<uint8_t> m = b;
      m[i] ^= mask;
      try {
        SafetensorsFile f = SafetensorsFile::parse(m.data(), m.size());
        for (const TensorInfo& t : f.tensors()) CHECK(t.data + t.nbytes() <= m.data() + m.size());
      } catch (const Error& e) {
        CHECK((e.code() == Status::kParseError || e.code() == Status::kUnsupported));
        ++rejected;
      }
    }
  }
  CHECK(rejected > 0);
}

TEST_CASE("HF names map to GGUF names and back") {
  CHECK(hf::gguf_name("model.embed_tokens.weight") == "token_embd.weight");
  CHECK(hf::gguf_name("model.layers.3.self_attn.q_proj.weight") == "blk.3.attn_q.weight");
  CHECK(hf::gguf_name("model.layers.10.self_attn.o_proj.weight") == "blk.10.attn_output.weight");
  CHECK(hf::gguf_name("model.layers.0.self_attn.k_proj.bias") == "blk.0.attn_k.bias");
  CHECK(hf::gguf_name("model.layers.1.self_attn.q_norm.weight") == "blk.1.attn_q_norm.weight");
  CHECK(hf::gguf_name("model.layers.2.mlp.down_proj.weight") == "blk.2.ffn_down.weight");
  CHECK(hf::gguf_name("model.layers.2.input_layernorm.weight") == "blk.2.attn_norm.weight");
  CHECK(hf::gguf_name("model.layers.2.post_attention_layernorm.weight") == "blk.2.ffn_norm.weight");
  CHECK(hf::gguf_name("model.norm.weight") == "output_norm.weight");
  CHECK(hf::gguf_name("lm_head.weight") == "output.weight");
  CHECK(!hf::gguf_name("model.layers.0.self_attn.rotary_emb.inv_freq"));
  CHECK(!hf::gguf_name("model.layers.x.mlp.up_proj.weight"));
  CHECK(!hf::gguf_name("model.layers..mlp.up_proj.weight"));
  CHECK(hf::hf_name("blk.7.ffn_up.weight") == "model.layers.7.mlp.up_proj.weight");
  CHECK(!hf::hf_name("rope_freqs.weight"));
}

TEST_CASE("HF directories: single file, shards, half-precision norms") {
  fs::path dir = make_hf("hf-shards");
  LoadedModel one = load_model(dir.string());
  CHECK(one.config.rope_style == kernels::RopeStyle::kNeox);

  // Split into two shards with an index; the result must be the same tensors.
  std::vector<WriteTensor> all = tensors_of(dir / "model.safetensors");
  std::vector<WriteTensor> s1(all.begin(), all.begin() + all.size() / 2), s2(all.begin() + all.size() / 2, all.end());
  fs::path sd = dir.parent_path() / "sharded";
  fs::create_directories(sd);
  fs::copy_file(dir / "config.json", sd / "config.json");
  write_bytes(sd / "model-00001-of-00002.safetensors", serialize(s1));
  write_bytes(sd / "model-00002-of-00002.safetensors", serialize(s2));
  json idx = {{"metadata", {{"total_size", 0}}}, {"weight_map", json::object()}};
  for (const auto& t : s1) idx["weight_map"][t.name] = "model-00001-of-00002.safetensors";
  for (const auto& t : s2) idx["weight_map"][t.name] = "model-00002-of-00002.safetensors";
  write_text(sd / "model.safetensors.index.json", idx.dump());
  LoadedModel two = load_model(sd.string());
  REQUIRE(two.tensors->all().size() == one.tensors->all().size());
  for (const TensorRef& t : one.tensors->all()) {
    const TensorRef* u = two.tensors->find(t.name);
    REQUIRE(u);
    CHECK(u->dims == t.dims);
    CHECK(std::memcmp(u->data, t.data, t.nbytes) == 0);
  }

  // Errors: a missing shard, a tensor the shard lacks, a shard name outside the directory.
  json bad = idx;
  bad["weight_map"][s2[0].name] = "model-00003-of-00002.safetensors";
  write_text(sd / "model.safetensors.index.json", bad.dump());
  expect_error([&] { load_model(sd.string()); }, Status::kNotFound, "model-00003-of-00002.safetensors");
  bad = idx;
  bad["weight_map"]["model.layers.0.mlp.extra.weight"] = "model-00001-of-00002.safetensors";
  write_text(sd / "model.safetensors.index.json", bad.dump());
  expect_error([&] { load_model(sd.string()); }, Status::kParseError, "no such tensor");
  bad = idx;
  bad["weight_map"][s2[0].name] = "../hf/model.safetensors";
  write_text(sd / "model.safetensors.index.json", bad.dump());
  expect_error([&] { load_model(sd.string()); }, Status::kParseError, "not a plain file name");
  write_text(sd / "model.safetensors.index.json", "{\"weight_map\": 3}");
  expect_error([&] { load_model(sd.string()); }, Status::kParseError, "weight_map");
  write_text(sd / "model.safetensors.index.json", "{\"weight_map\": {");
  expect_error([&] { load_model(sd.string()); }, Status::kParseError, "not valid JSON");
  fs::remove(sd / "model.safetensors.index.json");
  expect_error([&] { load_model(sd.string()); }, Status::kNotFound, "neither model.safetensors");

  // BF16 checkpoint with BF16 norms: norms come out as F32, matrices stay BF16 in the mapping.
  fs::path bd = dir.parent_path() / "bf16";
  write_synthetic_hf(synthetic_preset("tiny", "qwen2"), bd.string(), kernels::DType::BF16);
  LoadedModel m = load_model(bd.string());
  CHECK(m.tensors->find("blk.0.attn_norm.weight")->dtype == kernels::DType::F32);
  CHECK(m.tensors->find("blk.0.attn_q.bias")->dtype == kernels::DType::F32);
  CHECK(m.tensors->find("blk.0.attn_q.weight")->dtype == kernels::DType::BF16);
  float norm0;
  std::memcpy(&norm0, m.tensors->find("output_norm.weight")->data, 4);
  CHECK(norm0 > 0.5f);
  CHECK(norm0 < 1.5f);
}

TEST_CASE("HF directories: tensors are checked against the config") {
  fs::path dir = make_hf("hf-check");
  json cfg = read_config(dir);

  json j = cfg;
  j["intermediate_size"] = 96;
  write_config(dir, j);
  expect_error([&] { load_model(dir.string()); }, Status::kParseError, "blk.0.ffn_gate.weight' has dims [64, 128]");
  j = cfg;
  j["num_hidden_layers"] = 3;
  write_config(dir, j);
  expect_error([&] { load_model(dir.string()); }, Status::kNotFound, "blk.2.attn_norm.weight' is missing");
  j = cfg;
  j["num_hidden_layers"] = 1;
  write_config(dir, j);
  expect_error([&] { load_model(dir.string()); }, Status::kParseError, "is for layer 1 but the config has 1 layers");
  j = cfg;
  j["vocab_size"] = 1000;
  write_config(dir, j);
  expect_error([&] { load_model(dir.string()); }, Status::kParseError, "token_embd.weight");
  // Untied config without lm_head, and tied config with an lm_head (ignored).
  write_config(dir, cfg);
  std::vector<WriteTensor> ts = tensors_of(dir / "model.safetensors");
  std::erase_if(ts, [](const WriteTensor& t) { return t.name == "lm_head.weight"; });
  std::vector<WriteTensor> with_extra = ts;
  with_extra.push_back({"model.layers.0.self_attn.rotary_emb.inv_freq", DType::kF32, {8}, std::vector<uint8_t>(32)});
  write_bytes(dir / "model.safetensors", serialize(with_extra));
  expect_error([&] { load_model(dir.string()); }, Status::kNotFound, "output.weight' is missing");
  j = cfg;
  j["tie_word_embeddings"] = true;
  write_config(dir, j);
  LoadedModel tied = load_model(dir.string());
  CHECK(tied.config.tied_embeddings);
  CHECK(tied.tensors->find("output.weight") == nullptr);
  // A used tensor in an unsupported dtype.
  for (auto& t : ts)
    if (t.name == "model.norm.weight") t = {t.name, DType::kI32, t.shape, t.data};
  write_bytes(dir / "model.safetensors", serialize(ts));
  expect_error([&] { load_model(dir.string()); }, Status::kUnsupported, "unsupported dtype I32");
  fs::remove(dir / "model.safetensors");
  expect_error([&] { load_model(dir.string()); }, Status::kNotFound, "neither model.safetensors");
}

TEST_CASE("config.json: architectures, defaults, rope scaling, sliding window, errors") {
  fs::path dir = test::scratch_dir("hf-config");
  json base = {{"architectures", {"LlamaForCausalLM"}},
               {"hidden_size", 64},
               {"intermediate_size", 128},
               {"num_hidden_layers", 2},
               {"num_attention_heads", 4},
               {"vocab_size", 512}};
  auto cfg = [&](const json& j) {
    write_config(dir, j);
    return config_from_hf_dir(dir.string());
  };
  ModelConfig c = cfg(base);
  CHECK(c.arch == "llama");
  CHECK(c.n_head_kv == 4);
  CHECK(c.head_dim == 16);
  CHECK(c.n_rot == 16);
  CHECK(c.rope_theta == 10000.0f);
  CHECK(c.rms_eps == doctest::Approx(1e-6));
  CHECK(c.n_ctx_train == 2048);
  CHECK(c.rope_style == kernels::RopeStyle::kNeox);
  CHECK(!c.tied_embeddings);
  CHECK(!c.qkv_bias);
  CHECK(!c.qk_norm);

  json j = base;
  j["attention_bias"] = true;
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 4.0}};
  c = cfg(j);
  CHECK(c.qkv_bias);
  CHECK(c.rope_scaling.type == RopeScalingType::kLinear);
  CHECK(c.rope_scaling.factor == 4.0f);
  j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
                       {"original_max_position_embeddings", 8192}};
  c = cfg(j);
  CHECK(c.rope_scaling.type == RopeScalingType::kLlama3);
  CHECK(c.rope_scaling.original_context == 8192);
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  expect_error([&] { cfg(j); }, Status::kUnsupported, "rope_scaling type 'yarn'");
  j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 4.0}, {"high_freq_factor", 1.0}};
  expect_error([&] { cfg(j); }, Status::kParseError, "low_freq_factor < high_freq_factor");
  j["rope_scaling"] = {{"rope_type", "default"}};
  CHECK(cfg(j).rope_scaling.type == RopeScalingType::kNone);

  j = base;
  j["architectures"] = {"Qwen2ForCausalLM"};
  j["num_key_value_heads"] = 2;
  j["sliding_window"] = 128;  // ignored: use_sliding_window is false by default
  c = cfg(j);
  CHECK(c.arch == "qwen2");
  CHECK(c.qkv_bias);
  CHECK(c.n_ctx_train == 32768);
  j["use_sliding_window"] = true;
  expect_error([&] { cfg(j); }, Status::kUnsupported, "sliding_window 128");
  j = base;
  j["architectures"] = {"Qwen3ForCausalLM"};
  j["head_dim"] = 32;
  j["tie_word_embeddings"] = true;
  c = cfg(j);
  CHECK(c.qk_norm);
  CHECK(c.head_dim == 32);
  CHECK(c.tied_embeddings);

  j = base;
  j["architectures"] = {"MistralForCausalLM"};
  j["max_position_embeddings"] = 32768;
  j["sliding_window"] = 4096;
  expect_error([&] { cfg(j); }, Status::kUnsupported, "sliding_window 4096 is smaller than max_position_embeddings");
  j["sliding_window"] = nullptr;
  CHECK(cfg(j).arch == "llama");
  j["sliding_window"] = 32768;
  CHECK(cfg(j).arch == "llama");

  j = base;
  j["architectures"] = {"GPT2LMHeadModel"};
  expect_error([&] { cfg(j); }, Status::kUnsupported, "GPT2LMHeadModel");
  j = base;
  j.erase("architectures");
  expect_error([&] { cfg(j); }, Status::kParseError, "architectures");
  j = base;
  j.erase("hidden_size");
  expect_error([&] { cfg(j); }, Status::kParseError, "'hidden_size' is missing");
  j = base;
  j["hidden_size"] = "64";
  expect_error([&] { cfg(j); }, Status::kParseError, "'hidden_size' must be an integer");
  j = base;
  j["rms_norm_eps"] = "small";
  expect_error([&] { cfg(j); }, Status::kParseError, "'rms_norm_eps' must be a number");
  j = base;
  j["rope_theta"] = 1e300;
  expect_error([&] { cfg(j); }, Status::kParseError, "'rope_theta' must be a finite number");
  j = base;
  j["num_key_value_heads"] = 3;
  expect_error([&] { cfg(j); }, Status::kInvalidArgument, "KV head count 3");
  j = base;
  j["num_attention_heads"] = 0;
  expect_error([&] { cfg(j); }, Status::kParseError, "num_attention_heads");
  write_text(dir / "config.json", "{\"hidden_size\": ");
  expect_error([&] { config_from_hf_dir(dir.string()); }, Status::kParseError, "not valid JSON");
  write_text(dir / "config.json", "[]");
  expect_error([&] { config_from_hf_dir(dir.string()); }, Status::kParseError, "not a JSON object");
  fs::remove(dir / "config.json");
  expect_error([&] { config_from_hf_dir(dir.string()); }, Status::kNotFound, "config.json");
}
