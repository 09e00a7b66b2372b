#include "core/model/synthetic_tokenizer.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "core/support/check.hpp"

namespace sgl {
namespace {

constexpr std::string_view kSpace = "\xe2\x96\x81";  // U+2581 '▁', SentencePiece's space
constexpr int64_t kFirstPiece = 3 + 256;              // after <unk>, <s>, </s> and the byte tokens

// Splits UTF-8 text into characters (the corpus is valid UTF-8; no validation needed).
std::vector<std::string> utf8_chars(std::string_view s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    n = std::min(n, s.size() - i);
    out.emplace_back(s.substr(i, n));
    i += n;
  }
  return out;
}

struct Word {
  std::vector<std::string> syms;
  int64_t freq = 0;
};

// SentencePiece splits on whitespace and marks each word's leading space with ▁.
std::vector<Word> corpus_words() {
  std::map<std::string, int64_t> counts;
  std::string_view text = synthetic_corpus();
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t')) ++i;
    size_t j = i;
    while (j < text.size() && !(text[j] == ' ' || text[j] == '\n' || text[j] == '\t')) ++j;
    if (j > i) ++counts[std::string(kSpace) + std::string(text.substr(i, j - i))];
    i = j;
  }
  std::vector<Word> words;
  for (const auto& [w, n] : counts) words.push_back(Word{utf8_chars(w), n});
  return words;
}

// Base characters ordered by frequency (then by text) so ids are deterministic.
std::vector<std::string> base_chars(const std::vector<Word>& words) {
  std::map<std::string, int64_t> freq;
  for (const Word& w : words)
    for (const std::string& s : w.syms) freq[s] += w.freq;
  std::vector<std::pair<std::string, int64_t>> v(freq.begin(), freq.end());
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<std::string> out;
  for (auto& p : v) out.push_back(p.first);
  return out;
}

}  // namespace

int64_t synthetic_vocab_min() { return kFirstPiece + static_cast<int64_t>(base_chars(corpus_words()).size()) + 1; }

SpmVocab build_synthetic_vocab(int64_t n_vocab) {
  std::vector<Word> words = corpus_words();
  const std::vector<std::string> chars = base_chars(words);
  const int64_t min_vocab = kFirstPiece + static_cast<int64_t>(chars.size()) + 1;
  if (n_vocab < min_vocab || n_vocab > 1'000'000)
    SGL_THROW(Status::kInvalidArgument, "synthetic tokenizer: vocabulary size {} must be in {}..1000000", n_vocab,
              min_vocab);
  const size_t n_merged = static_cast<size_t>(n_vocab - kFirstPiece - static_cast<int64_t>(chars.size()));

  std::unordered_set<std::string> known(chars.begin(), chars.end());
  std::vector<std::string> merged;  // learned pieces in merge order
  // BPE training: repeatedly merge the most frequent adjacent pair (ties: smallest result text).
  while (merged.size() < n_merged) {
    std::map<std::pair<std::string, std::string>, int64_t> pairs;
    for (const Word& w : words)
      for (size_t k = 0; k + 1 < w.syms.size(); ++k) pairs[{w.syms[k], w.syms[k + 1]}] += w.freq;
    if (pairs.empty()) break;
    auto best = pairs.begin();
    for (auto it = pairs.begin(); it != pairs.end(); ++it) {
      if (it->second > best->second ||
          (it->second == best->second && it->first.first + it->first.second < best->first.first + best->first.second))
        best = it;
    }
    const auto [a, b] = best->first;
    const std::string ab = a + b;
    if (known.insert(ab).second) merged.push_back(ab);
    for (Word& w : words) {
      std::vector<std::string> out;
      for (size_t k = 0; k < w.syms.size(); ++k) {
        if (k + 1 < w.syms.size() && w.syms[k] == a && w.syms[k + 1] == b) {
          out.push_back(ab);
          ++k;
        } else {
          out.push_back(w.syms[k]);
        }
      }
      w.syms = std::move(out);
    }
  }
  // Padding: concatenations of learned pieces (never with a ▁ inside, as whitespace splitting
  // would never have produced one), in a fixed order.
  const size_t n_learned = merged.size();
  for (size_t i = 0; i < merged.size() && merged.size() < n_merged; ++i) {
    for (size_t j = 0; j < n_learned + chars.size() && merged.size() < n_merged; ++j) {
      const std::string& right = j < n_learned ? merged[j] : chars[j - n_learned];
      if (right.compare(0, kSpace.size(), kSpace) == 0) continue;
      std::string piece = merged[i] + right;
      if (known.insert(piece).second) merged.push_back(std::move(piece));
    }
  }
  SGL_CHECK(merged.size() == n_merged, "synthetic tokenizer: could only build {} of {} pieces", merged.size(), n_merged);

  SpmVocab v;
  auto add = [&](std::string piece, float score, SpmTokenType type) {
    v.pieces.push_back(std::move(piece));
    v.scores.push_back(score);
    v.types.push_back(static_cast<int32_t>(type));
  };
  add("<unk>", 0.0f, SpmTokenType::kUnknown);
  add("<s>", 0.0f, SpmTokenType::kControl);
  add("</s>", 0.0f, SpmTokenType::kControl);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    add(name, 0.0f, SpmTokenType::kByte);
  }
  float rank = 0;
  for (const std::string& p : merged) add(p, -(rank++), SpmTokenType::kNormal);
  for (const std::string& c : chars) add(c, -(rank++), SpmTokenType::kNormal);

  std::unordered_map<std::string, int64_t> id;
  for (size_t i = kFirstPiece; i < v.pieces.size(); ++i) id.emplace(v.pieces[i], static_cast<int64_t>(i));
  for (const std::string& p : merged) {
    std::vector<std::pair<int64_t, int64_t>> splits;
    std::vector<std::string> cs = utf8_chars(p);
    std::string left;
    for (size_t k = 0; k + 1 < cs.size(); ++k) {
      left += cs[k];
      std::string right = p.substr(left.size());
      auto l = id.find(left), r = id.find(right);
      if (l != id.end() && r != id.end()) splits.emplace_back(l->second, r->second);
    }
    std::sort(splits.begin(), splits.end());
    for (auto [l, r] : splits) v.merges.emplace_back(v.pieces[l], v.pieces[r]);
  }
  return v;
}

