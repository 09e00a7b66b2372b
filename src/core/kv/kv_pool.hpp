// KvPool: the K/V storage of every layer, paged in blocks of page_size tokens and sized once
// at start. A page is the unit of allocation; slot s of a layer is token s % page_size of page
// s / page_size. The pool knows nothing about requests: the radix cache and scheduler decide
// who holds which pages.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/backend.hpp"

namespace sgl {

struct ModelConfig;

struct KvPoolConfig {
  int n_layers = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  int page_size = 1;
  int64_t n_pages = 0;
  kernels::DType dtype = kernels::DType::F16;  // F32, F16, BF16 or Q8_0
  // MLA (deepseek2): V is the leading part of the K row, so a layer stores one row per token
  // and KvLayer::v points at the K storage.
  bool v_is_k = false;
};

// The pool layout a model needs: its KV heads and head_dim, and for MLA the single shared row.
KvPoolConfig kv_pool_config_for(const ModelConfig& model, int page_size, int64_t n_pages, kernels::DType dtype);

class KvPool {
 public:
  // Allocates n_pages * page_size slots per layer on the backend. Throws sgl::Error.
  KvPool(const KvPoolConfig& config, kernels::Backend& backend);
  ~KvPool();
  KvPool(const KvPool&) = delete;
  KvPool& operator=(const KvPool&) = delete;

  const KvPoolConfig& config() const { return config_; }
  int page_size() const { return config_.page_size; }
  int64_t total_pages() const { return config_.n_pages; }
  int64_t free_pages() const { return static_cast<int64_t>(free_.size()); }
  int64_t used_pages() const { return total_pages() - free_pages(); }
  const std::vector<kernels::KvLayer>& layers() const { return layers_; }

  // Bytes of K+V for one token across all layers (K only when v_is_k).
  static size_t bytes_per_token(const KvPoolConfig& c);

  // Appends n page ids to `out`; returns false (allocating nothing) if fewer than n are free.
  bool alloc(int64_t n, std::vector<int32_t>& out);
  // Returns pages to the free list. Freeing a page that is not allocated is a bug (checked).
  void free(std::span<const int32_t> pages);

 private:
  KvPoolConfig config_;
  kernels::Backend& backend_;
  std::vector<kernels::KvLayer> layers_;
  std::vector<int32_t> free_;
  std::vector<uint8_t> allocated_;
};

}  // namespace sgl
