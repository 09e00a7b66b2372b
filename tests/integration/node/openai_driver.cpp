// Runs tests/integration/node/openai_test.mjs (the official `openai` npm client) against an
// in-process sgl-server on a free loopback port. Exit code: node's; 77 (ctest "skipped") when
// the npm package is not installed (run tests/integration/node/install.sh).
// test_support.cpp reports through doctest, so this non-doctest program carries doctest's
// implementation (without its main).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "server_fixture.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s NODE NODE_TEST_DIR\n", argv[0]);
    return 2;
  }
  const std::string node = argv[1];
  const std::filesystem::path dir = argv[2];
  if (!std::filesystem::exists(dir / "node_modules" / "openai" / "package.json")) {
    std::printf("skipped: the openai npm package is not installed (run %s)\n", (dir / "install.sh").c_str());
    return 77;
  }
  try {
    // Parsers that leave ordinary text alone (qwen3 needs an opening <think>), so the plain chat
    // checks see the model's text and the reasoning / tool checks see parsed fields.
    sgl::test::ServerFixture server([](sgl::server::ServerArgs& a) {
      a.reasoning_parser = "qwen3";
      a.tool_call_parser = "qwen25";
    });
    std::string url = "http://127.0.0.1:" + std::to_string(server.port());
    std::string cmd = "SGL_SERVER_URL='" + url + "' timeout 300 '" + node + "' '" + (dir / "openai_test.mjs").string() + "'";
    int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "openai_driver: %s\n", e.what());
    return 1;
  }
}
