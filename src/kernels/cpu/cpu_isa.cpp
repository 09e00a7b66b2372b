// Which SIMD level this CPU can run. Detected once; the AVX-512 table needs VNNI too, because
// its integer dot products are vpdpbusd (CPUs with AVX-512 but no VNNI get the AVX2 table), and
// AVX512-BF16, because those files are compiled with -mavx512bf16 (cmake/Sources.cmake), so the
// compiler may emit BF16 instructions in them (Skylake-X and Ice Lake have VNNI but not BF16).
#include <cstring>

#include "kernels/cpu/cpu_kernels.hpp"

namespace sgl::kernels::cpu {

Isa detect_isa() {
  static const Isa best = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bf16") &&
        __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("bmi2"))
      return Isa::kAvx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c") &&
        __builtin_cpu_supports("bmi2"))
      return Isa::kAvx2;
    return Isa::kScalar;
  }();
  return best;
}

bool parse_isa(const char* s, Isa* out) {
  if (std::strcmp(s, "scalar") == 0)
    *out = Isa::kScalar;
  else if (std::strcmp(s, "avx2") == 0)
    *out = Isa::kAvx2;
  else if (std::strcmp(s, "avx512") == 0)
    *out = Isa::kAvx512;
  else
    return false;
  return true;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return "scalar";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
  }
  return "?";
}

}  // namespace sgl::kernels::cpu
