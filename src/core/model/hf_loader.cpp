// Tensors of a Hugging Face model directory: model.safetensors, or the shards listed by
// model.safetensors.index.json, memory-mapped and renamed to GGUF names. HF Linear weights are
// [out, in] row-major, which is exactly GGUF dims {in, out}, so matrices are served from the
// mapping without copying.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "core/model/hf_json.hpp"
#include "core/model/hf_names.hpp"
#include "core/model/model_loader.hpp"
#include "core/model/safetensors.hpp"
#include "core/model/tensor_layout.hpp"
#include "core/support/check.hpp"
#include "core/support/log.hpp"
#include "kernels/half.hpp"

namespace sgl {
namespace {

namespace fs = std::filesystem;
using safetensors::SafetensorsFile;

// Shard file names come from a JSON file: they must name a plain file inside the directory.
void check_shard_name(const std::string& index_path, const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name.find('\\') != std::string::npos || name == "." ||
      name == "..")
    SGL_THROW(Status::kParseError, "{}: shard name '{}' is not a plain file name in the model directory", index_path,
              name);
}

std::vector<SafetensorsFile> open_shards(const std::string& dir) {
  const fs::path single = fs::path(dir) / "model.safetensors";
  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  std::error_code ec;
  std::vector<SafetensorsFile> shards;
  if (fs::exists(index, ec)) {
    const std::string ip = index.string();
    nlohmann::json j = hf::read_json_file(ip);
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
      SGL_THROW(Status::kParseError, "{}: 'weight_map' is missing or not an object", ip);
    std::map<std::string, std::vector<std::string>> by_shard;  // shard -> tensor names it must hold
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      if (!it.value().is_string())
        SGL_THROW(Status::kParseError, "{}: weight_map entry '{}' is not a file name", ip, it.key());
      std::string shard = it.value().get<std::string>();
      check_shard_name(ip, shard);
      by_shard[shard].push_back(it.key());
    }
    if (by_shard.empty()) SGL_THROW(Status::kParseError, "{}: weight_map is empty", ip);
    for (const auto& [shard, names] : by_shard) {
      const fs::path sp = fs::path(dir) / shard;
      if (!fs::exists(sp, ec))
        SGL_THROW(Status::kNotFound, "{}: shard '{}' (holding '{}' and {} more) is missing", ip, shard, names.front(),
                  names.size() - 1);
      shards.push_back(SafetensorsFile::open(sp.string()));
      for (const std::string& n : names)
        if (!shards.back().find(n))
          SGL_THROW(Status::kParseError, "{}: weight_map puts '{}' in '{}', but that shard has no such tensor", ip, n,
                    shard);
    }
  } else if (fs::exists(single, ec)) {
    shards.push_back(SafetensorsFile::open(single.string()));
  } else {
    SGL_THROW(Status::kNotFound, "HF model directory '{}' has neither model.safetensors nor model.safetensors.index.json",
              dir);
  }
  return shards;
}

kernels::DType weight_dtype(const safetensors::TensorInfo& t, const std::string& file) {
  switch (t.dtype) {
    case safetensors::DType::kF32: return kernels::DType::F32;
    case safetensors::DType::kF16: return kernels::DType::F16;
    case safetensors::DType::kBF16: return kernels::DType::BF16;
    default:
      SGL_THROW(Status::kUnsupported, "'{}': tensor '{}' has unsupported dtype {} (F32, F16 and BF16 can be loaded)",
                file, t.name, safetensors::dtype_name(t.dtype));
  }
}

// Norm weights and biases are tiny and the forward pass wants them in F32 (as GGUF stores them).
std::vector<uint8_t> to_f32_bytes(const safetensors::TensorInfo& t) {
  const int64_t n = t.n_elements();
  std::vector<uint8_t> out(static_cast<size_t>(n) * 4);
  float* dst = reinterpret_cast<float*>(out.data());
  for (int64_t i = 0; i < n; ++i) {
    if (t.dtype == safetensors::DType::kF32) {
      std::memcpy(&dst[i], t.data + i * 4, 4);
    } else {
      uint16_t h;
      std::memcpy(&h, t.data + i * 2, 2);
      dst[i] = t.dtype == safetensors::DType::kF16 ? kernels::f16_to_f32(h) : kernels::bf16_to_f32(h);
    }
  }
  return out;
}

// Layer index of a "blk.N." name, or -1.
long layer_of(const std::string& gguf) {
  if (gguf.rfind("blk.", 0) != 0) return -1;
  return std::strtol(gguf.c_str() + 4, nullptr, 10);
}

}  // namespace

std::shared_ptr<TensorStore> tensors_from_hf_dir(const std::string& dir, const ModelConfig& config) {
  auto store = std::make_shared<TensorStore>();
  std::vector<SafetensorsFile> shards = open_shards(dir);
  for (const SafetensorsFile& shard : shards) {
    for (const safetensors::TensorInfo& t : shard.tensors()) {
      std::optional<std::string> name = hf::gguf_name(t.name);
      if (!name) {
        SGL_LOG_DEBUG("'{}': ignoring tensor '{}' (not used by the {} forward pass)", shard.path(), t.name, config.arch);
        continue;
      }
      if (*name == "output.weight" && config.tied_embeddings) continue;  // tied: the embedding is the output
      long layer = layer_of(*name);
      if (layer >= config.n_layer)
        SGL_THROW(Status::kParseError, "'{}': tensor '{}' is for layer {} but the config has {} layers", shard.path(),
                  t.name, layer, config.n_layer);
      kernels::DType dt = weight_dtype(t, shard.path());
      if (t.shape.empty() || t.shape.size() > 2)
        SGL_THROW(Status::kParseError, "'{}': tensor '{}' has {} dimensions (1 or 2 expected)", shard.path(), t.name,
                  t.shape.size());
      TensorRef ref;
      ref.name = *name;
      ref.dims.assign(t.shape.rbegin(), t.shape.rend());  // [out, in] row-major == GGUF {in, out}
      if (t.shape.size() == 1) {
        ref.dtype = kernels::DType::F32;
        std::vector<uint8_t> bytes = to_f32_bytes(t);
        ref.nbytes = bytes.size();
        ref.data = store->own(std::move(bytes));
      } else {
        ref.dtype = dt;
        ref.nbytes = t.nbytes();
        // safetensors only promises byte alignment; kernels read whole elements, so a tensor at
        // an odd offset is copied into aligned storage (the Python writer never produces one).
        if (reinterpret_cast<uintptr_t>(t.data) % safetensors::dtype_size(t.dtype) != 0)
          ref.data = store->own(std::vector<uint8_t>(t.data, t.data + t.nbytes()));
        else
          ref.data = t.data;
      }
      store->add(std::move(ref));
    }
    if (shard.mapping()) store->keep_alive(shard.mapping());
  }
  if (config.rope_scaling.type == RopeScalingType::kLlama3) {
    // GGUF carries llama3 scaling as this tensor; provide the same so both sources look alike.
    std::vector<float> f = llama3_rope_factors(config);
    std::vector<uint8_t> bytes(f.size() * 4);
    std::memcpy(bytes.data(), f.data(), bytes.size());
    TensorRef ref{"rope_freqs.weight", kernels::DType::F32, {static_cast<int64_t>(f.size())}, nullptr, bytes.size()};
    ref.data = store->own(std::move(bytes));
    store->add(std::move(ref));
  }
  check_tensors(*store, config, dir);
  return store;
}

}  // namespace sgl
