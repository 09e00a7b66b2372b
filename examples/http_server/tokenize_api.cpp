#include "tokenize_api.hpp"

#include <fmt/format.h>

#include "api_error.hpp"
#include "json_fields.hpp"

namespace sgl::server {
namespace {

constexpr size_t kMaxItems = 256;
constexpr size_t kMaxTokens = 1 << 20;

json object_body(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) throw ApiError(400, "request body is not valid JSON");
  if (!j.is_object()) throw ApiError(400, "request body must be a JSON object");
  return j;
}

void need_tokenizer(const Engine& e) {
  if (!e.has_tokenizer()) throw ApiError(400, "the model has no tokenizer");
}

}  // namespace

json tokenize_response(const Engine& engine, const std::string& body) {
  json j = object_body(body);
  reject_unknown(j, {"model", "prompt", "text", "add_special_tokens"}, "");
  need_tokenizer(engine);
  bool special = get_bool(j, "add_special_tokens", "add_special_tokens").value_or(true);
  const json* p = field(j, "prompt");
  if (!p) p = field(j, "text");
  if (!p) throw ApiError(400, "prompt is required", "prompt");
  auto one = [&](const json& s) { return engine.tokenize(s.get<std::string>(), special); };
  json out = {{"max_model_len", engine.config().context_length}};
  if (p->is_string()) {
    auto ids = one(*p);
    out["tokens"] = ids;
    out["count"] = ids.size();
  } else if (p->is_array() && !p->empty() && p->size() <= kMaxItems) {
    json tokens = json::array(), counts = json::array();
    for (size_t i = 0; i < p->size(); ++i) {
      if (!(*p)[i].is_string()) bad_field("prompt", fmt::format("prompt[{}] must be a string", i));
      auto ids = one((*p)[i]);
      counts.push_back(ids.size());
      tokens.push_back(std::move(ids));
    }
    out["tokens"] = std::move(tokens);
    out["count"] = std::move(counts);
  } else {
    bad_field("prompt", fmt::format("prompt must be a string or an array of 1 to {} strings", kMaxItems));
  }
  return out;
}

json detokenize_response(const Engine& engine, const std::string& body) {
  json j = object_body(body);
  reject_unknown(j, {"model", "tokens", "skip_special_tokens"}, "");
  need_tokenizer(engine);
  bool skip = get_bool(j, "skip_special_tokens", "skip_special_tokens").value_or(true);
  const json* t = field(j, "tokens");
  if (!t || !t->is_array()) bad_field("tokens", "tokens must be an array of token ids or of arrays of token ids");
  const int64_t vocab = engine.vocab_size();
  auto text = [&](const json& ids, const std::string& where) {
    return engine.detokenize(get_int_list(ids, where, kMaxTokens, 0, vocab - 1), skip);
  };
  if (!t->empty() && (*t)[0].is_array()) {
    if (t->size() > kMaxItems) bad_field("tokens", fmt::format("tokens must hold at most {} lists", kMaxItems));
    json texts = json::array();
    for (size_t i = 0; i < t->size(); ++i) texts.push_back(text((*t)[i], fmt::format("tokens[{}]", i)));
    return {{"text", texts}};
  }
  return {{"text", text(*t, "tokens")}};
}

AbortRequest parse_abort_request(const std::string& body) {
  json j = object_body(body);
  reject_unknown(j, {"rid", "abort_all", "abort_message"}, "");
  AbortRequest a;
  a.abort_all = get_bool(j, "abort_all", "abort_all").value_or(false);
  a.rid = get_string(j, "rid", "rid", 256).value_or("");
  if (!a.abort_all && a.rid.empty()) throw ApiError(400, "give rid (a request id) or abort_all: true", "rid");
  return a;
}

}  // namespace sgl::server
