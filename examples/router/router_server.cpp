#include "router_server.hpp"

#include <httplib.h>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "admission.hpp"
#include "core/support/check.hpp"
#include "core/support/listen_backlog.hpp"
#include "core/support/log.hpp"
#include "health_checker.hpp"
#include "policy.hpp"
#include "proxy.hpp"
#include "request_text.hpp"
#include "router_metrics.hpp"
#include "worker_registry.hpp"

namespace sgl::router {

using json = nlohmann::json;
using httplib::Request;
using httplib::Response;

struct RouterServer::Impl {
  RouterArgs args;
  WorkerRegistry registry;
  std::unique_ptr<Policy> policy;
  RouterMetrics metrics;
  HealthChecker health;
  Admission admission;
  Proxy proxy;
  httplib::Server http, metrics_http;
  std::thread metrics_thread, evictor;
  std::mutex evict_mu;
  std::condition_variable evict_cv;
  bool stopping = false;
  int metrics_port = 0;
  std::atomic<uint64_t> serial{0};
  std::string id_prefix;

  explicit Impl(RouterArgs a);
  void routes();
  void send(Response& res, int status, const json& body) {
    res.status = status;
    res.set_content(body.dump(), "application/json");
  }
  void fail(Response& res, int status, const std::string& msg) {
    res.status = status;
    res.set_content(error_json(status, msg), "application/json");
  }
  // Adds `url` (expanding data-parallel ranks with --dp-aware). Throws sgl::Error.
  std::vector<std::shared_ptr<Worker>> add_worker(const std::string& url);
  std::vector<std::shared_ptr<Worker>> remove_worker(const std::string& url);
  json workers_json() const;
  std::string request_id(const Request& req);
  void generation(const Request& req, Response& res, TextSource source);
  void passthrough(const Request& req, Response& res, const std::string& method, bool use_policy);
  bool authorized(const Request& req, Response& res);
};

RouterServer::Impl::Impl(RouterArgs a)
    : args(std::move(a)),
      policy(make_policy(args.policy)),
      health(registry, args.health),
      admission(args.max_concurrent_requests, args.queue_size, args.queue_timeout_secs),
      proxy(args, registry, *policy, metrics) {
  std::random_device rd;
  id_prefix = fmt::format("router-{:08x}-", static_cast<uint32_t>(rd()));
}

std::vector<std::shared_ptr<Worker>> RouterServer::Impl::add_worker(const std::string& spec) {
  std::string url = spec;
  int rank = -1;
  // url@rank names one data-parallel rank (only with --dp-aware: '@' is not part of a url here).
  if (size_t at = spec.rfind('@'); at != std::string::npos && at > spec.rfind(':')) {
    if (!args.dp_aware) SGL_THROW(Status::kInvalidArgument, "worker '{}': url@rank needs --dp-aware", spec);
    std::string r = spec.substr(at + 1);
    auto [end, ec] = std::from_chars(r.data(), r.data() + r.size(), rank);
    if (ec != std::errc() || end != r.data() + r.size() || rank < 0)
      SGL_THROW(Status::kInvalidArgument, "worker '{}': the rank after '@' must be a non-negative integer", spec);
    url = spec.substr(0, at);
  }
  WorkerAddress addr = parse_worker_url(url);
  std::vector<int> ranks{rank};
  if (args.dp_aware && rank < 0) {
    // Ask the worker how many ranks it runs; a worker not up yet counts as one rank.
    int dp = 1;
    httplib::Client c(addr.host, addr.port);
    c.set_connection_timeout(2, 0);
    c.set_read_timeout(5, 0);
    if (auto r = c.Get("/get_server_info"); r && r->status == 200) {
      json info = json::parse(r->body, nullptr, false);
      if (info.is_object() && info.contains("dp_size") && info["dp_size"].is_number_integer())
        dp = std::max(1, info["dp_size"].get<int>());
    } else {
      SGL_LOG_WARN("--dp-aware: {} did not answer /get_server_info; assuming dp_size 1", addr.url);
    }
    ranks.clear();
    for (int i = 0; i < dp; ++i) ranks.push_back(i);
  }
  std::vector<std::shared_ptr<Worker>> added;
  for (int rk : ranks) {
    auto w = std::make_shared<Worker>(addr, rk, args.cb);
    if (!registry.add(w)) SGL_THROW(Status::kInvalidArgument, "worker {} is already registered", w->key());
    added.push_back(w);
    SGL_LOG_INFO("worker {} added", w->key());
  }
  health.poke();
  return added;
}

std::vector<std::shared_ptr<Worker>> RouterServer::Impl::remove_worker(const std::string& url) {
  auto gone = registry.remove(url);
  for (auto& w : gone) {
    policy->on_worker_removed(w->key());
    proxy.forget_worker(w->key());
    SGL_LOG_INFO("worker {} removed", w->key());
  }
  return gone;
}

json RouterServer::Impl::workers_json() const {
  json list = json::array();
  for (const auto& w : registry.snapshot()) {
    json j = {{"url", w->url()},
              {"key", w->key()},
              {"health", Worker::name(w->health())},
              {"is_healthy", w->health() == Worker::Health::kHealthy},
              {"circuit_breaker", CircuitBreaker::name(w->breaker.state())},
              {"load", w->load.load()},
              {"requests", w->requests.load()},
              {"errors", w->errors.load()}};
    if (w->dp_rank() >= 0) j["dp_rank"] = w->dp_rank();
    list.push_back(std::move(j));
  }
  return {{"workers", list}, {"total", list.size()}, {"policy", policy->name()}};
}

std::string RouterServer::Impl::request_id(const Request& req) {
  for (const auto& h : args.id_headers())
    if (req.has_header(h.c_str())) return req.get_header_value(h.c_str());
  return fmt::format("{}{}", id_prefix, serial.fetch_add(1));
}

bool RouterServer::Impl::authorized(const Request& req, Response& res) {
  if (args.api_key.empty()) return true;
  const std::string auth = req.get_header_value("Authorization");
  if (auth == "Bearer " + args.api_key) return true;
  fail(res, 401, auth.empty() ? "missing API key: send 'Authorization: Bearer <key>'" : "invalid API key");
  return false;
}

namespace {

httplib::Headers forwarded_headers(const Request& req, const std::string& rid) {
  httplib::Headers h;
  if (req.has_header("Authorization")) h.emplace("Authorization", req.get_header_value("Authorization"));
  h.emplace("x-request-id", rid);
  return h;
}

}  // namespace

void RouterServer::Impl::generation(const Request& req, Response& res, TextSource source) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return fail(res, 400, "request body must be a JSON object");
  std::string rid = request_id(req);
  res.set_header("x-request-id", rid);
  Admission::Ticket ticket;
  switch (admission.acquire(ticket)) {
    case Admission::Outcome::kQueueFull:
      metrics.on_rejected();
      return fail(res, 429, "too many requests: the router's queue is full");
    case Admission::Outcome::kTimedOut:
      metrics.on_rejected();
      return fail(res, 408, "timed out waiting in the router's queue");
    case Admission::Outcome::kAdmitted: break;
  }
  ProxyRequest pr;
  pr.path = req.path;
  pr.body = req.body;
  pr.parsed = &body;
  pr.text = request_text(body, source);
  pr.stream = body.contains("stream") && body["stream"].is_boolean() && body["stream"].get<bool>();
  pr.headers = forwarded_headers(req, rid);
  // A streamed answer is written after this handler returns: the admission slot goes with it.
  pr.hold = std::make_shared<Admission::Ticket>(std::move(ticket));
  proxy.forward(pr, res);
}

