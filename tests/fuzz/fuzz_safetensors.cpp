// libFuzzer target: SafetensorsFile::parse on arbitrary bytes must either succeed with every
// tensor inside the buffer or throw sgl::Error — never crash or read out of bounds.
#include <cstdint>
#include <cstdlib>

#include "core/model/safetensors.hpp"
#include "sgl/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    sgl::safetensors::SafetensorsFile f = sgl::safetensors::SafetensorsFile::parse(data, size);
    for (const auto& t : f.tensors()) {
      if (t.data < data || t.data + t.nbytes() > data + size) std::abort();
      if (t.nbytes()) {
        volatile uint8_t x = t.data[0];
        x = t.data[t.nbytes() - 1];
        (void)x;
      }
    }
  } catch (const sgl::Error&) {
  }
  return 0;
}
