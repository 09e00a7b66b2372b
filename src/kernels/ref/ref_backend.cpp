// The `ref` backend: naive, obviously correct kernels with double accumulation. Tests check the
// optimized backends against it; it is never picked by default.
#include <cmath>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/support/check.hpp"
#include "kernels/backend.hpp"
#include "kernels/half.hpp"
#include "kernels/quant.hpp"

namespace sgl::kernels {
namespace {

float load_kv(const KvLayer& kv, const void* base, int64_t idx) {
  switch (kv.dtype) {
    case DType::F32: return static_cast<const float*>(base)[idx];
    case DType::F16: return f16_to_f32(static_cast<const uint16_t*>(base)[idx]);
    case DType::BF16: return bf16_to_f32(static_cast<const uint16_t*>(base)[idx]);
    case DType::Q8_0: {  // rows are whole blocks (head_dim % 32 == 0), so element idx is in block idx / 32
      const BlockQ8_0& b = static_cast<const BlockQ8_0*>(base)[idx / kQK8_0];
      return f16_to_f32(b.d) * b.qs[idx % kQK8_0];
    }
    default: SGL_THROW(Status::kUnsupported, "KV dtype {} is not supported", dtype_name(kv.dtype));
  }
}

void store_kv(const KvLayer& kv, void* base, int64_t idx, float x) {
  switch (kv.dtype) {
    case DType::F32: static_cast<float*>(base)[idx] = x; return;
    case DType::F16: static_cast<uint16_t*>(base)[idx] = f32_to_f16(x); return;
    case DType::BF16: static_cast<uint16_t*>(base)[idx] = f32_to_bf16(x); return;
    default: SGL_THROW(Status::kUnsupported, "KV dtype {} is not supported", dtype_name(kv.dtype));
  }
}

class RefBackend final : public Backend {
 public:
  std::string_view name() const override { return "ref"; }
  std::string describe() const override { return "ref (scalar, double accumulation, 1 thread)"; }
  int threads() const override { return 1; }

  void* alloc(size_t bytes) override {
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p && bytes) SGL_THROW(Status::kOutOfMemory, "ref backend: cannot allocate {} bytes", bytes);
    return p;
  }
  void free(void* p) override { std::free(p); }
  void copy_to_device(void* dst, const void* src, size_t n) override { std::memcpy(dst, src, n); }
  void copy_to_host(void* dst, const void* src, size_t n) override { std::memcpy(dst, src, n); }

  void matmul(const float* x, int64_t m, const WeightView& w, float* y) override {
    std::vector<float> row(static_cast<size_t>(w.cols));
    size_t rb = row_bytes(w.dtype, w.cols);
    for (int64_t r = 0; r < w.rows; ++r) {
      dequantize_row(w.dtype, static_cast<const uint8_t*>(w.data) + r * rb, row.data(), w.cols);
      for (int64_t t = 0; t < m; ++t) {
        double acc = 0;
        const float* xt = x + t * w.cols;
        for (int64_t c = 0; c < w.cols; ++c) acc += static_cast<double>(xt[c]) * row[c];
        y[t * w.rows + r] = static_cast<float>(acc);
      }
    }
  }

  void rms_norm(const float* x, const float* weight, float* y, int64_t rows, int64_t dim, float eps) override {
    for (int64_t r = 0; r < rows; ++r) {
      double ss = 0;
      for (int64_t i = 0; i < dim; ++i) ss += static_cast<double>(x[r * dim + i]) * x[r * dim + i];
      double scale = 1.0 / std::sqrt(ss / static_cast<double>(dim) + eps);
      for (int64_t i = 0; i < dim; ++i) y[r * dim + i] = static_cast<float>(x[r * dim + i] * scale * weight[i]);
    }
  }

  void rope(float* x, int64_t n_tokens, int n_heads, const int32_t* positions, const RopeParams& p) override {
    int half = p.n_rot / 2;
    for (int64_t t = 0; t < n_tokens; ++t) {
      for (int h = 0; h < n_heads; ++h) {
        float* v = x + (t * n_heads + h) * p.head_dim;
        for (int i = 0; i < half; ++i) {
          double freq = std::pow(static_cast<double>(p.theta), -2.0 * i / p.n_rot);
          double angle = positions[t] * freq * p.freq_scale;
          if (p.freq_factors) angle /= p.freq_factors[i];
          double c = std::cos(angle) * p.mscale, s = std::sin(angle) * p.mscale;
          int i0 = p.style == RopeStyle::kNorm ? 2 * i : i;
          int i1 = p.style == RopeStyle::kNorm ? 2 * i + 1 : i + half;
          double a = v[i0], b = v[i1];
          v[i0] = static_cast<float>(a * c - b * s);
          v[i1] = static_cast<float>(a * s + b * c);
        }
      }
    }
  }

