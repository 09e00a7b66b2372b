// JSON Schema sample ($SGL_SHARED_DIR/conformance/jsonschema/sample.jsonl):
// 1. the independent test validator agrees with the labelled `tests` instances;
// 2. every schema either compiles or the error names the keyword it cannot enforce;
// 3. for each compiled schema, 5 random generations (synthetic model, fixed seeds) parse as JSON
//    and validate against the schema.
#include <doctest/doctest.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/grammar/grammar_matcher.hpp"
#include "sgl/error.hpp"
#include "support/test_support.hpp"
#include "unit/grammar_test_walk.hpp"
#include "unit/json_schema_validator.hpp"

using namespace sgl::grammar;
using nlohmann::json;
using nlohmann::ordered_json;

namespace {
std::vector<ordered_json> load_sample() {
  std::vector<ordered_json> out;
  auto dir = sgl::test::require_shared("conformance/jsonschema/sample.jsonl");
  if (!dir) return out;
  const auto path = *dir / "conformance/jsonschema/sample.jsonl";
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path.string());
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(ordered_json::parse(line));
  // The sample's size (its README): a truncated or swapped file must not pass on fewer cases.
  CHECK(out.size() == 30);
  return out;
}
}  // namespace

TEST_CASE("test validator agrees with the labelled instances") {
  auto sample = load_sample();
  if (sample.empty()) return;
  int total = 0, agree = 0;
  for (const auto& rec : sample) {
    if (!rec.contains("tests")) continue;
    sgl::test::SchemaValidator val(json::parse(rec["schema"].dump()));
    for (const auto& t : rec["tests"]) {
      ++total;
      bool got = val.validate(json::parse(t["data"].dump()));
      bool want = t["valid"];
      CHECK_MESSAGE(got == want, rec["id"].get<std::string>() << ": " << t["data"].dump().substr(0, 200));
      agree += got == want;
    }
  }
  std::cout << "validator: " << agree << "/" << total << " labelled instances agree\n";
  CHECK(total > 50);
}

TEST_CASE("sample schemas compile or name the keyword; generations validate") {
  auto sample = load_sample();
  if (sample.empty()) return;
  Vocab v = sgl::test::synthetic_vocab();
  auto idx = std::make_shared<const VocabIndex>(v);
  int compiled = 0, gens = 0, completed = 0, valid = 0;
  for (const auto& rec : sample) {
    std::string id = rec["dataset"].get<std::string>() + "/" + rec["id"].get<std::string>();
    std::string src = rec["schema"].dump();
    std::shared_ptr<const CompiledGrammar> cg;
    try {
      cg = compile_grammar(GrammarKind::kJsonSchema, src, idx);
    } catch (const sgl::Error& e) {
      std::string msg = e.what();
      INFO(id << ": " << msg);
      CHECK(e.code() == sgl::Status::kUnsupported);
      CHECK(msg.find("keyword '") != std::string::npos);
      std::cout << "not compiled " << id << ": " << msg << "\n";
      continue;
    }
    ++compiled;
    sgl::test::SchemaValidator val(json::parse(src));
    for (uint64_t seed = 1; seed <= 5; ++seed) {
      GrammarMatcher m(cg);
      auto r = sgl::test::random_walk(m, v, seed * 7919 + compiled, 400);
      ++gens;
      if (!r.completed) continue;
      ++completed;
      json out;
      try {
        out = json::parse(r.text);
      } catch (const json::exception& e) {
        FAIL_CHECK(id << " seed " << seed << ": output is not JSON: " << r.text);
        continue;
      }
      bool ok = val.validate(out);
      CHECK_MESSAGE(ok, id << " seed " << seed << ": output does not validate: " << r.text);
      valid += ok;
    }
  }
  std::cout << "json schema sample: compiled " << compiled << "/" << sample.size() << "; generations "
            << gens << ", completed " << completed << ", valid " << valid << "\n";
  CHECK(compiled * 2 >= static_cast<int>(sample.size()));
  CHECK(completed * 2 >= gens);
  CHECK(valid == completed);
}
