#include "api_error.hpp"

#include <nlohmann/json.hpp>

namespace sgl::server {

std::string ApiError::type() const {
  if (!type_.empty()) return type_;
  switch (status_) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 404: return "not_found_error";
    case 413: return "invalid_request_error";
    case 429:
    case 503: return "server_overloaded";
    default: return status_ >= 500 ? "server_error" : "invalid_request_error";
  }
}

void bad_field(const std::string& param, const std::string& message) { throw ApiError(400, message, param); }

std::string error_body(const ApiError& e) {
  nlohmann::json err = {{"message", e.message()},
                        {"type", e.type()},
                        {"param", e.param().empty() ? nlohmann::json(nullptr) : nlohmann::json(e.param())},
                        {"code", e.status()}};
  // Error text may echo client bytes that are not valid UTF-8; replace rather than throw.
  return nlohmann::json{{"error", err}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ApiError from_engine_error(const sgl::Error& e) {
  switch (e.code()) {
    case Status::kInvalidArgument:
    case Status::kParseError:
    case Status::kUnsupported: return ApiError(400, e.what());
    case Status::kOutOfMemory: return ApiError(503, e.what());
    case Status::kNotFound: return ApiError(404, e.what());
    default: return ApiError(500, e.what());
  }
}

}  // namespace sgl::server
