// Offline quantization of a whole model into a GGUF file (tools/sgl-quantize): the weight
// matrices are converted by weight_quantizer.hpp's rules and everything else is carried over.
#pragma once

#include <string>

#include "core/model/weight_quantizer.hpp"

namespace sgl {

// Reads `in` (a .gguf file or a Hugging Face model directory) and writes `out` atomically as a
// GGUF v3 file whose matrices are in `type`.
//  - GGUF input: every metadata key is kept (tokenizer included) except general.file_type, set
//    to gguf_file_type(type), and general.quantization_version (2 for block types); tensor
//    order and alignment are kept.
//  - HF input: the llama.cpp metadata of the ModelConfig (architecture, sizes, rope), llama
//    q/k rows permuted to llama.cpp's pairwise rope layout (as its converter does), and the
//    tokenizer as `tokenizer.huggingface.json` (+ tokenizer.chat_template), which sgl reads back;
//    llama.cpp needs tokenizer.ggml.* keys, which this does not synthesize.
// Throws sgl::Error: kInvalidArgument (out == in), kNotFound, kParseError, kIoError.
QuantizeReport quantize_model_file(const std::string& in, const std::string& out, kernels::DType type, int threads);

}  // namespace sgl
