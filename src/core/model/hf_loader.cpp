// Tensors of a Hugging Face model directory: model.safetensors, or the shards listed by
// model.safetensors.index.json, memory-mapped and renamed to GGUF names. HF Linear weights are
// [out, in] row-major, which is exactly GGUF dims {in, out}, so matrices are served from the
// mapping without copying. AWQ / GPTQ layers (qweight, qzeros, scales, g_idx; detected from
// config.json's quantization_config) are repacked into Q4_1 at load (hf_quant.hpp).
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "core/model/hf_json.hpp"
#include "core/model/hf_names.hpp"
#include "core/model/hf_quant.hpp"
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

// "<module>.qweight" / ".qzeros" / ".scales" / ".g_idx": records `t` as that part of the
// module's quantized Linear and returns the entry; null for any other name.
hf::QuantTensors* quant_part(const safetensors::TensorInfo& t, std::map<std::string, hf::QuantTensors>& modules,
                             std::string* module) {
  using Field = const safetensors::TensorInfo* hf::QuantTensors::*;
  static const std::pair<std::string_view, Field> kParts[] = {{".qweight", &hf::QuantTensors::qweight},
                                                              {".qzeros", &hf::QuantTensors::qzeros},
                                                              {".scales", &hf::QuantTensors::scales},
                                                              {".g_idx", &hf::QuantTensors::g_idx}};
  for (const auto& [suffix, field] : kParts) {
    if (t.name.size() > suffix.size() && t.name.ends_with(suffix)) {
      *module = t.name.substr(0, t.name.size() - suffix.size());
      hf::QuantTensors& q = modules[*module];
      q.*field = &t;
      return &q;
    }
  }
  return nullptr;
}

// Layer index of a "blk.N." name, or -1.
long layer_of(const std::string& gguf) {
  if (gguf.rfind("blk.", 0) != 0) return -1;
  return std::strtol(gguf.c_str() + 4, nullptr, 10);
}

}  // namespace

std::shared_ptr<TensorStore> tensors_from_hf_dir(const std::string& dir, const ModelConfig& config) {
  auto store = std::make_shared<TensorStore>();
  const std::string config_path = (fs::path(dir) / "config.json").string();
  const hf::QuantConfig quant = hf::read_quant_config(hf::read_json_file(config_path), config_path);
  std::vector<SafetensorsFile> shards = open_shards(dir);
  std::map<std::string, hf::QuantTensors> quantized;  // module prefix -> its packed tensors
  std::map<std::string, std::string> quantized_file;  // module prefix -> shard holding its qweight
  for (const SafetensorsFile& shard : shards) {
    for (const safetensors::TensorInfo& t : shard.tensors()) {
      std::string module;
      if (const hf::QuantTensors* q = quant_part(t, quantized, &module)) {
        if (quant.method == hf::QuantMethod::kNone)
          SGL_THROW(Status::kParseError,
                    "'{}': tensor '{}' is part of a quantized layer, but {} has no quantization_config", shard.path(),
                    t.name, config_path);
        if (q->qweight == &t) quantized_file[module] = shard.path();
        else quantized_file.emplace(module, shard.path());
        continue;
      }
      std::optional<std::string> name = hf::gguf_name(t.name);
      if (!name) {
        SGL_LOG_DEBUG("'{}': ignoring tensor '{}' (not used by the {} forward pass)", shard.path(), t.name, config.arch);
        continue;
      }
      if (*name == "output.weight" && config.tied_embeddings) continue;  // tied: the embedding is the output
      long layer = layer_of(*name);
      if (layer >= config.n_layer && config.arch == "deepseek2") {
        // DeepSeek-V3's multi-token-prediction layer sits past num_hidden_layers; decoding skips it.
        SGL_LOG_DEBUG("'{}': skipping MTP tensor '{}'", shard.path(), t.name);
        continue;
      }
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
  for (const auto& [module, parts] : quantized) {
    std::optional<std::string> name = hf::gguf_name(module + ".weight");
    if (!name) {
      SGL_LOG_DEBUG("'{}': ignoring quantized layer '{}' (not used by the {} forward pass)", dir, module, config.arch);
      continue;
    }
    if (*name == "output.weight" && config.tied_embeddings) continue;
    if (layer_of(*name) >= config.n_layer && config.arch == "deepseek2") continue;  // MTP layer
    if (layer_of(*name) >= config.n_layer)
      SGL_THROW(Status::kParseError, "'{}': quantized layer '{}' is for layer {} but the config has {} layers", dir,
                module, layer_of(*name), config.n_layer);
    hf::RepackedWeight w = hf::repack_quantized_linear(quant, parts, module, quantized_file[module]);
    TensorRef ref{*name, w.dtype, w.dims, nullptr, w.bytes.size()};
    ref.data = store->own(std::move(w.bytes));
    store->add(std::move(ref));
  }
  if (quant.method != hf::QuantMethod::kNone)
    SGL_LOG_INFO("'{}': {} 4-bit checkpoint (group size {}): {} layers repacked at load", dir,
                 hf::quant_method_name(quant.method), quant.group_size, quantized.size());
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
