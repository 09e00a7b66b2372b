#include "engine_group.hpp"

#include "core/support/check.hpp"
#include "core/support/log.hpp"

namespace sgl::server {

LoadBalanceMethod parse_load_balance_method(const std::string& name) {
  if (name == "round_robin") return LoadBalanceMethod::kRoundRobin;
  if (name == "shortest_queue") return LoadBalanceMethod::kShortestQueue;
  if (name == "minimum_tokens") return LoadBalanceMethod::kMinimumTokens;
  SGL_THROW(Status::kInvalidArgument, "--load-balance-method must be round_robin, shortest_queue or minimum_tokens (got '{}')",
            name);
}

const char* load_balance_method_name(LoadBalanceMethod m) {
  switch (m) {
    case LoadBalanceMethod::kRoundRobin: return "round_robin";
    case LoadBalanceMethod::kShortestQueue: return "shortest_queue";
    case LoadBalanceMethod::kMinimumTokens: return "minimum_tokens";
  }
  return "?";
}

EngineGroup::Lease::Lease(EngineGroup& g, int rank, int64_t tokens) : g_(g), rank_(rank), tokens_(tokens) {
  Counters& c = g_.counters_[static_cast<size_t>(rank_)];
  c.dispatched.fetch_add(1);
  c.in_flight.fetch_add(1);
  c.in_flight_tokens.fetch_add(tokens_);
}

EngineGroup::Lease::~Lease() {
  Counters& c = g_.counters_[static_cast<size_t>(rank_)];
  c.in_flight.fetch_sub(1);
  c.in_flight_tokens.fetch_sub(tokens_);
}

EngineGroup::EngineGroup(std::vector<Engine*> replicas, LoadBalanceMethod method)
    : replicas_(std::move(replicas)), method_(method), counters_(std::make_unique<Counters[]>(replicas_.size())) {
  SGL_CHECK(!replicas_.empty(), "an engine group needs at least one replica");
}

std::shared_ptr<EngineGroup::Lease> EngineGroup::pick(int pinned, int64_t tokens) {
  const int n = size();
  if (pinned >= 0) {
    if (pinned >= n)
      SGL_THROW(Status::kInvalidArgument, "data_parallel_rank {} is not a replica: this server runs --dp-size {} (ranks 0..{})",
                pinned, n, n - 1);
    return std::make_shared<Lease>(*this, pinned, tokens);
  }
  if (n == 1) return std::make_shared<Lease>(*this, 0, tokens);
  if (method_ == LoadBalanceMethod::kRoundRobin)
    return std::make_shared<Lease>(*this, static_cast<int>(next_.fetch_add(1) % static_cast<uint64_t>(n)), tokens);
  std::lock_guard lk(pick_mu_);
  // Ties go round-robin from a moving start, so equal replicas share the work.
  const int start = static_cast<int>(next_.fetch_add(1) % static_cast<uint64_t>(n));
  int best = start;
  auto load = [&](int r) {
    const Counters& c = counters_[static_cast<size_t>(r)];
    return method_ == LoadBalanceMethod::kShortestQueue ? c.in_flight.load() : c.in_flight_tokens.load();
  };
  for (int k = 1; k < n; ++k) {
    int r = (start + k) % n;
    if (load(r) < load(best)) best = r;
  }
  return std::make_shared<Lease>(*this, best, tokens);
}

std::vector<std::unique_ptr<Engine>> make_replicas(const EngineConfig& config, int dp_size) {
  SGL_CHECK(dp_size >= 1, "dp_size must be >= 1 (got {})", dp_size);
  EngineConfig c = config;
  if (dp_size > 1) c.mem_fraction_static = config.mem_fraction_static / dp_size;
  std::vector<std::unique_ptr<Engine>> out;
  for (int r = 0; r < dp_size; ++r) {
    out.push_back(std::make_unique<Engine>(c));
    if (dp_size > 1)
      SGL_LOG_INFO("data-parallel replica {}/{} ready ({} KV tokens)", r, dp_size, out.back()->config().max_total_tokens);
  }
  return out;
}

}  // namespace sgl::server
