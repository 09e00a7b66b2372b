// ClientPool against an in-process HTTP server: a returned connection is lent again (the server
// sees the same client port, no new connect), connections lent at the same time are distinct, and
// a worker's idle connections go when it leaves.
#include <doctest/doctest.h>
#include <httplib.h>

#include <string>
#include <thread>

#include "client_pool.hpp"

using sgl::router::ClientPool;

namespace {

struct EchoServer {  // answers each request with the client's port, i.e. which connection it came on
  httplib::Server http;
  int port = 0;
  std::thread thread;
  EchoServer() {
    http.Get("/port", [](const httplib::Request& q, httplib::Response& r) {
      r.set_content(std::to_string(q.remote_port), "text/plain");
    });
    port = http.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { http.listen_after_bind(); });
    while (!http.is_running()) std::this_thread::yield();
  }
  ~EchoServer() {
    http.stop();
    thread.join();
  }
};

}  // namespace

TEST_CASE("ClientPool reuses keep-alive connections to a worker") {
  EchoServer srv;
  ClientPool pool;
  auto make = [&] { return std::make_unique<httplib::Client>("127.0.0.1", srv.port); };
  const std::string key = "127.0.0.1:" + std::to_string(srv.port);

  auto a = pool.acquire(key, make);
  CHECK_FALSE(a.reused);
  auto r1 = a.client->Get("/port");
  REQUIRE(r1);
  pool.release(key, std::move(a.client));
  CHECK(pool.idle(key) == 1);

  auto b = pool.acquire(key, make);
  CHECK(b.reused);
  auto r2 = b.client->Get("/port");
  REQUIRE(r2);
  CHECK(r2->body == r1->body);  // the same TCP connection
  CHECK(pool.connections_made() == 1);

  auto c = pool.acquire(key, make);  // b is still lent: a second connection
  CHECK_FALSE(c.reused);
  auto r3 = c.client->Get("/port");
  REQUIRE(r3);
  CHECK(r3->body != r2->body);
  CHECK(pool.connections_made() == 2);

  auto f = pool.acquire(key, make, /*fresh=*/true);
  CHECK_FALSE(f.reused);
  CHECK(pool.connections_made() == 3);

  pool.release(key, std::move(b.client));
  pool.release(key, std::move(c.client));
  pool.release("other:1", nullptr);  // nothing to keep
  CHECK(pool.idle(key) == 2);
  CHECK(pool.idle("other:1") == 0);
  pool.drop(key);
  CHECK(pool.idle(key) == 0);
}
