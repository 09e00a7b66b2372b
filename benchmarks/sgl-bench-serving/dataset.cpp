// Prompt sets: random (exact token lengths through the tokenizer), sharegpt (a local JSON file) and
// generated-shared-prefix (groups of prompts sharing a long system prompt, to exercise the radix
// cache). Lengths follow SGLang's bench_serving: uniform in [max(1, len * ratio), len].
#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "bench_serving.hpp"
#include "core/support/check.hpp"
#include "sgl/tokenizer.hpp"

namespace sgl::bench {
namespace {

using json = nlohmann::json;

// Used without --tokenizer: common short words are usually one token each in BPE and SPM vocabularies,
// so n words approximate n tokens; the server's own prompt_tokens count is what gets reported.
const char* const kWords[] = {"the", "of", "and", "to", "in", "is", "it", "that", "for", "on", "was", "with",
                              "he", "as", "at", "by", "this", "had", "not", "but", "from", "have", "or", "one",
                              "what", "all", "were", "we", "when", "there", "can", "an", "your", "which", "their",
                              "if", "do", "will", "each", "about", "how", "up", "out", "them", "then", "she", "many"};

struct Vocab {
  const Tokenizer* tok = nullptr;
  std::vector<int32_t> usable;  // non-special ids that decode to something on their own
};

// Random prompts are sent as JSON text, so every piece we draw must be whole UTF-8 on its own
// (byte-fallback tokens such as <0xE2> are not).
bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    i += n;
  }
  return true;
}

int pick_len(std::mt19937_64& rng, int len, double ratio) {
  int lo = std::max(1, static_cast<int>(len * ratio));
  if (lo > len) lo = len;
  return std::uniform_int_distribution<int>(lo, len)(rng);
}

std::vector<int32_t> random_ids(std::mt19937_64& rng, const Vocab& v, int n) {
  std::uniform_int_distribution<size_t> d(0, v.usable.size() - 1);
  std::vector<int32_t> ids(static_cast<size_t>(std::max(n, 0)));
  for (auto& id : ids) id = v.usable[d(rng)];
  return ids;
}

// Text whose encoding (without specials) has `n` tokens: decode random ids, re-encode, and trim or
// extend until the round trip is stable (merges across piece boundaries change the count).
Prompt text_prompt(std::mt19937_64& rng, const Vocab& v, std::vector<int32_t> ids, int n) {
  Prompt p;
  if (!v.tok) {
    std::uniform_int_distribution<size_t> d(0, std::size(kWords) - 1);
    for (int i = 0; i < n; ++i) p.text += (i ? " " : "") + std::string(kWords[d(rng)]);
    p.input_len = n;
    return p;
  }
  std::string text = v.tok->decode(ids);
  for (int iter = 0; iter < 8; ++iter) {
    auto enc = v.tok->encode(text, /*add_special=*/false);
    if (static_cast<int>(enc.size()) == n) break;
    if (static_cast<int>(enc.size()) > n) {
      enc.resize(static_cast<size_t>(n));
    } else {
      auto more = random_ids(rng, v, n - static_cast<int>(enc.size()));
      enc.insert(enc.end(), more.begin(), more.end());
    }
    text = v.tok->decode(enc);
  }
  p.ids = v.tok->encode(text, /*add_special=*/true);
  p.text = std::move(text);
  p.input_len = static_cast<int>(p.ids.size());
  return p;
}

Prompt make_one(std::mt19937_64& rng, const Args& a, const Vocab& v, std::vector<int32_t> body, int n) {
  if (a.backend == "sglang" && v.tok) {
    // /generate takes token ids: the length is exact, BOS included when the model wants one.
    Prompt p;
    if (v.tok->add_bos() && v.tok->bos_id() >= 0) p.ids.push_back(v.tok->bos_id());
    p.ids.insert(p.ids.end(), body.begin(), body.end());
    p.input_len = static_cast<int>(p.ids.size());
    return p;
  }
  return text_prompt(rng, v, std::move(body), n);
}

