// Every case of $SGL_SHARED_DIR/conformance/regex/cases.jsonl gives its expected full-match
// result on the minimized DFA and on the byte-level token matcher (accept_bytes + can_terminate).
#include <doctest/doctest.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/grammar/grammar_matcher.hpp"
#include "core/grammar/regex_dfa.hpp"
#include "core/grammar/regex_parser.hpp"
#include "support/test_support.hpp"
#include "unit/grammar_test_walk.hpp"

using namespace sgl::grammar;

TEST_CASE("regex conformance cases") {
  auto dir = sgl::test::require_shared("conformance/regex/cases.jsonl");
  if (!dir) return;
  std::ifstream in(*dir / "conformance/regex/cases.jsonl");
  REQUIRE(in.good());
  Vocab v = sgl::test::synthetic_vocab();
  auto idx = std::make_shared<const VocabIndex>(v);
  std::string line;
  int cases = 0, passed = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    std::string pat = j["pattern"], s = j["string"];
    bool want = j["should_match"];
    ++cases;
    Dfa d = build_dfa(parse_regex(pat).expr);
    bool got = d.matches(s);
    auto cg = compile_grammar(GrammarKind::kRegex, pat, idx);
    GrammarMatcher m(cg);
    bool via_matcher = m.accept_bytes(s) && m.can_terminate();
    CHECK_MESSAGE(got == want, "/" << pat << "/ on '" << s << "': expected " << want);
    CHECK_MESSAGE(via_matcher == want, "matcher: /" << pat << "/ on '" << s << "'");
    if (got == want && via_matcher == want) ++passed;
  }
  std::cout << "regex conformance: " << passed << "/" << cases << " cases passed\n";
  CHECK(cases == 60);
  CHECK(passed == cases);
}
