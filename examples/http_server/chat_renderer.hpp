// ChatRenderer: turns an OpenAI chat request into prompt tokens with the chat template chosen at
// start-up — --chat-template (a built-in name or a Jinja file), else the model's own. Rendering
// here rather than in the engine lets the context carry what only the HTTP layer knows: tools,
// assistant tool_calls, tool results and the request's chat_template_kwargs (enable_thinking...).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sgl/engine.hpp"

namespace sgl {
class ChatTemplate;
}

namespace sgl::server {

class ChatRenderer {
 public:
  // `template_arg` as given to --chat-template ("" = the model's own). Throws sgl::Error when the
  // file cannot be read or the template does not parse. A model without a tokenizer or template
  // and no flag gives a renderer whose render() answers 400 naming --chat-template.
  ChatRenderer(const Engine& engine, const std::string& template_arg);
  ~ChatRenderer();

  bool available() const { return tmpl_ != nullptr; }
  // "built-in chatml", "file t.jinja", "the model's", or "none".
  const std::string& origin() const { return origin_; }

  // The prompt text for `messages` (OpenAI message objects, already validated), `tools` (null or
  // an array of tool objects) and `kwargs` (an object; its keys become template variables).
  // Throws ApiError(400) when there is no template or the template rejects the conversation.
  std::string render(const nlohmann::json& messages, const nlohmann::json& tools, const nlohmann::json& kwargs) const;
  // render() encoded the way the engine encodes chat prompts (specials parsed, no extra BOS).
  std::vector<int32_t> render_ids(const nlohmann::json& messages, const nlohmann::json& tools,
                                  const nlohmann::json& kwargs) const;

 private:
  const Engine& engine_;
  std::shared_ptr<const ChatTemplate> tmpl_;
  std::string origin_;
};

}  // namespace sgl::server
