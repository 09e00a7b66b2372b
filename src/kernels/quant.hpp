// Scalar reference (de)quantization of whole rows, per dtype. The definitions of the block
// formats live here; SIMD kernels must agree with them.
#pragma once

#include <cstdint>

#include "kernels/dtype.hpp"

namespace sgl::kernels {

// dst[0..n) = row of n elements in `t` (n a multiple of the block size). Supported: all types
// with dtype_info(t).supported.
void dequantize_row(DType t, const void* src, float* dst, int64_t n);

// Writes row_bytes(t, n) bytes. Uses GGML's reference rounding so files interoperate.
void quantize_row(DType t, const float* src, void* dst, int64_t n);

}  // namespace sgl::kernels
