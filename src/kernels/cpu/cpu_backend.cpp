// TEMPORARY placeholder until the optimized CPU backend lands: delegates to ref.
#include "kernels/backend.hpp"

namespace sgl::kernels {
std::unique_ptr<Backend> create_ref_backend(const BackendOptions& opts);
std::unique_ptr<Backend> create_cpu_backend(const BackendOptions& opts) { return create_ref_backend(opts); }
}  // namespace sgl::kernels