std::vector<Prompt> random_prompts(const Args& a, const Vocab& v, std::mt19937_64& rng) {
  std::vector<Prompt> out;
  for (int i = 0; i < a.num_prompts; ++i) {
    int in = pick_len(rng, a.random_input_len, a.random_range_ratio);
    int outl = pick_len(rng, a.random_output_len, a.random_range_ratio);
    bool bos = a.backend == "sglang" && v.tok && v.tok->add_bos() && v.tok->bos_id() >= 0;
    int body = std::max(1, in - (bos ? 1 : 0));
    Prompt p = make_one(rng, a, v, v.tok ? random_ids(rng, v, body) : std::vector<int32_t>{}, body);
    p.output_len = outl;
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<Prompt> gsp_prompts(const Args& a, const Vocab& v, std::mt19937_64& rng) {
  if (!v.tok) SGL_THROW(Status::kInvalidArgument, "--dataset-name generated-shared-prefix needs --tokenizer");
  std::vector<Prompt> out;
  for (int g = 0; g < a.gsp_num_groups; ++g) {
    auto system = random_ids(rng, v, a.gsp_system_prompt_len);
    for (int q = 0; q < a.gsp_prompts_per_group; ++q) {
      auto ids = system;
      auto question = random_ids(rng, v, a.gsp_question_len);
      ids.insert(ids.end(), question.begin(), question.end());
      int n = static_cast<int>(ids.size());
      Prompt p = make_one(rng, a, v, std::move(ids), n);
      p.output_len = a.gsp_output_len;
      out.push_back(std::move(p));
    }
  }
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

int count_tokens(const Vocab& v, const std::string& s) {
  if (v.tok) return static_cast<int>(v.tok->encode(s, false).size());
  std::istringstream in(s);
  int n = 0;
  for (std::string w; in >> w;) ++n;
  return n;
}

std::vector<Prompt> sharegpt_prompts(const Args& a, const Vocab& v, std::mt19937_64& rng) {
  if (a.dataset_path.empty())
    SGL_THROW(Status::kInvalidArgument, "--dataset-name sharegpt needs --dataset-path (a local ShareGPT JSON file)");
  std::ifstream f(a.dataset_path);
  if (!f) SGL_THROW(Status::kIoError, "cannot open dataset '{}'", a.dataset_path);
  json data = json::parse(f, nullptr, /*allow_exceptions=*/false);
  if (!data.is_array()) SGL_THROW(Status::kParseError, "dataset '{}' is not a JSON array of conversations", a.dataset_path);
  std::vector<std::pair<std::string, std::string>> convs;
  for (const auto& d : data) {
    if (!d.is_object() || !d.contains("conversations") || !d["conversations"].is_array()) continue;
    const auto& c = d["conversations"];
    if (c.size() < 2 || !c[0].is_object() || !c[1].is_object()) continue;
    auto v0 = c[0].find("value"), v1 = c[1].find("value");
    if (v0 == c[0].end() || v1 == c[1].end() || !v0->is_string() || !v1->is_string()) continue;
    convs.emplace_back(v0->get<std::string>(), v1->get<std::string>());
  }
  std::shuffle(convs.begin(), convs.end(), rng);
  std::vector<Prompt> out;
  for (auto& [q, ans] : convs) {
    if (static_cast<int>(out.size()) >= a.num_prompts) break;
    int in = count_tokens(v, q);
    int outl = a.sharegpt_output_len > 0 ? a.sharegpt_output_len : count_tokens(v, ans);
    // SGLang's filter: drop very short pairs, and long ones unless the output length is fixed.
    if (in < 2 || outl < 2) continue;
    if (a.sharegpt_output_len <= 0 && (in > 1024 || in + outl > 2048)) continue;
    Prompt p;
    p.text = q;
    if (v.tok && a.backend == "sglang") p.ids = v.tok->encode(q, true);
    p.input_len = p.ids.empty() ? in : static_cast<int>(p.ids.size());
    p.output_len = outl;
    out.push_back(std::move(p));
  }
  if (static_cast<int>(out.size()) < a.num_prompts)
    SGL_THROW(Status::kInvalidArgument, "dataset '{}' has only {} usable conversations, {} requested", a.dataset_path,
              out.size(), a.num_prompts);
  return out;
}

}  // namespace

std::vector<Prompt> make_prompts(const Args& a) {
  std::mt19937_64 rng(a.seed);
  std::optional<Tokenizer> tok;
  Vocab v;
  if (!a.tokenizer.empty()) {
    auto ends = [&](std::string_view s) { return a.tokenizer.size() >= s.size() && a.tokenizer.ends_with(s); };
    tok = ends(".gguf") ? Tokenizer::from_gguf_file(a.tokenizer)
        : ends(".json") ? Tokenizer::from_tokenizer_json(a.tokenizer)
                        : Tokenizer::from_hf_dir(a.tokenizer);
    v.tok = &*tok;
    for (int32_t id = 0; id < tok->vocab_size(); ++id) {
      if (tok->is_special(id) || tok->is_eos(id)) continue;
      int32_t one[1] = {id};
      std::string piece = tok->decode(one);
      if (!piece.empty() && valid_utf8(piece)) v.usable.push_back(id);
    }
    if (v.usable.empty()) SGL_THROW(Status::kInvalidArgument, "tokenizer '{}' has no ordinary tokens", a.tokenizer);
  }
  if (a.dataset_name == "random") return random_prompts(a, v, rng);
  if (a.dataset_name == "generated-shared-prefix") return gsp_prompts(a, v, rng);
  if (a.dataset_name == "sharegpt") return sharegpt_prompts(a, v, rng);
  SGL_THROW(Status::kInvalidArgument, "unknown --dataset-name '{}' (random, sharegpt, generated-shared-prefix)",
            a.dataset_name);
}

}  // namespace sgl::bench
