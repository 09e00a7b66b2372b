#include "client_pool.hpp"

namespace sgl::router {

ClientPool::Lease ClientPool::acquire(const std::string& key,
                                      const std::function<std::unique_ptr<httplib::Client>()>& make, bool fresh) {
  std::vector<std::unique_ptr<httplib::Client>> expired;  // closed outside the lock
  {
    std::lock_guard lk(mu_);
    auto it = fresh ? idle_.end() : idle_.find(key);
    if (it != idle_.end()) {
      auto& v = it->second;
      const auto now = Clock::now();
      while (!v.empty()) {  // the most recently returned first: the least likely to be stale
        Idle i = std::move(v.back());
        v.pop_back();
        if (now - i.since < kMaxIdle) return Lease{std::move(i.client), true};
        expired.push_back(std::move(i.client));
      }
    }
  }
  auto c = make();
  c->set_keep_alive(true);
  ++made_;
  return Lease{std::move(c), false};
}

void ClientPool::release(const std::string& key, std::unique_ptr<httplib::Client> client) {
  if (!client) return;
  std::lock_guard lk(mu_);
  auto& v = idle_[key];
  if (v.size() >= kMaxIdlePerWorker) return;  // a burst's extra connections close here
  v.push_back(Idle{std::move(client), Clock::now()});
}

void ClientPool::drop(const std::string& key) {
  std::vector<Idle> gone;
  std::lock_guard lk(mu_);
  auto it = idle_.find(key);
  if (it == idle_.end()) return;
  gone = std::move(it->second);
  idle_.erase(it);
}

size_t ClientPool::idle(const std::string& key) const {
  std::lock_guard lk(mu_);
  auto it = idle_.find(key);
  return it == idle_.end() ? 0 : it->second.size();
}

}  // namespace sgl::router
