// Job: one HTTP generation call in flight — its engine requests (one per prompt, each with n
// samples) and one queue their chunks land in. Chunks arrive through Request::on_chunk on the
// scheduler thread, so several prompts stream through a single wait without polling handles.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "request_parser.hpp"
#include "response_writer.hpp"
#include "sgl/engine.hpp"

namespace sgl::server {

class Job {
 public:
  // One chunk of sample `sample` (prompt-major index), as it came from the engine.
  struct Event {
    int sample = 0;
    StreamChunk chunk;
  };

  // Submits every prompt of `pr` with ids `rid`, `rid-1`, ...; on a submit error, cancels what
  // was already submitted and rethrows (sgl::Error).
  Job(Engine& engine, ParsedRequest pr, std::string rid);
  ~Job();

  const ParsedRequest& request() const { return pr_; }
  const std::string& rid() const { return rid_; }
  int total_samples() const { return static_cast<int>(samples_.size()); }
  int finished_samples() const { return finished_; }
  bool all_finished() const { return finished_ == total_samples(); }
  std::vector<SampleOutput>& samples() { return samples_; }

  // Waits up to `timeout` for chunks, folds them into samples() and returns them in order.
  // An empty result after the timeout means nothing new arrived.
  std::vector<Event> poll(std::chrono::milliseconds timeout);
  // True when the engine says every request is done but some sample never got its result
  // (a bug guard: the caller answers 500 instead of waiting forever).
  bool engine_lost_results() const;
  // Cancels every request that is still running (client went away, server shutting down).
  void cancel();
  bool cancelled() const { return cancelled_; }

 private:
  struct Queue {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Event> events;
  };
  ParsedRequest pr_;
  std::string rid_;
  std::shared_ptr<Queue> queue_;
  std::vector<RequestHandle> handles_;
  std::vector<SampleOutput> samples_;
  // Atomic: /abort_request reads and cancels from another handler thread.
  std::atomic<int> finished_{0};
  std::atomic<bool> cancelled_{false};
};

}  // namespace sgl::server