  void swiglu(const float* gate, const float* up, float* out, int64_t n) override {
    for (int64_t i = 0; i < n; ++i) {
      double g = gate[i];
      out[i] = static_cast<float>(g / (1.0 + std::exp(-g)) * up[i]);
    }
  }

  void add(float* y, const float* x, int64_t n) override {
    for (int64_t i = 0; i < n; ++i) y[i] += x[i];
  }

  void add_bias(float* y, const float* bias, int64_t rows, int64_t dim) override {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < dim; ++i) y[r * dim + i] += bias[i];
  }

  void embedding(const WeightView& table, const int32_t* ids, int64_t n, float* out) override {
    size_t rb = row_bytes(table.dtype, table.cols);
    for (int64_t i = 0; i < n; ++i) {
      SGL_CHECK(ids[i] >= 0 && ids[i] < table.rows, "token id {} outside the embedding table of {} rows", ids[i],
                table.rows);
      dequantize_row(table.dtype, static_cast<const uint8_t*>(table.data) + ids[i] * rb, out + i * table.cols,
                     table.cols);
    }
  }

  // Routing in double, by full sort: an independent spelling of backend.hpp's MoeRouting rules.
  void moe_route(const float* logits, int64_t n, const MoeRouting& r, int32_t* ids, float* weights) override {
    const int E = r.n_expert, K = r.n_used;
    for (int64_t t = 0; t < n; ++t) {
      std::vector<double> probs(E), sel(E);
      double mx = -INFINITY, sum = 0;
      for (int e = 0; e < E; ++e) mx = std::max(mx, static_cast<double>(logits[t * E + e]));
      for (int e = 0; e < E; ++e) {
        const double l = logits[t * E + e];
        probs[e] = r.gating == MoeGating::kSoftmax ? std::exp(l - mx) : 1.0 / (1.0 + std::exp(-l));
        sum += probs[e];
      }
      for (int e = 0; e < E; ++e) {
        if (r.gating == MoeGating::kSoftmax) probs[e] /= sum;
        sel[e] = probs[e] + (r.bias ? r.bias[e] : 0.0);
      }
      if (r.n_group > 1) {
        const int per = E / r.n_group;
        std::vector<std::pair<double, int>> groups;
        for (int g = 0; g < r.n_group; ++g) {
          std::vector<double> v(sel.begin() + g * per, sel.begin() + (g + 1) * per);
          std::sort(v.rbegin(), v.rend());
          groups.push_back({v[0] + v[1], g});
        }
        std::stable_sort(groups.begin(), groups.end(), [](auto& a, auto& b) { return a.first > b.first; });
        for (int i = r.n_group_used; i < r.n_group; ++i)
          for (int e = 0; e < per; ++e) sel[groups[i].second * per + e] = -INFINITY;
      }
      std::vector<int> order(E);
      for (int e = 0; e < E; ++e) order[e] = e;
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return sel[a] > sel[b]; });
      double wsum = 0;
      for (int j = 0; j < K; ++j) wsum += probs[order[j]];
      wsum = std::max(wsum, 6.103515625e-5);
      for (int j = 0; j < K; ++j) {
        double w = probs[order[j]];
        if (r.norm) w /= wsum;
        if (r.scale != 0.0f && r.scale != 1.0f) w *= r.scale;
        ids[t * K + j] = order[j];
        weights[t * K + j] = static_cast<float>(w);
      }
    }
  }

  // Token by token, expert by expert: no grouping, so the cpu backend's bucketing is checked.
  void moe_ffn(const float* x, int64_t n, const int32_t* ids, const float* weights, int k, const MoeExperts& ex,
               float* out) override {
    const int64_t dim = ex.gate[0].cols, ff = ex.gate[0].rows;
    std::vector<float> g(ff), u(ff), d(dim);
    for (int64_t t = 0; t < n; ++t) {
      std::vector<double> acc(dim, 0.0);
      for (int j = 0; j < k; ++j) {
        const int32_t e = ids[t * k + j];
        SGL_CHECK(e >= 0 && e < static_cast<int32_t>(ex.gate.size()), "MoE: expert id {} out of range", e);
        matmul(x + t * dim, 1, ex.gate[e], g.data());
        matmul(x + t * dim, 1, ex.up[e], u.data());
        swiglu(g.data(), u.data(), g.data(), ff);
        matmul(g.data(), 1, ex.down[e], d.data());
        for (int64_t c = 0; c < dim; ++c) acc[c] += static_cast<double>(weights[t * k + j]) * d[c];
      }
      for (int64_t c = 0; c < dim; ++c) out[t * dim + c] = static_cast<float>(acc[c]);
    }
  }

  void scale_rows_sigmoid(float* y, const float* g, int64_t rows, int64_t dim) override {
    for (int64_t r = 0; r < rows; ++r) {
      const double s = 1.0 / (1.0 + std::exp(-static_cast<double>(g[r])));
      for (int64_t i = 0; i < dim; ++i) y[r * dim + i] = static_cast<float>(y[r * dim + i] * s);
    }
  }

  void kv_store(const KvLayer& kv, const float* k, const float* v, const int32_t* slots, int64_t n_tokens) override {
    int64_t w = static_cast<int64_t>(kv.n_kv_heads) * kv.head_dim;
    for (int64_t t = 0; t < n_tokens; ++t) {
      SGL_CHECK(slots[t] >= 0 && slots[t] < kv.n_slots, "KV slot {} out of range", slots[t]);
      if (kv.dtype == DType::Q8_0) {  // a block's scale depends on all its elements
        const size_t rb = row_bytes(DType::Q8_0, w);
        quantize_row(DType::Q8_0, k + t * w, static_cast<uint8_t*>(kv.k) + slots[t] * rb, w);
        quantize_row(DType::Q8_0, v + t * w, static_cast<uint8_t*>(kv.v) + slots[t] * rb, w);
        continue;
      }
      for (int64_t i = 0; i < w; ++i) {
        store_kv(kv, kv.k, slots[t] * w + i, k[t * w + i]);
        store_kv(kv, kv.v, slots[t] * w + i, v[t * w + i]);
      }
    }
  }

  void attention(const float* q, const KvLayer& kv, std::span<const AttnSeq> seqs, int n_heads, float scale,
                 float* out) override {
    const int hd = kv.head_dim;
    const int group = n_heads / kv.n_kv_heads;
    const int64_t kvw = static_cast<int64_t>(kv.n_kv_heads) * hd;
    std::vector<double> scores;
    for (const AttnSeq& s : seqs) {
      for (int i = 0; i < s.q_len; ++i) {
        int64_t row = s.q_start + i;
        int n_visible = s.kv_len - s.q_len + i + 1;
        for (int h = 0; h < n_heads; ++h) {
          const float* qh = q + row * n_heads * hd + h * hd;
          int kvh = h / group;
          scores.assign(n_visible, 0.0);
          double mx = -INFINITY;
          for (int p = 0; p < n_visible; ++p) {
            int64_t slot = static_cast<int64_t>(s.pages[p / kv.page_size]) * kv.page_size + p % kv.page_size;
            double acc = 0;
            for (int d = 0; d < hd; ++d) acc += static_cast<double>(qh[d]) * load_kv(kv, kv.k, slot * kvw + kvh * hd + d);
            scores[p] = acc * scale;
            mx = std::max(mx, scores[p]);
          }
          double sum = 0;
          for (int p = 0; p < n_visible; ++p) sum += scores[p] = std::exp(scores[p] - mx);
          float* oh = out + row * n_heads * hd + h * hd;
          for (int d = 0; d < hd; ++d) {
            double acc = 0;
            for (int p = 0; p < n_visible; ++p) {
              int64_t slot = static_cast<int64_t>(s.pages[p / kv.page_size]) * kv.page_size + p % kv.page_size;
              acc += scores[p] * load_kv(kv, kv.v, slot * kvw + kvh * hd + d);
            }
            oh[d] = static_cast<float>(acc / sum);
          }
        }
      }
    }
  }
};

}  // namespace

std::unique_ptr<Backend> create_ref_backend(const BackendOptions&) { return std::make_unique<RefBackend>(); }

}  // namespace sgl::kernels
