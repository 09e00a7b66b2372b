// cpu backend matmul with K-quant (Q2_K..Q6_K) and Q5_0/Q5_1 weights, every ISA this machine
// runs, against the ref backend (which dequantizes the weights and accumulates in double).
//
// Tolerance: the cpu backend rounds each activation row to int8 with one scale per 256 values
// (32 for Q5_0/Q5_1): x̂ = round(x / d)·d, d = amax/127. The test applies the same rounding and
// runs ref on x̂; the integer block sums are then exact and only the f32 accumulation of the
// per-block terms differs: |cpu - ref(x̂)| <= 3e-5·Σ|x̂||w| + 1e-6.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "kernels/backend.hpp"
#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/quant.hpp"
#include "sgl/error.hpp"

namespace sgl::kernels {
namespace {

std::vector<std::string> isas() {
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

std::vector<float> act_round(const std::vector<float>& x, int blk) {
  std::vector<float> out(x.size());
  for (size_t b = 0; b < x.size() / blk; ++b) {
    float amax = 0;
    for (int j = 0; j < blk; ++j) amax = std::max(amax, std::fabs(x[b * blk + j]));
    const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
    for (int j = 0; j < blk; ++j) out[b * blk + j] = std::nearbyint(x[b * blk + j] * id) * d;
  }
  return out;
}

void check_matmul(DType t, int64_t rows, int64_t m, int64_t cols, std::mt19937& rng,
                  const std::vector<std::unique_ptr<Backend>>& cpus) {
  CAPTURE(dtype_name(t));
  CAPTURE(rows);
  CAPTURE(m);
  CAPTURE(cols);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> wf(static_cast<size_t>(rows * cols)), x(static_cast<size_t>(m * cols));
  for (size_t i = 0; i < wf.size(); ++i) wf[i] = nd(rng) * (1.0f + static_cast<float>((i / 256) % 3));
  for (float& v : x) v = nd(rng);
  const size_t rb = row_bytes(t, cols);
  std::vector<uint8_t> wq(rb * rows);
  std::vector<float> wd(wf.size());
  for (int64_t r = 0; r < rows; ++r) {
    quantize_row(t, wf.data() + r * cols, wq.data() + r * rb, cols);
    dequantize_row(t, wq.data() + r * rb, wd.data() + r * cols, cols);
  }
  const int blk = (t == DType::Q5_0 || t == DType::Q5_1) ? 32 : 256;
  const std::vector<float> xr = act_round(x, blk);
  auto ref = create_backend("ref", {});
  const WeightView w{wq.data(), t, rows, cols};
  std::vector<float> want(static_cast<size_t>(m * rows));
  ref->matmul(xr.data(), m, w, want.data());
  for (const auto& cpu : cpus) {
    CAPTURE(cpu->describe());
    // The plain view, then the same weights through prepare_weight (AVX-512 repacks Q4_K, Q5_K and Q6_K into
    // 16-row interleaved groups; other ISAs and types keep the view as it is).
    const WeightView pv = cpu->prepare_weight(w);
    CHECK(pv.data == w.data);
    const bool avx512 = cpu->describe().find("avx512") != std::string::npos;
    CHECK((pv.packed != nullptr) == (avx512 && (t == DType::Q4_K || t == DType::Q5_K || t == DType::Q6_K)));
    for (const WeightView& view : {w, pv}) {
    CAPTURE(view.packed != nullptr);
    std::vector<float> got(want.size(), NAN);
    cpu->matmul(x.data(), m, view, got.data());
    int bad = 0;
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t r = 0; r < rows; ++r) {
        double mag = 0;
        for (int64_t c = 0; c < cols; ++c) mag += std::fabs(xr[i * cols + c] * wd[r * cols + c]);
        const double err = std::fabs(got[i * rows + r] - want[i * rows + r]);
        if (!(err <= 3e-5 * mag + 1e-6) && bad++ < 3)
          CHECK_MESSAGE(false, "token ", i, " row ", r, ": cpu ", got[i * rows + r], " ref ", want[i * rows + r]);
      }
    }
    CHECK(bad == 0);
    }
    cpu->release_weight(pv);
  }
}

TEST_CASE("cpu K-quant matmul matches ref on awkward shapes, every ISA") {
  std::vector<std::unique_ptr<Backend>> cpus;
  for (const std::string& isa : isas()) {
    BackendOptions o;
    o.isa = isa;
    o.threads = 2;
    cpus.push_back(create_backend("cpu", o));
  }
  std::mt19937 rng(11);
  struct Shape {
    int64_t rows, m, cols;
  };
  // rows around the 1/2/4-row tiles and the 16-row task blocks, m around the 4-token tiles and
  // the 64-token blocks, cols from one super-block up to 4096.
  const Shape shapes[] = {{1, 1, 256}, {3, 5, 512}, {7, 1, 768}, {17, 4, 256}, {33, 3, 1280},
                          {5, 64, 256}, {2, 33, 4096}, {9, 7, 2048}, {16, 13, 512}};
  for (DType t : {DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q3_K, DType::Q2_K, DType::Q5_0, DType::Q5_1})
    for (const Shape& s : shapes) check_matmul(t, s.rows, s.m, s.cols, rng, cpus);
  // The packed Q4_K / Q5_K / Q6_K layouts: row counts around its 16-row groups (and zero-padded tails), every
  // token-tile remainder of m = 1..7, one to 16 super-blocks per row, several groups per task.
  const Shape packed[] = {{15, 1, 256}, {16, 2, 768}, {17, 3, 512}, {31, 4, 1024}, {47, 5, 256},
                          {33, 6, 2048}, {50, 7, 4096}, {1, 1, 4096}, {300, 1, 768}, {70, 9, 512}};
  for (DType t : {DType::Q4_K, DType::Q5_K, DType::Q6_K})
    for (const Shape& s : packed) check_matmul(t, s.rows, s.m, s.cols, rng, cpus);
}

TEST_CASE("cpu K-quant matmul rejects columns that are not whole super-blocks") {
  auto cpu = create_backend("cpu", {});
  std::vector<uint8_t> buf(1024);
  std::vector<float> x(384), y(1);
  const WeightView w{buf.data(), DType::Q4_K, 1, 384};
  try {
    cpu->matmul(x.data(), 1, w, y.data());
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.code() == Status::kInvalidArgument);
    CHECK(std::string(e.what()).find("multiple of Q4_K's block 256") != std::string::npos);
  }
}

}  // namespace
}  // namespace sgl::kernels
