// Unit tests of the chat-template interpreter: each construct, error positions, limits, and the
// built-in templates against hand-written expected prompts.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/tokenizer/chat_template.hpp"
#include "sgl/error.hpp"

using nlohmann::json;
using sgl::ChatTemplate;
using sgl::Status;

namespace {

std::string R(const std::string& tpl, const json& ctx = json::object()) { return ChatTemplate::parse(tpl).render(ctx); }

// Runs f, expecting an sgl::Error; returns it.
template <typename F>
sgl::Error error_of(F&& f) {
  try {
    f();
  } catch (const sgl::Error& e) {
    return e;
  }
  FAIL("expected an sgl::Error");
  return sgl::Error(Status::kOk, "");
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

json conversation() {
  return json::array({{{"role", "system"}, {"content", "You are helpful."}},
                      {{"role", "user"}, {"content", "Hello"}},
                      {{"role", "assistant"}, {"content", "Hi there!"}},
                      {{"role", "user"}, {"content", "How are you?"}}});
}

}  // namespace

TEST_CASE("text, output and literals") {
  CHECK(R("plain text") == "plain text");
  CHECK(R("{{ 'a' }}{{ \"b\" }}") == "ab");
  CHECK(R("{{ 'it\\'s\\n\\t\\u00e9\\x41' }}") == "it's\n\t\xc3\xa9" "A");
  CHECK(R("{{ 'a' 'b' }}") == "ab");
  CHECK(R("{{ 42 }} {{ -7 }} {{ 1_000 }}") == "42 -7 1000");
  CHECK(R("{{ 1.5 }} {{ 2.0 }} {{ 1e3 }} {{ 0.1 + 0.2 }}") == "1.5 2.0 1000.0 0.30000000000000004");
  CHECK(R("{{ true }} {{ False }} {{ none }} {{ None }}") == "True False None None");
  CHECK(R("{{ [1, 'a', none, true] }}") == "[1, 'a', None, True]");
  CHECK(R("{{ {'a': 1, 'b': [2]} }}") == "{'a': 1, 'b': [2]}");
  CHECK(R("{{ missing }}|{{ m.nokey }}|{{ l[5] }}|{{ none.x }}|", {{"m", json::object()}, {"l", json::array()}}) == "||||");
  // As in Jinja, reading through an undefined value is an error, not a silent empty string.
  for (const char* src : {"{{ missing.attr }}", "{{ missing['x'] }}", "{{ missing[1:] }}", "{{ m.a.b }}", "{{ missing | tojson }}"}) {
    CAPTURE(src);
    auto e = error_of([&] { R(src, {{"m", json::object()}}); });
    CHECK(e.code() == Status::kInvalidArgument);
    CHECK(contains(e.what(), "undefined"));
  }
}

TEST_CASE("variables, attributes, subscripts and slices") {
  json ctx = {{"m", {{"role", "user"}, {"content", "hey"}}}, {"xs", {1, 2, 3, 4, 5}}, {"s", "h\xc3\xa9llo"}};
  CHECK(R("{{ m.role }} {{ m['content'] }} {{ m.nope }}", ctx) == "user hey ");
  CHECK(R("{{ xs[0] }} {{ xs[-1] }} {{ xs[10] }} {{ xs.1 }}", ctx) == "1 5  2");
  CHECK(R("{{ xs[1:] }} {{ xs[:2] }} {{ xs[::-1] }} {{ xs[-2:] }} {{ xs[::2] }} {{ xs[3:1] }}", ctx) ==
        "[2, 3, 4, 5] [1, 2] [5, 4, 3, 2, 1] [4, 5] [1, 3, 5] []");
  CHECK(R("{{ s[1] }} {{ s[::-1] }} {{ s[1:3] }} {{ s | length }}", ctx) == "\xc3\xa9 oll\xc3\xa9h \xc3\xa9l 5");
}

TEST_CASE("arithmetic, comparison and logic") {
  CHECK(R("{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 2 ** 10 }}") ==
        "7 9 3.5 3 -4 2 1024");
  CHECK(R("{{ 'a' + 'b' }} {{ 'a' ~ 1 ~ none }} {{ 'ab' * 3 }} {{ [1] + [2] }}") == "ab a1None ababab [1, 2]");
  CHECK(R("{{ 1 == 1.0 }} {{ 1 != 2 }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 5 }} {{ 'a' < 'b' }} {{ [1,2] == [1,2] }}") ==
        "True True True False True True");
  CHECK(R("{{ 'b' in 'abc' }} {{ 2 in [1,2] }} {{ 'k' in {'k': 1} }} {{ 'z' not in 'abc' }}") == "True True True True");
  CHECK(R("{{ true and 'x' }} {{ false or 'y' }} {{ not none }} {{ not 1 }} {{ 0 or '' }}|") == "x y True False |");
  CHECK(R("{{ 'yes' if 1 > 0 else 'no' }} {{ 'yes' if 0 else 'no' }} [{{ 'x' if false }}]") == "yes no []");
  CHECK(R("{{ 1 if true else 2 if false else 3 }}") == "1");
}

TEST_CASE("if / elif / else") {
  std::string t = "{% if x == 1 %}one{% elif x == 2 %}two{% else %}many{% endif %}";
  CHECK(R(t, {{"x", 1}}) == "one");
  CHECK(R(t, {{"x", 2}}) == "two");
  CHECK(R(t, {{"x", 9}}) == "many");
  CHECK(R("{% if undefined_thing %}a{% else %}b{% endif %}") == "b");
  CHECK(R("{% if [] %}a{% elif {} %}b{% elif '' %}c{% endif %}") == "");
}

TEST_CASE("for loops: loop variables, else, unpacking, filter, break/continue") {
  json ctx = {{"xs", {"a", "b", "c"}}};
  CHECK(R("{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ x }}"
          "{% if loop.first %}F{% endif %}{% if loop.last %}L{% endif %}{{ loop.length }};{% endfor %}",
          ctx) == "1032aF3;2121b3;3210cL3;");
  CHECK(R("{% for x in [] %}x{% else %}empty{% endfor %}") == "empty");
  CHECK(R("{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}", {{"d", {{"a", 1}, {"b", 2}}}}) == "a=1,b=2,");
  CHECK(R("{% for k in d %}{{ k }}{% endfor %}", {{"d", {{"a", 1}, {"b", 2}}}}) == "ab");
  CHECK(R("{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }} {% endfor %}") == "3 7 ");
  CHECK(R("{% for x in range(10) if x is odd %}{{ x }}{{ loop.length }} {% endfor %}") == "15 35 55 75 95 ");
  CHECK(R("{% for x in range(10) %}{% if x == 3 %}{% break %}{% endif %}{{ x }}{% endfor %}") == "012");
  CHECK(R("{% for x in range(5) %}{% if x is even %}{% continue %}{% endif %}{{ x }}{% endfor %}") == "13");
  CHECK(R("{% for x in xs %}{{ loop.previtem }}>{{ x }}>{{ loop.nextitem }} {% endfor %}", ctx) == ">a>b a>b>c b>c> ");
  CHECK(R("{% for x in xs %}{{ loop.cycle('odd', 'even') }}{% endfor %}", ctx) == "oddevenodd");
  CHECK(R("{% for i in range(2) %}{% for j in range(2) %}{{ i }}{{ j }}{{ loop.index }} {% endfor %}{% endfor %}") ==
        "001 012 101 112 ");
  CHECK(R("{% for c in 'ab' %}[{{ c }}]{% endfor %}") == "[a][b]");
  CHECK(R("{% for x in range(3, 0, -1) %}{{ x }}{% endfor %}{% for x in range(0) %}no{% endfor %}") == "321");
}

TEST_CASE("set, scoping and namespace") {
  CHECK(R("{% set x = 'v' %}{{ x }}") == "v");
  CHECK(R("{% set a, b = 1, 2 %}{{ a }}{{ b }}") == "12");
  // A set inside a loop does not leak out of it; a namespace attribute does.
  CHECK(R("{% set x = 0 %}{% for i in range(3) %}{% set x = x + i %}{% endfor %}{{ x }}") == "0");
  CHECK(R("{% set ns = namespace(x=0) %}{% for i in range(4) %}{% set ns.x = ns.x + i %}{% endfor %}{{ ns.x }}") == "6");
  CHECK(R("{% set ns = namespace(found=false) %}{% for m in ms %}{% if m == 2 %}{% set ns.found = true %}{% endif %}"
          "{% endfor %}{{ ns.found }}",
          {{"ms", {1, 2}}}) == "True");
  CHECK(R("{% set block %}in {{ 1 + 1 }}{% endset %}[{{ block }}]") == "[in 2]");
  CHECK(R("{% if true %}{% set y = 5 %}{% endif %}{{ y }}") == "5");
  auto e = error_of([] { R("{% set d = {} %}{% set d.x = 1 %}"); });
  CHECK(e.code() == Status::kInvalidArgument);
  CHECK(contains(e.what(), "namespace"));
}

TEST_CASE("whitespace control, trim_blocks and lstrip_blocks") {
  CHECK(R("a  {{- 'b' -}}  c") == "abc");
  CHECK(R("a\n  {%- if true -%}\n  b\n{%- endif %}") == "ab");
  // trim_blocks: the newline after a block tag goes; lstrip_blocks: indentation before it goes.
  CHECK(R("{% if true %}\n  x\n{% endif %}\ny") == "  x\ny");
  CHECK(R("<\n    {% if true %}\nx\n    {% endif %}\n>") == "<\nx\n>");
  // Expression tags keep their surroundings.
  CHECK(R("  {{ 'x' }}\n") == "  x");  // the final newline of the template is dropped
  CHECK(R("a\n\n") == "a\n");
  CHECK(R("a {%+ if true %}b{% endif %}") == "a b");
  CHECK(R("x {# comment #}y") == "x y");
  CHECK(R("x\n  {# comment #}\ny") == "x\ny");
  CHECK(R("{% raw %}{{ not parsed }}{% if %}{% endraw %}!") == "{{ not parsed }}{% if %}!");
  CHECK(R("line1\r\nline2") == "line1\nline2");
}

TEST_CASE("filters") {
  json ctx = {{"msgs",
               {{{"role", "system"}, {"content", "S"}},
                {{"role", "user"}, {"content", "U"}},
                {{"role", "user"}, {"content", "V"}}}}};
  CHECK(R("[{{ '  x  ' | trim }}] {{ 'abc' | length }} {{ [1,2] | count }} {{ 'aBc' | upper }} {{ 'AbC' | lower }}") ==
        "[x] 3 2 ABC abc");
  CHECK(R("{{ 'hello world-foo' | title }} {{ 'hELLO' | capitalize }}") == "Hello World-Foo Hello");
  CHECK(R("{{ [3, 1, 2] | first }} {{ [3, 1, 2] | last }} {{ 'xyz' | first }}") == "3 2 x");
  CHECK(R("{{ missing | default('d') }} {{ '' | default('d') }} {{ '' | d('d', true) }} {{ none | default('d') }}") ==
        "d  d None");
  CHECK(R("{{ ['a', 'b'] | join(', ') }} {{ [1, 2] | join }} {{ msgs | join('/', attribute='role') }}", ctx) ==
        "a, b 12 system/user/user");
  CHECK(R("{{ 'aaa' | replace('a', 'b') }} {{ 'aaa' | replace('a', 'b', 2) }}") == "bbb bba");
  CHECK(R("{{ 'ab' | list }} {{ 12 | string ~ 'x' }} {{ '42' | int + 1 }} {{ 'x' | int }} {{ 3.9 | int }} {{ '2.5' | float }}") ==
        "['a', 'b'] 12x 43 0 3 2.5");
  CHECK(R("{{ 2.567 | round(2) }} {{ 2.5 | round(0, 'floor') }} {{ -3 | abs }} {{ -2.5 | abs }}") == "2.57 2.0 3 2.5");
  CHECK(R("{% for k, v in {'a': 1} | items %}{{ k }}{{ v }}{% endfor %}") == "a1");
  CHECK(R("{{ msgs | selectattr('role', 'equalto', 'user') | map(attribute='content') | list }}", ctx) == "['U', 'V']");
  CHECK(R("{{ msgs | rejectattr('role', 'eq', 'user') | map(attribute='content') | join }}", ctx) == "S");
  CHECK(R("{{ msgs | selectattr('role') | list | length }}", ctx) == "3");
  CHECK(R("{{ ['a', 'b'] | map('upper') | join }} {{ [1, 2, 3, 4] | select('even') | list }} {{ [0, 1] | reject | list }}") ==
        "AB [2, 4] [0]");
  CHECK(R("{{ [3, 1, 2, 1] | unique | list }} {{ [3, 1, 2] | sort }} {{ ['b', 'A', 'c'] | sort(reverse=true) }}") ==
        "[3, 1, 2] [1, 2, 3] ['c', 'b', 'A']");
  CHECK(R("{{ msgs | sort(attribute='content', reverse=true) | map(attribute='content') | join }}", ctx) == "VUS");
  CHECK(R("{{ [1, 2] | reverse | list }} {{ 'abc' | reverse }} {{ 'x' | safe }} {{ '<a href=\"x\">' | e }}") ==
        "[2, 1] cba x &lt;a href=&#34;x&#34;&gt;");
  CHECK(R("{{ 'a\nb\n\nc' | indent(2) }}|{{ 'a\nb' | indent(2, true) }}") == "a\n  b\n\n  c|  a\n  b");
  CHECK(R("{{ 'one two  three' | wordcount }} {{ [1, 2, 3] | sum }} {{ [3, 5, 1] | max }} {{ [3, 5, 1] | min }}") ==
        "3 6 5 1");
  CHECK(R("{{ '%s is %d' | format('x', 3) }} {{ '%s-%s' % ('a', 'b') }} {{ '%.2f' % 3.14159 }}") == "x is 3 a-b 3.14");
  CHECK(R("{% for k, v in {'b': 1, 'a': 2} | dictsort %}{{ k }}{{ v }}{% endfor %}") == "a2b1");
}

TEST_CASE("tojson matches Python's json.dumps as HF calls it") {
  nlohmann::ordered_json ctx = nlohmann::ordered_json::parse(
      R"({"t": {"name": "f", "args": {"z": 1, "a": [1.5, true, null, "\u00e9\"\n"]}, "e": {}, "l": []}})");
  auto t = ChatTemplate::parse("{{ t | tojson }}");
  CHECK(t.render(ctx) == R"({"name": "f", "args": {"z": 1, "a": [1.5, true, null, "é\"\n"]}, "e": {}, "l": []})");
  CHECK(ChatTemplate::parse("{{ t.args | tojson(indent=2) }}").render(ctx) ==
        "{\n  \"z\": 1,\n  \"a\": [\n    1.5,\n    true,\n    null,\n    \"é\\\"\\n\"\n  ]\n}");
  CHECK(ChatTemplate::parse("{{ t.args | tojson(sort_keys=true) }}").render(ctx) ==
        R"({"a": [1.5, true, null, "é\"\n"], "z": 1})");
  CHECK(ChatTemplate::parse("{{ t.args.a | tojson(ensure_ascii=true) }}").render(ctx) ==
        R"([1.5, true, null, "\u00e9\"\n"])");
  CHECK(R("{{ '<>&' | tojson }}") == "\"<>&\"");  // no HTML escaping
}

