// Tokenizer conformance against llama.cpp's vocab test vectors ($SGL_SHARED_DIR/conformance/
// tokenizer, see its README): every vector must match exactly with add_special = false and
// parse_special = false. The real HF tokenizer.json files in conformance/hf_tokenizers are checked
// against the vectors of the GGUF built from the same tokenizer.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "sgl/error.hpp"
#include "sgl/tokenizer.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;

namespace {

struct Case {
  std::string text;
  std::vector<int32_t> ids;
};

std::vector<Case> read_cases(const fs::path& inp, const fs::path& out) {
  const std::string sep = "\n__ggml_vocab_test__\n";
  const std::string in = sgl::test::read_text(inp);
  std::vector<std::string> texts;
  size_t pos = 0;
  while (pos < in.size()) {
    const size_t k = in.find(sep, pos);
    if (k == std::string::npos) {
      texts.push_back(in.substr(pos));
      break;
    }
    texts.push_back(in.substr(pos, k - pos));
    pos = k + sep.size();
  }
  std::istringstream os(sgl::test::read_text(out));
  std::vector<Case> cases;
  std::string line;
  for (const auto& t : texts) {
    REQUIRE(std::getline(os, line));
    Case c{t, {}};
    std::istringstream ls(line);
    int64_t id;
    while (ls >> id) c.ids.push_back(int32_t(id));
    cases.push_back(std::move(c));
  }
  return cases;
}

std::string escape(const std::string& s) {
  std::string o;
  for (unsigned char c : s) {
    if (c == '\n') o += "\\n";
    else if (c == '\t') o += "\\t";
    else if (c == '\r') o += "\\r";
    else o.push_back(char(c));
  }
  return o;
}

std::string join(const std::vector<int32_t>& v) {
  std::string s;
  for (int32_t x : v) s += " " + std::to_string(x);
  return s;
}

// Runs the cases accepted by `keep`; prints one report line; returns {cases, passed}.
template <class Keep>
std::pair<int, int> run_cases(const std::string& label, const sgl::Tokenizer& tok, const std::vector<Case>& cases,
                              Keep keep) {
  int n = 0, ok = 0, shown = 0;
  for (const auto& c : cases) {
    if (!keep(c.text)) continue;
    ++n;
    const auto got = tok.encode(c.text, /*add_special=*/false, /*parse_special=*/false);
    if (got == c.ids) {
      ++ok;
    } else if (shown++ < 5) {
      std::printf("  MISMATCH %s: \"%s\"\n    expected:%s\n    got:     %s\n", label.c_str(), escape(c.text).c_str(),
                  join(c.ids).c_str(), join(got).c_str());
    }
  }
  std::printf("tokenizer conformance: vocab=%s cases=%d passed=%d\n", label.c_str(), n, ok);
  return {n, ok};
}

const char* kVocabs[] = {"deepseek-coder", "deepseek-llm", "falcon", "gpt-2",    "llama-bpe", "llama-spm",
                         "mpt",            "phi-3",        "qwen2",  "refact",   "starcoder"};

}  // namespace

TEST_CASE("every GGUF vocab passes every llama.cpp test vector") {
  auto shared = sgl::test::require_shared("tokenizer conformance");
  if (!shared) return;
  const fs::path dir = *shared / "conformance" / "tokenizer";
  for (const char* name : kVocabs) {
    const fs::path gguf = dir / (std::string("ggml-vocab-") + name + ".gguf");
    CAPTURE(name);
    REQUIRE(fs::exists(gguf));
    const auto cases = read_cases(gguf.string() + ".inp", gguf.string() + ".out");
    CHECK(cases.size() == 46);
    const auto tok = sgl::Tokenizer::from_gguf_file(gguf.string());
    const auto [n, ok] = run_cases(name, tok, cases, [](const std::string&) { return true; });
    CHECK(ok == n);
  }
}

