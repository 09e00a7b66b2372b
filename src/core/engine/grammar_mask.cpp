// See grammar_mask.hpp. The provider is a thin adapter over GrammarMatcher; the interesting
// decisions are which tokens the grammar may ever use (specials never, EOS only at an end) and
// how json_object is recognised.
#include "core/engine/grammar_mask.hpp"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>

#include "core/grammar/grammar_matcher.hpp"
#include "core/support/check.hpp"
#include "core/support/log.hpp"

namespace sgl {
namespace {

struct GrammarMasks {
  GrammarMasks(Tokenizer t, int64_t n, std::vector<int32_t> eos) : tok(std::move(t)), n_vocab(n), eos_ids(std::move(eos)) {}

  Tokenizer tok;
  int64_t n_vocab;
  std::vector<int32_t> eos_ids;
  std::once_flag once;
  std::unique_ptr<grammar::GrammarCache> cache;

  grammar::Vocab vocab() const {
    grammar::Vocab v;
    const int64_t known = std::min<int64_t>(n_vocab, tok.vocab_size());
    v.token_bytes.resize(static_cast<size_t>(n_vocab));  // unknown ids stay empty: never allowed
    for (int32_t id : eos_ids)
      if (id >= 0 && id < n_vocab) v.eos_ids.push_back(id);
    std::sort(v.eos_ids.begin(), v.eos_ids.end());
    v.eos_ids.erase(std::unique(v.eos_ids.begin(), v.eos_ids.end()), v.eos_ids.end());
    for (int32_t id = 0; id < known; ++id) {
      if (std::binary_search(v.eos_ids.begin(), v.eos_ids.end(), id)) continue;
      if (tok.is_special(id))
        v.special_ids.push_back(id);
      else
        v.token_bytes[static_cast<size_t>(id)] = tok.token_bytes(id);
    }
    return v;
  }

  grammar::GrammarCache& get_cache() {
    std::call_once(once, [this] {
      cache = std::make_unique<grammar::GrammarCache>(vocab());
      SGL_LOG_INFO("grammar: vocabulary index built ({} tokens)", n_vocab);
    });
    return *cache;
  }
};

// Length of the longest prefix of `s` that does not end inside a UTF-8 sequence: forced bytes
// may stop between the bytes of one character (e.g. "\xC3" before a choice of "\xA9" / "\xA8"),
// and a tokenizer given half a character would not reproduce the model's own byte tokens.
size_t complete_utf8_prefix(std::string_view s) {
  size_t i = s.size();
  size_t back = 0;
  while (i > 0 && back < 4 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80) --i, ++back;
  if (i == 0) return 0;
  const auto lead = static_cast<unsigned char>(s[i - 1]);
  size_t need = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 1;
  return back + 1 >= need ? s.size() : i - 1;
}

class GrammarMaskProvider final : public TokenMaskProvider {
 public:
  GrammarMaskProvider(std::shared_ptr<const grammar::CompiledGrammar> g, std::shared_ptr<const GrammarMasks> st)
      : m_(std::move(g)), st_(std::move(st)) {}

  void fill(uint32_t* mask, int64_t n_vocab) override {
    const auto words = static_cast<size_t>((n_vocab + 31) / 32);
    if (m_.mask_words() == words) {
      m_.fill_next_token_bitmask(mask);
      return;
    }
    // The vocabulary is built at the model's width, so this only guards a mismatch.
    buf_.assign(m_.mask_words(), 0u);
    m_.fill_next_token_bitmask(buf_.data());
    std::memcpy(mask, buf_.data(), std::min(words, buf_.size()) * sizeof(uint32_t));
  }

  void accept(int32_t token) override {
    // The token was sampled under fill()'s mask, so a rejection means the mask and the matcher
    // disagree. Going on would silently produce unconstrained output that still reports
    // success; the scheduler instead ends this request with the error (others keep running).
    if (!m_.accept_token(token))
      SGL_THROW(Status::kInternal, "grammar: the matcher rejected token {} sampled under its own mask", token);
  }

  bool terminated() const override { return m_.is_terminated(); }

