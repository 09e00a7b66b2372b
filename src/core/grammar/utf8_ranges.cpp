// Code point ranges to UTF-8 byte-range sequences. A range whose endpoints have different
// encoded lengths is split at the length boundaries; a same-length range is split until every
// continuation byte either spans its full 0x80..0xBF range or the prefix bytes are equal, so each
// piece is exactly a sequence of independent byte ranges.
#include "core/grammar/utf8_ranges.hpp"

#include <algorithm>

namespace sgl::grammar {

CpSet normalize(CpSet s) {
  CpSet cut;
  for (CpRange r : s) {
    if (r.lo > r.hi) continue;
    r.hi = std::min(r.hi, kMaxCodePoint);
    if (r.lo > r.hi) continue;
    if (r.lo < 0xD800 && r.hi >= 0xD800) {
      cut.push_back({r.lo, 0xD7FF});
      if (r.hi > 0xDFFF) cut.push_back({0xE000, r.hi});
    } else if (r.lo >= 0xD800 && r.lo <= 0xDFFF) {
      if (r.hi > 0xDFFF) cut.push_back({0xE000, r.hi});
    } else {
      cut.push_back(r);
    }
  }
  std::sort(cut.begin(), cut.end(), [](CpRange a, CpRange b) { return a.lo < b.lo; });
  CpSet out;
  for (CpRange r : cut) {
    if (!out.empty() && r.lo <= out.back().hi + 1)
      out.back().hi = std::max(out.back().hi, r.hi);
    else
      out.push_back(r);
  }
  return out;
}

CpSet complement(const CpSet& s) {
  CpSet out;
  uint32_t next = 0;
  for (CpRange r : s) {
    if (r.lo > next) out.push_back({next, r.lo - 1});
    next = r.hi + 1;
  }
  if (next <= kMaxCodePoint) out.push_back({next, kMaxCodePoint});
  return normalize(std::move(out));
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool decode_utf8(std::string_view s, size_t& i, uint32_t& cp) {
  if (i >= s.size()) return false;
  uint8_t c = static_cast<uint8_t>(s[i]);
  int len;
  uint32_t min;
  if (c < 0x80) {
    cp = c;
    ++i;
    return true;
  } else if ((c & 0xE0) == 0xC0) {
    len = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return false;
  }
  if (i + len > s.size()) return false;
  for (int k = 1; k < len; ++k) {
    uint8_t d = static_cast<uint8_t>(s[i + k]);
    if ((d & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (d & 0x3F);
  }
  if (cp < min || cp > kMaxCodePoint || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  i += len;
  return true;
}

namespace {

int enc_len(uint32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

void split(uint32_t lo, uint32_t hi, std::vector<Expr>& out) {
  static const uint32_t kBoundary[] = {0x7F, 0x7FF, 0xFFFF};
  for (uint32_t b : kBoundary)
    if (lo <= b && hi > b) {
      split(lo, b, out);
      split(b + 1, hi, out);
      return;
    }
  int n = enc_len(lo);
  for (int i = 1; i < n; ++i) {
    uint32_t m = (uint32_t{1} << (6 * i)) - 1;
    if ((lo & ~m) != (hi & ~m)) {
      if ((lo & m) != 0) {
        split(lo, lo | m, out);
        split((lo | m) + 1, hi, out);
        return;
      }
      if ((hi & m) != m) {
        split(lo, (hi & ~m) - 1, out);
        split(hi & ~m, hi, out);
        return;
      }
    }
  }
  std::string a, b;
  append_utf8(a, lo);
  append_utf8(b, hi);
  std::vector<Expr> seq;
  for (size_t k = 0; k < a.size(); ++k)
    seq.push_back(Expr::bytes_of(ByteSet::range(static_cast<uint8_t>(a[k]), static_cast<uint8_t>(b[k]))));
  out.push_back(Expr::seq(std::move(seq)));
}

}  // namespace

Expr utf8_expr(const CpSet& s) {
  std::vector<Expr> alts;
  ByteSet ascii;
  for (CpRange r : s) {
    if (r.lo < 0x80) {
      ascii.set_range(static_cast<uint8_t>(r.lo), static_cast<uint8_t>(std::min<uint32_t>(r.hi, 0x7F)));
      if (r.hi < 0x80) continue;
      r.lo = 0x80;
    }
    split(r.lo, r.hi, alts);
  }
  if (!ascii.empty()) alts.insert(alts.begin(), Expr::bytes_of(ascii));
  if (alts.empty()) return Expr::bytes_of(ByteSet{});  // matches nothing; flattening reports it
  return Expr::alt(std::move(alts));
}

}  // namespace sgl::grammar
