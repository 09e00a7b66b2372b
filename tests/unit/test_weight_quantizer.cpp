// Online quantization (load_model with LoadOptions::quantization) and sgl-quantize's
// quantize_model_file on synthetic models: which tensors convert, fallbacks for rows that do not
// fit the block, already-quantized tensors left alone, the written GGUF's metadata, HF input, and
// logits close to the F32 model.
//
// Logit bounds, relative to the spread (standard deviation, ~1.5) of the F32 logits of the
// "tiny" model (2 layers; the cpu backend also rounds activations to 8-bit blocks for quantized
// matmuls). Weight rounding error per element is ~0.3% of a block's amax for Q8_0, ~5% for
// Q4_0 (4 bits, one scale) and ~3% for Q4_K (4 bits, 6-bit sub-block scales and mins):
//  - Q8_0: rms 4%, max 15% of the spread (seen: rms 1.4%, max 6.2%).
//  - Q4_0: rms 25%, max 90% (seen: rms 13.9%, max 48.6%): a 4-bit random model is noisy.
//  - Q4_K (only where this build supports it, on a 256-wide variant): rms 20%, max 80%
//    (seen: rms 11.2%, max 43%).
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/kv/kv_pool.hpp"
#include "core/model/gguf_reader.hpp"
#include "core/model/model_quantizer.hpp"
#include "core/model/synthetic_model.hpp"
#include "core/model/transformer.hpp"
#include "sgl/engine_config.hpp"
#include "sgl/error.hpp"
#include "sgl/tokenizer.hpp"
#include "support/test_support.hpp"

using namespace sgl;
using kernels::DType;

namespace {

const std::vector<int32_t> kPrompt = {1, 17, 300, 42, 5, 99, 260, 7, 311, 64, 2, 128};

std::vector<float> logits_of(std::shared_ptr<LoadedModel> model) {
  auto backend = kernels::create_backend("cpu", kernels::BackendOptions{2, ""});
  Transformer tf(model, *backend);
  const ModelConfig& c = model->config;
  KvPool pool(KvPoolConfig{static_cast<int>(c.n_layer), static_cast<int>(c.n_head_kv), static_cast<int>(c.head_dim), 4,
                           4, DType::F32},
              *backend);
  std::vector<int32_t> pages;
  REQUIRE(pool.alloc(4, pages));
  ForwardBatch b;
  b.add_sequence(kPrompt, 0, pages, 4, ForwardBatch::Logits::kAll);
  std::vector<float> logits(b.logit_rows.size() * c.n_vocab);
  tf.forward(b, pool.layers(), logits.data());
  return logits;
}

std::vector<float> logits_of(const std::string& path, const std::string& quant = "none") {
  return logits_of(std::make_shared<LoadedModel>(load_model(path, LoadOptions{quant, 2})));
}

struct Diff {
  double rms = 0, max = 0, spread = 0;
};

Diff compare(const std::vector<float>& ref, const std::vector<float>& got) {
  REQUIRE(ref.size() == got.size());
  Diff d;
  double mean = 0, var = 0, sq = 0;
  for (float v : ref) mean += v;
  mean /= static_cast<double>(ref.size());
  for (float v : ref) var += (v - mean) * (v - mean);
  d.spread = std::sqrt(var / static_cast<double>(ref.size()));
  for (size_t i = 0; i < ref.size(); ++i) {
    double e = std::fabs(static_cast<double>(ref[i]) - got[i]);
    d.max = std::max(d.max, e);
    sq += e * e;
  }
  d.rms = std::sqrt(sq / static_cast<double>(ref.size()));
  return d;
}

bool supported(DType t) { return kernels::dtype_info(t).supported; }

template <class F>
void check_error(F&& f, Status code, const std::string& part) {
  try {
    f();
    FAIL("expected an error containing '" << part << "'");
  } catch (const Error& e) {
    CHECK(e.code() == code);
    CHECK_MESSAGE(std::string(e.what()).find(part) != std::string::npos, e.what());
  }
}

}  // namespace

