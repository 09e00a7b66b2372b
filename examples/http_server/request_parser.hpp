// Request parsing: the JSON bodies of POST /generate (SGLang native), /v1/completions and
// /v1/chat/completions (OpenAI) become sgl::Requests. Every field is type- and range-checked
// here with a 400 naming it; the engine then validates what only it can (vocabulary range,
// context length, regex / JSON schema / EBNF compilation).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat_fields.hpp"
#include "sgl/request.hpp"

namespace sgl::server {

enum class Api { kGenerate, kCompletions, kChat };

// Caps on what one request may ask for, so a client cannot make the server allocate or scan
// without bound (10,000 stop strings, a million messages...).
struct ParseLimits {
  size_t max_stop_strings = 64;
  size_t max_stop_bytes = 16384;  // all stop strings together
  size_t max_stop_token_ids = 1024;
  size_t max_prompt_tokens = 1 << 20;
  size_t max_batch = 256;  // prompts in one /generate or /v1/completions call
  size_t max_messages = 4096;
  int max_n = 64;
  int max_top_logprobs = 20;
  int64_t max_new_tokens = 1 << 20;
};

struct ParsedRequest {
  Api api = Api::kGenerate;
  // One engine request per prompt; each carries `n` in its sampling params.
  std::vector<Request> prompts;
  int n = 1;
  bool stream = false;
  bool include_usage = false;      // OpenAI stream_options.include_usage
  bool logprobs = false;           // return per-token logprobs
  int top_logprobs = 0;
  bool text_in_logprobs = false;   // /generate return_text_in_logprobs
  bool echo = false;               // /v1/completions echo: prompt text is prepended
  bool batch = false;              // /generate answered with a list (several prompts or n > 1)
  std::string model;               // as the client named it ("" = not given)
  int data_parallel_rank = -1;     // SGLang's field: pins the request to that --dp-size replica
  // Chat only: what the chat template renders (chat_fields.hpp) and how the output is split.
  nlohmann::json chat_messages;        // normalized messages
  nlohmann::json tools = nlohmann::json::array();
  nlohmann::json chat_template_kwargs = nlohmann::json::object();
  ToolChoice tool_choice;
  bool separate_reasoning = true;  // --reasoning-parser: reasoning_content apart from content
  bool stream_reasoning = true;    // false: streamed reasoning comes whole, with the first content
};

// Each throws ApiError(400) naming the offending field; `body` is the raw request body.
// Routes that read a JSON body take it as application/json (parameters such as charset
// allowed, as is any "+json" type) or with no Content-Type at all; anything else (text/plain,
// a form) is a 400 saying what to send instead of a guess at the body.
void check_json_content_type(const std::string& content_type);

ParsedRequest parse_generate(const std::string& body, const ParseLimits& limits = {});
ParsedRequest parse_completions(const std::string& body, const ParseLimits& limits = {});
ParsedRequest parse_chat(const std::string& body, const ParseLimits& limits = {});

}  // namespace sgl::server
