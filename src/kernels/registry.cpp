#include <string>

#include "core/support/check.hpp"
#include "kernels/backend.hpp"

namespace sgl::kernels {

std::unique_ptr<Backend> create_cpu_backend(const BackendOptions& opts);
std::unique_ptr<Backend> create_ref_backend(const BackendOptions& opts);

namespace {
// The one explicit list of backends in this build. A GCU entry joins it where the SDK is found.
const BackendEntry kBackends[] = {
    {"cpu", kBackendApiVersion, &create_cpu_backend},
    {"ref", kBackendApiVersion, &create_ref_backend},
};
}  // namespace

std::span<const BackendEntry> backend_registry() { return kBackends; }

std::unique_ptr<Backend> create_backend(std::string_view device, const BackendOptions& opts) {
  std::string_view name = device.substr(0, device.find(':'));
  if (name.empty()) name = "cpu";
  std::string available;
  for (const BackendEntry& e : kBackends) {
    if (e.name == name) {
      if (device.find(':') != std::string_view::npos && device.substr(device.find(':') + 1) != "0")
        SGL_THROW(Status::kUnsupported, "device '{}': backend '{}' has only device 0", device, name);
      return e.create(opts);
    }
    available += available.empty() ? e.name : std::string(", ") + e.name;
  }
  SGL_THROW(Status::kUnsupported, "device '{}' is not available in this build (available: {})", device, available);
}

}  // namespace sgl::kernels
