// bench_membw: the machine's sustained read bandwidth with 1..N threads, so that decode speed
// (which streams every weight once per token) can be stated as a share of the physical limit.
// The buffer must be far larger than the last-level cache; the default 1 GiB is.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "support/membw.hpp"

int main(int argc, char** argv) {
  CLI::App app{"sustained memory read bandwidth (STREAM-like sum over a large buffer)"};
  int max_threads = 2, passes = 7;
  size_t mib = 1024;
  app.add_option("-t,--threads", max_threads, "measure with 1..t threads")->check(CLI::Range(1, 256));
  app.add_option("-s,--size-mib", mib, "buffer size in MiB (far above the LLC)")->check(CLI::Range(64, 1 << 20));
  app.add_option("-r,--passes", passes, "timed passes per thread count (median is reported)")->check(CLI::Range(1, 1000));
  CLI11_PARSE(app, argc, argv);
  try {
    sgl::bench::ReadBuffer buf(mib << 20);
    uint64_t sink = 0;
    std::printf("buffer: %zu MiB, %d passes per row\n", mib, passes);
    std::printf("| threads | read GB/s (median) | best |\n|---|---|---|\n");
    for (int t = 1; t <= max_threads; ++t) {
      const auto bw = sgl::bench::read_bandwidth(buf, t, passes, &sink);
      std::printf("| %d | %.1f | %.1f |\n", t, bw.median_gbs, bw.best_gbs);
    }
    std::fprintf(stderr, "checksum %llx\n", static_cast<unsigned long long>(sink));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