TEST_CASE("parse_quantization accepts type names and rejects the rest clearly") {
  CHECK_FALSE(parse_quantization("none").has_value());
  CHECK_FALSE(parse_quantization("").has_value());
  CHECK(parse_quantization("q8_0") == DType::Q8_0);
  CHECK(parse_quantization("Q4_0") == DType::Q4_0);
  CHECK(parse_quantization("f16") == DType::F16);
  CHECK(parse_quantization("BF16") == DType::BF16);
  check_error([] { parse_quantization("q9_9"); }, Status::kInvalidArgument, "unknown quantization 'q9_9' (one of: none");
  check_error([] { parse_quantization("i32"); }, Status::kInvalidArgument, "not a weight type");
  if (supported(DType::Q4_K))
    CHECK(parse_quantization("q4_k") == DType::Q4_K);
  else
    check_error([] { parse_quantization("q4_k"); }, Status::kUnsupported, "not supported by this build");
  CHECK(supported_quantizations().find("q8_0") != std::string::npos);
  EngineConfig cfg;
  cfg.model_path = "x.gguf";
  cfg.quantization = "q5_7";
  check_error([&] { cfg.validate(); }, Status::kInvalidArgument, "unknown quantization 'q5_7'");
}

TEST_CASE("quantized_type follows llama.cpp's tensor rules") {
  auto ref = [](std::string name, DType t, std::vector<int64_t> dims) {
    TensorRef r;
    r.name = std::move(name);
    r.dtype = t;
    r.dims = std::move(dims);
    return r;
  };
  CHECK(quantized_type(ref("blk.0.attn_q.weight", DType::F16, {64, 64}), DType::Q4_0) == DType::Q4_0);
  CHECK(quantized_type(ref("blk.0.attn_norm.weight", DType::F32, {64}), DType::Q4_0) == DType::F32);
  CHECK(quantized_type(ref("blk.0.attn_q.bias", DType::F32, {64}), DType::Q8_0) == DType::F32);
  CHECK(quantized_type(ref("blk.0.ffn_up.weight", DType::Q4_0, {64, 128}), DType::Q8_0) == DType::Q4_0);
  CHECK(quantized_type(ref("token_embd.weight", DType::F32, {64, 512}), DType::Q4_0) == DType::Q8_0);
  CHECK(quantized_type(ref("token_embd.weight", DType::F32, {64, 512}), DType::F16) == DType::F16);
  CHECK(quantized_type(ref("output.weight", DType::BF16, {64, 512}), DType::Q4_0) == DType::Q4_0);
  // Rows of 48 fit no 32-block: kept; rows of 96 fit Q8_0 and Q4_0.
  CHECK(quantized_type(ref("blk.0.attn_q.weight", DType::F32, {48, 48}), DType::Q4_0) == DType::F32);
  CHECK(quantized_type(ref("blk.0.ffn_down.weight", DType::F32, {96, 48}), DType::Q4_0) == DType::Q4_0);
  if (supported(DType::Q4_K)) {
    CHECK(quantized_type(ref("blk.0.attn_q.weight", DType::F32, {256, 64}), DType::Q4_K) == DType::Q4_K);
    DType fb = supported(DType::Q5_0) ? DType::Q5_0 : DType::Q8_0;
    CHECK(quantized_type(ref("blk.0.attn_q.weight", DType::F32, {64, 64}), DType::Q4_K) == fb);
  }
}

