#include "request_parser.hpp"

#include <cctype>

#include <fmt/format.h>

#include "api_error.hpp"
#include "json_fields.hpp"

namespace sgl::server {
namespace {

constexpr int64_t kMaxTokenId = INT32_MAX;
constexpr size_t kMaxGrammarBytes = 1 << 18;

json parse_body(const std::string& body) {
  if (body.empty()) throw ApiError(400, "request body is empty; expected a JSON object");
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw ApiError(400, "request body is not valid JSON");
  if (!j.is_object()) throw ApiError(400, fmt::format("request body must be a JSON object (got {})", j.type_name()));
  return j;
}

Request text_request(std::string text) {
  Request r;
  r.text = std::move(text);
  return r;
}

Request ids_request(std::vector<int32_t> ids) {
  Request r;
  r.input_ids = std::move(ids);
  return r;
}

// Exactly one of regex / json_schema / ebnf may constrain a request.
void check_one_grammar(const SamplingParams& sp, const std::string& where) {
  int k = !sp.regex.empty() + !sp.json_schema.empty() + !sp.ebnf.empty();
  if (k > 1) bad_field(where, "at most one of regex, json_schema, ebnf and response_format may be given");
}

// OpenAI's logit_bias object {"token id": bias}: keys are decimal ids, biases in [-100, 100].
void read_logit_bias(const json& lb, const std::string& path, SamplingParams& sp) {
  if (!lb.is_object()) bad_field(path, path + " must be an object of token id -> bias");
  if (lb.size() > 1024) bad_field(path, path + " has more than 1024 entries");
  for (const auto& [k, v] : lb.items()) {
    int64_t id = -1;
    size_t used = 0;
    try {
      id = std::stoll(k, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != k.size() || k.empty() || id < 0 || id > INT32_MAX)
      bad_field(path, fmt::format("{} keys must be token ids (got '{}')", path, k));
    if (!v.is_number()) bad_field(path, fmt::format("{}[{}] must be a number", path, k));
    double b = v.get<double>();
    if (!(b >= -100.0 && b <= 100.0)) bad_field(path, fmt::format("{}[{}] must be in [-100, 100]", path, k));
    sp.logit_bias.emplace_back(static_cast<int32_t>(id), static_cast<float>(b));
  }
}

// Fields shared by /v1/completions and /v1/chat/completions, including SGLang's extras.
void read_openai_sampling(const json& j, const ParseLimits& lim, SamplingParams& sp, ParsedRequest& out) {
  if (auto v = get_number(j, "temperature", "temperature", 0.0, 100.0)) sp.temperature = static_cast<float>(*v);
  if (auto v = get_number(j, "top_p", "top_p", 0.0, 1.0)) sp.top_p = static_cast<float>(*v);
  if (auto v = get_int(j, "top_k", "top_k", -1, INT32_MAX)) sp.top_k = static_cast<int>(*v);
  if (auto v = get_number(j, "min_p", "min_p", 0.0, 1.0)) sp.min_p = static_cast<float>(*v);
  if (auto v = get_number(j, "frequency_penalty", "frequency_penalty", -2.0, 2.0)) sp.frequency_penalty = static_cast<float>(*v);
  if (auto v = get_number(j, "presence_penalty", "presence_penalty", -2.0, 2.0)) sp.presence_penalty = static_cast<float>(*v);
  if (auto v = get_number(j, "repetition_penalty", "repetition_penalty", 0.0, 2.0)) sp.repetition_penalty = static_cast<float>(*v);
  if (auto v = get_int(j, "max_tokens", "max_tokens", 0, lim.max_new_tokens)) sp.max_new_tokens = static_cast<int>(*v);
  if (auto v = get_int(j, "max_completion_tokens", "max_completion_tokens", 0, lim.max_new_tokens))
    sp.max_new_tokens = static_cast<int>(*v);
  if (auto v = get_int(j, "min_tokens", "min_tokens", 0, lim.max_new_tokens)) sp.min_new_tokens = static_cast<int>(*v);
  if (auto v = get_int(j, "n", "n", 1, lim.max_n)) sp.n = static_cast<int>(*v);
  if (auto v = get_int(j, "seed", "seed", 0, INT64_MAX)) sp.seed = static_cast<uint64_t>(*v);
  sp.stop = get_string_list(j, "stop", "stop", lim.max_stop_strings, lim.max_stop_bytes);
  if (const json* v = field(j, "stop_token_ids")) sp.stop_token_ids = get_int_list(*v, "stop_token_ids", lim.max_stop_token_ids, 0, kMaxTokenId);
  if (auto v = get_bool(j, "ignore_eos", "ignore_eos")) sp.ignore_eos = *v;
  if (auto v = get_bool(j, "skip_special_tokens", "skip_special_tokens")) sp.skip_special_tokens = *v;
  if (auto v = get_bool(j, "no_stop_trim", "no_stop_trim")) sp.no_stop_trim = *v;
  if (auto v = get_string(j, "regex", "regex", kMaxGrammarBytes)) sp.regex = *v;
  if (auto v = get_string(j, "ebnf", "ebnf", kMaxGrammarBytes)) sp.ebnf = *v;
  if (auto v = get_bool(j, "stream", "stream")) out.stream = *v;
  if (const json* so = field(j, "stream_options")) {
    if (!so->is_object()) bad_field("stream_options", "stream_options must be an object");
    if (auto v = get_bool(*so, "include_usage", "stream_options.include_usage")) out.include_usage = *v;
  }
  if (auto v = get_string(j, "model", "model", 4096)) out.model = *v;
  if (const json* lb = field(j, "logit_bias")) read_logit_bias(*lb, "logit_bias", sp);
  if (auto v = get_int(j, "best_of", "best_of", 1, lim.max_n); v && *v != sp.n)
    bad_field("best_of", "best_of other than n is not supported");
  out.n = sp.n;
}

}  // namespace

void check_json_content_type(const std::string& content_type) {
  std::string type = content_type.substr(0, content_type.find(';'));
  const auto b = type.find_first_not_of(" \t"), e = type.find_last_not_of(" \t");
  type = b == std::string::npos ? std::string() : type.substr(b, e - b + 1);
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (type.empty() || type == "application/json") return;
  if (type.size() > 5 && type.compare(type.size() - 5, 5, "+json") == 0 && type.rfind("application/", 0) == 0) return;
  // Echo at most a short, printable prefix of the client's header.
  std::string shown;
  for (char c : content_type.substr(0, 64)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
  throw ApiError(400, fmt::format("Content-Type '{}' is not JSON; send the body as application/json", shown));
}

ParsedRequest parse_generate(const std::string& body, const ParseLimits& lim) {
  json j = parse_body(body);
  reject_unknown(j, {"text", "input_ids", "sampling_params", "stream", "return_logprob", "top_logprobs_num",
                     "logprob_start_len", "return_text_in_logprobs", "rid", "model", "data_parallel_rank"},
                 "");
  ParsedRequest out;
  out.api = Api::kGenerate;
  SamplingParams sp;
  if (const json* p = field(j, "sampling_params")) {
    if (!p->is_object()) bad_field("sampling_params", "sampling_params must be an object");
    const json& s = *p;
    reject_unknown(s, {"max_new_tokens", "min_new_tokens", "stop", "stop_token_ids", "temperature", "top_p", "top_k",
                       "min_p", "frequency_penalty", "presence_penalty", "repetition_penalty", "ignore_eos",
                       "skip_special_tokens", "spaces_between_special_tokens", "n", "seed", "sampling_seed",
                       "no_stop_trim", "regex", "json_schema", "ebnf", "logit_bias"},
                   "sampling_params");
    if (const json* lb = field(s, "logit_bias")) read_logit_bias(*lb, "sampling_params.logit_bias", sp);
    auto path = [](const char* k) { return std::string("sampling_params.") + k; };
    if (auto v = get_int(s, "max_new_tokens", path("max_new_tokens"), 0, lim.max_new_tokens)) sp.max_new_tokens = static_cast<int>(*v);
    if (auto v = get_int(s, "min_new_tokens", path("min_new_tokens"), 0, lim.max_new_tokens)) sp.min_new_tokens = static_cast<int>(*v);
    sp.stop = get_string_list(s, "stop", path("stop"), lim.max_stop_strings, lim.max_stop_bytes);
    if (const json* v = field(s, "stop_token_ids"))
      sp.stop_token_ids = get_int_list(*v, path("stop_token_ids"), lim.max_stop_token_ids, 0, kMaxTokenId);
    if (auto v = get_number(s, "temperature", path("temperature"), 0.0, 100.0)) sp.temperature = static_cast<float>(*v);
    if (auto v = get_number(s, "top_p", path("top_p"), 0.0, 1.0)) sp.top_p = static_cast<float>(*v);
    if (auto v = get_int(s, "top_k", path("top_k"), -1, INT32_MAX)) sp.top_k = static_cast<int>(*v);
    if (auto v = get_number(s, "min_p", path("min_p"), 0.0, 1.0)) sp.min_p = static_cast<float>(*v);
    if (auto v = get_number(s, "frequency_penalty", path("frequency_penalty"), -2.0, 2.0)) sp.frequency_penalty = static_cast<float>(*v);
    if (auto v = get_number(s, "presence_penalty", path("presence_penalty"), -2.0, 2.0)) sp.presence_penalty = static_cast<float>(*v);
    if (auto v = get_number(s, "repetition_penalty", path("repetition_penalty"), 0.0, 2.0)) sp.repetition_penalty = static_cast<float>(*v);
    if (auto v = get_bool(s, "ignore_eos", path("ignore_eos"))) sp.ignore_eos = *v;
    if (auto v = get_bool(s, "skip_special_tokens", path("skip_special_tokens"))) sp.skip_special_tokens = *v;
    if (auto v = get_bool(s, "spaces_between_special_tokens", path("spaces_between_special_tokens")))
      sp.spaces_between_special_tokens = *v;
    if (auto v = get_int(s, "n", path("n"), 1, lim.max_n)) sp.n = static_cast<int>(*v);
    if (auto v = get_int(s, "seed", path("seed"), 0, INT64_MAX)) sp.seed = static_cast<uint64_t>(*v);
    if (auto v = get_int(s, "sampling_seed", path("sampling_seed"), 0, INT64_MAX)) sp.seed = static_cast<uint64_t>(*v);
    if (auto v = get_bool(s, "no_stop_trim", path("no_stop_trim"))) sp.no_stop_trim = *v;
    if (auto v = get_string(s, "regex", path("regex"), kMaxGrammarBytes)) sp.regex = *v;
    if (auto v = get_string(s, "ebnf", path("ebnf"), kMaxGrammarBytes)) sp.ebnf = *v;
    // SGLang takes the schema as a JSON string; an inline object is accepted too.
    if (const json* v = field(s, "json_schema")) {
      if (v->is_string()) sp.json_schema = v->get<std::string>();
      else if (v->is_object()) sp.json_schema = v->dump();
      else bad_field(path("json_schema"), "sampling_params.json_schema must be a string or an object");
      if (sp.json_schema.size() > kMaxGrammarBytes) bad_field(path("json_schema"), "sampling_params.json_schema is too long");
    }
    check_one_grammar(sp, "sampling_params");
  }
  if (auto v = get_bool(j, "stream", "stream")) out.stream = *v;
  if (auto v = get_bool(j, "return_logprob", "return_logprob")) out.logprobs = *v;
  if (auto v = get_int(j, "top_logprobs_num", "top_logprobs_num", 0, lim.max_top_logprobs)) out.top_logprobs = static_cast<int>(*v);
  if (auto v = get_bool(j, "return_text_in_logprobs", "return_text_in_logprobs")) out.text_in_logprobs = *v;
  // SGLang's prompt logprobs: meta_info.input_token_logprobs from this position on.
  if (auto v = get_int(j, "logprob_start_len", "logprob_start_len", -1, INT32_MAX); v && out.logprobs)
    sp.logprob_start_len = *v;
  std::string rid = get_string(j, "rid", "rid", 256).value_or("");
  if (auto v = get_string(j, "model", "model", 4096)) out.model = *v;
  sp.return_logprob = out.logprobs;
  sp.top_logprobs_num = out.logprobs ? out.top_logprobs : 0;
  out.n = sp.n;

  const json* text = field(j, "text");
  const json* ids = field(j, "input_ids");
  if ((text != nullptr) == (ids != nullptr)) throw ApiError(400, "exactly one of text and input_ids must be given", "text");
  auto add = [&](Request r) {
    r.sampling = sp;
    out.prompts.push_back(std::move(r));
  };
  if (text) {
    if (text->is_string()) {
      add(text_request(text->get<std::string>()));
    } else if (text->is_array()) {
      if (text->empty() || text->size() > lim.max_batch)
        bad_field("text", fmt::format("text must hold 1 to {} prompts", lim.max_batch));
      for (size_t i = 0; i < text->size(); ++i) {
        if (!(*text)[i].is_string()) bad_field("text", fmt::format("text[{}] must be a string", i));
        add(text_request((*text)[i].get<std::string>()));
      }
      out.batch = true;
    } else {
      bad_field("text", fmt::format("text must be a string or an array of strings (got {})", text->type_name()));
    }
  } else {
    if (!ids->is_array() || ids->empty()) bad_field("input_ids", "input_ids must be a non-empty array of token ids");
    if ((*ids)[0].is_array()) {
      if (ids->size() > lim.max_batch) bad_field("input_ids", fmt::format("input_ids must hold at most {} prompts", lim.max_batch));
      for (size_t i = 0; i < ids->size(); ++i) {
        auto v = get_int_list((*ids)[i], fmt::format("input_ids[{}]", i), lim.max_prompt_tokens, 0, kMaxTokenId);
        if (v.empty()) bad_field("input_ids", fmt::format("input_ids[{}] is empty", i));
        add(ids_request(std::move(v)));
      }
      out.batch = true;
    } else {
      add(ids_request(get_int_list(*ids, "input_ids", lim.max_prompt_tokens, 0, kMaxTokenId)));
    }
  }
  if (sp.n > 1) out.batch = true;
  if (!rid.empty() && out.prompts.size() == 1) out.prompts[0].rid = rid;
  if (auto v = get_int(j, "data_parallel_rank", "data_parallel_rank", 0, 4095)) out.data_parallel_rank = static_cast<int>(*v);
  return out;
}

ParsedRequest parse_completions(const std::string& body, const ParseLimits& lim) {
  json j = parse_body(body);
  ParsedRequest out;
  out.api = Api::kCompletions;
  SamplingParams sp;
  sp.max_new_tokens = 16;  // OpenAI's default for completions
  read_openai_sampling(j, lim, sp, out);
  if (auto v = get_int(j, "logprobs", "logprobs", 0, lim.max_top_logprobs)) {
    out.logprobs = true;
    out.top_logprobs = static_cast<int>(*v);
  }
  if (auto v = get_bool(j, "echo", "echo")) out.echo = *v;
  if (auto v = get_string(j, "suffix", "suffix"); v && !v->empty()) bad_field("suffix", "suffix is not supported by this server");
  if (field(j, "response_format")) bad_field("response_format", "response_format is only supported by /v1/chat/completions");
  check_one_grammar(sp, "regex");
  sp.return_logprob = out.logprobs;
  sp.top_logprobs_num = out.top_logprobs;

  const json* p = field(j, "prompt");
  if (!p) throw ApiError(400, "prompt is required", "prompt");
  auto add = [&](Request r) {
    r.sampling = sp;
    out.prompts.push_back(std::move(r));
  };
  if (p->is_string()) {
    add(text_request(p->get<std::string>()));
  } else if (p->is_array() && !p->empty() && (*p)[0].is_number_integer()) {
    if (out.echo) bad_field("echo", "echo is only supported with text prompts");
    add(ids_request(get_int_list(*p, "prompt", lim.max_prompt_tokens, 0, kMaxTokenId)));
  } else if (p->is_array() && !p->empty()) {
    if (p->size() > lim.max_batch) bad_field("prompt", fmt::format("prompt must hold at most {} prompts", lim.max_batch));
    // OpenAI's forms are a list of strings or a list of token arrays, not a mix of the two.
    const bool strings = (*p)[0].is_string();
    for (size_t i = 0; i < p->size(); ++i) {
      const json& e = (*p)[i];
      if ((e.is_string() || e.is_array()) && e.is_string() != strings)
        bad_field("prompt", fmt::format("prompt[{}] is {} but prompt[0] is {}: a prompt list holds only strings or only "
                                        "token arrays", i, e.is_string() ? "a string" : "a token array",
                                        strings ? "a string" : "a token array"));
      if (e.is_string()) {
        add(text_request(e.get<std::string>()));
      } else if (e.is_array()) {
        if (out.echo) bad_field("echo", "echo is only supported with text prompts");
        auto v = get_int_list(e, fmt::format("prompt[{}]", i), lim.max_prompt_tokens, 0, kMaxTokenId);
        if (v.empty()) bad_field("prompt", fmt::format("prompt[{}] is empty", i));
        add(ids_request(std::move(v)));
      } else {
        bad_field("prompt", fmt::format("prompt[{}] must be a string or an array of token ids", i));
      }
    }
  } else {
    bad_field("prompt", "prompt must be a string, an array of strings, or an array of token ids");
  }
  if (auto rid = get_string(j, "rid", "rid", 256); rid && out.prompts.size() == 1) out.prompts[0].rid = *rid;
  if (auto v = get_int(j, "data_parallel_rank", "data_parallel_rank", 0, 4095)) out.data_parallel_rank = static_cast<int>(*v);
  return out;
}

ParsedRequest parse_chat(const std::string& body, const ParseLimits& lim) {
  json j = parse_body(body);
  ParsedRequest out;
  out.api = Api::kChat;
  SamplingParams sp;
  read_openai_sampling(j, lim, sp, out);
  if (auto v = get_bool(j, "logprobs", "logprobs")) out.logprobs = *v;
  if (auto v = get_int(j, "top_logprobs", "top_logprobs", 0, lim.max_top_logprobs)) {
    if (!out.logprobs) bad_field("top_logprobs", "top_logprobs requires logprobs to be true");
    out.top_logprobs = static_cast<int>(*v);
  }
  out.tools = parse_tools(field(j, "tools"));
  out.tool_choice = parse_tool_choice(field(j, "tool_choice"), out.tools);
  if (const json* k = field(j, "chat_template_kwargs")) {
    if (!k->is_object()) bad_field("chat_template_kwargs", "chat_template_kwargs must be an object");
    out.chat_template_kwargs = *k;
  }
  if (auto v = get_bool(j, "separate_reasoning", "separate_reasoning")) out.separate_reasoning = *v;
  if (auto v = get_bool(j, "stream_reasoning", "stream_reasoning")) out.stream_reasoning = *v;
  if (const json* rf = field(j, "response_format")) {
    if (!rf->is_object()) bad_field("response_format", "response_format must be an object");
    std::string type = get_string(*rf, "type", "response_format.type", 64).value_or("");
    if (type == "json_object") {
      sp.json_schema = R"({"type":"object"})";
    } else if (type == "json_schema") {
      const json* js = field(*rf, "json_schema");
      if (!js || !js->is_object()) bad_field("response_format.json_schema", "response_format.json_schema must be an object");
      const json* schema = field(*js, "schema");
      if (!schema) bad_field("response_format.json_schema.schema", "response_format.json_schema.schema is required");
      if (!schema->is_object() && !schema->is_boolean())
        bad_field("response_format.json_schema.schema", "response_format.json_schema.schema must be a JSON schema object");
      sp.json_schema = schema->dump();
      if (sp.json_schema.size() > kMaxGrammarBytes) bad_field("response_format.json_schema.schema", "schema is too long");
    } else if (type != "text") {
      bad_field("response_format.type",
                fmt::format("response_format.type must be one of text, json_object, json_schema (got '{}')", type));
    }
  }
  check_one_grammar(sp, "response_format");
  sp.return_logprob = out.logprobs;
  sp.top_logprobs_num = out.top_logprobs;

  const json* msgs = field(j, "messages");
  if (!msgs) throw ApiError(400, "messages is required", "messages");
  if (!msgs->is_array()) bad_field("messages", "messages must be an array");
  if (msgs->empty()) bad_field("messages", "messages must not be empty");
  if (msgs->size() > lim.max_messages) bad_field("messages", fmt::format("messages has more than {} entries", lim.max_messages));
  Request r;
  out.chat_messages = parse_chat_messages(*msgs, r.messages);
  r.rid = get_string(j, "rid", "rid", 256).value_or("");  // SGLang's extra: the id /abort_request takes
  r.sampling = sp;
  out.prompts.push_back(std::move(r));
  if (auto v = get_int(j, "data_parallel_rank", "data_parallel_rank", 0, 4095)) out.data_parallel_rank = static_cast<int>(*v);
  return out;
}

}  // namespace sgl::server
