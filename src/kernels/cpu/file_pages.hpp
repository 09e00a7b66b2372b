// Residency of read-only file mappings (Linux): lets the CPU backend hand back the pages of a
// weight matrix it has repacked, without changing what the matrix's pointer reads.
#pragma once

#include <cstddef>

namespace sgl::kernels::cpu {

// If [p, p + n) lies inside one private, read-only mapping of a regular file (the GGUF or
// safetensors map), drops this process's pages of it that lie wholly inside the range
// (madvise MADV_DONTNEED) and returns the bytes dropped; otherwise (heap memory, writable or
// shared maps, unknown layout) does nothing and returns 0. The range stays valid: a later read
// faults the page back in from the file (still in the page cache unless the kernel reclaimed it),
// so this only changes resident memory, never contents.
size_t drop_file_pages(const void* p, size_t n);

}  // namespace sgl::kernels::cpu
