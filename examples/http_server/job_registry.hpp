// JobRegistry: the generation calls in flight by request id, so /abort_request can cancel one
// (or all) from another connection. Holds weak references: a finished or dropped Job simply
// stops being found.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "job.hpp"

namespace sgl::server {

class JobRegistry {
 public:
  void add(const std::string& rid, const std::shared_ptr<Job>& job);
  // Cancels the job with this id ("chatcmpl-" / "cmpl-" prefixes accepted); false if none runs.
  bool abort(const std::string& rid);
  // Cancels every job in flight; returns how many.
  int abort_all();

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::weak_ptr<Job>> jobs_;
  size_t purge_at_ = 64;
};

}  // namespace sgl::server