  // The forced bytes F are tokenized together with the bytes A of the token just sampled, as
  // encode(A + F): a BPE merge may join the end of A with the start of F, and the tokenizer
  // decides that, not us. We take the tail of that encoding only if its tokens cover exactly
  // F (then the tokenizer itself put a boundary between A and F, so appending the tail after
  // the sampled token gives the tokenizer's own segmentation of the joint text). Otherwise the
  // merge crosses the boundary and we jump nothing this time: the model samples the next
  // token under the mask and we try again after it. This never replaces an already sampled
  // (streamed, logprob'd, penalty-counted) token, and every returned token is checked by the
  // matcher, so the output stays exactly inside the grammar. (SGLang instead retokenizes the
  // tail of the output and rolls back; the conservative rule costs a step at such boundaries.)
  std::vector<int32_t> jump_forward(int32_t last, int64_t max_tokens) override {
    std::vector<int32_t> out;
    if (max_tokens <= 0 || m_.is_terminated()) return out;
    std::string f = m_.find_jump_forward_string(kMaxJumpBytes);
    f.resize(complete_utf8_prefix(f));
    if (f.size() < kMinJumpBytes) return out;
    const Tokenizer& tok = st_->tok;
    if (last < 0 || last >= tok.vocab_size() || tok.is_special(last)) return out;
    const std::string& a = tok.token_bytes(last);
    std::vector<int32_t> ids = tok.encode(a + f, /*add_special=*/false, /*parse_special=*/false);
    size_t j = ids.size(), covered = 0;
    while (j > 0 && covered < f.size()) covered += tok.token_bytes(ids[--j]).size();
    if (covered != f.size()) return out;
    std::string tail;
    for (size_t i = j; i < ids.size(); ++i) {
      if (ids[i] >= st_->n_vocab || tok.is_special(ids[i])) return out;
      tail += tok.token_bytes(ids[i]);
    }
    if (tail != f) return out;
    for (size_t i = j; i < ids.size() && static_cast<int64_t>(out.size()) < max_tokens; ++i) {
      if (!m_.accept_token(ids[i])) break;  // cannot happen for forced bytes; stay safe anyway
      out.push_back(ids[i]);
    }
    return out;
  }

 private:
  static constexpr size_t kMaxJumpBytes = 512;
  static constexpr size_t kMinJumpBytes = 2;  // a single forced byte is rarely worth a tokenizer call
  grammar::GrammarMatcher m_;
  std::shared_ptr<const GrammarMasks> st_;
  std::vector<uint32_t> buf_;
};

// The server sends response_format json_object as the schema {"type":"object"}: the dedicated
// any-object grammar says the same thing without the schema compiler's key restrictions.
bool is_plain_object_schema(const std::string& s) {
  auto j = nlohmann::json::parse(s, nullptr, false);
  return !j.is_discarded() && j == nlohmann::json{{"type", "object"}};
}

}  // namespace

TokenMaskFactory make_grammar_mask_factory(Tokenizer tokenizer, int64_t n_vocab, std::vector<int32_t> eos_ids) {
  SGL_CHECK(n_vocab > 0, "grammar: the vocabulary is empty");
  auto st = std::make_shared<GrammarMasks>(std::move(tokenizer), n_vocab, std::move(eos_ids));
  return [st](const SamplingParams& sp) -> std::unique_ptr<TokenMaskProvider> {
    const int forms = !sp.regex.empty() + !sp.json_schema.empty() + !sp.ebnf.empty();
    if (forms == 0) return nullptr;
    if (forms > 1)
      SGL_THROW(Status::kInvalidArgument, "at most one of regex, json_schema and ebnf may be given (got {})", forms);
    grammar::GrammarCache& cache = st->get_cache();
    std::shared_ptr<const grammar::CompiledGrammar> g;
    try {
      if (!sp.regex.empty())
        g = cache.get(grammar::GrammarKind::kRegex, sp.regex);
      else if (!sp.ebnf.empty())
        g = cache.get(grammar::GrammarKind::kEbnf, sp.ebnf);
      else if (is_plain_object_schema(sp.json_schema))
        g = cache.get(grammar::GrammarKind::kJsonObject, "");
      else
        g = cache.get(grammar::GrammarKind::kJsonSchema, sp.json_schema);
    } catch (const Error& e) {
      // A schema's unknown $ref is kNotFound inside the grammar module; for a request it is a
      // bad argument (the server would otherwise answer 404 instead of 400).
      if (e.code() != Status::kNotFound) throw;
      throw Error(Status::kInvalidArgument, e.what(), e.offset());
    }
    return std::make_unique<GrammarMaskProvider>(std::move(g), st);
  };
}

}  // namespace sgl
