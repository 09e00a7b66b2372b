#include "core/tokenizer/pre_tokenizer.hpp"

#include <algorithm>

#include "core/support/check.hpp"
#include "core/tokenizer/unicode_text.hpp"

namespace sgl::tok {

namespace {

// The text decoded once: code points, their category flags and byte offsets (n + 1 entries).
struct Decoded {
  std::vector<uint32_t> cp;
  std::vector<uint8_t> fl;
  std::vector<uint32_t> off;

  void decode(std::string_view text) {
    cp.clear();
    fl.clear();
    off.clear();
    for (size_t i = 0; i < text.size();) {
      const auto c = utf8_next(text, i);
      cp.push_back(c.cp);
      fl.push_back(c.cp < 0x80 ? ascii_flags(c.cp) : cp_flags(c.cp));
      off.push_back(uint32_t(i));
      i += c.len;
    }
    off.push_back(uint32_t(text.size()));
  }

  static uint8_t ascii_flags(uint32_t c) {
    static const auto table = [] {
      std::array<uint8_t, 128> t{};
      for (uint32_t i = 0; i < 128; ++i) t[i] = cp_flags(i);
      return t;
    }();
    return table[c];
  }
};

bool in_ranges(uint32_t c, const uint32_t (*r)[2], size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (c >= r[i][0] && c <= r[i][1]) return true;
  return false;
}

// deepseek-llm's letter class, as code point ranges. (Its source regex spells some ranges with
// characters that Unicode normalization would rewrite, e.g. U+1F7D; these are the intended ones.)
constexpr uint32_t kDsLetterRanges[][2] = {
    {0x41, 0x5A}, {0x61, 0x7A}, {0xB5, 0xB5}, {0xC0, 0xD6}, {0xD8, 0xF6}, {0xF8, 0x1BA},
    {0x1BC, 0x1BF}, {0x1C4, 0x293}, {0x295, 0x2AF}, {0x370, 0x373}, {0x376, 0x377},
    {0x37B, 0x37D}, {0x37F, 0x37F}, {0x386, 0x386}, {0x388, 0x38A}, {0x38C, 0x38C},
    {0x38E, 0x3A1}, {0x3A3, 0x3F5}, {0x3F7, 0x481}, {0x48A, 0x52F}, {0x531, 0x556},
    {0x10A0, 0x10C5}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD}, {0x1C90, 0x1CBA}, {0x1CBD, 0x1CBF},
    {0x1D00, 0x1D2B}, {0x1D6B, 0x1D77}, {0x1D79, 0x1D9A}, {0x1E00, 0x1F15}, {0x1F18, 0x1F1D},
    {0x1F20, 0x1F45}, {0x1F48, 0x1F4D}, {0x1F50, 0x1F57}, {0x1F59, 0x1F59}, {0x1F5B, 0x1F5B},
    {0x1F5D, 0x1F5D}, {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4}, {0x1FB6, 0x1FBC}, {0x1FBE, 0x1FBE},
    {0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC}, {0x1FD0, 0x1FD3}, {0x1FD6, 0x1FDB}, {0x1FE0, 0x1FEC},
    {0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC}, {0x2102, 0x2102}, {0x2107, 0x2107}, {0x210A, 0x2113},
    {0x2115, 0x2115}, {0x2119, 0x211D}, {0x2124, 0x2124}, {0x2126, 0x2126}, {0x2128, 0x2128},
    {0x212A, 0x212D}, {0x212F, 0x2134}, {0x2139, 0x2139}, {0x213C, 0x213F}, {0x2145, 0x2149},
    {0x214E, 0x214E}, {0x2183, 0x2184}, {0x2C00, 0x2C7B}, {0x2C7E, 0x2CE4}, {0x2CEB, 0x2CEE},
    {0x2CF2, 0x2CF3}, {0xA640, 0xA66D}, {0xA680, 0xA69B}, {0xA722, 0xA76F}, {0xA771, 0xA787},
    {0xA78B, 0xA78E}, {0xAB70, 0xABBF}, {0xFB00, 0xFB06}, {0xFB13, 0xFB17}, {0xFF21, 0xFF3A},
    {0xFF41, 0xFF5A}, {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB},
    {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943}};
constexpr uint32_t kDsPunctRanges[][2] = {{0x21, 0x2F},     {0x3A, 0x7E},     {0xFF01, 0xFF0F},
                                          {0xFF1A, 0xFF5E}, {0x2018, 0x201F}, {0x3000, 0x3002}};
constexpr uint32_t kCjkRanges[][2] = {{0x4E00, 0x9FA5}, {0x800, 0x4E00}, {0xAC00, 0xD7FF}};

// One matcher over a chunk [.., e) of the decoded text: returns the match length at `pos`
// (0 = no match here). Each follows its regex's leftmost-alternative, greedy semantics.
class Matcher {
 public:
  Matcher(const Decoded& d) : cp_(d.cp.data()), fl_(d.fl.data()) {}

