// --dist-init-addr HOST:PORT: parsing, resolving, and the local address the collectives use.
#pragma once

#include <sys/socket.h>

#include <string>

namespace sgl::dist {

struct InitAddr {
  std::string host;  // name or address, brackets stripped from "[v6]:port"
  int port = 0;
};

// Parses "HOST:PORT" or "[V6ADDR]:PORT". Throws sgl::Error(kInvalidArgument) naming `flag`
// and what is wrong.
InitAddr parse_init_addr(const std::string& text, const char* flag = "--dist-init-addr");

// Resolves host:port for a stream socket (passive: for bind). Throws sgl::Error(kIoError).
struct Resolved {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = 0;
};
Resolved resolve(const std::string& host, int port, bool passive);

// The address of this machine's interface that routes to `host` (a connected UDP socket's
// name: nothing is sent). This is what the transport binds to when GLOO_SOCKET_IFNAME is unset.
std::string local_address_towards(const std::string& host);

// "host:port", bracketing IPv6 literals.
std::string format_addr(const std::string& host, int port);

}  // namespace sgl::dist
