// Tokenizer encode throughput (MB/s, one thread) on a few MB of mixed text: English prose and
// READMEs, C++ source, JSON lines, and generated multilingual sentences (CJK, Cyrillic, Greek,
// Arabic, Hindi, emoji, digits). Vocabularies come from $SGL_SHARED_DIR/conformance/tokenizer.
//
//   bench_tokenizer [--mb N] [--chunk KB]
//
// Also times the worst case of a 1 MB run of one character without spaces (must not be quadratic).
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "sgl/tokenizer.hpp"

namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string multilingual(size_t bytes, uint32_t seed) {
  static const char* words[] = {
      "the", "model", "tokenizer", "inference", "server", "request", "latency", "throughput", "cache",
      "数据", "模型", "推理", "服务器", "请求", "延迟", "吞吐量", "缓存", "東京", "ひらがな", "カタカナ",
      "данные", "модель", "сервер", "запрос", "быстро", "λόγος", "δεδομένα", "μοντέλο", "نموذج",
      "البيانات", "خادم", "मॉडल", "डेटा", "सर्वर", "모델", "데이터", "서버", "Größe", "Äpfel", "naïve",
      "café", "Việt", "😀", "👍🏽", "🚀", "❤️", "it's", "don't", "we'll", "3.14159", "2024", "1,000,000"};
  std::mt19937 rng(seed);
  std::string s;
  while (s.size() < bytes) {
    const int n = 4 + rng() % 12;
    for (int i = 0; i < n; ++i) {
      s += words[rng() % std::size(words)];
      s += (rng() % 9 == 0) ? ", " : " ";
    }
    s += (rng() % 5 == 0) ? ".\n\n" : ". ";
  }
  return s;
}

std::string corpus(const fs::path& shared, size_t target) {
  std::string text;
  // Prose and data from the shared folder.
  for (const auto& e : fs::recursive_directory_iterator(shared)) {
    if (!e.is_regular_file()) continue;
    const auto ext = e.path().extension().string();
    if (ext == ".md" || ext == ".txt" || ext == ".inp" || ext == ".jsonl") text += read_file(e.path()) + "\n";
  }
  // Source code from this repository, when run from its root.
  if (fs::is_directory("src")) {
    for (const auto& e : fs::recursive_directory_iterator("src")) {
      const auto ext = e.path().extension().string();
      if (e.is_regular_file() && (ext == ".cpp" || ext == ".hpp")) text += read_file(e.path());
      if (text.size() > target / 2) break;
    }
  }
  text += multilingual(target / 3, 7);
  std::string out;
  while (out.size() < target) out += text;  // cycle to the requested size
  out.resize(target);
  // Do not cut a UTF-8 character at the end.
  while (!out.empty() && (uint8_t(out.back()) & 0xC0) == 0x80) out.pop_back();
  if (!out.empty() && uint8_t(out.back()) >= 0xC0) out.pop_back();
  return out;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// CPU time of this thread: on a shared, oversubscribed machine wall time mostly measures waiting.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  double mb = 4;
  size_t chunk_kb = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--mb")) mb = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--chunk")) chunk_kb = size_t(std::atol(argv[i + 1]));
  }
  const char* env = std::getenv("SGL_SHARED_DIR");
  if (!env || !fs::is_directory(env)) {
    std::fprintf(stderr, "bench_tokenizer: set SGL_SHARED_DIR to the shared data folder\n");
    return 2;
  }
  const fs::path shared(env);
  const std::string text = corpus(shared, size_t(mb * 1e6));
  std::printf("corpus: %.2f MB, encode in chunks of %zu KB, one thread, best of 3\n", text.size() / 1e6, chunk_kb);
  const size_t chunk = chunk_kb * 1024;

  for (const char* name : {"llama-spm", "phi-3", "gpt-2", "llama-bpe", "qwen2", "deepseek-llm"}) {
    const auto path = shared / "conformance" / "tokenizer" / (std::string("ggml-vocab-") + name + ".gguf");
    auto t0 = std::chrono::steady_clock::now();
    const sgl::Tokenizer tok = sgl::Tokenizer::from_gguf_file(path.string());
    const double load_s = seconds_since(t0);
    double best = 1e30, best_cpu = 1e30;
    size_t n_tokens = 0;
    for (int rep = 0; rep < 3; ++rep) {
      t0 = std::chrono::steady_clock::now();
      const double c0 = thread_cpu_seconds();
      n_tokens = 0;
      for (size_t off = 0; off < text.size();) {
        size_t end = std::min(text.size(), off + chunk);
        while (end < text.size() && (uint8_t(text[end]) & 0xC0) == 0x80) ++end;  // whole characters
        n_tokens += tok.encode(std::string_view(text).substr(off, end - off), false, false).size();
        off = end;
      }
      best = std::min(best, seconds_since(t0));
      best_cpu = std::min(best_cpu, thread_cpu_seconds() - c0);
    }
    // Decode speed of the whole token stream.
    const auto ids = tok.encode(text, false, false);
    t0 = std::chrono::steady_clock::now();
    const std::string back = tok.decode(ids, false);
    const double dec_s = seconds_since(t0);
    std::printf("%-13s %-10s load %6.1f ms  encode %7.1f MB/s cpu, %7.1f MB/s wall  (%zu tokens, %.2f B/token)  decode %7.1f MB/s wall%s\n",
                name, tok.kind() == sgl::Tokenizer::Kind::kByteLevel ? "byte-level" : "spm", load_s * 1e3,
                text.size() / 1e6 / best_cpu, text.size() / 1e6 / best, n_tokens, double(text.size()) / double(n_tokens), back.size() / 1e6 / dec_s,
                back == text ? "" : "  (round trip differs)");
  }

  // Worst case: one long piece with no spaces.
  const std::string run(1 << 20, 'a');
  for (const char* name : {"llama-spm", "llama-bpe"}) {
    const auto path = shared / "conformance" / "tokenizer" / (std::string("ggml-vocab-") + name + ".gguf");
    const sgl::Tokenizer tok = sgl::Tokenizer::from_gguf_file(path.string());
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = thread_cpu_seconds();
    const size_t n = tok.encode(run, false, false).size();
    std::printf("1 MB of 'a' without spaces, %-10s: %.3f s cpu, %.3f s wall (%zu tokens)\n", name,
                thread_cpu_seconds() - c0, seconds_since(t0), n);
  }
  return 0;
}
