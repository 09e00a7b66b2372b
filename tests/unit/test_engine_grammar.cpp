// Constrained decoding through the Engine: a random-weight model sampled at temperature 1 under
// regex / JSON schema / EBNF grammars must only produce strings the grammar accepts, checked by
// independent means (std::regex, nlohmann::json plus hand-written field checks, a small
// recursive-descent parser), and bad grammars must fail at submit().
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "core/support/check.hpp"
#include "engine_test_util.hpp"

using namespace sgl;
using nlohmann::json;

namespace {

Engine& engine() {
  static Engine e(test::tiny_config());
  return e;
}

// n samples at temperature 1 (distinct seeds per sample index) under one grammar.
std::vector<Result> sample(SamplingParams sp, int n, uint64_t seed) {
  Request r;
  r.input_ids = {1, 300, 301, 302};
  sp.temperature = 1.0f;
  sp.max_new_tokens = 64;
  sp.n = n;
  sp.seed = seed;
  r.sampling = std::move(sp);
  return engine().submit(std::move(r)).wait();
}

// Only finished-by-grammar outputs are complete strings; `length` ones are prefixes. Returns
// the complete texts and checks that most samples completed.
std::vector<std::string> completed(const std::vector<Result>& rs) {
  std::vector<std::string> out;
  for (const Result& r : rs) {
    REQUIRE_MESSAGE(r.ok(), r.finish.message);
    if (r.finish.kind == FinishKind::kStop) out.push_back(r.text);
    else CHECK(r.finish.kind == FinishKind::kLength);
  }
  CHECK(out.size() * 2 >= rs.size());
  return out;
}

// Independent checker for: expr ::= term (("+"|"-") term)*, term ::= factor (("*"|"/") factor)*,
// factor ::= [0-9]+ | "(" expr ")".
struct Arith {
  const std::string& s;
  size_t i = 0;
  bool factor() {
    if (i < s.size() && s[i] == '(') {
      ++i;
      if (!expr() || i >= s.size() || s[i] != ')') return false;
      ++i;
      return true;
    }
    size_t b = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > b;
  }
  bool term() {
    if (!factor()) return false;
    while (i < s.size() && (s[i] == '*' || s[i] == '/')) {
      ++i;
      if (!factor()) return false;
    }
    return true;
  }
  bool expr() {
    if (!term()) return false;
    while (i < s.size() && (s[i] == '+' || s[i] == '-')) {
      ++i;
      if (!term()) return false;
    }
    return true;
  }
  bool full() { return expr() && i == s.size(); }
};

}  // namespace

TEST_CASE("regex-constrained samples full-match the regex") {
  for (const char* re : {R"([a-z]{3,8}@[a-z]+\.(com|org))", R"(\d{3}-\d{4})"}) {
    SamplingParams sp;
    sp.regex = re;
    auto texts = completed(sample(sp, 20, 11));
    const std::regex check(re, std::regex::ECMAScript);
    for (const auto& t : texts) {
      INFO("regex " << re << " text '" << t << "'");
      CHECK(std::regex_match(t, check));
    }
  }
}

TEST_CASE("json-schema-constrained samples parse and follow the schema") {
  json schema = {{"type", "object"},
                 {"properties",
                  {{"name", {{"type", "string"}, {"maxLength", 6}}},
                   {"age", {{"type", "integer"}}},
                   {"color", {{"enum", {"red", "green", "blue"}}}},
                   {"tags", {{"type", "array"}, {"items", {{"type", "string"}, {"maxLength", 3}}}, {"maxItems", 2}}}}},
                 {"required", {"name", "age", "color"}},
                 {"additionalProperties", false}};
  SamplingParams sp;
  sp.json_schema = schema.dump();
  auto texts = completed(sample(sp, 20, 21));
  for (const auto& t : texts) {
    INFO("text '" << t << "'");
    json v = json::parse(t, nullptr, false);
    REQUIRE(!v.is_discarded());
    REQUIRE(v.is_object());
    CHECK(v["name"].is_string());
    CHECK(v["name"].get<std::string>().size() <= 6 * 4);  // maxLength counts code points
    CHECK(v["age"].is_number_integer());
    CHECK((v["color"] == "red" || v["color"] == "green" || v["color"] == "blue"));
    for (auto& [k, _] : v.items()) CHECK((k == "name" || k == "age" || k == "color" || k == "tags"));
    if (v.contains("tags")) {
      REQUIRE(v["tags"].is_array());
      CHECK(v["tags"].size() <= 2);
      for (const auto& x : v["tags"]) CHECK(x.is_string());
    }
  }

  // json_object ({"type":"object"} from the server): any JSON object.
  SamplingParams obj;
  obj.json_schema = R"({"type":"object"})";
  for (const auto& t : completed(sample(obj, 10, 31))) {
    INFO("text '" << t << "'");
    json v = json::parse(t, nullptr, false);
    REQUIRE(!v.is_discarded());
    CHECK(v.is_object());
  }
}

TEST_CASE("ebnf-constrained samples are valid arithmetic expressions") {
  SamplingParams sp;
  sp.ebnf = R"G(
    root ::= expr
    expr ::= term (("+" | "-") term)*
    term ::= factor (("*" | "/") factor)*
    factor ::= [0-9]{1,3} | "(" expr ")"
  )G";
  auto rs = sample(sp, 20, 41);
  for (const Result& r : rs) {
    REQUIRE(r.ok());
    if (r.finish.kind != FinishKind::kStop) continue;
    INFO("text '" << r.text << "'");
    CHECK(Arith{r.text}.full());
  }
  // Expressions may grow without bound at temperature 1, so only require some to complete.
  CHECK(std::count_if(rs.begin(), rs.end(), [](const Result& r) { return r.finish.kind == FinishKind::kStop; }) > 0);
}

TEST_CASE("grammar end stops the request; a finite grammar always completes") {
  SamplingParams sp;
  sp.regex = "(yes|no)";
  auto rs = sample(sp, 8, 51);
  for (const Result& r : rs) {
    CHECK(r.finish.kind == FinishKind::kStop);
    CHECK((r.text == "yes" || r.text == "no"));
  }
}

TEST_CASE("bad grammars are rejected by submit") {
  auto expect = [](SamplingParams sp, Status st, const char* part) {
    Request r;
    r.input_ids = {1, 300};
    r.sampling = std::move(sp);
    r.sampling.max_new_tokens = 4;
    try {
      engine().submit(std::move(r)).wait();
      FAIL("submit accepted a bad grammar");
    } catch (const Error& e) {
      INFO(std::string(e.what()));
      CHECK(e.code() == st);
      CHECK(std::string(e.what()).find(part) != std::string::npos);
    }
  };
  SamplingParams a;
  a.regex = "(unclosed";
  expect(a, Status::kParseError, "");
  SamplingParams b;
  b.json_schema = "{not json";
  expect(b, Status::kParseError, "");
  SamplingParams c;
  c.json_schema = R"({"$ref":"#/$defs/missing"})";
  expect(c, Status::kInvalidArgument, "missing");  // kNotFound inside: 400, not 404
  SamplingParams d;
  d.ebnf = "root ::= undefined_rule";
  expect(d, Status::kParseError, "undefined_rule");
  // The engine keeps serving after the errors.
  SamplingParams ok;
  ok.regex = "ab";
  auto rs = sample(ok, 1, 1);
  CHECK(rs[0].text == "ab");
}
