#include "support/test_support.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>

namespace sgl::test {

std::optional<std::filesystem::path> shared_dir() {
  const char* env = std::getenv("SGL_SHARED_DIR");
  if (!env || !*env) return std::nullopt;
  std::filesystem::path p(env);
  if (!std::filesystem::is_directory(p)) return std::nullopt;
  return p;
}

namespace {
std::atomic<int> g_skipped{0};
}  // namespace

int skipped_for_missing_data() { return g_skipped.load(); }

std::optional<std::filesystem::path> require_shared(const std::string& what) {
  auto d = shared_dir();
  if (!d) {
    g_skipped.fetch_add(1);
    std::printf("SKIPPED %s: SGL_SHARED_DIR is not set (or not a directory)\n", what.c_str());
    MESSAGE("skipped " << what << ": SGL_SHARED_DIR is not set");
  }
  return d;
}

std::filesystem::path scratch_dir(const std::string& name) {
  const char* env = std::getenv("SGL_TEST_TMPDIR");
  std::filesystem::path base = env && *env ? std::filesystem::path(env) : std::filesystem::temp_directory_path();
  auto p = base / (name + "." + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace sgl::test
