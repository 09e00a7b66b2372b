// GGUF v3 writer, for tools (sgl-mkmodel, sgl-quantize) and tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/model/gguf_value.hpp"
#include "kernels/dtype.hpp"

namespace sgl::gguf {

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t alignment = 32) : alignment_(alignment) {}

  void set(std::string key, Value value);
  // dims in GGUF order (dims[0] innermost); `data` must hold exactly the tensor's bytes.
  void add_tensor(std::string name, kernels::DType dtype, std::vector<int64_t> dims, std::vector<uint8_t> data);

  // Serialises header, metadata, tensor infos and aligned data.
  std::vector<uint8_t> to_bytes() const;
  // Writes atomically (temp file + rename). Throws sgl::Error(kIoError).
  void write(const std::string& path) const;

 private:
  struct Tensor {
    std::string name;
    kernels::DType dtype;
    std::vector<int64_t> dims;
    std::vector<uint8_t> data;
  };
  uint32_t alignment_;
  std::vector<std::pair<std::string, Value>> kv_;
  std::vector<Tensor> tensors_;
};

}  // namespace sgl::gguf
