// bench_router_tree: memory of sgl-router's approximate radix tree (ApproxTree) per million
// characters of text it holds, and the time of one match + insert, for two request shapes:
// distinct random texts (nothing shared: every byte is a new edge byte) and a shared-prefix
// workload (8 long system prompts, short distinct questions). Memory is the heap growth glibc
// reports (mallinfo2) while the tree is filled, so it counts nodes, edges and tenant stamps.
//   bench_router_tree [--chars N] [--workers W]
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "approx_tree.hpp"

namespace {

size_t heap_bytes() {
  struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

std::string random_text(std::mt19937_64& rng, size_t n) {
  static const char kAlpha[] = "abcdefghijklmnopqrstuvwxyz     ";
  std::string s(n, ' ');
  for (auto& c : s) c = kAlpha[rng() % (sizeof(kAlpha) - 1)];
  return s;
}

void run(const char* name, size_t target, int workers, bool shared) {
  std::mt19937_64 rng(1);
  std::vector<std::string> prefixes;
  for (int i = 0; i < 8; ++i) prefixes.push_back(random_text(rng, 2000));
  const size_t before = heap_bytes();
  double secs = 0;
  size_t requests = 0;
  {
    sgl::router::ApproxTree tree;
    while (tree.total_bytes() < target) {
      std::string text = shared ? prefixes[rng() % 8] + random_text(rng, 200) : random_text(rng, 1000);
      std::string tenant = "http://w" + std::to_string(rng() % static_cast<unsigned>(workers)) + ":5000";
      auto t0 = std::chrono::steady_clock::now();
      tree.match(text);
      tree.insert(text, tenant);
      secs += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      ++requests;
    }
    const size_t grown = heap_bytes() - before;
    const double per_m = static_cast<double>(grown) / (static_cast<double>(tree.total_bytes()) / 1e6);
    std::printf("%-14s %8zu requests  %9zu chars stored  %7zu nodes  heap %7.2f MiB  = %6.2f MiB per 1M chars  "
                "match+insert %.1f us/request\n",
                name, requests, tree.total_bytes(), tree.node_count(), static_cast<double>(grown) / (1 << 20),
                per_m / (1 << 20), secs / static_cast<double>(requests) * 1e6);
  }
}

}  // namespace

int main(int argc, char** argv) {
  size_t chars = 8'000'000;
  int workers = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--chars") chars = std::strtoull(argv[i + 1], nullptr, 10);
    else if (k == "--workers") workers = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: %s [--chars N] [--workers W]\n", argv[0]);
      return 2;
    }
  }
  if (chars == 0 || workers <= 0) {
    std::fprintf(stderr, "--chars and --workers must be positive\n");
    return 2;
  }
  run("distinct", chars, workers, false);
  run("shared-prefix", chars, workers, true);
  return 0;
}
