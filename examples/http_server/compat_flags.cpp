#include "compat_flags.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace sgl::server {
namespace {

enum class Arity { kFlag, kValue, kList };  // store_true / one value / nargs="+"
enum class Effect { kNone, kMapped, kRefused };

struct CompatFlag {
  const char* name;
  Arity arity;
  Effect effect;
  const char* why;  // completes "--flag VALUE has no effect here: <why>" (or the mapping / refusal)
};

constexpr const char* kCudaGraph = "CUDA graphs are a CUDA feature; kernels here are called directly each step";
constexpr const char* kKernels = "this build has one kernel set per device, chosen at start-up by ISA";
constexpr const char* kGpu = "GPU placement and NCCL settings do not apply to the cpu/gcu backends";
constexpr const char* kCompile = "there is no PyTorch here; kernels are compiled ahead of time";
constexpr const char* kMoe = "MoE experts run with the built-in kernels of the chosen device";
constexpr const char* kSpec = "speculative decoding is not implemented; decoding runs token by token (same outputs)";
constexpr const char* kHiCache = "the radix cache lives in host memory already; there is no second tier";
constexpr const char* kLog = "every request is logged at info level with its token counts and timings";
constexpr const char* kLora = "LoRA adapters are not implemented; serving the base model would change answers";
constexpr const char* kWarmup = "there is no warm-up step; the engine is ready when /health answers";

const CompatFlag kFlags[] = {
    {"--trust-remote-code", Arity::kFlag, Effect::kNone, "sgl never runs code shipped with a model, so nothing remote is executed"},
    {"--skip-tokenizer-init", Arity::kFlag, Effect::kNone, "the tokenizer is loaded anyway; input_ids requests work either way"},
    {"--tokenizer-mode", Arity::kValue, Effect::kNone, "there is one tokenizer implementation"},
    {"--load-format", Arity::kValue, Effect::kNone, "the format is detected from the path (.gguf file or safetensors folder)"},
    {"--dtype", Arity::kValue, Effect::kNone, "weights run in their stored type; use --quantization to convert them"},
    {"--revision", Arity::kValue, Effect::kNone, "models load from local paths only"},
    {"--download-dir", Arity::kValue, Effect::kNone, "models load from local paths only; nothing is downloaded"},
    {"--model-impl", Arity::kValue, Effect::kNone, "there is one model implementation"},
    {"--quantization-param-path", Arity::kValue, Effect::kNone, "KV scaling factors are not read; --kv-cache-dtype picks the KV type"},
    {"--enable-multimodal", Arity::kFlag, Effect::kNone, "only text models are served"},
    {"--cuda-graph-max-bs", Arity::kValue, Effect::kNone, kCudaGraph},
    {"--cuda-graph-bs", Arity::kList, Effect::kNone, kCudaGraph},
    {"--disable-cuda-graph", Arity::kFlag, Effect::kNone, kCudaGraph},
    {"--disable-cuda-graph-padding", Arity::kFlag, Effect::kNone, kCudaGraph},
    {"--enable-profile-cuda-graph", Arity::kFlag, Effect::kNone, kCudaGraph},
    {"--attention-backend", Arity::kValue, Effect::kNone, kKernels},
    {"--prefill-attention-backend", Arity::kValue, Effect::kNone, kKernels},
    {"--decode-attention-backend", Arity::kValue, Effect::kNone, kKernels},
    {"--mm-attention-backend", Arity::kValue, Effect::kNone, kKernels},
    {"--sampling-backend", Arity::kValue, Effect::kNone, kKernels},
    {"--grammar-backend", Arity::kValue, Effect::kNone, "constrained decoding always uses sgl's own grammar engine"},
    {"--triton-attention-reduce-in-fp32", Arity::kFlag, Effect::kNone, kKernels},
    {"--triton-attention-num-kv-splits", Arity::kValue, Effect::kNone, kKernels},
    {"--enable-torch-compile", Arity::kFlag, Effect::kNone, kCompile},
    {"--torch-compile-max-bs", Arity::kValue, Effect::kNone, kCompile},
    {"--torchao-config", Arity::kValue, Effect::kNone, kCompile},
    {"--base-gpu-id", Arity::kValue, Effect::kNone, kGpu},
    {"--gpu-id-step", Arity::kValue, Effect::kNone, kGpu},
    {"--nccl-port", Arity::kValue, Effect::kNone, kGpu},
    {"--enable-nccl-nvls", Arity::kFlag, Effect::kNone, kGpu},
    {"--disable-custom-all-reduce", Arity::kFlag, Effect::kNone, kGpu},
    {"--enable-mscclpp", Arity::kFlag, Effect::kNone, kGpu},
    {"--enable-p2p-check", Arity::kFlag, Effect::kNone, kGpu},
    {"--enable-flashinfer-allreduce-fusion", Arity::kFlag, Effect::kNone, kGpu},
    {"--cpu-offload-gb", Arity::kValue, Effect::kNone, "weights are memory-mapped from the file already"},
    {"--enable-memory-saver", Arity::kFlag, Effect::kNone, kGpu},
    {"--enable-nan-detection", Arity::kFlag, Effect::kNone, kKernels},
    {"--disable-overlap-schedule", Arity::kFlag, Effect::kNone, "the scheduler does not overlap CPU and device work"},
    {"--enable-mixed-chunk", Arity::kFlag, Effect::kNone, "prefill chunks and decode tokens always share a batch"},
    {"--enable-two-batch-overlap", Arity::kFlag, Effect::kNone, kMoe},
    {"--num-continuous-decode-steps", Arity::kValue, Effect::kNone, "the scheduler runs one decode step per batch"},
    {"--disable-chunked-prefix-cache", Arity::kFlag, Effect::kNone, kKernels},
    {"--schedule-conservativeness", Arity::kValue, Effect::kNone, "admission reserves KV for each request's max_new_tokens"},
    {"--enable-dp-attention", Arity::kFlag, Effect::kNone, "attention runs in the tensor-parallel group"},
    {"--enable-dp-lm-head", Arity::kFlag, Effect::kNone, "attention runs in the tensor-parallel group"},
    {"--enable-ep-moe", Arity::kFlag, Effect::kMapped, "expert parallelism over the tensor-parallel group: --ep-size = --tp-size"},
    {"--enable-deepep-moe", Arity::kFlag, Effect::kNone, kMoe},
    {"--deepep-mode", Arity::kValue, Effect::kNone, kMoe},
    {"--moe-runner-backend", Arity::kValue, Effect::kNone, kMoe},
    {"--moe-a2a-backend", Arity::kValue, Effect::kNone, kMoe},
    {"--moe-dense-tp-size", Arity::kValue, Effect::kNone, kMoe},
    {"--ep-num-redundant-experts", Arity::kValue, Effect::kNone, kMoe},
    {"--enable-eplb", Arity::kFlag, Effect::kNone, kMoe},
    {"--disable-shared-experts-fusion", Arity::kFlag, Effect::kNone, kMoe},
    {"--speculative-algorithm", Arity::kValue, Effect::kNone, kSpec},
    {"--speculative-draft-model-path", Arity::kValue, Effect::kNone, kSpec},
    {"--speculative-num-steps", Arity::kValue, Effect::kNone, kSpec},
    {"--speculative-eagle-topk", Arity::kValue, Effect::kNone, kSpec},
    {"--speculative-num-draft-tokens", Arity::kValue, Effect::kNone, kSpec},
    {"--enable-hierarchical-cache", Arity::kFlag, Effect::kNone, kHiCache},
    {"--hicache-ratio", Arity::kValue, Effect::kNone, kHiCache},
    {"--hicache-size", Arity::kValue, Effect::kNone, kHiCache},
    {"--hicache-write-policy", Arity::kValue, Effect::kNone, kHiCache},
    {"--stream-interval", Arity::kValue, Effect::kNone, "streamed chunks are sent as each step produces them"},
    {"--stream-output", Arity::kFlag, Effect::kNone, "streamed chunks are always disjoint increments"},
    {"--skip-server-warmup", Arity::kFlag, Effect::kNone, kWarmup},
    {"--warmups", Arity::kValue, Effect::kNone, kWarmup},
    {"--watchdog-timeout", Arity::kValue, Effect::kNone, "there is no watchdog; a failed step aborts its requests"},
    {"--dist-timeout", Arity::kValue, Effect::kNone, "there is no torch.distributed process group"},
    {"--sleep-on-idle", Arity::kFlag, Effect::kNone, "the scheduler thread always sleeps when idle"},
    {"--log-requests", Arity::kFlag, Effect::kNone, kLog},
    {"--log-requests-level", Arity::kValue, Effect::kNone, kLog},
    {"--log-level-http", Arity::kValue, Effect::kNone, "HTTP errors are logged with --log-level"},
    {"--show-time-cost", Arity::kFlag, Effect::kNone, kLog},
    {"--decode-log-interval", Arity::kValue, Effect::kNone, kLog},
    {"--enable-cache-report", Arity::kFlag, Effect::kNone, "usage.prompt_tokens_details.cached_tokens is always reported"},
    {"--enable-metrics-for-all-schedulers", Arity::kFlag, Effect::kNone, "there is one scheduler; --enable-metrics serves it"},
    {"--collect-tokens-histogram", Arity::kFlag, Effect::kNone, "/metrics has fixed histograms"},
    {"--bucket-time-to-first-token", Arity::kList, Effect::kNone, "/metrics has fixed histograms"},
    {"--bucket-inter-token-latency", Arity::kList, Effect::kNone, "/metrics has fixed histograms"},
    {"--bucket-e2e-request-latency", Arity::kList, Effect::kNone, "/metrics has fixed histograms"},
    {"--crash-dump-folder", Arity::kValue, Effect::kNone, "requests are not dumped on a crash"},
    {"--file-storage-path", Arity::kValue, Effect::kNone, "no files are stored"},
    {"--allow-auto-truncate", Arity::kFlag, Effect::kNone, "prompts longer than the context are refused with 400, never truncated"},
    {"--enable-custom-logit-processor", Arity::kFlag, Effect::kNone, "custom logit processors are Python code and are never run"},
    {"--enable-deterministic-inference", Arity::kFlag, Effect::kNone, "outputs are deterministic for a seed, batched or not"},
    {"--enable-tokenizer-batch-encode", Arity::kFlag, Effect::kNone, "prompts are encoded one by one on the handler threads"},
    {"--disable-outlines-disk-cache", Arity::kFlag, Effect::kNone, "compiled grammars are cached in memory only"},
    {"--constrained-json-whitespace-pattern", Arity::kValue, Effect::kNone, "JSON schemas allow the grammar engine's fixed whitespace"},
    {"--completion-template", Arity::kValue, Effect::kNone, "code-completion (FIM) templates are not applied"},
    {"--enable-lora", Arity::kFlag, Effect::kRefused, kLora},
    {"--lora-paths", Arity::kList, Effect::kRefused, kLora},
    {"--max-loras-per-batch", Arity::kValue, Effect::kNone, kLora},
    {"--max-lora-rank", Arity::kValue, Effect::kNone, kLora},
    {"--lora-target-modules", Arity::kList, Effect::kNone, kLora},
    {"--lora-backend", Arity::kValue, Effect::kNone, kLora},
    {"--is-embedding", Arity::kFlag, Effect::kRefused, "embedding models are not served; only generation"},
    {"--json-model-override-args", Arity::kValue, Effect::kRefused,
     "model config overrides are not applied; serving the unmodified model would change answers"},
    {"--disaggregation-mode", Arity::kValue, Effect::kNone, "prefill and decode always run in this one server"},
};

std::string note(const CompatFlag& f, const std::string& value) {
  std::string flag = value.empty() ? f.name : fmt::format("{} {}", f.name, value);
  switch (f.effect) {
    case Effect::kNone: return fmt::format("{} has no effect here: {}", flag, f.why);
    case Effect::kMapped: return fmt::format("{} maps to {}", flag, f.why);
    case Effect::kRefused: return fmt::format("{} is not supported: {}", flag, f.why);
  }
  return flag;
}

}  // namespace

