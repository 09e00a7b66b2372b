// Helpers shared by tests: the shared-data folder, a scratch folder, and small utilities.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace sgl::test {

// $SGL_SHARED_DIR if set and existing, else nullopt.
std::optional<std::filesystem::path> shared_dir();

// Returns the shared dir, or prints why the test is skipped, counts the skip and returns
// nullopt. Usage: auto dir = require_shared("stories260K"); if (!dir) return;
std::optional<std::filesystem::path> require_shared(const std::string& what);

// How many require_shared() calls found no shared data. The doctest main (doctest_main.cpp)
// then exits with kSkipReturnCode, registered as ctest's SKIP_RETURN_CODE, so such a run shows
// as skipped rather than passed.
int skipped_for_missing_data();
constexpr int kSkipReturnCode = 77;

// A fresh directory unique to this process and `name`, under $SGL_TEST_TMPDIR or /tmp.
std::filesystem::path scratch_dir(const std::string& name);

std::string read_text(const std::filesystem::path& p);

}  // namespace sgl::test
