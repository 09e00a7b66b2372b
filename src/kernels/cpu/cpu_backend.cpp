// The optimized CPU backend: picks one per-ISA kernel table at construction (best available,
// or forced by BackendOptions::isa / $SGL_ISA) and spreads every op over a oneTBB task_arena.
// Matmul is tiled over (output rows × token rows); attention over (sequence, head, query chunk).
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/blocked_range2d.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>

#include <sys/mman.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "core/support/check.hpp"
#include "kernels/backend.hpp"
#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/cpu/file_pages.hpp"
#include "kernels/cpu/moe_cpu.hpp"
#include "kernels/moe_routing.hpp"
#include "kernels/quant.hpp"
#include "kernels/quant_k.hpp"

namespace sgl::kernels {
namespace {

using cpu::Isa;
using cpu::KernelTable;

constexpr int kMaxHeadDim = 576;  // attention_generic.hpp scratch: 16 rows x 576 floats per matrix (MLA rows)

bool is_quantized(DType t) { return t == DType::Q8_0 || t == DType::Q4_0 || t == DType::Q4_1 || is_kq_family(t); }

bool matmul_supported(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16 || is_quantized(t); }

bool kv_supported(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::Q8_0; }

Isa choose_isa(const BackendOptions& opts) {
  std::string want = opts.isa;
  if (want.empty()) {
    if (const char* env = std::getenv("SGL_ISA")) want = env;
  }
  const Isa best = cpu::detect_isa();
  if (want.empty()) return best;
  Isa isa;
  if (!cpu::parse_isa(want.c_str(), &isa))
    SGL_THROW(Status::kInvalidArgument, "cpu backend: unknown ISA '{}' (expected scalar, avx2 or avx512)", want);
  if (static_cast<int>(isa) > static_cast<int>(best))
    SGL_THROW(Status::kUnsupported, "cpu backend: ISA '{}' requested but this CPU supports at most '{}'", want,
              cpu::isa_name(best));
  return isa;
}

const KernelTable& table_for(Isa isa) {
  switch (isa) {
    case Isa::kAvx512:
      return cpu::kernels_avx512();
    case Isa::kAvx2:
      return cpu::kernels_avx2();
    case Isa::kScalar:
      break;
  }
  return cpu::kernels_scalar();
}

const cpu::KQuantKernels& kquant_for(Isa isa) {
  switch (isa) {
    case Isa::kAvx512:
      return cpu::kquant_avx512();
    case Isa::kAvx2:
      return cpu::kquant_avx2();
    case Isa::kScalar:
      break;
  }
  return cpu::kquant_scalar();
}

int pick_threads(int requested) {
  if (requested < 0) SGL_THROW(Status::kInvalidArgument, "cpu backend: thread count must be >= 0, got {}", requested);
  return requested > 0 ? requested : tbb::info::default_concurrency();
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(const BackendOptions& opts)
      : isa_(choose_isa(opts)), k_(table_for(isa_)), kq_(kquant_for(isa_)), threads_(pick_threads(opts.threads)), arena_(threads_) {}
  ~CpuBackend() override {
    std::free(act_);
    for (Chunk& c : chunks_) std::free(c.base);
  }

  std::string_view name() const override { return "cpu"; }
  std::string describe() const override { return fmt::format("cpu ({}, {} threads)", k_.name, threads_); }
  int threads() const override { return threads_; }

  void* alloc(size_t bytes) override {
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p && bytes) SGL_THROW(Status::kOutOfMemory, "cpu backend: cannot allocate {} bytes", bytes);
    return p;
  }
  void free(void* p) override { std::free(p); }
  void copy_to_device(void* dst, const void* src, size_t n) override { std::memcpy(dst, src, n); }
  void copy_to_host(void* dst, const void* src, size_t n) override { std::memcpy(dst, src, n); }

