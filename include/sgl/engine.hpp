// Engine: loads a model, owns the scheduler thread, and runs requests with continuous batching
// and radix prefix caching. Thread-safe: any number of caller threads may submit, stream, wait
// and cancel at once; only the scheduler thread touches the model, KV pool and radix cache.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sgl/engine_config.hpp"
#include "sgl/error.hpp"
#include "sgl/request.hpp"
#include "sgl/sampling_params.hpp"
#include "sgl/tokenizer.hpp"

namespace sgl {

namespace detail {
struct RequestChannel;
}

// A submitted request. Copyable; every copy refers to the same request. Stays valid after the
// Engine is destroyed (pending requests then finish with an abort).
class RequestHandle {
 public:
  RequestHandle() = default;
  explicit RequestHandle(std::shared_ptr<detail::RequestChannel> ch) : ch_(std::move(ch)) {}

  const std::string& rid() const;
  int n() const;  // number of samples
  // Blocks until a chunk is available; nullopt once every sample has finished and every chunk
  // was returned. Not for requests submitted with on_chunk.
  std::optional<StreamChunk> next();
  // Like next() but gives up after `timeout` (returns nullopt; check done()).
  std::optional<StreamChunk> next_for(std::chrono::milliseconds timeout);
  // Blocks until every sample has finished; results in sample order.
  std::vector<Result> wait();
  // wait() for n == 1.
  Result result();
  bool done() const;
  // Asks the scheduler to stop this request; it finishes with FinishKind::kAbort ("cancelled")
  // and its KV pages are released. Safe at any time, also after it finished (then a no-op).
  void cancel();

 private:
  std::shared_ptr<detail::RequestChannel> ch_;
};

struct EngineStats {
  int64_t running_requests = 0;
  int64_t waiting_requests = 0;
  int64_t kv_pages_total = 0;
  int64_t kv_pages_used = 0;  // held by requests or the cache
  int64_t kv_pages_free = 0;
  int page_size = 1;
  int64_t cached_tokens = 0;      // tokens held by the radix tree
  double cache_hit_rate = 0.0;    // prompt tokens served from the cache / prompt tokens, since start or flush
  double prefill_tokens_per_s = 0.0;  // over the last few seconds of work
  double decode_tokens_per_s = 0.0;
  int64_t total_requests = 0;     // submitted since start
  int64_t finished_requests = 0;
  int64_t retracted_requests = 0;
  int64_t evicted_tokens = 0;
  int64_t forward_steps = 0;
  int64_t max_total_tokens = 0;
  int64_t context_length = 0;
  int max_running_requests = 0;
};

class Engine {
 public:
  // Validates `config`, loads the model and tokenizer, sizes the KV pool and starts the
  // scheduler thread. Throws sgl::Error.
  explicit Engine(const EngineConfig& config);
  // Aborts every pending request (FinishKind::kAbort, "engine shut down") and joins the thread.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Validates and enqueues. Throws sgl::Error for invalid requests (kInvalidArgument), a full
  // queue (kOutOfMemory, "queue is full") or text input without a tokenizer (kUnsupported).
  // Prompts that can never run (longer than the context or the KV pool) are not thrown: their
  // handle yields an abort result saying why.
  RequestHandle submit(Request request);
  // submit + wait for n == 1.
  Result generate(Request request);

  // Tokenizer pass-throughs (kUnsupported when the build or model has no tokenizer).
  std::vector<int32_t> tokenize(const std::string& text, bool add_special = true) const;
  std::string detokenize(const std::vector<int32_t>& ids, bool skip_special_tokens = true) const;
  std::string apply_chat_template(const std::vector<ChatMessage>& messages, bool add_generation_prompt = true) const;
  bool has_tokenizer() const;
  // The model's tokenizer (copies share the vocabulary); throws kUnsupported when there is none.
  const Tokenizer& tokenizer() const;

  // Drops every unlocked radix-cache entry (runs on the scheduler thread; blocks until done).
  // Returns false when requests still hold cached pages (like SGLang's /flush_cache).
  bool flush_cache();
  EngineStats stats() const;

  const EngineConfig& config() const;  // with derived values (context_length, max_total_tokens...) filled in
  int64_t vocab_size() const;
  std::vector<int32_t> eos_token_ids() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sgl