void RouterServer::Impl::passthrough(const Request& req, Response& res, const std::string& method, bool use_policy) {
  ProxyRequest pr;
  pr.method = method;
  pr.path = req.path;
  if (!req.params.empty()) pr.path += "?" + httplib::detail::params_to_query_str(req.params);
  pr.body = req.body;
  pr.use_policy = use_policy;
  std::string rid = request_id(req);
  res.set_header("x-request-id", rid);
  pr.headers = forwarded_headers(req, rid);
  proxy.forward(pr, res);
}

void RouterServer::Impl::routes() {
  int threads = args.http_threads > 0 ? args.http_threads
                                      : std::max(args.max_concurrent_requests, 0) + args.queue_size + 16;
  if (args.max_concurrent_requests <= 0 && args.http_threads <= 0) threads = 512;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  http.set_keep_alive_max_count(1000);
  http.set_tcp_nodelay(true);  // relayed SSE chunks are small: each goes out as it comes (no Nagle wait)
  http.set_read_timeout(static_cast<time_t>(std::max(30.0, args.request_timeout_secs)), 0);
  http.set_write_timeout(30, 0);
  http.set_payload_max_length(size_t{256} << 20);

  http.set_pre_routing_handler([this](const Request& req, Response& res) {
    if (req.path == "/health" || req.path == "/readiness" || req.path == "/metrics" || authorized(req, res))
      return httplib::Server::HandlerResponse::Unhandled;
    return httplib::Server::HandlerResponse::Handled;
  });
  http.set_error_handler([this](const Request& req, Response& res) {
    if (!res.body.empty()) return;
    fail(res, res.status,
         res.status == 404 ? fmt::format("no route for {} {}", req.method, req.path) : fmt::format("HTTP error {}", res.status));
  });
  http.set_exception_handler([this](const Request&, Response& res, std::exception_ptr ep) {
    std::string what = "unknown";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    fail(res, 500, fmt::format("internal error: {}", what));
  });

  http.Post("/generate", [this](const Request& q, Response& r) { generation(q, r, TextSource::kGenerate); });
  http.Post("/v1/completions", [this](const Request& q, Response& r) { generation(q, r, TextSource::kCompletions); });
  http.Post("/v1/chat/completions", [this](const Request& q, Response& r) { generation(q, r, TextSource::kChat); });
  http.Post("/v1/tokenize", [this](const Request& q, Response& r) { passthrough(q, r, "POST", false); });
  for (const char* p : {"/v1/models", "/get_model_info", "/get_server_info", "/health_generate"})
    http.Get(p, [this](const Request& q, Response& r) { passthrough(q, r, "GET", false); });

  http.Get("/health", [this](const Request&, Response& r) { send(r, 200, {{"status", "ok"}}); });
  http.Get("/readiness", [this](const Request&, Response& r) {
    size_t healthy = 0, total = 0;
    for (const auto& w : registry.snapshot()) {
      ++total;
      healthy += w->health() == Worker::Health::kHealthy;
    }
    json body = {{"status", healthy ? "ready" : "not ready"}, {"healthy_workers", healthy}, {"total_workers", total}};
    send(r, healthy ? 200 : 503, body);
  });
  auto flush = [this](const Request& q, Response& r) {
    json results = json::array();
    bool all_ok = true;
    for (const auto& w : registry.snapshot()) {
      httplib::Client c(w->host(), w->port());
      c.set_connection_timeout(5, 0);
      c.set_read_timeout(30, 0);
      httplib::Headers h;
      if (q.has_header("Authorization")) h.emplace("Authorization", q.get_header_value("Authorization"));
      auto res = c.Post("/flush_cache", h, "", "application/json");
      bool ok = res && res->status >= 200 && res->status < 300;
      all_ok = all_ok && ok;
      results.push_back({{"url", w->key()}, {"success", ok}, {"status", res ? res->status : 0}});
    }
    send(r, all_ok ? 200 : 500, {{"success", all_ok}, {"workers", results}});
  };
  http.Post("/flush_cache", flush);
  http.Get("/flush_cache", flush);
  http.Get("/get_loads", [this](const Request&, Response& r) {
    json list = json::array();
    for (const auto& w : registry.snapshot()) list.push_back({{"worker", w->key()}, {"load", w->load.load()}});
    send(r, 200, {{"workers", list}});
  });

  http.Get("/workers", [this](const Request&, Response& r) { send(r, 200, workers_json()); });
  http.Post("/workers", [this](const Request& q, Response& r) {
    json body = json::parse(q.body, nullptr, false);
    if (!body.is_object() || !body.contains("url") || !body["url"].is_string())
      return fail(r, 400, "POST /workers needs a JSON body {\"url\": \"http://host:port\"}");
    try {
      auto added = add_worker(body["url"].get<std::string>());
      json keys = json::array();
      for (auto& w : added) keys.push_back(w->key());
      send(r, 202, {{"status", "accepted"}, {"workers", keys}, {"message", "the worker joins the rotation once healthy"}});
    } catch (const sgl::Error& e) {
      fail(r, std::string(e.what()).find("already registered") != std::string::npos ? 409 : 400, e.what());
    }
  });
  auto del = [this](const std::string& url, Response& r) {
    if (url.empty()) return fail(r, 400, "which worker? DELETE /workers/<url> or /workers?url=<url>");
    auto gone = remove_worker(url);
    if (gone.empty()) return fail(r, 404, fmt::format("no worker {}", url));
    send(r, 200, {{"status", "removed"}, {"removed", gone.size()}});
  };
  http.Delete("/workers", [del](const Request& q, Response& r) { del(q.get_param_value("url"), r); });
  http.Delete(R"(/workers/(.+))", [del](const Request& q, Response& r) { del(q.matches[1].str(), r); });

  // Legacy routes of older sglang_router releases.
  http.Post("/add_worker", [this](const Request& q, Response& r) {
    std::string url = q.get_param_value("url");
    if (url.empty()) return fail(r, 400, "POST /add_worker?url=http://host:port");
    try {
      auto added = add_worker(url);
      for (auto& w : added)
        if (!health.wait_healthy(*w, args.health.startup_timeout_secs))
          return fail(r, 503, fmt::format("worker {} did not become healthy within {} s (it stays registered)", w->key(),
                                          args.health.startup_timeout_secs));
      r.set_content(fmt::format("Successfully added worker: {}", url), "text/plain");
    } catch (const sgl::Error& e) {
      fail(r, std::string(e.what()).find("already registered") != std::string::npos ? 409 : 400, e.what());
    }
  });
  http.Post("/remove_worker", [del](const Request& q, Response& r) { del(q.get_param_value("url"), r); });
  http.Get("/list_workers", [this](const Request&, Response& r) {
    json urls = json::array();
    for (const auto& w : registry.snapshot()) urls.push_back(w->key());
    send(r, 200, {{"urls", urls}});
  });

  auto metrics_page = [this](const Request&, Response& r) {
    r.set_content(metrics.render(registry.snapshot(), *policy, admission.active(), admission.waiting()),
                  "text/plain; version=0.0.4");
  };
  http.Get("/metrics", metrics_page);
  metrics_http.Get("/metrics", metrics_page);
}

