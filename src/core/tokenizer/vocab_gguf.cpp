// Vocabulary from GGUF metadata, following llama.cpp's llama_vocab::load: `tokenizer.ggml.model`
// picks the family ("llama" = SentencePiece-style, "gpt2" = byte-level BPE), `tokenizer.ggml.pre`
// the pre-tokenizer, and the special ids / add_* flags override the family defaults.
#include <cmath>

#include "core/model/gguf_reader.hpp"
#include "core/support/check.hpp"
#include "core/tokenizer/vocab_loader.hpp"

namespace sgl::tok {

namespace {

const gguf::Array& require_array(const gguf::GgufFile& f, std::string_view key, gguf::ValueType elem) {
  const gguf::Value* v = f.find(key);
  if (!v) SGL_THROW(Status::kParseError, "tokenizer {}: missing GGUF key '{}'", f.path(), key);
  const gguf::Array* a = v->as_array();
  if (!a) SGL_THROW(Status::kParseError, "tokenizer {}: GGUF key '{}' is not an array", f.path(), key);
  const bool want_string = elem == gguf::ValueType::kString;
  if (want_string != (a->elem_type == gguf::ValueType::kString))
    SGL_THROW(Status::kParseError, "tokenizer {}: GGUF key '{}' has elements of type {}, expected {}", f.path(), key,
              gguf::value_type_name(a->elem_type), want_string ? "string" : "number");
  if (!want_string && a->numbers.size() != a->size())
    SGL_THROW(Status::kParseError, "tokenizer {}: GGUF key '{}' must hold 32-bit numbers", f.path(), key);
  return *a;
}

int32_t read_id(const gguf::GgufFile& f, std::string_view key, int32_t dflt) {
  const gguf::Value* v = f.find(key);
  if (!v) return dflt;
  const auto i = v->as_int();
  if (!i) SGL_THROW(Status::kParseError, "tokenizer {}: GGUF key '{}' is not an integer", f.path(), key);
  // Some converters write -1 (or UINT32_MAX) for "none".
  if (*i < 0 || *i == int64_t(UINT32_MAX)) return -1;
  if (*i > INT32_MAX) SGL_THROW(Status::kParseError, "tokenizer {}: GGUF key '{}' = {} is out of range", f.path(), key, *i);
  return int32_t(*i);
}

bool read_bool(const gguf::GgufFile& f, std::string_view key, bool dflt) {
  const gguf::Value* v = f.find(key);
  if (!v) return dflt;
  const auto b = v->as_bool();
  if (!b) SGL_THROW(Status::kParseError, "tokenizer {}: GGUF key '{}' is not a bool", f.path(), key);
  return *b;
}

}  // namespace

Vocab load_vocab_gguf(const gguf::GgufFile& f) {
  Vocab v;
  v.source = f.path().empty() ? std::string("<gguf>") : f.path();
  const auto model = f.get_string("tokenizer.ggml.model");
  if (!model) SGL_THROW(Status::kParseError, "tokenizer {}: missing GGUF key 'tokenizer.ggml.model'", v.source);

  const gguf::Array& tokens = require_array(f, "tokenizer.ggml.tokens", gguf::ValueType::kString);
  const size_t n = tokens.strings.size();
  if (n == 0) SGL_THROW(Status::kParseError, "tokenizer {}: 'tokenizer.ggml.tokens' is empty", v.source);
  v.text = tokens.strings;

  if (f.find("tokenizer.ggml.scores")) {
    const auto& a = require_array(f, "tokenizer.ggml.scores", gguf::ValueType::kF32);
    if (a.numbers.size() != n)
      SGL_THROW(Status::kParseError, "tokenizer {}: 'tokenizer.ggml.scores' has {} entries for {} tokens", v.source,
                a.numbers.size(), n);
    v.score.assign(a.numbers.begin(), a.numbers.end());
  }
  if (f.find("tokenizer.ggml.token_type")) {
    const auto& a = require_array(f, "tokenizer.ggml.token_type", gguf::ValueType::kI32);
    if (a.numbers.size() != n)
      SGL_THROW(Status::kParseError, "tokenizer {}: 'tokenizer.ggml.token_type' has {} entries for {} tokens",
                v.source, a.numbers.size(), n);
    v.type.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const double t = a.numbers[i];
      if (!(t >= 0 && t <= 6) || t != std::floor(t))
        SGL_THROW(Status::kParseError, "tokenizer {}: token {} has invalid type {}", v.source, i, t);
      v.type[i] = TokenType(int(t));
    }
  }