  // Repacks weights whose type has a packed layout in this ISA's table (see KernelTable).
  WeightView prepare_weight(const WeightView& w) override {
    if (!k_.packed_group_bytes || !(w.data && w.rows > 0 && w.cols > 0) || !matmul_supported(w.dtype)) return w;
    const int64_t blk = dtype_info(w.dtype).block_elems;
    if (w.cols % blk != 0) return w;  // matmul reports the bad shape
    const size_t gbytes = k_.packed_group_bytes(w.dtype, w.cols);
    if (gbytes == 0) return w;
    const int64_t groups = ceil_div(w.rows, k_.pack_rows);
    const size_t bytes = gbytes * static_cast<size_t>(groups);
    size_t chunk = 0;
    uint8_t* dst = alloc_weights(bytes, &chunk);
    const auto* src = static_cast<const uint8_t*>(w.data);
    const size_t stride = row_bytes(w.dtype, w.cols);
    parallel(groups, 4, [&](int64_t b, int64_t e) {
      for (int64_t g = b; g < e; ++g) {
        const int64_t r = g * k_.pack_rows;
        k_.pack_group(w.dtype, src + static_cast<size_t>(r) * stride, stride,
                      std::min<int64_t>(k_.pack_rows, w.rows - r), w.cols, dst + static_cast<size_t>(g) * gbytes);
      }
    });
    // The packed copy is all matmul reads from now on: give the original's pages back, or the
    // matrix is resident twice (a 1B model's weights would cost 2x the GGUF). Only pages of a
    // read-only file map are dropped, and they fault back in if anything reads `data` again
    // (the embedding rows of a tied output matrix, another backend).
    const size_t released = cpu::drop_file_pages(src, stride * static_cast<size_t>(w.rows));
    packed_.emplace(dst, Packed{gbytes, chunk, bytes, released});
    memory_.packed += bytes;
    memory_.released += released;
    WeightView out = w;
    out.packed = dst;
    return out;
  }

  void release_weight(const WeightView& w) override {
    auto it = w.packed ? packed_.find(w.packed) : packed_.end();
    if (it == packed_.end()) return;
    memory_.packed -= it->second.bytes;
    memory_.released -= it->second.released;
    free_weights(it->second.chunk);
    packed_.erase(it);
  }

  WeightMemory weight_memory() const override { return memory_; }

  void matmul(const float* x, int64_t m, const WeightView& w, float* y) override {
    if (!(matmul_supported(w.dtype)))
      SGL_THROW(Status::kUnsupported, "cpu matmul: weight type {} is not supported", dtype_name(w.dtype));
    const int64_t blk = dtype_info(w.dtype).block_elems;
    if (!(w.cols > 0 && w.cols % blk == 0))
      SGL_THROW(Status::kInvalidArgument, "cpu matmul: cols {} is not a positive multiple of {}'s block {}", w.cols,
                dtype_name(w.dtype), blk);
    if (!(m >= 0 && w.rows >= 0))
      SGL_THROW(Status::kInvalidArgument, "cpu matmul: negative shape m={} rows={}", m, w.rows);
    if (m == 0 || w.rows == 0) return;

    // A packed copy made by this backend (views from elsewhere fall back to `data`).
    const auto pk = w.packed ? packed_.find(w.packed) : packed_.end();
    const bool packed = pk != packed_.end();

    cpu::GemmTile g;
    g.w = static_cast<const uint8_t*>(packed ? pk->first : w.data);
    g.w_stride = packed ? pk->second.group_bytes : row_bytes(w.dtype, w.cols);
    g.wt = w.dtype;
    g.cols = w.cols;
    g.y = y;
    g.ldy = w.rows;
    // Q4_1 (q4_1_*.cpp) and the K-quants (kquant_*.cpp) have their own kernels and activation
    // layouts; the rest use the ISA table.
    const cpu::QuantGemm* own = w.dtype == DType::Q4_1 ? &cpu::q4_1_gemm(isa_) : nullptr;
    const bool kq = is_kq_family(w.dtype);
    if (is_quantized(w.dtype)) {
      // Quantize the activation rows once; every weight row then reuses them. Packed weights may
      // want another type's activation layout (KernelTable::gemm_packed).
      const DType at = packed ? cpu::packed_act_type(w.dtype) : w.dtype;
      const size_t ab = own ? own->act_bytes(w.cols) : kq ? kq_.act_bytes(w.dtype, w.cols) : k_.act_bytes(at, w.cols);
      const size_t stride = static_cast<size_t>(round_up(static_cast<int64_t>(ab), 64));
      uint8_t* buf = act_buffer(stride * static_cast<size_t>(m));
      parallel(m, 8, [&](int64_t b, int64_t e) {
        for (int64_t t = b; t < e; ++t) {
          if (own) own->prepare_act(x + t * w.cols, w.cols, buf + t * stride);
          else if (kq) kq_.prepare_act(w.dtype, x + t * w.cols, w.cols, buf + t * stride);
          else k_.prepare_act(at, x + t * w.cols, w.cols, buf + t * stride);
        }
      });
      g.act = buf;
      g.act_stride = stride;
    } else {
      g.act = x;
      g.act_stride = static_cast<size_t>(w.cols) * 4;
    }

    // Token blocks of up to 64 rows; row blocks sized so a block of weights stays in L2 while the
    // block's token tiles sweep over it, and so that every thread gets several tasks.
    const int64_t tb = m <= 64 ? m : 64;
    const int64_t n_tb = ceil_div(m, tb);
    const int64_t want_tasks = 4 * threads_;
    int64_t rb = ceil_div(w.rows, std::max<int64_t>(1, ceil_div(want_tasks, n_tb)));
    const int64_t l2_rows = std::max<int64_t>(16, (256 << 10) / static_cast<int64_t>(row_bytes(w.dtype, w.cols)));
    if (m > 4) rb = std::min(rb, l2_rows);
    rb = std::min<int64_t>(round_up(std::max<int64_t>(rb, 16), 16), 1024);
    // Packed weights are split at group boundaries: the range below counts units of `unit` rows.
    const int64_t unit = packed ? k_.pack_rows : 1;
    const int64_t n_units = ceil_div(w.rows, unit);
    const int64_t ub = std::max<int64_t>(1, rb / unit);
    auto run = [&](int64_t u0, int64_t u1, int64_t t0, int64_t t1) {
      cpu::GemmTile tile = g;
      tile.r0 = u0 * unit;
      tile.r1 = std::min(w.rows, u1 * unit);
      tile.t0 = t0;
      tile.t1 = t1;
      (packed ? k_.gemm_packed : own ? own->gemm : kq ? kq_.gemm : k_.gemm)(tile);
    };
    if (threads_ == 1 || (ub >= n_units && n_tb == 1)) {
      run(0, n_units, 0, m);
      return;
    }
    arena_.execute([&] {
      tbb::parallel_for(
          tbb::blocked_range2d<int64_t>(0, n_units, ub, 0, m, tb),
          [&](const tbb::blocked_range2d<int64_t>& r) {
            run(r.rows().begin(), r.rows().end(), r.cols().begin(), r.cols().end());
          },
          tbb::simple_partitioner());
    });
  }

