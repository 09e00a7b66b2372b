// Scalar expert routing (the MoeRouting rules in backend.hpp), in float like llama.cpp. The cpu
// backend uses it directly: the work is n_tokens × n_expert values, small next to the experts.
#pragma once

#include <cstdint>

#include "kernels/backend.hpp"

namespace sgl::kernels {

// Throws sgl::Error(kInvalidArgument) when the routing parameters are inconsistent.
void check_moe_routing(const MoeRouting& r);

void moe_route_scalar(const float* logits, int64_t n, const MoeRouting& r, int32_t* ids, float* weights);

}  // namespace sgl::kernels