  v.pre_name = f.get_string("tokenizer.ggml.pre").value_or("default");
  if (*model == "llama") {
    v.kind = ModelKind::kSpm;
    v.score_merges = true;
    v.escape_spaces = true;
    v.add_space_prefix = true;
    v.add_bos = true;
    v.bos = 1, v.eos = 2, v.unk = 0;
    if (v.score.empty())
      SGL_THROW(Status::kParseError, "tokenizer {}: SentencePiece vocabulary without 'tokenizer.ggml.scores'",
                v.source);
  } else if (*model == "gpt2") {
    v.kind = ModelKind::kByteLevel;
    v.bos = 11, v.eos = 11;  // llama.cpp's defaults when the file names none
    v.pre = pre_tokenizer_for_gguf(v.pre_name, &v.ignore_merges);
    if (v.ignore_merges) v.add_bos = true;
  } else {
    SGL_THROW(Status::kUnsupported, "tokenizer {}: tokenizer model '{}' is not supported (supported: llama, gpt2)",
              v.source, *model);
  }
  if (v.bos >= int32_t(n)) v.bos = -1;
  if (v.eos >= int32_t(n)) v.eos = -1;
  if (v.unk >= int32_t(n)) v.unk = -1;
  v.bos = read_id(f, "tokenizer.ggml.bos_token_id", v.bos);
  v.eos = read_id(f, "tokenizer.ggml.eos_token_id", v.eos);
  v.unk = read_id(f, "tokenizer.ggml.unknown_token_id", v.unk);
  v.pad = read_id(f, "tokenizer.ggml.padding_token_id", v.pad);
  v.eot = read_id(f, "tokenizer.ggml.eot_token_id", v.eot);
  v.add_bos = read_bool(f, "tokenizer.ggml.add_bos_token", v.add_bos);
  v.add_eos = read_bool(f, "tokenizer.ggml.add_eos_token", v.add_eos);
  v.add_space_prefix = read_bool(f, "tokenizer.ggml.add_space_prefix", v.add_space_prefix);
  v.chat_template = f.get_string("tokenizer.chat_template").value_or("");

  // The id lookup is needed to resolve merges; finalize() rebuilds it.
  if (v.kind == ModelKind::kByteLevel) {
    const auto& merges = require_array(f, "tokenizer.ggml.merges", gguf::ValueType::kString);
    TokenMap ids;
    ids.reserve(n);
    for (size_t i = 0; i < n; ++i) ids[v.text[i]] = int32_t(i);
    auto lookup = [&](std::string_view s) {
      auto it = ids.find(s);
      return it == ids.end() ? -1 : it->second;
    };
    v.merges.reserve(merges.strings.size());
    std::string joined;
    for (size_t r = 0; r < merges.strings.size(); ++r) {
      const std::string& m = merges.strings[r];
      const size_t sp = m.find(' ', 1);  // the left part may itself be a space-like character
      if (sp == std::string::npos || sp + 1 >= m.size())
        SGL_THROW(Status::kParseError, "tokenizer {}: merge {} '{}' is not two tokens separated by a space",
                  v.source, r, m);
      const std::string_view left(m.data(), sp), right(m.data() + sp + 1, m.size() - sp - 1);
      const int32_t a = lookup(left), b = lookup(right);
      joined.assign(left);
      joined.append(right);
      const int32_t c = lookup(joined);
      if (a < 0 || b < 0 || c < 0)
        SGL_THROW(Status::kParseError, "tokenizer {}: merge {} '{}' refers to a token missing from the vocabulary",
                  v.source, r, m);
      v.merges.add(a, b, float(r), c);
    }
  }
  v.finalize();
  return v;
}

}  // namespace sgl::tok
