// AWQ and GPTQ checkpoints in Hugging Face directories: the quantization_config of config.json,
// and the load-time repacking of one quantized Linear (qweight / qzeros / scales [/ g_idx]) into
// GGML Q4_1 rows, which the integer kernels run.
//
// Layouts (out = output features, in = input features, G = number of groups):
//  AWQ  (AutoAWQ WQLinear_GEMM, version "gemm"): qweight int32 [in, out/8], qzeros int32
//       [G, out/8], both packing 8 output columns per int32 in the order map [0,2,4,6,1,3,5,7]
//       (nibble i holds column 8c + map[i]); scales f16 [G, out]; w = s·(q - z).
//  GPTQ (AutoGPTQ / GPTQModel, exllama layout): qweight int32 [in/8, out], 8 consecutive input
//       rows per int32 (nibble j = row 8r + j); qzeros int32 [G, out/8], nibble j = column
//       8c + j; scales f16 [G, out]; g_idx int32 [in] = group of each input row. Checkpoint
//       format "gptq" (v1, the default) stores z - 1 (mod 16), "gptq_v2" stores z.
// Internal header (nlohmann types).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/model/safetensors.hpp"
#include "kernels/dtype.hpp"

namespace sgl::hf {

enum class QuantMethod { kNone, kAwq, kGptq };

struct QuantConfig {
  QuantMethod method = QuantMethod::kNone;
  int bits = 0;
  int64_t group_size = 0;  // -1: one group spanning the whole input dimension
  bool sym = false;        // GPTQ: informational, the zeros are read from qzeros either way
  bool desc_act = false;   // GPTQ act-order: g_idx is not k / group_size
  bool zero_minus_one = false;  // GPTQ v1: stored zero = z - 1 (mod 16)
};

const char* quant_method_name(QuantMethod m);

// Reads and validates config["quantization_config"] (absent or null: kNone). Throws
// sgl::Error: kUnsupported for a method, bit width, AWQ version or GPTQ format that cannot be
// loaded (naming it), kParseError for malformed fields. `src` names the file in messages.
QuantConfig read_quant_config(const nlohmann::json& config, const std::string& src);

// The tensors of one quantized Linear, found by name prefix; g_idx may be null (GPTQ only).
struct QuantTensors {
  const safetensors::TensorInfo* qweight = nullptr;
  const safetensors::TensorInfo* qzeros = nullptr;
  const safetensors::TensorInfo* scales = nullptr;
  const safetensors::TensorInfo* g_idx = nullptr;
};

// A weight matrix in GGUF layout: dims {in, out}, rows of `in` values.
struct RepackedWeight {
  kernels::DType dtype = kernels::DType::Q4_1;
  std::vector<int64_t> dims;
  std::vector<uint8_t> bytes;
};

// Validates every shape and dtype against `q` and repacks into Q4_1 (d = s, m = -s·z, blocks
// of 32 along the input). When a 32-block would span two groups (GPTQ act-order g_idx, or a
// group size that is not a multiple of 32) the matrix is dequantized to F16 instead, with an
// info log line. `module` (e.g. model.layers.0.mlp.up_proj) and `file` go into messages.
// Throws sgl::Error(kParseError / kUnsupported).
RepackedWeight repack_quantized_linear(const QuantConfig& q, const QuantTensors& t, const std::string& module,
                                       const std::string& file);

}  // namespace sgl::hf
