// JSON Schema to grammar. One rule per $ref target (so recursion works), per property value and
// per object/array shape; the JSON lexical rules (string, number, any value) are shared.
#include "core/grammar/json_schema.hpp"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/grammar/regex_dfa.hpp"
#include "core/grammar/regex_parser.hpp"
#include "core/grammar/utf8_ranges.hpp"
#include "core/support/log.hpp"
#include "sgl/error.hpp"

namespace sgl::grammar {

using J = nlohmann::ordered_json;

namespace {

Expr digit() { return Expr::bytes_of(ByteSet::range('0', '9')); }
Expr digits(uint32_t n) { return Expr::repeat(digit(), n, n); }

using u128 = unsigned __int128;

std::string to_dec(u128 v) {
  if (v == 0) return "0";
  std::string s;
  while (v) s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(v % 10))), v /= 10;
  return s;
}
u128 pow10(size_t n) {
  u128 r = 1;
  while (n--) r *= 10;
  return r;
}

Expr same_len(const std::string& a, const std::string& b) {
  size_t L = a.size();
  if (L == 1) return Expr::bytes_of(ByteSet::range(a[0], b[0]));
  if (a == b) return Expr::literal(a);
  if (a.find_first_not_of('0', 1) == std::string::npos && b.find_first_not_of('9', 1) == std::string::npos)
    return Expr::seq({Expr::bytes_of(ByteSet::range(a[0], b[0])), digits(static_cast<uint32_t>(L - 1))});
  if (a[0] == b[0]) return Expr::seq({Expr::byte(a[0]), same_len(a.substr(1), b.substr(1))});
  std::vector<Expr> alts;
  alts.push_back(Expr::seq({Expr::byte(a[0]), same_len(a.substr(1), std::string(L - 1, '9'))}));
  if (a[0] + 1 <= b[0] - 1)
    alts.push_back(Expr::seq({Expr::bytes_of(ByteSet::range(a[0] + 1, b[0] - 1)),
                              digits(static_cast<uint32_t>(L - 1))}));
  alts.push_back(Expr::seq({Expr::byte(b[0]), same_len(std::string(L - 1, '0'), b.substr(1))}));
  return Expr::alt(std::move(alts));
}

// Non-negative integers in [lo, hi] (hi null: unbounded).
Expr nonneg_range(u128 lo, const u128* hi, std::vector<Expr>& alts) {
  size_t llo = to_dec(lo).size();
  size_t lhi = hi ? to_dec(*hi).size() : llo;
  for (size_t L = llo; L <= lhi; ++L) {
    u128 a = std::max<u128>(lo, L == 1 ? 0 : pow10(L - 1));
    u128 b = pow10(L) - 1;
    if (hi && *hi < b) b = *hi;
    if (a <= b) alts.push_back(same_len(to_dec(a), to_dec(b)));
  }
  if (!hi)  // any number with more digits than lo
    alts.push_back(Expr::seq({Expr::bytes_of(ByteSet::range('1', '9')),
                              digits(static_cast<uint32_t>(llo)), Expr::star(digit())}));
  return Expr::empty();
}

Expr nonneg(u128 lo, const u128* hi) {
  std::vector<Expr> alts;
  nonneg_range(lo, hi, alts);
  return Expr::alt(std::move(alts));
}

std::string pointer_escape(const std::string& k) {
  std::string o;
  for (char c : k) {
    if (c == '~') o += "~0";
    else if (c == '/') o += "~1";
    else o += c;
  }
  return o;
}

const std::set<std::string>& unenforceable() {
  static const std::set<std::string> s = {
      "not", "if", "then", "else", "dependencies", "dependentRequired", "dependentSchemas",
      "patternProperties", "propertyNames", "unevaluatedProperties", "unevaluatedItems",
      "contains", "minContains", "maxContains", "$dynamicRef", "$recursiveRef"};
  return s;
}

struct FormatRe {
  const char* name;
  const char* re;
};
const FormatRe kFormats[] = {
    {"date", R"(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]))"},
    {"time", R"(([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d))"},
    {"date-time", R"(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d))"},
    {"email", R"([A-Za-z0-9]([A-Za-z0-9._+-]{0,30}[A-Za-z0-9])?@[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?(\.[A-Za-z]{2,10}){1,3})"},
    {"uuid", R"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"},
    {"uri", R"([a-zA-Z][a-zA-Z0-9+.\-]{0,15}://[A-Za-z0-9\-._~]{1,64}(/([A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2}){0,64}){0,8}(\?([A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2}){0,64})?)"},
    {"ipv4", R"(((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d))"},
    // RFC 4291 text forms: eight groups, or fewer around one "::" (embedded IPv4 tails are not
    // generated).
    {"ipv6", R"(([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,7}:|([0-9a-fA-F]{1,4}:){1,6}:[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,5}(:[0-9a-fA-F]{1,4}){1,2}|([0-9a-fA-F]{1,4}:){1,4}(:[0-9a-fA-F]{1,4}){1,3}|([0-9a-fA-F]{1,4}:){1,3}(:[0-9a-fA-F]{1,4}){1,4}|([0-9a-fA-F]{1,4}:){1,2}(:[0-9a-fA-F]{1,4}){1,5}|[0-9a-fA-F]{1,4}:(:[0-9a-fA-F]{1,4}){1,6}|:((:[0-9a-fA-F]{1,4}){1,7}|:))"},
    // RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens (labels are
    // capped at 32 characters and names at 8 labels, as email's parts are, to keep the automaton
    // small; the RFC allows 63 and 253).
    {"hostname", R"([A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?){0,7})"},
};

