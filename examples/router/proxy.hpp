// Proxy: sends one client request to a worker chosen by the policy and relays the answer.
//
// Retries: a connection failure (counted as 500) or a retryable status (408, 429, 500, 502, 503,
// 504) is retried on another worker, with exponential backoff and jitter, up to
// --retry-max-retries times -- but only before any byte reached the client. A stream that fails
// after its first byte ends with one SSE error chunk instead. Streams are relayed chunk by chunk as
// the worker writes them (a thread per stream reads upstream, the HTTP handler thread writes to
// the client); when the client goes away the upstream connection is shut down, which makes the
// worker abort the request and free its KV.
#pragma once

#include <httplib.h>

#include <memory>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "client_pool.hpp"
#include "policy.hpp"
#include "router_args.hpp"
#include "router_metrics.hpp"
#include "worker_registry.hpp"

namespace sgl::router {

struct ProxyRequest {
  std::string method = "POST";
  std::string path;
  std::string body;
  const nlohmann::json* parsed = nullptr;  // the body as JSON, for data_parallel_rank injection
  std::string text;                        // what the policy routes on
  bool stream = false;
  bool use_policy = true;  // false: the first routable worker (model / server info)
  httplib::Headers headers;
  std::shared_ptr<void> hold;  // kept alive until a streamed answer ends (the admission slot)
};

bool retryable_status(int status);

class Proxy {
 public:
  Proxy(const RouterArgs& args, WorkerRegistry& registry, Policy& policy, RouterMetrics& metrics);
  // Fills `res` (status, headers, body or a chunked provider). Never throws for upstream trouble.
  void forward(const ProxyRequest& pr, httplib::Response& res);
  // Closes the pooled connections of a worker that left the registry.
  void forget_worker(const std::string& key) { pool_.drop(key); }
  uint64_t connections_made() const { return pool_.connections_made(); }

 private:
  struct Stream;
  std::shared_ptr<Worker> pick(const ProxyRequest& pr, const std::set<const Worker*>& tried);
  double backoff_ms(int retry);
  std::unique_ptr<httplib::Client> client_for(const Worker& w) const;
  ClientPool::Lease connect(const Worker& w, bool fresh);
  std::string body_for(const ProxyRequest& pr, const Worker& w) const;

  const RouterArgs& args_;
  WorkerRegistry& registry_;
  Policy& policy_;
  RouterMetrics& metrics_;
  ClientPool pool_;
};

// {"error": {"message", "type", "code"}} as the OpenAI API shapes errors.
std::string error_json(int status, const std::string& message);

}  // namespace sgl::router
