// Loading a model from a GGUF file or a Hugging Face directory into one ModelConfig plus a
// TensorStore in GGUF naming.
#pragma once

#include <memory>
#include <string>

#include "core/model/gguf_reader.hpp"
#include "core/model/model_config.hpp"
#include "core/model/tensor_store.hpp"

namespace sgl {

struct LoadedModel {
  ModelConfig config;
  std::shared_ptr<TensorStore> tensors;
  // Exactly one of these is set: the GGUF file (its metadata carries the tokenizer), or the
  // HF directory (tokenizer.json / tokenizer_config.json live there).
  std::shared_ptr<const gguf::GgufFile> gguf;
  std::string hf_dir;
};

struct LoadOptions {
  // Online quantization of the 2-D weight matrices (weight_quantizer.hpp): "none" or a type
  // name such as "q8_0", "q4_0", "q4_k". The converted copies are owned by the TensorStore.
  std::string quantization = "none";
  int threads = 0;  // for the conversion; 0 = hardware threads
};

// `path` is a .gguf file or an HF model directory. Throws sgl::Error with a clear message.
LoadedModel load_model(const std::string& path);
LoadedModel load_model(const std::string& path, const LoadOptions& opts);

// Pieces, exposed for tools and tests.
ModelConfig config_from_gguf(const gguf::GgufFile& f);
std::shared_ptr<TensorStore> tensors_from_gguf(std::shared_ptr<const gguf::GgufFile> f);
// HF: config.json (+ model.safetensors or model.safetensors.index.json shards).
ModelConfig config_from_hf_dir(const std::string& dir);
std::shared_ptr<TensorStore> tensors_from_hf_dir(const std::string& dir, const ModelConfig& config);

}  // namespace sgl
