#include "proxy.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "core/support/log.hpp"

namespace sgl::router {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

bool retryable_status(int s) { return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504; }

std::string error_json(int status, const std::string& message) {
  const char* type = status == 429 ? "rate_limit_error" : status >= 500 ? "server_error" : "invalid_request_error";
  return json{{"error", {{"message", message}, {"type", type}, {"code", status}}}}.dump();
}

// One upstream streaming exchange. The reader thread fills `chunks` as the worker writes; the
// client side drains them. Destroying the stream shuts the upstream socket and joins the thread.
struct Proxy::Stream {
  std::mutex mu;
  std::condition_variable cv;
  bool head = false, done = false;
  int status = 0;
  std::string content_type;
  std::deque<std::string> chunks;
  httplib::Error error = httplib::Error::Success;
  std::atomic<bool> cancel{false};
  std::unique_ptr<httplib::Client> client;
  std::optional<LoadGuard> guard;  // the worker's load lasts as long as the stream
  std::thread reader;

  void abort() {
    cancel = true;
    if (client) client->stop();  // unblocks a read waiting on a silent worker
  }
  ~Stream() {
    if (reader.joinable()) {
      abort();
      reader.join();
    }
  }
  std::string drain() {  // callers hold mu
    std::string all;
    for (auto& c : chunks) all += c;
    chunks.clear();
    return all;
  }
};

Proxy::Proxy(const RouterArgs& args, WorkerRegistry& registry, Policy& policy, RouterMetrics& metrics)
    : args_(args), registry_(registry), policy_(policy), metrics_(metrics) {}

std::shared_ptr<Worker> Proxy::pick(const ProxyRequest& pr, const std::set<const Worker*>& tried) {
  auto all = registry_.snapshot();
  std::vector<std::shared_ptr<Worker>> ok;
  for (auto& w : all)
    if (!tried.count(w.get()) && w->routable()) ok.push_back(w);
  if (ok.empty())  // every routable worker failed this request once: try them again
    for (auto& w : all)
      if (w->routable()) ok.push_back(w);
  if (ok.empty()) return nullptr;
  if (!pr.use_policy) return ok[0];
  std::vector<Candidate> c;
  c.reserve(ok.size());
  for (auto& w : ok) c.push_back({w->key(), w->load.load()});
  return ok[policy_.select(c, pr.text)];
}

double Proxy::backoff_ms(int retry) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const RetryConfig& r = args_.retry;
  double d = r.initial_backoff_ms;
  for (int i = 0; i < retry && d < r.max_backoff_ms; ++i) d *= r.backoff_multiplier;
  d = std::min(d, r.max_backoff_ms);
  double j = std::uniform_real_distribution<double>(-r.jitter_factor, r.jitter_factor)(rng);
  return std::max(0.0, d * (1.0 + j));
}

std::unique_ptr<httplib::Client> Proxy::client_for(const Worker& w) const {
  auto c = std::make_unique<httplib::Client>(w.host(), w.port());
  // Requests go out as a header write and a body write: on a kept-alive connection Nagle would
  // hold the body until the worker's delayed ACK (~40 ms), which showed as TTFT through the router.
  c->set_tcp_nodelay(true);
  double t = args_.request_timeout_secs;
  auto sec = static_cast<time_t>(t);
  auto usec = static_cast<time_t>((t - static_cast<double>(sec)) * 1e6);
  c->set_read_timeout(sec, usec);
  c->set_write_timeout(sec, usec);
  c->set_connection_timeout(std::min<time_t>(sec, 5), sec < 5 ? usec : 0);
  return c;
}

ClientPool::Lease Proxy::connect(const Worker& w, bool fresh) {
  return pool_.acquire(w.key(), [&] { return client_for(w); }, fresh);
}

std::string Proxy::body_for(const ProxyRequest& pr, const Worker& w) const {
  if (w.dp_rank() < 0 || !pr.parsed || !pr.parsed->is_object()) return pr.body;
  json j = *pr.parsed;
  j["data_parallel_rank"] = w.dp_rank();
  return j.dump();
}

