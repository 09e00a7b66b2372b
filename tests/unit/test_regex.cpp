// Regex front end: each construct, full-match semantics on the DFA (checked against the NFA
// simulation), rejections by name with positions, the DFA state bound, and generation under a
// regex (every completion full-matches).
#include <doctest/doctest.h>

#include "core/grammar/grammar_matcher.hpp"
#include "core/grammar/regex_dfa.hpp"
#include "core/grammar/regex_parser.hpp"
#include "sgl/error.hpp"
#include "unit/grammar_test_walk.hpp"

using namespace sgl::grammar;

namespace {

bool full(const std::string& re, const std::string& s) {
  Expr e = parse_regex(re).expr;
  Dfa d = build_dfa(e);
  bool dfa = d.matches(s);
  bool nfa = nfa_full_match(e, s);
  CHECK_MESSAGE(dfa == nfa, "DFA and NFA disagree on /" << re << "/ with '" << s << "'");
  return dfa;
}

void rejects(const std::string& re, const std::string& what, int64_t offset) {
  try {
    parse_regex(re);
    FAIL_CHECK("accepted /" << re << "/");
  } catch (const sgl::Error& e) {
    CHECK(e.code() == sgl::Status::kParseError);
    CHECK_MESSAGE(std::string(e.what()).find(what) != std::string::npos, e.what());
    CHECK_MESSAGE(e.offset() == offset, e.what());
  }
}

}  // namespace

TEST_CASE("regex: literals, escapes, dot, classes") {
  CHECK(full("abc", "abc"));
  CHECK_FALSE(full("abc", "abcd"));
  CHECK_FALSE(full("abc", "ab"));
  CHECK(full(R"(a\.b\*\+\?\(\)\[\]\{\}\|\\\^\$\/)", R"(a.b*+?()[]{}|\^$/)"));
  CHECK(full(R"(\n\t\r\x41\u00e9)", "\n\t\rAé"));
  CHECK(full("a.c", "abc"));
  CHECK(full("a.c", "aéc"));      // one multi-byte character is one '.'
  CHECK(full("a.c", "a😀c"));
  CHECK_FALSE(full("a.c", "a\nc"));
  CHECK_FALSE(full("a.c", "a\xC3" "c"));  // invalid UTF-8 never matches
  CHECK(full("[a-c]+", "abcba"));
  CHECK_FALSE(full("[a-c]+", "abd"));
  CHECK(full("[^a-c]", "d"));
  CHECK(full("[^a-c]", "ж"));
  CHECK_FALSE(full("[^a-c]", "b"));
  CHECK(full("[]a]", "]"));
  CHECK(full("[a-]", "-"));
  CHECK(full(R"([\d\-x])", "-"));
  CHECK(full(R"(\d\w\s)", "7_ "));
  CHECK_FALSE(full(R"(\d)", "٣"));  // ASCII semantics
  CHECK(full(R"(\D\W\S)", "aé!"));
  CHECK(full("[α-ω]+", "λμ"));
  CHECK_FALSE(full("[α-ω]+", "a"));
  CHECK(full("日本", "日本"));
  CHECK(full("[\\x{1F600}-\\x{1F64F}]", "😀"));
}

TEST_CASE("regex: quantifiers, groups, alternation, anchors") {
  CHECK(full("a*", ""));
  CHECK(full("a+b?", "aaab"));
  CHECK_FALSE(full("a+", ""));
  CHECK(full("a{3}", "aaa"));
  CHECK_FALSE(full("a{3}", "aa"));
  CHECK(full("a{2,}", "aaaaa"));
  CHECK_FALSE(full("a{2,}", "a"));
  CHECK(full("a{2,3}", "aaa"));
  CHECK_FALSE(full("a{2,3}", "aaaa"));
  CHECK(full("a{,3}", "a{,3}"));  // not a quantifier: literal, as Python
  CHECK(full("a*?b+?c??", "aabc"));
  CHECK(full("(ab|cd)+", "abcdab"));
  CHECK(full("(?:ab|cd){2}", "cdcd"));
  CHECK(full("x(a|)y", "xy"));
  CHECK(full("^abc$", "abc"));
  CHECK(full("(?:(?:a)?)+", "a"));
  CHECK(full("(a*)*", "aaa"));
}

