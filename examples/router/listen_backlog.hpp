// cpp-httplib 0.11 listens with a backlog of 5: a burst of clients (64 streams opening at once)
// overflows the accept queue. listen() again on the bound socket raises the backlog; the socket
// is found among this process's descriptors by its port. (sgl-server does the same in its
// http_server.cpp; a shared support helper would serve both.)
#pragma once

namespace sgl::router {

void deepen_backlog(int port, int backlog = 1024);

}  // namespace sgl::router
