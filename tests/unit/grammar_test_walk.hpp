// Test helpers for the grammar tests: a synthetic byte-level vocabulary and a random "model"
// that samples uniformly among the tokens the matcher allows (temperature 1), leaning towards
// EOS and closing tokens as the output grows so generations finish.
#pragma once

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "core/grammar/grammar_matcher.hpp"

namespace sgl::test {

// 256 single bytes, a few thousand multi-byte pieces (JSON punctuation, words, byte pairs,
// whole and split UTF-8 characters), one special token and EOS (the last id).
inline grammar::Vocab synthetic_vocab() {
  grammar::Vocab v;
  for (int b = 0; b < 256; ++b) v.token_bytes.push_back(std::string(1, static_cast<char>(b)));
  const char* pieces[] = {"{\"", "\":", "\",", "\"}", "\"]", "},", "],", "[{", "}]", "true", "false",
                          "null", "\":\"", "\",\"", "\":[", "\":{", "\": ", ", ", "the", " the", "name",
                          "id", "type", "value", "data", "ing", "tion", "er", " a", "00", "12", "2023",
                          "-0", "0.", ".5", "e+", "1e", "\\n", "\\\"", "\\u00", "é", "中", "😀", "\xC3",
                          "\xE4\xB8", "\xF0\x9F", "\x98\x80", "http", "://", "www", ".com", "@", "T12",
                          ":00", "Z", "2024-01-", "((", "))", "()", "+1", "*2", "abc", "ab", "cd"};
  for (const char* p : pieces) v.token_bytes.push_back(p);
  const std::string alpha = "abcdefghijklmnopqrstuvwxyz0123456789\"{}[]:, -.";
  for (char a : alpha)
    for (char b : alpha) v.token_bytes.push_back(std::string{a, b});
  v.token_bytes.push_back("<|special|>");
  v.special_ids.push_back(static_cast<int32_t>(v.token_bytes.size() - 1));
  v.token_bytes.push_back("");  // EOS
  v.eos_ids.push_back(static_cast<int32_t>(v.token_bytes.size() - 1));
  return v;
}

struct WalkResult {
  std::string text;
  bool completed = false;
};

// Samples until EOS or max_tokens. Checks mask/accept consistency on the way.
inline WalkResult random_walk(grammar::GrammarMatcher& m, const grammar::Vocab& v, uint64_t seed,
                              size_t max_tokens = 300) {
  std::mt19937_64 rng(seed);
  std::vector<uint32_t> mask(m.mask_words());
  WalkResult r;
  const int32_t eos = v.eos_ids[0];
  for (size_t step = 0; step < max_tokens; ++step) {
    m.fill_next_token_bitmask(mask.data());
    std::vector<int32_t> allowed, closers;
    for (size_t id = 0; id < v.token_bytes.size(); ++id)
      if ((mask[id >> 5] >> (id & 31)) & 1) allowed.push_back(static_cast<int32_t>(id));
    for (int32_t s : v.special_ids) CHECK_FALSE(((mask[s >> 5] >> (s & 31)) & 1));
    bool eos_ok = (mask[eos >> 5] >> (eos & 31)) & 1;
    CHECK(eos_ok == m.can_terminate());
    if (allowed.empty()) {
      FAIL_CHECK("no token allowed in a non-terminated state after: " << r.text);
      return r;
    }
    const double len_frac = static_cast<double>(step) / static_cast<double>(max_tokens);
    std::uniform_real_distribution<double> u(0, 1);
    int32_t pick;
    if (eos_ok && u(rng) < 0.15 + 2 * len_frac) {
      pick = eos;
    } else {
      if (len_frac > 0.2 && u(rng) < 0.3 + len_frac)
        for (int32_t id : allowed)
          if (id != eos && v.token_bytes[id].find_first_of("\"]})") != std::string::npos) closers.push_back(id);
      const auto& pool = closers.empty() ? allowed : closers;
      pick = pool[std::uniform_int_distribution<size_t>(0, pool.size() - 1)(rng)];
      if (pick == eos && allowed.size() > 1 && u(rng) < 0.5)
        pick = pool[std::uniform_int_distribution<size_t>(0, pool.size() - 1)(rng)];
    }
    // A token outside the mask must be rejected by accept_token.
    if (allowed.size() < v.token_bytes.size()) {
      int32_t bad;
      do {
        bad = static_cast<int32_t>(std::uniform_int_distribution<size_t>(0, v.token_bytes.size() - 1)(rng));
      } while ((mask[bad >> 5] >> (bad & 31)) & 1);
      bool acc = m.accept_token(bad);
      CHECK_MESSAGE(!acc, "token outside the mask was accepted: '" << v.token_bytes[bad] << "' after: " << r.text);
      if (acc) m.rollback(1);
    }
    REQUIRE(m.accept_token(pick));
    if (pick == eos) {
      r.completed = true;
      CHECK(m.is_terminated());
      return r;
    }
    r.text += v.token_bytes[pick];
  }
  return r;
}

}  // namespace sgl::test
