#include "core/tokenizer/chat_template.hpp"

#include "core/support/check.hpp"
#include "core/tokenizer/jinja_ast.hpp"
#include "core/tokenizer/jinja_interp.hpp"

namespace sgl {

ChatTemplate ChatTemplate::parse(std::string source) { return ChatTemplate(jinja::parse_program(std::move(source))); }

std::string ChatTemplate::render(const nlohmann::json& context) const { return render(context, ChatTemplateLimits{}); }

namespace {

template <typename Json>
std::string render_impl(const std::shared_ptr<const jinja::Program>& program, const Json& context,
                        const ChatTemplateLimits& limits) {
  if (!context.is_object() && !context.is_null())
    SGL_THROW(Status::kInvalidArgument, "chat template context must be a JSON object, got {}", context.type_name());
  jinja::Limits l;
  l.max_iterations = limits.max_iterations;
  l.max_output_bytes = limits.max_output_bytes;
  l.max_call_depth = limits.max_call_depth;
  jinja::Interp interp(program, l);
  return interp.render(context.is_null() ? jinja::Value::new_dict() : jinja::from_json(context));
}

}  // namespace

std::string ChatTemplate::render(const nlohmann::json& context, const ChatTemplateLimits& limits) const {
  return render_impl(program_, context, limits);
}

std::string ChatTemplate::render(const nlohmann::ordered_json& context, const ChatTemplateLimits& limits) const {
  return render_impl(program_, context, limits);
}

const std::string& ChatTemplate::source() const { return program_->source; }

}  // namespace sgl
