// Tokenizer unit tests on small vocabularies built in code (no shared data): round trips on random
// Unicode and invalid UTF-8, streaming == one-shot decoding, special tokens, bad input.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "core/model/gguf_reader.hpp"
#include "core/model/gguf_writer.hpp"
#include "core/tokenizer/tokenizer_factory.hpp"
#include "core/tokenizer/unicode_text.hpp"
#include "sgl/error.hpp"
#include "sgl/tokenizer.hpp"

using sgl::Status;
using sgl::Tokenizer;
using sgl::gguf::Value;

namespace {

const std::string kSp = "\xE2\x96\x81";  // ▁

// A GGUF vocabulary kept alive with its bytes (GgufFile::parse does not copy).
struct GgufVocab {
  std::vector<uint8_t> bytes;
  Tokenizer load() const {
    return sgl::tok::tokenizer_from_gguf(sgl::gguf::GgufFile::parse(bytes.data(), bytes.size()));
  }
};

// SentencePiece-style: <unk> <s> </s>, 256 byte tokens, a few characters and merges with scores.
sgl::gguf::GgufWriter spm_writer() {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<float> scores = {0, 0, 0};
  std::vector<int32_t> types = {2, 3, 3};
  static const char* hex = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) {
    tokens.push_back(std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">");
    scores.push_back(0);
    types.push_back(6);
  }
  const std::vector<std::pair<std::string, float>> normal = {
      {kSp, -1},        {"a", -2},          {"b", -3},          {"c", -4},   {"h", -5},      {"e", -6},
      {"l", -7},        {"o", -8},          {"\xC3\xA9", -9},   {"\xE4\xB8\xAD", -10},
      {kSp + "a", -11}, {"ab", -12},        {kSp + "ab", -13},  {"he", -14}, {"ll", -15},    {"hell", -16},
      {"hello", -17},   {kSp + "hello", -18}, {"aa", -19},      {"aaaa", -20}, {kSp + kSp, -21}};
  for (const auto& [t, s] : normal) {
    tokens.push_back(t);
    scores.push_back(s);
    types.push_back(1);
  }
  tokens.push_back("<tool>");  // user-defined: matched even without parse_special
  scores.push_back(0);
  types.push_back(4);
  tokens.push_back("<|im_end|>");  // user-defined but end-of-generation-looking: re-typed control
  scores.push_back(0);
  types.push_back(4);
  sgl::gguf::GgufWriter w;
  w.set("tokenizer.ggml.model", Value::string("llama"));
  w.set("tokenizer.ggml.tokens", Value::string_array(tokens));
  w.set("tokenizer.ggml.scores", Value::f32_array(scores));
  w.set("tokenizer.ggml.token_type", Value::i32_array(types));
  w.set("tokenizer.ggml.bos_token_id", Value::u32(1));
  w.set("tokenizer.ggml.eos_token_id", Value::u32(2));
  w.set("tokenizer.ggml.unknown_token_id", Value::u32(0));
  return w;
}

// Byte-level BPE: the 256-character byte alphabet, a few merges, <|endoftext|> and a user token.
sgl::gguf::GgufWriter bl_writer() {
  const auto& alpha = sgl::tok::byte_to_unicode();
  std::vector<std::string> tokens(alpha.begin(), alpha.end());
  const std::string G = alpha[' '];
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {G, "w"}, {"o", "r"}, {G + "w", "or"}, {"l", "d"},
      {G + "wor", "ld"}, {"a", "a"}, {"aa", "aa"}, {G, "a"}, {G, G}};
  std::vector<std::string> merge_strings;
  for (const auto& [l, r] : merges) {
    merge_strings.push_back(l + " " + r);
    tokens.push_back(l + r);
  }
  std::vector<int32_t> types(tokens.size(), 1);
  tokens.push_back("<|endoftext|>");
  types.push_back(3);
  tokens.push_back("<tool>");
  types.push_back(4);
  sgl::gguf::GgufWriter w;
  w.set("tokenizer.ggml.model", Value::string("gpt2"));
  w.set("tokenizer.ggml.pre", Value::string("gpt-2"));
  w.set("tokenizer.ggml.tokens", Value::string_array(tokens));
  w.set("tokenizer.ggml.token_type", Value::i32_array(types));
  w.set("tokenizer.ggml.merges", Value::string_array(merge_strings));
  w.set("tokenizer.ggml.bos_token_id", Value::u32(uint32_t(tokens.size() - 2)));
  w.set("tokenizer.ggml.eos_token_id", Value::u32(uint32_t(tokens.size() - 2)));
  return w;
}

