// UTF-8 and Unicode-category helpers for the tokenizers: a lenient UTF-8 decoder (invalid bytes
// become one pseudo code point each, so no input byte is ever lost), category flags from utf8proc,
// and the GPT-2 byte <-> printable-character alphabet used by byte-level BPE.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sgl::tok {

// Invalid UTF-8 bytes decode to kInvalidBase + byte: outside Unicode, category "other".
constexpr uint32_t kInvalidBase = 0x110000;

struct Utf8Char {
  uint32_t cp;   // code point, or kInvalidBase + byte
  uint32_t len;  // bytes consumed (1..4)
};

// Decodes the character at s[i] (i < s.size()). Overlong forms, surrogates, values above
// U+10FFFF and truncated sequences are invalid: the lead byte alone is consumed.
Utf8Char utf8_next(std::string_view s, size_t i);
void utf8_append(std::string& out, uint32_t cp);
// Length of the longest prefix of s that does not end inside an incomplete (but so far valid)
// UTF-8 sequence; used by the streaming detokenizer.
size_t utf8_safe_prefix(std::string_view s);
bool utf8_is_valid(std::string_view s);

enum CpFlag : uint8_t {
  kLetter = 1,   // \p{L}
  kNumber = 2,   // \p{N}
  kPunct = 4,    // \p{P}
  kSpace = 8,    // \s (Unicode White_Space)
  kMark = 16,    // \p{M}
  kSymbol = 32,  // \p{S}
};

// Category flags of a code point (0 for invalid pseudo code points and unassigned ones).
uint8_t cp_flags(uint32_t cp);

// GPT-2 byte-level alphabet: byte -> UTF-8 of its printable stand-in character, and back
// (-1 for characters outside the alphabet).
const std::array<std::string, 256>& byte_to_unicode();
int byte_from_unicode(uint32_t cp);

}  // namespace sgl::tok
