#include "policy.hpp"

#include <atomic>
#include <mutex>
#include <random>

#include "cache_aware_policy.hpp"
#include "core/support/check.hpp"

namespace sgl::router {

size_t least_loaded(const std::vector<Candidate>& c) {
  size_t best = 0;
  for (size_t i = 1; i < c.size(); ++i)
    if (c[i].load < c[best].load) best = i;
  return best;
}

namespace {

uint64_t seed_of(const PolicyConfig& c) { return c.seed ? c.seed : std::random_device{}(); }

class CountingPolicy : public Policy {
 public:
  PolicyStats stats() const override {
    PolicyStats s;
    s.decisions = decisions_.load();
    return s;
  }

 protected:
  std::atomic<uint64_t> decisions_{0};
};

class RoundRobinPolicy final : public CountingPolicy {
 public:
  const char* name() const override { return "round_robin"; }
  size_t select(const std::vector<Candidate>& c, std::string_view) override {
    ++decisions_;
    return next_.fetch_add(1) % c.size();
  }

 private:
  std::atomic<uint64_t> next_{0};
};

class RandomPolicy final : public CountingPolicy {
 public:
  explicit RandomPolicy(uint64_t seed) : rng_(seed) {}
  const char* name() const override { return "random"; }
  size_t select(const std::vector<Candidate>& c, std::string_view) override {
    ++decisions_;
    std::lock_guard lk(mu_);
    return std::uniform_int_distribution<size_t>(0, c.size() - 1)(rng_);
  }

 private:
  std::mutex mu_;
  std::mt19937_64 rng_;
};

// Two distinct random candidates, the less loaded wins ("the power of two choices").
class PowerOfTwoPolicy final : public CountingPolicy {
 public:
  explicit PowerOfTwoPolicy(uint64_t seed) : rng_(seed) {}
  const char* name() const override { return "power_of_two"; }
  size_t select(const std::vector<Candidate>& c, std::string_view) override {
    ++decisions_;
    if (c.size() == 1) return 0;
    size_t a, b;
    {
      std::lock_guard lk(mu_);
      a = std::uniform_int_distribution<size_t>(0, c.size() - 1)(rng_);
      b = std::uniform_int_distribution<size_t>(0, c.size() - 2)(rng_);
    }
    if (b >= a) ++b;
    return c[b].load < c[a].load ? b : a;
  }

 private:
  std::mutex mu_;
  std::mt19937_64 rng_;
};

}  // namespace

std::unique_ptr<Policy> make_policy(const PolicyConfig& config) {
  if (config.name == "cache_aware") return std::make_unique<CacheAwarePolicy>(config);
  if (config.name == "round_robin") return std::make_unique<RoundRobinPolicy>();
  if (config.name == "random") return std::make_unique<RandomPolicy>(seed_of(config));
  if (config.name == "power_of_two") return std::make_unique<PowerOfTwoPolicy>(seed_of(config));
  SGL_THROW(Status::kInvalidArgument, "--policy must be cache_aware, round_robin, random or power_of_two (got '{}')",
            config.name);
}

}  // namespace sgl::router