TEST_CASE("tests (is ...)") {
  CHECK(R("{{ x is defined }} {{ y is defined }} {{ y is undefined }} {{ n is none }} {{ n is not none }}",
          {{"x", 1}, {"n", nullptr}}) == "True False True True False");
  CHECK(R("{{ 's' is string }} {{ 1 is number }} {{ 1.5 is float }} {{ 1 is integer }} {{ true is boolean }}") ==
        "True True True True True");
  CHECK(R("{{ {} is mapping }} {{ [] is iterable }} {{ 'x' is sequence }} {{ 1 is iterable }} {{ [] is mapping }}") ==
        "True True True False False");
  CHECK(R("{{ true is true }} {{ 1 is true }} {{ false is false }} {{ 4 is even }} {{ 3 is odd }} {{ 9 is divisibleby 3 }} "
          "{{ 10 is divisibleby(3) }}") == "True False True True True True False");
  CHECK(R("{{ 1 is eq 1 }} {{ 2 is gt 1 }} {{ 'a' is in 'abc' }} {{ range is callable }} {{ 'ab' is lower }}") ==
        "True True True True True");
  CHECK(R("{% if x is not defined or x is none %}none{% endif %}") == "none");
}

TEST_CASE("string, dict and list methods") {
  CHECK(R("{{ 'hello'.startswith('he') }} {{ 'hello'.endswith(('x', 'lo')) }} {{ '  a  '.strip() }}|{{ 'xxaxx'.lstrip('x') }}|"
          "{{ 'xxaxx'.rstrip('x') }}") == "True True a|axx|xxa");
  CHECK(R("{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }}") ==
        "['a', 'b', '', 'c'] ['a', 'b'] ['a', 'b,c'] ['a,b', 'c']");
  CHECK(R("{{ 'x<think>y</think>z'.split('</think>')[-1] }} {{ 'aXa'.replace('a', 'b') }} {{ 'Ab'.upper() }}{{ 'Ab'.lower() }}") ==
        "z bXb ABab");
  CHECK(R("{{ 'hello world'.title() }} {{ 'abcabc'.count('b') }} {{ 'abc'.find('c') }} {{ 'abc'.find('z') }}") ==
        "Hello World 2 2 -1");
  CHECK(R("{{ '{} and {name}'.format(1, name='x') }} {{ '-'.join(['a', 'b']) }} {{ 'a\\nb'.splitlines() }}") ==
        "1 and x a-b ['a', 'b']");
  json ctx = {{"d", {{"a", 1}, {"b", 2}}}};
  CHECK(R("{{ d.keys() | list }} {{ d.values() | list }} {{ d.items() | list | length }} {{ d.get('a') }} {{ d.get('z') }} "
          "{{ d.get('z', 0) }}",
          ctx) == "['a', 'b'] [1, 2] 2 1 None 0");
  CHECK(R("{{ [1, 2, 1].count(1) }} {{ [1, 2].index(2) }}") == "2 1");
  auto e = error_of([] { R("{% set xs = [] %}{{ xs.append(1) }}"); });
  CHECK(e.code() == Status::kInvalidArgument);
  CHECK(contains(e.what(), "append"));
}