TEST_CASE("HF tokenizer.json files pass the vectors of the same tokenizer") {
  auto shared = sgl::test::require_shared("HF tokenizer conformance");
  if (!shared) return;
  const fs::path vec = *shared / "conformance" / "tokenizer";
  const fs::path hf = *shared / "conformance" / "hf_tokenizers";
  auto vectors = [&](const char* name) {
    const std::string base = (vec / (std::string("ggml-vocab-") + name + ".gguf")).string();
    return read_cases(base + ".inp", base + ".out");
  };
  auto all = [](const std::string&) { return true; };

  SUBCASE("phi-3 (SentencePiece BPE with byte fallback)") {
    const auto tok = sgl::Tokenizer::from_hf_dir((hf / "phi-3-mini-4k-instruct").string());
    CHECK(tok.kind() == sgl::Tokenizer::Kind::kSentencePiece);
    const auto [n, ok] = run_cases("hf:phi-3", tok, vectors("phi-3"), all);
    CHECK(ok == n);
    CHECK(tok.eos_token() == "<|endoftext|>");
    CHECK_FALSE(tok.add_bos());  // tokenizer_config.json: add_bos_token false
    // Its own template: each turn is "<|role|>\n" + content + "<|end|>\n"; the generation prompt
    // opens an assistant turn, otherwise eos_token closes the text.
    const std::vector<sgl::ChatMessage> chat = {
        {"system", "You are terse."}, {"user", "Hi"}, {"assistant", "Hello."}, {"user", "Bye"}};
    CHECK(tok.apply_chat_template(chat, true) ==
          "<|system|>\nYou are terse.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello.<|end|>\n"
          "<|user|>\nBye<|end|>\n<|assistant|>\n");
    CHECK(tok.apply_chat_template(chat, false).ends_with("<|user|>\nBye<|end|>\n<|endoftext|>"));
    // Rendered prompts tokenize with the chat markers as single control tokens (parse_special),
    // and HF's rstrip on <|user|> eats the newline after it.
    const auto ids = tok.encode("<|user|>\nBye<|end|>", false, true);
    REQUIRE(ids.size() >= 3);
    CHECK(ids.front() == *tok.piece_to_id("<|user|>"));
    CHECK(ids.back() == *tok.piece_to_id("<|end|>"));
    CHECK(tok.is_eos(*tok.piece_to_id("<|end|>")));
    CHECK(tok.decode(ids, true) == "Bye");
  }
  SUBCASE("falcon (byte-level, Punctuation + ByteLevel + Digits + Split)") {
    const auto tok = sgl::Tokenizer::from_hf_dir((hf / "falcon-7b").string());
    CHECK(tok.kind() == sgl::Tokenizer::Kind::kByteLevel);
    const auto [n, ok] = run_cases("hf:falcon", tok, vectors("falcon"), all);
    CHECK(ok == n);
  }
  SUBCASE("phi-2 (GPT-2 vocab plus whitespace-run added tokens)") {
    const auto tok = sgl::Tokenizer::from_hf_dir((hf / "phi-2").string());
    // phi-2's added tokens are runs of 2-31 spaces/tabs, so only inputs without such runs can
    // be expected to tokenize like plain GPT-2.
    auto no_runs = [](const std::string& s) {
      for (size_t i = 0; i + 1 < s.size(); ++i)
        if ((s[i] == ' ' || s[i] == '\t') && (s[i + 1] == ' ' || s[i + 1] == '\t')) return false;
      return true;
    };
    const auto [n, ok] = run_cases("hf:phi-2", tok, vectors("gpt-2"), no_runs);
    CHECK(n >= 30);
    CHECK(ok == n);
    // A run of four spaces is one added token, as HF matches added tokens before BPE.
    const auto ids = tok.encode("a    b", false, false);
    REQUIRE(ids.size() == 3);
    CHECK(tok.token_bytes(ids[1]) == "    ");
  }
}
