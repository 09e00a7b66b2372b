// The optimized cpu backend against the ref backend, for every ISA this machine can run (scalar,
// avx2, avx512 forced through BackendOptions::isa), across weight types and awkward shapes.
//
// Tolerances (per op, why):
//  - matmul F32/F16/BF16: both sides see bit-identical weights; cpu accumulates in f32 (ref in
//    double), so |err| <= 2e-5 · Σ|x||w| (f32 rounding over up to 4128 terms, random-walk).
//  - matmul Q8_0/Q4_0/Q4_1: cpu quantizes the activations to int8 blocks (d = amax/127). Compared with
//    ref run on those same rounded activations (computed here): |err| <= 2e-5 · Σ|x̂||w| plus one
//    rounding tie's worth (max d·|w|). Also checked against ref on the raw x with the rigorous
//    bound Σ_blocks (d_b/2)·Σ|w| of the activation rounding.
//  - rms_norm, swiglu, rope: |err| <= 1e-5·|ref| + 1e-6 (f32 vs double; vector exp ~2e-7).
//  - add, add_bias, embedding, kv_store: exact.
//  - attention: |err| <= 5e-5 · max|V| (convex combinations of V rows, f32 online softmax).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "kernels/backend.hpp"
#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/quant.hpp"
#include "sgl/error.hpp"

namespace sgl::kernels {
namespace {

std::vector<std::string> available_isas() {
  std::vector<std::string> out = {"scalar"};
  const cpu::Isa best = cpu::detect_isa();
  if (best >= cpu::Isa::kAvx2) out.push_back("avx2");
  if (best >= cpu::Isa::kAvx512) out.push_back("avx512");
  // Say what this machine could not check, so a pass on an AVX2-only host is not read as an
  // AVX-512 pass.
  static const bool said = [&] {
    std::string missing;
    for (const char* i : {"avx2", "avx512"})
      if (std::find(out.begin(), out.end(), i) == out.end()) missing += missing.empty() ? i : std::string(", ") + i;
    std::printf("ISAs checked: %zu of 3; not run on this CPU: %s\n", out.size(), missing.empty() ? "none" : missing.c_str());
    return true;
  }();
  (void)said;
  return out;
}

std::unique_ptr<Backend> make_cpu(const std::string& isa) {
  BackendOptions o;
  o.isa = isa;
  o.threads = 2;
  return create_backend("cpu", o);
}

std::vector<float> random_floats(std::mt19937& rng, size_t n, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// The activation rounding the quantized kernels apply (d = amax/127, q = round(x · (1/d))).
std::vector<float> q8_round(const std::vector<float>& x, std::vector<float>* scales) {
  std::vector<float> out(x.size());
  for (size_t b = 0; b < x.size() / 32; ++b) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * 32 + j]));
    const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
    for (int j = 0; j < 32; ++j) out[b * 32 + j] = std::nearbyint(x[b * 32 + j] * id) * d;
    scales->push_back(d);
  }
  return out;
}

struct Weights {
  std::vector<uint8_t> bytes;
  std::vector<float> deq;  // the exact values the kernels see
  WeightView view;
};

Weights make_weights(std::mt19937& rng, DType t, int64_t rows, int64_t cols) {
  Weights w;
  std::vector<float> f = random_floats(rng, rows * cols);
  const size_t rb = row_bytes(t, cols);
  w.bytes.resize(rb * rows);
  w.deq.resize(rows * cols);
  for (int64_t r = 0; r < rows; ++r) {
    quantize_row(t, f.data() + r * cols, w.bytes.data() + r * rb, cols);
    dequantize_row(t, w.bytes.data() + r * rb, w.deq.data() + r * cols, cols);
  }
  w.view = {w.bytes.data(), t, rows, cols};
  return w;
}