TEST_CASE("macros") {
  CHECK(R("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('a') }} {{ greet('b', '?') }} "
          "{{ greet(name='c') }}") == "Hi a! Hi b? Hi c!");
  auto e = error_of([] { R("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}"); });
  CHECK(e.code() == Status::kInvalidArgument);
  CHECK(contains(e.what(), "nested deeper"));
}

TEST_CASE("globals: raise_exception, range, namespace, strftime_now") {
  auto e = error_of([] { R("{% if true %}{{ raise_exception('roles must alternate') }}{% endif %}"); });
  CHECK(e.code() == Status::kInvalidArgument);
  CHECK(std::string(e.what()) == "roles must alternate");
  CHECK(R("{{ range(3) | list }} {{ range(1, 7, 2) | list }}") == "[0, 1, 2] [1, 3, 5]");
  std::string d = R("{{ strftime_now('%Y-%m-%d') }}");
  REQUIRE(d.size() == 10);
  CHECK(d[4] == '-');
  CHECK(d[7] == '-');
  CHECK(R("{{ strftime_now is defined }}") == "True");
}

TEST_CASE("syntax errors carry offsets and line:column") {
  struct Case {
    const char* src;
    int64_t offset;
    const char* part;
  };
  const Case cases[] = {
      {"ab{{ x", 2, "unterminated"},
      {"{% if x %}y", 0, "endif"},
      {"line1\n{{ 1 + }}", 13, "line 2, column 8"},
      {"{% for x in %}{% endfor %}", 12, "expected an expression"},
      {"{% endif %}", 3, "no open block"},
      {"{{ 'abc }}", 3, "unterminated string"},
      {"{% bogus %}", 3, "unknown statement"},
      {"{{ x $ y }}", 5, "unexpected character '$'"},
      {"{# never closed", 0, "unterminated comment"},
      {"{% for x in y %}{% else %}{% else %}{% endfor %}", 29, "unexpected"},
      {"{% break %}", 3, "outside of a for loop"},
      {"{{ a[1:2:3:4] }}", 10, "too many ':'"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.src);
    auto e = error_of([&] { ChatTemplate::parse(c.src); });
    CHECK(e.code() == Status::kParseError);
    CHECK(e.offset() == c.offset);
    CHECK(contains(e.what(), c.part));
  }
  auto e = error_of([] { ChatTemplate::parse("x\n  {% include 'other.j2' %}"); });
  CHECK(e.code() == Status::kParseError);
  CHECK(contains(e.what(), "not supported"));
  CHECK(contains(e.what(), "line 2, column 6"));
}

