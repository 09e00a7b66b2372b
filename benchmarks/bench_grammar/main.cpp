// Grammar benchmark: compile time per schema of the JSON Schema sample (median, p99), and token
// mask time per token for a 32k (llama SPM) and a 152k (qwen2 byte-level BPE) vocabulary, both
// cold (first visit of a stack top computes its token classification) and on cached states
// (a fresh matcher replays the same tokens: classifications cached, no per-matcher mask cache).
//
// Usage: bench_grammar [shared_dir [vocab_filter [case_filter]]]
//   shared_dir defaults to $SGL_SHARED_DIR, else /work/shared; the filters keep only vocabularies
//   ("32k", "152k") and cases ("json_schema", "json_object", "regex") whose label contains them.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "core/grammar/grammar_matcher.hpp"
#include "core/grammar/utf8_ranges.hpp"
#include "core/model/gguf_reader.hpp"
#include "sgl/error.hpp"

using namespace sgl::grammar;
using Clock = std::chrono::steady_clock;

namespace {

double us_since(Clock::time_point t) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t).count();
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

// Token bytes from a GGUF tokenizer: SPM ("llama": U+2581 -> space, <0xNN> -> byte) or GPT-2
// byte-level BPE ("gpt2": the printable-unicode alphabet back to bytes).
Vocab load_vocab(const std::string& path) {
  auto f = sgl::gguf::GgufFile::open(path);
  const auto* toks = f.get_array("tokenizer.ggml.tokens");
  const auto* types = f.get_array("tokenizer.ggml.token_type");
  std::string model = f.get_string("tokenizer.ggml.model").value_or("");
  if (!toks) throw sgl::Error(sgl::Status::kNotFound, "no tokenizer.ggml.tokens in " + path);
  std::vector<int> byte_of_cp(0x200, -1);
  {
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      byte_of_cp[printable ? b : 256 + n++] = b;
    }
  }
  Vocab v;
  for (size_t i = 0; i < toks->strings.size(); ++i) {
    const std::string& t = toks->strings[i];
    int type = types && i < types->numbers.size() ? static_cast<int>(types->numbers[i]) : 1;
    std::string bytes;
    if (type == 3 || type == 2 || type == 5) {  // control, unknown, unused
      v.special_ids.push_back(static_cast<int32_t>(i));
    } else if (model == "llama") {
      if (type == 6 && t.size() == 6 && t.rfind("<0x", 0) == 0) {
        bytes.push_back(static_cast<char>(std::stoi(t.substr(3, 2), nullptr, 16)));
      } else {
        for (size_t k = 0; k < t.size(); ++k) {
          if (t.compare(k, 3, "\xE2\x96\x81") == 0) bytes += ' ', k += 2;
          else bytes += t[k];
        }
      }
    } else {
      size_t k = 0;
      uint32_t cp;
      while (k < t.size() && decode_utf8(t, k, cp)) {
        if (cp < byte_of_cp.size() && byte_of_cp[cp] >= 0) bytes += static_cast<char>(byte_of_cp[cp]);
        else append_utf8(bytes, cp);  // user-defined tokens are plain text
      }
    }
    v.token_bytes.push_back(bytes);
  }
  if (auto eos = f.get_uint("tokenizer.ggml.eos_token_id")) {
    v.eos_ids.push_back(static_cast<int32_t>(*eos));
    v.special_ids.erase(std::remove(v.special_ids.begin(), v.special_ids.end(), static_cast<int32_t>(*eos)),
                        v.special_ids.end());
  }
  return v;
}

struct MaskStats {
  size_t tokens = 0;
  double cold_mean = 0, warm_median = 0, warm_mean = 0, warm_p99 = 0;
};