class SchemaCompiler {
 public:
  SchemaCompiler(const J& root, const GrammarOptions& opt, std::vector<std::string>* warnings)
      : root_(root), opt_(opt), warnings_(warnings) {}

  Grammar compile() {
    uint32_t r = b_.declare("root");
    b_.define(r, Expr::seq({ws_any(), schema(root_, "#", 0), ws_any()}));
    return b_.build(r);
  }

  Grammar object_only() {
    uint32_t r = b_.declare("root");
    b_.define(r, Expr::seq({ws_any(), Expr::ref(any_object()), ws_any()}));
    return b_.build(r);
  }

 private:
  [[noreturn]] void unsupported(const std::string& kw, const std::string& ptr, const std::string& why) {
    throw Error(Status::kUnsupported,
                fmt::format("json_schema: keyword '{}' at '{}' cannot be enforced{} (set "
                            "allow_unenforced_keywords to ignore it)", kw, ptr, why.empty() ? "" : ": " + why));
  }
  void report(const std::string& kw, const std::string& ptr, const std::string& why = "") {
    if (!opt_.allow_unenforced_keywords) unsupported(kw, ptr, why);
    std::string w = fmt::format("json_schema: keyword '{}' at '{}' is not enforced{}", kw, ptr,
                                why.empty() ? "" : ": " + why);
    SGL_LOG_WARN("{}", w);
    if (warnings_) warnings_->push_back(w);
  }
  [[noreturn]] void bad(const std::string& ptr, const std::string& what) {
    throw Error(Status::kParseError, fmt::format("json_schema: {} at '{}'", what, ptr));
  }

  // --- whitespace and separators ------------------------------------------------------------
  Expr ws_any() {
    if (opt_.whitespace != JsonWhitespace::kAny) return Expr::empty();
    ByteSet s;
    s.set(' '), s.set('\n'), s.set('\t'), s.set('\r');
    return Expr::repeat(Expr::bytes_of(s), 0, opt_.max_whitespace);
  }
  Expr comma() {
    if (opt_.whitespace == JsonWhitespace::kSpaced) return Expr::literal(", ");
    return Expr::seq({ws_any(), Expr::byte(','), ws_any()});
  }
  Expr colon() {
    if (opt_.whitespace == JsonWhitespace::kSpaced) return Expr::literal(": ");
    return Expr::seq({ws_any(), Expr::byte(':'), ws_any()});
  }
  Expr open(char c) { return Expr::seq({Expr::byte(c), ws_any()}); }
  Expr close(char c) { return Expr::seq({ws_any(), Expr::byte(c)}); }

  // --- JSON lexical rules -------------------------------------------------------------------
  Expr str_char() {
    if (!char_rule_) {
      char_rule_ = b_.declare("json_char");
      CpSet plain = complement(normalize({{0, 0x1F}, {'"', '"'}, {'\\', '\\'}}));
      ByteSet simple_esc;
      for (char c : std::string("\"\\/bfnrt")) simple_esc.set(c);
      ByteSet hex;
      hex.set_range('0', '9'), hex.set_range('a', 'f'), hex.set_range('A', 'F');
      ByteSet h1;  // first hex digit of \uXXXX outside the surrogate range D800-DFFF
      h1.set_range('0', '9'), h1.set_range('a', 'c'), h1.set_range('A', 'C'), h1.set('e'), h1.set('E'),
          h1.set('f'), h1.set('F');
      ByteSet d, d2;
      d.set('d'), d.set('D');
      d2.set_range('0', '7');
      Expr hx = Expr::bytes_of(hex);
      Expr u = Expr::alt({Expr::seq({Expr::bytes_of(h1), hx, hx, hx}),
                          Expr::seq({Expr::bytes_of(d), Expr::bytes_of(d2), hx, hx})});
      b_.define(*char_rule_,
                Expr::alt({utf8_expr(plain),
                           Expr::seq({Expr::byte('\\'),
                                      Expr::alt({Expr::bytes_of(simple_esc), Expr::seq({Expr::byte('u'), u})})})}));
    }
    return Expr::ref(*char_rule_);
  }
  uint32_t any_string() {
    if (!string_rule_) {
      string_rule_ = b_.declare("json_string");
      b_.define(*string_rule_, Expr::seq({Expr::byte('"'), Expr::star(str_char()), Expr::byte('"')}));
    }
    return *string_rule_;
  }
  Expr int_part() {
    return Expr::alt({Expr::byte('0'), Expr::seq({Expr::bytes_of(ByteSet::range('1', '9')), Expr::star(digit())})});
  }
  uint32_t any_number() {
    if (!number_rule_) {
      number_rule_ = b_.declare("json_number");
      ByteSet e, sign;
      e.set('e'), e.set('E'), sign.set('+'), sign.set('-');
      b_.define(*number_rule_,
                Expr::seq({Expr::opt(Expr::byte('-')), int_part(),
                           Expr::opt(Expr::seq({Expr::byte('.'), Expr::plus(digit())})),
                           // Exponents of at most 2 digits keep values within what common parsers
                           // (doubles) accept; 1e999999 is valid JSON but overflows them.
                           Expr::opt(Expr::seq({Expr::bytes_of(e), Expr::opt(Expr::bytes_of(sign)),
                                                Expr::repeat(digit(), 1, 2)}))}));
    }
    return *number_rule_;
  }
  uint32_t any_integer() {
    if (!integer_rule_) {
      integer_rule_ = b_.declare("json_integer");
      b_.define(*integer_rule_, Expr::seq({Expr::opt(Expr::byte('-')), int_part()}));
    }
    return *integer_rule_;
  }
  uint32_t any_value() {
    if (!value_rule_) {
      value_rule_ = b_.declare("json_value");
      uint32_t obj = any_object();
      uint32_t arr = b_.declare("json_array");
      b_.define(arr, Expr::seq({open('['),
                                Expr::opt(Expr::seq({Expr::ref(*value_rule_),
                                                     Expr::star(Expr::seq({comma(), Expr::ref(*value_rule_)}))})),
                                close(']')}));
      b_.define(*value_rule_, Expr::alt({Expr::ref(obj), Expr::ref(arr), Expr::ref(any_string()),
                                         Expr::ref(any_number()), Expr::literal("true"),
                                         Expr::literal("false"), Expr::literal("null")}));
    }
    return *value_rule_;
  }
  uint32_t any_object() {
    if (!object_rule_) {
      object_rule_ = b_.declare("json_object");
      uint32_t v = any_value();
      Expr kv = Expr::seq({Expr::ref(any_string()), colon(), Expr::ref(v)});
      Expr kv2 = kv;
      b_.define(*object_rule_,
                Expr::seq({open('{'), Expr::opt(Expr::seq({std::move(kv), Expr::star(Expr::seq({comma(), std::move(kv2)}))})),
                           close('}')}));
    }
    return *object_rule_;
  }

