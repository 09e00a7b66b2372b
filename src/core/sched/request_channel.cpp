#include "core/sched/request_channel.hpp"

#include "core/support/check.hpp"
#include "core/support/log.hpp"
#include "sgl/engine.hpp"

namespace sgl::detail {

void RequestChannel::push(StreamChunk chunk) {
  bool finished = chunk.result.has_value();
  if (on_chunk) {
    // The callback sees every chunk; only the final results are kept for wait(). A throw from
    // a partial chunk propagates: the scheduler aborts this request with the message. A throw
    // from the final chunk must not lose the result, or wait() would never return.
    if (!finished) {
      try {
        on_chunk(chunk);
      } catch (const std::exception& e) {
        SGL_THROW(Status::kCancelled, "the on_chunk callback threw: {}", e.what());
      } catch (...) {
        SGL_THROW(Status::kCancelled, "the on_chunk callback threw a non-std exception");
      }
      return;
    }
    try {
      on_chunk(chunk);
    } catch (const std::exception& e) {
      SGL_LOG_WARN("request '{}': on_chunk threw on the final chunk: {}", rid, e.what());
    } catch (...) {
      SGL_LOG_WARN("request '{}': on_chunk threw a non-std exception on the final chunk", rid);
    }
  }
  {
    std::lock_guard lk(mu_);
    if (finished) {
      auto idx = static_cast<size_t>(chunk.result->index);
      SGL_CHECK(idx < results.size() && !results[idx], "sample {} of request '{}' finished twice or is out of range",
                idx, rid);
      results[idx] = *chunk.result;
      ++n_done_;
    }
    if (!on_chunk) queue_.push_back(std::move(chunk));
  }
  cv_.notify_all();
}

std::optional<StreamChunk> RequestChannel::pop(std::optional<std::chrono::milliseconds> timeout) {
  std::unique_lock lk(mu_);
  auto ready = [&] { return !queue_.empty() || n_done_ == n; };
  if (timeout) {
    if (!cv_.wait_for(lk, *timeout, ready)) return std::nullopt;
  } else {
    cv_.wait(lk, ready);
  }
  if (queue_.empty()) return std::nullopt;
  StreamChunk c = std::move(queue_.front());
  queue_.pop_front();
  return c;
}

std::vector<Result> RequestChannel::wait_all() {
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return n_done_ == n; });
  std::vector<Result> out;
  out.reserve(results.size());
  for (auto& r : results) out.push_back(*r);
  return out;
}

bool RequestChannel::all_done() const {
  std::lock_guard lk(mu_);
  return n_done_ == n;
}

}  // namespace sgl::detail

namespace sgl {

namespace {
detail::RequestChannel& need(const std::shared_ptr<detail::RequestChannel>& ch) {
  if (!ch) SGL_THROW(Status::kInvalidArgument, "empty RequestHandle (not returned by Engine::submit)");
  return *ch;
}
}  // namespace

const std::string& RequestHandle::rid() const { return need(ch_).rid; }
int RequestHandle::n() const { return need(ch_).n; }
std::optional<StreamChunk> RequestHandle::next() { return need(ch_).pop(std::nullopt); }
std::optional<StreamChunk> RequestHandle::next_for(std::chrono::milliseconds timeout) { return need(ch_).pop(timeout); }
std::vector<Result> RequestHandle::wait() { return need(ch_).wait_all(); }
Result RequestHandle::result() {
  auto r = need(ch_).wait_all();
  if (r.size() != 1) SGL_THROW(Status::kInvalidArgument, "RequestHandle::result() needs n == 1 (request has n = {}); use wait()", r.size());
  return r[0];
}
bool RequestHandle::done() const { return need(ch_).all_done(); }
void RequestHandle::cancel() {
  auto& ch = need(ch_);
  ch.cancelled.store(true, std::memory_order_release);
  if (ch.wake) ch.wake();
}

}  // namespace sgl
