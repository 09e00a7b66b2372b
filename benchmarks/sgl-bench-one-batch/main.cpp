// sgl-bench-one-batch: SGLang's bench_one_batch on sgl's lower layers, in-process and without the
// scheduler: for each (batch size, input len, output len) one batched prefill of bs prompts, then
// output_len - 1 batched decode steps (one token per sequence per step, greedy), timed per step.
// Reports prefill latency/throughput and median decode latency/throughput, like SGLang.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "core/kv/kv_pool.hpp"
#include "core/model/transformer.hpp"
#include "core/support/check.hpp"

using namespace sgl;
using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

struct Point {
  int bs, in, out;
  double prefill_s, prefill_tps, decode_med_s, decode_tps, total_s, overall_tps;
};

// One grid point. Each sequence gets its own pages; they go back to the pool afterwards.
Point run_point(Transformer& tf, KvPool& pool, const ModelConfig& c, int page, int bs, int in, int out,
                std::mt19937& rng) {
  const int64_t per_seq = (in + out + page - 1) / page;
  std::vector<std::vector<int32_t>> pages(static_cast<size_t>(bs));
  for (auto& p : pages)
    if (!pool.alloc(per_seq, p)) SGL_THROW(Status::kOutOfMemory, "KV pool too small for bs={} len={}", bs, in + out);
  std::vector<std::vector<int32_t>> prompts(static_cast<size_t>(bs), std::vector<int32_t>(static_cast<size_t>(in)));
  for (auto& pr : prompts)
    for (auto& t : pr) t = static_cast<int32_t>(rng() % static_cast<uint32_t>(c.n_vocab));
  std::vector<float> logits(static_cast<size_t>(bs) * static_cast<size_t>(c.n_vocab));
  std::vector<int32_t> next(static_cast<size_t>(bs));
  auto argmax_all = [&] {
    for (int s = 0; s < bs; ++s) {
      const float* row = logits.data() + static_cast<size_t>(s) * c.n_vocab;
      next[static_cast<size_t>(s)] = static_cast<int32_t>(std::max_element(row, row + c.n_vocab) - row);
    }
  };

  Point pt{bs, in, out, 0, 0, 0, 0, 0, 0};
  const auto t_start = Clock::now();
  {
    ForwardBatch b;
    for (int s = 0; s < bs; ++s) b.add_sequence(prompts[s], 0, pages[s], page, ForwardBatch::Logits::kLast);
    auto t0 = Clock::now();
    tf.forward(b, pool.layers(), logits.data());
    argmax_all();
    pt.prefill_s = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  std::vector<double> steps;
  for (int i = 0; i + 1 < out; ++i) {  // the prefill produced the first output token
    ForwardBatch d;
    for (int s = 0; s < bs; ++s)
      d.add_sequence(std::span<const int32_t>(&next[static_cast<size_t>(s)], 1), in + i, pages[s], page,
                     ForwardBatch::Logits::kLast);
    auto t0 = Clock::now();
    tf.forward(d, pool.layers(), logits.data());
    argmax_all();
    steps.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  pt.total_s = std::chrono::duration<double>(Clock::now() - t_start).count();
  for (auto& p : pages) pool.free(p);
  pt.prefill_tps = bs * in / pt.prefill_s;
  pt.decode_med_s = median(steps);
  pt.decode_tps = pt.decode_med_s > 0 ? bs / pt.decode_med_s : 0;
  pt.overall_tps = bs * (in + out) / pt.total_s;
  return pt;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sgl-bench-one-batch: static-batch prefill and decode latency (like sglang.bench_one_batch)"};
  std::string model_path, device = "cpu", result_file, run_name = "before", quantization = "none";
  std::vector<int> batch_sizes{1}, input_lens{1024}, output_lens{16};
  int threads = 0;
  bool warmup = true;
  app.add_option("--model-path,-m", model_path, "GGUF file or HF directory")->required();
  app.add_option("--batch-size", batch_sizes, "Batch sizes (list)")->capture_default_str()->check(CLI::Range(1, 4096));
  app.add_option("--input-len", input_lens, "Prompt lengths (list)")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  app.add_option("--output-len", output_lens, "Output lengths (list)")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  app.add_option("--threads,-t", threads, "Kernel threads (0 = all hardware threads)")->capture_default_str();
  app.add_option("--device", device, "Backend: cpu or ref")->capture_default_str();
  app.add_option("--quantization", quantization, "Online weight quantization: none, q8_0, q4_0, q4_k, ...")
      ->capture_default_str();
  app.add_option("--result-filename", result_file, "Append one JSONL record per grid point");
  app.add_option("--run-name", run_name, "Stored in the JSONL records")->capture_default_str();
  app.add_flag("!--skip-warmup", warmup, "Skip the untimed warm-up point");
  CLI11_PARSE(app, argc, argv);

  try {
    auto model = std::make_shared<LoadedModel>(load_model(model_path, LoadOptions{quantization, threads}));
    auto backend = kernels::create_backend(device, kernels::BackendOptions{threads, ""});
    Transformer tf(model, *backend);
    const ModelConfig& c = model->config;
    const int page = 16;
    int64_t need = 0;
    for (int bs : batch_sizes)
      for (int in : input_lens)
        for (int out : output_lens) need = std::max<int64_t>(need, bs * ((in + out + page - 1) / page));
    KvPool pool(kv_pool_config_for(c, page, need, kernels::DType::F16), *backend);
    std::printf("model: %s\n%s\nbackend: %s\n", model_path.c_str(), c.summary().c_str(), backend->describe().c_str());
    std::mt19937 rng(42);
    if (warmup) run_point(tf, pool, c, page, batch_sizes.front(), std::min(input_lens.front(), 32), 4, rng);

    std::ofstream jsonl;
    if (!result_file.empty()) {
      jsonl.open(result_file, std::ios::app);
      if (!jsonl) SGL_THROW(Status::kIoError, "cannot open --result-filename '{}'", result_file);
    }
    std::printf("| bs | input | output | prefill ms | prefill tok/s | decode median ms | decode tok/s | total s | overall tok/s |\n");
    std::printf("|---:|------:|-------:|-----------:|--------------:|-----------------:|-------------:|--------:|--------------:|\n");
    for (int bs : batch_sizes)
      for (int in : input_lens)
        for (int out : output_lens) {
          Point p = run_point(tf, pool, c, page, bs, in, out, rng);
          std::printf("| %d | %d | %d | %.2f | %.1f | %.3f | %.1f | %.3f | %.1f |\n", bs, in, out, p.prefill_s * 1e3,
                      p.prefill_tps, p.decode_med_s * 1e3, p.decode_tps, p.total_s, p.overall_tps);
          std::fflush(stdout);
          if (jsonl.is_open()) {
            // SGLang's bench_one_batch key names.
            nlohmann::json j = {{"run_name", run_name}, {"batch_size", bs}, {"input_len", in}, {"output_len", out},
                                {"prefill_latency", p.prefill_s}, {"prefill_throughput", p.prefill_tps},
                                {"median_decode_latency", p.decode_med_s}, {"median_decode_throughput", p.decode_tps},
                                {"total_latency", p.total_s}, {"overall_throughput", p.overall_tps},
                                {"threads", threads}, {"device", device}, {"model_path", model_path},
                                {"quantization", quantization}};
            jsonl << j.dump() << "\n";
          }
        }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sgl-bench-one-batch: %s\n", e.what());
    return 1;
  }
  return 0;
}
