// SGLang launch_server flags that have no counterpart in this build: CUDA graphs, attention and
// kernel backends, NCCL, torch.compile, LoRA, speculative decoding, hierarchical cache... One
// table (compat_flags.cpp) lists them, so a launch script written for SGLang parses here and each
// such flag says in one log line what it does here: nothing (and why), what it maps to, or — for
// flags whose absence would change answers (LoRA, embeddings) — a start-up error naming it.
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace sgl::server {

struct CompatNotes {
  std::vector<std::string> info;     // one log line per flag given
  std::vector<std::string> refused;  // start-up errors, one per flag given
  bool enable_ep_moe = false;        // --enable-ep-moe (maps to ep_size = tp_size)
};

// Registers every table entry on `app` (group "SGLang compatibility"); parsing fills `notes`.
void add_compat_flags(CLI::App& app, CompatNotes& notes);

// The table's flag names, for tests and README ("--cuda-graph-max-bs", ...).
std::vector<std::string> compat_flag_names();

}  // namespace sgl::server