std::string synthetic_chat_template() {
  return "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
         "'<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
}

std::string synthetic_tokenizer_json(const SpmVocab& v) {
  using nlohmann::ordered_json;
  ordered_json j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  ordered_json added = ordered_json::array();
  for (int32_t id : {v.unk_id, v.bos_id, v.eos_id})
    added.push_back({{"id", id}, {"content", v.pieces[id]}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
  j["added_tokens"] = added;
  j["normalizer"] = {{"type", "Sequence"},
                     {"normalizers",
                      {{{"type", "Prepend"}, {"prepend", std::string(kSpace)}},
                       {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", std::string(kSpace)}}}}};
  j["pre_tokenizer"] = nullptr;
  const std::string bos = v.pieces[v.bos_id];
  j["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single", {{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
      {"pair",
       {{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}},
        {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
        {{"SpecialToken", {{"id", bos}, {"type_id", 1}}}},
        {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
      {"special_tokens", {{bos, {{"id", bos}, {"ids", {v.bos_id}}, {"tokens", {bos}}}}}}};
  j["decoder"] = {{"type", "Sequence"},
                  {"decoders",
                   {{{"type", "Replace"}, {"pattern", {{"String", std::string(kSpace)}}}, {"content", " "}},
                    {{"type", "ByteFallback"}},
                    {{"type", "Fuse"}},
                    {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
  ordered_json vocab = ordered_json::object();
  for (size_t i = 0; i < v.pieces.size(); ++i) vocab[v.pieces[i]] = i;
  ordered_json merges = ordered_json::array();
  for (const auto& [l, r] : v.merges) merges.push_back(l + " " + r);
  j["model"] = {{"type", "BPE"},          {"dropout", nullptr},        {"unk_token", v.pieces[v.unk_id]},
                {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr}, {"fuse_unk", true},
                {"byte_fallback", true},  {"ignore_merges", false},    {"vocab", vocab},
                {"merges", merges}};
  return j.dump(1);
}

std::string synthetic_tokenizer_config_json(const SpmVocab& v, int64_t n_ctx) {
  nlohmann::ordered_json j;
  j["add_bos_token"] = true;
  j["add_eos_token"] = false;
  j["bos_token"] = v.pieces[v.bos_id];
  j["eos_token"] = v.pieces[v.eos_id];
  j["unk_token"] = v.pieces[v.unk_id];
  j["pad_token"] = nullptr;
  j["chat_template"] = synthetic_chat_template();
  j["clean_up_tokenization_spaces"] = false;
  j["model_max_length"] = n_ctx;
  j["tokenizer_class"] = "LlamaTokenizerFast";
  return j.dump(2);
}

}  // namespace sgl
