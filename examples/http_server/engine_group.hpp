// EngineGroup: the --dp-size engine replicas behind one sgl-server, and the load balancer that
// gives each request to one of them (--load-balance-method, SGLang's names):
//   round_robin     replicas in turn;
//   shortest_queue  the replica with the fewest requests this server has given it and not yet
//                   seen finish (counted here, so a burst of requests spreads at once instead of
//                   waiting for the engines' queues to show it);
//   minimum_tokens  the replica with the fewest such tokens (prompt + max_new_tokens).
// A request's data_parallel_rank pins it to that replica. Every replica loads the same model,
// so tokenizer-level calls may go to any of them (primary()).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sgl/engine.hpp"

namespace sgl::server {

enum class LoadBalanceMethod { kRoundRobin, kShortestQueue, kMinimumTokens };

// Throws sgl::Error(kInvalidArgument) naming --load-balance-method and the choices.
LoadBalanceMethod parse_load_balance_method(const std::string& name);
const char* load_balance_method_name(LoadBalanceMethod m);

class EngineGroup {
 public:
  // Per-replica bookkeeping of this server's dispatches.
  struct Counters {
    std::atomic<int64_t> dispatched{0};  // requests given to the replica since start
    std::atomic<int64_t> in_flight{0};   // given and not yet released
    std::atomic<int64_t> in_flight_tokens{0};
  };

  // A request's hold on its replica; releases the in-flight counts when destroyed.
  class Lease {
   public:
    Lease(EngineGroup& g, int rank, int64_t tokens);
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Engine& engine() const { return *g_.replicas_[static_cast<size_t>(rank_)]; }
    int rank() const { return rank_; }

   private:
    EngineGroup& g_;
    int rank_;
    int64_t tokens_;
  };

  // `replicas` (non-empty) must outlive the group.
  EngineGroup(std::vector<Engine*> replicas, LoadBalanceMethod method);

  int size() const { return static_cast<int>(replicas_.size()); }
  Engine& primary() const { return *replicas_[0]; }
  Engine& replica(int rank) const { return *replicas_[static_cast<size_t>(rank)]; }
  LoadBalanceMethod method() const { return method_; }
  const Counters& counters(int rank) const { return counters_[static_cast<size_t>(rank)]; }

  // Picks a replica for a request of `tokens` (prompt + max_new_tokens over its samples);
  // `pinned` >= 0 is the request's data_parallel_rank. Throws sgl::Error(kInvalidArgument) when
  // the pin is not a replica.
  std::shared_ptr<Lease> pick(int pinned, int64_t tokens);

 private:
  std::vector<Engine*> replicas_;
  LoadBalanceMethod method_;
  std::unique_ptr<Counters[]> counters_;
  std::atomic<uint64_t> next_{0};
  std::mutex pick_mu_;  // shortest_queue / minimum_tokens: read-then-claim as one step
};

// Builds `dp_size` engines from `config`. Each replica gets 1/dp_size of mem_fraction_static,
// since they share this machine's memory (an explicit max_total_tokens applies to each).
std::vector<std::unique_ptr<Engine>> make_replicas(const EngineConfig& config, int dp_size);

}  // namespace sgl::server
