// The cpu backend's routed-expert FFN: the batch's tokens are grouped by expert and each chosen
// expert runs once over its tokens through the backend's own (quantized, packed) matmul, so a
// step reads each chosen expert's weights once and never reads an expert no token chose.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/backend.hpp"

namespace sgl::kernels::cpu {

class MoeRunner {
 public:
  // Uses be.matmul / be.swiglu, which spread each expert's rows over the backend's threads.
  void run(Backend& be, const float* x, int64_t n, const int32_t* ids, const float* weights, int k,
           const MoeExperts& experts, float* out);

 private:
  std::vector<int32_t> count_, start_, token_;  // tokens bucketed by expert
  std::vector<float> weight_, xs_, gate_, up_, down_;
};

}  // namespace sgl::kernels::cpu