void add_compat_flags(CLI::App& app, CompatNotes& notes) {
  for (const CompatFlag& f : kFlags) {
    auto record = [&notes, &f](const std::string& value) {
      std::string n = note(f, value);
      if (f.effect == Effect::kRefused) notes.refused.push_back(std::move(n));
      else notes.info.push_back(std::move(n));
      if (std::string_view(f.name) == "--enable-ep-moe") notes.enable_ep_moe = true;
    };
    CLI::Option* o = nullptr;
    switch (f.arity) {
      case Arity::kFlag: o = app.add_flag_callback(f.name, [record] { record(""); }); break;
      case Arity::kValue: o = app.add_option_function<std::string>(f.name, record); break;
      case Arity::kList:
        o = app.add_option_function<std::vector<std::string>>(f.name, [record](const std::vector<std::string>& v) {
          std::string joined;
          for (const auto& s : v) joined += (joined.empty() ? "" : " ") + s;
          record(joined);
        });
        break;
    }
    o->group("SGLang compatibility (accepted; see the log line each prints)");
    o->description(note(f, ""));
  }
}

std::vector<std::string> compat_flag_names() {
  std::vector<std::string> v;
  for (const CompatFlag& f : kFlags) v.emplace_back(f.name);
  return v;
}

}  // namespace sgl::server
