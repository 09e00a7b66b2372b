// Encoding: special / added tokens are split out of the text first (leftmost, longest match),
// then each remaining fragment goes through the family's pre-tokenizer and BPE.
#include <cstring>
#include <unordered_map>

#include "core/support/check.hpp"
#include "core/tokenizer/tokenizer_impl.hpp"
#include "core/tokenizer/unicode_text.hpp"

namespace sgl {

using tok::ModelKind;
using tok::TokenType;

namespace {

bool ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Per-thread cache of byte-level pieces -> ids. Natural text repeats a small set of words, so
// most pieces skip BPE entirely. Keyed by the tokenizer's serial so tokenizers never share entries.
struct PieceCache {
  uint64_t owner = 0;
  std::unordered_map<std::string, std::vector<int32_t>, tok::StringHash, std::equal_to<>> map;
};
constexpr size_t kCacheMaxPiece = 48;
constexpr size_t kCacheMaxEntries = 1 << 15;  // bounds the per-thread memory to a few MB

}  // namespace

void Tokenizer::Impl::encode(std::string_view text, bool add_special, bool parse_special,
                             std::vector<int32_t>& out) const {
  const tok::Vocab& v = vocab;
  if (add_special && v.add_bos && v.bos >= 0) out.push_back(v.bos);
  const auto& first = parse_special ? v.special_first : v.user_first;
  const size_t n = text.size();
  size_t raw_start = 0;
  bool after_special = true;  // the start of the text counts as "after a special token"
  for (size_t i = 0; i < n; ++i) {
    const uint8_t b = uint8_t(text[i]);
    if (!first[b]) continue;
    const int32_t hit = v.match_special(text, i, parse_special);
    if (hit < 0) continue;
    size_t raw_end = i;
    if (v.strip[hit] & 1)
      while (raw_end > raw_start && ascii_space(text[raw_end - 1])) --raw_end;
    if (raw_end > raw_start) encode_fragment(text.substr(raw_start, raw_end - raw_start), after_special, out);
    out.push_back(hit);
    after_special = true;
    size_t next = i + v.text[hit].size();
    if (v.strip[hit] & 2)
      while (next < n && ascii_space(text[next])) ++next;
    raw_start = next;
    i = next - 1;
  }
  if (raw_start < n) encode_fragment(text.substr(raw_start), after_special, out);
  if (add_special && v.add_eos && v.eos >= 0) out.push_back(v.eos);
}

void Tokenizer::Impl::encode_fragment(std::string_view text, bool after_special, std::vector<int32_t>& out) const {
  if (vocab.kind == ModelKind::kSpm) {
    encode_spm(text, after_special, out);
  } else {
    encode_byte_level(text, out);
  }
}

namespace {

// Appends the ids of `piece`, from the per-thread cache or by calling `run` (which appends).
template <class Run>
void cached_piece(uint64_t serial, std::string_view piece, std::vector<int32_t>& out, Run run) {
  thread_local PieceCache cache;
  if (piece.size() > kCacheMaxPiece) {
    run(piece, out);
    return;
  }
  if (cache.owner != serial) {
    cache.map.clear();
    cache.owner = serial;
  }
  if (auto it = cache.map.find(piece); it != cache.map.end()) {
    out.insert(out.end(), it->second.begin(), it->second.end());
    return;
  }
  const size_t before = out.size();
  run(piece, out);
  if (cache.map.size() >= kCacheMaxEntries) cache.map.clear();
  cache.map.emplace(std::string(piece), std::vector<int32_t>(out.begin() + before, out.end()));
}

}  // namespace

void Tokenizer::Impl::encode_spm(std::string_view text, bool after_special, std::vector<int32_t>& out) const {
  const tok::Vocab& v = vocab;
  thread_local std::string buf;
  thread_local std::vector<tok::Span> pieces;
  buf.clear();
  if (v.add_space_prefix && after_special) buf += "\xE2\x96\x81";
  if (v.escape_spaces) {
    for (char c : text) {
      if (c == ' ') buf += "\xE2\x96\x81";
      else buf.push_back(c);
    }
  } else {
    buf.append(text);
  }
  pieces.clear();
  if (v.spm_word_split) {
    // Cut before every ▁ that follows another character: "▁▁a▁b" -> "▁▁a" "▁b".
    size_t start = 0;
    for (size_t k = buf.find("\xE2\x96\x81", 1); k != std::string::npos; k = buf.find("\xE2\x96\x81", k + 3)) {
      if (k >= 3 && buf.compare(k - 3, 3, "\xE2\x96\x81") == 0) continue;
      pieces.emplace_back(uint32_t(start), uint32_t(k));
      start = k;
    }
    if (start < buf.size()) pieces.emplace_back(uint32_t(start), uint32_t(buf.size()));
  } else {
    v.pre.split(buf, pieces);
  }
  auto run = [this](std::string_view piece, std::vector<int32_t>& o) { spm_piece(piece, o); };
  for (const auto& [pb, pe] : pieces) cached_piece(serial, std::string_view(buf).substr(pb, pe - pb), out, run);
}

void Tokenizer::Impl::spm_piece(std::string_view piece, std::vector<int32_t>& out) const {
  const tok::Vocab& v = vocab;
  thread_local std::vector<int32_t> syms;
  syms.clear();
  for (size_t i = 0; i < piece.size();) {
    const auto c = tok::utf8_next(piece, i);
    int32_t id = -1;
    if (c.cp < bmp_id.size()) id = bmp_id[c.cp];
    else if (c.cp < tok::kInvalidBase) id = v.find(piece.substr(i, c.len));
    if (id >= 0) {
      syms.push_back(id);
    } else {
      // Characters outside the vocabulary: one <0xNN> token per byte, else <unk>.
      for (uint32_t k = 0; k < c.len; ++k) {
        const int32_t bid = v.byte_fallback ? v.byte_id[uint8_t(piece[i + k])] : -1;
        if (bid >= 0) syms.push_back(bid);
        else if (v.unk >= 0 && (k == 0 || !v.byte_fallback)) {
          syms.push_back(v.unk);
          break;
        }
      }
    }
    i += c.len;
  }
  tok::bpe_merge(v.merges, syms);
  out.insert(out.end(), syms.begin(), syms.end());
}

void Tokenizer::Impl::encode_byte_level(std::string_view text, std::vector<int32_t>& out) const {
  thread_local std::vector<tok::Span> pieces;
  pieces.clear();
  vocab.pre.split(text, pieces);
  auto run = [this](std::string_view piece, std::vector<int32_t>& o) { byte_level_piece(piece, o); };
  for (const auto& [pb, pe] : pieces) cached_piece(serial, text.substr(pb, pe - pb), out, run);
}

void Tokenizer::Impl::byte_level_piece(std::string_view piece, std::vector<int32_t>& out) const {
  const tok::Vocab& v = vocab;
  if (v.ignore_merges) {
    thread_local std::string enc;
    enc.clear();
    for (char c : piece) enc += tok::byte_to_unicode()[uint8_t(c)];
    if (const int32_t id = v.find(enc); id >= 0) {
      out.push_back(id);
      return;
    }
  }
  thread_local std::vector<int32_t> syms;
  syms.clear();
  for (char c : piece) {
    const int32_t id = v.byte_id[uint8_t(c)];
    if (id >= 0) syms.push_back(id);
    else if (v.unk >= 0) syms.push_back(v.unk);
  }
  tok::bpe_merge(v.merges, syms);
  out.insert(out.end(), syms.begin(), syms.end());
}

}  // namespace sgl
