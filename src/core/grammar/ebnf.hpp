// EBNF front end: llama.cpp's GBNF and the dialect SGLang/xgrammar accept (`name ::= body`,
// "strings" and 'strings' with escapes, [classes] with ranges, [^negation] and escapes, `.`,
// rule references, ( ), |, * + ? {m} {m,} {m,n}, `#` comments). A rule ends where the next
// `name ::=` begins, so rules may span lines. `name = body` is accepted as well.
// Errors carry the byte offset (and line:col in the message): syntax errors, duplicate or
// undefined rules, a missing root, and left recursion.
#pragma once

#include <string>
#include <string_view>

#include "core/grammar/grammar.hpp"

namespace sgl::grammar {

Grammar ebnf_to_grammar(std::string_view source, const std::string& root = "root");

}  // namespace sgl::grammar
