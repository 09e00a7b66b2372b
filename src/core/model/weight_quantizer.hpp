// WeightQuantizer: converts the 2-D float weight matrices of a TensorStore to a quantized type,
// following llama.cpp's rules, for online quantization at load time (--quantization) and for
// tools/sgl-quantize. Norms, biases and other 1-D tensors stay as they are (F32); matrices that
// are already quantized are left alone; a matrix whose row length is not a multiple of the
// target's block falls back to a type that fits, or keeps its type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/model/tensor_store.hpp"
#include "kernels/dtype.hpp"

namespace sgl {

// "none" (or "") -> nullopt; otherwise a type name, case-insensitive ("q8_0", "Q4_K", "f16",
// "bf16", "f32"). Throws sgl::Error(kInvalidArgument) for an unknown name (listing the valid
// ones) and kUnsupported for a GGML type this build cannot compute with.
std::optional<kernels::DType> parse_quantization(std::string_view name);
// The names parse_quantization accepts in this build, comma-separated ("none, f32, f16, ...").
std::string supported_quantizations();

// The type tensor `t` gets when a model is quantized to `target`:
//  - 1-D tensors (norms, biases, rope factors) and non-float tensors: unchanged;
//  - token_embd.weight: Q8_0 when `target` is a block type (a lookup table also used as the
//    output matrix when tied, where 4-bit error would hurt most), else `target`;
//  - other 2-D F32/F16/BF16 matrices: `target`, or when their row length (dims[0]) is not a
//    multiple of its block: the first of a type-specific fallback (Q4_K -> Q5_0, Q5_K -> Q5_1,
//    Q6_K -> Q8_0, Q2_K/Q3_K -> Q4_0), Q8_0, that is supported and fits; else unchanged.
kernels::DType quantized_type(const TensorRef& t, kernels::DType target);

// The tensor's bytes converted to `to` row by row (dequantize -> quantize_row), on `threads`
// threads (0 = hardware threads). dims[0] must be a multiple of to's block size.
std::vector<uint8_t> convert_tensor(const TensorRef& t, kernels::DType to, int threads);

struct QuantizeReport {
  int quantized = 0;          // matrices converted to the target type
  int fallbacks = 0;          // matrices converted to another type because of their row length
  int kept = 0;               // float matrices no quantized type fits (left unchanged)
  int already_quantized = 0;  // matrices already in a quantized type (not re-quantized)
  std::vector<std::string> notes;  // one per fallback / kept / already-quantized tensor
  size_t bytes_before = 0, bytes_after = 0;  // all tensors
};

// A new store holding the converted matrices (owned by it) and every other tensor shared from
// `src` (kept alive by it). Logs a one-line summary and one line per fallback.
std::shared_ptr<TensorStore> quantize_store(std::shared_ptr<const TensorStore> src, kernels::DType target,
                                            int threads, QuantizeReport* report = nullptr);

// GGUF general.file_type (llama.cpp's LLAMA_FTYPE numbering) of a model mostly in `t`
// (Q4_K -> 14 "Q4_K_S", Q5_K -> 16 "Q5_K_S", Q3_K -> 11 "Q3_K_S"; uniform K files have no
// _M variant of their own).
uint32_t gguf_file_type(kernels::DType t);

}  // namespace sgl
