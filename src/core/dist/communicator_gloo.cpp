// Communicator on Gloo's TCP transport. Algorithms used (each tested at 2, 3 and 4 ranks):
// AllreduceRing (the older gloo::allreduce RING entry point stalled on 4 MB over loopback, and
// AllreduceBcube returned wrong sums with 3 ranks), AllgatherRing, BroadcastOneToAll,
// BarrierAllToAll, and unbound buffers for send/recv.
#include <gloo/allgather_ring.h>
#include <gloo/allreduce_ring.h>
#include <gloo/barrier_all_to_all.h>
#include <gloo/broadcast_one_to_all.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/prefix_store.h>
#include <gloo/rendezvous/store.h>
#include <gloo/transport/tcp/device.h>

#include <climits>
#include <cstdlib>

#include "core/dist/communicator.hpp"
#include "core/dist/init_addr.hpp"
#include "core/dist/tcp_store.hpp"
#include "core/support/check.hpp"
#include "core/support/log.hpp"

namespace sgl::dist {
namespace {

// Gloo's view of our store. get() blocks (connectFullMesh reads peers' keys without waiting).
class GlooStore : public gloo::rendezvous::Store {
 public:
  GlooStore(TcpStoreClient& c, Millis timeout) : c_(c), timeout_(timeout) {}
  void set(const std::string& key, const std::vector<char>& data) override { c_.set(key, data); }
  std::vector<char> get(const std::string& key) override { return c_.get(key, timeout_); }
  void wait(const std::vector<std::string>& keys) override { wait(keys, timeout_); }
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override {
    auto missing = c_.wait(keys, timeout);
    if (!missing.empty())
      SGL_THROW(Status::kIoError, "rendezvous store at {}: key '{}' did not appear within {} ms", c_.address(), missing[0],
                timeout.count());
  }

 private:
  TcpStoreClient& c_;
  Millis timeout_;
};

std::string rank_list(const std::vector<std::string>& keys) {
  std::string s;
  for (const auto& k : keys) s += (s.empty() ? "" : ", ") + k.substr(k.rfind('/') + 1);
  return s;
}

// Slots of point-to-point messages live far above the ones algorithms take from nextSlot().
constexpr uint64_t kP2pSlotBase = uint64_t{1} << 48;

class GlooCommunicator final : public Communicator {
 public:
  explicit GlooCommunicator(const DistOptions& opt) : rank_(opt.rank), size_(opt.size), op_timeout_(opt.op_timeout), group_(opt.group + "/") {
    const InitAddr addr = parse_init_addr(opt.init_addr);
    const auto deadline = Clock::now() + opt.connect_timeout;
    auto left = [&] { return std::max(Millis(0), std::chrono::duration_cast<Millis>(deadline - Clock::now())); };
    if (rank_ == 0) server_ = std::make_unique<TcpStoreServer>(addr.host, addr.port);
    client_ = std::make_unique<TcpStoreClient>(addr.host, addr.port, deadline);

    // Join, then wait for everyone, so a missing rank is named instead of hanging in the mesh.
    const std::string& g = group_;
    client_->set(g + "joined/" + std::to_string(rank_), std::vector<char>{static_cast<char>(1)});
    client_->set(g + "size/" + std::to_string(rank_), to_bytes(std::to_string(size_)));
    std::vector<std::string> joined;
    for (int r = 0; r < size_; ++r) joined.push_back(g + "joined/" + std::to_string(r));
    // Rank 0 waits a little longer than the others, so ranks started with it time out first and
    // report the missing ranks themselves rather than a lost store.
    auto missing = client_->wait(joined, left() + (rank_ == 0 ? Millis(2000) : Millis(0)));
    if (!missing.empty())
      SGL_THROW(Status::kIoError, "rank {}: rendezvous at {} (group '{}') timed out after {} ms: rank(s) {} of {} never joined",
                rank_, client_->address(), opt.group, opt.connect_timeout.count(), rank_list(missing), size_);
    auto size0 = client_->get(g + "size/0", left());
    if (std::string(size0.begin(), size0.end()) != std::to_string(size_))
      SGL_THROW(Status::kInvalidArgument, "rank {}: group '{}' has {} ranks on rank 0 but {} here; every rank needs the same sizes",
                rank_, opt.group, std::string(size0.begin(), size0.end()), size_);

    gloo::transport::tcp::attr attr;
    std::string iface = opt.iface;
    if (iface.empty())
      if (const char* env = std::getenv("GLOO_SOCKET_IFNAME")) iface = env;
    if (!iface.empty()) attr.iface = iface;
    else attr.hostname = local_address_towards(addr.host);
    try {
      device_ = gloo::transport::tcp::CreateDevice(attr);
      ctx_ = std::make_shared<gloo::rendezvous::Context>(rank_, size_);
      ctx_->setTimeout(opt.op_timeout);
      GlooStore store(*client_, left());
      gloo::rendezvous::PrefixStore prefixed(g + "mesh", store);
      ctx_->connectFullMesh(prefixed, device_);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      SGL_THROW(Status::kIoError, "rank {}: connecting the Gloo transport ({}) failed: {}", rank_,
                iface.empty() ? "address " + attr.hostname : "interface " + iface, e.what());
    }
    barrier();  // everyone is done with the store's mesh keys before rank 0 may exit
    SGL_LOG_DEBUG("rank {}/{} joined group '{}' at {} over {}", rank_, size_, opt.group, client_->address(),
                  iface.empty() ? attr.hostname : iface);
  }

