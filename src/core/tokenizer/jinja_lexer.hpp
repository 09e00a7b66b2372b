// Lexer of the chat-template Jinja subset. It splits the source into text and tag tokens and
// applies Jinja's whitespace rules on the way, so the parser never sees them:
//  - `{%-` / `-%}` (and the same for `{{ }}` and `{# #}`) strip all whitespace on that side;
//  - trim_blocks: the first newline after a block or comment tag is removed;
//  - lstrip_blocks: spaces and tabs before a block or comment tag at the start of a line are
//    removed (`{%+` turns it off for one tag);
//  - one trailing newline of the whole source is dropped (keep_trailing_newline=False).
// Hugging Face renders chat templates with trim_blocks=True and lstrip_blocks=True, the default.
// `{% raw %}...{% endraw %}` is handled here too: its body becomes one text token.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sgl::jinja {

struct Token {
  enum class Kind : uint8_t { kText, kVarBegin, kVarEnd, kBlockBegin, kBlockEnd, kName, kString, kInt, kFloat, kOp, kEof };
  Kind kind = Kind::kEof;
  std::string text;  // text, name, decoded string literal, or operator
  int64_t i = 0;
  double f = 0;
  size_t pos = 0;  // byte offset of the token in the source
};

struct LexOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
  bool keep_trailing_newline = false;
};

// Throws sgl::Error(kParseError) with the byte offset and line:column of the problem.
std::vector<Token> lex(std::string_view source, const LexOptions& opts = {});

// "line L, column C" (1-based; columns count bytes) of a byte offset.
std::string describe_position(std::string_view source, size_t offset);

// Throws sgl::Error(kParseError, "chat template syntax error at line L, column C: <msg>", offset).
[[noreturn]] void throw_syntax_error(std::string_view source, size_t offset, const std::string& msg);

}  // namespace sgl::jinja
