// ApiError: an HTTP error in OpenAI's JSON shape {"error": {"message", "type", "param", "code"}}.
// Request parsing throws it; the server turns it (and any sgl::Error from the engine) into the
// response, so a bad request never reaches the engine and never takes the server down.
#pragma once

#include <string>

#include "sgl/error.hpp"

namespace sgl::server {

class ApiError : public std::exception {
 public:
  ApiError(int status, std::string message, std::string param = {}, std::string type = {})
      : status_(status), message_(std::move(message)), param_(std::move(param)), type_(std::move(type)) {}

  int status() const noexcept { return status_; }
  const std::string& message() const noexcept { return message_; }
  const std::string& param() const noexcept { return param_; }
  // OpenAI's error type for this status unless given: invalid_request_error,
  // authentication_error, not_found_error, server_error...
  std::string type() const;
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  int status_;
  std::string message_;
  std::string param_;
  std::string type_;
};

// 400 naming a field: "max_tokens must be >= 0 (got -1)".
[[noreturn]] void bad_field(const std::string& param, const std::string& message);

// The JSON body for an error: {"error": {"message", "type", "param", "code"}}.
std::string error_body(const ApiError& e);

// Maps an engine error to an HTTP error: invalid argument / parse error / unsupported -> 400,
// a full queue (kOutOfMemory) -> 503, not found -> 404, anything else -> 500.
ApiError from_engine_error(const sgl::Error& e);

}  // namespace sgl::server
