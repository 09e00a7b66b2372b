// Vocabulary from a Hugging Face tokenizer.json (+ tokenizer_config.json). Only BPE models are
// handled; the normalizer / pre-tokenizer / decoder components are mapped onto the two families:
// "Prepend ▁ + Replace ' '→▁" or "Metaspace" = SentencePiece-style, "ByteLevel" = byte-level.
// Anything else is refused with kUnsupported naming the component, rather than tokenized wrongly.
#include <nlohmann/json.hpp>

#include "core/support/check.hpp"
#include "core/tokenizer/vocab_loader.hpp"

namespace sgl::tok {

namespace {

using json = nlohmann::json;

json parse_json(std::string_view text, const std::string& what) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    throw Error(Status::kParseError, fmt::format("tokenizer {}: invalid JSON: {}", what, e.what()), int64_t(e.byte));
  }
}

std::string type_of(const json& j) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) return "";
  return j["type"].get<std::string>();
}

// Reads a token given as "text" or {"content": "text"}; empty if absent or null.
std::string token_string(const json& cfg, const char* key) {
  if (!cfg.is_object() || !cfg.contains(key)) return "";
  const json& t = cfg[key];
  if (t.is_string()) return t.get<std::string>();
  if (t.is_object() && t.contains("content") && t["content"].is_string()) return t["content"].get<std::string>();
  return "";
}

struct Builder {
  Vocab& v;
  const std::string& src;
  bool byte_level = false;
  bool prefix_space_bl = false;

  [[noreturn]] void unsupported(const std::string& what) const {
    SGL_THROW(Status::kUnsupported, "tokenizer {}: {} is not supported", src, what);
  }

  void normalizer(const json& n) {
    if (n.is_null()) return;
    const std::string t = type_of(n);
    if (t == "Sequence") {
      if (!n.contains("normalizers") || !n["normalizers"].is_array())
        SGL_THROW(Status::kParseError, "tokenizer {}: Sequence normalizer without a 'normalizers' array", src);
      for (const auto& x : n["normalizers"]) normalizer(x);
    } else if (t == "Prepend") {
      if (n.value("prepend", std::string()) != "\xE2\x96\x81") unsupported("a Prepend normalizer other than '▁'");
      v.add_space_prefix = true;
    } else if (t == "Replace") {
      const json& p = n.value("pattern", json::object());
      if (!p.is_object() || p.value("String", std::string()) != " " || n.value("content", std::string()) != "\xE2\x96\x81")
        unsupported("a Replace normalizer other than ' ' -> '▁'");
      v.escape_spaces = true;
    } else {
      unsupported(fmt::format("normalizer '{}'", t));
    }
  }

  void pre_tokenizer(const json& p) {
    if (p.is_null()) return;
    const std::string t = type_of(p);
    if (t == "Sequence") {
      if (!p.contains("pretokenizers") || !p["pretokenizers"].is_array())
        SGL_THROW(Status::kParseError, "tokenizer {}: Sequence pre_tokenizer without a 'pretokenizers' array", src);
      for (const auto& x : p["pretokenizers"]) pre_tokenizer(x);
    } else if (t == "ByteLevel") {
      byte_level = true;
      if (p.value("add_prefix_space", false)) prefix_space_bl = true;
      if (p.value("use_regex", true)) v.pre.add(SplitRule::kGpt2);
    } else if (t == "Split") {
      const json& pat = p.value("pattern", json::object());
      std::string regex;
      if (pat.is_object() && pat.contains("Regex") && pat["Regex"].is_string()) regex = pat["Regex"].get<std::string>();
      else unsupported("a Split pre-tokenizer without a Regex pattern");
      if (p.value("behavior", std::string("Isolated")) != "Isolated" || p.value("invert", false))
        unsupported("a Split pre-tokenizer whose behavior is not Isolated");
      SplitRule rule;
      if (!split_rule_for_regex(regex, &rule)) unsupported(fmt::format("Split pattern '{}'", regex));
      v.pre.add(rule);
    } else if (t == "Digits") {
      v.pre.add(p.value("individual_digits", false) ? SplitRule::kAsciiDigitEach : SplitRule::kAsciiDigitRun);
    } else if (t == "Punctuation") {
      if (p.value("behavior", std::string("Isolated")) != "Contiguous")
        unsupported("a Punctuation pre-tokenizer whose behavior is not Contiguous");
      v.pre.add(SplitRule::kPunctRun);
    } else if (t == "Metaspace") {
      if (p.value("replacement", std::string("\xE2\x96\x81")) != "\xE2\x96\x81") unsupported("a Metaspace replacement other than '▁'");
      v.escape_spaces = true;
      const std::string scheme = p.value("prepend_scheme", std::string(p.value("add_prefix_space", true) ? "always" : "never"));
      if (scheme != "never") v.add_space_prefix = true;
      if (p.value("split", false)) v.pre.add(SplitRule::kMetaspace);
    } else {
      unsupported(fmt::format("pre-tokenizer '{}'", t));
    }
  }
};

}  // namespace

