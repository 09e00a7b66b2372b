// Wire format (both directions): u32 length (network order) then the body. Request bodies:
//   'S' str key, bytes value            -> reply: u8 0
//   'G' u32 timeout_ms, str key         -> reply: u8 status (0 found, 1 timed out), bytes value
//   'W' u32 timeout_ms, u32 n, n x str  -> reply: u8 status, u32 m, m x str (the keys missing)
// where str/bytes are u32 length + bytes. get and wait block on the server, so a client needs
// no polling and the server sees every key the moment it is set.
#include "core/dist/tcp_store.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/dist/init_addr.hpp"
#include "core/support/check.hpp"

namespace sgl::dist {
namespace {

constexpr uint32_t kMaxFrame = 256u << 20;  // a rendezvous value is an address: far below this

bool write_all(int fd, const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t w = ::send(fd, c, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    c += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool read_all(int fd, void* p, size_t n) {
  char* c = static_cast<char*>(p);
  while (n > 0) {
    ssize_t r = ::recv(fd, c, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    c += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

bool write_frame(int fd, const std::vector<char>& body) {
  uint32_t len = htonl(static_cast<uint32_t>(body.size()));
  return write_all(fd, &len, 4) && write_all(fd, body.data(), body.size());
}

bool read_frame(int fd, std::vector<char>& body) {
  uint32_t len = 0;
  if (!read_all(fd, &len, 4)) return false;
  len = ntohl(len);
  if (len > kMaxFrame) return false;
  body.resize(len);
  return read_all(fd, body.data(), len);
}

struct Writer {
  std::vector<char> b;
  void u8(uint8_t v) { b.push_back(static_cast<char>(v)); }
  void u32(uint32_t v) {
    v = htonl(v);
    const char* p = reinterpret_cast<const char*>(&v);
    b.insert(b.end(), p, p + 4);
  }
  void bytes(const char* p, size_t n) {
    u32(static_cast<uint32_t>(n));
    b.insert(b.end(), p, p + n);
  }
  void str(const std::string& s) { bytes(s.data(), s.size()); }
};

// Reads a body; any malformed field makes ok() false instead of reading past the end.
struct Reader {
  const std::vector<char>& b;
  size_t at = 0;
  bool good = true;
  bool need(size_t n) { return good = good && b.size() - at >= n; }
  uint8_t u8() { return need(1) ? static_cast<uint8_t>(b[at++]) : 0; }
  uint32_t u32() {
    if (!need(4)) return 0;
    uint32_t v;
    std::memcpy(&v, b.data() + at, 4);
    at += 4;
    return ntohl(v);
  }
  std::vector<char> bytes() {
    uint32_t n = u32();
    if (!need(n)) return {};
    std::vector<char> v(b.begin() + static_cast<ptrdiff_t>(at), b.begin() + static_cast<ptrdiff_t>(at + n));
    at += n;
    return v;
  }
  std::string str() {
    auto v = bytes();
    return {v.begin(), v.end()};
  }
};

uint32_t clamp_ms(Millis t) { return static_cast<uint32_t>(std::clamp<int64_t>(t.count(), 0, UINT32_MAX)); }

}  // namespace

TcpStoreServer::TcpStoreServer(const std::string& host, int port) {
  Resolved r = resolve(host, port, true);
  listen_fd_ = ::socket(r.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) SGL_THROW(Status::kIoError, "socket: {}", std::strerror(errno));
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&r.addr), r.len) != 0 || ::listen(listen_fd_, 256) != 0) {
    int err = errno;
    ::close(listen_fd_);
    SGL_THROW(Status::kIoError, "rank 0 cannot serve the rendezvous store on {}: {} (the host must be an address of rank 0's machine)",
              format_addr(host, port), std::strerror(err));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

TcpStoreServer::~TcpStoreServer() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
    for (int fd : client_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  changed_.notify_all();
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  // No new workers can start now; the list is stable.
  for (auto& t : workers_) t.join();
  for (int fd : client_fds_) ::close(fd);
}

void TcpStoreServer::accept_loop() {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    std::lock_guard lk(mu_);
    if (stopping_) {
      if (fd >= 0) ::close(fd);
      return;
    }
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    client_fds_.push_back(fd);
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

void TcpStoreServer::serve(int fd) {
  std::vector<char> req;
  while (read_frame(fd, req)) {
    Reader in{req};
    Writer out;
    const uint8_t op = in.u8();
    if (op == 'S') {
      std::string key = in.str();
      std::vector<char> value = in.bytes();
      if (!in.good) return;
      {
        std::lock_guard lk(mu_);
        data_[key] = std::move(value);
      }
      changed_.notify_all();
      out.u8(0);
    } else if (op == 'G' || op == 'W') {
      const auto deadline = Clock::now() + Millis(in.u32());
      std::vector<std::string> keys;
      const uint32_t n = op == 'G' ? 1 : in.u32();
      for (uint32_t i = 0; i < n && in.good; ++i) keys.push_back(in.str());
      if (!in.good) return;
      std::unique_lock lk(mu_);
      auto missing = [&] {
        std::vector<std::string> m;
        for (const auto& k : keys)
          if (!data_.count(k)) m.push_back(k);
        return m;
      };
      changed_.wait_until(lk, deadline, [&] { return stopping_ || missing().empty(); });
      if (stopping_) return;
      std::vector<std::string> m = missing();
      out.u8(m.empty() ? 0 : 1);
      if (op == 'G') {
        const std::vector<char>& v = m.empty() ? data_[keys[0]] : std::vector<char>{};
        out.bytes(v.data(), v.size());
      } else {
        out.u32(static_cast<uint32_t>(m.size()));
        for (const auto& k : m) out.str(k);
      }
    } else {
      return;  // not a store client: drop it
    }
    if (!write_frame(fd, out.b)) return;
  }
}

TcpStoreClient::TcpStoreClient(const std::string& host, int port, Clock::time_point deadline)
    : address_(format_addr(host, port)) {
  std::string last = "timed out";
  for (;;) {
    try {
      Resolved r = resolve(host, port, false);
      int fd = ::socket(r.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd >= 0 && ::connect(fd, reinterpret_cast<const sockaddr*>(&r.addr), r.len) == 0) {
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        fd_ = fd;
        return;
      }
      last = std::strerror(errno);
      if (fd >= 0) ::close(fd);
    } catch (const Error& e) {
      last = e.what();  // the name may resolve later (DNS, an interface coming up)
    }
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(Millis(100));
  }
  SGL_THROW(Status::kIoError, "cannot reach the rendezvous store at {} ({}); is rank 0 running with the same --dist-init-addr?",
            address_, last);
}

TcpStoreClient::~TcpStoreClient() {
  if (fd_ >= 0) ::close(fd_);
}

std::vector<char> TcpStoreClient::call(const std::vector<char>& request) {
  std::vector<char> reply;
  if (!write_frame(fd_, request) || !read_frame(fd_, reply))
    SGL_THROW(Status::kIoError, "lost the connection to the rendezvous store at {} (rank 0 gone?)", address_);
  return reply;
}

void TcpStoreClient::set(const std::string& key, const std::vector<char>& value) {
  Writer w;
  w.u8('S');
  w.str(key);
  w.bytes(value.data(), value.size());
  std::lock_guard lk(mu_);
  call(w.b);
}

std::vector<char> TcpStoreClient::get(const std::string& key, Millis timeout) {
  Writer w;
  w.u8('G');
  w.u32(clamp_ms(timeout));
  w.str(key);
  std::lock_guard lk(mu_);
  std::vector<char> reply = call(w.b);
  Reader r{reply};
  uint8_t status = r.u8();
  std::vector<char> v = r.bytes();
  if (!r.good) SGL_THROW(Status::kIoError, "malformed reply from the rendezvous store at {}", address_);
  if (status != 0)
    SGL_THROW(Status::kIoError, "key '{}' did not appear in the rendezvous store at {} within {} ms", key, address_, timeout.count());
  return v;
}

std::vector<std::string> TcpStoreClient::wait(const std::vector<std::string>& keys, Millis timeout) {
  Writer w;
  w.u8('W');
  w.u32(clamp_ms(timeout));
  w.u32(static_cast<uint32_t>(keys.size()));
  for (const auto& k : keys) w.str(k);
  std::lock_guard lk(mu_);
  std::vector<char> reply = call(w.b);
  Reader r{reply};
  r.u8();
  const uint32_t m = r.u32();
  if (m > keys.size()) r.good = false;
  std::vector<std::string> missing(r.good ? m : 0);
  for (auto& k : missing) k = r.str();
  if (!r.good) SGL_THROW(Status::kIoError, "malformed reply from the rendezvous store at {}", address_);
  return missing;
}

}  // namespace sgl::dist
