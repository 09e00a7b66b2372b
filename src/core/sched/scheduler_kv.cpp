// The scheduler's KV bookkeeping: page tables, prefix reuse through the radix cache
// (match + lock at admission, insert + relock after each prefill chunk, insert + unlock at the
// end), eviction on allocation, and retraction.
#include <algorithm>
#include <limits>

#include "core/sched/scheduler.hpp"
#include "core/support/check.hpp"

namespace sgl {

// New pages request `r` needs so that its page table covers kv_len + n_new positions.
int64_t Scheduler::pages_for(const SchedRequest& r, int64_t n_new) const {
  int64_t want = (r.kv_len + n_new + page_size_ - 1) / page_size_;
  return std::max<int64_t>(0, want - static_cast<int64_t>(r.pages.size()));
}

void Scheduler::alloc_pages(SchedRequest& r, int64_t n_new) {
  int64_t n = pages_for(r, n_new);
  if (n == 0) return;
  if (pool_.free_pages() < n) cache_.evict(n - pool_.free_pages());
  bool ok = pool_.alloc(n, r.pages);
  SGL_CHECK(ok, "KV pool: {} pages needed, {} free after eviction (admission accounting is wrong)", n, pool_.free_pages());
}

// Finds the longest cached prefix of the tokens still to compute (never all of them: the last
// token must run to produce logits) and locks it so eviction cannot take it.
void Scheduler::admit_prefix(SchedRequest& r) {
  SGL_CHECK(r.pages.empty() && r.kv_len == 0 && r.node == RadixCache::kRoot, "request admitted while holding KV");
  const int64_t start = r.params.logprob_start_len;
  if (start >= 0 && r.input_logprobs.empty() && start < r.prompt_len) {
    if (start == 0) r.input_logprobs.push_back(TokenLogprob{r.tokens[0], std::numeric_limits<float>::quiet_NaN(), {}});
  }
  if (cache_.disabled()) return;
  // Prompt logprobs from `start` need the logits of rows start-1...: reuse no cache past them.
  size_t usable = r.tokens.size() - 1;
  if (start >= 0 && start < r.prompt_len) usable = std::min<size_t>(usable, static_cast<size_t>(std::max<int64_t>(start - 1, 0)));
  auto m = cache_.match_prefix(std::span<const int32_t>(r.tokens.data(), usable));
  cache_.lock(m.node);
  r.node = m.node;
  r.pages = std::move(m.pages);
  r.kv_len = r.cached_len = m.n_tokens;
}

// After a prefill chunk: hands the computed whole pages to the tree so other requests can
// share them at once (SGLang's cache_unfinished_req), and moves our lock to the new end.
void Scheduler::cache_unfinished(SchedRequest& r) {
  if (cache_.disabled()) return;
  int64_t aligned = r.kv_len / page_size_ * page_size_;
  if (aligned <= r.cached_len) return;
  auto res = cache_.insert(std::span<const int32_t>(r.tokens.data(), static_cast<size_t>(aligned)),
                           std::span<const int32_t>(r.pages.data(), static_cast<size_t>(aligned / page_size_)));
  SGL_CHECK(static_cast<int64_t>(res.pages.size()) == aligned / page_size_, "radix insert returned {} pages for {}",
            res.pages.size(), aligned / page_size_);
  std::copy(res.pages.begin(), res.pages.end(), r.pages.begin());  // duplicates were freed: use the tree's
  cache_.lock(res.node);
  cache_.unlock(r.node);
  r.node = res.node;
  r.cached_len = aligned;
}

// Gives back everything `r` holds: computed whole pages go to the tree (SGLang's
// cache_finished_req; they stay cached until evicted), our lock is dropped, the rest is freed.
void Scheduler::release_kv(SchedRequest& r) {
  if (cache_.disabled()) {
    pool_.free(r.pages);
  } else {
    cache_unfinished(r);
    cache_.unlock(r.node);
    std::span<const int32_t> own(r.pages);
    pool_.free(own.subspan(static_cast<size_t>(r.cached_len / page_size_)));
  }
  r.pages.clear();
  r.kv_len = r.cached_len = 0;
  r.node = RadixCache::kRoot;
  r.prefill_done = false;
}

// Frees a running request's pages and puts it back at the head of the queue. It keeps its
// output (and sampler state) and later resumes by prefilling prompt + output, most of which
// the radix cache usually still holds.
void Scheduler::retract(SchedRequest& r) {
  release_kv(r);
  auto it = std::find_if(running_.begin(), running_.end(), [&](auto& p) { return p.get() == &r; });
  SGL_CHECK(it != running_.end(), "retracting a request that is not running");
  waiting_.push_front(std::move(*it));
  running_.erase(it);
  ++retracted_;
}

// Pages we expect `r` to still need for decoding, scaled by the adaptive new_token_ratio.
int64_t Scheduler::decode_reserve(const SchedRequest& r) const {
  int64_t left = std::min<int64_t>(r.max_new - r.n_output(), 4096);
  if (left <= 0) return 0;
  int64_t tokens = static_cast<int64_t>(static_cast<double>(left) * new_token_ratio_ + 0.999);
  return (tokens + page_size_ - 1) / page_size_;
}

}  // namespace sgl