void check_matmul(Backend& ref, const std::vector<std::string>& isas, std::mt19937& rng, DType t, int64_t rows,
                  int64_t cols, int64_t m) {
  CAPTURE(dtype_name(t));
  CAPTURE(rows);
  CAPTURE(cols);
  CAPTURE(m);
  Weights w = make_weights(rng, t, rows, cols);
  std::vector<float> x = random_floats(rng, m * cols);
  const bool quant = t == DType::Q8_0 || t == DType::Q4_0 || t == DType::Q4_1;
  std::vector<float> scales;
  std::vector<float> xr = quant ? q8_round(x, &scales) : x;
  std::vector<float> want(m * rows), want_raw(m * rows);
  ref.matmul(xr.data(), m, w.view, want.data());
  if (quant) ref.matmul(x.data(), m, w.view, want_raw.data());
  // Per-output tolerances.
  std::vector<double> tol(m * rows), tol_raw(m * rows);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t r = 0; r < rows; ++r) {
      double sabs = 0, tie = 0, rounding = 0;
      for (int64_t c = 0; c < cols; ++c) {
        const double aw = std::fabs(w.deq[r * cols + c]);
        sabs += std::fabs(xr[i * cols + c]) * aw;
        if (quant) {
          const double d = scales[(i * cols + c) / 32];
          tie = std::max(tie, d * aw);
          rounding += d / 2 * aw;
        }
      }
      tol[i * rows + r] = 2e-5 * sabs + 1.01 * tie + 1e-6;
      tol_raw[i * rows + r] = 1.01 * rounding + 2e-5 * sabs + 1e-6;
    }
  }
  auto count_bad = [&](const std::vector<float>& got) {
    int bad = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      if (!(std::fabs(got[i] - want[i]) <= tol[i])) ++bad;
      if (quant && !(std::fabs(got[i] - want_raw[i]) <= tol_raw[i])) ++bad;
    }
    return bad;
  };
  for (const std::string& isa : isas) {
    CAPTURE(isa);
    auto cpu = make_cpu(isa);
    std::vector<float> got(m * rows, NAN);
    cpu->matmul(x.data(), m, w.view, got.data());
    CHECK(count_bad(got) == 0);
    // The same weights through prepare_weight (AVX-512 repacks Q4_0 and Q8_0 into 16-row groups,
    // AVX2 Q8_0 into 8-row groups).
    const WeightView pv = cpu->prepare_weight(w.view);
    CHECK(pv.data == w.view.data);
    const bool packs = (isa == "avx512" && (t == DType::Q4_0 || t == DType::Q8_0)) || (isa == "avx2" && t == DType::Q8_0);
    CHECK((pv.packed != nullptr) == packs);
    std::fill(got.begin(), got.end(), NAN);
    cpu->matmul(x.data(), m, pv, got.data());
    CHECK(count_bad(got) == 0);
    cpu->release_weight(pv);
  }
}

TEST_CASE("cpu matmul matches ref for every weight type, ISA and awkward shape") {
  auto ref = create_backend("ref");
  const auto isas = available_isas();
  std::mt19937 rng(1234);
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1}) {
    for (int64_t cols : {32, 96, 4128})
      for (int64_t rows : {1, 7, 33})
        for (int64_t m : {1, 3, 17, 64}) check_matmul(*ref, isas, rng, t, rows, cols, m);
    // Several token and row blocks, so the parallel tiling and its edges are exercised.
    check_matmul(*ref, isas, rng, t, 300, 64, 130);
  }
  // Row counts around the packed layouts' 8- and 16-row groups, every token-tile remainder, odd
  // block counts (a half-empty last pair) and K far from a multiple of 256.
  for (DType t : {DType::Q4_0, DType::Q8_0}) {
    for (int64_t rows : {7, 8, 9, 15, 16, 17, 47, 64})
      for (int64_t m : {1, 2, 4, 5, 7}) check_matmul(*ref, isas, rng, t, rows, 96, m);
    for (int64_t cols : {32, 64, 160, 2080}) check_matmul(*ref, isas, rng, t, 23, cols, 6);
    check_matmul(*ref, isas, rng, t, 1000, 160, 1);  // several groups per thread
  }
}

TEST_CASE("cpu packed weights: only the backend that packed them reads the copy") {
  auto ref = create_backend("ref");
  std::mt19937 rng(99);
  Weights w = make_weights(rng, DType::Q4_0, 40, 64);
  std::vector<float> x = random_floats(rng, 2 * 64), want(2 * 40), got(2 * 40);
  auto a = make_cpu(available_isas().back());
  auto b = make_cpu("scalar");
  const WeightView pv = a->prepare_weight(w.view);
  b->matmul(x.data(), 2, w.view, want.data());
  b->matmul(x.data(), 2, pv, got.data());  // b did not pack it: reads `data`
  CHECK(got == want);
  ref->matmul(x.data(), 2, pv, got.data());  // ref ignores `packed` too
  ref->matmul(x.data(), 2, w.view, want.data());
  CHECK(got == want);
  a->release_weight(pv);
  a->release_weight(pv);  // a second release (or one of a view never packed) is a no-op
  a->release_weight(w.view);
  a->matmul(x.data(), 2, pv, got.data());  // released: falls back to `data`
  b->matmul(x.data(), 2, w.view, want.data());
  for (size_t i = 0; i < got.size(); ++i) CHECK(std::fabs(got[i] - want[i]) <= 1e-3f * (1.0f + std::fabs(want[i])));
}

