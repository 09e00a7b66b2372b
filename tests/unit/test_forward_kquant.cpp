// Full-model logits with K-quant weights agree between the optimized `cpu` backend and the `ref`
// backend: synthetic llama/qwen3 models whose widths are multiples of 256 (so every matrix is a
// K-quant), and one whose feed-forward width is not (ffn_down falls back to Q8_0, as llama.cpp
// does).
//
// Tolerance, relative to the spread (standard deviation) of the reference logits: the cpu backend
// rounds activations to int8 with one scale per 256 values (GGML's Q8_K; ref keeps f32), about
// 0.7% of an activation's rms per matmul; through two layers that is 1-2% rms of the spread:
// max 12%, rms 3% of the spread (seen: max 5-6%, rms 1.2-1.4%).
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/model/synthetic_model.hpp"
#include "core/model/model_loader.hpp"
#include "support/model_logits.hpp"
#include "support/test_support.hpp"

using namespace sgl;
using kernels::DType;

TEST_CASE("cpu and ref backends give the same logits with K-quant weights") {
  auto dir = test::scratch_dir("forward_kquant");
  struct Case {
    const char* arch;
    int64_t ff;
    DType t;
  };
  const Case cases[] = {
      {"llama", 512, DType::Q4_K}, {"llama", 512, DType::Q6_K}, {"llama", 512, DType::Q5_K},
      {"qwen3", 512, DType::Q4_K}, {"llama", 320, DType::Q4_K},  // ffn_down rows of 320: Q8_0
  };
  const std::vector<int32_t> prompt = {1, 17, 300, 42, 5, 99, 260, 7, 311, 64, 2, 128, 400, 33};
  for (const Case& k : cases) {
    SyntheticSpec spec = synthetic_preset("tiny", k.arch);
    spec.n_embd = 256;
    spec.n_head = 4;
    spec.n_head_kv = 2;
    spec.head_dim = 64;
    spec.n_ff = k.ff;
    spec.weight_type = k.t;
    spec.seed = 5;
    const std::string path = (dir / fmt::format("{}-{}-{}.gguf", k.arch, k.ff, kernels::dtype_name(k.t))).string();
    write_synthetic_gguf(spec, path);
    {
      // Every matrix is stored in the requested type, except rows that are not whole super-blocks.
      LoadedModel m = load_model(path);
      int kq = 0, q8 = 0;
      for (const auto& name : {"blk.0.ffn_gate.weight", "blk.0.ffn_down.weight", "blk.1.attn_q.weight"}) {
        const kernels::DType got = m.tensors->find(name)->dtype;
        kq += got == k.t;
        q8 += got == DType::Q8_0;
      }
      CHECK(kq == (k.ff % 256 == 0 ? 3 : 2));
      CHECK(q8 == (k.ff % 256 == 0 ? 0 : 1));
    }
    const auto ref = test::prefill_decode_logits(path, "ref", prompt);
    const auto cpu = test::prefill_decode_logits(path, "cpu", prompt);
    REQUIRE(ref.size() == cpu.size());
    double mean = 0, var = 0, worst = 0, sq = 0;
    for (float v : ref) mean += v;
    mean /= static_cast<double>(ref.size());
    for (float v : ref) var += (v - mean) * (v - mean);
    const double spread = std::sqrt(var / static_cast<double>(ref.size()));
    for (size_t i = 0; i < ref.size(); ++i) {
      const double d = std::fabs(static_cast<double>(ref[i]) - cpu[i]);
      worst = std::max(worst, d);
      sq += d * d;
    }
    const double rms = std::sqrt(sq / static_cast<double>(ref.size()));
    const std::string what = fmt::format("{} ff={} {}: max |cpu-ref| = {:.3g}, rms {:.3g}, spread {:.3g}", k.arch,
                                         k.ff, kernels::dtype_name(k.t), worst, rms, spread);
    MESSAGE(what);
    INFO(what);
    CHECK(spread > 0.1);
    CHECK(worst <= 0.12 * spread);
    CHECK(rms <= 0.03 * spread);
  }
}
