// HttpServer: sgl-server's routes on cpp-httplib, over one sgl::Engine or --dp-size replicas of it
// (engine_group.hpp picks one per generation request).
//   SGLang native: POST /generate, GET /health, /health_generate, /get_model_info,
//                  /get_server_info, POST|GET /flush_cache, GET /metrics
//   OpenAI:        POST /v1/completions, /v1/chat/completions, GET /v1/models
// Handler threads only parse, submit and format; the engine's scheduler thread does the work.
// A client that goes away mid-stream cancels its request, which frees its KV pages.
#pragma once

#include <memory>
#include <vector>

#include "server_args.hpp"
#include "sgl/engine.hpp"

namespace sgl::server {

class HttpServer {
 public:
  // `engine` must outlive the server.
  HttpServer(Engine& engine, ServerArgs args);
  // Data parallel: `replicas` (same model, non-empty) must outlive the server; requests are
  // spread by args.load_balance_method.
  HttpServer(std::vector<Engine*> replicas, ServerArgs args);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds args.host:args.port (port 0 = any free port) and returns the bound port.
  // Throws sgl::Error(kIoError) when the address cannot be bound.
  int bind();
  // Serves until stop(); call after bind().
  void serve();
  // Makes serve() return; safe from any thread.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sgl::server