RouterServer::RouterServer(RouterArgs args) {
  args.validate();
  impl_ = std::make_unique<Impl>(std::move(args));
  for (const auto& u : impl_->args.worker_urls) impl_->add_worker(u);
  impl_->routes();
}

RouterServer::~RouterServer() { stop(); }

int RouterServer::bind() {
  Impl& m = *impl_;
  int port = m.args.port;
  if (port == 0) {
    port = m.http.bind_to_any_port(m.args.host);
    if (port < 0) SGL_THROW(Status::kIoError, "cannot bind {} on any port", m.args.host);
  } else if (!m.http.bind_to_port(m.args.host, port)) {
    SGL_THROW(Status::kIoError, "cannot bind {}:{} (in use, or not an address of this host)", m.args.host, port);
  }
  m.args.port = port;
  sgl::deepen_listen_backlog(port);
  if (m.args.prometheus_port > 0) {
    if (!m.metrics_http.bind_to_port(m.args.prometheus_host, m.args.prometheus_port))
      SGL_THROW(Status::kIoError, "cannot bind --prometheus-host {} --prometheus-port {}", m.args.prometheus_host,
                m.args.prometheus_port);
    m.metrics_port = m.args.prometheus_port;
    m.metrics_thread = std::thread([&m] { m.metrics_http.listen_after_bind(); });
  }
  m.health.start();
  m.evictor = std::thread([&m] {
    std::unique_lock lk(m.evict_mu);
    while (!m.evict_cv.wait_for(lk, std::chrono::duration<double>(m.args.eviction_interval_secs), [&] { return m.stopping; })) {
      lk.unlock();
      size_t n = m.policy->evict();
      if (n) SGL_LOG_DEBUG("evicted {} bytes of routing tree", n);
      lk.lock();
    }
  });
  return port;
}

int RouterServer::metrics_port() const { return impl_->metrics_port; }

void RouterServer::serve() { impl_->http.listen_after_bind(); }

void RouterServer::stop() {
  if (!impl_) return;
  Impl& m = *impl_;
  m.http.stop();
  m.metrics_http.stop();
  if (m.metrics_thread.joinable()) m.metrics_thread.join();
  {
    std::lock_guard lk(m.evict_mu);
    m.stopping = true;
  }
  m.evict_cv.notify_all();
  if (m.evictor.joinable()) m.evictor.join();
  m.health.stop();
}

size_t RouterServer::wait_for_workers(double timeout_secs) {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_secs);
  for (;;) {
    size_t healthy = 0, total = 0;
    for (const auto& w : impl_->registry.snapshot()) {
      ++total;
      healthy += w->health() == Worker::Health::kHealthy;
    }
    if (healthy == total || std::chrono::steady_clock::now() >= end) return healthy;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Policy& RouterServer::policy() { return *impl_->policy; }

}  // namespace sgl::router