TEST_CASE("online quantization converts the matrices and keeps logits close") {
  auto dir = test::scratch_dir("weight_quantizer_online");
  SyntheticSpec spec = synthetic_preset("tiny", "qwen2");  // qwen2: biases stay F32 too
  spec.seed = 11;
  const std::string f32 = (dir / "f32.gguf").string();
  write_synthetic_gguf(spec, f32);
  const std::vector<float> base = logits_of(f32);

  struct Case {
    DType t;
    double rms, max;
  };
  std::vector<Case> cases = {{DType::Q8_0, 0.04, 0.15}, {DType::Q4_0, 0.25, 0.90}};
  if (supported(DType::Q4_K)) cases.push_back({DType::Q4_K, 0.20, 0.80});
  for (const Case& c : cases) {
    const std::string name(kernels::dtype_name(c.t));
    SyntheticSpec s = spec;
    // Q4_K needs rows of 256: a wider model, else every matrix would fall back.
    std::string path = f32;
    std::vector<float> ref = base;
    if (c.t == DType::Q4_K) {
      s.n_embd = 256;
      s.n_ff = 512;
      path = (dir / "f32-wide.gguf").string();
      write_synthetic_gguf(s, path);
      ref = logits_of(path);
    }
    auto model = std::make_shared<LoadedModel>(load_model(path, LoadOptions{name, 2}));
    int matrices = 0;
    for (const TensorRef& t : model->tensors->all()) {
      INFO(t.name);
      if (t.dims.size() == 1) {
        CHECK(t.dtype == DType::F32);
      } else if (t.name == "token_embd.weight") {
        CHECK(t.dtype == DType::Q8_0);
      } else {
        CHECK(t.dtype == c.t);
        ++matrices;
      }
    }
    CHECK(matrices == 1 + 7 * s.n_layer);  // output + 7 per layer
    Diff d = compare(ref, logits_of(model));
    MESSAGE(fmt::format("{}: rms {:.4f}, max {:.4f}, spread {:.3f}", name, d.rms, d.max, d.spread));
    CHECK(d.spread > 0.5);
    CHECK(d.rms <= c.rms * d.spread);
    CHECK(d.max <= c.max * d.spread);
    CHECK(d.rms > 0);  // it really quantized
  }
}

TEST_CASE("rows that fit no block are kept, already-quantized tensors are not re-quantized") {
  auto dir = test::scratch_dir("weight_quantizer_rules");
  SyntheticSpec spec = synthetic_preset("tiny", "llama");
  spec.n_embd = 48;  // rows of 48 fit no 32-block; ffn_down's rows (n_ff = 96) do
  spec.n_head = 4;
  spec.n_head_kv = 2;
  spec.n_ff = 96;
  const std::string odd = (dir / "odd.gguf").string();
  write_synthetic_gguf(spec, odd);
  LoadedModel m = load_model(odd);
  QuantizeReport rep;
  auto q = quantize_store(m.tensors, DType::Q4_0, 1, &rep);
  CHECK(rep.quantized == spec.n_layer);  // ffn_down of each layer
  CHECK(rep.kept == 2 + 6 * spec.n_layer);  // token_embd, output, q/k/v/o/gate/up
  CHECK(rep.fallbacks == 0);
  CHECK(q->find("blk.1.ffn_down.weight")->dtype == DType::Q4_0);
  CHECK(q->find("blk.1.ffn_up.weight")->dtype == DType::F32);
  CHECK(rep.notes.size() == static_cast<size_t>(rep.kept));

  SyntheticSpec qs = synthetic_preset("tiny", "llama");
  qs.weight_type = DType::Q4_0;
  const std::string q4 = (dir / "q4_0.gguf").string();
  write_synthetic_gguf(qs, q4);
  LoadedModel mq = load_model(q4);
  auto again = quantize_store(mq.tensors, DType::Q8_0, 1, &rep);
  CHECK(rep.quantized == 0);
  CHECK(rep.already_quantized == 2 + 7 * qs.n_layer);
  CHECK(again->find("blk.0.attn_q.weight")->data == mq.tensors->find("blk.0.attn_q.weight")->data);
}

