// JSON Schema front end: keyword coverage via accept/reject of exact strings, exact integer
// ranges, policies (whitespace, strict properties, unenforced keywords), errors, and random
// generations checked by the independent validator.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/grammar/grammar.hpp"
#include "core/grammar/grammar_matcher.hpp"
#include "core/grammar/json_schema.hpp"
#include "sgl/error.hpp"
#include "unit/grammar_test_walk.hpp"
#include "unit/json_schema_validator.hpp"

using namespace sgl::grammar;

namespace {

const Vocab& vocab() {
  static Vocab v = sgl::test::synthetic_vocab();
  return v;
}

bool accepts(const std::string& schema, const std::string& s, GrammarOptions opt = {}) {
  GrammarMatcher m(compile_grammar(GrammarKind::kJsonSchema, schema, vocab(), opt));
  return m.accept_bytes(s) && m.can_terminate();
}

void generations_validate(const std::string& schema, int min_done = 3) {
  auto cg = compile_grammar(GrammarKind::kJsonSchema, schema, vocab());
  sgl::test::SchemaValidator val(nlohmann::json::parse(schema));
  int done = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    GrammarMatcher m(cg);
    auto r = sgl::test::random_walk(m, vocab(), seed, 300);
    if (!r.completed) continue;
    ++done;
    nlohmann::json j;
    CHECK_NOTHROW(j = nlohmann::json::parse(r.text));
    CHECK_MESSAGE(val.validate(j), schema << " generated " << r.text);
  }
  CHECK_MESSAGE(done >= min_done, schema);
}

}  // namespace

TEST_CASE("json schema: objects, required, order, additionalProperties") {
  std::string s = R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}},"required":["b"]})";
  CHECK(accepts(s, R"({"a":1,"b":"x"})"));
  CHECK(accepts(s, R"({"b":"x"})"));
  CHECK_FALSE(accepts(s, R"({"a":1})"));            // b required
  CHECK_FALSE(accepts(s, R"({"b":"x","a":1})"));    // properties order
  CHECK_FALSE(accepts(s, R"({"b":"x","c":1})"));    // strict: no extra keys
  CHECK_FALSE(accepts(s, R"({"a": 1,"b":"x"})"));   // compact whitespace
  GrammarOptions loose;
  loose.strict_properties = false;
  CHECK(accepts(s, R"({"b":"x","c":[1,{"d":null}]})", loose));
  std::string add = R"({"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":{"type":"boolean"}})";
  CHECK(accepts(add, R"({"a":1,"x":true,"y":false})"));
  CHECK_FALSE(accepts(add, R"({"a":1,"x":1})"));
  CHECK(accepts(R"({"type":"object"})", R"({"k":[1,"2",{"3":false}]})"));
  generations_validate(s);
  generations_validate(add);
}

TEST_CASE("json schema: whitespace policies") {
  std::string s = R"({"type":"object","properties":{"a":{"type":"array","items":{"type":"integer"}}},"required":["a"]})";
  GrammarOptions sp;
  sp.whitespace = JsonWhitespace::kSpaced;
  CHECK(accepts(s, R"({"a": [1, 2]})", sp));
  CHECK_FALSE(accepts(s, R"({"a":[1,2]})", sp));
  GrammarOptions any;
  any.whitespace = JsonWhitespace::kAny;
  CHECK(accepts(s, "{ \"a\" :\n[ 1 ,2 ] }", any));
  CHECK(accepts(s, R"({"a":[1,2]})", any));
}

TEST_CASE("json schema: types, enum, const, anyOf, oneOf, allOf, nullable") {
  CHECK(accepts(R"({"type":["string","null"]})", "null"));
  CHECK(accepts(R"({"type":["string","null"]})", "\"x\""));
  CHECK_FALSE(accepts(R"({"type":["string","null"]})", "1"));
  CHECK(accepts(R"({"enum":["a",1,null,{"x":[true]}]})", R"({"x":[true]})"));
  CHECK_FALSE(accepts(R"({"enum":["a",1]})", "2"));
  CHECK(accepts(R"({"const":"fixed"})", "\"fixed\""));
  std::string any = R"({"anyOf":[{"type":"integer"},{"type":"object","properties":{"k":{"type":"boolean"}},"required":["k"]}]})";
  CHECK(accepts(any, "12"));
  CHECK(accepts(any, R"({"k":true})"));
  CHECK_FALSE(accepts(any, R"({})"));
  std::string all = R"({"allOf":[{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]},
                                  {"properties":{"b":{"type":"string"}},"required":["b"]}]})";
  CHECK(accepts(all, R"({"a":1,"b":"x"})"));
  CHECK_FALSE(accepts(all, R"({"a":1})"));
  CHECK(accepts(R"({"type":"string","nullable":true})", "null"));
  CHECK(accepts(R"({"type":"boolean"})", "false"));
  generations_validate(any);
  generations_validate(all);
  generations_validate(R"({"oneOf":[{"type":"string","maxLength":3},{"type":"array","items":{"type":"number"},"maxItems":3}]})");
}

