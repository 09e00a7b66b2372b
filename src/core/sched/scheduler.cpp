// Scheduler thread loop, inbox, policies and step planning. KV bookkeeping is in
// scheduler_kv.cpp, sampling and output in scheduler_output.cpp.
#include "core/sched/scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <new>

#include "core/support/check.hpp"
#include "core/support/log.hpp"

namespace sgl {
namespace {
// The code a failed request reports: an sgl::Error's own, kOutOfMemory for bad_alloc.
Status status_of(const std::exception& e) {
  if (auto* se = dynamic_cast<const Error*>(&e)) return se->code();
  if (dynamic_cast<const std::bad_alloc*>(&e)) return Status::kOutOfMemory;
  return Status::kInternal;
}
}  // namespace

Scheduler::Scheduler(const SchedulerOptions& opts, Transformer& model, KvPool& pool, RadixCache& cache,
                     std::shared_ptr<const TextDecoder> decoder)
    : opts_(opts),
      model_(model),
      pool_(pool),
      cache_(cache),
      decoder_(std::move(decoder)),
      n_vocab_(model.config().n_vocab),
      page_size_(pool.page_size()),
      rng_(opts.random_seed) {
  SGL_CHECK(opts_.max_running_requests >= 1, "max_running_requests must be >= 1, got {}", opts_.max_running_requests);
}

Scheduler::~Scheduler() { stop(); }

void Scheduler::start() {
  SGL_CHECK(!thread_.joinable(), "scheduler started twice");
  // The loop publishes after each step; until the first one, stats() must already show the pool.
  publish_stats();
  thread_ = std::thread([this] { loop(); });
}

void Scheduler::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::wake() {
  {
    std::lock_guard lk(mu_);
    kicked_ = true;
  }
  cv_.notify_all();
}

void Scheduler::submit(std::vector<std::unique_ptr<SchedRequest>> samples) {
  {
    std::lock_guard lk(mu_);
    if (stopping_) SGL_THROW(Status::kCancelled, "the engine is shutting down");
    int64_t queued = static_cast<int64_t>(inbox_.size()) + n_waiting_.load(std::memory_order_relaxed);
    if (opts_.max_queued_requests > 0 && queued + static_cast<int64_t>(samples.size()) > opts_.max_queued_requests)
      SGL_THROW(Status::kOutOfMemory, "queue is full: {} requests waiting (max_queued_requests = {})", queued,
                opts_.max_queued_requests);
    for (auto& s : samples) inbox_.push_back(std::move(s));
  }
  cv_.notify_all();
}

bool Scheduler::flush_cache() {
  std::future<bool> f;
  {
    std::lock_guard lk(mu_);
    if (stopping_) return false;
    flush_requests_.emplace_back();
    f = flush_requests_.back().get_future();
  }
  cv_.notify_all();
  return f.get();
}

void Scheduler::loop() {
  for (;;) {
    bool idle;
    {
      std::unique_lock lk(mu_);
      idle = waiting_.empty() && running_.empty();
      if (idle) cv_.wait(lk, [&] { return stopping_ || kicked_ || !inbox_.empty() || !flush_requests_.empty(); });
      kicked_ = false;
      if (stopping_) break;
    }
    // Nothing that goes wrong in one step may end this thread: an exception reaching the
    // thread's top would std::terminate the host process. Failures of one request are caught
    // in run_batch; what escapes to here (the forward pass, KV bookkeeping, bad_alloc) aborts
    // the step's requests and the loop goes on serving the rest.
    bool ran = true;
    try {
      drain_inbox();
      handle_cancellations();
      ran = step();
    } catch (const std::exception& e) {
      fail_step(e.what(), status_of(e));
    } catch (...) {
      fail_step("unknown exception", Status::kInternal);
    }
    if (!ran) {
      // Nothing could run (e.g. every waiting sample waits for its group's prefill): do not spin.
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, std::chrono::milliseconds(2),
                   [&] { return stopping_ || kicked_ || !inbox_.empty() || !flush_requests_.empty(); });
    }
    publish_stats();
  }
  // Shutdown: abort everything, including submissions that never reached the queue.
  try {
    drain_inbox();
  } catch (const std::exception& e) {
    SGL_LOG_ERROR("scheduler: draining the inbox at shutdown failed: {}", e.what());
  }
  for (auto& r : running_) fail(*r, "engine shut down", Status::kCancelled);
  for (auto& r : waiting_) fail(*r, "engine shut down", Status::kCancelled);
  remove_finished();
  std::lock_guard lk(mu_);
  for (auto& p : flush_requests_) p.set_value(false);
  flush_requests_.clear();
}

