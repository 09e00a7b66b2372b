#include "kernels/cpu/moe_cpu.hpp"

#include <algorithm>
#include <cstring>

#include "core/support/check.hpp"

namespace sgl::kernels::cpu {

void MoeRunner::run(Backend& be, const float* x, int64_t n, const int32_t* ids, const float* weights, int k,
                    const MoeExperts& ex, float* out) {
  const int64_t n_exp = static_cast<int64_t>(ex.gate.size());
  SGL_CHECK(n_exp > 0 && ex.up.size() == ex.gate.size() && ex.down.size() == ex.gate.size(), "MoE: ragged experts");
  const int64_t dim = ex.gate[0].cols, ff = ex.gate[0].rows;
  std::fill(out, out + n * dim, 0.0f);
  // Counting sort of the (token, slot) pairs by expert.
  count_.assign(n_exp, 0);
  for (int64_t i = 0; i < n * k; ++i) {
    SGL_CHECK(ids[i] >= 0 && ids[i] < n_exp, "MoE: expert id {} outside 0..{}", ids[i], n_exp - 1);
    ++count_[ids[i]];
  }
  start_.assign(n_exp + 1, 0);
  for (int64_t e = 0; e < n_exp; ++e) start_[e + 1] = start_[e] + count_[e];
  token_.resize(n * k);
  weight_.resize(n * k);
  std::vector<int32_t>& fill = count_;
  std::fill(fill.begin(), fill.end(), 0);
  for (int64_t t = 0; t < n; ++t)
    for (int j = 0; j < k; ++j) {
      const int32_t e = ids[t * k + j];
      const int32_t at = start_[e] + fill[e]++;
      token_[at] = static_cast<int32_t>(t);
      weight_[at] = weights[t * k + j];
    }
  for (int64_t e = 0; e < n_exp; ++e) {
    const int64_t m = start_[e + 1] - start_[e];
    if (m == 0) continue;
    const int32_t* tok = token_.data() + start_[e];
    xs_.resize(m * dim);
    for (int64_t i = 0; i < m; ++i) std::memcpy(&xs_[i * dim], x + tok[i] * dim, dim * sizeof(float));
    gate_.resize(m * ff);
    up_.resize(m * ff);
    down_.resize(m * dim);
    be.matmul(xs_.data(), m, ex.gate[e], gate_.data());
    be.matmul(xs_.data(), m, ex.up[e], up_.data());
    be.swiglu(gate_.data(), up_.data(), gate_.data(), m * ff);
    be.matmul(gate_.data(), m, ex.down[e], down_.data());
    const float* w = weight_.data() + start_[e];
    for (int64_t i = 0; i < m; ++i) {
      float* o = out + tok[i] * dim;
      const float* d = &down_[i * dim];
      for (int64_t c = 0; c < dim; ++c) o[c] += w[i] * d[c];
    }
  }
}

}  // namespace sgl::kernels::cpu