  // --- $ref -----------------------------------------------------------------------------------
  const J& resolve(const std::string& ref, const std::string& ptr) {
    if (ref.empty() || ref[0] != '#')
      throw Error(Status::kNotFound,
                  fmt::format("json_schema: unknown $ref '{}' at '{}' (only local '#/...' references "
                              "are supported)", ref, ptr));
    const J* cur = &root_;
    size_t i = 1;
    if (i < ref.size() && ref[i] != '/')
      throw Error(Status::kNotFound, fmt::format("json_schema: unknown $ref '{}' at '{}' (anchors are not "
                                                 "supported)", ref, ptr));
    while (i < ref.size()) {
      size_t j = ref.find('/', i + 1);
      std::string tok = ref.substr(i + 1, j == std::string::npos ? std::string::npos : j - i - 1);
      std::string key;
      for (size_t k = 0; k < tok.size(); ++k) {
        if (tok[k] == '~' && k + 1 < tok.size()) {
          key += tok[k + 1] == '1' ? '/' : '~';
          ++k;
        } else if (tok[k] == '%' && k + 2 < tok.size() + 0 && std::isxdigit(static_cast<unsigned char>(tok[k + 1])) &&
                   std::isxdigit(static_cast<unsigned char>(tok[k + 2]))) {
          key += static_cast<char>(std::stoi(tok.substr(k + 1, 2), nullptr, 16));
          k += 2;
        } else {
          key += tok[k];
        }
      }
      if (cur->is_object() && cur->contains(key)) {
        cur = &(*cur)[key];
      } else if (cur->is_array() && !key.empty() && key.find_first_not_of("0123456789") == std::string::npos &&
                 std::stoul(key) < cur->size()) {
        cur = &(*cur)[std::stoul(key)];
      } else {
        throw Error(Status::kNotFound, fmt::format("json_schema: unknown $ref '{}' at '{}'", ref, ptr));
      }
      if (j == std::string::npos) break;
      i = j;
    }
    return *cur;
  }

  Expr ref_expr(const std::string& ref, const std::string& ptr, int depth) {
    auto it = ref_rules_.find(ref);
    if (it != ref_rules_.end()) return Expr::ref(it->second);
    const J& target = resolve(ref, ptr);
    std::string base = "ref";
    size_t slash = ref.rfind('/');
    if (slash != std::string::npos) {
      for (char c : ref.substr(slash + 1))
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') base += c;
    }
    uint32_t id = b_.declare_unique(base);
    ref_rules_[ref] = id;
    b_.define(id, schema(target, ref, depth + 1));
    return Expr::ref(id);
  }

  // Resolves a top-level $ref chain for merging.
  J deref(const J& s, const std::string& ptr, int depth) {
    if (depth > 32) bad(ptr, "$ref chain too deep or cyclic inside allOf");
    if (s.is_object() && s.contains("$ref") && s["$ref"].is_string()) {
      J t = resolve(s["$ref"].get<std::string>(), ptr);
      J rest = s;
      rest.erase("$ref");
      if (rest.empty()) return deref(t, ptr, depth + 1);
      return merge(deref(t, ptr, depth + 1), rest, ptr, depth + 1);
    }
    return s;
  }

