#include "core/tokenizer/unicode_text.hpp"

#include <utf8proc.h>

#include <memory>
#include <vector>

namespace sgl::tok {

Utf8Char utf8_next(std::string_view s, size_t i) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  const uint8_t b0 = p[i];
  if (b0 < 0x80) return {b0, 1};
  auto invalid = Utf8Char{kInvalidBase + b0, 1};
  auto cont = [&](size_t k) { return i + k < n && (p[i + k] & 0xC0) == 0x80; };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (!cont(1)) return invalid;
    return {uint32_t(b0 & 0x1F) << 6 | (p[i + 1] & 0x3F), 2};
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (!cont(1) || !cont(2)) return invalid;
    uint32_t cp = uint32_t(b0 & 0x0F) << 12 | uint32_t(p[i + 1] & 0x3F) << 6 | (p[i + 2] & 0x3F);
    if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return invalid;
    return {cp, 3};
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return invalid;
    uint32_t cp = uint32_t(b0 & 0x07) << 18 | uint32_t(p[i + 1] & 0x3F) << 12 |
                  uint32_t(p[i + 2] & 0x3F) << 6 | (p[i + 3] & 0x3F);
    if (cp < 0x10000 || cp > 0x10FFFF) return invalid;
    return {cp, 4};
  }
  return invalid;
}

void utf8_append(std::string& out, uint32_t cp) {
  if (cp >= kInvalidBase) {
    out.push_back(char(cp - kInvalidBase));
  } else if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xC0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(char(0xE0 | (cp >> 12)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (cp >> 18)));
    out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  }
}

namespace {
// Expected sequence length for a lead byte, 0 if it cannot start a valid sequence.
int lead_len(uint8_t b) {
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return 2;
  if (b >= 0xE0 && b <= 0xEF) return 3;
  if (b >= 0xF0 && b <= 0xF4) return 4;
  return 0;
}
// Whether `second` may follow `lead` in a valid sequence (excludes overlongs and surrogates).
bool second_ok(uint8_t lead, uint8_t second) {
  if ((second & 0xC0) != 0x80) return false;
  if (lead == 0xE0) return second >= 0xA0;
  if (lead == 0xED) return second <= 0x9F;
  if (lead == 0xF0) return second >= 0x90;
  if (lead == 0xF4) return second <= 0x8F;
  return true;
}
}  // namespace

size_t utf8_safe_prefix(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  // Only the last three bytes can belong to an unfinished sequence.
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const size_t start = n - back;
    const uint8_t b = p[start];
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: the lead is further back
    const int len = lead_len(b);
    if (len <= 1 || size_t(len) <= back) return n;  // complete, ASCII, or invalid lead
    if (back >= 2 && !second_ok(b, p[start + 1])) return n;
    for (size_t k = 2; k < back; ++k)
      if ((p[start + k] & 0xC0) != 0x80) return n;
    return start;  // a valid but incomplete sequence starts here: hold it back
  }
  return n;
}

bool utf8_is_valid(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    auto c = utf8_next(s, i);
    if (c.cp >= kInvalidBase) return false;
    i += c.len;
  }
  return true;
}

namespace {
uint8_t compute_flags(uint32_t cp) {
  // White_Space property: the controls 0x09-0x0D and 0x85 plus separators (Zs, Zl, Zp).
  if ((cp >= 0x09 && cp <= 0x0D) || cp == 0x85) return kSpace;
  switch (utf8proc_category(utf8proc_int32_t(cp))) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
      return kLetter;
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
      return kMark;
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
      return kNumber;
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return kPunct;
    case UTF8PROC_CATEGORY_SM: case UTF8PROC_CATEGORY_SC: case UTF8PROC_CATEGORY_SK:
    case UTF8PROC_CATEGORY_SO:
      return kSymbol;
    case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
      return kSpace;
    default:
      return 0;
  }
}

// The Basic Multilingual Plane is tabulated once (64 KiB) so the pre-tokenizers' hot loop is a
// single load; astral code points go to utf8proc directly.
const std::vector<uint8_t>& bmp_table() {
  static const std::vector<uint8_t> table = [] {
    std::vector<uint8_t> t(0x10000);
    for (uint32_t cp = 0; cp < 0x10000; ++cp) t[cp] = compute_flags(cp);
    return t;
  }();
  return table;
}
}  // namespace

uint8_t cp_flags(uint32_t cp) {
  if (cp < 0x10000) return bmp_table()[cp];
  if (cp > 0x10FFFF) return 0;
  return compute_flags(cp);
}

namespace {
struct ByteAlphabet {
  std::array<std::string, 256> to_unicode;
  std::array<int, 324> from_unicode;  // every stand-in is below U+0144
  ByteAlphabet() {
    from_unicode.fill(-1);
    // Printable Latin-1 bytes stand for themselves; the other 68 bytes map to U+0100 onwards.
    uint32_t next = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      const uint32_t cp = printable ? uint32_t(b) : 0x100 + next++;
      utf8_append(to_unicode[b], cp);
      from_unicode[cp] = b;
    }
  }
};
const ByteAlphabet& alphabet() {
  static const ByteAlphabet a;
  return a;
}
}  // namespace

const std::array<std::string, 256>& byte_to_unicode() { return alphabet().to_unicode; }

int byte_from_unicode(uint32_t cp) {
  return cp < alphabet().from_unicode.size() ? alphabet().from_unicode[cp] : -1;
}

}  // namespace sgl::tok
