// Tokenizer::apply_chat_template: builds the Hugging Face-style context and renders it with the
// chat-template interpreter (chat_template.hpp).
#include <nlohmann/json.hpp>

#include "core/support/check.hpp"
#include "core/tokenizer/chat_template.hpp"
#include "core/tokenizer/tokenizer_impl.hpp"

namespace sgl {

std::string Tokenizer::apply_chat_template(const std::vector<ChatMessage>& msgs, bool add_generation_prompt,
                                           const std::string& template_override) const {
  nlohmann::json ctx = nlohmann::json::object();
  nlohmann::json messages = nlohmann::json::array();
  for (const auto& m : msgs) messages.push_back({{"role", m.role}, {"content", m.content}});
  ctx["messages"] = std::move(messages);
  ctx["add_generation_prompt"] = add_generation_prompt;
  ctx["bos_token"] = bos_token();
  ctx["eos_token"] = eos_token();

  if (!template_override.empty()) {
    const auto builtin = builtin_chat_template(template_override);
    return ChatTemplate::parse(builtin ? *builtin : template_override).render(ctx);
  }
  const Impl& im = *impl_;
  if (im.vocab.chat_template.empty())
    SGL_THROW(Status::kNotFound, "tokenizer: the model has no chat template; pass a template or a built-in name");
  // Parsed once per tokenizer; a template with a syntax error throws on every call.
  std::call_once(im.template_once, [&] {
    try {
      im.parsed_template = std::make_shared<const ChatTemplate>(ChatTemplate::parse(im.vocab.chat_template));
    } catch (const Error&) {
    }
  });
  if (!im.parsed_template) return ChatTemplate::parse(im.vocab.chat_template).render(ctx);
  return im.parsed_template->render(ctx);
}

}  // namespace sgl