  static J type_list(const J& t) {
    if (t.is_string()) return J::array({t});
    return t;
  }

  J merge(J a, const J& bsrc, const std::string& ptr, int depth) {
    if (a.is_boolean()) a = a.get<bool>() ? J::object() : J{{"not", J::object()}};
    J b = deref(bsrc.is_boolean() ? (bsrc.get<bool>() ? J::object() : J{{"not", J::object()}}) : bsrc, ptr, depth + 1);
    if (a.contains("allOf")) {
      J parts = a["allOf"];
      a.erase("allOf");
      for (const J& p : parts) a = merge(a, p, ptr, depth + 1);
    }
    if (b.contains("allOf")) {
      J parts = b["allOf"];
      b.erase("allOf");
      for (const J& p : parts) b = merge(b, p, ptr, depth + 1);
    }
    for (auto it = b.begin(); it != b.end(); ++it) {
      const std::string& k = it.key();
      const J& v = it.value();
      if (!a.contains(k)) {
        a[k] = v;
        continue;
      }
      J& cur = a[k];
      if (cur == v) continue;
      if (k == "properties" && cur.is_object() && v.is_object()) {
        for (auto p = v.begin(); p != v.end(); ++p) {
          if (cur.contains(p.key())) cur[p.key()] = J{{"allOf", J::array({cur[p.key()], p.value()})}};
          else cur[p.key()] = p.value();
        }
      } else if (k == "required" && cur.is_array() && v.is_array()) {
        for (const J& r : v)
          if (std::find(cur.begin(), cur.end(), r) == cur.end()) cur.push_back(r);
      } else if (k == "type") {
        J ta = type_list(cur), tb = type_list(v), out = J::array();
        for (const J& x : ta)
          for (const J& y : tb) {
            if (x == y) out.push_back(x);
            else if ((x == "integer" && y == "number") || (x == "number" && y == "integer")) out.push_back("integer");
          }
        if (out.empty()) bad(ptr, "allOf combines incompatible types");
        cur = out;
      } else if (k == "enum" && cur.is_array() && v.is_array()) {
        J out = J::array();
        for (const J& x : cur)
          if (std::find(v.begin(), v.end(), x) != v.end()) out.push_back(x);
        cur = out;
      } else if ((k == "minimum" || k == "minLength" || k == "minItems" || k == "minProperties") &&
                 cur.is_number() && v.is_number()) {
        if (v > cur) cur = v;
      } else if ((k == "maximum" || k == "maxLength" || k == "maxItems" || k == "maxProperties") &&
                 cur.is_number() && v.is_number()) {
        if (v < cur) cur = v;
      } else if (k == "additionalProperties" || k == "items") {
        if (cur == false || v == false) cur = false;
        else cur = J{{"allOf", J::array({cur, v})}};
      } else if ((k == "anyOf" || k == "oneOf") && cur.is_array() && v.is_array()) {
        if (cur.size() * v.size() > 64) report("allOf", ptr, "too many combinations of anyOf branches");
        J out = J::array();
        for (const J& x : cur)
          for (const J& y : v) out.push_back(J{{"allOf", J::array({x, y})}});
        cur = out;
      } else if (k == "$defs" || k == "definitions" || k == "title" || k == "description" ||
                 k == "default" || k == "examples" || k == "$schema" || k == "$id" || k == "$comment") {
        continue;
      } else {
        report("allOf", ptr, fmt::format("conflicting values for '{}'", k));
      }
    }
    return a;
  }

  // --- schemas --------------------------------------------------------------------------------
  Expr literal_value(const J& v) { return Expr::literal(v.dump()); }

