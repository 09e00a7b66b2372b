// The tensors a ModelConfig implies, in GGUF naming and dims (dims[0] innermost): used to check a
// loaded model (HF or GGUF) and by the synthetic model writer to know what to generate.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/model/model_config.hpp"
#include "core/model/tensor_store.hpp"

namespace sgl {

struct TensorSpec {
  std::string name;
  std::vector<int64_t> dims;
  bool is_matrix = false;  // a 2-D weight (may be quantized); otherwise a norm/bias/factor vector kept in F32
};

// Every tensor the forward pass reads, for this config. Optional tensors (rope_freqs.weight for
// llama3 scaling) are listed only when the config asks for them.
std::vector<TensorSpec> expected_tensors(const ModelConfig& c);

// Throws sgl::Error(kNotFound) naming the first missing tensor, or kParseError naming a tensor
// whose dims differ from the config. `source` (a path) goes into the message.
void check_tensors(const TensorStore& store, const ModelConfig& c, const std::string& source);

}  // namespace sgl