  size_t match(SplitRule rule, size_t pos, size_t e) const {
    switch (rule) {
      case SplitRule::kGpt2: return gpt2(pos, e);
      case SplitRule::kLlama3: return llama3(pos, e, 3);
      case SplitRule::kQwen2: return llama3(pos, e, 1);
      case SplitRule::kNumberEach: return is(pos, kNumber) ? 1 : 0;
      case SplitRule::kNumberRun: return run(pos, e, kNumber) - pos;
      case SplitRule::kAsciiDigit3:
        return pos + 3 <= e && digit(pos) && digit(pos + 1) && digit(pos + 2) ? 3 : 0;
      case SplitRule::kAsciiDigitEach: return digit(pos) ? 1 : 0;
      case SplitRule::kAsciiDigitRun: return run_if(pos, e, [&](size_t i) { return digit(i); }) - pos;
      case SplitRule::kPunctRun: return run_if(pos, e, [&](size_t i) { return falcon_punct(i, true); }) - pos;
      case SplitRule::kPunctRunNoTick:
        return run_if(pos, e, [&](size_t i) { return falcon_punct(i, false); }) - pos;
      case SplitRule::kNewline: return cp_[pos] == '\r' || cp_[pos] == '\n' ? 1 : 0;
      case SplitRule::kDsLetters:
        return opt_space_then_run(pos, e, [&](size_t i) { return ds_letter(cp_[i]); });
      case SplitRule::kDsPunct:
        return opt_space_then_run(pos, e, [&](size_t i) {
          return in_ranges(cp_[i], kDsPunctRanges, std::size(kDsPunctRanges));
        });
      case SplitRule::kTrailingSpace: {
        const size_t w = run(pos, e, kSpace);
        return w == e ? w - pos : 0;
      }
      case SplitRule::kCjk:
        return run_if(pos, e, [&](size_t i) { return in_ranges(cp_[i], kCjkRanges, std::size(kCjkRanges)); }) - pos;
      case SplitRule::kSpaceLetters:
        return opt_space_then_run(pos, e, [&](size_t i) { return is(i, kLetter); });
      case SplitRule::kSpacePunct:
        return opt_space_then_run(pos, e, [&](size_t i) { return is(i, kPunct); });
      case SplitRule::kMetaspace: {
        size_t i = pos + (cp_[pos] == 0x2581 ? 1 : 0);
        while (i < e && cp_[i] != 0x2581) ++i;
        return i - pos;
      }
    }
    return 0;
  }