  Expr schema(const J& s, const std::string& ptr, int depth) {
    if (depth > 200) bad(ptr, "schema nests too deeply");
    if (s.is_boolean()) {
      if (s.get<bool>()) return Expr::ref(any_value());
      throw Error(Status::kUnsupported, fmt::format("json_schema: schema 'false' at '{}' matches nothing", ptr));
    }
    if (!s.is_object()) bad(ptr, "a schema must be an object or a boolean");
    for (auto it = s.begin(); it != s.end(); ++it)
      if (unenforceable().count(it.key())) report(it.key(), ptr);
    if (s.contains("$ref")) {
      if (!s["$ref"].is_string()) bad(ptr, "$ref must be a string");
      bool siblings = false;
      static const std::set<std::string> ignore = {"$ref", "title", "description", "default", "examples",
                                                   "$comment", "$schema", "$id", "id", "definitions", "$defs",
                                                   "deprecated", "readOnly", "writeOnly"};
      for (auto it = s.begin(); it != s.end(); ++it)
        if (!ignore.count(it.key())) siblings = true;
      if (!siblings) return ref_expr(s["$ref"].get<std::string>(), ptr, depth);
      return schema(deref(s, ptr, depth), ptr, depth + 1);
    }
    if (s.contains("allOf")) {
      if (!s["allOf"].is_array() || s["allOf"].empty()) bad(ptr, "allOf must be a non-empty array");
      J base = s;
      base.erase("allOf");
      J m = base;
      for (const J& p : s["allOf"]) m = merge(m, p, ptr + "/allOf", depth + 1);
      return schema(m, ptr, depth + 1);
    }
    for (const char* kw : {"anyOf", "oneOf"}) {
      if (!s.contains(kw)) continue;
      if (!s[kw].is_array() || s[kw].empty()) bad(ptr, fmt::format("{} must be a non-empty array", kw));
      J base = s;
      base.erase(kw);
      bool has_base = false;
      for (auto it = base.begin(); it != base.end(); ++it)
        if (it.key() != "title" && it.key() != "description" && it.key() != "$schema" && it.key() != "default" &&
            it.key() != "definitions" && it.key() != "$defs" && it.key() != "$id" && it.key() != "$comment" &&
            it.key() != "examples")
          has_base = true;
      std::vector<Expr> alts;
      size_t i = 0;
      for (const J& sub : s[kw]) {
        std::string p = fmt::format("{}/{}/{}", ptr, kw, i++);
        if (has_base) alts.push_back(schema(merge(base, sub, p, depth + 1), p, depth + 1));
        else alts.push_back(schema(sub, p, depth + 1));
      }
      return Expr::alt(std::move(alts));
    }
    if (s.contains("nullable") && s["nullable"] == true) {
      J rest = s;
      rest.erase("nullable");
      return Expr::alt({schema(rest, ptr, depth + 1), Expr::literal("null")});
    }
    if (s.contains("const")) return literal_value(s["const"]);
    if (s.contains("enum")) {
      if (!s["enum"].is_array() || s["enum"].empty()) bad(ptr, "enum must be a non-empty array");
      std::vector<Expr> alts;
      for (const J& v : s["enum"]) alts.push_back(literal_value(v));
      return Expr::alt(std::move(alts));
    }
    std::vector<std::string> types;
    if (s.contains("type")) {
      for (const J& t : type_list(s["type"])) {
        if (!t.is_string()) bad(ptr + "/type", "type must be a string or an array of strings");
        types.push_back(t.get<std::string>());
      }
    } else {
      auto has = [&](std::initializer_list<const char*> ks) {
        for (const char* k : ks)
          if (s.contains(k)) return true;
        return false;
      };
      if (has({"properties", "required", "additionalProperties", "minProperties", "maxProperties"}))
        types.push_back("object");
      if (has({"items", "prefixItems", "minItems", "maxItems", "additionalItems", "uniqueItems"}))
        types.push_back("array");
      if (has({"minLength", "maxLength", "pattern", "format"})) types.push_back("string");
      if (has({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}))
        types.push_back("number");
      if (types.empty()) return Expr::ref(any_value());
    }
    std::vector<Expr> alts;
    for (const std::string& t : types) {
      if (t == "null") alts.push_back(Expr::literal("null"));
      else if (t == "boolean") alts.push_back(Expr::alt({Expr::literal("true"), Expr::literal("false")}));
      else if (t == "string") alts.push_back(string_schema(s, ptr));
      else if (t == "integer") alts.push_back(number_schema(s, ptr, true));
      else if (t == "number") alts.push_back(number_schema(s, ptr, false));
      else if (t == "object") alts.push_back(object_schema(s, ptr, depth));
      else if (t == "array") alts.push_back(array_schema(s, ptr, depth));
      else bad(ptr + "/type", fmt::format("unknown type '{}'", t));
    }
    return Expr::alt(std::move(alts));
  }

  uint32_t get_count(const J& s, const char* k, const std::string& ptr, uint32_t dflt) {
    if (!s.contains(k)) return dflt;
    const J& v = s[k];
    if (!v.is_number() || v.get<double>() < 0) bad(ptr + "/" + k, "must be a non-negative number");
    double d = v.get<double>();
    return d > 1e9 ? kUnbounded - 1 : static_cast<uint32_t>(d);
  }

  Expr pattern_chars(const std::string& re_src, const std::string& ptr, const char* kw, bool search) {
    ParsedRegex re;
    try {
      re = parse_regex(re_src);
    } catch (const Error& e) {
      report(kw, ptr, e.what());
      return Expr::star(str_char());
    }
    Expr e = std::move(re.expr);
    if (search) {
      Expr any = Expr::star(utf8_expr(complement({})));
      std::vector<Expr> parts;
      if (!re.anchored_start) parts.push_back(any);
      parts.push_back(std::move(e));
      if (!re.anchored_end) parts.push_back(any);
      e = Expr::seq(std::move(parts));
    }
    DfaLimits lim;
    lim.max_states = opt_.max_dfa_states;
    Dfa dfa;
    try {
      dfa = build_dfa(e, lim);
    } catch (const Error& err) {
      report(kw, ptr, err.what());
      return Expr::star(str_char());
    }
    ByteSet allowed = ByteSet{}.complement();
    for (int c = 0; c < 0x20; ++c) allowed.w[0] &= ~(uint64_t{1} << c);
    allowed.w[0] &= ~(uint64_t{1} << '"');
    allowed.w[1] &= ~(uint64_t{1} << ('\\' - 64));
    return Expr::ref(dfa_to_rules(dfa, b_, "pattern", allowed));
  }