TEST_CASE("json schema: $ref, $defs, definitions and recursion") {
  std::string tree = R"({"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},
      "kids":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":2}},"required":["v"]}},"$ref":"#/$defs/node"})";
  CHECK(accepts(tree, R"({"v":1,"kids":[{"v":2},{"v":3,"kids":[{"v":4}]}]})"));
  CHECK_FALSE(accepts(tree, R"({"v":1,"kids":[{"v":2},{"v":3},{"v":4}]})"));
  generations_validate(tree);
  std::string old = R"({"definitions":{"p":{"type":"string","minLength":2}},"properties":{"x":{"$ref":"#/definitions/p"}},"required":["x"]})";
  CHECK(accepts(old, R"({"x":"ab"})"));
  CHECK_FALSE(accepts(old, R"({"x":"a"})"));
}

TEST_CASE("json schema: arrays") {
  std::string s = R"({"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":3})";
  CHECK_FALSE(accepts(s, "[1]"));
  CHECK(accepts(s, "[1,2]"));
  CHECK(accepts(s, "[1,2,3]"));
  CHECK_FALSE(accepts(s, "[1,2,3,4]"));
  std::string t = R"({"type":"array","prefixItems":[{"type":"string"},{"type":"boolean"}],"items":{"type":"null"}})";
  CHECK(accepts(t, R"(["a",true,null,null])"));
  CHECK(accepts(t, R"(["a"])"));
  CHECK_FALSE(accepts(t, R"(["a",1])"));
  CHECK(accepts(R"({"type":"array","items":[{"type":"integer"}],"additionalItems":false})", "[5]"));
  CHECK_FALSE(accepts(R"({"type":"array","items":[{"type":"integer"}],"additionalItems":false})", "[5,6]"));
  generations_validate(s);
  generations_validate(t);
}

TEST_CASE("json schema: strings, patterns, formats") {
  std::string len = R"({"type":"string","minLength":2,"maxLength":3})";
  CHECK_FALSE(accepts(len, "\"a\""));
  CHECK(accepts(len, "\"é中\""));  // code points, not bytes
  CHECK(accepts(len, "\"a\\n\""));  // an escape is one character
  CHECK_FALSE(accepts(len, "\"abcd\""));
  std::string pat = R"({"type":"string","pattern":"^[A-Z]{2}-\\d{3}$"})";
  CHECK(accepts(pat, "\"AB-123\""));
  CHECK_FALSE(accepts(pat, "\"AB-12\""));
  CHECK(accepts(R"({"type":"string","pattern":"ab"})", "\"xxabyy\""));  // search semantics
  CHECK(accepts(R"({"type":"string","format":"date"})", "\"2024-02-29\""));
  CHECK_FALSE(accepts(R"({"type":"string","format":"date"})", "\"2024-13-01\""));
  CHECK(accepts(R"({"type":"string","format":"date-time"})", "\"2024-02-29T12:30:00Z\""));
  CHECK(accepts(R"({"type":"string","format":"time"})", "\"23:59:59+01:00\""));
  CHECK(accepts(R"({"type":"string","format":"uuid"})", "\"123e4567-e89b-12d3-a456-426614174000\""));
  CHECK(accepts(R"({"type":"string","format":"ipv4"})", "\"192.168.0.255\""));
  CHECK_FALSE(accepts(R"({"type":"string","format":"ipv4"})", "\"192.168.0.256\""));
  CHECK(accepts(R"({"type":"string","format":"email"})", "\"a.b@example.com\""));
  CHECK(accepts(R"({"type":"string","format":"uri"})", "\"https://example.com/a/b?x=1\""));
  CHECK(accepts(R"({"type":"string","format":"ipv6"})", "\"2001:db8::ff00:42:8329\""));
  CHECK(accepts(R"({"type":"string","format":"ipv6"})", "\"::1\""));
  CHECK(accepts(R"({"type":"string","format":"ipv6"})", "\"fe80:0:0:0:200:f8ff:fe21:67cf\""));
  CHECK_FALSE(accepts(R"({"type":"string","format":"ipv6"})", "\"1::2::3\""));
  CHECK_FALSE(accepts(R"({"type":"string","format":"ipv6"})", "\"12345::\""));
  CHECK(accepts(R"({"type":"string","format":"hostname"})", "\"api.example-1.com\""));
  CHECK_FALSE(accepts(R"({"type":"string","format":"hostname"})", "\"-bad.example\""));
  CHECK_FALSE(accepts(R"({"type":"string","format":"hostname"})", "\"a..b\""));
  for (const char* f : {"date", "time", "date-time", "email", "uuid", "uri", "ipv4", "ipv6", "hostname"})
    generations_validate(std::string(R"({"type":"string","format":")") + f + "\"}", 2);
  generations_validate(len);
  generations_validate(pat, 2);
}