Vocab load_vocab_hf(std::string_view tokenizer_json, std::string_view config_json, const std::string& source) {
  Vocab v;
  v.source = source;
  const json j = parse_json(tokenizer_json, source);
  const json cfg = config_json.empty() ? json::object() : parse_json(config_json, source + " (tokenizer_config)");
  if (!j.is_object()) SGL_THROW(Status::kParseError, "tokenizer {}: the top level is not an object", source);
  if (!cfg.is_object()) SGL_THROW(Status::kParseError, "tokenizer {}: tokenizer_config is not an object", source);
  if (!j.contains("model") || !j["model"].is_object())
    SGL_THROW(Status::kParseError, "tokenizer {}: missing 'model' object", source);
  const json& model = j["model"];
  const std::string mtype = type_of(model).empty() && model.contains("merges") ? "BPE" : type_of(model);
  if (mtype != "BPE") SGL_THROW(Status::kUnsupported, "tokenizer {}: model type '{}' is not supported (only BPE)", source, mtype);
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (model.contains(key) && model[key].is_string() && !model[key].get<std::string>().empty())
      SGL_THROW(Status::kUnsupported, "tokenizer {}: BPE '{}' is not supported", source, key);
  if (model.contains("dropout") && model["dropout"].is_number() && model["dropout"].get<double>() > 0)
    SGL_THROW(Status::kUnsupported, "tokenizer {}: BPE dropout is not supported", source);
  if (!model.contains("vocab") || !model["vocab"].is_object())
    SGL_THROW(Status::kParseError, "tokenizer {}: model.vocab is missing or not an object", source);
  if (!model.contains("merges") || !model["merges"].is_array())
    SGL_THROW(Status::kParseError, "tokenizer {}: model.merges is missing or not an array", source);

  // Tokens: the model vocabulary plus added tokens, which may extend it or re-declare entries.
  constexpr int64_t kMaxVocab = 1 << 24;
  auto place = [&](int64_t id, const std::string& text, TokenType type) {
    if (id < 0 || id >= kMaxVocab) SGL_THROW(Status::kParseError, "tokenizer {}: token id {} for '{}' is out of range", source, id, text);
    if (size_t(id) >= v.text.size()) {
      v.text.resize(id + 1);
      v.type.resize(id + 1, TokenType::kUndefined);
    }
    if (v.type[id] != TokenType::kUndefined && v.text[id] != text)
      SGL_THROW(Status::kParseError, "tokenizer {}: id {} is given to both '{}' and '{}'", source, id, v.text[id], text);
    v.text[id] = text;
    v.type[id] = type;
  };
  for (const auto& [text, id] : model["vocab"].items()) {
    if (!id.is_number_integer()) SGL_THROW(Status::kParseError, "tokenizer {}: vocab entry '{}' has a non-integer id", source, text);
    place(id.get<int64_t>(), text, TokenType::kNormal);
  }
  if (j.contains("added_tokens")) {
    if (!j["added_tokens"].is_array()) SGL_THROW(Status::kParseError, "tokenizer {}: 'added_tokens' is not an array", source);
    for (const auto& t : j["added_tokens"]) {
      if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer() || !t.contains("content") || !t["content"].is_string())
        SGL_THROW(Status::kParseError, "tokenizer {}: an added token lacks an integer 'id' or a string 'content'", source);
      const int64_t id = t["id"].get<int64_t>();
      const std::string content = t["content"].get<std::string>();
      if (id >= 0 && size_t(id) < v.type.size() && v.type[id] == TokenType::kNormal && v.text[id] == content)
        v.type[id] = TokenType::kUndefined;  // re-declaration of a vocab entry: the added-token type wins
      place(id, content, t.value("special", false) ? TokenType::kControl : TokenType::kUserDefined);
      if (v.strip.size() < v.text.size()) v.strip.resize(v.text.size(), 0);
      v.strip[id] = uint8_t((t.value("lstrip", false) ? 1 : 0) | (t.value("rstrip", false) ? 2 : 0));
    }
  }
  if (v.text.empty()) SGL_THROW(Status::kParseError, "tokenizer {}: the vocabulary is empty", source);
  v.strip.resize(v.text.size(), 0);
  for (auto& t : v.type)
    if (t == TokenType::kUndefined) t = TokenType::kUnused;  // ids nobody declared

  Builder b{v, source};
  b.normalizer(j.value("normalizer", json()));
  b.pre_tokenizer(j.value("pre_tokenizer", json()));
  const json& dec = j.value("decoder", json());
  if (type_of(dec) == "ByteLevel") b.byte_level = true;
  v.kind = b.byte_level ? ModelKind::kByteLevel : ModelKind::kSpm;
  if (v.kind == ModelKind::kByteLevel && (v.escape_spaces || v.add_space_prefix))
    SGL_THROW(Status::kParseError, "tokenizer {}: both byte-level and '▁' space handling are configured", source);
  if (b.prefix_space_bl) SGL_THROW(Status::kUnsupported, "tokenizer {}: ByteLevel add_prefix_space is not supported", source);
  v.byte_fallback = model.value("byte_fallback", false);
  v.ignore_merges = model.value("ignore_merges", false);

  TokenMap ids;
  for (size_t i = 0; i < v.text.size(); ++i)
    if (v.type[i] != TokenType::kUnused) ids[v.text[i]] = int32_t(i);
  auto lookup = [&](std::string_view s) {
    auto it = ids.find(s);
    return it == ids.end() ? -1 : it->second;
  };
  if (v.kind == ModelKind::kSpm && v.byte_fallback) {
    for (size_t i = 0; i < v.text.size(); ++i) {
      const std::string& t = v.text[i];
      if (v.type[i] == TokenType::kNormal && t.size() == 6 && t.rfind("<0x", 0) == 0 && t[5] == '>') v.type[i] = TokenType::kByte;
    }
  }
  if (model.contains("unk_token") && model["unk_token"].is_string()) {
    const std::string u = model["unk_token"].get<std::string>();
    v.unk = lookup(u);
    if (v.unk < 0) SGL_THROW(Status::kParseError, "tokenizer {}: unk_token '{}' is not in the vocabulary", source, u);
    if (v.type[v.unk] == TokenType::kNormal || v.type[v.unk] == TokenType::kControl) v.type[v.unk] = TokenType::kUnknown;
  }

  const json& merges = model["merges"];
  v.merges.reserve(merges.size());
  std::string joined;
  for (size_t r = 0; r < merges.size(); ++r) {
    const json& m = merges[r];
    std::string left, right;
    if (m.is_string()) {
      const std::string s = m.get<std::string>();
      const size_t sp = s.find(' ', 1);
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
        SGL_THROW(Status::kParseError, "tokenizer {}: merge {} '{}' is not two tokens separated by one space", source, r, s);
      left = s.substr(0, sp);
      right = s.substr(sp + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      left = m[0].get<std::string>();
      right = m[1].get<std::string>();
    } else {
      SGL_THROW(Status::kParseError, "tokenizer {}: merge {} is neither \"a b\" nor [\"a\", \"b\"]", source, r);
    }
    const int32_t a = lookup(left), c = lookup(right);
    joined = left + right;
    const int32_t res = lookup(joined);
    if (a < 0 || c < 0 || res < 0)
      SGL_THROW(Status::kParseError, "tokenizer {}: merge {} ('{}' + '{}') refers to a token missing from the vocabulary",
                source, r, left, right);
    v.merges.add(a, c, float(r), res);
  }

  // Special tokens and flags from tokenizer_config.json; the post-processor template says whether
  // BOS/EOS are added when the config does not.
  auto id_of = [&](const char* key) -> int32_t {
    const std::string s = token_string(cfg, key);
    if (s.empty()) return -1;
    const int32_t id = lookup(s);
    if (id < 0) SGL_THROW(Status::kParseError, "tokenizer {}: {} '{}' is not in the vocabulary", source, key, s);
    return id;
  };
  v.bos = id_of("bos_token");
  v.eos = id_of("eos_token");
  v.pad = id_of("pad_token");
  if (const int32_t u = id_of("unk_token"); u >= 0) v.unk = u;
  const json& post = j.value("post_processor", json());
  if (type_of(post) == "TemplateProcessing" && post.contains("single") && post["single"].is_array()) {
    const json& single = post["single"];
    auto special_id = [&](const json& item) -> int32_t {
      if (!item.is_object() || !item.contains("SpecialToken")) return -1;
      return lookup(item["SpecialToken"].value("id", std::string()));
    };
    if (!single.empty() && special_id(single.front()) >= 0) {
      v.add_bos = true;
      if (v.bos < 0) v.bos = special_id(single.front());
    }
    if (single.size() > 1 && special_id(single.back()) >= 0) {
      v.add_eos = true;
      if (v.eos < 0) v.eos = special_id(single.back());
    }
  }
  if (cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean()) v.add_bos = cfg["add_bos_token"].get<bool>();
  if (cfg.contains("add_eos_token") && cfg["add_eos_token"].is_boolean()) v.add_eos = cfg["add_eos_token"].get<bool>();
  if (cfg.contains("chat_template")) {
    const json& ct = cfg["chat_template"];
    if (ct.is_string()) {
      v.chat_template = ct.get<std::string>();
    } else if (ct.is_array()) {  // [{"name": ..., "template": ...}]: the "default" one, else the first
      for (const auto& e : ct)
        if (e.is_object() && e.value("name", std::string()) == "default" && e.contains("template") && e["template"].is_string())
          v.chat_template = e["template"].get<std::string>();
      if (v.chat_template.empty() && !ct.empty() && ct[0].is_object() && ct[0].contains("template") && ct[0]["template"].is_string())
        v.chat_template = ct[0]["template"].get<std::string>();
    } else if (!ct.is_null()) {
      SGL_THROW(Status::kParseError, "tokenizer {}: chat_template is neither a string nor a list", source);
    }
  }
  v.finalize();
  return v;
}

}  // namespace sgl::tok
