// sgl-generate: prints a greedy or sampled continuation of a prompt, straight on the forward
// pass (no scheduler): load, tokenize, prefill, then decode token by token through the KV cache,
// streaming text as it is produced. Timing goes to stderr.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "core/kv/kv_pool.hpp"
#include "core/model/transformer.hpp"
#include "core/sample/sampler.hpp"
#include "core/support/log.hpp"
#include "sgl/error.hpp"
#include "sgl/tokenizer.hpp"

using namespace sgl;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  CLI::App app{"sgl-generate: continue a prompt with a GGUF or Hugging Face model"};
  std::string model_path, tokenizer_path, prompt, device = "cpu", kv_type = "f16", quantization = "none";
  std::vector<int32_t> prompt_ids;
  int n_predict = 64, threads = 0, top_k = -1;
  float temp = 0.0f, top_p = 1.0f, min_p = 0.0f, repeat_penalty = 1.0f;
  uint64_t seed = 0;
  bool no_bos = false, ignore_eos = false;
  app.add_option("-m,--model", model_path, "GGUF file or HF model directory")->required();
  app.add_option("--tokenizer-path", tokenizer_path, "tokenizer.json, HF directory or GGUF to take the tokenizer from");
  app.add_option("-p,--prompt", prompt, "prompt text");
  app.add_option("--prompt-ids", prompt_ids, "prompt as token ids (instead of --prompt)")->delimiter(',');
  app.add_option("-n,--n-predict", n_predict, "tokens to generate")->check(CLI::Range(0, 1 << 20));
  app.add_option("--temp", temp, "temperature (0 = greedy)")->check(CLI::Range(0.0f, 100.0f));
  app.add_option("--top-k", top_k, "top-k (-1 = off)");
  app.add_option("--top-p", top_p, "top-p")->check(CLI::Range(0.0f, 1.0f));
  app.add_option("--min-p", min_p, "min-p")->check(CLI::Range(0.0f, 1.0f));
  app.add_option("--repeat-penalty", repeat_penalty, "repetition penalty (1 = off)");
  app.add_option("-s,--seed", seed, "sampling seed");
  app.add_option("-t,--threads", threads, "kernel threads (0 = all cores)");
  app.add_option("--device", device, "backend: cpu or ref");
  app.add_option("--kv-cache-dtype", kv_type, "f16, bf16, f32 or q8_0");
  app.add_option("--quantization", quantization, "online weight quantization: none, q8_0, q4_0, q4_k, ...");
  app.add_flag("--no-bos", no_bos, "do not add BOS even if the vocabulary asks for it");
  app.add_flag("--ignore-eos", ignore_eos, "keep generating after end-of-generation tokens");
  CLI11_PARSE(app, argc, argv);

  try {
    auto t_load = Clock::now();
    auto model = std::make_shared<LoadedModel>(load_model(model_path, LoadOptions{quantization, threads}));
    std::string tok_src = tokenizer_path.empty() ? model_path : tokenizer_path;
    namespace fs = std::filesystem;
    Tokenizer tok = fs::is_directory(tok_src)                 ? Tokenizer::from_hf_dir(tok_src)
                    : fs::path(tok_src).extension() == ".json" ? Tokenizer::from_tokenizer_json(tok_src)
                                                               : Tokenizer::from_gguf_file(tok_src);
    auto backend = kernels::create_backend(device, kernels::BackendOptions{threads, ""});
    Transformer tf(model, *backend);
    const ModelConfig& c = model->config;

    std::vector<int32_t> ids = prompt_ids;
    if (ids.empty()) {
      ids = tok.encode(prompt, /*add_special=*/false);
      if (tok.add_bos() && !no_bos && tok.bos_id() >= 0) ids.insert(ids.begin(), tok.bos_id());
    }
    if (ids.empty()) throw Error(Status::kInvalidArgument, "empty prompt: give --prompt or --prompt-ids");
    const int64_t total = static_cast<int64_t>(ids.size()) + n_predict;
    if (c.n_ctx_train > 0 && total > c.n_ctx_train)
      SGL_LOG_WARN("prompt + n_predict = {} exceeds the model's trained context {}", total, c.n_ctx_train);

    kernels::DType kvd = kv_type == "f32"    ? kernels::DType::F32
                         : kv_type == "bf16" ? kernels::DType::BF16
                         : kv_type == "f16"  ? kernels::DType::F16
                         : kv_type == "q8_0" ? kernels::DType::Q8_0
                                             : throw Error(Status::kInvalidArgument, "--kv-cache-dtype must be f16, bf16, f32 or q8_0");
    const int page = 16;
    KvPool pool(kv_pool_config_for(c, page, (total + page - 1) / page, kvd), *backend);
    std::vector<int32_t> pages;
    pool.alloc(pool.total_pages(), pages);
    double load_s = std::chrono::duration<double>(Clock::now() - t_load).count();

    SamplingOptions so;
    so.temperature = temp;
    so.top_k = top_k;
    so.top_p = top_p;
    so.min_p = min_p;
    so.repetition_penalty = repeat_penalty;
    so.seed = seed;
    SamplerState st(so, ids);

    std::fwrite(prompt.data(), 1, prompt_ids.empty() ? prompt.size() : 0, stdout);
    std::fflush(stdout);
    std::vector<float> logits(c.n_vocab);
    auto dec = tok.stream_decoder(/*skip_special=*/true);
    // The decoder drops the SentencePiece dummy-prefix space of the first piece; after a prompt
    // the first generated piece's leading space belongs to the text, so prime it with the prompt.
    for (int32_t id : ids) dec.push(id);

    auto t0 = Clock::now();
    ForwardBatch b;
    b.add_sequence(ids, 0, pages, page, ForwardBatch::Logits::kLast);
    tf.forward(b, pool.layers(), logits.data());
    double prefill_s = std::chrono::duration<double>(Clock::now() - t0).count();

    int32_t past = static_cast<int32_t>(ids.size());
    int generated = 0;
    auto t1 = Clock::now();
    for (; generated < n_predict; ++generated) {
      int32_t next = sample_token(logits.data(), c.n_vocab, st).token;
      st.accept(next);
      if (!ignore_eos && tok.is_eos(next)) break;
      std::string piece = dec.push(next);
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      if (generated + 1 == n_predict) {
        ++generated;
        break;
      }
      ForwardBatch d;
      std::vector<int32_t> one{next};
      d.add_sequence(one, past++, pages, page, ForwardBatch::Logits::kLast);
      tf.forward(d, pool.layers(), logits.data());
    }
    std::string tail = dec.finish();
    std::fwrite(tail.data(), 1, tail.size(), stdout);
    std::printf("\n");
    double decode_s = std::chrono::duration<double>(Clock::now() - t1).count();
    std::fprintf(stderr, "\n[sgl-generate] %s | %s\n[sgl-generate] load %.2f s | prompt %zu tokens in %.3f s (%.1f tok/s) | "
                 "%d tokens in %.3f s (%.1f tok/s)\n",
                 c.summary().c_str(), backend->describe().c_str(), load_s, ids.size(), prefill_s,
                 ids.size() / prefill_s, generated, decode_s, generated > 0 ? generated / decode_s : 0.0);
  } catch (const Error& e) {
    std::fprintf(stderr, "error (%s): %s\n", status_name(e.code()), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
