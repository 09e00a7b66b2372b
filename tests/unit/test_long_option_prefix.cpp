// Long-option prefixes as argparse expands them, and the CLI11 adapter the tools parse with.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/support/cli11_parse.hpp"
#include "core/support/long_option_prefix.hpp"
#include "sgl/error.hpp"

using sgl::expand_long_option_prefixes;
using V = std::vector<std::string>;

namespace {
const V kNames = {"--random-input-len", "--random-output-len", "--random-range-ratio", "--port", "--port-offset",
                  "--host", "--help"};
}

TEST_CASE("unambiguous prefixes expand to the full name") {
  CHECK(expand_long_option_prefixes({"--random-input", "1000", "--random-o", "700"}, kNames) ==
        V{"--random-input-len", "1000", "--random-output-len", "700"});
  CHECK(expand_long_option_prefixes({"--ho", "h"}, kNames) == V{"--host", "h"});
}

TEST_CASE("an exact name wins over longer names it is a prefix of") {
  CHECK(expand_long_option_prefixes({"--port", "1"}, kNames) == V{"--port", "1"});
  CHECK(expand_long_option_prefixes({"--port-o", "1"}, kNames) == V{"--port-offset", "1"});
}

TEST_CASE("--opt=value keeps its value") {
  CHECK(expand_long_option_prefixes({"--random-range=1"}, kNames) == V{"--random-range-ratio=1"});
  CHECK(expand_long_option_prefixes({"--port=5000"}, kNames) == V{"--port=5000"});
  CHECK(expand_long_option_prefixes({"--hos=a=b"}, kNames) == V{"--host=a=b"});
}

TEST_CASE("an ambiguous prefix is an error listing the candidates") {
  try {
    expand_long_option_prefixes({"--random", "3"}, kNames);
    FAIL("no error");
  } catch (const sgl::Error& e) {
    CHECK(e.code() == sgl::Status::kInvalidArgument);
    const std::string m = e.what();
    CHECK(m.find("ambiguous option: --random could match") != std::string::npos);
    CHECK(m.find("--random-input-len, --random-output-len, --random-range-ratio") != std::string::npos);
  }
  CHECK_THROWS_AS(expand_long_option_prefixes({"--h"}, kNames), sgl::Error);  // --help, --host
}

TEST_CASE("unknown names, values, short options and everything after -- are left alone") {
  CHECK(expand_long_option_prefixes({"--nope", "-1", "-h", "x"}, kNames) == V{"--nope", "-1", "-h", "x"});
  CHECK(expand_long_option_prefixes({"--", "--ho"}, kNames) == V{"--", "--ho"});
  CHECK(expand_long_option_prefixes({"--"}, kNames) == V{"--"});
}

TEST_CASE("CLI11 adapter: prefixes parse, ambiguity and unknown flags are parse errors naming them") {
  auto make = [](std::string& host, int& in, int& out) {
    auto app = std::make_unique<CLI::App>("t");
    app->add_option("--host", host);
    app->add_option("--random-input-len", in);
    app->add_option("--random-output-len", out);
    return app;
  };
  std::string host;
  int in = 0, out = 0;
  {
    auto app = make(host, in, out);
    std::vector<std::string> s = {"prog", "--random-input", "1000", "--random-out=700", "--ho", "0.0.0.0"};
    std::vector<char*> av;
    for (auto& x : s) av.push_back(x.data());
    sgl::cli11_parse_with_prefixes(*app, static_cast<int>(av.size()), av.data());
    CHECK(in == 1000);
    CHECK(out == 700);
    CHECK(host == "0.0.0.0");
  }
  {
    auto app = make(host, in, out);
    std::vector<std::string> s = {"prog", "--random", "1"};
    std::vector<char*> av;
    for (auto& x : s) av.push_back(x.data());
    try {
      sgl::cli11_parse_with_prefixes(*app, static_cast<int>(av.size()), av.data());
      FAIL("no error");
    } catch (const CLI::ParseError& e) {
      CHECK(std::string(e.what()).find("--random-input-len, --random-output-len") != std::string::npos);
    }
  }
  {
    auto app = make(host, in, out);
    std::vector<std::string> s = {"prog", "--bogus-flag", "1"};
    std::vector<char*> av;
    for (auto& x : s) av.push_back(x.data());
    try {
      sgl::cli11_parse_with_prefixes(*app, static_cast<int>(av.size()), av.data());
      FAIL("no error");
    } catch (const CLI::ParseError& e) {
      CHECK(std::string(e.what()).find("--bogus-flag") != std::string::npos);
    }
  }
}
