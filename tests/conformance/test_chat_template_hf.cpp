// Conformance: the chat templates real models ship (tokenizer_config.json `chat_template` under
// conformance/hf_tokenizers/, GGUF `tokenizer.chat_template` under conformance/tokenizer/)
// render a system + user + assistant + user conversation to the text each template's own logic
// produces. The expected strings below were derived by reading each template by hand.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "core/model/gguf_reader.hpp"
#include "core/tokenizer/chat_template.hpp"
#include "support/test_support.hpp"

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

json conversation() {
  return json::array({{{"role", "system"}, {"content", "You are helpful."}},
                      {{"role", "user"}, {"content", "Hello"}},
                      {{"role", "assistant"}, {"content", "Hi there!"}},
                      {{"role", "user"}, {"content", "How are you?"}}});
}

// tokenizer_config.json special tokens are either a string or {"content": "..."}.
std::string token_text(const json& cfg, const char* key) {
  if (!cfg.contains(key)) return "";
  const json& t = cfg[key];
  if (t.is_string()) return t.get<std::string>();
  if (t.is_object() && t.contains("content") && t["content"].is_string()) return t["content"].get<std::string>();
  return "";
}

// The template text: a string, or a list of {name, template} where "default" is used.
std::string template_text(const json& cfg) {
  const json& t = cfg["chat_template"];
  if (t.is_string()) return t.get<std::string>();
  if (t.is_array())
    for (const auto& e : t)
      if (e.value("name", "") == "default") return e.value("template", "");
  return "";
}

struct Expected {
  std::string with_prompt;     // add_generation_prompt = true
  std::string without_prompt;  // add_generation_prompt = false
};

// phi-3-mini-4k-instruct: each message is "<|role|>\n" + content + "<|end|>\n" for the system,
// user and assistant roles; then "<|assistant|>\n" with add_generation_prompt, else eos_token.
const std::map<std::string, Expected>& expected_hf() {
  static const std::map<std::string, Expected> m = {
      {"phi-3-mini-4k-instruct",
       {"<|system|>\nYou are helpful.<|end|>\n<|user|>\nHello<|end|>\n<|assistant|>\nHi there!<|end|>\n"
        "<|user|>\nHow are you?<|end|>\n<|assistant|>\n",
        "<|system|>\nYou are helpful.<|end|>\n<|user|>\nHello<|end|>\n<|assistant|>\nHi there!<|end|>\n"
        "<|user|>\nHow are you?<|end|>\n<|endoftext|>"}},
  };
  return m;
}

// ggml-vocab-phi-3.gguf: bos_token, then user turns "<|user|>\n" + content + "<|end|>\n<|assistant|>\n"
// and assistant turns content + "<|end|>\n"; system messages are dropped and the template has no
// generation-prompt switch (the prompt is already open after each user turn).
const std::map<std::string, std::string>& expected_gguf() {
  static const std::map<std::string, std::string> m = {
      {"ggml-vocab-phi-3.gguf",
       "<s><|user|>\nHello<|end|>\n<|assistant|>\nHi there!<|end|>\n<|user|>\nHow are you?<|end|>\n<|assistant|>\n"},
  };
  return m;
}

}  // namespace

TEST_CASE("tokenizer_config.json chat templates render as their logic says") {
  auto shared = sgl::test::require_shared("hf_tokenizers chat templates");
  if (!shared) return;
  fs::path dir = *shared / "conformance" / "hf_tokenizers";
  REQUIRE(fs::is_directory(dir));
  int rendered = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    fs::path cfg_path = entry.path() / "tokenizer_config.json";
    if (!fs::exists(cfg_path)) continue;
    json cfg = json::parse(sgl::test::read_text(cfg_path));
    if (!cfg.contains("chat_template")) continue;
    std::string name = entry.path().filename().string();
    CAPTURE(name);
    auto it = expected_hf().find(name);
    REQUIRE_MESSAGE(it != expected_hf().end(), "no expected prompt stated for " << name);
    auto tpl = sgl::ChatTemplate::parse(template_text(cfg));
    json ctx = {{"messages", conversation()},
                {"add_generation_prompt", true},
                {"bos_token", token_text(cfg, "bos_token")},
                {"eos_token", token_text(cfg, "eos_token")}};
    CHECK(tpl.render(ctx) == it->second.with_prompt);
    ctx["add_generation_prompt"] = false;
    CHECK(tpl.render(ctx) == it->second.without_prompt);
    ++rendered;
  }
  MESSAGE("hf_tokenizers chat templates rendered: " << rendered);
  CHECK(rendered == static_cast<int>(expected_hf().size()));
}

TEST_CASE("GGUF tokenizer.chat_template strings render as their logic says") {
  auto shared = sgl::test::require_shared("GGUF chat templates");
  if (!shared) return;
  fs::path dir = *shared / "conformance" / "tokenizer";
  REQUIRE(fs::is_directory(dir));
  int rendered = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".gguf") continue;
    auto file = sgl::gguf::GgufFile::open(entry.path().string());
    auto src = file.get_string("tokenizer.chat_template");
    if (!src) continue;
    std::string name = entry.path().filename().string();
    CAPTURE(name);
    auto it = expected_gguf().find(name);
    REQUIRE_MESSAGE(it != expected_gguf().end(), "no expected prompt stated for " << name);
    auto tpl = sgl::ChatTemplate::parse(*src);
    // Special-token texts come from the vocabulary, as the tokenizer will pass them.
    auto token = [&](const char* key) -> std::string {
      auto id = file.get_uint(key);
      const auto* tokens = file.get_array("tokenizer.ggml.tokens");
      if (!id || !tokens || *id >= tokens->strings.size()) return "";
      return tokens->strings[static_cast<size_t>(*id)];
    };
    json ctx = {{"messages", conversation()},
                {"add_generation_prompt", true},
                {"bos_token", token("tokenizer.ggml.bos_token_id")},
                {"eos_token", token("tokenizer.ggml.eos_token_id")}};
    CHECK(tpl.render(ctx) == it->second);
    ++rendered;
  }
  MESSAGE("GGUF chat templates rendered: " << rendered);
  CHECK(rendered == static_cast<int>(expected_gguf().size()));
}