  void rms_norm(const float* x, const float* weight, float* y, int64_t rows, int64_t dim, float eps) override {
    if (!(rows >= 0 && dim > 0)) SGL_THROW(Status::kInvalidArgument, "cpu rms_norm: bad shape {}x{}", rows, dim);
    parallel(rows, std::max<int64_t>(1, 16384 / dim), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) k_.rms_norm_row(x + r * dim, weight, y + r * dim, dim, eps);
    });
  }

  void rope(float* x, int64_t n_tokens, int n_heads, const int32_t* positions, const RopeParams& p) override {
    if (!(p.n_rot > 0 && p.n_rot % 2 == 0 && p.n_rot <= p.head_dim))
      SGL_THROW(Status::kInvalidArgument, "cpu rope: n_rot {} must be even, positive and <= head_dim {}", p.n_rot,
                p.head_dim);
    const int half = p.n_rot / 2;
    // theta^(-2i/n_rot) in double, once per call; angles and cos/sin per token in double too, so
    // that long positions keep the 1e-4 agreement with llama.cpp / the ref backend.
    std::vector<double> freq(static_cast<size_t>(half));
    for (int i = 0; i < half; ++i) {
      freq[i] = std::pow(static_cast<double>(p.theta), -2.0 * i / p.n_rot) * p.freq_scale;
      if (p.freq_factors) freq[i] /= p.freq_factors[i];
    }
    const int64_t tok_elems = static_cast<int64_t>(n_heads) * p.head_dim;
    parallel(n_tokens, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, tok_elems)), [&](int64_t b, int64_t e) {
      std::vector<float> cs(static_cast<size_t>(p.n_rot));
      for (int64_t t = b; t < e; ++t) {
        for (int i = 0; i < half; ++i) {
          const double a = positions[t] * freq[i];
          cs[i] = static_cast<float>(std::cos(a) * p.mscale);
          cs[half + i] = static_cast<float>(std::sin(a) * p.mscale);
        }
        k_.rope_row(x + t * tok_elems, n_heads, cs.data(), p);
      }
    });
  }

  void swiglu(const float* gate, const float* up, float* out, int64_t n) override {
    parallel(ceil_div(n, kChunk), 4, [&](int64_t b, int64_t e) {
      const int64_t lo = b * kChunk, hi = std::min(n, e * kChunk);
      k_.swiglu(gate + lo, up + lo, out + lo, hi - lo);
    });
  }

  void add(float* y, const float* x, int64_t n) override {
    parallel(ceil_div(n, kChunk), 8, [&](int64_t b, int64_t e) {
      const int64_t lo = b * kChunk, hi = std::min(n, e * kChunk);
      k_.add(y + lo, x + lo, hi - lo);
    });
  }

  void add_bias(float* y, const float* bias, int64_t rows, int64_t dim) override {
    parallel(rows, std::max<int64_t>(1, 65536 / std::max<int64_t>(1, dim)), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) k_.add(y + r * dim, bias, dim);
    });
  }

  void embedding(const WeightView& table, const int32_t* ids, int64_t n, float* out) override {
    if (!(dtype_info(table.dtype).supported))
      SGL_THROW(Status::kUnsupported, "cpu embedding: table type {} is not supported", dtype_name(table.dtype));
    for (int64_t i = 0; i < n; ++i)
      if (!(ids[i] >= 0 && ids[i] < table.rows))
        SGL_THROW(Status::kInvalidArgument, "token id {} outside the embedding table of {} rows", ids[i], table.rows);
    const size_t rb = row_bytes(table.dtype, table.cols);
    parallel(n, 16, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        dequantize_row(table.dtype, static_cast<const uint8_t*>(table.data) + ids[i] * rb, out + i * table.cols,
                       table.cols);
    });
  }

  void moe_route(const float* logits, int64_t n, const MoeRouting& r, int32_t* ids, float* weights) override {
    moe_route_scalar(logits, n, r, ids, weights);
  }

  void moe_ffn(const float* x, int64_t n, const int32_t* ids, const float* weights, int k, const MoeExperts& experts,
               float* out) override {
    moe_.run(*this, x, n, ids, weights, k, experts, out);
  }

  void scale_rows_sigmoid(float* y, const float* g, int64_t rows, int64_t dim) override {
    for (int64_t r = 0; r < rows; ++r) {
      const float s = 1.0f / (1.0f + std::exp(-g[r]));
      for (int64_t i = 0; i < dim; ++i) y[r * dim + i] *= s;
    }
  }

  void kv_store(const KvLayer& kv, const float* k, const float* v, const int32_t* slots, int64_t n_tokens) override {
    if (!(kv_supported(kv.dtype)))
      SGL_THROW(Status::kUnsupported, "cpu kv_store: KV dtype {} is not supported", dtype_name(kv.dtype));
    for (int64_t t = 0; t < n_tokens; ++t)
      if (!(slots[t] >= 0 && slots[t] < kv.n_slots))
        SGL_THROW(Status::kInvalidArgument, "KV slot {} out of range [0, {})", slots[t], kv.n_slots);
    const int64_t w = static_cast<int64_t>(kv.n_kv_heads) * kv.head_dim;
    if (kv.dtype == DType::Q8_0 && kv.head_dim % kQK8_0 != 0)
      SGL_THROW(Status::kUnsupported, "cpu kv_store: q8_0 KV needs head_dim % {} == 0 (got {})", kQK8_0, kv.head_dim);
    const size_t rb = row_bytes(kv.dtype, w);
    parallel(n_tokens, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, w)), [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        const size_t off = static_cast<size_t>(slots[t]) * rb;
        if (kv.dtype == DType::Q8_0) {
          quantize_row(DType::Q8_0, k + t * w, static_cast<uint8_t*>(kv.k) + off, w);
          quantize_row(DType::Q8_0, v + t * w, static_cast<uint8_t*>(kv.v) + off, w);
          continue;
        }
        k_.store_row(kv.dtype, k + t * w, static_cast<uint8_t*>(kv.k) + off, w);
        k_.store_row(kv.dtype, v + t * w, static_cast<uint8_t*>(kv.v) + off, w);
      }
    });
  }

  void attention(const float* q, const KvLayer& kv, std::span<const AttnSeq> seqs, int n_heads, float scale,
                 float* out) override {
    if (!(kv_supported(kv.dtype)))
      SGL_THROW(Status::kUnsupported, "cpu attention: KV dtype {} is not supported", dtype_name(kv.dtype));
    if (!(kv.head_dim > 0 && kv.head_dim <= kMaxHeadDim))
      SGL_THROW(Status::kUnsupported, "cpu attention: head_dim {} outside 1..{}", kv.head_dim, kMaxHeadDim);
    if (kv.dtype == DType::Q8_0 && kv.head_dim % kQK8_0 != 0)
      SGL_THROW(Status::kUnsupported, "cpu attention: q8_0 KV needs head_dim % {} == 0 (got {})", kQK8_0, kv.head_dim);
    if (!(kv.n_kv_heads > 0 && n_heads % kv.n_kv_heads == 0))
      SGL_THROW(Status::kInvalidArgument, "cpu attention: n_heads {} is not a multiple of n_kv_heads {}", n_heads,
                kv.n_kv_heads);
    if (!(kv.page_size > 0))
      SGL_THROW(Status::kInvalidArgument, "cpu attention: page_size {} must be positive", kv.page_size);
    tasks_.clear();
    for (const AttnSeq& s : seqs) {
      if (!(s.q_len >= 0 && s.q_len <= s.kv_len))
        SGL_THROW(Status::kInvalidArgument, "cpu attention: q_len {} exceeds kv_len {}", s.q_len, s.kv_len);
      // Chunks of query rows: decode gets one task per head, prefill several per head.
      const int chunk = s.q_len <= 16 ? std::max(1, s.q_len) : 16;
      for (int h = 0; h < n_heads; ++h) {
        for (int i = 0; i < s.q_len; i += chunk) {
          cpu::AttnTask t;
          t.q = q;
          t.out = out;
          t.kv = &kv;
          t.seq = &s;
          t.n_heads = n_heads;
          t.head = h;
          t.i0 = i;
          t.i1 = std::min(s.q_len, i + chunk);
          t.scale = scale;
          tasks_.push_back(t);
        }
      }
    }
    parallel(static_cast<int64_t>(tasks_.size()), 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) k_.attention(tasks_[i]);
    });
  }

 private:
  static constexpr int64_t kChunk = 16384;  // elements per task of element-wise ops

  // Runs f(begin, end) over [0, n) on the arena, or inline when there is too little work.
  template <class F>
  void parallel(int64_t n, int64_t grain, F&& f) {
    if (n <= 0) return;
    if (threads_ == 1 || n <= grain) {
      f(int64_t{0}, n);
      return;
    }
    arena_.execute([&] {
      tbb::parallel_for(
          tbb::blocked_range<int64_t>(0, n, grain),
          [&](const tbb::blocked_range<int64_t>& r) { f(r.begin(), r.end()); }, tbb::simple_partitioner());
    });
  }

  // Packed weights are streamed once per token, so they are carved out of 2 MiB-aligned chunks
  // marked for transparent huge pages: a GEMV over tens of MB then does not also walk a page
  // table every 4 KiB (most single matrices are far below 2 MiB). A chunk is freed with its last
  // weight.
  struct Chunk {
    uint8_t* base;
    size_t size, used;
    int live;
  };
  static constexpr size_t kHuge = size_t{2} << 20;

  uint8_t* alloc_weights(size_t bytes, size_t* chunk) {
    bytes = (bytes + 63) / 64 * 64;
    if (chunks_.empty() || !chunks_.back().base || chunks_.back().size - chunks_.back().used < bytes) {
      const size_t size = std::max<size_t>(32 * kHuge, (bytes + kHuge - 1) / kHuge * kHuge);
      auto* p = static_cast<uint8_t*>(std::aligned_alloc(kHuge, size));
      if (!p) SGL_THROW(Status::kOutOfMemory, "cpu backend: cannot allocate {} bytes of packed weights", size);
      madvise(p, size, MADV_HUGEPAGE);  // advisory: failure only costs speed
      chunks_.push_back(Chunk{p, size, 0, 0});
    }
    Chunk& c = chunks_.back();
    uint8_t* p = c.base + c.used;
    c.used += bytes;
    ++c.live;
    *chunk = chunks_.size() - 1;
    return p;
  }

  void free_weights(size_t chunk) {
    Chunk& c = chunks_[chunk];
    if (--c.live == 0) {
      std::free(c.base);
      c.base = nullptr;  // the slot stays, so other weights' chunk indices remain valid
    }
  }

  uint8_t* act_buffer(size_t bytes) {
    if (bytes > act_cap_) {
      std::free(act_);
      act_cap_ = 0;
      act_ = static_cast<uint8_t*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
      if (!act_) SGL_THROW(Status::kOutOfMemory, "cpu backend: cannot allocate {} bytes of activations", bytes);
      act_cap_ = bytes;
    }
    return act_;
  }

  Isa isa_;
  const KernelTable& k_;
  const cpu::KQuantKernels& kq_;
  int threads_;
  tbb::task_arena arena_;
  uint8_t* act_ = nullptr;  // quantized activation rows, reused across calls
  size_t act_cap_ = 0;
  std::vector<cpu::AttnTask> tasks_;
  cpu::MoeRunner moe_;
  struct Packed {
    size_t group_bytes;
    size_t chunk;  // index into chunks_
    size_t bytes, released;  // of the copy; of the source's pages dropped after packing
  };
  WeightMemory memory_;
  std::unordered_map<const void*, Packed> packed_;  // prepare_weight's copies
  std::vector<Chunk> chunks_;
};

}  // namespace

std::unique_ptr<Backend> create_cpu_backend(const BackendOptions& opts) { return std::make_unique<CpuBackend>(opts); }

}  // namespace sgl::kernels
