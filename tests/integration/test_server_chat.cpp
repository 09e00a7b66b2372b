// Chat templates in sgl-server: --chat-template NAME|FILE, chat_template_kwargs, and the 400
// naming --chat-template for a model that ships no template.
#include <doctest/doctest.h>

#include <fstream>

#include "server_fixture.hpp"

using namespace sgl;
using sgl::test::json;
using sgl::test::post_json;

namespace {

json chat_body(const std::string& text, json extra = json::object()) {
  json b = {{"messages", json::array({{{"role", "user"}, {"content", text}}})}, {"max_tokens", 2}, {"temperature", 0}};
  for (auto& [k, v] : extra.items()) b[k] = v;
  return b;
}

}  // namespace

TEST_CASE("--chat-template FILE renders chat_template_kwargs as template variables") {
  auto dir = test::scratch_dir("chat_tpl");
  std::ofstream(dir / "t.jinja") << "{% if prefix is defined %}{{ prefix }}{% endif %}"
                                    "{% for m in messages %}{{ m['content'] }}{% endfor %}";
  test::ServerFixture srv([&](server::ServerArgs& a) { a.chat_template = (dir / "t.jinja").string(); });
  auto c = srv.client();
  int st = 0;
  json plain = post_json(*c, "/v1/chat/completions", chat_body("hello"), &st);
  REQUIRE(st == 200);
  json longer = post_json(*c, "/v1/chat/completions",
                          chat_body("hello", {{"chat_template_kwargs", {{"prefix", "a much longer prefix text "}}}}), &st);
  REQUIRE(st == 200);
  const int64_t p0 = plain["usage"]["prompt_tokens"], p1 = longer["usage"]["prompt_tokens"];
  CHECK(p0 == static_cast<int64_t>(srv.engine().tokenize("hello", false).size()));
  CHECK(p1 > p0);
  CHECK(longer["usage"]["prompt_tokens_details"].contains("cached_tokens"));
  post_json(*c, "/v1/chat/completions", chat_body("hello", {{"chat_template_kwargs", "x"}}), &st);
  CHECK(st == 400);
}

TEST_CASE("--chat-template NAME picks a built-in template") {
  test::ServerFixture srv([](server::ServerArgs& a) { a.chat_template = "llama-3"; });
  auto c = srv.client();
  int st = 0;
  json r = post_json(*c, "/v1/chat/completions", chat_body("hi"), &st);
  REQUIRE(st == 200);
  // llama-3 wraps the message in header tokens: far more than the message's own tokens.
  CHECK(r["usage"]["prompt_tokens"].get<int64_t>() > static_cast<int64_t>(srv.engine().tokenize("hi", false).size()) + 4);
}

TEST_CASE("a model without a chat template: chat answers 400 naming --chat-template; the flag fixes it") {
  auto shared = test::require_shared("stories260K chat template");
  if (!shared) return;
  const std::string model = (*shared / "models/stories260K.gguf").string();
  {
    test::ServerFixture srv([&](server::ServerArgs& a) { a.engine.model_path = model; });
    auto c = srv.client();
    int st = 0;
    json e = post_json(*c, "/v1/chat/completions", chat_body("hi"), &st);
    CHECK(st == 400);
    CHECK(e["error"]["message"].get<std::string>().find("--chat-template") != std::string::npos);
  }
  {
    test::ServerFixture srv([&](server::ServerArgs& a) {
      a.engine.model_path = model;
      a.chat_template = "chatml";
    });
    auto c = srv.client();
    int st = 0;
    json r = post_json(*c, "/v1/chat/completions", chat_body("hi"), &st);
    CHECK(st == 200);
    CHECK(r["choices"][0]["message"]["role"] == "assistant");
  }
}
