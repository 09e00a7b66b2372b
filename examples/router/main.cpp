// sgl-router: a cache-aware HTTP router in front of sgl-server workers, launched like SGLang's
// `python -m sglang_router.launch_router`. SIGINT / SIGTERM stop it cleanly.
#include <csignal>
#include <cstdio>
#include <thread>

#include "core/support/log.hpp"
#include "router_args.hpp"
#include "router_server.hpp"
#include "sgl/error.hpp"

int main(int argc, char** argv) {
  sgl::router::RouterArgs args;
  if (int rc = sgl::router::parse_router_args(argc, argv, args); rc >= 0) return rc;
  sgl::set_log_level(args.log_level == "debug"     ? sgl::LogLevel::kDebug
                     : args.log_level == "warning" ? sgl::LogLevel::kWarn
                     : args.log_level == "error"   ? sgl::LogLevel::kError
                                                   : sgl::LogLevel::kInfo);
  // Signals go to one waiting thread (blocked before any other thread starts), which stops the
  // server from ordinary code rather than from a signal handler.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  try {
    sgl::router::RouterServer router(args);
    int port = router.bind();
    std::thread waiter([&] {
      int sig = 0;
      sigwait(&set, &sig);
      SGL_LOG_INFO("signal {}: shutting down", sig);
      router.stop();
    });
    SGL_LOG_INFO("sgl-router: {} policy, {} worker(s), on http://{}:{}", args.policy.name, args.worker_urls.size(),
                 args.host, port);
    if (router.metrics_port()) SGL_LOG_INFO("sgl-router: metrics on http://{}:{}/metrics", args.prometheus_host, router.metrics_port());
    router.serve();
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
  } catch (const sgl::Error& e) {
    std::fprintf(stderr, "sgl-router: %s\n", e.what());
    return 1;
  }
  return 0;
}