TEST_CASE("runtime errors name the position") {
  auto e = error_of([] { R("ok\n{{ 1 + 'a' }}"); });
  CHECK(e.code() == Status::kInvalidArgument);
  CHECK(contains(e.what(), "line 2"));
  CHECK(contains(e.what(), "unsupported operand"));
  e = error_of([] { R("{{ 1 // 0 }}"); });
  CHECK(contains(e.what(), "division"));
  e = error_of([] { R("{{ x | nosuchfilter }}"); });
  CHECK(contains(e.what(), "unknown filter 'nosuchfilter'"));
  e = error_of([] { R("{% for x in 5 %}{% endfor %}"); });
  CHECK(contains(e.what(), "not iterable"));
  e = error_of([] { ChatTemplate::parse("x").render(json::array()); });
  CHECK(e.code() == Status::kInvalidArgument);
}

TEST_CASE("runaway templates are bounded") {
  sgl::ChatTemplateLimits small;
  small.max_iterations = 10'000;
  small.max_output_bytes = 1 << 16;
  auto loops = ChatTemplate::parse("{% for a in range(100) %}{% for b in range(100) %}{% for c in range(100) %}"
                                   "{% endfor %}{% endfor %}{% endfor %}");
  auto e = error_of([&] { loops.render(json::object(), small); });
  CHECK(e.code() == Status::kInvalidArgument);
  CHECK(contains(e.what(), "loop iterations"));
  e = error_of([] { R("{{ range(100000000000) }}"); });
  CHECK(contains(e.what(), "iteration limit"));
  auto grow = ChatTemplate::parse("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}");
  e = error_of([&] { grow.render(json::object(), small); });
  CHECK(contains(e.what(), "bytes"));
  e = error_of([&] { ChatTemplate::parse("{% for i in range(9000) %}xxxxxxxxxx{% endfor %}").render(json::object(), small); });
  CHECK(contains(e.what(), "bytes"));
  e = error_of([] { R("{{ 'x' * 100000000000 }}"); });
  CHECK(contains(e.what(), "bytes"));
  // Deep nesting is a parse error, not a stack overflow.
  std::string deep = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
  e = error_of([&] { ChatTemplate::parse(deep); });
  CHECK(e.code() == Status::kParseError);
  CHECK(contains(e.what(), "nested too deeply"));
  std::string chain = "{{ x";
  for (int i = 0; i < 5000; ++i) chain += i % 2 ? "|trim" : ".a";
  e = error_of([&] { ChatTemplate::parse(chain + " }}"); });
  CHECK(e.code() == Status::kParseError);
  std::string sum = "{{ 1";
  for (int i = 0; i < 5000; ++i) sum += " + 1";
  e = error_of([&] { ChatTemplate::parse(sum + " }}"); });
  CHECK(contains(e.what(), "nested too deeply"));
  // Values cannot be nested without bound, and namespaces cannot contain themselves.
  e = error_of([] { R("{% set ns = namespace(x=[]) %}{% for i in range(1000) %}{% set ns.x = [ns.x] %}{% endfor %}"); });
  CHECK(contains(e.what(), "nested"));
  e = error_of([] { R("{% set ns = namespace(x=1) %}{% set ns.x = [ns] %}{{ ns }}"); });
  CHECK(contains(e.what(), "namespace"));
  json deep_ctx = json::array();
  for (int i = 0; i < 1000; ++i) deep_ctx = json::array({deep_ctx});
  e = error_of([&] { ChatTemplate::parse("{{ d }}").render(json{{"d", deep_ctx}}); });
  CHECK(contains(e.what(), "nested deeper"));
  std::string deep_if;
  for (int i = 0; i < 1000; ++i) deep_if += "{% if true %}";
  e = error_of([&] { ChatTemplate::parse(deep_if); });
  CHECK(e.code() == Status::kParseError);
}