Tokenizer spm() { static const GgufVocab v{spm_writer().to_bytes()}; return v.load(); }
Tokenizer byte_level() { static const GgufVocab v{bl_writer().to_bytes()}; return v.load(); }

// Random text drawn from ASCII, Latin-1, combining marks, CJK, emoji (with ZWJ), controls and,
// when `invalid`, stray bytes that are not UTF-8. U+2581 (▁) is left out for SentencePiece
// vocabularies, where it is the space marker and decodes as ' ' (as in SentencePiece itself).
std::string random_text(std::mt19937& rng, bool invalid, bool allow_metaspace = true) {
  static const uint32_t pool[] = {'a', 'b', 'c', 'h', 'e', 'l', 'o', ' ', ' ', '\n', '\t', '\r', 0x01, 0x7F, '\'',
                                  '1', '9', '.', ',', 0xE9, 0x301, 0x308, 0x4E2D, 0x6587, 0x1F600, 0x1F44D,
                                  0x200D, 0x2764, 0xFE0F, 0x0416, 0x3000, 0x2581, 0xA0, 0x10FFFF, 0};
  std::string s;
  const int n = std::uniform_int_distribution<int>(0, 40)(rng);
  for (int i = 0; i < n; ++i) {
    if (invalid && rng() % 8 == 0) {
      static const char bad[] = {'\x80', '\xBF', '\xC0', '\xC3', '\xE4', '\xF0', '\xF8', '\xFF', '\xED'};
      s.push_back(bad[rng() % sizeof(bad)]);
      continue;
    }
    const uint32_t cp = pool[rng() % std::size(pool)];
    if (cp == 0x2581 && !allow_metaspace) continue;
    sgl::tok::utf8_append(s, cp);
  }
  return s;
}

template <class F>
void check_error(F f, Status code, const std::string& part) {
  try {
    f();
    FAIL("expected sgl::Error containing '" << part << "'");
  } catch (const sgl::Error& e) {
    CHECK(e.code() == code);
    CHECK_MESSAGE(std::string(e.what()).find(part) != std::string::npos, std::string(e.what()));
  }
}

}  // namespace

TEST_CASE("SentencePiece-style encoding: dummy prefix, score merges, byte fallback") {
  const Tokenizer t = spm();
  CHECK(t.kind() == Tokenizer::Kind::kSentencePiece);
  const auto id = [&](const std::string& p) { return *t.piece_to_id(p); };
  CHECK(t.encode("hello", false) == std::vector<int32_t>{id(kSp + "hello")});
  CHECK(t.encode("hello", true) == std::vector<int32_t>{1, id(kSp + "hello")});
  CHECK(t.encode("", false).empty());
  // "▁ab" (score -13) wins over "ab" (-12)? No: higher score merges first, "▁a" (-11) then "▁ab".
  CHECK(t.encode("ab", false) == std::vector<int32_t>{id(kSp + "ab")});
  // Unknown character 'z' falls back to its byte token.
  CHECK(t.encode("z", false) == std::vector<int32_t>{id(kSp), id("<0x7A>")});
  CHECK(t.decode(t.encode("z hello", true)) == "z hello");
  CHECK(t.token_bytes(id("<0x7A>")) == "z");
  CHECK(t.token_bytes(id(kSp + "hello")) == " hello");
}

TEST_CASE("byte-level BPE: merges by rank and the GPT-2 split") {
  const Tokenizer t = byte_level();
  CHECK(t.kind() == Tokenizer::Kind::kByteLevel);
  const std::string G = sgl::tok::byte_to_unicode()[' '];
  const auto id = [&](const std::string& p) { return *t.piece_to_id(p); };
  CHECK(t.encode("hello world", false) == std::vector<int32_t>{id("hello"), id(G + "world")});
  // "   a": whitespace before a word keeps one space for the word.
  CHECK(t.encode("   a", false) == std::vector<int32_t>{id(G + G), id(G + "a")});
  CHECK(t.decode(t.encode("hello world")) == "hello world");
}

