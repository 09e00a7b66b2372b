// sgl-server: loads a model into an sgl::Engine and serves SGLang's native API and the OpenAI API
// over HTTP. SIGINT / SIGTERM stop it cleanly (in-flight requests end with an abort).
#include <csignal>
#include <cstdio>
#include <thread>
#include <vector>

#include "core/support/log.hpp"
#include "engine_group.hpp"
#include "http_server.hpp"
#include "server_args.hpp"
#include "sgl/engine.hpp"
#include "sgl/error.hpp"

int main(int argc, char** argv) {
  sgl::server::ServerArgs args;
  if (int rc = sgl::server::parse_server_args(argc, argv, args); rc >= 0) return rc;
  try {
    args.validate();
  } catch (const sgl::Error& e) {
    std::fprintf(stderr, "sgl-server: %s\n", e.what());
    return 2;
  }
  sgl::set_log_level(args.log_level == "debug"     ? sgl::LogLevel::kDebug
                     : args.log_level == "warning" ? sgl::LogLevel::kWarn
                     : args.log_level == "error"   ? sgl::LogLevel::kError
                                                   : sgl::LogLevel::kInfo);
  for (const auto& line : args.compat.info) SGL_LOG_INFO("{}", line);
  // Signals go to one waiting thread (set up before any other thread starts), which stops the
  // server from ordinary code rather than from a signal handler.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  try {
    // --dp-size N: N replicas of the engine behind this one server.
    auto replicas = sgl::server::make_replicas(args.engine, args.dp_size);
    std::vector<sgl::Engine*> engines;
    for (auto& e : replicas) engines.push_back(e.get());
    sgl::server::HttpServer server(engines, args);
    int port = server.bind();
    std::thread waiter([&] {
      int sig = 0;
      sigwait(&set, &sig);
      SGL_LOG_INFO("signal {}: shutting down", sig);
      server.stop();
    });
    SGL_LOG_INFO("sgl-server: serving {} as '{}' on http://{}:{}", args.engine.model_path, args.model_name(), args.host, port);
    server.serve();
    // serve() returned without a signal (listen failed): wake the waiter so it can be joined.
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
  } catch (const sgl::Error& e) {
    std::fprintf(stderr, "sgl-server: %s\n", e.what());
    return 1;
  }
  return 0;
}
