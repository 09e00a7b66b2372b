// sgl::Error — the one exception type of the C++ API.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace sgl {

enum class Status : int {
  kOk = 0,
  kInvalidArgument = 1,  // a caller-supplied value is out of range or malformed
  kNotFound = 2,         // a file, tensor, key or id does not exist
  kUnsupported = 3,      // valid input this build cannot handle (a tensor type, an architecture)
  kParseError = 4,       // malformed file/text; offset() says where
  kOutOfMemory = 5,      // allocation or KV capacity exhausted
  kIoError = 6,          // the OS refused a read, map or write
  kCancelled = 7,        // the request was cancelled
  kInternal = 8,         // a broken invariant: a bug in sgl
};

const char* status_name(Status s) noexcept;

class Error : public std::runtime_error {
 public:
  Error(Status code, const std::string& message, int64_t offset = -1)
      : std::runtime_error(message), code_(code), offset_(offset) {}

  Status code() const noexcept { return code_; }
  // Byte offset of a parse error in its input, or -1.
  int64_t offset() const noexcept { return offset_; }

 private:
  Status code_;
  int64_t offset_;
};

}  // namespace sgl