 private:
  bool is(size_t i, uint8_t f) const { return (fl_[i] & f) != 0; }
  // Binary search over the sorted, disjoint deepseek-llm letter ranges (ASCII answered directly).
  static bool ds_letter(uint32_t c) {
    if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
    size_t lo = 0, hi = std::size(kDsLetterRanges);
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (kDsLetterRanges[mid][1] < c) lo = mid + 1;
      else hi = mid;
    }
    return lo < std::size(kDsLetterRanges) && c >= kDsLetterRanges[lo][0];
  }
  bool digit(size_t i) const { return cp_[i] >= '0' && cp_[i] <= '9'; }
  bool other(size_t i) const { return (fl_[i] & (kSpace | kLetter | kNumber)) == 0; }
  bool crlf(size_t i) const { return cp_[i] == '\r' || cp_[i] == '\n'; }
  bool falcon_punct(size_t i, bool tick) const {
    const uint32_t c = cp_[i];
    return is(i, kPunct) || c == '$' || c == '+' || c == '<' || c == '=' || c == '>' || c == '^' ||
           c == '~' || c == '|' || (tick && c == '`');
  }
  size_t run(size_t i, size_t e, uint8_t f) const {
    while (i < e && is(i, f)) ++i;
    return i;
  }
  template <class Pred>
  size_t run_if(size_t i, size_t e, Pred p) const {
    while (i < e && p(i)) ++i;
    return i;
  }
  // \s?X+ : the optional whitespace is taken only if X follows it.
  template <class Pred>
  size_t opt_space_then_run(size_t pos, size_t e, Pred p) const {
    size_t s = pos;
    if (is(pos, kSpace) && pos + 1 < e && p(pos + 1)) s = pos + 1;
    const size_t end = run_if(s, e, p);
    return end > s ? end - pos : 0;
  }
  static uint32_t lower(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

  // 's 't 're 've 'm 'll 'd, optionally case-insensitive.
  size_t contraction(size_t pos, size_t e, bool icase) const {
    if (cp_[pos] != '\'' || pos + 1 >= e) return 0;
    const uint32_t c1 = icase ? lower(cp_[pos + 1]) : cp_[pos + 1];
    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return 2;
    if (pos + 2 >= e) return 0;
    const uint32_t c2 = icase ? lower(cp_[pos + 2]) : cp_[pos + 2];
    if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return 3;
    return 0;
  }

  // Whitespace tail shared by both families: \s+(?!\S) then \s+.
  size_t trailing_ws(size_t pos, size_t e) const {
    const size_t w = run(pos, e, kSpace);
    if (w == e || w - pos == 1) return w - pos;
    return w - pos - 1;  // leave one space to join the next word
  }

  size_t gpt2(size_t pos, size_t e) const {
    if (size_t n = contraction(pos, e, false)) return n;
    const size_t s = (cp_[pos] == ' ' && pos + 1 < e) ? pos + 1 : pos;
    if (!is(s, kSpace)) {
      if (is(s, kLetter)) return run(s, e, kLetter) - pos;
      if (is(s, kNumber)) return run(s, e, kNumber) - pos;
      return run_if(s, e, [&](size_t i) { return other(i); }) - pos;
    }
    return trailing_ws(pos, e);
  }

  size_t llama3(size_t pos, size_t e, size_t max_digits) const {
    if (size_t n = contraction(pos, e, true)) return n;
    if (is(pos, kLetter)) return run(pos, e, kLetter) - pos;
    if (!crlf(pos) && !is(pos, kNumber) && pos + 1 < e && is(pos + 1, kLetter))
      return run(pos + 1, e, kLetter) - pos;
    if (is(pos, kNumber)) {
      size_t i = pos;
      while (i < e && i - pos < max_digits && is(i, kNumber)) ++i;
      return i - pos;
    }
    const size_t s = (cp_[pos] == ' ' && pos + 1 < e && other(pos + 1)) ? pos + 1 : pos;
    if (other(s)) {
      size_t i = run_if(s, e, [&](size_t k) { return other(k); });
      while (i < e && crlf(i)) ++i;
      return i - pos;
    }
    // Whitespace: \s*[\r\n]+ ends at the last line break of the run.
    const size_t w = run(pos, e, kSpace);
    for (size_t j = w; j > pos; --j)
      if (crlf(j - 1)) return j - pos;
    return trailing_ws(pos, e);
  }

  const uint32_t* cp_;
  const uint8_t* fl_;
};

}  // namespace

