#include "core/kv/kv_pool.hpp"

#include "core/model/model_config.hpp"
#include "core/support/check.hpp"

namespace sgl {

KvPoolConfig kv_pool_config_for(const ModelConfig& m, int page_size, int64_t n_pages, kernels::DType dtype) {
  KvPoolConfig c;
  c.n_layers = static_cast<int>(m.n_layer);
  c.n_kv_heads = static_cast<int>(m.n_head_kv);
  c.head_dim = static_cast<int>(m.head_dim);
  c.page_size = page_size;
  c.n_pages = n_pages;
  c.dtype = dtype;
  c.v_is_k = m.is_mla();
  return c;
}

// One token's K (or V) of one layer: n_kv_heads rows of head_dim; Q8_0 blocks of 32 run along
// head_dim, so a head's row is whole blocks.
static size_t slot_bytes(const KvPoolConfig& c) {
  return kernels::row_bytes(c.dtype, static_cast<int64_t>(c.n_kv_heads) * c.head_dim);
}

size_t KvPool::bytes_per_token(const KvPoolConfig& c) { return (c.v_is_k ? 1ull : 2ull) * c.n_layers * slot_bytes(c); }

KvPool::KvPool(const KvPoolConfig& config, kernels::Backend& backend) : config_(config), backend_(backend) {
  using kernels::DType;
  if (config.dtype != DType::F32 && config.dtype != DType::F16 && config.dtype != DType::BF16 &&
      config.dtype != DType::Q8_0)
    SGL_THROW(Status::kUnsupported, "KV cache dtype {} is not supported (f32, f16, bf16, q8_0)",
              kernels::dtype_name(config.dtype));
  if (config.dtype == DType::Q8_0 && (config.head_dim <= 0 || config.head_dim % kernels::kQK8_0 != 0))
    SGL_THROW(Status::kUnsupported, "a q8_0 KV cache needs head_dim to be a multiple of {} (got {}); use f16",
              kernels::kQK8_0, config.head_dim);
  if (config.page_size <= 0 || config.n_pages <= 0 || config.n_layers <= 0)
    SGL_THROW(Status::kInvalidArgument, "KV pool needs positive page size, page count and layers (got {}, {}, {})",
              config.page_size, config.n_pages, config.n_layers);
  if (config.n_pages > INT32_MAX / config.page_size)
    SGL_THROW(Status::kInvalidArgument, "KV pool of {} pages x {} tokens is too large", config.n_pages, config.page_size);
  const int64_t slots = config.n_pages * config.page_size;
  const size_t bytes = static_cast<size_t>(slots) * slot_bytes(config);
  layers_.reserve(config.n_layers);
  try {
    for (int l = 0; l < config.n_layers; ++l) {
      kernels::KvLayer kv;
      kv.k = backend.alloc(bytes);
      kv.v = config.v_is_k ? kv.k : backend.alloc(bytes);
      kv.dtype = config.dtype;
      kv.n_kv_heads = config.n_kv_heads;
      kv.head_dim = config.head_dim;
      kv.page_size = config.page_size;
      kv.n_slots = slots;
      layers_.push_back(kv);
    }
  } catch (...) {
    for (auto& kv : layers_) {
      if (kv.v != kv.k) backend.free(kv.v);
      backend.free(kv.k);
    }
    throw;
  }
  free_.reserve(config.n_pages);
  for (int64_t p = config.n_pages - 1; p >= 0; --p) free_.push_back(static_cast<int32_t>(p));
  allocated_.assign(config.n_pages, 0);
}

KvPool::~KvPool() {
  for (auto& kv : layers_) {
    if (kv.v != kv.k) backend_.free(kv.v);
    backend_.free(kv.k);
  }
}

bool KvPool::alloc(int64_t n, std::vector<int32_t>& out) {
  if (n < 0 || n > free_pages()) return false;
  for (int64_t i = 0; i < n; ++i) {
    int32_t p = free_.back();
    free_.pop_back();
    allocated_[p] = 1;
    out.push_back(p);
  }
  return true;
}

void KvPool::free(std::span<const int32_t> pages) {
  for (int32_t p : pages) {
    SGL_CHECK(p >= 0 && p < total_pages() && allocated_[p], "freeing KV page {} that is not allocated", p);
    allocated_[p] = 0;
    free_.push_back(p);
  }
}

}  // namespace sgl
