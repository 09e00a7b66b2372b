#include "chat_renderer.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "api_error.hpp"
#include "core/support/check.hpp"
#include "core/tokenizer/chat_template.hpp"

namespace sgl::server {

ChatRenderer::ChatRenderer(const Engine& engine, const std::string& arg) : engine_(engine), origin_("none") {
  std::string source;
  if (arg.empty()) {
    if (engine.has_tokenizer()) source = engine.tokenizer().chat_template();
    if (!source.empty()) origin_ = "the model's";
  } else if (auto builtin = builtin_chat_template(arg)) {
    source = *builtin;
    origin_ = "built-in " + arg;
  } else {
    std::ifstream in(arg, std::ios::binary);
    if (!in) SGL_THROW(Status::kNotFound, "--chat-template: cannot read '{}'", arg);
    std::ostringstream ss;
    ss << in.rdbuf();
    source = ss.str();
    if (source.empty()) SGL_THROW(Status::kInvalidArgument, "--chat-template: '{}' is empty", arg);
    origin_ = "file " + arg;
  }
  if (source.empty()) return;
  try {
    tmpl_ = std::make_shared<const ChatTemplate>(ChatTemplate::parse(source));
  } catch (const Error& e) {
    SGL_THROW(e.code(), "chat template ({}): {}", origin_, e.what());
  }
}

ChatRenderer::~ChatRenderer() = default;

std::string ChatRenderer::render(const nlohmann::json& messages, const nlohmann::json& tools,
                                 const nlohmann::json& kwargs) const {
  if (!tmpl_) {
    std::string names;
    for (const auto& n : builtin_chat_template_names()) names += (names.empty() ? "" : ", ") + n;
    throw ApiError(400, fmt::format("the model has no chat template; start the server with --chat-template NAME|FILE "
                                    "(built-in names: {}) or use /v1/completions",
                                    names));
  }
  nlohmann::json ctx = nlohmann::json::object();
  // Request kwargs first, so the fixed variables below cannot be overridden by a client.
  if (kwargs.is_object())
    for (const auto& [k, v] : kwargs.items()) ctx[k] = v;
  ctx["messages"] = messages;
  ctx["add_generation_prompt"] = true;
  if (engine_.has_tokenizer()) {
    ctx["bos_token"] = engine_.tokenizer().bos_token();
    ctx["eos_token"] = engine_.tokenizer().eos_token();
  }
  if (tools.is_array() && !tools.empty()) ctx["tools"] = tools;
  try {
    return tmpl_->render(ctx);
  } catch (const Error& e) {
    throw ApiError(400, fmt::format("chat template: {}", e.what()), "messages");
  }
}

std::vector<int32_t> ChatRenderer::render_ids(const nlohmann::json& messages, const nlohmann::json& tools,
                                              const nlohmann::json& kwargs) const {
  std::string prompt = render(messages, tools, kwargs);
  if (!engine_.has_tokenizer()) throw ApiError(400, "the model has no tokenizer; chat requests need one");
  return engine_.tokenizer().encode(prompt, /*add_special=*/false, /*parse_special=*/true);
}

}  // namespace sgl::server