TEST_CASE("built-in templates render the documented formats") {
  json ctx = {{"messages", conversation()}, {"add_generation_prompt", true}, {"bos_token", "<s>"}, {"eos_token", "</s>"}};
  auto render_builtin = [&](const char* name, const json& c) {
    auto src = sgl::builtin_chat_template(name);
    REQUIRE(src.has_value());
    return ChatTemplate::parse(*src).render(c);
  };
  CHECK(render_builtin("llama-2", ctx) ==
        "<s>[INST] <<SYS>>\nYou are helpful.\n<</SYS>>\n\nHello [/INST] Hi there! </s><s>[INST] How are you? [/INST]");
  CHECK(render_builtin("mistral", ctx) == "<s>[INST] Hello[/INST] Hi there!</s>[INST] You are helpful.\n\nHow are you?[/INST]");

  json l3 = ctx;
  l3["bos_token"] = "<|begin_of_text|>";
  l3["eos_token"] = "<|eot_id|>";
  CHECK(render_builtin("llama-3", l3) ==
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nHi there!<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n");

  const std::string chatml =
      "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
      "<|im_start|>assistant\nHi there!<|im_end|>\n<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n";
  CHECK(render_builtin("chatml", ctx) == chatml);
  CHECK(render_builtin("qwen", ctx) == chatml);
  json no_prompt = ctx;
  no_prompt["add_generation_prompt"] = false;
  CHECK(render_builtin("chatml", no_prompt) == chatml.substr(0, chatml.size() - std::string("<|im_start|>assistant\n").size()));

  json ds = ctx;
  ds["bos_token"] = "<｜begin▁of▁sentence｜>";
  ds["eos_token"] = "<｜end▁of▁sentence｜>";
  CHECK(render_builtin("deepseek", ds) ==
        "<｜begin▁of▁sentence｜>You are helpful.\n\nUser: Hello\n\nAssistant: Hi there!<｜end▁of▁sentence｜>"
        "User: How are you?\n\nAssistant:");
  CHECK(render_builtin("deepseek3", ds) ==
        "<｜begin▁of▁sentence｜>You are helpful.<｜User｜>Hello<｜Assistant｜>Hi there!<｜end▁of▁sentence｜>"
        "<｜User｜>How are you?<｜Assistant｜>");

  // Role alternation is enforced where the model's own template enforces it.
  json bad = ctx;
  bad["messages"] = json::array({{{"role", "user"}, {"content", "a"}}, {{"role", "user"}, {"content", "b"}}});
  for (const char* name : {"llama-2", "mistral"}) {
    CAPTURE(name);
    auto e = error_of([&] { render_builtin(name, bad); });
    CHECK(e.code() == Status::kInvalidArgument);
    CHECK(contains(e.what(), "alternate"));
  }

  auto names = sgl::builtin_chat_template_names();
  CHECK(names.size() == 7);
  for (const auto& n : names) CHECK_NOTHROW(ChatTemplate::parse(*sgl::builtin_chat_template(n)));
  CHECK_FALSE(sgl::builtin_chat_template("nope").has_value());
}
