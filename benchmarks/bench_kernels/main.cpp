// Kernel benchmarks of the cpu backend at the shapes of a 110M llama (dim 768, ffn 2048,
// vocab 32000, 12 heads of 64): matmul per weight type for decode (m=1, reported as GB/s of
// weights streamed) and prefill (m=512, GFLOP/s), attention decode/prefill, rms_norm, rope, and
// a streaming-read benchmark giving the machine's memory bandwidth for comparison.
//
// Threads: $SGL_BENCH_THREADS (default 2). ISA: $SGL_ISA (default: best available).
//   bench_kernels --benchmark_min_time=0.2
#include <benchmark/benchmark.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/backend.hpp"
#include "kernels/quant.hpp"

namespace {

using namespace sgl::kernels;

int bench_threads() {
  const char* e = std::getenv("SGL_BENCH_THREADS");
  return e ? std::max(1, std::atoi(e)) : 2;
}

Backend& cpu() {
  static std::unique_ptr<Backend> b = [] {
    BackendOptions o;
    o.threads = bench_threads();
    return create_backend("cpu", o);
  }();
  return *b;
}

std::vector<float> random_floats(size_t n, float lo = -1.0f, float hi = 1.0f, unsigned seed = 1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// Weights are made once per (type, shape) and kept for the whole run.
const std::vector<uint8_t>& weights(DType t, int64_t rows, int64_t cols) {
  static std::map<std::tuple<int, int64_t, int64_t>, std::vector<uint8_t>> cache;
  auto key = std::make_tuple(static_cast<int>(t), rows, cols);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  std::vector<float> f = random_floats(static_cast<size_t>(cols) * 64, -0.1f, 0.1f, 7);
  const size_t rb = row_bytes(t, cols);
  std::vector<uint8_t> w(rb * rows);
  // 64 distinct rows, repeated (K-quant quantization is too slow to redo for a 32000-row head).
  for (int64_t r = 0; r < std::min<int64_t>(rows, 64); ++r) quantize_row(t, f.data() + r * cols, w.data() + r * rb, cols);
  for (int64_t r = 64; r < rows; ++r) std::memcpy(w.data() + r * rb, w.data() + (r % 64) * rb, rb);
  return cache.emplace(key, std::move(w)).first->second;
}

// Streaming read of 512 MiB on the same number of threads: the bandwidth GEMV should approach.
void BM_MemRead(benchmark::State& state) {
  const size_t n = (512u << 20) / 8;
  static std::vector<uint64_t> buf(n, 1);
  tbb::task_arena arena(bench_threads());
  uint64_t total = 0;
  for (auto _ : state) {
    arena.execute([&] {
      const int parts = 64;
      std::vector<uint64_t> sums(parts);
      tbb::parallel_for(0, parts, [&](int p) {
        const uint64_t* b = buf.data() + n / parts * p;
        uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (size_t i = 0; i < n / parts; i += 4) {
          s0 += b[i];
          s1 += b[i + 1];
          s2 += b[i + 2];
          s3 += b[i + 3];
        }
        sums[p] = s0 + s1 + s2 + s3;
      });
      for (uint64_t s : sums) total += s;
    });
  }
  benchmark::DoNotOptimize(total);
  state.counters["GB/s"] = benchmark::Counter(n * 8 * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_MemRead)->Unit(benchmark::kMillisecond)->UseRealTime();

// Args: dtype id, rows (out features), cols (in features), m (tokens).
void BM_Matmul(benchmark::State& state) {
  const auto t = static_cast<DType>(state.range(0));
  const int64_t rows = state.range(1), cols = state.range(2), m = state.range(3);
  const auto& w = weights(t, rows, cols);
  WeightView view{w.data(), t, rows, cols};
  std::vector<float> x = random_floats(static_cast<size_t>(m * cols)), y(static_cast<size_t>(m * rows));
  Backend& b = cpu();
  for (auto _ : state) {
    b.matmul(x.data(), m, view, y.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(std::string(dtype_name(t)) + " " + b.describe());
  if (m == 1)
    state.counters["GB/s"] = benchmark::Counter(w.size() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  else
    state.counters["GFLOP/s"] =
        benchmark::Counter(2.0 * m * rows * cols * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void matmul_args(benchmark::internal::Benchmark* bm) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K})
    for (int64_t m : {1, 512}) {
      bm->Args({static_cast<int64_t>(t), 768, 768, m});                // wq/wk/wv/wo
      bm->Args({static_cast<int64_t>(t), 2048, 768, m});               // w1/w3 (gate, up)
      bm->Args({static_cast<int64_t>(t), 768, 2048, m});               // w2 (down)
      if (m == 1) bm->Args({static_cast<int64_t>(t), 32000, 768, m});  // lm head (decode)
    }
}
BENCHMARK(BM_Matmul)->Apply(matmul_args)->ArgNames({"type", "rows", "cols", "m"})->UseRealTime();

// Args: q_len, kv_len. 12 heads of 64, F16 KV in pages of 16 (scattered in reverse order).
void BM_Attention(benchmark::State& state) {
  const int q_len = static_cast<int>(state.range(0)), kv_len = static_cast<int>(state.range(1));
  const int n_heads = 12, hd = 64, ps = 16;
  const int n_pages = (kv_len + ps - 1) / ps;
  const int64_t w = static_cast<int64_t>(n_heads) * hd;
  std::vector<uint16_t> k(static_cast<size_t>(n_pages) * ps * w), v(k.size());
  KvLayer kv{k.data(), v.data(), DType::F16, n_heads, hd, ps, static_cast<int64_t>(n_pages) * ps};
  std::vector<int32_t> pages(n_pages), slots(kv_len);
  for (int p = 0; p < n_pages; ++p) pages[p] = n_pages - 1 - p;
  for (int p = 0; p < kv_len; ++p) slots[p] = pages[p / ps] * ps + p % ps;
  std::vector<float> kf = random_floats(kv_len * w), vf = random_floats(kv_len * w, -1, 1, 2);
  Backend& b = cpu();
  b.kv_store(kv, kf.data(), vf.data(), slots.data(), kv_len);
  std::vector<float> q = random_floats(static_cast<size_t>(q_len) * w, -1, 1, 3), out(q.size());
  AttnSeq seq{0, q_len, kv_len, pages.data()};
  for (auto _ : state) {
    b.attention(q.data(), kv, {&seq, 1}, n_heads, 0.125f, out.data());
    benchmark::ClobberMemory();
  }
  // Multiply-adds of QKᵀ and PV over the visible (causal) keys.
  double pairs = 0;
  for (int i = 0; i < q_len; ++i) pairs += kv_len - q_len + i + 1;
  state.counters["GFLOP/s"] =
      benchmark::Counter(pairs * n_heads * hd * 4 * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Attention)->Args({1, 512})->Args({1, 4096})->Args({512, 512})->ArgNames({"q", "kv"})->UseRealTime();

void BM_RmsNorm(benchmark::State& state) {
  const int64_t rows = state.range(0), dim = 768;
  std::vector<float> x = random_floats(rows * dim), wt = random_floats(dim), y(x.size());
  Backend& b = cpu();
  for (auto _ : state) {
    b.rms_norm(x.data(), wt.data(), y.data(), rows, dim, 1e-5f);
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = benchmark::Counter(rows * dim * 8 * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_RmsNorm)->Arg(1)->Arg(512)->UseRealTime();

void BM_Rope(benchmark::State& state) {
  const int64_t n_tok = state.range(0);
  RopeParams p;
  p.head_dim = 64;
  p.n_rot = 64;
  std::vector<float> x = random_floats(n_tok * 12 * 64);
  std::vector<int32_t> pos(n_tok);
  for (int64_t i = 0; i < n_tok; ++i) pos[i] = static_cast<int32_t>(i);
  Backend& b = cpu();
  for (auto _ : state) {
    b.rope(x.data(), n_tok, 12, pos.data(), p);
    benchmark::ClobberMemory();
  }
  state.counters["tok/s"] =
      benchmark::Counter(static_cast<double>(n_tok), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Rope)->Arg(1)->Arg(512)->UseRealTime();

void BM_Swiglu(benchmark::State& state) {
  const int64_t n = state.range(0) * 2048;
  std::vector<float> g = random_floats(n), u = random_floats(n), o(n);
  Backend& b = cpu();
  for (auto _ : state) {
    b.swiglu(g.data(), u.data(), o.data(), n);
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = benchmark::Counter(n * 12 * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Swiglu)->Arg(1)->Arg(512)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
