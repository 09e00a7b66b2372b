#include "core/support/check.hpp"

namespace sgl::detail {

void check_failed(const char* file, int line, const char* cond, const std::string& msg) {
  throw Error(Status::kInternal, fmt::format("{}:{}: check `{}` failed: {}", file, line, cond, msg));
}

}  // namespace sgl::detail