TEST_CASE("cpu matmul rejects unsupported weight types and bad shapes") {
  auto cpu = make_cpu("scalar");
  std::vector<uint8_t> buf(1024);
  std::vector<float> x(64), y(4);
  WeightView w{buf.data(), DType::IQ2_XXS, 1, 256};
  try {
    cpu->matmul(x.data(), 1, w, y.data());
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.code() == Status::kUnsupported);
    CHECK(std::string(e.what()).find("IQ2_XXS") != std::string::npos);
  }
  WeightView q{buf.data(), DType::Q8_0, 1, 48};
  try {
    cpu->matmul(x.data(), 1, q, y.data());
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.code() == Status::kInvalidArgument);
    CHECK(std::string(e.what()).find("multiple") != std::string::npos);
  }
}

TEST_CASE("cpu backend ISA selection") {
  auto best = create_backend("cpu");
  CHECK(best->describe().find(cpu::isa_name(cpu::detect_isa())) != std::string::npos);
  CHECK(make_cpu("scalar")->describe().find("scalar") != std::string::npos);
  CHECK(make_cpu("scalar")->threads() == 2);
  BackendOptions o;
  o.isa = "sse9";
  try {
    create_backend("cpu", o);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.code() == Status::kInvalidArgument);
    CHECK(std::string(e.what()).find("sse9") != std::string::npos);
  }
}

bool close(float got, double want, double rel, double abs) {
  return std::fabs(got - want) <= rel * std::fabs(want) + abs;
}

TEST_CASE("cpu element-wise ops match ref") {
  auto ref = create_backend("ref");
  std::mt19937 rng(7);
  for (const std::string& isa : available_isas()) {
    CAPTURE(isa);
    auto cpu = make_cpu(isa);
    for (int64_t n : {1, 15, 16, 17, 100, 40000}) {
      CAPTURE(n);
      std::vector<float> g = random_floats(rng, n, -12, 12), u = random_floats(rng, n);
      std::vector<float> a(n), b(n);
      ref->swiglu(g.data(), u.data(), a.data(), n);
      cpu->swiglu(g.data(), u.data(), b.data(), n);
      int bad = 0;
      for (int64_t i = 0; i < n; ++i) bad += !close(b[i], a[i], 1e-5, 1e-6);
      CHECK(bad == 0);
      std::vector<float> y1 = g, y2 = g;
      ref->add(y1.data(), u.data(), n);
      cpu->add(y2.data(), u.data(), n);
      CHECK(y1 == y2);
    }
    for (int64_t dim : {8, 96, 100, 768}) {
      CAPTURE(dim);
      const int64_t rows = 5;
      std::vector<float> x = random_floats(rng, rows * dim, -3, 3), w = random_floats(rng, dim);
      std::vector<float> a(rows * dim), b = x;
      ref->rms_norm(x.data(), w.data(), a.data(), rows, dim, 1e-5f);
      cpu->rms_norm(b.data(), w.data(), b.data(), rows, dim, 1e-5f);  // in place (y aliases x)
      int bad = 0;
      for (size_t i = 0; i < a.size(); ++i) bad += !close(b[i], a[i], 1e-5, 1e-6);
      CHECK(bad == 0);
      std::vector<float> y1 = x, y2 = x;
      ref->add_bias(y1.data(), w.data(), rows, dim);
      cpu->add_bias(y2.data(), w.data(), rows, dim);
      CHECK(y1 == y2);
    }
  }
}

