// ServerArgs: sgl-server's command line, with SGLang's flag names and defaults. --dp-size N runs N
// engine replicas behind the one server. Flags for features this build cannot honour (tensor and
// expert parallelism, multi-node) are accepted so SGLang launch scripts parse, and refused at
// start with a clear message when set to anything but the trivial value; device-specific flags (compat_flags.hpp) each log what they do here.
// Long options take argparse-style unambiguous prefixes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compat_flags.hpp"
#include "sgl/engine_config.hpp"

namespace CLI {
class App;
}

namespace sgl::server {

struct ServerArgs {
  EngineConfig engine;
  std::string host = "127.0.0.1";
  int port = 30000;
  std::string api_key;
  std::string served_model_name;  // "" = model path
  std::string chat_template;     // built-in name or Jinja file; "" = the model's own
  std::string reasoning_parser;  // "" | deepseek-r1 | qwen3
  std::string tool_call_parser;  // "" | qwen25 | llama3 | deepseekv3 | mistral
  std::string log_level = "info";
  bool enable_metrics = false;
  int tp_size = 1, dp_size = 1, ep_size = 1, nnodes = 1, node_rank = 0;
  std::string dist_init_addr;
  std::string load_balance_method = "round_robin";  // with dp_size > 1: round_robin | shortest_queue | minimum_tokens
  int64_t max_request_bytes = 32 << 20;  // larger bodies get 413
  int http_threads = 128;                // handler threads (each streaming client holds one)
  CompatNotes compat;                    // what the SGLang-only flags given do here

  // Throws sgl::Error(kInvalidArgument / kUnsupported) with a message naming the flag.
  void validate() const;
  std::string model_name() const { return served_model_name.empty() ? engine.model_path : served_model_name; }
};

// Registers every flag on `app`, bound to `args`.
void add_server_flags(CLI::App& app, ServerArgs& args);

// Parses argv. Returns the exit code when the program should stop (--help: 0, bad flags: 2),
// or -1 to go on.
int parse_server_args(int argc, char** argv, ServerArgs& args);

}  // namespace sgl::server
