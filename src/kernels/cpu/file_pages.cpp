#include "kernels/cpu/file_pages.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdint>
#include <cstdio>

namespace sgl::kernels::cpu {
namespace {

// Whether [b, e) lies in one line of /proc/self/maps that maps a file privately and read-only.
// Dropping pages of anything else is not harmless: anonymous or written private pages would read
// back as zeros.
bool in_readonly_file_map(uintptr_t b, uintptr_t e) {
  FILE* f = std::fopen("/proc/self/maps", "re");
  if (!f) return false;
  bool ok = false;
  char line[4096];
  while (std::fgets(line, sizeof line, f)) {
    uintptr_t lo = 0, hi = 0;
    char perms[5] = {};
    unsigned long long inode = 0;
    int path_at = 0;
    // start-end perms offset dev inode path
    if (std::sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %4s %*x %*x:%*x %llu %n", &lo, &hi, perms, &inode, &path_at) < 4)
      continue;
    if (!(lo <= b && e <= hi)) continue;
    ok = perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p' && inode != 0 && line[path_at] == '/';
    break;
  }
  std::fclose(f);
  return ok;
}

}  // namespace

size_t drop_file_pages(const void* p, size_t n) {
  const long ps = ::sysconf(_SC_PAGESIZE);
  if (!p || ps <= 0) return 0;
  const uintptr_t page = static_cast<uintptr_t>(ps);
  const uintptr_t b = reinterpret_cast<uintptr_t>(p), e = b + n;
  const uintptr_t lo = (b + page - 1) / page * page, hi = e / page * page;
  if (hi <= lo || !in_readonly_file_map(b, e)) return 0;
  if (::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED) != 0) return 0;
  return hi - lo;
}

}  // namespace sgl::kernels::cpu