TEST_CASE("cpu rope matches ref: NORM and NEOX, scaling, factors, partial rotation") {
  auto ref = create_backend("ref");
  std::mt19937 rng(11);
  std::vector<float> factors = random_floats(rng, 64, 1.0f, 8.0f);
  for (const std::string& isa : available_isas()) {
    CAPTURE(isa);
    auto cpu = make_cpu(isa);
    for (RopeStyle style : {RopeStyle::kNorm, RopeStyle::kNeox}) {
      for (int head_dim : {8, 64, 128}) {
        for (int n_rot : {head_dim, head_dim / 2}) {
          for (bool with_factors : {false, true}) {
            RopeParams p;
            p.head_dim = head_dim;
            p.n_rot = n_rot;
            p.theta = 500000.0f;
            p.freq_scale = with_factors ? 0.25f : 1.0f;
            p.style = style;
            p.freq_factors = with_factors ? factors.data() : nullptr;
            const int n_heads = 3, n_tok = 6;
            std::vector<int32_t> pos = {0, 1, 7, 100, 4095, 131000};
            std::vector<float> x = random_floats(rng, n_tok * n_heads * head_dim, -2, 2), y = x;
            ref->rope(x.data(), n_tok, n_heads, pos.data(), p);
            cpu->rope(y.data(), n_tok, n_heads, pos.data(), p);
            int bad = 0;
            for (size_t i = 0; i < x.size(); ++i) bad += !close(y[i], x[i], 1e-5, 4e-6);
            CHECK(bad == 0);
          }
        }
      }
    }
  }
}

TEST_CASE("cpu embedding dequantizes rows exactly and checks ids") {
  auto ref = create_backend("ref");
  std::mt19937 rng(3);
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0}) {
    Weights w = make_weights(rng, t, 50, 96);
    std::vector<int32_t> ids = {0, 49, 7, 7, 23};
    std::vector<float> a(ids.size() * 96), b(ids.size() * 96);
    ref->embedding(w.view, ids.data(), ids.size(), a.data());
    for (const std::string& isa : available_isas()) {
      auto cpu = make_cpu(isa);
      cpu->embedding(w.view, ids.data(), ids.size(), b.data());
      CHECK(a == b);
      int32_t bad_id = 50;
      try {
        cpu->embedding(w.view, &bad_id, 1, b.data());
        FAIL("expected an error");
      } catch (const Error& e) {
        CHECK(e.code() == Status::kInvalidArgument);
        CHECK(std::string(e.what()).find("50") != std::string::npos);
      }
    }
  }
}

// A paged KV pool with the sequences' pages scattered in shuffled order.
struct KvFixture {
  std::vector<uint8_t> k, v;
  KvLayer layer;
  std::vector<std::vector<int32_t>> pages;
  std::vector<AttnSeq> seqs;
  float vmax = 0;
};

KvFixture make_kv(Backend& ref, std::mt19937& rng, DType dt, int n_kv_heads, int hd, int page_size,
                  const std::vector<std::pair<int, int>>& qk_lens) {
  KvFixture f;
  int total_pages = 0;
  for (auto [q, kvl] : qk_lens) total_pages += (kvl + page_size - 1) / page_size;
  total_pages += 3;  // unused pages in between
  std::vector<int32_t> perm(total_pages);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  const size_t es = dt == DType::F32 ? 4 : 2;
  const int64_t w = static_cast<int64_t>(n_kv_heads) * hd;
  const int64_t n_slots = static_cast<int64_t>(total_pages) * page_size;
  f.k.assign(n_slots * w * es, 0);
  f.v.assign(n_slots * w * es, 0);
  f.layer = {f.k.data(), f.v.data(), dt, n_kv_heads, hd, page_size, n_slots};
  int next = 0, q_start = 0;
  for (auto [q, kvl] : qk_lens) {
    std::vector<int32_t> pg;
    for (int p = 0; p < (kvl + page_size - 1) / page_size; ++p) pg.push_back(perm[next++]);
    std::vector<int32_t> slots(kvl);
    for (int p = 0; p < kvl; ++p) slots[p] = pg[p / page_size] * page_size + p % page_size;
    std::vector<float> kk = random_floats(rng, kvl * w, -1, 1), vv = random_floats(rng, kvl * w, -2, 2);
    for (float x : vv) f.vmax = std::max(f.vmax, std::fabs(x));
    ref.kv_store(f.layer, kk.data(), vv.data(), slots.data(), kvl);
    f.pages.push_back(std::move(pg));
    f.seqs.push_back({q_start, q, kvl, nullptr});
    q_start += q;
  }
  for (size_t i = 0; i < f.seqs.size(); ++i) f.seqs[i].pages = f.pages[i].data();
  return f;
}

