// RequestChannel: the one object a caller thread and the scheduler thread share per request.
// The scheduler pushes chunks and final results; the caller pops, waits or cancels. Everything
// here is guarded by one small mutex (or is atomic), so the scheduler never blocks on a caller.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sgl/request.hpp"

namespace sgl::detail {

struct RequestChannel {
  RequestChannel(std::string rid, int n, std::function<void(const StreamChunk&)> cb)
      : rid(std::move(rid)), n(n), on_chunk(std::move(cb)), results(static_cast<size_t>(n)) {}

  const std::string rid;
  const int n;
  const std::function<void(const StreamChunk&)> on_chunk;

  // Set by cancel(); the scheduler polls it once per step and aborts the request.
  std::atomic<bool> cancelled{false};
  // Called (outside the lock) after `cancelled` is set, to wake an idle scheduler.
  std::function<void()> wake;

  // Scheduler side. `chunk.result` set means this sample is finished.
  void push(StreamChunk chunk);

  // Caller side.
  std::optional<StreamChunk> pop(std::optional<std::chrono::milliseconds> timeout);
  std::vector<Result> wait_all();
  bool all_done() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<StreamChunk> queue_;
  std::vector<std::optional<Result>> results;
  int n_done_ = 0;
};

}  // namespace sgl::detail
