// src/core/dist: the rendezvous store and the Gloo communicator, over loopback with real
// processes (fork): every collective at 2, 3 and 4 ranks and several sizes against exact sums
// (small integers, so float sums are exact), and the start-up timeout naming missing ranks.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "core/dist/communicator.hpp"
#include "core/dist/init_addr.hpp"
#include "core/dist/tcp_store.hpp"
#include "sgl/error.hpp"

using namespace sgl::dist;
using namespace std::chrono_literals;

namespace {

// A port free right now (the kernel's pick); the store binds it again a moment later.
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

// Runs body(rank) in `ranks` forked processes; returns each one's exit code (0 = every check
// passed). A child that is still running after `limit` is killed (exit code -9), so a hang
// fails the test instead of stalling ctest.
std::vector<int> run_ranks(int ranks, const std::function<int(int)>& body, std::chrono::seconds limit = 120s) {
  std::vector<pid_t> pids;
  for (int r = 0; r < ranks; ++r) {
    pid_t pid = ::fork();
    if (pid == 0) {
      int rc = 1;
      try {
        rc = body(r);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "rank %d: %s\n", r, e.what());
        rc = 3;
      }
      std::fflush(stderr);
      ::_exit(rc);
    }
    pids.push_back(pid);
  }
  std::vector<int> codes(static_cast<size_t>(ranks), -1);
  auto deadline = std::chrono::steady_clock::now() + limit;
  size_t left = pids.size();
  while (left > 0) {
    for (size_t i = 0; i < pids.size(); ++i) {
      if (pids[i] == 0) continue;
      int st = 0;
      if (::waitpid(pids[i], &st, WNOHANG) == pids[i]) {
        codes[i] = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
        pids[i] = 0;
        --left;
      }
    }
    if (left > 0 && std::chrono::steady_clock::now() > deadline) {
      for (pid_t p : pids)
        if (p) ::kill(p, SIGKILL);
    }
    std::this_thread::sleep_for(10ms);
  }
  return codes;
}

#define RANK_CHECK(cond)                                                        \
  do {                                                                          \
    if (!(cond)) {                                                              \
      std::fprintf(stderr, "rank %d: check failed at line %d: %s\n", c->rank(), __LINE__, #cond); \
      return 1;                                                                 \
    }                                                                           \
  } while (0)

DistOptions options(int port, int rank, int size) {
  DistOptions o;
  o.init_addr = "127.0.0.1:" + std::to_string(port);
  o.rank = rank;
  o.size = size;
  o.connect_timeout = 30s;
  o.op_timeout = 60s;
  return o;
}

// Every op at one world size; returns 0 when all results are exact.
int exercise(int rank, int size, int port) {
  auto c = connect(options(port, rank, size));
  RANK_CHECK(c->rank() == rank && c->size() == size);
  const float tri = static_cast<float>(size * (size + 1) / 2);
  for (size_t n : {size_t{1}, size_t{7}, size_t{1000}, size_t{1} << 20}) {  // up to 4 MB
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>((rank + 1) * static_cast<int>(i % 97));
    c->allreduce_sum(v.data(), n);
    for (size_t i = 0; i < n; ++i) RANK_CHECK(v[i] == tri * static_cast<float>(i % 97));
  }
  for (size_t n : {size_t{1}, size_t{1000}, size_t{1} << 20}) {
    std::vector<char> in(n), out(n * static_cast<size_t>(size));
    for (size_t i = 0; i < n; ++i) in[i] = static_cast<char>(rank * 31 + static_cast<int>(i));
    c->allgather(in.data(), out.data(), n);
    for (int r = 0; r < size; ++r)
      for (size_t i = 0; i < n; ++i) RANK_CHECK(out[static_cast<size_t>(r) * n + i] == static_cast<char>(r * 31 + static_cast<int>(i)));
  }
  for (int root = 0; root < size; ++root)
    for (size_t n : {size_t{3}, size_t{1} << 20}) {
      std::vector<char> b(n, 0);
      if (rank == root)
        for (size_t i = 0; i < n; ++i) b[i] = static_cast<char>(root + static_cast<int>(i) * 7);
      c->broadcast(b.data(), n, root);
      for (size_t i = 0; i < n; ++i) RANK_CHECK(b[i] == static_cast<char>(root + static_cast<int>(i) * 7));
    }
  c->barrier();
  // Point to point: rank 0 sends each peer two messages (two tags), the peer answers with a
  // third computed from both. Sends block until the matching recv, so the order is the same.
  for (size_t n : {size_t{16}, size_t{300000}}) {
    if (rank == 0) {
      for (int p = 1; p < size; ++p) {
        std::vector<int32_t> a(n, p), b(n, -p);
        c->send(a.data(), n * 4, p, 1);
        c->send(b.data(), n * 4, p, 2);
      }
      for (int p = 1; p < size; ++p) {
        std::vector<int32_t> back(n);
        c->recv(back.data(), n * 4, p, 3);
        for (int32_t x : back) RANK_CHECK(x == 2 * p - p);
      }
    } else {
      std::vector<int32_t> a(n), b(n);
      c->recv(a.data(), n * 4, 0, 1);
      c->recv(b.data(), n * 4, 0, 2);
      for (size_t i = 0; i < n; ++i) {
        RANK_CHECK(a[i] == rank && b[i] == -rank);
        a[i] = 2 * a[i] + b[i];
      }
      c->send(a.data(), n * 4, 0, 3);
    }
  }
  c->barrier();
  return 0;
}

}  // namespace