TEST_CASE("cpu attention matches ref over paged KV: GQA, head dims, page sizes, KV types") {
  auto ref = create_backend("ref");
  const auto isas = available_isas();
  std::vector<std::unique_ptr<Backend>> cpus;
  for (const auto& isa : isas) cpus.push_back(make_cpu(isa));
  std::mt19937 rng(99);
  // (q_len, kv_len): decode after a long context, a fresh prefill, a chunked prefill, one that
  // crosses several 64-key blocks.
  const std::vector<std::pair<int, int>> lens = {{1, 37}, {5, 5}, {17, 40}, {3, 150}};
  for (DType dt : {DType::F16, DType::BF16, DType::F32}) {
    for (int page_size : {1, 16}) {
      for (int group : {1, 2, 4}) {
        for (int hd : {8, 16, 20, 32, 64, 72, 128}) {
          CAPTURE(dtype_name(dt));
          CAPTURE(page_size);
          CAPTURE(group);
          CAPTURE(hd);
          const int n_kv = 2, n_heads = n_kv * group;
          KvFixture f = make_kv(*ref, rng, dt, n_kv, hd, page_size, lens);
          int rows = 0;
          for (auto& s : f.seqs) rows += s.q_len;
          std::vector<float> q = random_floats(rng, rows * n_heads * hd, -1, 1);
          const float scale = 1.0f / std::sqrt(static_cast<float>(hd)) * 2.0f;  // sharper softmax
          std::vector<float> want(q.size());
          ref->attention(q.data(), f.layer, f.seqs, n_heads, scale, want.data());
          for (size_t i = 0; i < cpus.size(); ++i) {
            CAPTURE(isas[i]);
            std::vector<float> got(q.size(), NAN);
            cpus[i]->attention(q.data(), f.layer, f.seqs, n_heads, scale, got.data());
            int bad = 0;
            for (size_t j = 0; j < got.size(); ++j) bad += !(std::fabs(got[j] - want[j]) <= 5e-5 * f.vmax);
            CHECK(bad == 0);
          }
        }
      }
    }
  }
}

TEST_CASE("cpu kv_store writes the same bytes as ref and checks slots") {
  auto ref = create_backend("ref");
  std::mt19937 rng(5);
  for (DType dt : {DType::F16, DType::BF16, DType::F32}) {
    for (int hd : {8, 20, 64}) {
      const int n_kv = 3, n_slots = 40, n_tok = 13;
      const size_t es = dt == DType::F32 ? 4 : 2;
      const size_t bytes = static_cast<size_t>(n_slots) * n_kv * hd * es;
      std::vector<float> k = random_floats(rng, n_tok * n_kv * hd, -70000, 70000);  // F16 overflow too
      std::vector<float> v = random_floats(rng, n_tok * n_kv * hd, -1e-6f, 1e-6f);  // F16 subnormals
      std::vector<int32_t> slots(n_tok);
      for (int t = 0; t < n_tok; ++t) slots[t] = (t * 7 + 3) % n_slots;
      std::vector<uint8_t> rk(bytes), rv(bytes);
      KvLayer rl{rk.data(), rv.data(), dt, n_kv, hd, 1, n_slots};
      ref->kv_store(rl, k.data(), v.data(), slots.data(), n_tok);
      for (const std::string& isa : available_isas()) {
        CAPTURE(isa);
        std::vector<uint8_t> ck(bytes), cv(bytes);
        KvLayer cl{ck.data(), cv.data(), dt, n_kv, hd, 1, n_slots};
        auto cpu = make_cpu(isa);
        cpu->kv_store(cl, k.data(), v.data(), slots.data(), n_tok);
        CHECK(ck == rk);
        CHECK(cv == rv);
        int32_t bad = n_slots;
        try {
          cpu->kv_store(cl, k.data(), v.data(), &bad, 1);
          FAIL("expected an error");
        } catch (const Error& e) {
          CHECK(e.code() == Status::kInvalidArgument);
          CHECK(std::string(e.what()).find("slot") != std::string::npos);
        }
      }
    }
  }
}

}  // namespace
}  // namespace sgl::kernels
