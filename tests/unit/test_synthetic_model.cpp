// The synthetic model writer: its GGUF file and its HF directory load back to the same config and
// equivalent tensors (llama q/k rows permuted between the two rope layouts), and the embedded
// tokenizer is consistent between GGUF metadata and tokenizer.json.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "core/model/model_loader.hpp"
#include "sgl/error.hpp"
#include "core/model/synthetic_model.hpp"
#include "core/model/synthetic_tokenizer.hpp"
#include "kernels/quant.hpp"
#include "support/test_support.hpp"

using namespace sgl;
using kernels::DType;

namespace {

std::vector<float> values(const TensorRef& t) {
  std::vector<float> out(static_cast<size_t>(t.n_elements()));
  const int64_t cols = t.dims[0];
  const size_t rb = kernels::row_bytes(t.dtype, cols);
  for (int64_t r = 0; r < t.n_elements() / cols; ++r)
    kernels::dequantize_row(t.dtype, static_cast<const uint8_t*>(t.data) + r * rb, out.data() + r * cols, cols);
  return out;
}

// HF row (head h, half * hd/2 + i) holds GGUF row (head h, 2i + half).
std::vector<float> unpermute(const std::vector<float>& hf, int64_t cols, int64_t head_dim) {
  std::vector<float> g(hf.size());
  const int64_t rows = static_cast<int64_t>(hf.size()) / cols;
  for (int64_t r = 0; r < rows; ++r) {
    int64_t h = r / head_dim, j = r % head_dim;
    int64_t half = j / (head_dim / 2), i = j % (head_dim / 2);
    std::copy_n(&hf[(h * head_dim + half * head_dim / 2 + i) * cols], cols, &g[(h * head_dim + 2 * i + half) * cols]);
  }
  return g;
}

void check_same_config(const ModelConfig& g, const ModelConfig& h) {
  CHECK(g.arch == h.arch);
  CHECK(g.n_vocab == h.n_vocab);
  CHECK(g.n_embd == h.n_embd);
  CHECK(g.n_layer == h.n_layer);
  CHECK(g.n_head == h.n_head);
  CHECK(g.n_head_kv == h.n_head_kv);
  CHECK(g.head_dim == h.head_dim);
  CHECK(g.n_rot == h.n_rot);
  CHECK(g.n_ff == h.n_ff);
  CHECK(g.n_ctx_train == h.n_ctx_train);
  CHECK(g.rope_theta == h.rope_theta);
  CHECK(g.rms_eps == h.rms_eps);
  CHECK(g.tied_embeddings == h.tied_embeddings);
  CHECK(g.qkv_bias == h.qkv_bias);
  CHECK(g.qk_norm == h.qk_norm);
  CHECK(h.rope_style == kernels::RopeStyle::kNeox);
  CHECK(g.rope_style == (g.arch == "llama" ? kernels::RopeStyle::kNorm : kernels::RopeStyle::kNeox));
}

void round_trip(const SyntheticSpec& s, const std::string& tag) {
  INFO(tag);
  auto dir = test::scratch_dir("synth-" + tag);
  const std::string gguf_path = (dir / "m.gguf").string(), hf_dir = (dir / "hf").string();
  write_synthetic_gguf(s, gguf_path);
  write_synthetic_hf(s, hf_dir);
  LoadedModel g = load_model(gguf_path);
  LoadedModel h = load_model(hf_dir);
  REQUIRE(g.gguf);
  REQUIRE(!h.hf_dir.empty());
  check_same_config(g.config, h.config);
  ModelConfig want = synthetic_config(s);
  CHECK(g.config.n_vocab == want.n_vocab);
  CHECK(h.config.rope_scaling.type == want.rope_scaling.type);

  CHECK(g.tensors->all().size() == h.tensors->all().size());
  for (const TensorRef& gt : g.tensors->all()) {
    INFO(gt.name);
    const TensorRef* ht = h.tensors->find(gt.name);
    REQUIRE(ht != nullptr);
    CHECK(gt.dims == ht->dims);
    if (gt.dims.size() == 1) {
      CHECK(gt.dtype == DType::F32);
      CHECK(ht->dtype == DType::F32);
    } else {
      CHECK(gt.dtype == s.weight_type);
    }
    std::vector<float> gv = values(gt), hv = values(*ht);
    if (s.arch == "llama" && (gt.name.ends_with("attn_q.weight") || gt.name.ends_with("attn_k.weight")))
      hv = unpermute(hv, gt.dims[0], g.config.head_dim);
    CHECK(gv == hv);  // the HF form holds exactly the GGUF values
  }
}

}  // namespace

TEST_CASE("synthetic models: GGUF and HF forms load to the same config and tensors") {
  for (const char* arch : {"llama", "qwen2", "qwen3"}) {
    for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1}) {
      SyntheticSpec s = synthetic_preset("tiny", arch);
      s.weight_type = t;
      round_trip(s, std::string(arch) + "-" + std::string(kernels::dtype_name(t)));
    }
  }
  SUBCASE("tied embeddings, odd head_dim layout, llama3 rope factors") {
    SyntheticSpec s = synthetic_preset("tiny", "llama");
    s.tied_embeddings = true;
    s.n_embd = 48, s.n_head = 4, s.n_head_kv = 1, s.head_dim = 10, s.n_ff = 72;
    s.llama3_rope = true;
    round_trip(s, "llama-tied-llama3");
  }
}

