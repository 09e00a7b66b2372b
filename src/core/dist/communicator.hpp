// Communicator: the collectives a tensor/expert-parallel group needs, behind one small interface
// so a device backend can bring its own library (NCCL-like) later. The implementation here is on
// Gloo (communicator_gloo.cpp, built when CMake finds Gloo). Every member is a collective or a
// matched point-to-point call: all ranks of the group must make the same calls in the same order
// (a divergence hangs until the operation timeout, then throws). Not thread-safe: one thread per
// communicator drives it. Failures (a peer gone, a timeout) throw sgl::Error(kIoError).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace sgl::dist {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  // In place: data[i] = sum over ranks of data[i].
  virtual void allreduce_sum(float* data, size_t count) = 0;
  // out (size() * bytes) = every rank's `bytes` input, in rank order.
  virtual void allgather(const void* in, void* out, size_t bytes) = 0;
  // data (bytes) = root's data on every rank.
  virtual void broadcast(void* data, size_t bytes, int root) = 0;
  virtual void barrier() = 0;
  // Blocking point-to-point; a send completes once the matching recv (same tag) takes it.
  virtual void send(const void* data, size_t bytes, int dst, uint32_t tag) = 0;
  virtual void recv(void* data, size_t bytes, int src, uint32_t tag) = 0;
};

struct DistOptions {
  std::string init_addr;  // HOST:PORT of rank 0's rendezvous store (--dist-init-addr)
  int rank = 0;
  int size = 1;
  std::string group = "world";  // several groups may share one store
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(300)};  // for every rank to join
  std::chrono::milliseconds op_timeout{std::chrono::seconds(300)};       // for one collective
  std::string iface;  // network interface for the transport; "" = GLOO_SOCKET_IFNAME, else the
                      // interface that routes to HOST
};

// True when this build has a multi-process backend (Gloo).
bool distributed_available();

// Joins the group described by `opt`: rank 0 serves the store at init_addr, everyone connects
// (retrying until connect_timeout), waits for all ranks (the error names the ranks that never
// came), then connects the transport. Throws sgl::Error: kInvalidArgument for bad options,
// kUnsupported ("unsupported in this build") without Gloo, kIoError for network failures.
std::unique_ptr<Communicator> connect(const DistOptions& opt);

}  // namespace sgl::dist
