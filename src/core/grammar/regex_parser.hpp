// Regex front end: the syntax users write for structured output, parsed straight into a
// byte-level Expr (code point classes are lowered to UTF-8). Full-match semantics; `^` and `$`
// are accepted only at the ends. Constructs a DFA cannot run (backreferences, lookaround, word
// boundaries, named groups, inline flags, Unicode properties) are rejected by name with the
// byte offset (sgl::Error kParseError, offset()).
#pragma once

#include <string_view>

#include "core/grammar/grammar.hpp"

namespace sgl::grammar {

struct ParsedRegex {
  Expr expr;
  bool anchored_start = false;  // pattern began with ^
  bool anchored_end = false;    // pattern ended with $
};

// max_repeat bounds m and n in {m,n}.
ParsedRegex parse_regex(std::string_view pattern, uint32_t max_repeat = 1000);

}  // namespace sgl::grammar