void Proxy::forward(const ProxyRequest& pr, httplib::Response& res) {
  const auto t0 = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  auto reply = [&](int status, std::string body, const std::string& type) {
    res.status = status;
    res.set_content(std::move(body), type.empty() ? "application/json" : type.c_str());
    metrics_.on_response(status, elapsed());
  };

  const int attempts = args_.retry.enabled ? args_.retry.max_retries + 1 : 1;
  std::set<const Worker*> tried;
  int last_status = 0;
  std::string last_body, last_type;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(backoff_ms(attempt - 1)));
      metrics_.on_retry();
    }
    auto w = pick(pr, tried);
    if (!w) break;
    tried.insert(w.get());
    ++w->requests;
    const bool last_try = attempt + 1 == attempts;
    std::string body = body_for(pr, *w);

    if (!pr.stream) {
      LoadGuard guard(w);
      auto lease = connect(*w, false);
      auto send = [&](httplib::Client& c) {
        return pr.method == "GET" ? c.Get(pr.path.c_str(), pr.headers)
                                  : c.Post(pr.path.c_str(), pr.headers, body, "application/json");
      };
      httplib::Result r = send(*lease.client);
      if (!r && lease.reused) {  // the worker closed the idle connection: once more on a new one
        lease = connect(*w, true);
        r = send(*lease.client);
      }
      if (r) pool_.release(w->key(), std::move(lease.client));
      int status = r ? r->status : 500;  // a connection failure counts as a 500, as in SGLang
      w->breaker.record(r && status < 500);
      if (!r || status >= 400) ++w->errors;
      if (retryable_status(status) && !last_try) {
        ++w->retries;
        SGL_LOG_DEBUG("{} {} on {}: {}; retrying", pr.method, pr.path, w->key(),
                      r ? std::to_string(status) : httplib::to_string(r.error()));
        last_status = status;
        last_body = r ? r->body : error_json(502, fmt::format("worker {} unreachable", w->key()));
        last_type = r ? r->get_header_value("Content-Type") : "";
        continue;
      }
      if (!r)
        return reply(502, error_json(502, fmt::format("worker {} unreachable: {}", w->key(), httplib::to_string(r.error()))),
                     "");
      return reply(status, r->body, r->get_header_value("Content-Type"));
    }

    // Streaming: read upstream on a thread, decide on the status before answering the client.
    auto start = [&](ClientPool::Lease lease) {
      auto st = std::make_shared<Stream>();
      st->client = std::move(lease.client);
      st->guard.emplace(w);
      Stream* s = st.get();
      httplib::Request up;
      up.method = pr.method;
      up.path = pr.path;
      up.headers = pr.headers;
      up.body = body;
      up.set_header("Content-Type", "application/json");
      up.response_handler = [s](const httplib::Response& r) {
        std::lock_guard lk(s->mu);
        s->head = true;
        s->status = r.status;
        s->content_type = r.get_header_value("Content-Type");
        s->cv.notify_all();
        return !s->cancel.load();
      };
      up.content_receiver = [s](const char* data, size_t n, uint64_t, uint64_t) {
        if (s->cancel) return false;
        std::lock_guard lk(s->mu);
        s->chunks.emplace_back(data, n);
        s->cv.notify_all();
        return true;
      };
      st->reader = std::thread([s, up = std::move(up)] {
        auto r = s->client->send(up);
        std::lock_guard lk(s->mu);
        s->done = true;
        s->error = r.error();
        s->cv.notify_all();
      });
      return st;
    };
    ClientPool::Lease lease = connect(*w, false);
    const bool reused = lease.reused;
    auto st = start(std::move(lease));
    if (reused) {  // a stale idle connection fails at once, before any answer: resend on a new one
      std::unique_lock lk(st->mu);
      st->cv.wait(lk, [&] { return st->head || st->done; });
      if (!st->head) {
        lk.unlock();
        st = start(connect(*w, true));
      }
    }

    std::unique_lock lk(st->mu);
    st->cv.wait(lk, [&] { return st->head || st->done; });
    if (st->head && st->status >= 200 && st->status < 300) {
      w->breaker.record(true);
      res.status = st->status;
      res.set_header("Cache-Control", "no-cache");
      std::string type = st->content_type.empty() ? "text/event-stream" : st->content_type;
      lk.unlock();
      res.set_chunked_content_provider(type, [this, st, w, t0, hold = pr.hold](size_t, httplib::DataSink& sink) {
        auto secs = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
        std::unique_lock l(st->mu);
        for (;;) {
          st->cv.wait(l, [&] { return !st->chunks.empty() || st->done; });
          while (!st->chunks.empty()) {
            std::string c = std::move(st->chunks.front());
            st->chunks.pop_front();
            l.unlock();
            bool ok = sink.write(c.data(), c.size());
            if (!ok) {
              // The client left: stop the worker's generation by closing its connection.
              st->abort();
              metrics_.on_response(499, secs());
              SGL_LOG_DEBUG("client disconnected; aborted upstream on {}", w->key());
              return false;
            }
            l.lock();
          }
          if (st->done) break;
        }
        auto err = st->error;
        l.unlock();
        if (err == httplib::Error::Success && !st->cancel) {  // a clean exchange: keep the connection
          st->reader.join();
          pool_.release(w->key(), std::move(st->client));
        }
        if (err != httplib::Error::Success) {
          ++w->errors;
          w->breaker.record(false);
          std::string msg = fmt::format("worker {} failed mid-stream: {}", w->key(), httplib::to_string(err));
          SGL_LOG_WARN("{}", msg);
          std::string ev = "data: " + error_json(502, msg) + "\n\n";
          sink.write(ev.data(), ev.size());
          metrics_.on_response(502, secs());
        } else {
          metrics_.on_response(200, secs());
        }
        sink.done();
        return true;
      });
      return;
    }
    // An error status or no answer: nothing reached the client yet, so it may be retried.
    st->cv.wait(lk, [&] { return st->done; });
    int status = st->head ? st->status : 500;
    std::string err_body = st->head ? st->drain() : "";
    std::string err_type = st->content_type;
    auto err = st->error;
    lk.unlock();
    w->breaker.record(st->head && status < 500);
    ++w->errors;
    if (retryable_status(status) && !last_try) {
      ++w->retries;
      last_status = status;
      last_body = st->head ? err_body : error_json(502, fmt::format("worker {} unreachable", w->key()));
      last_type = err_type;
      continue;
    }
    if (!st->head)
      return reply(502, error_json(502, fmt::format("worker {} unreachable: {}", w->key(), httplib::to_string(err))), "");
    return reply(status, err_body, err_type);
  }
  if (last_status) return reply(last_status == 500 && last_type.empty() ? 502 : last_status, last_body, last_type);
  reply(503, error_json(503, "no healthy workers"), "");
}

}  // namespace sgl::router
