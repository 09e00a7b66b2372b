// Constrained decoding through the Engine: a random-weight model sampled at temperature 1 under
// regex / JSON schema / EBNF grammars must only produce strings the grammar accepts, checked by
// independent means (std::regex, nlohmann::json plus hand-written field checks, a small
// recursive-descent parser), and bad grammars must fail at submit().
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <chrono>
#include <regex>
#include <thread>

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

// ---- jump-forward -------------------------------------------------------------------------

namespace {

Engine& engine_no_jump() {
  static Engine e([] {
    EngineConfig c = test::tiny_config();
    c.grammar_jump_forward = false;
    return c;
  }());
  return e;
}

struct Run {
  Result res;
  int64_t steps = 0;  // forward steps the engine ran for this request alone
  std::string streamed_text;
  std::vector<int32_t> streamed_ids;
};

Run run_one(Engine& e, SamplingParams sp, int max_new) {
  Request r;
  r.input_ids = {1, 300, 301, 302};
  sp.max_new_tokens = max_new;
  r.sampling = std::move(sp);
  const EngineStats s0 = e.stats();
  RequestHandle h = e.submit(std::move(r));
  Run out;
  while (auto c = h.next()) {
    out.streamed_text += c->text;
    out.streamed_ids.insert(out.streamed_ids.end(), c->token_ids.begin(), c->token_ids.end());
    if (c->result) out.res = *c->result;
  }
  // Stats are published after each step, so the step that finished us shows up just after.
  for (int i = 0; i < 2000 && e.stats().finished_requests <= s0.finished_requests; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  out.steps = e.stats().forward_steps - s0.forward_steps;
  return out;
}

const json kLongKeys = {
    {"type", "object"},
    {"properties",
     {{"customer_identification_number", {{"type", "integer"}, {"minimum", 0}, {"maximum", 999}}},
      {"preferred_delivery_weekday", {{"enum", {"monday", "friday"}}}},
      {"is_subscribed_to_the_newsletter", {{"type", "boolean"}}}}},
    {"required", {"customer_identification_number", "preferred_delivery_weekday", "is_subscribed_to_the_newsletter"}},
    {"additionalProperties", false}};

void check_long_keys(const std::string& t) {
  INFO("text '" << t << "'");
  json v = json::parse(t, nullptr, false);
  REQUIRE(!v.is_discarded());
  REQUIRE(v.is_object());
  CHECK(v.size() == 3);
  CHECK(v["customer_identification_number"].is_number_integer());
  CHECK((v["preferred_delivery_weekday"] == "monday" || v["preferred_delivery_weekday"] == "friday"));
  CHECK(v["is_subscribed_to_the_newsletter"].is_boolean());
}

}  // namespace

TEST_CASE("jump-forward: long forced schema keys cost fewer forward steps, outputs stay valid") {
  for (float temp : {0.0f, 1.0f}) {
    INFO("temperature " << temp);
    SamplingParams sp;
    sp.json_schema = kLongKeys.dump();
    sp.temperature = temp;
    sp.seed = 5;
    Run on = run_one(engine(), sp, 200);
    Run off = run_one(engine_no_jump(), sp, 200);
    REQUIRE(on.res.finish.kind == FinishKind::kStop);
    REQUIRE(off.res.finish.kind == FinishKind::kStop);
    check_long_keys(on.res.text);
    check_long_keys(off.res.text);
    CHECK(off.res.forced_tokens == 0);
    CHECK(on.res.forced_tokens > 10);  // the three keys alone are ~90 forced bytes
    CHECK(on.res.forced_tokens < on.res.completion_tokens);
    // One step per sampled token (plus the prefill step) vs one per output token.
    CHECK(on.steps < off.steps);
    CHECK(on.steps <= on.res.completion_tokens - on.res.forced_tokens + 1);
    CHECK(off.steps >= off.res.completion_tokens);
    // Streaming carries the forced tokens too, and counts agree.
    CHECK(on.streamed_text == on.res.text);
    CHECK(on.streamed_ids == on.res.output_ids);
    CHECK(static_cast<int64_t>(on.res.output_ids.size()) == on.res.completion_tokens);
  }
}

TEST_CASE("jump-forward: regex with long literals, max_new_tokens and logprobs count forced tokens") {
  const char* re = R"(The answer is (yes|no)\. Confidence level: [0-9]{1,2} percent exactly\.)";
  SamplingParams sp;
  sp.regex = re;
  sp.temperature = 1.0f;
  sp.seed = 9;
  sp.return_logprob = true;
  Run on = run_one(engine(), sp, 100);
  Run off = run_one(engine_no_jump(), sp, 100);
  const std::regex check(re, std::regex::ECMAScript);
  for (const Run* r : {&on, &off}) {
    INFO("text '" << r->res.text << "'");
    REQUIRE(r->res.finish.kind == FinishKind::kStop);
    CHECK(std::regex_match(r->res.text, check));
    CHECK(r->res.output_logprobs.size() == r->res.output_ids.size());
  }
  CHECK(on.res.forced_tokens > 5);
  CHECK(on.steps < off.steps);
  // Forced tokens carry probability 1 under the constraint.
  size_t zero = 0;
  for (const auto& lp : on.res.output_logprobs) zero += lp.logprob == 0.0f;
  CHECK(zero >= static_cast<size_t>(on.res.forced_tokens));

  // A budget that ends inside the first forced literal: exactly max_new_tokens come out, as a
  // prefix of the literal.
  SamplingParams shortp;
  shortp.regex = re;
  shortp.temperature = 0.0f;
  Run cut = run_one(engine(), shortp, 3);
  CHECK(cut.res.finish.kind == FinishKind::kLength);
  CHECK(cut.res.completion_tokens == 3);
  CHECK(cut.res.output_ids.size() == 3);
  CHECK(std::string("The answer is ").rfind(cut.res.text, 0) == 0);
  CHECK(cut.streamed_text == cut.res.text);
}

TEST_CASE("jump-forward: greedy output matches the grammar with and without it; stop strings still apply") {
  SamplingParams sp;
  sp.ebnf = R"G(
    root ::= "{\"first_item\":" num ",\"second_item\":" num ",\"third_item\":" num "}"
    num ::= [0-9]{1,3}
  )G";
  sp.temperature = 0.0f;
  Run on = run_one(engine(), sp, 100);
  Run off = run_one(engine_no_jump(), sp, 100);
  const std::regex check(R"(\{"first_item":[0-9]{1,3},"second_item":[0-9]{1,3},"third_item":[0-9]{1,3}\})");
  for (const Run* r : {&on, &off}) {
    INFO("text '" << r->res.text << "'");
    CHECK(r->res.finish.kind == FinishKind::kStop);
    CHECK(std::regex_match(r->res.text, check));
  }
  CHECK(on.res.forced_tokens > 0);
  // A stop string inside forced text ends the request there.
  SamplingParams st = sp;
  st.stop = {"second"};
  Run s = run_one(engine(), st, 100);
  CHECK(s.res.finish.kind == FinishKind::kStop);
  CHECK(s.res.finish.matched_str == "second");
  CHECK(s.res.text.find("second") == std::string::npos);
  CHECK(s.res.text.rfind("{\"first_item\":", 0) == 0);
}

TEST_CASE("min_new_tokens yields to a grammar that allows only EOS: the request stops cleanly") {
  for (bool jump : {true, false}) {
    SamplingParams sp;
    sp.regex = "(yes|no)";
    sp.min_new_tokens = 10;
    sp.temperature = 1.0f;
    sp.seed = 3;
    Run r = run_one(jump ? engine() : engine_no_jump(), sp, 32);
    INFO("jump-forward " << jump << " text '" << r.res.text << "' " << r.res.finish.message);
    CHECK(r.res.ok());
    CHECK(r.res.finish.kind == FinishKind::kStop);
    CHECK((r.res.text == "yes" || r.res.text == "no"));
  }
  // Before the grammar is complete, min_new_tokens still holds EOS back: "a{1,60}" may end
  // after one "a", but 6 tokens are required first.
  SamplingParams more;
  more.regex = "a{1,60}";
  more.min_new_tokens = 6;
  more.temperature = 1.0f;
  more.seed = 4;
  Run m = run_one(engine_no_jump(), more, 32);
  CHECK(m.res.ok());
  CHECK(m.res.completion_tokens >= 6);
}
