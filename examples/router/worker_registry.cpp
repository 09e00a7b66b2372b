#include "worker_registry.hpp"

#include <algorithm>
#include <charconv>

#include "core/support/check.hpp"

namespace sgl::router {

WorkerAddress parse_worker_url(const std::string& url) {
  std::string rest = url;
  if (rest.rfind("https://", 0) == 0)
    SGL_THROW(Status::kUnsupported, "worker url '{}': https is not supported (plain http only)", url);
  if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
  else if (rest.find("://") != std::string::npos)
    SGL_THROW(Status::kInvalidArgument, "worker url '{}': only http:// urls are supported", url);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('/') != std::string::npos)
    SGL_THROW(Status::kInvalidArgument, "worker url '{}': expected http://host:port without a path", url);
  size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || rest[0] == '[')
    SGL_THROW(Status::kInvalidArgument, "worker url '{}': expected http://host:port", url);
  WorkerAddress a;
  a.host = rest.substr(0, colon);
  std::string p = rest.substr(colon + 1);
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), a.port);
  if (ec != std::errc() || end != p.data() + p.size() || a.port < 1 || a.port > 65535)
    SGL_THROW(Status::kInvalidArgument, "worker url '{}': port must be a number in [1, 65535]", url);
  a.url = "http://" + a.host + ":" + std::to_string(a.port);
  return a;
}

Worker::Worker(WorkerAddress addr, int dp_rank, CircuitBreakerConfig cb)
    : breaker(cb),
      addr_(std::move(addr)),
      dp_rank_(dp_rank),
      key_(dp_rank < 0 ? addr_.url : addr_.url + "@" + std::to_string(dp_rank)),
      added_(std::chrono::steady_clock::now()) {}

const char* Worker::name(Health h) {
  switch (h) {
    case Health::kStarting: return "starting";
    case Health::kHealthy: return "healthy";
    case Health::kUnhealthy: return "unhealthy";
  }
  return "?";
}

bool WorkerRegistry::add(std::shared_ptr<Worker> w) {
  std::lock_guard lk(mu_);
  for (const auto& x : workers_)
    if (x->key() == w->key()) return false;
  workers_.push_back(std::move(w));
  return true;
}

std::vector<std::shared_ptr<Worker>> WorkerRegistry::remove(const std::string& url_or_key) {
  std::lock_guard lk(mu_);
  std::vector<std::shared_ptr<Worker>> gone;
  std::string norm = url_or_key;
  try {
    norm = parse_worker_url(url_or_key).url;  // accept "host:port" and trailing slashes too
  } catch (const sgl::Error&) {
  }
  auto it = std::remove_if(workers_.begin(), workers_.end(), [&](const std::shared_ptr<Worker>& w) {
    bool hit = w->key() == url_or_key || w->url() == url_or_key || w->url() == norm;
    if (hit) gone.push_back(w);
    return hit;
  });
  workers_.erase(it, workers_.end());
  return gone;
}

std::vector<std::shared_ptr<Worker>> WorkerRegistry::snapshot() const {
  std::lock_guard lk(mu_);
  return workers_;
}

bool WorkerRegistry::empty() const {
  std::lock_guard lk(mu_);
  return workers_.empty();
}

}  // namespace sgl::router
