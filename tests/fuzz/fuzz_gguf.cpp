// libFuzzer target: GgufFile::parse on arbitrary bytes must either succeed with every tensor
// inside the buffer or throw sgl::Error — never crash, read out of bounds or throw anything else.
#include <cstdint>
#include <cstdlib>

#include "core/model/gguf_reader.hpp"
#include "sgl/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (bool allow : {false, true}) {
    sgl::gguf::ReadOptions opts;
    opts.allow_unsupported_types = allow;
    try {
      sgl::gguf::GgufFile f = sgl::gguf::GgufFile::parse(data, size, opts);
      for (const auto& t : f.tensors()) {
        if (t.data < data || t.nbytes > size || t.data + t.nbytes > data + size) std::abort();
        // Touch the first and last byte so ASan sees any escape from the buffer.
        if (t.nbytes) {
          volatile uint8_t x = t.data[0];
          x = t.data[t.nbytes - 1];
          (void)x;
        }
      }
      for (const auto& kv : f.metadata()) (void)f.find(kv.first);
    } catch (const sgl::Error&) {
    }
  }
  return 0;
}
