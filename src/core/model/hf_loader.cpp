// TEMPORARY placeholder until the safetensors/HF loader lands.
#include "core/model/model_loader.hpp"
#include "core/support/check.hpp"

namespace sgl {
ModelConfig config_from_hf_dir(const std::string& dir) {
  SGL_THROW(Status::kUnsupported, "HF model directories are not supported yet ('{}')", dir);
}
std::shared_ptr<TensorStore> tensors_from_hf_dir(const std::string& dir, const ModelConfig&) {
  SGL_THROW(Status::kUnsupported, "HF model directories are not supported yet ('{}')", dir);
}
}  // namespace sgl
