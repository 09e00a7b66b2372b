// Chat templates: the Jinja `chat_template` strings models ship (GGUF `tokenizer.chat_template`,
// tokenizer_config.json `chat_template`), rendered the way Hugging Face's apply_chat_template
// does (trim_blocks, lstrip_blocks, no autoescape, tojson without HTML escaping, globals
// raise_exception and strftime_now), plus built-in templates for models that ship none.
//
// Supported Jinja: {{ }}, if/elif/else, for (tuple unpacking, inline `if`, loop.*, else,
// break/continue), set (incl. `ns.attr` on namespace() and block set), simple macros, raw,
// comments, whitespace control, and the expressions, filters, tests and str/dict/list methods
// that chat templates use. Not supported (a kParseError naming the tag): include, import,
// extends, block, call, filter blocks, with.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace sgl {

namespace jinja {
struct Program;
}

// Bounds on one render; exceeding one throws sgl::Error(kInvalidArgument) naming the limit.
struct ChatTemplateLimits {
  int64_t max_iterations = 1'000'000;     // loop iterations + macro calls + list-building work
  size_t max_output_bytes = 16u << 20;    // rendered text, and any string or list built on the way
  int max_call_depth = 64;                // macro recursion
};

class ChatTemplate {
 public:
  // Parses a template. Throws sgl::Error(kParseError) with offset() = byte offset of the problem
  // and a message "chat template syntax error at line L, column C (byte B): ...".
  static ChatTemplate parse(std::string source);

  // Renders with the top-level variables of `context` (a JSON object): typically `messages`
  // (list of {role, content, ...}), `add_generation_prompt`, `bos_token`, `eos_token`, `tools`.
  // Missing variables are Undefined (print as "", test false; `undefined.x` is an error, as in
  // Jinja). Throws sgl::Error:
  // kInvalidArgument for runtime errors (with line:column), limits, and raise_exception(msg)
  // (whose message is exactly msg). Thread-safe: a template may be rendered concurrently.
  std::string render(const nlohmann::json& context) const;
  std::string render(const nlohmann::json& context, const ChatTemplateLimits& limits) const;
  // The same, keeping the key order of JSON objects: `{{ tools | tojson }}` then prints keys in
  // the order the client sent them, as Hugging Face does (nlohmann::json sorts keys).
  std::string render(const nlohmann::ordered_json& context, const ChatTemplateLimits& limits = {}) const;

  const std::string& source() const;

 private:
  explicit ChatTemplate(std::shared_ptr<const jinja::Program> program) : program_(std::move(program)) {}
  std::shared_ptr<const jinja::Program> program_;
};

// Jinja source of a built-in template: "llama-2", "llama-3", "chatml" (alias "qwen"), "mistral",
// "deepseek", "deepseek3" (V3/R1 format). nullopt for other names. The templates use bos_token and
// eos_token from the context (printing nothing when absent).
std::optional<std::string> builtin_chat_template(std::string_view name);
std::vector<std::string> builtin_chat_template_names();

}  // namespace sgl