TEST_CASE("synthetic models: weights depend on the seed, and the writer is deterministic") {
  auto dir = test::scratch_dir("synth-seed");
  SyntheticSpec s = synthetic_preset("tiny");
  write_synthetic_gguf(s, (dir / "a.gguf").string());
  write_synthetic_gguf(s, (dir / "b.gguf").string());
  s.seed = 2;
  write_synthetic_gguf(s, (dir / "c.gguf").string());
  std::string a = test::read_text(dir / "a.gguf"), b = test::read_text(dir / "b.gguf"), c = test::read_text(dir / "c.gguf");
  CHECK(a == b);
  CHECK(a.size() == c.size());
  CHECK(a != c);
}

TEST_CASE("synthetic models: invalid specs are refused with a clear error") {
  auto expect = [](SyntheticSpec s, const char* part) {
    try {
      validate_synthetic_spec(s);
      FAIL("no error for " << part);
    } catch (const Error& e) {
      CHECK(e.code() == Status::kInvalidArgument);
      CHECK(std::string(e.what()).find(part) != std::string::npos);
    }
  };
  SyntheticSpec s = synthetic_preset("tiny");
  s.weight_type = DType::Q8_0;
  s.n_embd = 48;
  s.n_head = 4;
  expect(s, "divisible by 32");
  s = synthetic_preset("tiny");
  s.arch = "gpt2";
  expect(s, "gpt2");
  s = synthetic_preset("tiny");
  s.n_vocab = 100;
  expect(s, "vocabulary size 100");
  s = synthetic_preset("tiny");
  s.n_head_kv = 3;
  expect(s, "head counts");
  CHECK_THROWS_AS(synthetic_preset("7b"), Error);
  SyntheticSpec p = synthetic_preset("1b", "qwen3");
  CHECK(p.n_embd == 2048);
  CHECK(p.n_head_kv == 8);
  CHECK(synthetic_preset("110m").n_vocab == 32000);
}

TEST_CASE("synthetic tokenizer: SentencePiece vocabulary, GGUF metadata and tokenizer.json agree") {
  const SpmVocab v = build_synthetic_vocab(600);
  REQUIRE(v.pieces.size() == 600);
  CHECK(v.pieces[0] == "<unk>");
  CHECK(v.pieces[1] == "<s>");
  CHECK(v.pieces[2] == "</s>");
  CHECK(v.pieces[3] == "<0x00>");
  CHECK(v.pieces[3 + 0x41] == "<0x41>");
  CHECK(v.pieces[258] == "<0xFF>");
  CHECK(v.types[258] == static_cast<int32_t>(SpmTokenType::kByte));
  std::unordered_set<std::string> seen(v.pieces.begin(), v.pieces.end());
  CHECK(seen.size() == v.pieces.size());  // no duplicates
  CHECK(seen.count("\xe2\x96\x81the"));   // "▁the" is learned from the text
  for (size_t i = 260; i < v.pieces.size(); ++i) CHECK(v.scores[i] < v.scores[i - 1]);
  for (const auto& [l, r] : v.merges) CHECK(seen.count(l + r));
  CHECK(v.merges.size() >= v.pieces.size() - 259 - 80);

  // Vocabularies larger than the text supports are padded deterministically.
  const SpmVocab big = build_synthetic_vocab(32000);
  CHECK(big.pieces.size() == 32000);
  CHECK(std::equal(v.pieces.begin(), v.pieces.begin() + 300, big.pieces.begin()));
  CHECK_THROWS_AS(build_synthetic_vocab(synthetic_vocab_min() - 1), Error);

  auto dir = test::scratch_dir("synth-tok");
  SyntheticSpec s = synthetic_preset("tiny", "qwen2");
  write_synthetic_gguf(s, (dir / "m.gguf").string());
  write_synthetic_hf(s, (dir / "hf").string());
  auto f = gguf::GgufFile::open((dir / "m.gguf").string());
  const SpmVocab tv = build_synthetic_vocab(s.n_vocab);
  REQUIRE(f.get_array("tokenizer.ggml.tokens"));
  CHECK(f.get_array("tokenizer.ggml.tokens")->strings == tv.pieces);
  CHECK(f.get_array("tokenizer.ggml.scores")->size() == tv.pieces.size());
  CHECK(f.get_string("tokenizer.ggml.model") == "llama");
  CHECK(f.get_bool("tokenizer.ggml.add_bos_token") == true);
  CHECK(f.get_uint("tokenizer.ggml.bos_token_id") == 1u);
  CHECK(f.get_string("tokenizer.chat_template")->find("<|im_start|>") != std::string::npos);

  auto tj = nlohmann::json::parse(test::read_text(dir / "hf/tokenizer.json"));
  CHECK(tj["model"]["type"] == "BPE");
  CHECK(tj["model"]["byte_fallback"] == true);
  CHECK(tj["model"]["vocab"].size() == tv.pieces.size());
  for (size_t i = 0; i < tv.pieces.size(); ++i) CHECK(tj["model"]["vocab"][tv.pieces[i]] == i);
  CHECK(tj["model"]["merges"].size() == tv.merges.size());
  CHECK(tj["normalizer"]["normalizers"][0]["type"] == "Prepend");
  auto tc = nlohmann::json::parse(test::read_text(dir / "hf/tokenizer_config.json"));
  CHECK(tc["bos_token"] == "<s>");
  CHECK(tc["add_bos_token"] == true);
  CHECK(tc["chat_template"].get<std::string>() == synthetic_chat_template());
}