TEST_CASE("json schema: exact integer ranges and number bounds") {
  for (auto [lo, hi] : std::vector<std::pair<int64_t, int64_t>>{{-37, 105}, {0, 9}, {7, 7}, {-120, -3}, {99, 1001}}) {
    Grammar g = [&] {
      GrammarBuilder b;
      uint32_t r = b.declare("root");
      b.define(r, integer_range_expr(&lo, &hi));
      return b.build(r);
    }();
    std::string schema = "{\"type\":\"integer\",\"minimum\":" + std::to_string(lo) + ",\"maximum\":" + std::to_string(hi) + "}";
    auto cg = compile_grammar(GrammarKind::kJsonSchema, schema, vocab());
    for (int64_t x = -1200; x <= 1200; ++x) {
      GrammarMatcher m(cg);
      bool ok = m.accept_bytes(std::to_string(x)) && m.can_terminate();
      CHECK_MESSAGE(ok == (x >= lo && x <= hi), "x=" << x << " in [" << lo << "," << hi << "]");
    }
    GrammarMatcher m(cg);
    CHECK_FALSE((m.accept_bytes("007") && m.can_terminate()));
  }
  std::string ex = R"({"type":"integer","exclusiveMinimum":0,"exclusiveMaximum":10})";
  CHECK_FALSE(accepts(ex, "0"));
  CHECK(accepts(ex, "1"));
  CHECK_FALSE(accepts(ex, "10"));
  CHECK(accepts(R"({"type":"integer","minimum":5})", "123456789"));
  CHECK_FALSE(accepts(R"({"type":"integer","minimum":5})", "4"));
  CHECK(accepts(R"({"type":"integer","maximum":-5})", "-123456789"));
  std::string num = R"({"type":"number","minimum":-1.5,"maximum":2})";
  CHECK(accepts(num, "-1"));
  CHECK(accepts(num, "1.999"));
  CHECK(accepts(num, "2"));
  CHECK_FALSE(accepts(num, "2.5"));
  CHECK_FALSE(accepts(num, "-2"));
  CHECK(accepts(num, "-0.25"));
  generations_validate(num);
  generations_validate(ex);
  generations_validate(R"({"type":"number","exclusiveMinimum":0})");
}

TEST_CASE("json schema: unenforceable keywords, annotations and errors") {
  try {
    compile_grammar(GrammarKind::kJsonSchema, R"({"type":"object","properties":{"t":{"type":"array","uniqueItems":true}}})", vocab());
    FAIL_CHECK("uniqueItems accepted");
  } catch (const sgl::Error& e) {
    CHECK(e.code() == sgl::Status::kUnsupported);
    CHECK(std::string(e.what()).find("'uniqueItems' at '#/properties/t'") != std::string::npos);
  }
  GrammarOptions relaxed;
  relaxed.allow_unenforced_keywords = true;
  auto cg = compile_grammar(GrammarKind::kJsonSchema, R"({"type":"string","not":{"const":"x"}})", vocab(), relaxed);
  REQUIRE(cg->warnings().size() == 1);
  CHECK(cg->warnings()[0].find("'not'") != std::string::npos);
  // Annotations are ignored silently.
  auto ann = compile_grammar(GrammarKind::kJsonSchema,
      R"({"$schema":"x","$id":"y","title":"t","description":"d","examples":[1],"default":1,"deprecated":true,"readOnly":true,"$comment":"c","type":"integer"})",
      vocab());
  CHECK(ann->warnings().empty());
  try {
    compile_grammar(GrammarKind::kJsonSchema, R"({"type": "object", "properties": {)", vocab());
    FAIL_CHECK("invalid JSON accepted");
  } catch (const sgl::Error& e) {
    CHECK(e.code() == sgl::Status::kParseError);
    CHECK(e.offset() >= 30);
  }
  try {
    compile_grammar(GrammarKind::kJsonSchema, R"({"properties":{"a":{"$ref":"#/$defs/missing"}}})", vocab());
    FAIL_CHECK("unknown $ref accepted");
  } catch (const sgl::Error& e) {
    CHECK(e.code() == sgl::Status::kNotFound);
    CHECK(std::string(e.what()).find("#/$defs/missing") != std::string::npos);
  }
  CHECK_THROWS_AS(compile_grammar(GrammarKind::kJsonSchema, R"({"type":"strin"})", vocab()), sgl::Error);
  CHECK_THROWS_AS(compile_grammar(GrammarKind::kJsonSchema, R"({"type":"integer","minimum":5,"maximum":1})", vocab()), sgl::Error);
}

TEST_CASE("json_object mode and the grammar cache") {
  GrammarCache cache(vocab());
  auto a = cache.get(GrammarKind::kJsonObject, "");
  auto b = cache.get(GrammarKind::kJsonObject, "");
  CHECK(a.get() == b.get());
  CHECK(cache.hits() == 1);
  auto c = cache.get(GrammarKind::kRegex, "a+");
  CHECK(c.get() != a.get());
  CHECK(cache.size() == 2);
  GrammarMatcher m(a);
  CHECK(m.accept_bytes(R"({"x":[1,{"y":"z"}]})"));
  CHECK(m.can_terminate());
  GrammarMatcher m2(a);
  CHECK_FALSE(m2.accept_bytes("[1]"));
  int done = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    GrammarMatcher g(a);
    auto r = sgl::test::random_walk(g, vocab(), seed, 300);
    if (!r.completed) continue;
    ++done;
    CHECK(nlohmann::json::parse(r.text).is_object());
  }
  CHECK(done >= 3);
}

