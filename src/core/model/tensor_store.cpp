#include "core/model/tensor_store.hpp"

#include <cstdlib>
#include <cstring>

#include "core/support/check.hpp"

namespace sgl {

void TensorStore::add(TensorRef t) {
  if (!index_.emplace(t.name, tensors_.size()).second)
    SGL_THROW(Status::kParseError, "duplicate tensor '{}'", t.name);
  tensors_.push_back(std::move(t));
}

const TensorRef* TensorStore::find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const void* TensorStore::own(std::vector<uint8_t> bytes) {
  size_t n = (bytes.size() + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, n ? n : 64);
  if (!p) SGL_THROW(Status::kOutOfMemory, "cannot allocate {} bytes for a tensor", bytes.size());
  std::memcpy(p, bytes.data(), bytes.size());
  owners_.emplace_back(p, [](const void* q) { std::free(const_cast<void*>(q)); });
  return p;
}

}  // namespace sgl