void Scheduler::drain_inbox() {
  std::vector<std::unique_ptr<SchedRequest>> fresh;
  std::vector<std::promise<bool>> flushes;
  {
    std::lock_guard lk(mu_);
    fresh.swap(inbox_);
    flushes.swap(flush_requests_);
  }
  for (auto& r : fresh) {
    ++total_requests_;
    waiting_.push_back(std::move(r));
  }
  for (auto& p : flushes) {
    bool ok = false;
    try {
      ok = cache_.flush();
    } catch (...) {
      p.set_exception(std::current_exception());  // the caller of flush_cache() gets it, not us
      continue;
    }
    if (ok) prompt_tokens_ = cached_prompt_tokens_ = 0;
    publish_stats();  // so stats() right after flush_cache() shows the freed pages
    p.set_value(ok);
  }
}

void Scheduler::handle_cancellations() {
  FinishReason why{FinishKind::kAbort, "", std::nullopt, "cancelled", Status::kCancelled};
  for (auto& r : running_)
    if (r->channel->cancelled.load(std::memory_order_acquire) && r->finish.kind == FinishKind::kNone) finish(*r, why);
  for (auto& r : waiting_)
    if (r->channel->cancelled.load(std::memory_order_acquire) && r->finish.kind == FinishKind::kNone) finish(*r, why);
  remove_finished();
}

// Orders waiting_ by the configured policy. lpm and dfs-weight look at the radix tree; with
// very long queues matching every prompt each step costs more than it saves (SGLang falls back
// to fcfs beyond 128 waiting requests, and so do we).
void Scheduler::sort_waiting() {
  if (waiting_.size() < 2) return;
  const std::string& p = opts_.policy;
  auto fcfs = [](const auto& a, const auto& b) { return a->serial != b->serial ? a->serial < b->serial : a->index < b->index; };
  if (p == "random") {
    std::shuffle(waiting_.begin(), waiting_.end(), rng_);
    return;
  }
  if (p == "fcfs" || cache_.disabled() || waiting_.size() > 128) {
    std::stable_sort(waiting_.begin(), waiting_.end(), fcfs);
    return;
  }
  std::map<RadixCache::NodeId, int64_t> weight;
  std::vector<RadixCache::NodeId> node_of(waiting_.size());
  for (size_t i = 0; i < waiting_.size(); ++i) {
    auto& r = *waiting_[i];
    auto m = cache_.match_prefix(std::span<const int32_t>(r.tokens.data(), r.tokens.size() - 1));
    r.lpm_hint = m.n_tokens;
    node_of[i] = m.node;
    weight[m.node] += 1;
  }
  if (p == "lpm") {
    std::stable_sort(waiting_.begin(), waiting_.end(), [&](const auto& a, const auto& b) {
      return a->lpm_hint != b->lpm_hint ? a->lpm_hint > b->lpm_hint : fcfs(a, b);
    });
    return;
  }
  // dfs-weight (approximation of SGLang's): requests ending their cached prefix at the same tree
  // node form a group; heavier groups go first so shared prefixes are reused back to back.
  std::vector<size_t> idx(waiting_.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    int64_t wa = weight[node_of[a]], wb = weight[node_of[b]];
    if (wa != wb) return wa > wb;
    if (node_of[a] != node_of[b]) return node_of[a] < node_of[b];
    return fcfs(waiting_[a], waiting_[b]);
  });
  std::deque<std::unique_ptr<SchedRequest>> sorted;
  for (size_t i : idx) sorted.push_back(std::move(waiting_[i]));
  waiting_.swap(sorted);
}