  // Gloo's last collective is not globally finished when it returns on one rank: a rank that
  // closed its sockets right away could fail a peer still completing it ("connection closed by
  // peer"). So ranks leave together: each marks itself done in the store and waits (bounded) for
  // the others before tearing the transport down. Best effort: a dead peer only costs the wait.
  ~GlooCommunicator() override {
    if (size_ == 1) return;
    try {
      client_->set(group_ + "done/" + std::to_string(rank_), std::vector<char>{static_cast<char>(1)});
      std::vector<std::string> done;
      for (int r = 0; r < size_; ++r) done.push_back(group_ + "done/" + std::to_string(r));
      client_->wait(done, std::min(op_timeout_, Millis(30000)) + (rank_ == 0 ? Millis(2000) : Millis(0)));
    } catch (const std::exception& e) {
      SGL_LOG_DEBUG("rank {}: leaving group {}: {}", rank_, group_, e.what());
    }
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void allreduce_sum(float* data, size_t count) override {
    if (size_ == 1 || count == 0) return;
    guard("allreduce", [&] {
      for (size_t at = 0; at < count; at += kMaxCount) {
        const int n = static_cast<int>(std::min(count - at, kMaxCount));
        gloo::AllreduceRing<float>(ctx_, {data + at}, n).run();
      }
    });
  }

  void allgather(const void* in, void* out, size_t bytes) override {
    SGL_CHECK(bytes * static_cast<size_t>(size_) <= static_cast<size_t>(INT_MAX), "allgather of {} bytes x {} ranks exceeds 2 GiB",
              bytes, size_);
    if (bytes == 0) return;
    guard("allgather", [&] {
      gloo::AllgatherRing<char>(ctx_, {static_cast<const char*>(in)}, static_cast<char*>(out), static_cast<int>(bytes)).run();
    });
  }

  void broadcast(void* data, size_t bytes, int root) override {
    SGL_CHECK(root >= 0 && root < size_, "broadcast root {} outside [0, {})", root, size_);
    if (size_ == 1 || bytes == 0) return;
    guard("broadcast", [&] {
      char* p = static_cast<char*>(data);
      for (size_t at = 0; at < bytes; at += kMaxCount) {
        const int n = static_cast<int>(std::min(bytes - at, kMaxCount));
        gloo::BroadcastOneToAll<char>(ctx_, {p + at}, n, root).run();
      }
    });
  }

  void barrier() override {
    if (size_ == 1) return;
    guard("barrier", [&] { gloo::BarrierAllToAll(ctx_).run(); });
  }

  void send(const void* data, size_t bytes, int dst, uint32_t tag) override {
    SGL_CHECK(dst >= 0 && dst < size_ && dst != rank_, "send to rank {} from rank {} of {}", dst, rank_, size_);
    guard("send", [&] {
      auto buf = ctx_->createUnboundBuffer(const_cast<void*>(data), bytes);
      buf->send(dst, kP2pSlotBase + tag);
      buf->waitSend(op_timeout_);
    });
  }

  void recv(void* data, size_t bytes, int src, uint32_t tag) override {
    SGL_CHECK(src >= 0 && src < size_ && src != rank_, "recv from rank {} on rank {} of {}", src, rank_, size_);
    guard("recv", [&] {
      auto buf = ctx_->createUnboundBuffer(data, bytes);
      buf->recv(src, kP2pSlotBase + tag);
      buf->waitRecv(op_timeout_);
    });
  }

 private:
  static constexpr size_t kMaxCount = size_t{1} << 28;  // elements per Gloo call (its counts are int)

  static std::vector<char> to_bytes(const std::string& s) { return {s.begin(), s.end()}; }

  // Gloo reports a lost peer or a timeout with its own exceptions; callers see sgl::Error.
  template <typename F>
  void guard(const char* what, F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      SGL_THROW(Status::kIoError, "rank {} of {}: {} failed: {}", rank_, size_, what, e.what());
    }
  }

  int rank_, size_;
  Millis op_timeout_;
  std::string group_;  // "<group>/": the prefix of this group's store keys
  std::unique_ptr<TcpStoreServer> server_;
  std::unique_ptr<TcpStoreClient> client_;
  std::shared_ptr<gloo::transport::Device> device_;
  std::shared_ptr<gloo::rendezvous::Context> ctx_;
};

}  // namespace

std::unique_ptr<Communicator> connect_gloo(const DistOptions& opt) { return std::make_unique<GlooCommunicator>(opt); }

}  // namespace sgl::dist
