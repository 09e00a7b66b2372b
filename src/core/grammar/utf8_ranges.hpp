// Unicode code point sets and their lowering to UTF-8 byte sequences, so character classes over
// code points become byte-level alternatives (a multi-byte character is one class match).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/grammar/grammar.hpp"

namespace sgl::grammar {

struct CpRange {
  uint32_t lo, hi;  // inclusive
};
using CpSet = std::vector<CpRange>;

constexpr uint32_t kMaxCodePoint = 0x10FFFF;

// Sorted, merged, surrogates (U+D800..U+DFFF, not encodable in UTF-8) removed.
CpSet normalize(CpSet s);
// All scalar values not in `s` (s normalized).
CpSet complement(const CpSet& s);
// Alternation of byte sequences matching exactly the UTF-8 encodings of the set.
Expr utf8_expr(const CpSet& s);

void append_utf8(std::string& out, uint32_t cp);
// Decodes one scalar value at s[i]; advances i. Returns false on malformed input.
bool decode_utf8(std::string_view s, size_t& i, uint32_t& cp);

}  // namespace sgl::grammar