bool Scheduler::step() {
  std::vector<Work> work;
  schedule_decode(work);
  schedule_prefill(work);
  n_waiting_.store(static_cast<int64_t>(waiting_.size()), std::memory_order_relaxed);
  if (work.empty()) return false;
  run_batch(work);
  remove_finished();
  return true;
}

// Plans one decode token for every running request whose prefill is complete, plus the next
// chunk of the chunked request, retracting requests until the pool can hold them.
void Scheduler::schedule_decode(std::vector<Work>& work) {
  // Normally one token; more after a grammar jump-forward appended forced tokens.
  auto pending = [](const SchedRequest& r) { return static_cast<int64_t>(r.tokens.size()) - r.kv_len; };
  auto needed = [&] {
    int64_t n = 0;
    for (auto& r : running_) {
      if (r->prefill_done) n += pages_for(*r, pending(*r));
    }
    return n;
  };
  int64_t need = needed();
  if (need > available_pages()) {
    // Retract (SGLang: the request with the fewest output tokens, newest first, loses the least
    // work) until the rest fits. A lone request always fits: its max_new was clipped to the
    // pool at submission. The chunked prefill goes first since it holds pages but decodes nothing.
    while (need > available_pages()) {
      SchedRequest* victim = chunked_;
      chunked_ = nullptr;
      if (!victim) {
        for (auto& r : running_) {
          if (!r->prefill_done) continue;
          if (!victim || r->n_output() < victim->n_output() ||
              (r->n_output() == victim->n_output() && r->serial > victim->serial))
            victim = r.get();
        }
      }
      SGL_CHECK(victim && running_.size() > 1, "KV pool of {} pages cannot hold the next token of the last running request",
                pool_.total_pages());
      retract(*victim);
      need = needed();
    }
    new_token_ratio_ = 0.7;
  }
  for (auto& r : running_) {
    if (!r->prefill_done) continue;
    const int64_t n = pending(*r);
    alloc_pages(*r, n);
    work.push_back(Work{r.get(), n, true, false});
  }
}

