// Scheduler: SGLang's continuous-batching loop on its own thread. Each step it drains new
// submissions and cancellations, makes room for every running request's next decode token
// (evicting unlocked cache entries, then retracting requests), admits waiting requests in
// policy order against free + evictable pages, and runs ONE forward call over a mixed batch of
// prefill chunks and decode tokens; then samples, checks stop conditions and streams output.
//
// Only this thread touches the model, the KV pool and the radix cache. Callers reach it through
// the mutex-protected inbox (submit, flush) and their RequestChannel (cancel, output).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <thread>
#include <vector>

#include "core/kv/kv_pool.hpp"
#include "core/kv/radix_cache.hpp"
#include "core/model/transformer.hpp"
#include "core/sched/sched_request.hpp"
#include "core/sched/text_decoder.hpp"
#include "sgl/engine.hpp"

namespace sgl {

struct SchedulerOptions {
  int64_t context_length = 0;
  int max_running_requests = 1;
  int64_t chunked_prefill_size = 8192;  // -1 = no chunking
  int64_t max_prefill_tokens = 16384;
  int64_t mixed_prefill_tokens = 64;  // prefill budget of a step with decodes; -1 = max_prefill_tokens
  std::string policy = "lpm";
  uint64_t random_seed = 0;
  int max_queued_requests = 0;
  std::vector<int32_t> eos_ids;
  // Grammar jump-forward: tokens the grammar forces are appended without sampling and get
  // their KV in the next step (a decode of several tokens).
  bool jump_forward = true;
};

class Scheduler {
 public:
  // `model`, `pool` and `cache` must outlive the scheduler. `decoder` may be null (no text).
  Scheduler(const SchedulerOptions& opts, Transformer& model, KvPool& pool, RadixCache& cache,
            std::shared_ptr<const TextDecoder> decoder);
  ~Scheduler();  // stop()s
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  void start();
  // Aborts everything pending ("engine shut down") and joins the thread. Idempotent.
  void stop();

  // Thread-safe. Enqueues the n samples of one request (already tokenized and validated).
  // Throws sgl::Error(kOutOfMemory) when max_queued_requests is reached.
  void submit(std::vector<std::unique_ptr<SchedRequest>> samples);
  // Thread-safe; runs RadixCache::flush on the scheduler thread.
  bool flush_cache();
  EngineStats stats() const;
  // Wakes the loop (used by RequestHandle::cancel through a weak reference).
  void wake();
  const SchedulerOptions& options() const { return opts_; }

  // The pool's capacity in tokens (for admission checks at submit time).
  int64_t pool_tokens() const { return pool_.total_pages() * pool_.page_size(); }

 private:
  struct Work {
    SchedRequest* req;
    int64_t n_new;     // tokens computed this step
    bool wants_logits; // reaches the end of `tokens`
    bool prefill;      // part of prefill (not a decode token)
  };

  void loop();
  bool step();  // false when nothing could run
  void drain_inbox();
  void handle_cancellations();
  void sort_waiting();
  void schedule_decode(std::vector<Work>& work);
  void schedule_prefill(std::vector<Work>& work);
  void run_batch(std::vector<Work>& work);
  void process_token(SchedRequest& r, int32_t token, float logprob, std::vector<std::pair<int32_t, float>> top);
  // Appends one output token (sampled, or forced by jump-forward) and checks the stop
  // conditions; false once the request finished.
  bool append_token(SchedRequest& r, int32_t token, float logprob, std::vector<std::pair<int32_t, float>> top,
                    bool forced);

  // KV bookkeeping.
  int64_t available_pages() const { return pool_.free_pages() + cache_.evictable_pages(); }
  int64_t pages_for(const SchedRequest& r, int64_t n_new) const;
  void alloc_pages(SchedRequest& r, int64_t n_new);
  void admit_prefix(SchedRequest& r);
  void cache_unfinished(SchedRequest& r);
  void release_kv(SchedRequest& r);  // inserts the computed prefix, unlocks, frees the rest
  void retract(SchedRequest& r);
  int64_t decode_reserve(const SchedRequest& r) const;

  // Output.
  void finish(SchedRequest& r, FinishReason why);
  // Aborts `r` with `why` as its message; never throws, and the caller gets a final result even
  // when releasing the request's KV fails.
  void fail(SchedRequest& r, const std::string& why, Status code) noexcept;
  // A step threw outside any one request: aborts the request being admitted, else the
  // requests the step was running.
  void fail_step(const std::string& why, Status code) noexcept;
  void emit(SchedRequest& r, bool final);
  void update_text(SchedRequest& r);
  void remove_finished();

  SchedulerOptions opts_;
  Transformer& model_;
  KvPool& pool_;
  RadixCache& cache_;
  std::shared_ptr<const TextDecoder> decoder_;
  int64_t n_vocab_;
  int page_size_;

  // Scheduler-thread state.
  std::deque<std::unique_ptr<SchedRequest>> waiting_;
  std::vector<std::unique_ptr<SchedRequest>> running_;
  SchedRequest* chunked_ = nullptr;  // the one running request whose prefill is unfinished
  SchedRequest* admitting_ = nullptr;  // the waiting request schedule_prefill is admitting
  std::mt19937_64 rng_;
  double new_token_ratio_ = 0.7;
  std::vector<float> logits_;
  std::vector<uint32_t> mask_;
  ForwardBatch batch_;

  // Inbox (guarded by mu_).
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<SchedRequest>> inbox_;
  std::vector<std::promise<bool>> flush_requests_;
  std::atomic<int64_t> n_waiting_{0};  // waiting_.size() as of the last step
  bool stopping_ = false;
  bool kicked_ = false;
  std::thread thread_;

  // Stats (guarded by stats_mu_), published once per step.
  mutable std::mutex stats_mu_;
  EngineStats stats_;
  struct StepRecord {
    SteadyClock::time_point start, end;
    int64_t prefill, decode;
  };
  std::deque<StepRecord> recent_;
  int64_t total_requests_ = 0, finished_requests_ = 0, retracted_ = 0, steps_ = 0;
  int64_t prompt_tokens_ = 0, cached_prompt_tokens_ = 0;  // at first admission, since start or flush
  void publish_stats();
};

}  // namespace sgl
