// Synthetic AWQ / GPTQ checkpoints: an HF directory whose Linear layers are packed exactly as
// AutoAWQ (WQLinear_GEMM) or AutoGPTQ / GPTQModel write them, with quantization_config in
// config.json, plus its "twin": the same model with those layers dequantized (w = s·(q - z),
// exact in f32) as plain F32 safetensors. Loading both must give the same logits up to the
// loader's f16 rounding of the Q4_1 offset and the kernels' activation rounding.
//
// The packers here are written from the format definitions, independently of the loader's
// unpacking in hf_quant_repack.cpp, so a layout mistake cannot cancel out.
#pragma once

#include <cstdint>
#include <string>

#include "core/model/synthetic_model.hpp"

namespace sgl {

struct HfQuantSpec {
  std::string method = "awq";  // awq, gptq
  int64_t group_size = 128;    // -1: one group per output column
  bool sym = false;            // GPTQ only: symmetric (z = 8); AWQ is always asymmetric
  bool act_order = false;      // GPTQ only: desc_act, a permuted g_idx
  bool gptq_v2 = false;        // GPTQ only: checkpoint_format gptq_v2 (zeros stored without -1)
};

// Throws sgl::Error(kInvalidArgument) for a bad method / group size / option combination.
void validate_hf_quant_spec(const SyntheticSpec& s, const HfQuantSpec& q);

// Writes the quantized directory `dir` and the dequantized F32 twin `twin_dir` (both complete
// model directories with tokenizer files). Embedding, lm_head and norms stay unquantized, in
// F16 in `dir` and as those same F16 values in F32 in the twin. Throws sgl::Error.
void write_synthetic_hf_quant(const SyntheticSpec& s, const HfQuantSpec& q, const std::string& dir,
                              const std::string& twin_dir);

}  // namespace sgl
