// TcpStore: the key-value store ranks rendezvous on at --dist-init-addr HOST:PORT. Rank 0 runs a
// TcpStoreServer there; every rank (0 included) talks to it through a TcpStoreClient. Gloo ships
// File/Hash/Redis stores but no TCP one, and its connectFullMesh reads peers' addresses with get()
// without waiting first, so get() here blocks until the key exists (or the timeout passes).
// Keys are strings, values bytes; values are never overwritten in practice (set replaces).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sgl::dist {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// Serves the store on host:port (host must be an address of this machine; port 0 = any free
// port). Threads: one accepting, one per connected client. Throws sgl::Error(kIoError) when the
// address cannot be bound, naming it.
class TcpStoreServer {
 public:
  TcpStoreServer(const std::string& host, int port);
  ~TcpStoreServer();
  TcpStoreServer(const TcpStoreServer&) = delete;
  TcpStoreServer& operator=(const TcpStoreServer&) = delete;

  int port() const { return port_; }

 private:
  void accept_loop();
  void serve(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, std::vector<char>> data_;
  bool stopping_ = false;
  std::vector<int> client_fds_;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

// One connection to a TcpStoreServer; calls are serialized by a mutex (safe from any thread).
class TcpStoreClient {
 public:
  // Connects to host:port, retrying until `deadline` (rank 0 may start later than the others).
  // Throws sgl::Error(kIoError) naming the address when it cannot connect by then.
  TcpStoreClient(const std::string& host, int port, Clock::time_point deadline);
  ~TcpStoreClient();
  TcpStoreClient(const TcpStoreClient&) = delete;
  TcpStoreClient& operator=(const TcpStoreClient&) = delete;

  void set(const std::string& key, const std::vector<char>& value);
  // Blocks until the key exists; throws sgl::Error(kIoError) naming the key after `timeout`.
  std::vector<char> get(const std::string& key, Millis timeout);
  // Blocks until every key exists or `timeout` passes; returns the keys still missing (empty
  // when all exist).
  std::vector<std::string> wait(const std::vector<std::string>& keys, Millis timeout);

  const std::string& address() const { return address_; }

 private:
  std::vector<char> call(const std::vector<char>& request);

  int fd_ = -1;
  std::string address_;
  std::mutex mu_;
};

}  // namespace sgl::dist
