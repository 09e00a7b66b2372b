// sgl-server's command line: SGLang's reference launch line parses, every compatibility flag is
// accepted and logs what it does, prefixes expand, unknown flags fail naming the flag.
#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

#include "compat_flags.hpp"
#include "server_args.hpp"
#include "sgl/error.hpp"
#include "support/test_support.hpp"

using sgl::server::ServerArgs;

namespace {

// Parses `args` (program name added); returns parse_server_args' code (-1 = go on).
int parse(std::vector<std::string> args, ServerArgs& out) {
  args.insert(args.begin(), "sgl-server");
  std::vector<char*> av;
  for (auto& a : args) av.push_back(a.data());
  return sgl::server::parse_server_args(static_cast<int>(av.size()), av.data(), out);
}

bool has_line(const std::vector<std::string>& lines, const std::string& part) {
  for (const auto& l : lines)
    if (l.find(part) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("the deployment guide's launch line parses and each device flag logs one line") {
  ServerArgs a;
  REQUIRE(parse({"--model-path", "M", "--host", "0.0.0.0", "--port", "5000", "--trust-remote-code",
                 "--cuda-graph-max-bs", "64", "--enable-ep-moe", "--mem-fraction-static", "0.65",
                 "--disable-radix-cache", "--max-prefill-tokens", "4096", "--chunked-prefill-size", "-1"},
                a) == -1);
  CHECK(a.engine.model_path == "M");
  CHECK(a.host == "0.0.0.0");
  CHECK(a.port == 5000);
  CHECK(a.engine.mem_fraction_static == doctest::Approx(0.65));
  CHECK(a.engine.disable_radix_cache);
  CHECK(a.engine.max_prefill_tokens == 4096);
  CHECK(a.engine.chunked_prefill_size == -1);
  CHECK(a.compat.info.size() == 3);
  CHECK(has_line(a.compat.info, "--trust-remote-code has no effect here"));
  CHECK(has_line(a.compat.info, "--cuda-graph-max-bs 64 has no effect here"));
  CHECK(has_line(a.compat.info, "--enable-ep-moe maps to"));
  CHECK(a.ep_size == a.tp_size);
  CHECK(a.compat.refused.empty());
}

TEST_CASE("every compatibility flag is accepted with a value or as a switch") {
  for (const std::string& name : sgl::server::compat_flag_names()) {
    CAPTURE(name);
    ServerArgs a;
    int rc = parse({"--model-path", "M", name}, a);  // switches
    if (rc != -1) {
      ServerArgs b;
      rc = parse({"--model-path", "M", name, "1"}, b);  // one value (or a list of one)
      CHECK(rc == -1);
      CHECK(b.compat.info.size() + b.compat.refused.size() == 1);
    } else {
      CHECK(a.compat.info.size() + a.compat.refused.size() == 1);
    }
  }
}

TEST_CASE("flags that would change answers are refused at validation, naming the flag") {
  ServerArgs a;
  REQUIRE(parse({"--model-path", "M", "--lora-paths", "a", "b"}, a) == -1);
  try {
    a.validate();
    FAIL("validated");
  } catch (const sgl::Error& e) {
    CHECK(e.code() == sgl::Status::kUnsupported);
    CHECK(std::string(e.what()).find("--lora-paths a b is not supported") != std::string::npos);
  }
}

TEST_CASE("prefixes expand; unknown and ambiguous flags fail") {
  ServerArgs a;
  REQUIRE(parse({"--model-p", "M", "--cuda-graph-m", "8", "--mem-frac", "0.3"}, a) == -1);
  CHECK(a.engine.model_path == "M");
  CHECK(a.engine.mem_fraction_static == doctest::Approx(0.3));
  CHECK(has_line(a.compat.info, "--cuda-graph-max-bs 8"));
  ServerArgs b;
  CHECK(parse({"--model-path", "M", "--no-such-flag"}, b) > 0);
  ServerArgs c;
  CHECK(parse({"--model-path", "M", "--cuda-graph", "1"}, c) > 0);  // --cuda-graph-bs / --cuda-graph-max-bs
}

TEST_CASE("--chat-template takes a built-in name or a file, else fails naming the built-ins") {
  ServerArgs a;
  REQUIRE(parse({"--model-path", "M", "--chat-template", "chatml"}, a) == -1);
  CHECK(a.chat_template == "chatml");
  CHECK_NOTHROW(a.validate());
  auto dir = sgl::test::scratch_dir("server_args");
  std::ofstream(dir / "t.jinja") << "{{ messages[0]['content'] }}";
  ServerArgs f;
  REQUIRE(parse({"--model-path", "M", "--chat-template", (dir / "t.jinja").string()}, f) == -1);
  CHECK_NOTHROW(f.validate());
  ServerArgs bad;
  REQUIRE(parse({"--model-path", "M", "--chat-template", "no-such-template"}, bad) == -1);
  try {
    bad.validate();
    FAIL("validated");
  } catch (const sgl::Error& e) {
    CHECK(std::string(e.what()).find("llama-3") != std::string::npos);
  }
}

TEST_CASE("--reasoning-parser and --tool-call-parser take SGLang's names") {
  ServerArgs a;
  REQUIRE(parse({"--model-path", "M", "--reasoning-parser", "qwen3", "--tool-call-parser", "qwen25"}, a) == -1);
  CHECK(a.reasoning_parser == "qwen3");
  CHECK(a.tool_call_parser == "qwen25");
  ServerArgs b;
  CHECK(parse({"--model-path", "M", "--reasoning-parser", "bogus"}, b) > 0);
}

TEST_CASE("--dp-size and --load-balance-method are validated; tp/ep/nnodes > 1 are refused by name") {
  auto refused = [](std::vector<std::string> flags, const std::string& part) {
    ServerArgs a;
    flags.insert(flags.begin(), {"--model-path", "M"});
    REQUIRE(parse(flags, a) == -1);
    try {
      a.validate();
      FAIL("accepted");
    } catch (const sgl::Error& e) {
      CHECK(std::string(e.what()).find(part) != std::string::npos);
    }
  };
  refused({"--dp-size", "0"}, "--dp-size must be in [1, 64]");
  refused({"--dp-size", "2", "--load-balance-method", "fastest"}, "--load-balance-method must be round_robin");
  refused({"--tp-size", "2"}, "--tp-size 2 is not supported");
  refused({"--ep-size", "4"}, "--ep-size 4 is not supported");
  refused({"--nnodes", "2", "--node-rank", "1"}, "--nnodes 2 is not supported");
  refused({"--node-rank", "1"}, "--node-rank must be in [0, --nnodes)");
  refused({"--dist-init-addr", "nohost"}, "--dist-init-addr 'nohost' must be HOST:PORT");
  refused({"--dist-init-addr", "10.0.0.1:8746"}, "--dist-init-addr is not supported");
  ServerArgs a;
  REQUIRE(parse({"--model-path", "M", "--dp-size", "4", "--load-balance-method", "minimum_tokens"}, a) == -1);
  CHECK(a.dp_size == 4);
  CHECK(a.load_balance_method == "minimum_tokens");
}
