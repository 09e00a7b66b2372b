#include "core/dist/init_addr.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "core/support/check.hpp"

namespace sgl::dist {

InitAddr parse_init_addr(const std::string& text, const char* flag) {
  InitAddr a;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      SGL_THROW(Status::kInvalidArgument, "{} '{}' must be HOST:PORT or [IPV6]:PORT", flag, text);
    a.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon)
      SGL_THROW(Status::kInvalidArgument, "{} '{}' must be HOST:PORT (IPv6 addresses in brackets)", flag, text);
    a.host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (a.host.empty()) SGL_THROW(Status::kInvalidArgument, "{} '{}' has no host", flag, text);
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), a.port);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || a.port < 1 || a.port > 65535)
    SGL_THROW(Status::kInvalidArgument, "{} '{}': the port must be a number in [1, 65535]", flag, text);
  return a;
}

Resolved resolve(const std::string& host, int port, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (passive) hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr)
    SGL_THROW(Status::kIoError, "cannot resolve '{}': {}", host, gai_strerror(rc));
  Resolved r;
  std::memcpy(&r.addr, res->ai_addr, res->ai_addrlen);
  r.len = static_cast<socklen_t>(res->ai_addrlen);
  r.family = res->ai_family;
  freeaddrinfo(res);
  return r;
}

std::string local_address_towards(const std::string& host) {
  Resolved r = resolve(host, 9, false);  // any port: a UDP connect sends nothing
  int fd = ::socket(r.family, SOCK_DGRAM, 0);
  if (fd < 0) SGL_THROW(Status::kIoError, "socket: {}", std::strerror(errno));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&r.addr), r.len) != 0) {
    int err = errno;
    ::close(fd);
    SGL_THROW(Status::kIoError, "no route to {}: {}", host, std::strerror(err));
  }
  sockaddr_storage local{};
  socklen_t len = sizeof(local);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
  ::close(fd);
  char buf[INET6_ADDRSTRLEN] = {};
  const void* src = local.ss_family == AF_INET6 ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr)
                                                : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&local)->sin_addr);
  if (!inet_ntop(local.ss_family, src, buf, sizeof(buf)))
    SGL_THROW(Status::kIoError, "cannot format the local address towards {}", host);
  return buf;
}

std::string format_addr(const std::string& host, int port) {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

}  // namespace sgl::dist