// Samples a trajectory with a random model, then replays it with a fresh matcher.
MaskStats mask_bench(std::shared_ptr<const CompiledGrammar> cg, const Vocab& v, uint64_t seed, size_t max_tokens) {
  std::mt19937_64 rng(seed);
  GrammarMatcher m(cg);
  std::vector<uint32_t> mask(m.mask_words());
  std::vector<int32_t> traj;
  double cold = 0;
  for (size_t step = 0; step < max_tokens && !m.is_terminated(); ++step) {
    auto t0 = Clock::now();
    m.fill_next_token_bitmask(mask.data());
    cold += us_since(t0);
    std::vector<int32_t> allowed;
    for (size_t id = 0; id < v.token_bytes.size(); ++id)
      if ((mask[id >> 5] >> (id & 31)) & 1) allowed.push_back(static_cast<int32_t>(id));
    if (allowed.empty()) {
      fmt::print("    (no token allowed after {} tokens)\n", traj.size());
      break;
    }
    // First half: avoid EOS and structure closers so the output keeps growing.
    std::vector<int32_t> open;
    if (step < max_tokens / 2)
      for (int32_t id : allowed)
        if (v.token_bytes[id].find_first_of("]}") == std::string::npos &&
            std::find(v.eos_ids.begin(), v.eos_ids.end(), id) == v.eos_ids.end())
          open.push_back(id);
    const auto& pool = open.empty() ? allowed : open;
    int32_t pick = pool[std::uniform_int_distribution<size_t>(0, pool.size() - 1)(rng)];
    if (m.can_terminate() && step > max_tokens / 2) pick = v.eos_ids[0];
    if (!m.accept_token(pick)) {
      fmt::print("    (allowed token {} '{}' rejected)\n", pick, v.token_bytes[pick]);
      break;
    }
    traj.push_back(pick);
  }
  MaskStats s;
  s.tokens = traj.size();
  s.cold_mean = traj.empty() ? 0 : cold / static_cast<double>(traj.size());
  std::vector<double> warm;
  GrammarMatcher r(cg);
  r.set_mask_cache(false);
  for (int32_t id : traj) {
    auto t0 = Clock::now();
    r.fill_next_token_bitmask(mask.data());
    warm.push_back(us_since(t0));
    r.accept_token(id);
  }
  s.warm_median = pct(warm, 0.5);
  s.warm_p99 = pct(warm, 0.99);
  double sum = 0;
  for (double w : warm) sum += w;
  s.warm_mean = warm.empty() ? 0 : sum / static_cast<double>(warm.size());
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::string shared = argc > 1 ? argv[1] : (std::getenv("SGL_SHARED_DIR") ? std::getenv("SGL_SHARED_DIR") : "/work/shared");
  const std::string vocab_filter = argc > 2 ? argv[2] : "";
  const std::string case_filter = argc > 3 ? argv[3] : "";
  // Schemas of the sample.
  std::vector<std::string> schemas;
  {
    std::ifstream in(shared + "/conformance/jsonschema/sample.jsonl");
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) schemas.push_back(nlohmann::ordered_json::parse(line)["schema"].dump());
  }
  GrammarOptions opt;
  std::vector<double> compile_us;
  int ok = 0;
  std::string bench_schema;
  for (const auto& s : schemas) {
    auto t0 = Clock::now();
    try {
      build_grammar(GrammarKind::kJsonSchema, s, opt);
      ++ok;
      if (bench_schema.empty() && s.size() > 1500) bench_schema = s;
    } catch (const sgl::Error&) {
    }
    compile_us.push_back(us_since(t0));
  }
  fmt::print("schema compile (grammar lowering, {} schemas, {} compiled): median {:.0f} us, p99 {:.0f} us\n",
             schemas.size(), ok, pct(compile_us, 0.5), pct(compile_us, 0.99));

  const char* vocabs[][2] = {{"llama-spm 32k", "/conformance/tokenizer/ggml-vocab-llama-spm.gguf"},
                             {"qwen2 152k", "/conformance/tokenizer/ggml-vocab-qwen2.gguf"}};
  for (auto& [name, rel] : vocabs) {
    if (std::string(name).find(vocab_filter) == std::string::npos) continue;
    Vocab v;
    try {
      v = load_vocab(shared + rel);
    } catch (const sgl::Error& e) {
      fmt::print("{}: skipped ({})\n", name, e.what());
      continue;
    }
    auto t0 = Clock::now();
    auto idx = std::make_shared<const VocabIndex>(v);
    fmt::print("{}: {} tokens, index built in {:.1f} ms\n", name, v.token_bytes.size(), us_since(t0) / 1000);
    struct Case {
      const char* label;
      GrammarKind kind;
      std::string src;
    } cases[] = {{"json_schema", GrammarKind::kJsonSchema, bench_schema},
                 {"json_object", GrammarKind::kJsonObject, ""},
                 {"regex", GrammarKind::kRegex, R"([a-z]+(, [a-z]+)*\. \d{1,4}-[A-Z]{2})"}};
    for (auto& c : cases) {
      if (std::string(c.label).find(case_filter) == std::string::npos) continue;
      auto t1 = Clock::now();
      auto cg = compile_grammar(c.kind, c.src, idx, opt);
      double comp = us_since(t1);
      MaskStats s = mask_bench(cg, v, 42, 256);
      fmt::print("  {:<12} compile {:.1f} ms; {} tokens; mask cold mean {:.0f} us; cached states (matcher mask cache off): median {:.1f} us, "
                 "mean {:.1f} us, p99 {:.1f} us ({} stack tops classified)\n",
                 c.label, comp / 1000, s.tokens, s.cold_mean, s.warm_median, s.warm_mean, s.warm_p99,
                 cg->cached_entries());
    }
  }
  return 0;
}