// Continues the chunked request, then admits waiting requests in policy order while the step's
// prefill budget, max_running_requests and free + evictable pages allow.
//
// Mixed chunked prefill (SGLang's --enable-mixed-chunk, with a budget of its own): when the step
// already carries decode tokens (`work` holds only decodes here), its prefill is capped at
// mixed_prefill_tokens. A step's cost is then bounded by its decodes plus that many prompt
// tokens, so a burst of long prompts is spread over many steps instead of stalling every running
// stream for the whole burst; the prompts still get every step's spare budget, and the decode
// tokens ride on the weights the prefill reads anyway. A fixed token count rather than a time
// target keeps the schedule deterministic (same batches for the same arrivals).
void Scheduler::schedule_prefill(std::vector<Work>& work) {
  int64_t budget = opts_.max_prefill_tokens;
  if (!work.empty() && opts_.mixed_prefill_tokens > 0) budget = std::min(budget, opts_.mixed_prefill_tokens);
  const int64_t chunk_cap = opts_.chunked_prefill_size < 0 ? INT64_MAX : opts_.chunked_prefill_size;
  bool any_prefill = false;
  new_token_ratio_ = std::max(0.1, new_token_ratio_ - 0.0015);

  if (chunked_) {
    SchedRequest& r = *chunked_;
    int64_t remaining = static_cast<int64_t>(r.tokens.size()) - r.kv_len;
    int64_t k = std::min({remaining, chunk_cap, std::max<int64_t>(budget, 1)});
    // What the pages it holds plus every available page can take.
    int64_t fit = static_cast<int64_t>(r.pages.size()) * page_size_ - r.kv_len + available_pages() * page_size_;
    k = std::min(k, fit);
    if (k > 0) {
      alloc_pages(r, k);
      bool last = k == remaining;
      work.push_back(Work{&r, k, last, true});
      budget -= k;
      any_prefill = true;
      if (last) chunked_ = nullptr;
    }
    if (chunked_) return;  // one partial prefill at a time
  }
  if (waiting_.empty() || budget <= 0) return;
  sort_waiting();

  // Pages promised to running requests for their future decode tokens (SGLang's
  // new_token_ratio estimate), so admission does not immediately force retraction.
  int64_t reserved = 0;
  for (auto& r : running_) reserved += decode_reserve(*r);

  // Samples set aside for their group's leader go back to the queue's head even if admitting
  // another request throws: a request dropped here would never get its final result.
  std::deque<std::unique_ptr<SchedRequest>> keep;
  struct Restore {
    std::deque<std::unique_ptr<SchedRequest>>& keep;
    std::deque<std::unique_ptr<SchedRequest>>& waiting;
    ~Restore() {
      for (auto it = keep.rbegin(); it != keep.rend(); ++it) waiting.push_front(std::move(*it));
    }
  } restore{keep, waiting_};
  while (!waiting_.empty()) {
    auto& up = waiting_.front();
    SchedRequest& r = *up;
    bool stop_admitting = false;
    if (static_cast<int>(running_.size()) >= opts_.max_running_requests || budget <= 0) break;
    if (r.index > 0 && r.group && !r.group->leader_prefilled && !cache_.disabled()) {
      keep.push_back(std::move(up));
      waiting_.pop_front();
      continue;
    }
    admitting_ = &r;  // a throw from here to running_ is this request's (see fail_step)
    admit_prefix(r);  // locks the cached prefix
    int64_t remaining = static_cast<int64_t>(r.tokens.size()) - r.kv_len;
    int64_t k = std::min(remaining, chunk_cap);
    if (k > budget) {
      if (opts_.chunked_prefill_size < 0) {
        // Without chunking a long prompt runs whole, but only as the step's first prefill.
        if (any_prefill) stop_admitting = true;
      } else {
        k = budget;
      }
    }
    int64_t need = pages_for(r, k);
    int64_t avail = available_pages();
    bool fits = need + decode_reserve(r) + reserved <= avail;
    bool alone = running_.empty() && work.empty() && need <= avail;
    if (stop_admitting || !(fits || alone)) {
      release_kv(r);  // undo the lock; nothing was computed
      admitting_ = nullptr;
      break;
    }
    alloc_pages(r, k);
    reserved += decode_reserve(r);
    bool last = k == remaining;
    work.push_back(Work{&r, k, last, true});
    budget -= k;
    any_prefill = true;
    if (!r.admitted_once) {
      r.admitted_once = true;
      r.cached_prompt_tokens = std::min(r.kv_len, r.prompt_len);
      prompt_tokens_ += r.prompt_len;
      cached_prompt_tokens_ += r.cached_prompt_tokens;
    }
    running_.push_back(std::move(up));
    waiting_.pop_front();
    admitting_ = nullptr;
    if (!last) {
      chunked_ = &r;
      break;
    }
  }
}