TEST_CASE("special and added tokens") {
  for (const Tokenizer& t : {spm(), byte_level()}) {
    const int32_t tool = *t.piece_to_id("<tool>");
    // User-defined tokens are matched without parse_special; control tokens only with it.
    const auto plain = t.encode("a<tool>b", false, false);
    CHECK(std::count(plain.begin(), plain.end(), tool) == 1);
    const int32_t ctl = t.kind() == Tokenizer::Kind::kByteLevel ? *t.piece_to_id("<|endoftext|>") : 2;
    const std::string ctl_text = t.token_to_piece(ctl);
    const auto off = t.encode("x" + ctl_text, false, false);
    CHECK(std::find(off.begin(), off.end(), ctl) == off.end());
    const auto on = t.encode("x" + ctl_text, false, true);
    CHECK(on.back() == ctl);
    CHECK(t.is_special(ctl));
    CHECK_FALSE(t.is_special(tool));
    // Decoding: control tokens are dropped by skip_special, kept otherwise.
    CHECK(t.decode(on, true) == "x");
    CHECK(t.decode(on, false) == "x" + ctl_text);
    CHECK(t.decode(on, false, true) == "x " + ctl_text);
    // SentencePiece adds its dummy prefix after every special token, as llama.cpp and HF do.
    CHECK(t.decode(plain, true) == (t.kind() == Tokenizer::Kind::kByteLevel ? "a<tool>b" : "a<tool> b"));
  }
  // An end-of-generation-looking user-defined token is treated as control and ends generation.
  const Tokenizer s = spm();
  const int32_t im_end = *s.piece_to_id("<|im_end|>");
  CHECK(s.is_special(im_end));
  CHECK(s.is_eos(im_end));
  CHECK(s.is_eos(2));
  const auto ids = s.encode("<|im_end|>", false, false);
  CHECK(std::find(ids.begin(), ids.end(), im_end) == ids.end());
}

TEST_CASE("round trip on random Unicode, including invalid UTF-8") {
  std::mt19937 rng(1234);
  for (const Tokenizer& t : {spm(), byte_level()}) {
    for (int i = 0; i < 400; ++i) {
      const std::string s = random_text(rng, i % 2 == 1, t.kind() == Tokenizer::Kind::kByteLevel);
      const auto ids = t.encode(s, /*add_special=*/true, /*parse_special=*/false);
      const std::string back = t.decode(ids, /*skip_special=*/true);
      REQUIRE_MESSAGE(back == s, "input #" << i);
    }
  }
  // The documented rule: invalid bytes survive unchanged, each as its own byte token.
  for (const Tokenizer& t : {spm(), byte_level()}) {
    const std::string bad = "a\xFF\xC3(\xE4\xB8";
    CHECK(t.decode(t.encode(bad, false)) == bad);
  }
}

TEST_CASE("streaming detokenization equals one-shot decoding") {
  std::mt19937 rng(99);
  for (const Tokenizer& t : {spm(), byte_level()}) {
    for (int i = 0; i < 10000; ++i) {
      std::vector<int32_t> ids;
      if (i % 2 == 0) {
        ids = t.encode(random_text(rng, false), true);  // valid text: many multi-byte byte tokens
      } else {
        const int n = std::uniform_int_distribution<int>(0, 12)(rng);
        for (int k = 0; k < n; ++k) ids.push_back(int32_t(rng() % uint32_t(t.vocab_size())));
      }
      const bool skip = rng() % 2, spaces = rng() % 2;
      const std::string once = t.decode(ids, skip, spaces);
      auto sd = t.stream_decoder(skip, spaces);
      std::string total;
      for (const int32_t id : ids) {
        const std::string chunk = sd.push(id);
        // A chunk never ends inside a UTF-8 character: valid text arrives in valid pieces.
        if (sgl::tok::utf8_is_valid(once)) REQUIRE(sgl::tok::utf8_is_valid(chunk));
        total += chunk;
      }
      total += sd.finish();
      REQUIRE(total == once);
    }
  }
}

TEST_CASE("a megabyte of one repeated character finishes") {
  const std::string big(1 << 20, 'a');
  for (const Tokenizer& t : {spm(), byte_level()}) {
    const auto ids = t.encode(big, false);
    CHECK(ids.size() < big.size() / 2);  // "aaaa" merges: about a quarter of the length
    CHECK(t.decode(ids) == big);
  }
}

