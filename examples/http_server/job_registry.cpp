#include "job_registry.hpp"

#include <vector>

namespace sgl::server {

void JobRegistry::add(const std::string& rid, const std::shared_ptr<Job>& job) {
  std::lock_guard lock(mu_);
  jobs_[rid] = job;
  if (jobs_.size() >= purge_at_) {  // drop finished jobs now and then, amortized O(1)
    for (auto it = jobs_.begin(); it != jobs_.end();)
      it = it->second.expired() ? jobs_.erase(it) : std::next(it);
    purge_at_ = std::max<size_t>(64, 2 * jobs_.size());
  }
}

bool JobRegistry::abort(const std::string& rid) {
  std::shared_ptr<Job> job;
  {
    std::lock_guard lock(mu_);
    for (const std::string& key : {rid, rid.substr(rid.rfind("chatcmpl-", 0) == 0 ? 9 : rid.rfind("cmpl-", 0) == 0 ? 5 : 0)}) {
      auto it = jobs_.find(key);
      if (it != jobs_.end() && (job = it->second.lock())) break;
    }
  }
  if (!job || job->all_finished()) return false;
  job->cancel();
  return true;
}

int JobRegistry::abort_all() {
  std::vector<std::shared_ptr<Job>> live;
  {
    std::lock_guard lock(mu_);
    for (auto& [rid, w] : jobs_)
      if (auto j = w.lock()) live.push_back(std::move(j));
  }
  for (auto& j : live) j->cancel();
  return static_cast<int>(live.size());
}

}  // namespace sgl::server
