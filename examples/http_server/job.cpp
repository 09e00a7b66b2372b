#include "job.hpp"

#include <fmt/format.h>

namespace sgl::server {

Job::Job(Engine& engine, ParsedRequest pr, std::string rid)
    : pr_(std::move(pr)), rid_(std::move(rid)), queue_(std::make_shared<Queue>()) {
  const int n = pr_.n;
  samples_.resize(pr_.prompts.size() * static_cast<size_t>(n));
  try {
    for (size_t p = 0; p < pr_.prompts.size(); ++p) {
      Request req = pr_.prompts[p];  // keep the parsed copy for echo / logging
      req.rid = pr_.prompts.size() == 1 ? rid_ : fmt::format("{}-{}", rid_, p);
      // The callback holds the queue only (not the Job), so handles -> channel -> callback
      // never forms a cycle back to the Job.
      std::shared_ptr<Queue> q = queue_;
      const int base = static_cast<int>(p) * n;
      req.on_chunk = [q, base](const StreamChunk& c) {
        {
          std::lock_guard lock(q->mu);
          q->events.push_back(Event{base + c.index, c});
        }
        q->cv.notify_one();
      };
      handles_.push_back(engine.submit(std::move(req)));
    }
  } catch (...) {
    cancel();
    throw;
  }
}

Job::~Job() {
  if (!all_finished()) cancel();
}

std::vector<Job::Event> Job::poll(std::chrono::milliseconds timeout) {
  std::deque<Event> got;
  {
    std::unique_lock lock(queue_->mu);
    queue_->cv.wait_for(lock, timeout, [&] { return !queue_->events.empty(); });
    got.swap(queue_->events);
  }
  std::vector<Event> out;
  out.reserve(got.size());
  for (auto& e : got) {
    if (e.sample < 0 || e.sample >= total_samples()) continue;  // cannot happen with a sane engine
    SampleOutput& s = samples_[static_cast<size_t>(e.sample)];
    if (s.result) continue;  // nothing may follow a sample's final chunk
    s.text += e.chunk.text;
    s.ids.insert(s.ids.end(), e.chunk.token_ids.begin(), e.chunk.token_ids.end());
    s.logprobs.insert(s.logprobs.end(), e.chunk.logprobs.begin(), e.chunk.logprobs.end());
    if (e.chunk.finished && e.chunk.result) {
      s.result = e.chunk.result;
      ++finished_;
    }
    out.push_back(std::move(e));
  }
  return out;
}

bool Job::engine_lost_results() const {
  if (all_finished()) return false;
  for (const auto& h : handles_)
    if (!h.done()) return false;
  std::lock_guard lock(queue_->mu);
  return queue_->events.empty();
}

void Job::cancel() {
  cancelled_ = true;
  for (auto& h : handles_) h.cancel();
}

}  // namespace sgl::server
