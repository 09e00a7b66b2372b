#include "core/tokenizer/vocab.hpp"

#include <algorithm>

#include "core/support/check.hpp"
#include "core/tokenizer/unicode_text.hpp"

namespace sgl::tok {

namespace {

// Token texts llama.cpp treats as end-of-generation (or fill-in-the-middle) markers: when such a
// token is not typed as control, the reference re-types it as control at load time, so it is no
// longer matched in plain text and is skipped by decode(skip_special).
constexpr std::string_view kEogNames[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>", "<|endoftext|>",
    "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>", "</s>",
    "<｜end▁of▁sentence｜>"};
constexpr std::string_view kFimNames[] = {
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>",
    "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>",
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>",
    "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
    "<|file_sep|>"};
// Of the end-of-generation names, the ones that stop generation (FIM markers do not).
bool is_eog_name(std::string_view s) {
  for (auto n : kEogNames)
    if (n == s && n != "</s>" && n != "<｜end▁of▁sentence｜>") return true;
  return false;
}

void check_id(const Vocab& v, int32_t id, const char* what) {
  if (id != -1 && !v.valid(id))
    SGL_THROW(Status::kParseError, "tokenizer {}: {} id {} is outside the vocabulary (size {})", v.source, what,
              id, v.size());
}

std::string decode_spm_text(std::string_view t) {
  std::string out;
  out.reserve(t.size());
  for (size_t i = 0; i < t.size();) {
    if (t.compare(i, 3, "\xE2\x96\x81") == 0) {
      out.push_back(' ');
      i += 3;
    } else {
      out.push_back(t[i++]);
    }
  }
  return out;
}

std::string decode_byte_level_text(std::string_view t) {
  std::string out;
  out.reserve(t.size());
  for (size_t i = 0; i < t.size();) {
    const auto c = utf8_next(t, i);
    const int b = c.cp < kInvalidBase ? byte_from_unicode(c.cp) : -1;
    if (b >= 0) {
      out.push_back(char(b));
    } else {
      out.append(t.substr(i, c.len));  // not in the alphabet: keep the character as written
    }
    i += c.len;
  }
  return out;
}

int parse_byte_token(std::string_view t) {
  if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return -1;
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  const int hi = hex(t[3]), lo = hex(t[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

}  // namespace

void Vocab::finalize() {
  const size_t n = text.size();
  if (n == 0) SGL_THROW(Status::kParseError, "tokenizer {}: the vocabulary is empty", source);
  if (n > size_t(INT32_MAX / 2)) SGL_THROW(Status::kParseError, "tokenizer {}: vocabulary too large ({})", source, n);
  if (type.empty()) type.assign(n, TokenType::kNormal);
  if (type.size() != n)
    SGL_THROW(Status::kParseError, "tokenizer {}: {} token types for {} tokens", source, type.size(), n);
  if (!score.empty() && score.size() != n)
    SGL_THROW(Status::kParseError, "tokenizer {}: {} scores for {} tokens", source, score.size(), n);
  if (strip.size() != n) strip.resize(n, 0);
  check_id(*this, bos, "BOS");
  check_id(*this, eos, "EOS");
  check_id(*this, unk, "unknown-token");
  check_id(*this, pad, "padding");
  check_id(*this, eot, "end-of-turn");
  if (add_bos && bos < 0)
    SGL_THROW(Status::kParseError, "tokenizer {}: add_bos_token is set but there is no BOS token", source);
  if (add_eos && eos < 0)
    SGL_THROW(Status::kParseError, "tokenizer {}: add_eos_token is set but there is no EOS token", source);

  to_id.clear();
  to_id.reserve(n);
  for (size_t i = 0; i < n; ++i)
    if (!text[i].empty()) to_id[text[i]] = int32_t(i);  // later duplicates win, as in llama.cpp

  // Markers that must behave as control tokens (see kEogNames) and the end-of-generation set.
  eog.clear();
  auto retype = [&](std::string_view name) {
    const int32_t id = find(name);
    if (id >= 0 && type[id] != TokenType::kControl && type[id] != TokenType::kUnused) type[id] = TokenType::kControl;
    return id;
  };
  for (auto name : kEogNames) {
    const int32_t id = retype(name);
    if (id >= 0 && is_eog_name(name)) eog.push_back(id);
  }
  for (auto name : kFimNames) retype(name);
  if (eos >= 0) eog.push_back(eos);
  if (eot >= 0) eog.push_back(eot);
  std::sort(eog.begin(), eog.end());
  eog.erase(std::unique(eog.begin(), eog.end()), eog.end());

  // The bytes each token emits.
  bytes.assign(n, {});
  for (size_t i = 0; i < n; ++i) {
    const TokenType t = type[i];
    if (t == TokenType::kControl || t == TokenType::kUserDefined || t == TokenType::kUnknown) {
      bytes[i] = text[i];
    } else if (kind == ModelKind::kSpm) {
      const int b = t == TokenType::kByte ? parse_byte_token(text[i]) : -1;
      bytes[i] = b >= 0 ? std::string(1, char(b)) : decode_spm_text(text[i]);
    } else {
      bytes[i] = decode_byte_level_text(text[i]);
    }
  }

  // Tokens for raw bytes: <0xNN> for SPM byte fallback, the byte alphabet for byte-level BPE.
  byte_id.fill(-1);
  for (int b = 0; b < 256; ++b) {
    if (kind == ModelKind::kSpm) {
      static const char* hex = "0123456789ABCDEF";
      const char name[7] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>', 0};
      byte_id[b] = find(name);
      if (byte_id[b] < 0 && b < 0x80) byte_id[b] = find(std::string(1, char(b)));
    } else {
      byte_id[b] = find(byte_to_unicode()[b]);
    }
  }

  // SentencePiece scores: every split of a token into two tokens is a merge whose priority is
  // the merged token's score (highest first), which reproduces the score-driven merge loop.
  if (score_merges) {
    merges = MergeTable{};
    merges.reserve(n * 2);
    for (size_t i = 0; i < n; ++i) {
      const std::string& t = text[i];
      if (t.size() < 2 || find(t) != int32_t(i)) continue;
      const float prio = score.empty() ? 0.0f : -score[i];
      for (size_t k = 1; k < t.size(); ++k) {
        if ((uint8_t(t[k]) & 0xC0) == 0x80) continue;  // split only between characters
        const int32_t a = find(std::string_view(t).substr(0, k));
        if (a < 0) continue;
        const int32_t b = find(std::string_view(t).substr(k));
        if (b < 0) continue;
        merges.add(a, b, prio, int32_t(i));
      }
    }
  }

  // Special and added tokens matched in raw text before BPE, longest first. Unused (type 5) and
  // normal tokens are never matched.
  trie.assign(1, TrieNode{});
  special_first.fill(false);
  user_first.fill(false);
  for (size_t i = 0; i < n; ++i) {
    const TokenType t = type[i];
    if (text[i].empty()) continue;
    if (t != TokenType::kControl && t != TokenType::kUserDefined && t != TokenType::kUnknown) continue;
    int32_t node = 0;
    for (const char ch : text[i]) {
      const uint8_t c = uint8_t(ch);
      auto& next = trie[node].next;
      auto it = std::lower_bound(next.begin(), next.end(), std::make_pair(c, int32_t(-1)));
      if (it != next.end() && it->first == c) {
        node = it->second;
      } else {
        const int32_t child = int32_t(trie.size());
        next.insert(it, {c, child});
        trie.emplace_back();  // invalidates `next`; not used again this step
        node = child;
      }
    }
    trie[node].any = int32_t(i);  // a later duplicate text wins, as in to_id
    if (t == TokenType::kUserDefined) trie[node].user = int32_t(i);
    special_first[uint8_t(text[i][0])] = true;
    if (t == TokenType::kUserDefined) user_first[uint8_t(text[i][0])] = true;
  }

  spm_word_split = false;
  if (kind == ModelKind::kSpm && escape_spaces && pre.empty()) {
    spm_word_split = true;
    const std::string_view sp = "\xE2\x96\x81";
    for (size_t i = 0; i < n && spm_word_split; ++i) {
      const std::string& t = text[i];
      for (size_t k = t.find(sp, 1); k != std::string::npos; k = t.find(sp, k + 1)) {
        if (k < 3 || t.compare(k - 3, 3, sp) != 0) {
          spm_word_split = false;  // "x▁" inside a token: words may merge across the boundary
          break;
        }
      }
    }
  }
}

int32_t Vocab::match_special(std::string_view s, size_t pos, bool parse_special) const {
  int32_t node = 0, best = -1;
  for (size_t k = pos; k < s.size(); ++k) {
    const auto& next = trie[node].next;
    const uint8_t c = uint8_t(s[k]);
    auto it = std::lower_bound(next.begin(), next.end(), std::make_pair(c, int32_t(-1)));
    if (it == next.end() || it->first != c) break;
    node = it->second;
    const int32_t tok = parse_special ? trie[node].any : trie[node].user;
    if (tok >= 0) best = tok;
  }
  return best;
}

}  // namespace sgl::tok
