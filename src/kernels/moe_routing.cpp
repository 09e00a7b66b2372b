#include "kernels/moe_routing.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/support/check.hpp"

namespace sgl::kernels {

void check_moe_routing(const MoeRouting& r) {
  if (r.n_expert <= 0 || r.n_used <= 0 || r.n_used > r.n_expert)
    SGL_THROW(Status::kInvalidArgument, "MoE routing: {} experts used of {} (need 0 < used <= experts)", r.n_used,
              r.n_expert);
  if (r.n_group > 1) {
    if (r.n_expert % r.n_group != 0 || r.n_expert / r.n_group < 2)
      SGL_THROW(Status::kInvalidArgument, "MoE routing: {} expert groups must divide {} experts, >= 2 per group",
                r.n_group, r.n_expert);
    if (r.n_group_used <= 0 || r.n_group_used > r.n_group ||
        r.n_used > r.n_group_used * (r.n_expert / r.n_group))
      SGL_THROW(Status::kInvalidArgument, "MoE routing: {} used groups of {} cannot hold {} experts", r.n_group_used,
                r.n_group, r.n_used);
  }
}

void moe_route_scalar(const float* logits, int64_t n, const MoeRouting& r, int32_t* ids, float* weights) {
  const int E = r.n_expert, K = r.n_used;
  std::vector<float> probs(E), sel(E), gscore;
  std::vector<int> order(E), gorder;
  for (int64_t t = 0; t < n; ++t) {
    const float* l = logits + t * E;
    if (r.gating == MoeGating::kSoftmax) {
      float mx = *std::max_element(l, l + E);
      float sum = 0;
      for (int e = 0; e < E; ++e) sum += probs[e] = std::exp(l[e] - mx);
      for (int e = 0; e < E; ++e) probs[e] /= sum;
    } else {
      for (int e = 0; e < E; ++e) probs[e] = 1.0f / (1.0f + std::exp(-l[e]));
    }
    for (int e = 0; e < E; ++e) sel[e] = probs[e] + (r.bias ? r.bias[e] : 0.0f);
    if (r.n_group > 1) {
      // Group score = sum of the group's two best selection scores; drop all but the best groups.
      const int per = E / r.n_group;
      gscore.assign(r.n_group, 0.0f);
      for (int g = 0; g < r.n_group; ++g) {
        float a = -INFINITY, b = -INFINITY;
        for (int e = g * per; e < (g + 1) * per; ++e) {
          if (sel[e] > a) b = a, a = sel[e];
          else if (sel[e] > b) b = sel[e];
        }
        gscore[g] = a + b;
      }
      gorder.resize(r.n_group);
      std::iota(gorder.begin(), gorder.end(), 0);
      std::stable_sort(gorder.begin(), gorder.end(), [&](int a, int b) { return gscore[a] > gscore[b]; });
      for (int i = r.n_group_used; i < r.n_group; ++i)
        std::fill(sel.begin() + gorder[i] * per, sel.begin() + (gorder[i] + 1) * per, -INFINITY);
    }
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + K, order.end(), [&](int a, int b) {
      return sel[a] > sel[b] || (sel[a] == sel[b] && a < b);
    });
    float sum = 0;
    for (int j = 0; j < K; ++j) {
      ids[t * K + j] = order[j];
      sum += weights[t * K + j] = probs[order[j]];
    }
    if (r.norm) {
      sum = std::max(sum, 6.103515625e-5f);
      for (int j = 0; j < K; ++j) weights[t * K + j] /= sum;
    }
    if (r.scale != 0.0f && r.scale != 1.0f)
      for (int j = 0; j < K; ++j) weights[t * K + j] *= r.scale;
  }
}

}  // namespace sgl::kernels
