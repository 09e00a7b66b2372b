#include "core/engine/engine_setup.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/support/check.hpp"

namespace sgl {
namespace {

// MemTotal and MemAvailable from /proc/meminfo, in bytes (0 when unreadable).
std::pair<size_t, size_t> host_memory() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  size_t value = 0, total = 0, avail = 0;
  std::string unit;
  while (f >> key >> value >> unit) {
    if (key == "MemTotal:") total = value * 1024;
    if (key == "MemAvailable:") avail = value * 1024;
  }
  if (total == 0) {
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && psize > 0) total = avail = static_cast<size_t>(pages) * static_cast<size_t>(psize);
  }
  return {total, avail};
}

void add_id(std::vector<int32_t>& out, const nlohmann::json& j) {
  if (j.is_number_integer() && j.get<int64_t>() >= 0 && j.get<int64_t>() < INT32_MAX) out.push_back(j.get<int32_t>());
  if (j.is_array())
    for (const auto& e : j) add_id(out, e);
}

}  // namespace

PoolPlan plan_kv_pool(const EngineConfig& c, const KvPoolConfig& kv, size_t weight_bytes, int64_t context_length) {
  const size_t per_token = KvPool::bytes_per_token(kv);
  PoolPlan plan;
  if (c.max_total_tokens > 0) {
    plan.n_pages = c.max_total_tokens / c.page_size;
    plan.how = fmt::format("max_total_tokens = {}", c.max_total_tokens);
    return plan;
  }
  auto [total, avail] = host_memory();
  double budget = c.mem_fraction_static * static_cast<double>(total) - static_cast<double>(weight_bytes);
  budget = std::min(budget, 0.9 * static_cast<double>(avail));
  int64_t tokens = budget > 0 ? static_cast<int64_t>(budget / static_cast<double>(per_token)) : 0;
  int64_t cap = std::max<int64_t>(65536, 2 * context_length);
  tokens = std::min(tokens, cap);
  if (tokens < std::min<int64_t>(context_length, 4096))
    SGL_THROW(Status::kOutOfMemory,
              "not enough memory for the KV cache: mem_fraction_static = {} of {} MiB RAM minus {} MiB of weights "
              "leaves room for {} tokens ({} bytes each); set max_total_tokens or raise mem_fraction_static",
              c.mem_fraction_static, total >> 20, weight_bytes >> 20, tokens, per_token);
  plan.n_pages = tokens / c.page_size;
  plan.how = fmt::format("mem_fraction_static = {} of {} MiB RAM, {} MiB weights, cap {} tokens", c.mem_fraction_static,
                         total >> 20, weight_bytes >> 20, cap);
  return plan;
}

std::vector<int32_t> model_eos_ids(const LoadedModel& m) {
  std::vector<int32_t> ids;
  if (m.gguf) {
    for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"})
      if (const auto* v = m.gguf->find(key))
        if (auto id = v->as_int(); id && *id >= 0 && *id < m.config.n_vocab) ids.push_back(static_cast<int32_t>(*id));
  } else if (!m.hf_dir.empty()) {
    namespace fs = std::filesystem;
    for (const char* name : {"generation_config.json", "config.json"}) {
      fs::path p = fs::path(m.hf_dir) / name;
      std::ifstream f(p);
      if (!f) continue;
      auto j = nlohmann::json::parse(f, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.is_object() || !j.contains("eos_token_id")) continue;
      add_id(ids, j["eos_token_id"]);
      if (!ids.empty()) break;
    }
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

uint64_t derive_seed(uint64_t random_seed, const std::string& rid) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a of the id
  for (unsigned char ch : rid) h = (h ^ ch) * 1099511628211ull;
  uint64_t z = random_seed + 0x9E3779B97F4A7C15ull * (h | 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

size_t model_weight_bytes(const LoadedModel& m) {
  size_t n = 0;
  for (const auto& t : m.tensors->all()) n += t.nbytes;
  return n;
}

}  // namespace sgl
