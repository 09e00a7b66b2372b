// Writes the synthetic model the C tests load; C cannot call the C++ model writer itself.
#include <cstdlib>
#include <filesystem>
#include <string>

#include "capi_test.h"
#include "core/model/synthetic_model.hpp"

int capi_test_failures = 0;

extern "C" const char* capi_test_model_path(const char* tag) {
  static std::string path;
  if (path.empty()) {
    const char* tmp = std::getenv("SGL_TEST_TMPDIR");
    std::filesystem::path dir = tmp && *tmp ? tmp : std::filesystem::temp_directory_path().string();
    std::filesystem::create_directories(dir);
    path = (dir / (std::string("capi_") + tag + ".gguf")).string();
    sgl::SyntheticSpec s = sgl::synthetic_preset("tiny");
    s.n_ctx = 512;
    sgl::write_synthetic_gguf(s, path);
  }
  return path.c_str();
}

extern "C" sgl_engine_params capi_test_engine_params(const char* tag, const char* device) {
  sgl_engine_params p = sgl_engine_params_default();
  p.model_path = capi_test_model_path(tag);
  p.device = device;
  p.threads = 1;
  p.max_total_tokens = 4096;
  p.kv_cache_dtype = "f32";
  p.random_seed = 7;
  return p;
}
