// TensorStore: named weight tensors from any source (GGUF, safetensors), in GGUF naming and
// layout (dims[0] innermost; "blk.N.attn_q.weight" ...). Owns whatever keeps the bytes alive.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kernels/dtype.hpp"

namespace sgl {

struct TensorRef {
  std::string name;
  kernels::DType dtype = kernels::DType::F32;
  std::vector<int64_t> dims;  // dims[0] innermost (= columns of a matrix)
  const void* data = nullptr;
  size_t nbytes = 0;

  int64_t n_elements() const {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    return n;
  }
};

class TensorStore {
 public:
  // Throws sgl::Error(kParseError) on a duplicate name.
  void add(TensorRef t);
  const TensorRef* find(std::string_view name) const;
  const std::vector<TensorRef>& all() const { return tensors_; }
  // Keeps `owner` (a mapping, a converted buffer) alive as long as the store.
  void keep_alive(std::shared_ptr<const void> owner) { owners_.push_back(std::move(owner)); }
  // Copies `bytes` into storage owned by the store and returns a pointer to it (64-byte aligned).
  const void* own(std::vector<uint8_t> bytes);

 private:
  std::vector<TensorRef> tensors_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<std::shared_ptr<const void>> owners_;
};

}  // namespace sgl
