#include "core/dist/communicator.hpp"

#include "core/dist/init_addr.hpp"
#include "core/support/check.hpp"

namespace sgl::dist {

#ifdef SGL_HAVE_GLOO
std::unique_ptr<Communicator> connect_gloo(const DistOptions& opt);  // communicator_gloo.cpp
#endif

bool distributed_available() {
#ifdef SGL_HAVE_GLOO
  return true;
#else
  return false;
#endif
}

std::unique_ptr<Communicator> connect(const DistOptions& opt) {
  if (opt.size < 1) SGL_THROW(Status::kInvalidArgument, "distributed group size must be >= 1 (got {})", opt.size);
  if (opt.rank < 0 || opt.rank >= opt.size)
    SGL_THROW(Status::kInvalidArgument, "rank {} is outside the group of {} ranks", opt.rank, opt.size);
  parse_init_addr(opt.init_addr);
  if (opt.group.empty() || opt.group.find('/') != std::string::npos)
    SGL_THROW(Status::kInvalidArgument, "group name '{}' must be non-empty and contain no '/'", opt.group);
#ifdef SGL_HAVE_GLOO
  return connect_gloo(opt);
#else
  SGL_THROW(Status::kUnsupported,
            "multi-process parallelism is unsupported in this build: it was built without Gloo (install libgloo-dev and "
            "reconfigure)");
#endif
}

}  // namespace sgl::dist
