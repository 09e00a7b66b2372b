// Full-model logits of every architecture agree between the optimized `cpu` backend and the
// `ref` backend, per weight type, on synthetic models of several shapes (GQA, head_dim and
// widths that are not multiples of the SIMD width).
//
// Tolerances, relative to the spread of the reference logits (their standard deviation, ~1.5):
//  - F32 / F16 / BF16 weights: both backends compute with the same stored weights in f32
//    arithmetic; only summation order differs: max 1e-4, rms 1e-5 of the spread (seen: ~2e-6
//    and ~3e-7).
//  - Q8_0 / Q4_0 weights: the cpu backend quantizes activations to 8-bit blocks on the fly for
//    integer dot products (as llama.cpp does), the ref backend keeps f32 activations. One such
//    rounding costs ~0.5% of an activation's rms (amax/127/sqrt(12) per 32-block); through two
//    layers (and qwen3's q/k norms, which amplify it) that is 1-2% rms of the spread: max 15%,
//    rms 3% of the spread (seen: max 4-10%, rms 0.9-2%).
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/model/synthetic_model.hpp"
#include "support/model_logits.hpp"
#include "support/test_support.hpp"

using namespace sgl;
using kernels::DType;

TEST_CASE("cpu and ref backends give the same logits for every architecture and weight type") {
  auto dir = test::scratch_dir("forward_cpu_vs_ref");
  struct Shape {
    const char* name;
    int64_t embd, heads, kv_heads, head_dim, ff;
    bool quant_ok;  // widths are multiples of the 32-element quantization block
  };
  const Shape shapes[] = {
      {"gqa4", 64, 8, 2, 8, 96, true},
      {"odd", 72, 3, 1, 24, 100, false},   // nothing divisible by the 16-float AVX-512 width
      {"wide-head", 96, 2, 2, 48, 160, true},
  };
  const std::vector<int32_t> prompt = {1, 17, 300, 42, 5, 99, 260, 7, 311, 64, 2, 128, 400, 33};
  int checked = 0;
  for (const char* arch : {"llama", "qwen2", "qwen3"}) {
    for (const Shape& s : shapes) {
      for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0}) {
        bool quant = t == DType::Q8_0 || t == DType::Q4_0;
        if (quant && !s.quant_ok) continue;
        SyntheticSpec spec = synthetic_preset("tiny", arch);
        spec.n_embd = s.embd;
        spec.n_head = s.heads;
        spec.n_head_kv = s.kv_heads;
        spec.head_dim = s.head_dim;
        spec.n_ff = s.ff;
        spec.weight_type = t;
        spec.tied_embeddings = std::string(arch) == "qwen3";
        spec.seed = 7;
        std::string path = (dir / fmt::format("{}-{}-{}.gguf", arch, s.name, kernels::dtype_name(t))).string();
        write_synthetic_gguf(spec, path);
        auto ref = test::prefill_decode_logits(path, "ref", prompt, {.reverse_pages = true});
        auto cpu = test::prefill_decode_logits(path, "cpu", prompt, {.reverse_pages = true});
        REQUIRE(ref.size() == cpu.size());
        double mean = 0, var = 0, worst = 0, sq = 0;
        for (float v : ref) mean += v;
        mean /= static_cast<double>(ref.size());
        for (float v : ref) var += (v - mean) * (v - mean);
        double spread = std::sqrt(var / static_cast<double>(ref.size()));
        for (size_t i = 0; i < ref.size(); ++i) {
          double d = std::fabs(static_cast<double>(ref[i]) - cpu[i]);
          worst = std::max(worst, d);
          sq += d * d;
        }
        double rms = std::sqrt(sq / static_cast<double>(ref.size()));
        double tol_max = (quant ? 1.5e-1 : 1e-4) * spread, tol_rms = (quant ? 3e-2 : 1e-5) * spread;
        std::string what = fmt::format("{} {} {}: max |cpu-ref| = {:.3g}, rms {:.3g}, spread {:.3g}", arch, s.name,
                                       kernels::dtype_name(t), worst, rms, spread);
        MESSAGE(what);
        INFO(what);
        CHECK(spread > 0.1);
        CHECK(worst <= tol_max);
        CHECK(rms <= tol_rms);
        ++checked;
      }
    }
  }
  CHECK(checked == 3 * (3 * 3 + 2 * 2));
}
