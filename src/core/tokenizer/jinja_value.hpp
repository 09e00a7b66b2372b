// The value type of the chat-template (Jinja subset) interpreter. It mirrors the Python objects
// Jinja templates see: undefined, None, bool, int, float, str, list, dict (insertion ordered) and
// callables. Lists and dicts are shared by reference, as in Python, so a namespace() object can be
// mutated through `{% set ns.x = ... %}` from inside a loop scope.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace sgl::jinja {

class Interp;
struct Value;

using List = std::vector<Value>;

// Insertion-ordered string-keyed map. Lookups are linear: template dicts (messages, tool calls,
// loop objects) are small, and order must be kept for tojson and items().
struct Dict {
  std::vector<std::pair<std::string, Value>> items;
  bool is_namespace = false;  // only namespace() objects accept `{% set ns.attr = ... %}`

  const Value* find(std::string_view key) const;
  void set(std::string key, Value v);
};

struct Args {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;
};

using Func = std::function<Value(Interp&, Args&)>;

struct Value {
  enum class Kind : uint8_t { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kFunc };

  Kind kind = Kind::kUndefined;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::shared_ptr<List> list;
  std::shared_ptr<Dict> dict;
  std::shared_ptr<Func> func;

  Value() = default;
  static Value undefined() { return Value(); }
  static Value none() { Value v; v.kind = Kind::kNone; return v; }
  static Value boolean(bool x) { Value v; v.kind = Kind::kBool; v.b = x; return v; }
  static Value integer(int64_t x) { Value v; v.kind = Kind::kInt; v.i = x; return v; }
  static Value number(double x) { Value v; v.kind = Kind::kFloat; v.f = x; return v; }
  static Value string(std::string x) { Value v; v.kind = Kind::kString; v.s = std::move(x); return v; }
  static Value new_list(List items = {});
  static Value new_dict();
  static Value function(Func fn);

  // Container depth (0 for scalars) and whether a namespace() object is reachable. Kept so that
  // values stay shallow (every recursive walk, destructor included, is bounded) and namespaces,
  // the only mutable containers, can never be made to contain themselves.
  static constexpr uint32_t kMaxNest = 256;
  uint32_t nest = 0;
  bool has_ns = false;
  // Recomputes nest/has_ns from the direct children; throws sgl::Error past kMaxNest.
  void refresh_nest();

  bool is_undefined() const { return kind == Kind::kUndefined; }
  bool is_none() const { return kind == Kind::kNone; }
  bool is_string() const { return kind == Kind::kString; }
  bool is_list() const { return kind == Kind::kList; }
  bool is_dict() const { return kind == Kind::kDict; }
  bool is_number() const { return kind == Kind::kInt || kind == Kind::kFloat || kind == Kind::kBool; }
  bool is_func() const { return kind == Kind::kFunc; }

  double as_double() const;
  bool truthy() const;
  // Python type name, for error messages ("str", "int", "list", ...).
  const char* type_name() const;
};

// Python str(): what `{{ value }}` prints. Undefined prints as "".
std::string to_str(const Value& v);
// Python repr(): how values print inside lists and dicts.
std::string to_repr(const Value& v);
// json.dumps options as HF's tojson filter passes them (ensure_ascii=False by default).
// indent < 0 means one line; the separators default to Python's for that indent.
struct JsonStyle {
  int indent = -1;
  bool sort_keys = false;
  bool ensure_ascii = false;
  std::string item_sep = ", ";
  std::string key_sep = ": ";
};
std::string to_json_text(const Value& v, const JsonStyle& style);
// Python float repr (shortest round trip, "1.0", "inf", "nan", "1e+16").
std::string float_repr(double d);

// Python ==, with 1 == 1.0 == True and deep comparison of lists and dicts.
bool equals(const Value& a, const Value& b);
// Python <: numbers with numbers, strings with strings, lists element-wise.
// Returns false in *ok when the types are not orderable.
int compare(const Value& a, const Value& b, bool* ok);

// JSON to Value. ordered_json keeps object key order (which tojson then reproduces, as Python
// dicts do); nlohmann::json sorts keys.
Value from_json(const nlohmann::json& j);
Value from_json(const nlohmann::ordered_json& j);

// UTF-8 helpers: templates index and measure strings in code points, as Python does.
std::vector<std::string_view> utf8_chars(std::string_view s);
size_t utf8_length(std::string_view s);

}  // namespace sgl::jinja