void PreTokenizer::split(std::string_view text, std::vector<Span>& out) const {
  if (text.empty()) return;
  if (rules_.empty()) {
    out.emplace_back(0, uint32_t(text.size()));
    return;
  }
  thread_local Decoded d;
  thread_local std::vector<Span> cur, next;  // chunks in code point indices
  d.decode(text);
  const Matcher m(d);
  cur.clear();
  cur.emplace_back(0, uint32_t(d.cp.size()));
  for (const SplitRule rule : rules_) {
    next.clear();
    for (const auto& [b, e] : cur) {
      size_t gap = b, pos = b;
      while (pos < e) {
        const size_t len = m.match(rule, pos, e);
        if (len == 0) {
          ++pos;
          continue;
        }
        if (gap < pos) next.emplace_back(uint32_t(gap), uint32_t(pos));
        next.emplace_back(uint32_t(pos), uint32_t(pos + len));
        pos += len;
        gap = pos;
      }
      if (gap < e) next.emplace_back(uint32_t(gap), uint32_t(e));
    }
    std::swap(cur, next);
  }
  for (const auto& [b, e] : cur) out.emplace_back(d.off[b], d.off[e]);
}

PreTokenizer pre_tokenizer_for_gguf(std::string_view pre, bool* ignore_merges) {
  using R = SplitRule;
  *ignore_merges = false;
  auto is_any = [&](std::initializer_list<std::string_view> names) {
    return std::find(names.begin(), names.end(), pre) != names.end();
  };
  if (is_any({"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0"})) {
    *ignore_merges = true;
    return PreTokenizer({R::kLlama3});
  }
  if (is_any({"dbrx", "smaug-bpe"})) return PreTokenizer({R::kLlama3});
  if (is_any({"qwen2", "stablelm2", "hunyuan", "megrez"})) return PreTokenizer({R::kQwen2});
  if (is_any({"gpt-2", "mpt", "olmo", "jais", "trillion", "phi-2"})) return PreTokenizer({R::kGpt2});
  if (is_any({"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva"}))
    return PreTokenizer({R::kNumberEach, R::kGpt2});
  if (pre == "falcon") return PreTokenizer({R::kPunctRun, R::kGpt2, R::kAsciiDigit3});
  if (pre == "deepseek-llm")
    return PreTokenizer({R::kNewline, R::kDsLetters, R::kDsPunct, R::kTrailingSpace, R::kCjk, R::kNumberRun});
  if (pre == "deepseek-coder")
    return PreTokenizer({R::kNewline, R::kSpaceLetters, R::kSpacePunct, R::kCjk, R::kNumberEach});
  if (pre == "default" || pre.empty())
    return PreTokenizer({R::kPunctRunNoTick, R::kGpt2, R::kNumberRun, R::kAsciiDigit3});
  SGL_THROW(Status::kUnsupported, "tokenizer: pre-tokenizer type '{}' (tokenizer.ggml.pre) is not supported", pre);
}

bool split_rule_for_regex(std::string_view p, SplitRule* rule) {
  struct Known {
    std::string_view pattern;
    SplitRule rule;
  };
  static const Known known[] = {
      {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
       SplitRule::kLlama3},
      {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
       SplitRule::kQwen2},
      {R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)", SplitRule::kGpt2},
      {R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))", SplitRule::kGpt2},
      {"[0-9][0-9][0-9]", SplitRule::kAsciiDigit3},
      {"[\r\n]", SplitRule::kNewline},
      {"\\s?\\p{L}+", SplitRule::kSpaceLetters},
      {"\\s?\\p{P}+", SplitRule::kSpacePunct},
      {"\\p{N}+", SplitRule::kNumberRun},
      {"\\p{N}", SplitRule::kNumberEach},
      {"\\s+$", SplitRule::kTrailingSpace},
      {"[一-龥ࠀ-一가-퟿]+", SplitRule::kCjk},
      {"\\s?[!-/:-~！-／：-～‘-‟　-。]+", SplitRule::kDsPunct},
  };
  for (const auto& k : known) {
    if (k.pattern == p) {
      *rule = k.rule;
      return true;
    }
  }
  // deepseek-llm's long letter class: recognise it by its distinctive start and end.
  if (p.starts_with("\\s?[A-Za-zµÀ-ÖØ-öø-ƺ") && p.ends_with("𞤀-𞥃]+")) {
    *rule = SplitRule::kDsLetters;
    return true;
  }
  return false;
}

}  // namespace sgl::tok