TEST_CASE("bad GGUF vocabularies give clear errors") {
  auto load = [](sgl::gguf::GgufWriter w) { return GgufVocab{w.to_bytes()}.load(); };
  check_error([&] { load(sgl::gguf::GgufWriter{}); }, Status::kParseError, "tokenizer.ggml.model");
  {
    auto w = spm_writer();
    w.set("tokenizer.ggml.scores", Value::f32_array({1.0f, 2.0f}));
    check_error([&] { load(w); }, Status::kParseError, "scores");
  }
  {
    auto w = spm_writer();
    w.set("tokenizer.ggml.bos_token_id", Value::u32(999999));
    check_error([&] { load(w); }, Status::kParseError, "BOS id 999999");
  }
  {
    auto w = spm_writer();
    w.set("tokenizer.ggml.model", Value::string("bert"));
    check_error([&] { load(w); }, Status::kUnsupported, "bert");
  }
  {
    auto w = bl_writer();
    w.set("tokenizer.ggml.merges", Value::string_array({"h e", "q zz"}));
    check_error([&] { load(w); }, Status::kParseError, "merge 1");
  }
  {
    auto w = bl_writer();
    w.set("tokenizer.ggml.pre", Value::string("no-such-pre"));
    check_error([&] { load(w); }, Status::kUnsupported, "no-such-pre");
  }
  {
    auto w = bl_writer();
    w.set("tokenizer.ggml.tokens", Value::string_array({"a", "b"}));
    check_error([&] { load(w); }, Status::kParseError, "'tokenizer.ggml.token_type' has 271 entries for 2 tokens");
  }
}

TEST_CASE("bad tokenizer.json gives clear errors") {
  const std::string ok_model = R"("model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]})";
  CHECK(Tokenizer::from_tokenizer_json_text("{" + ok_model + R"(, "pre_tokenizer": {"type": "ByteLevel"}})").vocab_size() == 3);
  try {
    Tokenizer::from_tokenizer_json_text(R"({"model": {"type": "BPE", "vocab": {"a": 0,}})");
    FAIL("expected a parse error");
  } catch (const sgl::Error& e) {
    CHECK(e.code() == Status::kParseError);
    CHECK(e.offset() > 0);
  }
  check_error([] { Tokenizer::from_tokenizer_json_text(R"({"version": "1.0"})"); }, Status::kParseError, "model");
  check_error([] { Tokenizer::from_tokenizer_json_text(R"({"model": {"type": "WordPiece", "vocab": {}}})"); },
              Status::kUnsupported, "WordPiece");
  check_error([] { Tokenizer::from_tokenizer_json_text(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 0}, "merges": []}})"); },
              Status::kParseError, "id 0");
  check_error([] { Tokenizer::from_tokenizer_json_text(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a c"]}})"); },
              Status::kParseError, "merge 0");
  check_error([&] { Tokenizer::from_tokenizer_json_text("{" + ok_model + R"(, "normalizer": {"type": "Lowercase"}})"); },
              Status::kUnsupported, "Lowercase");
  check_error([&] { Tokenizer::from_tokenizer_json_text("{" + ok_model + "}", R"({"eos_token": "</s>"})"); },
              Status::kParseError, "eos_token '</s>'");
  check_error([] { Tokenizer::from_hf_dir("/nonexistent/dir"); }, Status::kNotFound, "tokenizer.json");
}

TEST_CASE("apply_chat_template: built-in by name, Jinja override, missing template") {
  const Tokenizer t = spm();
  const std::vector<sgl::ChatMessage> msgs = {{"system", "Be brief."}, {"user", "Hi"}};
  CHECK(t.apply_chat_template(msgs, true, "chatml") ==
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  // Any other override is Jinja source; bos/eos come from the vocabulary.
  CHECK(t.apply_chat_template(msgs, false, "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}{{ eos_token }}") ==
        "<s>[system]Be brief.[user]Hi</s>");
  CHECK(t.chat_template().empty());
  check_error([&] { t.apply_chat_template(msgs, true); }, Status::kNotFound, "no chat template");
  check_error([&] { t.apply_chat_template(msgs, true, "{% if %}"); }, Status::kParseError, "syntax error");
}
