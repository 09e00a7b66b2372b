#include "sgl/error.hpp"

namespace sgl {

const char* status_name(Status s) noexcept {
  switch (s) {
    case Status::kOk: return "ok";
    case Status::kInvalidArgument: return "invalid argument";
    case Status::kNotFound: return "not found";
    case Status::kUnsupported: return "unsupported";
    case Status::kParseError: return "parse error";
    case Status::kOutOfMemory: return "out of memory";
    case Status::kIoError: return "i/o error";
    case Status::kCancelled: return "cancelled";
    case Status::kInternal: return "internal error";
  }
  return "unknown";
}

}  // namespace sgl