void Scheduler::run_batch(std::vector<Work>& work) {
  auto t0 = SteadyClock::now();
  batch_.clear();
  int64_t n_prefill = 0, n_decode = 0;
  // Prompt logprobs (logprob_start_len) need every row of the prefill chunks that cover them.
  auto all_rows = [](const Work& w) {
    const SchedRequest& r = *w.req;
    const int64_t start = r.params.logprob_start_len;
    return w.prefill && start >= 0 && start < r.prompt_len &&
           static_cast<int64_t>(r.input_logprobs.size()) < r.prompt_len - start && r.kv_len + w.n_new >= start;
  };
  for (Work& w : work) {
    SchedRequest& r = *w.req;
    std::span<const int32_t> toks(r.tokens.data() + r.kv_len, static_cast<size_t>(w.n_new));
    batch_.add_sequence(toks, static_cast<int32_t>(r.kv_len), r.pages, page_size_,
                        all_rows(w)           ? ForwardBatch::Logits::kAll
                        : w.wants_logits      ? ForwardBatch::Logits::kLast
                                              : ForwardBatch::Logits::kNone);
    (w.prefill ? n_prefill : n_decode) += w.n_new;
  }
  logits_.resize(batch_.logit_rows.size() * static_cast<size_t>(n_vocab_));
  model_.forward(batch_, pool_.layers(), logits_.data());

  size_t row = 0;
  for (Work& w : work) {
    SchedRequest& r = *w.req;
    if (all_rows(w)) {
      // Row j predicts prompt token kv_len + j + 1; record the ones from logprob_start_len on,
      // in order (a retracted request recomputing its prompt records nothing twice).
      const int64_t start = r.params.logprob_start_len;
      for (int64_t j = 0; j < w.n_new; ++j) {
        const int64_t next = r.kv_len + j + 1;
        if (next >= r.prompt_len || next < start || next < 1) continue;
        if (static_cast<int64_t>(r.input_logprobs.size()) != next - start) continue;
        const float* lg = logits_.data() + (row + static_cast<size_t>(j)) * n_vocab_;
        float mx = -std::numeric_limits<float>::infinity();
        for (int64_t v = 0; v < n_vocab_; ++v) mx = std::max(mx, lg[v]);
        double sum = 0.0;
        for (int64_t v = 0; v < n_vocab_; ++v) sum += std::exp(static_cast<double>(lg[v] - mx));
        const int32_t tok = r.tokens[static_cast<size_t>(next)];
        r.input_logprobs.push_back(
            TokenLogprob{tok, static_cast<float>(static_cast<double>(lg[tok] - mx) - std::log(sum)), {}});
      }
      row += static_cast<size_t>(w.n_new) - (w.wants_logits ? 1 : 0);  // the last row samples, below
    }
    r.kv_len += w.n_new;
    if (w.prefill) {
      if (w.wants_logits) r.prefill_done = true;
      if (w.wants_logits && r.index == 0 && r.group) r.group->leader_prefilled = true;
      cache_unfinished(r);
    }
    if (!w.wants_logits) continue;
    float* lg = logits_.data() + row++ * n_vocab_;
    if (r.finish.kind != FinishKind::kNone) continue;
    // Everything from here is this request's own: its grammar (no token allowed, a token
    // rejected), its stop/text decoding, its caller's on_chunk callback. A failure there ends
    // this request with the message and leaves the batch's other requests running.
    try {
      if (r.n_output() >= r.max_new) {  // max_new_tokens == 0: prefill only
        FinishReason length;
        length.kind = FinishKind::kLength;
        finish(r, std::move(length));
        continue;
      }
      const uint32_t* allowed = nullptr;
      if (r.mask) {
        mask_.assign(static_cast<size_t>((n_vocab_ + 31) / 32), 0u);
        r.mask->fill(mask_.data(), n_vocab_);
        allowed = mask_.data();
      }
      SampleResult s = sample_token(lg, n_vocab_, *r.sampler, allowed);
      process_token(r, s.token, s.logprob, std::move(s.top_logprobs));
    } catch (const std::exception& e) {
      SGL_LOG_WARN("scheduler: request '{}' aborted: {}", r.channel->rid, e.what());
      fail(r, e.what(), status_of(e));
    } catch (...) {
      fail(r, "unknown exception", Status::kInternal);
    }
  }
  auto t1 = SteadyClock::now();
  ++steps_;
  std::lock_guard lk(stats_mu_);
  recent_.push_back(StepRecord{t0, t1, n_prefill, n_decode});
  while (!recent_.empty() && t1 - recent_.front().end > std::chrono::seconds(10)) recent_.pop_front();
}

