// Bodies of SGLang's /v1/tokenize, /v1/detokenize (also served as /tokenize, /detokenize) and
// /abort_request. Each validates with a 400 naming the field.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "sgl/engine.hpp"

namespace sgl::server {

// {"prompt": str | [str], "add_special_tokens"?: bool (default true)} ->
// {"tokens": [ids] | [[ids]], "count": n | [n], "max_model_len": context length}.
nlohmann::json tokenize_response(const Engine& engine, const std::string& body);
// {"tokens": [ids] | [[ids]], "skip_special_tokens"?: bool (default true)} -> {"text": str | [str]}.
nlohmann::json detokenize_response(const Engine& engine, const std::string& body);

struct AbortRequest {
  std::string rid;         // "" with abort_all
  bool abort_all = false;
};
// {"rid": str} or {"abort_all": true}.
AbortRequest parse_abort_request(const std::string& body);

}  // namespace sgl::server