  Expr string_schema(const J& s, const std::string& ptr) {
    uint32_t mn = get_count(s, "minLength", ptr, 0);
    uint32_t mx = get_count(s, "maxLength", ptr, kUnbounded);
    bool has_pat = s.contains("pattern");
    bool has_fmt = s.contains("format");
    if (has_pat || has_fmt) {
      if (s.contains("minLength") || s.contains("maxLength"))
        report(s.contains("minLength") ? "minLength" : "maxLength", ptr, "length bounds together with pattern/format");
      if (has_pat && has_fmt) report("format", ptr, "format together with pattern");
      if (has_pat) {
        if (!s["pattern"].is_string()) bad(ptr + "/pattern", "pattern must be a string");
        return Expr::seq({Expr::byte('"'), pattern_chars(s["pattern"].get<std::string>(), ptr, "pattern", true),
                          Expr::byte('"')});
      }
      if (!s["format"].is_string()) bad(ptr + "/format", "format must be a string");
      std::string f = s["format"].get<std::string>();
      for (const FormatRe& fr : kFormats)
        if (f == fr.name) {
          auto it = format_rules_.find(f);
          if (it == format_rules_.end()) {
            Expr body = pattern_chars(fr.re, ptr, "format", false);
            it = format_rules_.emplace(f, body).first;
          }
          return Expr::seq({Expr::byte('"'), it->second, Expr::byte('"')});
        }
      report("format", ptr, fmt::format("unsupported format '{}'", f));
      return Expr::ref(any_string());
    }
    if (mn == 0 && mx == kUnbounded) return Expr::ref(any_string());
    if (mx != kUnbounded && mn > mx) throw Error(Status::kUnsupported, fmt::format("json_schema: minLength > maxLength at '{}'", ptr));
    return Expr::seq({Expr::byte('"'), Expr::repeat(str_char(), mn, mx), Expr::byte('"')});
  }

  Expr number_schema(const J& s, const std::string& ptr, bool integer) {
    if (s.contains("multipleOf")) {
      const J& m = s["multipleOf"];
      bool trivial = m.is_number() && integer && std::floor(m.get<double>()) == m.get<double>() && m.get<double>() == 1;
      if (!trivial) report("multipleOf", ptr);
    }
    std::optional<double> lo, hi;
    bool lo_ex = false, hi_ex = false;
    auto num = [&](const char* k) -> std::optional<double> {
      if (!s.contains(k)) return std::nullopt;
      if (s[k].is_boolean()) return std::nullopt;
      if (!s[k].is_number()) bad(ptr + "/" + k, "must be a number");
      return s[k].get<double>();
    };
    lo = num("minimum");
    hi = num("maximum");
    if (s.contains("exclusiveMinimum")) {
      if (s["exclusiveMinimum"].is_boolean()) lo_ex = s["exclusiveMinimum"].get<bool>();
      else if (auto v = num("exclusiveMinimum"); v && (!lo || *v >= *lo)) lo = v, lo_ex = true;
    }
    if (s.contains("exclusiveMaximum")) {
      if (s["exclusiveMaximum"].is_boolean()) hi_ex = s["exclusiveMaximum"].get<bool>();
      else if (auto v = num("exclusiveMaximum"); v && (!hi || *v <= *hi)) hi = v, hi_ex = true;
    }
    if (integer && s.contains("format") && s["format"].is_string()) {
      std::string f = s["format"].get<std::string>();
      if (f == "int32") {
        if (!lo || *lo < -2147483648.0) lo = -2147483648.0, lo_ex = false;
        if (!hi || *hi > 2147483647.0) hi = 2147483647.0, hi_ex = false;
      }
    }
    if (!lo && !hi) return Expr::ref(integer ? any_integer() : any_number());
    const double kMax = 9.0e18;
    if ((lo && std::fabs(*lo) > kMax) || (hi && std::fabs(*hi) > kMax))
      report(lo && std::fabs(*lo) > kMax ? "minimum" : "maximum", ptr, "bound too large for an exact grammar");
    if (lo && std::fabs(*lo) > kMax) lo.reset();
    if (hi && std::fabs(*hi) > kMax) hi.reset();
    // Integer-valued bounds.
    std::optional<int64_t> ilo, ihi;
    if (lo) ilo = static_cast<int64_t>(std::ceil(*lo)) + ((lo_ex && std::ceil(*lo) == *lo) ? 1 : 0);
    if (hi) ihi = static_cast<int64_t>(std::floor(*hi)) - ((hi_ex && std::floor(*hi) == *hi) ? 1 : 0);
    std::vector<Expr> alts;
    if (!(ilo && ihi && *ilo > *ihi)) alts.push_back(integer_range_expr(ilo ? &*ilo : nullptr, ihi ? &*ihi : nullptr));
    if (!integer) {
      Expr frac = Expr::seq({Expr::byte('.'), Expr::star(digit()), Expr::bytes_of(ByteSet::range('1', '9'))});
      // Positive: I.F with I in [max(0, ceil(lo)), floor(hi) - 1].
      int64_t plo = lo ? std::max<int64_t>(0, static_cast<int64_t>(std::ceil(*lo))) : 0;
      std::optional<int64_t> phi;
      if (hi) phi = static_cast<int64_t>(std::floor(*hi)) - 1;
      if (!phi || *phi >= plo) alts.push_back(Expr::seq({integer_range_expr(&plo, phi ? &*phi : nullptr), frac}));
      // Negative: -I.F with I in [max(0, ceil(-hi)), floor(-lo) - 1].
      int64_t nlo = hi ? std::max<int64_t>(0, static_cast<int64_t>(std::ceil(-*hi))) : 0;
      std::optional<int64_t> nhi;
      if (lo) nhi = static_cast<int64_t>(std::floor(-*lo)) - 1;
      if (!nhi || *nhi >= nlo)
        alts.push_back(Expr::seq({Expr::byte('-'), integer_range_expr(&nlo, nhi ? &*nhi : nullptr), frac}));
    }
    if (alts.empty())
      throw Error(Status::kUnsupported, fmt::format("json_schema: numeric bounds at '{}' admit no value", ptr));
    return Expr::alt(std::move(alts));
  }