void Scheduler::fail(SchedRequest& r, const std::string& why, Status code) noexcept {
  if (r.finish.kind != FinishKind::kNone) return;
  try {
    finish(r, FinishReason{FinishKind::kAbort, "", std::nullopt, why, code});
    return;
  } catch (const std::exception& e) {
    SGL_LOG_ERROR("scheduler: finishing request '{}' failed: {} (its KV pages may be lost)", r.channel->rid, e.what());
  } catch (...) {
  }
  // finish() itself failed (releasing the KV, building the result): the caller must still get a
  // final result, or its wait() would never return.
  try {
    if (r.finish.kind == FinishKind::kNone) r.finish = FinishReason{FinishKind::kAbort, "", std::nullopt, why, code};
    StreamChunk c;
    c.index = r.index;
    c.finished = true;
    Result res;
    res.rid = r.channel->rid;
    res.index = r.index;
    res.prompt_tokens = r.prompt_len;
    res.finish = r.finish;
    c.result = std::move(res);
    r.channel->push(std::move(c));
  } catch (...) {
  }
  if (&r == chunked_) chunked_ = nullptr;
}

void Scheduler::fail_step(const std::string& why, Status code) noexcept {
  try {
    SGL_LOG_ERROR("scheduler: step failed: {}; aborting {} running request(s)", why, running_.size());
  } catch (...) {
  }
  // A throw while admitting a request is that request's; one from the forward pass or the
  // batch's bookkeeping hits every running request (all were in the batch). With neither,
  // abort the head of the queue so that a failure that repeats cannot spin forever.
  if (admitting_) {
    fail(*admitting_, why, code);
  } else if (!running_.empty()) {
    for (auto& r : running_) fail(*r, why, code);
    chunked_ = nullptr;
  } else if (!waiting_.empty()) {
    fail(*waiting_.front(), why, code);
  }
  admitting_ = nullptr;
  try {
    remove_finished();
  } catch (...) {
  }
}

void Scheduler::publish_stats() {
  EngineStats s;
  s.running_requests = static_cast<int64_t>(running_.size());
  s.waiting_requests = static_cast<int64_t>(waiting_.size());
  s.kv_pages_total = pool_.total_pages();
  s.kv_pages_free = pool_.free_pages();
  s.kv_pages_used = pool_.used_pages();
  s.page_size = page_size_;
  s.cached_tokens = cache_.cached_pages() * page_size_;
  const auto& cs = cache_.stats();
  // Counted per admitted prompt rather than from RadixCache::stats(), whose lookups include the
  // lpm policy's sorting matches.
  s.cache_hit_rate = prompt_tokens_ > 0 ? static_cast<double>(cached_prompt_tokens_) / static_cast<double>(prompt_tokens_) : 0.0;
  s.evicted_tokens = cs.evicted_tokens;
  s.total_requests = total_requests_;
  s.finished_requests = finished_requests_;
  s.retracted_requests = retracted_;
  s.forward_steps = steps_;
  s.max_total_tokens = pool_tokens();
  s.context_length = opts_.context_length;
  s.max_running_requests = opts_.max_running_requests;
  std::lock_guard lk(stats_mu_);
  if (!recent_.empty()) {
    double secs = std::chrono::duration<double>(recent_.back().end - recent_.front().start).count();
    int64_t p = 0, d = 0;
    for (auto& rec : recent_) p += rec.prefill, d += rec.decode;
    if (secs > 0) {
      s.prefill_tokens_per_s = static_cast<double>(p) / secs;
      s.decode_tokens_per_s = static_cast<double>(d) / secs;
    }
  }
  stats_ = s;
}

EngineStats Scheduler::stats() const {
  std::lock_guard lk(stats_mu_);
  return stats_;
}

}  // namespace sgl