TEST_CASE("quantize_model_file writes a GGUF that reloads to the online result") {
  auto dir = test::scratch_dir("weight_quantizer_file");
  SyntheticSpec spec = synthetic_preset("tiny", "llama");
  spec.seed = 5;
  const std::string f16 = (dir / "f16.gguf").string(), out = (dir / "q8_0.gguf").string();
  spec.weight_type = DType::F16;
  write_synthetic_gguf(spec, f16);
  QuantizeReport rep = quantize_model_file(f16, out, DType::Q8_0, 2);
  CHECK(rep.quantized == 2 + 7 * spec.n_layer);
  CHECK(rep.bytes_after < rep.bytes_before);

  auto in = gguf::GgufFile::open(f16);
  auto q = gguf::GgufFile::open(out);
  CHECK(q.get_uint("general.file_type") == 7u);  // LLAMA_FTYPE_MOSTLY_Q8_0
  CHECK(q.get_uint("general.quantization_version") == 2u);
  for (const auto& [key, value] : in.metadata()) {
    INFO(key);
    REQUIRE(q.find(key));
    if (key != "general.file_type") CHECK(q.find(key)->type == value.type);
  }
  CHECK(q.get_array("tokenizer.ggml.tokens")->strings == in.get_array("tokenizer.ggml.tokens")->strings);
  CHECK(q.tensors().size() == in.tensors().size());
  CHECK(q.find_tensor("output_norm.weight")->dtype == DType::F32);
  CHECK(q.find_tensor("blk.0.ffn_gate.weight")->dtype == DType::Q8_0);
  // Same rounding online and offline: identical logits.
  CHECK(logits_of(out) == logits_of(f16, "q8_0"));
  Tokenizer ta = Tokenizer::from_gguf_file(f16), tb = Tokenizer::from_gguf_file(out);
  CHECK(ta.encode("hello world") == tb.encode("hello world"));
}

TEST_CASE("quantize_model_file reads an HF directory") {
  auto dir = test::scratch_dir("weight_quantizer_hf");
  for (const char* arch : {"llama", "qwen3"}) {
    SyntheticSpec spec = synthetic_preset("tiny", arch);
    spec.seed = 3;
    const std::string gguf_path = (dir / fmt::format("{}.gguf", arch)).string();
    const std::string hf = (dir / fmt::format("{}-hf", arch)).string();
    const std::string out = (dir / fmt::format("{}-q8.gguf", arch)).string();
    write_synthetic_gguf(spec, gguf_path);
    write_synthetic_hf(spec, hf);
    quantize_model_file(hf, out, DType::Q8_0, 1);
    LoadedModel m = load_model(out);
    CHECK(m.config.arch == arch);
    CHECK(m.config.n_layer == spec.n_layer);
    CHECK(m.tensors->find("blk.0.attn_k.weight")->dtype == DType::Q8_0);
    // The llama q/k rows were permuted back to the GGUF layout: same logits as the GGUF model
    // quantized online (the HF file holds the same values).
    CHECK(logits_of(out) == logits_of(gguf_path, "q8_0"));
    Tokenizer ta = Tokenizer::from_hf_dir(hf), tb = Tokenizer::from_gguf_file(out);
    CHECK(ta.encode("hello world") == tb.encode("hello world"));
    CHECK(tb.bos_id() == ta.bos_id());
  }
}

TEST_CASE("quantize_model_file gives clear errors") {
  auto dir = test::scratch_dir("weight_quantizer_errors");
  SyntheticSpec spec = synthetic_preset("tiny", "llama");
  const std::string f32 = (dir / "m.gguf").string();
  write_synthetic_gguf(spec, f32);
  check_error([&] { quantize_model_file((dir / "nope.gguf").string(), (dir / "o.gguf").string(), DType::Q8_0, 1); },
              Status::kNotFound, "does not exist");
  check_error([&] { quantize_model_file(f32, f32, DType::Q8_0, 1); }, Status::kInvalidArgument, "is the input model");
  check_error([&] { quantize_model_file(f32, (dir / "no" / "o.gguf").string(), DType::Q8_0, 1); }, Status::kNotFound,
              "output directory");
  check_error([&] { quantize_model_file(f32, dir.string(), DType::Q8_0, 1); }, Status::kInvalidArgument,
              "is a directory");
  check_error([&] { load_model(f32, LoadOptions{"q3_x", 1}); }, Status::kInvalidArgument, "unknown quantization");
}