  Expr member(const std::string& key, Expr value) {
    return Expr::seq({Expr::literal(J(key).dump()), colon(), std::move(value)});
  }

  Expr value_rule(const J& sub, const std::string& ptr, int depth, const char* base) {
    uint32_t id = b_.declare_unique(base);
    b_.define(id, schema(sub, ptr, depth + 1));
    return Expr::ref(id);
  }

  Expr object_schema(const J& s, const std::string& ptr, int depth) {
    std::vector<std::pair<std::string, Expr>> props;
    std::vector<bool> req;
    std::set<std::string> required;
    if (s.contains("required")) {
      if (!s["required"].is_array()) bad(ptr + "/required", "required must be an array");
      for (const J& r : s["required"]) {
        if (!r.is_string()) bad(ptr + "/required", "required entries must be strings");
        required.insert(r.get<std::string>());
      }
    }
    bool has_props = s.contains("properties");
    if (has_props) {
      if (!s["properties"].is_object()) bad(ptr + "/properties", "properties must be an object");
      for (auto it = s["properties"].begin(); it != s["properties"].end(); ++it) {
        std::string p = ptr + "/properties/" + pointer_escape(it.key());
        props.emplace_back(it.key(), value_rule(it.value(), p, depth, "prop"));
        req.push_back(required.count(it.key()) > 0);
      }
    }
    // Additional keys.
    std::optional<Expr> addl;
    if (s.contains("additionalProperties")) {
      const J& a = s["additionalProperties"];
      if (!(a.is_boolean() && !a.get<bool>())) addl = value_rule(a, ptr + "/additionalProperties", depth, "addl");
    } else if (!(has_props && opt_.strict_properties)) {
      addl = Expr::ref(any_value());
    }
    for (const std::string& r : required) {
      bool listed = false;
      for (auto& [k, v] : props) listed |= k == r;
      if (listed) continue;
      if (!addl)
        throw Error(Status::kUnsupported, fmt::format("json_schema: required property '{}' at '{}' is not "
                                                      "allowed by properties/additionalProperties", r, ptr));
      props.emplace_back(r, *addl);
      req.push_back(true);
    }
    size_t nreq = 0;
    for (bool r : req) nreq += r;
    if (s.contains("minProperties") && get_count(s, "minProperties", ptr, 0) > nreq) report("minProperties", ptr);
    if (s.contains("maxProperties") && (addl || get_count(s, "maxProperties", ptr, 0) < props.size()))
      report("maxProperties", ptr);
    const size_t n = props.size();
    Expr kv = addl ? Expr::seq({Expr::ref(any_string()), colon(), *addl}) : Expr::empty();
    // F_i: members i.. when none was written yet; R_i: when one was (so a comma comes first).
    std::vector<uint32_t> F(n + 1), R(n + 1);
    for (size_t i = 0; i <= n; ++i) {
      F[i] = b_.declare_unique("obj_f");
      R[i] = b_.declare_unique("obj_r");
    }
    if (addl) {
      b_.define(F[n], Expr::opt(Expr::seq({kv, Expr::star(Expr::seq({comma(), kv}))})));
      b_.define(R[n], Expr::star(Expr::seq({comma(), kv})));
    } else {
      b_.define(F[n], Expr::empty());
      b_.define(R[n], Expr::empty());
    }
    for (size_t i = n; i-- > 0;) {
      Expr m = member(props[i].first, props[i].second);
      Expr with = Expr::seq({m, Expr::ref(R[i + 1])});
      Expr with_comma = Expr::seq({comma(), m, Expr::ref(R[i + 1])});
      if (req[i]) {
        b_.define(F[i], std::move(with));
        b_.define(R[i], std::move(with_comma));
      } else {
        b_.define(F[i], Expr::alt({std::move(with), Expr::ref(F[i + 1])}));
        b_.define(R[i], Expr::alt({std::move(with_comma), Expr::ref(R[i + 1])}));
      }
    }
    return Expr::seq({open('{'), Expr::ref(F[0]), close('}')});
  }

