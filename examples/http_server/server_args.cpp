#include "server_args.hpp"

#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "core/dist/communicator.hpp"
#include "core/dist/init_addr.hpp"
#include "core/support/check.hpp"
#include "engine_group.hpp"
#include "core/support/cli11_parse.hpp"
#include "core/tokenizer/chat_template.hpp"

namespace sgl::server {

void add_server_flags(CLI::App& app, ServerArgs& a) {
  EngineConfig& e = a.engine;
  app.add_option("--model-path,--model", e.model_path, "GGUF file or Hugging Face model directory")->required();
  app.add_option("--tokenizer-path", e.tokenizer_path, "Tokenizer (default: the model's own)");
  app.add_option("--host", a.host, "Address to listen on")->capture_default_str();
  app.add_option("--port", a.port, "Port to listen on")->capture_default_str();
  app.add_option("--device", e.device, "Backend: cpu, ref, gcu:N")->capture_default_str();
  app.add_option("--threads", e.threads, "Kernel threads (0 = all hardware threads)")->capture_default_str();
  app.add_option("--context-length", e.context_length, "Context length (0 = the model's)")->capture_default_str();
  app.add_option("--mem-fraction-static", e.mem_fraction_static, "Fraction of RAM for weights + KV cache")
      ->capture_default_str();
  app.add_option("--max-total-tokens", e.max_total_tokens, "KV pool size in tokens (0 = from memory)")->capture_default_str();
  app.add_option("--max-running-requests", e.max_running_requests, "Max requests in a batch (0 = auto)")
      ->capture_default_str();
  app.add_option("--max-queued-requests", e.max_queued_requests, "Waiting requests before 503 (0 = unlimited)")
      ->capture_default_str();
  app.add_option("--chunked-prefill-size", e.chunked_prefill_size, "Max prefill tokens of one request per step (-1 = off)")
      ->capture_default_str();
  app.add_option("--max-prefill-tokens", e.max_prefill_tokens, "Max prefill tokens per step")->capture_default_str();
  app.add_option("--mixed-prefill-tokens", e.mixed_prefill_tokens,
                 "Max prefill tokens of a step that also decodes (-1 = max-prefill-tokens)")
      ->capture_default_str();
  app.add_option("--schedule-policy", e.schedule_policy, "lpm, fcfs, random, dfs-weight")->capture_default_str();
  app.add_flag("--disable-radix-cache", e.disable_radix_cache, "Disable prefix caching");
  app.add_flag_callback("--disable-regex-jump-forward", [&e] { e.grammar_jump_forward = false; },
                        "Sample every token of constrained output (no grammar jump-forward)");
  app.add_option("--page-size", e.page_size, "Tokens per KV page")->capture_default_str();
  app.add_option("--random-seed", e.random_seed, "Base seed for requests without one")->capture_default_str();
  app.add_option("--kv-cache-dtype", e.kv_cache_dtype, "auto, f16, bf16, f32, q8_0")->capture_default_str();
  app.add_option("--api-key", a.api_key, "Require 'Authorization: Bearer <key>'");
  app.add_option("--served-model-name", a.served_model_name, "Model name in the OpenAI API (default: model path)");
  app.add_option("--chat-template", a.chat_template,
                 "Chat template: a built-in name (llama-2, llama-3, chatml, qwen, mistral, deepseek, deepseek3) or a Jinja file");
  app.add_option("--reasoning-parser", a.reasoning_parser, "Split <think>...</think> into reasoning_content: deepseek-r1, qwen3")
      ->check(CLI::IsMember({"deepseek-r1", "qwen3"}));
  app.add_option("--tool-call-parser", a.tool_call_parser, "Parse tool calls from model output: qwen25, llama3, deepseekv3, mistral")
      ->check(CLI::IsMember({"qwen25", "llama3", "deepseekv3", "mistral"}));
  app.add_option("--log-level", a.log_level, "debug, info, warning, error")->capture_default_str();
  app.add_flag("--enable-metrics", a.enable_metrics, "Serve Prometheus metrics at /metrics");
  app.add_option("--quantization", e.quantization, "Online weight quantization: none, q8_0, q4_0, q4_k, ...")
      ->capture_default_str();
  app.add_option("--tp-size", a.tp_size, "Tensor parallel size (1 only)")->capture_default_str();
  app.add_option("--dp-size", a.dp_size, "Data parallel size: engine replicas behind this server")->capture_default_str();
  app.add_option("--load-balance-method", a.load_balance_method,
                 "How --dp-size replicas share requests: round_robin, shortest_queue, minimum_tokens")
      ->capture_default_str();
  app.add_option("--ep-size", a.ep_size, "Expert parallel size (1 only)")->capture_default_str();
  app.add_option("--nnodes", a.nnodes, "Number of nodes (1 only)")->capture_default_str();
  app.add_option("--node-rank", a.node_rank, "Node rank (0 only)")->capture_default_str();
  app.add_option("--dist-init-addr", a.dist_init_addr, "Multi-node init address (unsupported)");
  app.add_option("--max-request-bytes", a.max_request_bytes, "Largest request body; larger gets 413 (sgl extra)")
      ->capture_default_str();
  app.add_option("--http-threads", a.http_threads, "HTTP handler threads (sgl extra)")->capture_default_str();
  add_compat_flags(app, a.compat);
}

void ServerArgs::validate() const {
  // Multi-process parallelism needs Gloo (src/core/dist); sgl-server does not drive it yet.
  const std::string why = dist::distributed_available()
                              ? "sgl-server does not run tensor/expert parallel or multi-node groups yet"
                              : "multi-process parallelism is unsupported in this build (built without Gloo)";
  auto only = [&why](const char* flag, int got, int want) {
    if (got != want) SGL_THROW(Status::kUnsupported, "{} {} is not supported: {} ({} {} only)", flag, got, why, flag, want);
  };
  if (tp_size < 1) SGL_THROW(Status::kInvalidArgument, "--tp-size must be >= 1 (got {})", tp_size);
  if (ep_size < 1) SGL_THROW(Status::kInvalidArgument, "--ep-size must be >= 1 (got {})", ep_size);
  if (nnodes < 1) SGL_THROW(Status::kInvalidArgument, "--nnodes must be >= 1 (got {})", nnodes);
  if (node_rank < 0 || node_rank >= nnodes)
    SGL_THROW(Status::kInvalidArgument, "--node-rank must be in [0, --nnodes) (got {} with --nnodes {})", node_rank, nnodes);
  only("--tp-size", tp_size, 1);
  only("--ep-size", ep_size, 1);
  only("--nnodes", nnodes, 1);
  if (!dist_init_addr.empty()) {
    dist::parse_init_addr(dist_init_addr);
    SGL_THROW(Status::kUnsupported, "--dist-init-addr is not supported: {}", why);
  }
  if (dp_size < 1 || dp_size > 64) SGL_THROW(Status::kInvalidArgument, "--dp-size must be in [1, 64] (got {})", dp_size);
  parse_load_balance_method(load_balance_method);
  if (!compat.refused.empty()) SGL_THROW(Status::kUnsupported, "{}", compat.refused.front());
  if (!chat_template.empty() && !builtin_chat_template(chat_template)) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(chat_template, ec)) {
      std::string names;
      for (const auto& n : builtin_chat_template_names()) names += (names.empty() ? "" : ", ") + n;
      SGL_THROW(Status::kInvalidArgument, "--chat-template '{}' is neither a built-in template ({}) nor a readable file",
                chat_template, names);
    }
  }
  if (port < 0 || port > 65535) SGL_THROW(Status::kInvalidArgument, "--port must be in [0, 65535] (got {})", port);
  if (log_level != "debug" && log_level != "info" && log_level != "warning" && log_level != "error")
    SGL_THROW(Status::kInvalidArgument, "--log-level must be debug, info, warning or error (got '{}')", log_level);
  if (max_request_bytes < 1024) SGL_THROW(Status::kInvalidArgument, "--max-request-bytes must be >= 1024");
  if (http_threads < 1 || http_threads > 4096) SGL_THROW(Status::kInvalidArgument, "--http-threads must be in [1, 4096]");
  engine.validate();
}

int parse_server_args(int argc, char** argv, ServerArgs& args) {
  CLI::App app{"sgl-server: OpenAI- and SGLang-compatible HTTP server on the sgl engine", "sgl-server"};
  add_server_flags(app, args);
  try {
    cli11_parse_with_prefixes(app, argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (args.compat.enable_ep_moe) args.ep_size = args.tp_size;
  return -1;
}

}  // namespace sgl::server
