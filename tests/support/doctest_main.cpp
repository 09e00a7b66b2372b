// doctest's main, plus ctest skip reporting: a run in which some test needed $SGL_SHARED_DIR and
// did not find it, and nothing failed, exits with kSkipReturnCode (ctest: SKIP_RETURN_CODE), so
// "passed" always means every check ran.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "support/test_support.hpp"

int main(int argc, char** argv) {
  doctest::Context ctx(argc, argv);
  const int rc = ctx.run();
  if (ctx.shouldExit() || rc != 0) return rc;
  if (const int n = sgl::test::skipped_for_missing_data(); n > 0) {
    std::printf("SKIPPED: %d check(s) need SGL_SHARED_DIR, which is not set; reporting the run as skipped\n", n);
    return sgl::test::kSkipReturnCode;
  }
  return rc;
}