TEST_CASE("regex: unsupported constructs are rejected by name with the position") {
  rejects("ab(?=c)", "lookahead", 2);
  rejects("ab(?!c)", "lookahead", 2);
  rejects("a(?<=b)", "lookbehind", 1);
  rejects("(a)\\1", "backreference", 3);
  rejects("a\\bc", "word boundary", 1);
  rejects("(?P<name>a)", "named group", 0);
  rejects("(?<name>a)", "named group", 0);
  rejects("(?i)abc", "flags", 0);
  rejects("a^b", "anchor '^'", 1);
  rejects("a$b", "anchor '$'", 1);
  rejects("\\p{L}", "Unicode property", 0);
  rejects("a**", "quantifier follows a quantifier", 2);
  rejects("a++", "possessive", 2);
  rejects("*a", "nothing to repeat", 0);
  rejects("(ab", "missing ')'", 0);
  rejects("ab)", "unbalanced ')'", 2);
  rejects("[ab", "missing ']'", 0);
  rejects("[z-a]", "out of order", 1);
  rejects("a{5,2}", "m > n", 1);
  rejects("\\", "backslash", 0);
  rejects("\\q", "unknown escape", 0);
}

TEST_CASE("regex: DFA is minimized and bounded") {
  Dfa d = build_dfa(parse_regex("(a|b)*abb").expr);
  CHECK(d.size() == 4);  // the textbook minimal DFA
  Dfa d2 = build_dfa(parse_regex("(aa|a)(a|aa)").expr);
  CHECK(d2.size() == 5);  // a{2,4}: 5 states, the dead state not materialized
  DfaLimits lim;
  lim.max_states = 50;
  try {
    build_dfa(parse_regex("(a|b)*a(a|b){10}").expr, lim);  // needs 2^11 states
    FAIL_CHECK("state bound not enforced");
  } catch (const sgl::Error& e) {
    CHECK(e.code() == sgl::Status::kInvalidArgument);
    CHECK(std::string(e.what()).find("50 states") != std::string::npos);
  }
  CHECK_THROWS_AS(parse_regex("a{100000}"), sgl::Error);
}

TEST_CASE("regex: token matcher generations full-match the pattern") {
  Vocab v = sgl::test::synthetic_vocab();
  auto idx = std::make_shared<const VocabIndex>(v);
  const char* patterns[] = {R"([a-z]{2,8}@[a-z]{3,6}\.(com|org))", R"(-?(0|[1-9]\d*)(\.\d+)?)",
                            R"(\((\d{3})\) \d{3}-\d{4})", R"((ab|cd)*e?)", "[^\"]{1,12}", "日本.{0,3}"};
  for (const char* p : patterns) {
    auto cg = compile_grammar(GrammarKind::kRegex, p, idx);
    Expr e = parse_regex(p).expr;
    int done = 0;
    for (uint64_t seed = 1; seed <= 8; ++seed) {
      GrammarMatcher m(cg);
      auto r = sgl::test::random_walk(m, v, seed, 60);
      if (!r.completed) continue;
      ++done;
      CHECK_MESSAGE(nfa_full_match(e, r.text), "/" << p << "/ generated '" << r.text << "'");
    }
    CHECK_MESSAGE(done >= 4, p);
  }
}

TEST_CASE("regex matcher: rollback, termination and jump-forward") {
  Vocab v = sgl::test::synthetic_vocab();
  auto cg = compile_grammar(GrammarKind::kRegex, "name: (true|false)!", v);
  GrammarMatcher m(cg);
  CHECK(m.find_jump_forward_string() == "name: ");
  CHECK(m.accept_bytes("name: "));
  CHECK(m.find_jump_forward_string().empty());  // t or f
  CHECK(m.accept_bytes("t"));
  CHECK(m.find_jump_forward_string() == "rue!");
  CHECK_FALSE(m.can_terminate());
  CHECK(m.accept_bytes("rue!"));
  CHECK(m.can_terminate());
  CHECK(m.accept_token(v.eos_ids[0]));
  CHECK(m.is_terminated());
  m.rollback(3);
  CHECK_FALSE(m.is_terminated());
  CHECK(m.find_jump_forward_string().empty());
  CHECK(m.accept_bytes("f"));
  CHECK_FALSE(m.accept_bytes("x"));
  CHECK(m.find_jump_forward_string() == "alse!");
}
