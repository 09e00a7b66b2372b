// Sustained read bandwidth of this machine, STREAM-style: every thread sums its contiguous slice
// of a buffer far larger than the last-level cache, the way a decode step streams its weights
// once. Shared by bench_membw (the figure itself) and bench_model (decode as a share of it).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

namespace sgl::bench {

// A page-aligned buffer of `bytes`, every page written once so that no timed pass takes a fault.
class ReadBuffer {
 public:
  explicit ReadBuffer(size_t bytes) : bytes_((bytes + 4095) / 4096 * 4096) {
    data_ = static_cast<uint64_t*>(std::aligned_alloc(4096, bytes_));
    if (!data_) throw std::runtime_error("membw: cannot allocate the read buffer");
    for (size_t i = 0; i < bytes_ / 8; ++i) data_[i] = i * 0x9e3779b97f4a7c15ull;
  }
  ~ReadBuffer() { std::free(data_); }
  ReadBuffer(const ReadBuffer&) = delete;
  ReadBuffer& operator=(const ReadBuffer&) = delete;
  const uint64_t* data() const { return data_; }
  size_t bytes() const { return bytes_; }

 private:
  size_t bytes_;
  uint64_t* data_;
};

// Four independent 64-byte accumulators, so the loop is bound by loads, not by one add chain;
// GCC's vector extension lowers them to the widest registers of each target_clones variant
// (a scalar loop at -O2 reads ~40% slower than AVX-512 loads here). The result is returned so
// the compiler cannot drop the reads.
using U64x8 = uint64_t __attribute__((vector_size(64)));

__attribute__((target_clones("avx512f", "avx2", "default"))) inline uint64_t read_slice(const uint64_t* p, size_t n) {
  U64x8 s[4] = {};
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int k = 0; k < 4; ++k) {
      U64x8 v;
      std::memcpy(&v, p + i + 8 * k, sizeof v);
      s[k] += v;
    }
  }
  uint64_t r = 0;
  for (; i < n; ++i) r += p[i];
  const U64x8 t = s[0] + s[1] + s[2] + s[3];
  for (int k = 0; k < 8; ++k) r += t[k];
  return r;
}

// One timed pass: `threads` threads each read 1/threads of the buffer. Returns GB/s (1e9 B/s).
inline double read_pass_gbs(const ReadBuffer& buf, int threads, uint64_t* sink) {
  const size_t words = buf.bytes() / 8;
  std::vector<uint64_t> part(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  const auto t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) {
    const size_t b = words * t / threads, e = words * (t + 1) / threads;
    pool.emplace_back([&, t, b, e] { part[t] = read_slice(buf.data() + b, e - b); });
  }
  for (auto& th : pool) th.join();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (uint64_t v : part) *sink += v;
  return static_cast<double>(buf.bytes()) / s / 1e9;
}

// Median and best of `passes` timed passes (after one untimed warm-up pass).
struct Bandwidth {
  double median_gbs = 0, best_gbs = 0;
};

inline Bandwidth read_bandwidth(const ReadBuffer& buf, int threads, int passes, uint64_t* sink) {
  read_pass_gbs(buf, threads, sink);
  std::vector<double> v;
  for (int i = 0; i < passes; ++i) v.push_back(read_pass_gbs(buf, threads, sink));
  std::sort(v.begin(), v.end());
  return Bandwidth{v[v.size() / 2], v.back()};
}

}  // namespace sgl::bench