TEST_CASE("json schema: jump-forward strings") {
  auto cg = compile_grammar(GrammarKind::kJsonSchema,
      R"({"type":"object","properties":{"name":{"type":"string"},"ok":{"type":"boolean"}},"required":["name","ok"]})", vocab());
  GrammarMatcher m(cg);
  CHECK(m.find_jump_forward_string() == "{\"name\":\"");
  CHECK(m.accept_bytes("{\"name\":\"bob\""));
  CHECK(m.find_jump_forward_string() == ",\"ok\":");
  CHECK(m.accept_bytes(",\"ok\":f"));
  CHECK(m.find_jump_forward_string() == "alse}");
}

// The classification shortcuts (two-frame keys, return-site lookahead, uncertain tokens checked
// at mask time) must give exactly the tokens accept_token takes: checked for every token of the
// vocabulary at every step of random walks, over grammars whose rules are shared by many callers
// (the lookahead's hard case) and nest (objects in arrays in objects).
TEST_CASE("json schema: the token mask equals accept_token on every token") {
  const char* schemas[] = {
      R"({"type":"object","properties":{"a":{"type":"string"},"bb":{"type":"string"},"c":{"type":"array",
          "items":{"type":"object","properties":{"x":{"type":"string"},"y":{"type":"integer"}},"required":["x"]}}},
          "required":["a"]})",
      R"({"type":"array","items":{"anyOf":[{"type":"string"},{"type":"number"},{"type":"array","items":{"type":"string"}}]}})",
      R"({"type":"object","additionalProperties":{"type":"string"}})",
  };
  const Vocab& v = vocab();
  std::mt19937_64 rng(17);
  for (const char* schema : schemas) {
    auto cg = compile_grammar(GrammarKind::kJsonSchema, schema, v);
    for (int walk = 0; walk < 2; ++walk) {
      GrammarMatcher m(cg);
      GrammarMatcher probe(cg);
      std::vector<uint32_t> mask(m.mask_words());
      std::string text;
      for (int step = 0; step < 20 && !m.is_terminated(); ++step) {
        m.fill_next_token_bitmask(mask.data());
        std::vector<int32_t> allowed;
        for (size_t id = 0; id < v.token_bytes.size(); ++id) {
          const bool bit = (mask[id >> 5] >> (id & 31)) & 1;
          // The probe replays the text so far, then tries the token.
          probe.reset();
          REQUIRE(probe.accept_bytes(text));
          const bool ok = probe.accept_token(static_cast<int32_t>(id));
          if (bit != ok) FAIL_CHECK("token '" << v.token_bytes[id] << "' mask " << bit << " accept " << ok << " after '" << text << "'");
          if (bit) allowed.push_back(static_cast<int32_t>(id));
        }
        REQUIRE(!allowed.empty());
        int32_t pick = allowed[std::uniform_int_distribution<size_t>(0, allowed.size() - 1)(rng)];
        REQUIRE(m.accept_token(pick));
        if (!m.is_terminated()) text += v.token_bytes[pick];
      }
    }
  }
}