  Expr array_schema(const J& s, const std::string& ptr, int depth) {
    if (s.contains("uniqueItems") && s["uniqueItems"] == true) report("uniqueItems", ptr);
    uint32_t mn = get_count(s, "minItems", ptr, 0);
    uint32_t mx = get_count(s, "maxItems", ptr, kUnbounded);
    if (mx != kUnbounded && mn > mx)
      throw Error(Status::kUnsupported, fmt::format("json_schema: minItems > maxItems at '{}'", ptr));
    std::vector<Expr> tuple;
    std::optional<Expr> rest;
    const J* prefix = nullptr;
    const char* prefix_kw = "prefixItems";
    if (s.contains("prefixItems")) prefix = &s["prefixItems"];
    else if (s.contains("items") && s["items"].is_array()) prefix = &s["items"], prefix_kw = "items";
    if (prefix) {
      if (!prefix->is_array()) bad(ptr + "/prefixItems", "prefixItems must be an array");
      size_t i = 0;
      for (const J& it : *prefix) {
        tuple.push_back(value_rule(it, fmt::format("{}/{}/{}", ptr, prefix_kw, i), depth, "item"));
        ++i;
      }
      const J* more = nullptr;
      std::string more_ptr;
      if (prefix_kw == std::string("prefixItems") && s.contains("items")) more = &s["items"], more_ptr = ptr + "/items";
      else if (s.contains("additionalItems")) more = &s["additionalItems"], more_ptr = ptr + "/additionalItems";
      if (more) {
        if (!(more->is_boolean() && !more->get<bool>())) rest = value_rule(*more, more_ptr, depth, "item");
      } else if (!opt_.strict_properties) {
        rest = Expr::ref(any_value());
      }
    } else if (s.contains("items")) {
      const J& it = s["items"];
      if (!(it.is_boolean() && !it.get<bool>())) rest = value_rule(it, ptr + "/items", depth, "item");
    } else {
      rest = Expr::ref(any_value());
    }
    // Alternatives by how many tuple items are written.
    const size_t P = tuple.size();
    std::vector<Expr> alts;
    for (size_t c = 0; c <= P; ++c) {
      if (c < mn && !(c == P && rest)) continue;
      if (mx != kUnbounded && c > mx) break;
      std::vector<Expr> parts;
      for (size_t k = 0; k < c; ++k) {
        if (k) parts.push_back(comma());
        parts.push_back(tuple[k]);
      }
      if (c == P && rest && (mx == kUnbounded || mx > P)) {
        uint32_t rmin = mn > P ? mn - static_cast<uint32_t>(P) : 0;
        uint32_t rmax = mx == kUnbounded ? kUnbounded : mx - static_cast<uint32_t>(P);
        if (P == 0) {
          Expr first = *rest;
          Expr more = Expr::repeat(Expr::seq({comma(), *rest}), rmin ? rmin - 1 : 0,
                                   rmax == kUnbounded ? kUnbounded : rmax - 1);
          Expr items = Expr::seq({first, more});
          if (rmin == 0) {
            parts.push_back(Expr::opt(std::move(items)));
          } else {
            parts.push_back(std::move(items));
          }
        } else {
          parts.push_back(Expr::repeat(Expr::seq({comma(), *rest}), rmin, rmax));
        }
      } else if (c < mn) {
        continue;
      }
      alts.push_back(Expr::seq(std::move(parts)));
    }
    if (alts.empty())
      throw Error(Status::kUnsupported, fmt::format("json_schema: array bounds at '{}' admit no value", ptr));
    uint32_t id = b_.declare_unique("array");
    b_.define(id, Expr::alt(std::move(alts)));
    return Expr::seq({open('['), Expr::ref(id), close(']')});
  }

  const J& root_;
  const GrammarOptions& opt_;
  std::vector<std::string>* warnings_;
  GrammarBuilder b_;
  std::optional<uint32_t> char_rule_, string_rule_, number_rule_, integer_rule_, value_rule_, object_rule_;
  std::map<std::string, uint32_t> ref_rules_;
  std::map<std::string, Expr> format_rules_;
};

}  // namespace

Expr integer_range_expr(const int64_t* lo, const int64_t* hi) {
  if (lo && hi && *lo > *hi)
    throw Error(Status::kUnsupported, fmt::format("integer range [{}, {}] is empty", *lo, *hi));
  std::vector<Expr> alts;
  if (!hi || *hi >= 0) {
    u128 a = lo && *lo > 0 ? static_cast<u128>(*lo) : 0;
    u128 b = hi ? static_cast<u128>(*hi) : 0;
    nonneg_range(a, hi ? &b : nullptr, alts);
  }
  if (!lo || *lo < 0) {
    u128 a = hi && *hi < 0 ? static_cast<u128>(-(*hi + 1)) + 1 : 1;
    u128 b = lo ? static_cast<u128>(-(*lo + 1)) + 1 : 0;
    if (!lo || a <= b) alts.push_back(Expr::seq({Expr::byte('-'), nonneg(a, lo ? &b : nullptr)}));
  }
  if (alts.empty()) return Expr::bytes_of(ByteSet{});
  return Expr::alt(std::move(alts));
}

Grammar json_schema_to_grammar(std::string_view schema_json, const GrammarOptions& opt,
                               std::vector<std::string>* warnings) {
  J doc;
  try {
    doc = J::parse(schema_json);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(Status::kParseError, fmt::format("json_schema: invalid JSON: {}", e.what()),
                static_cast<int64_t>(e.byte > 0 ? e.byte - 1 : 0));
  }
  return SchemaCompiler(doc, opt, warnings).compile();
}

Grammar json_object_grammar(const GrammarOptions& opt) {
  J doc = J::object();
  return SchemaCompiler(doc, opt, nullptr).object_only();
}

}  // namespace sgl::grammar
