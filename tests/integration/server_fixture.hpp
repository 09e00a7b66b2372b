// A running sgl-server for integration tests: a tiny synthetic model (with its own SPM tokenizer
// and ChatML template) written to a scratch folder, an Engine on it, and an HttpServer on a free
// 127.0.0.1 port serving on a background thread. Plus small HTTP / SSE helpers.
#pragma once

#include <httplib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/model/synthetic_model.hpp"
#include "http_server.hpp"
#include "sgl/engine.hpp"
#include "support/test_support.hpp"

namespace sgl::test {

using json = nlohmann::json;

// Writes the tiny synthetic GGUF once per process and returns its path.
inline std::string tiny_model_path() {
  static const std::string path = [] {
    auto dir = scratch_dir("server_model");
    std::string p = (dir / "tiny.gguf").string();
    SyntheticSpec spec = synthetic_preset("tiny");
    write_synthetic_gguf(spec, p);
    return p;
  }();
  return path;
}

class ServerFixture {
 public:
  // `tweak` may change the engine config / server args before start.
  template <typename F>
  explicit ServerFixture(F&& tweak) {
    server::ServerArgs args;
    args.engine.model_path = tiny_model_path();
    args.engine.threads = 1;
    args.engine.max_total_tokens = 32768;
    args.host = "127.0.0.1";
    args.port = 0;
    args.served_model_name = "sgl-tiny";
    args.enable_metrics = true;
    args.max_request_bytes = 1 << 20;
    args.log_level = "warning";
    tweak(args);
    args.validate();
    engine_ = std::make_unique<Engine>(args.engine);
    server_ = std::make_unique<server::HttpServer>(*engine_, args);
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->serve(); });
  }
  ServerFixture() : ServerFixture([](server::ServerArgs&) {}) {}
  ~ServerFixture() {
    server_->stop();
    thread_.join();
    server_.reset();
    engine_.reset();
  }

  int port() const { return port_; }
  Engine& engine() { return *engine_; }
  std::unique_ptr<httplib::Client> client(int timeout_s = 30) const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
    c->set_read_timeout(timeout_s, 0);
    c->set_write_timeout(timeout_s, 0);
    c->set_connection_timeout(5, 0);
    return c;
  }

 private:
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<server::HttpServer> server_;
  std::thread thread_;
  int port_ = 0;
};

// The `data:` payloads of an SSE body, in order; comment lines (": keep-alive") are skipped.
// Returns false in `ok` when the body is not well-formed SSE (a line that is neither).
inline std::vector<std::string> sse_events(const std::string& body, bool* ok = nullptr) {
  std::vector<std::string> out;
  bool good = true;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) {
      good = false;  // a trailing partial event
      break;
    }
    std::string ev = body.substr(pos, end - pos);
    pos = end + 2;
    if (ev.rfind(":", 0) == 0) continue;
    if (ev.rfind("data: ", 0) != 0 || ev.find('\n') != std::string::npos) {
      good = false;
      continue;
    }
    out.push_back(ev.substr(6));
  }
  if (ok) *ok = good;
  return out;
}

inline json post_json(httplib::Client& c, const std::string& path, const json& body, int* status = nullptr) {
  auto res = c.Post(path.c_str(), body.dump(), "application/json");
  if (!res) {
    if (status) *status = -1;
    return json();
  }
  if (status) *status = res->status;
  return json::parse(res->body, nullptr, false);
}

}  // namespace sgl::test