TEST_CASE("dist: --dist-init-addr parsing") {
  auto a = parse_init_addr("10.0.0.1:8746");
  CHECK(a.host == "10.0.0.1");
  CHECK(a.port == 8746);
  auto b = parse_init_addr("[::1]:5000");
  CHECK(b.host == "::1");
  CHECK(b.port == 5000);
  for (const char* bad : {"", "host", ":80", "host:", "host:0", "host:70000", "host:8x", "::1:80", "[::1]80"}) {
    CAPTURE(bad);
    try {
      parse_init_addr(bad);
      FAIL("accepted");
    } catch (const sgl::Error& e) {
      CHECK(e.code() == sgl::Status::kInvalidArgument);
      CHECK(std::string(e.what()).find("--dist-init-addr") != std::string::npos);
    }
  }
}

TEST_CASE("dist: the TCP store's get blocks until the key is set, and times out naming it") {
  TcpStoreServer server("127.0.0.1", 0);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  TcpStoreClient a("127.0.0.1", server.port(), deadline), b("127.0.0.1", server.port(), deadline);
  std::thread setter([&] {
    std::this_thread::sleep_for(50ms);
    b.set("k", {'x', 'y', '\0', 'z'});
  });
  auto v = a.get("k", 10s);
  setter.join();
  CHECK(v == std::vector<char>{'x', 'y', '\0', 'z'});
  CHECK(a.wait({"k", "m1", "m2"}, 50ms) == std::vector<std::string>{"m1", "m2"});
  CHECK(a.wait({"k"}, 0ms).empty());
  try {
    a.get("never", 50ms);
    FAIL("no timeout");
  } catch (const sgl::Error& e) {
    CHECK(std::string(e.what()).find("'never'") != std::string::npos);
  }
}

TEST_CASE("dist: a client gives up connecting at its deadline, naming the address") {
  int port = free_port();
  try {
    TcpStoreClient c("127.0.0.1", port, std::chrono::steady_clock::now() + 300ms);
    FAIL("connected to nothing");
  } catch (const sgl::Error& e) {
    CHECK(e.code() == sgl::Status::kIoError);
    CHECK(std::string(e.what()).find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
  }
}

TEST_CASE("dist: every collective at 2, 3 and 4 ranks") {
  if (!distributed_available()) {
    try {
      connect(options(free_port(), 0, 2));
      FAIL("connected without Gloo");
    } catch (const sgl::Error& e) {
      CHECK(e.code() == sgl::Status::kUnsupported);
      CHECK(std::string(e.what()).find("unsupported in this build") != std::string::npos);
    }
    MESSAGE("skipped: built without Gloo");
    return;
  }
  for (int size : {2, 3, 4}) {
    CAPTURE(size);
    int port = free_port();
    auto codes = run_ranks(size, [&](int r) { return exercise(r, size, port); });
    for (int code : codes) CHECK(code == 0);
  }
}

TEST_CASE("dist: rendezvous times out naming the ranks that never joined") {
  if (!distributed_available()) return;
  int port = free_port();
  // Ranks 0 and 2 of 4 start; 1 and 3 never do.
  auto codes = run_ranks(2, [&](int i) {
    DistOptions o = options(port, i * 2, 4);
    o.connect_timeout = 1500ms;
    try {
      connect(o);
    } catch (const sgl::Error& e) {
      std::string m = e.what();
      bool named = m.find("rank(s) 1, 3 of 4 never joined") != std::string::npos;
      if (!named) std::fprintf(stderr, "unexpected message: %s\n", m.c_str());
      return named && e.code() == sgl::Status::kIoError ? 0 : 1;
    }
    return 2;
  });
  CHECK(codes == std::vector<int>{0, 0});
}

TEST_CASE("dist: bad options are refused before any network traffic") {
  DistOptions o;
  o.init_addr = "127.0.0.1:1";
  o.size = 2;
  o.rank = 2;
  CHECK_THROWS_WITH_AS(connect(o), doctest::Contains("outside the group"), sgl::Error);
  o.rank = 0;
  o.init_addr = "nohost";
  CHECK_THROWS_WITH_AS(connect(o), doctest::Contains("HOST:PORT"), sgl::Error);
}
