// Jinja filters and tests, with the semantics of Jinja2's built-ins (and HF's tojson override:
// json.dumps with ensure_ascii=False and no HTML escaping).
#include <algorithm>
#include <charconv>
#include <cmath>

#include "core/tokenizer/jinja_builtins.hpp"

namespace sgl::jinja {
namespace {

// "a.b.0" attribute paths as used by map(attribute=...), selectattr, sort(attribute=...).
Value get_path(Interp& in, const Value& obj, const std::string& path, size_t pos) {
  Value cur = obj;
  size_t k = 0;
  while (k <= path.size()) {
    size_t e = path.find('.', k);
    if (e == std::string::npos) e = path.size();
    std::string part = path.substr(k, e - k);
    int64_t idx = 0;
    auto r = std::from_chars(part.data(), part.data() + part.size(), idx);
    if (!part.empty() && r.ec == std::errc() && r.ptr == part.data() + part.size())
      cur = get_item(in, cur, Value::integer(idx), pos);
    else
      cur = get_item(in, cur, Value::string(part), pos);
    k = e + 1;
  }
  return cur;
}

Value key_for_sort(Interp& in, const Value& v, const Value* attribute, bool case_sensitive, size_t pos) {
  Value key = attribute && attribute->is_string() ? get_path(in, v, attribute->s, pos) : v;
  if (!case_sensitive && key.is_string()) key.s = str_lower(key.s);
  return key;
}

void sort_values(Interp& in, List& items, const Value* attribute, bool case_sensitive, bool reverse, size_t pos) {
  std::vector<std::pair<Value, size_t>> keyed;
  for (size_t k = 0; k < items.size(); ++k) keyed.emplace_back(key_for_sort(in, items[k], attribute, case_sensitive, pos), k);
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    bool ok = false;
    int c = compare(a.first, b.first, &ok);
    if (!ok) in.fail(pos, std::string("cannot sort '") + a.first.type_name() + "' and '" + b.first.type_name() + "'");
    return reverse ? c > 0 : c < 0;
  });
  List sorted;
  for (auto& [key, k] : keyed) sorted.push_back(items[k]);
  items = std::move(sorted);
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// Jinja's title filter: a word starts after whitespace, '-', '(', '{', '[' or '<'.
std::string jinja_title(const std::string& s) {
  std::string out;
  size_t k = 0;
  auto is_sep = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' ||
                                    c == '-' || c == '(' || c == '{' || c == '[' || c == '<'; };
  while (k < s.size()) {
    size_t b = k;
    while (k < s.size() && is_sep(s[k])) ++k;
    out.append(s, b, k - b);
    b = k;
    while (k < s.size() && !is_sep(s[k])) ++k;
    if (k > b) out += str_capitalize(std::string_view(s).substr(b, k - b));
  }
  return out;
}

Value select_impl(Interp& in, const Value& input, Args& a, bool by_attr, bool keep, size_t pos) {
  List out;
  size_t first_test_arg = by_attr ? 1 : 0;
  std::string attr;
  if (by_attr) {
    if (a.pos.empty() || !a.pos[0].is_string()) in.fail(pos, "selectattr/rejectattr need an attribute name");
    attr = a.pos[0].s;
  }
  std::string test;
  Args test_args;
  if (a.pos.size() > first_test_arg) {
    if (!a.pos[first_test_arg].is_string()) in.fail(pos, "test name must be a string");
    test = a.pos[first_test_arg].s;
    test_args.pos.assign(a.pos.begin() + static_cast<ptrdiff_t>(first_test_arg) + 1, a.pos.end());
  }
  for (const auto& item : iterate(in, input, pos)) {
    in.charge(1, pos);
    Value v = by_attr ? get_path(in, item, attr, pos) : item;
    bool r = test.empty() ? v.truthy() : apply_test(in, test, v, test_args, pos);
    if (r == keep) out.push_back(item);
  }
  return Value::new_list(std::move(out));
}

Value to_int(const Value& v, int64_t dflt) {
  switch (v.kind) {
    case Value::Kind::kInt: return v;
    case Value::Kind::kBool: return Value::integer(v.b);
    case Value::Kind::kFloat:
      if (std::isfinite(v.f) && std::fabs(v.f) < 9.2e18) return Value::integer(static_cast<int64_t>(v.f));
      return Value::integer(dflt);
    case Value::Kind::kString: {
      std::string s = str_strip(v.s, nullptr, true, true);
      int64_t i = 0;
      const char* b = s.data() + (s.starts_with("+") ? 1 : 0);
      auto r = std::from_chars(b, s.data() + s.size(), i);
      if (!s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size()) return Value::integer(i);
      double d = 0;
      auto rf = std::from_chars(b, s.data() + s.size(), d);
      if (!s.empty() && rf.ec == std::errc() && rf.ptr == s.data() + s.size()) return to_int(Value::number(d), dflt);
      return Value::integer(dflt);
    }
    default: return Value::integer(dflt);
  }
}

}  // namespace

Value apply_filter(Interp& in, const std::string& name, const Value& input, Args& a, size_t pos) {
  const std::string& f = name;
  auto need_string = [&]() -> std::string {
    if (input.is_undefined()) return "";
    return to_str(input);
  };
  if (f == "trim") return Value::string(str_strip(need_string(), arg(a, 0, "chars"), true, true));
  if (f == "length" || f == "count") {
    switch (input.kind) {
      case Value::Kind::kString: return Value::integer(static_cast<int64_t>(utf8_length(input.s)));
      case Value::Kind::kList: return Value::integer(static_cast<int64_t>(input.list->size()));
      case Value::Kind::kDict: return Value::integer(static_cast<int64_t>(input.dict->items.size()));
      case Value::Kind::kUndefined: return Value::integer(0);
      default: in.fail(pos, std::string("object of type '") + input.type_name() + "' has no length");
    }
  }
  if (f == "tojson") {
    if (input.is_undefined()) in.fail(pos, "tojson of an undefined value");
    JsonStyle st;
    if (!a.pos.empty() && a.pos[0].kind == Value::Kind::kInt) st.indent = static_cast<int>(std::clamp<int64_t>(a.pos[0].i, 0, 64));
    for (const auto& [k, v] : a.kw) {
      if (k == "indent") {
        if (v.kind == Value::Kind::kInt) st.indent = static_cast<int>(std::clamp<int64_t>(v.i, 0, 64));
        else if (v.is_string()) in.fail(pos, "tojson: string indent is not supported");
      } else if (k == "sort_keys") {
        st.sort_keys = v.truthy();
      } else if (k == "ensure_ascii") {
        st.ensure_ascii = v.truthy();
      } else if (k == "separators") {
        if (!v.is_none()) {
          if (!v.is_list() || v.list->size() != 2 || !(*v.list)[0].is_string() || !(*v.list)[1].is_string())
            in.fail(pos, "tojson: separators must be a pair of strings");
          st.item_sep = (*v.list)[0].s;
          st.key_sep = (*v.list)[1].s;
          continue;
        }
      }
    }
    bool custom_sep = false;
    for (const auto& [k, v] : a.kw) custom_sep |= (k == "separators" && !v.is_none());
    if (st.indent >= 0 && !custom_sep) st.item_sep = ",";
    std::string out = to_json_text(input, st);
    in.check_size(out.size(), pos);
    return Value::string(std::move(out));
  }
  if (f == "upper") return Value::string(str_upper(need_string()));
  if (f == "lower") return Value::string(str_lower(need_string()));
  if (f == "title") return Value::string(jinja_title(need_string()));
  if (f == "capitalize") return Value::string(str_capitalize(need_string()));
  if (f == "first" || f == "last") {
    if (input.is_list()) {
      if (input.list->empty()) return Value::undefined();
      return f == "first" ? input.list->front() : input.list->back();
    }
    List items = iterate(in, input, pos);
    if (items.empty()) return Value::undefined();
    return f == "first" ? items.front() : items.back();
  }
  if (f == "default" || f == "d") {
    const Value* dflt = arg(a, 0, "default_value");
    bool boolean = bool_arg(a, 1, "boolean", false);
    if (input.is_undefined() || (boolean && !input.truthy())) return dflt ? *dflt : Value::string("");
    return input;
  }
  if (f == "join") {
    std::string sep = str_arg(in, a, 0, "d", "", pos);
    const Value* attribute = arg(a, 1, "attribute");
    std::string out;
    bool first = true;
    for (const auto& v : iterate(in, input, pos)) {
      if (!first) out += sep;
      first = false;
      out += to_str(attribute && attribute->is_string() ? get_path(in, v, attribute->s, pos) : v);
      in.check_size(out.size(), pos);
    }
    return Value::string(std::move(out));
  }
  if (f == "replace") {
    if (!arg(a, 0, "old") || !arg(a, 1, "new")) in.fail(pos, "replace needs two arguments");
    return Value::string(str_replace(in, need_string(), to_str(*arg(a, 0, "old")), to_str(*arg(a, 1, "new")),
                                     int_arg(in, a, 2, "count", -1, pos), pos));
  }
  if (f == "list") return Value::new_list(iterate(in, input, pos));
  if (f == "string") return Value::string(need_string());
  if (f == "safe") return input;
  if (f == "e" || f == "escape" || f == "forceescape") return Value::string(html_escape(need_string()));
  if (f == "int") return to_int(input, int_arg(in, a, 0, "default", 0, pos));
  if (f == "float") {
    const Value* dflt = arg(a, 0, "default");
    Value fallback = dflt ? *dflt : Value::number(0.0);
    if (input.is_number()) return Value::number(input.as_double());
    if (input.is_string()) {
      std::string s = str_strip(input.s, nullptr, true, true);
      double d = 0;
      const char* b = s.data() + (s.starts_with("+") ? 1 : 0);
      auto r = std::from_chars(b, s.data() + s.size(), d);
      if (!s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size()) return Value::number(d);
    }
    return fallback;
  }
  if (f == "abs") {
    if (input.kind == Value::Kind::kFloat) return Value::number(std::fabs(input.f));
    if (input.kind == Value::Kind::kInt) {
      if (input.i == INT64_MIN) in.fail(pos, "integer overflow");
      return Value::integer(input.i < 0 ? -input.i : input.i);
    }
    if (input.kind == Value::Kind::kBool) return Value::integer(input.b);
    in.fail(pos, std::string("bad operand type for abs(): '") + input.type_name() + "'");
  }
  if (f == "round") {
    if (!input.is_number()) in.fail(pos, std::string("round needs a number, not '") + input.type_name() + "'");
    int64_t prec = std::clamp<int64_t>(int_arg(in, a, 0, "precision", 0, pos), -300, 300);
    std::string method = str_arg(in, a, 1, "method", "common", pos);
    // Python's round() keeps ints ints; Jinja's ceil/floor paths always give floats.
    if (method == "common" && input.kind != Value::Kind::kFloat && prec >= 0) return Value::integer(input.kind == Value::Kind::kBool ? input.b : input.i);
    double scale = std::pow(10.0, static_cast<double>(prec));
    double x = input.as_double() * scale;
    if (method == "common") x = std::nearbyint(x);  // Python rounds half to even
    else if (method == "ceil") x = std::ceil(x);
    else if (method == "floor") x = std::floor(x);
    else in.fail(pos, "round method must be 'common', 'ceil' or 'floor'");
    return Value::number(x / scale);
  }
  if (f == "items") {
    if (input.is_undefined()) return Value::new_list();
    if (!input.is_dict()) in.fail(pos, "items filter needs a mapping");
    List items;
    for (const auto& [k, v] : input.dict->items) items.push_back(Value::new_list({Value::string(k), v}));
    return Value::new_list(std::move(items));
  }
  if (f == "dictsort") {
    if (!input.is_dict()) in.fail(pos, "dictsort needs a mapping");
    bool cs = bool_arg(a, 0, "case_sensitive", false);
    std::string by = str_arg(in, a, 1, "by", "key", pos);
    bool reverse = bool_arg(a, 2, "reverse", false);
    List items;
    for (const auto& [k, v] : input.dict->items) items.push_back(Value::new_list({Value::string(k), v}));
    Value attribute = Value::string(by == "value" ? "1" : "0");
    sort_values(in, items, &attribute, cs, reverse, pos);
    return Value::new_list(std::move(items));
  }
  if (f == "selectattr" || f == "rejectattr") return select_impl(in, input, a, true, f == "selectattr", pos);
  if (f == "select" || f == "reject") return select_impl(in, input, a, false, f == "select", pos);
  if (f == "map") {
    List out;
    const Value* attribute = arg(a, 99, "attribute");
    if (attribute) {
      const Value* dflt = arg(a, 99, "default");
      for (const auto& item : iterate(in, input, pos)) {
        in.charge(1, pos);
        Value v = get_path(in, item, to_str(*attribute), pos);
        out.push_back(v.is_undefined() && dflt ? *dflt : v);
      }
      return Value::new_list(std::move(out));
    }
    if (a.pos.empty() || !a.pos[0].is_string()) in.fail(pos, "map needs a filter name or attribute=");
    std::string filter = a.pos[0].s;
    Args rest;
    rest.pos.assign(a.pos.begin() + 1, a.pos.end());
    rest.kw = a.kw;
    for (const auto& item : iterate(in, input, pos)) {
      in.charge(1, pos);
      out.push_back(apply_filter(in, filter, item, rest, pos));
    }
    return Value::new_list(std::move(out));
  }
  if (f == "unique") {
    bool cs = bool_arg(a, 0, "case_sensitive", false);
    const Value* attribute = arg(a, 1, "attribute");
    List out, seen;
    for (const auto& item : iterate(in, input, pos)) {
      in.charge(static_cast<int64_t>(seen.size()) / 64 + 1, pos);
      Value key = key_for_sort(in, item, attribute, cs, pos);
      if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, key); })) {
        seen.push_back(key);
        out.push_back(item);
      }
    }
    return Value::new_list(std::move(out));
  }
  if (f == "sort") {
    List items = iterate(in, input, pos);
    sort_values(in, items, arg(a, 2, "attribute"), bool_arg(a, 1, "case_sensitive", false), bool_arg(a, 0, "reverse", false),
                pos);
    return Value::new_list(std::move(items));
  }
  if (f == "reverse") {
    if (input.is_string()) {
      auto cs = utf8_chars(input.s);
      std::string out;
      for (auto it = cs.rbegin(); it != cs.rend(); ++it) out += *it;
      return Value::string(std::move(out));
    }
    List items = iterate(in, input, pos);
    std::reverse(items.begin(), items.end());
    return Value::new_list(std::move(items));
  }
  if (f == "indent") {
    const Value* w = arg(a, 0, "width");
    std::string pad = w && w->is_string() ? w->s : std::string(static_cast<size_t>(std::clamp<int64_t>(int_arg(in, a, 0, "width", 4, pos), 0, 256)), ' ');
    bool first = bool_arg(a, 1, "first", false), blank = bool_arg(a, 2, "blank", false);
    std::string s = need_string(), out;
    size_t k = 0;
    bool first_line = true;
    while (k <= s.size()) {
      size_t e = s.find('\n', k);
      std::string line = s.substr(k, e == std::string::npos ? std::string::npos : e - k);
      if (!first_line) out += '\n';
      if ((first_line ? first : true) && (blank || !line.empty())) out += pad;
      out += line;
      in.check_size(out.size(), pos);
      first_line = false;
      if (e == std::string::npos) break;
      k = e + 1;
    }
    return Value::string(std::move(out));
  }
  if (f == "wordcount") {
    std::string s = need_string();
    int64_t n = 0;
    bool in_word = false;
    for (unsigned char c : s) {
      bool w = std::isalnum(c) || c == '_' || c >= 0x80;
      if (w && !in_word) ++n;
      in_word = w;
    }
    return Value::integer(n);
  }
  if (f == "sum") {
    const Value* attribute = arg(a, 0, "attribute");
    Value acc = arg(a, 1, "start") ? *arg(a, 1, "start") : Value::integer(0);
    for (const auto& item : iterate(in, input, pos)) {
      Value v = attribute && attribute->is_string() ? get_path(in, item, attribute->s, pos) : item;
      if (!v.is_number() || !acc.is_number()) in.fail(pos, "sum needs numbers");
      if (acc.kind != Value::Kind::kFloat && v.kind != Value::Kind::kFloat) {
        int64_t r;
        if (__builtin_add_overflow(acc.kind == Value::Kind::kBool ? acc.b : acc.i, v.kind == Value::Kind::kBool ? v.b : v.i, &r))
          in.fail(pos, "integer overflow");
        acc = Value::integer(r);
      } else {
        acc = Value::number(acc.as_double() + v.as_double());
      }
    }
    return acc;
  }
  if (f == "min" || f == "max") {
    List items = iterate(in, input, pos);
    if (items.empty()) return Value::undefined();
    sort_values(in, items, arg(a, 1, "attribute"), bool_arg(a, 0, "case_sensitive", false), f == "max", pos);
    return items.front();
  }
  if (f == "format") {
    List rest(a.pos.begin(), a.pos.end());
    return Value::string(percent_format(in, need_string(), Value::new_list(std::move(rest)), pos));
  }
  if (f == "attr") return get_attr(in, input, str_arg(in, a, 0, "name", "", pos), pos);
  if (f == "pprint") return Value::string(to_repr(input));
  if (f == "center") {
    std::string s = need_string();
    int64_t width = std::clamp<int64_t>(int_arg(in, a, 0, "width", 80, pos), 0, 4096);
    int64_t len = static_cast<int64_t>(utf8_length(s));
    if (len >= width) return Value::string(s);
    int64_t left = (width - len) / 2;
    return Value::string(std::string(static_cast<size_t>(left), ' ') + s + std::string(static_cast<size_t>(width - len - left), ' '));
  }
  in.fail(pos, "unknown filter '" + f + "'");
}

bool apply_test(Interp& in, const std::string& name, const Value& v, Args& a, size_t pos) {
  const std::string& t = name;
  using K = Value::Kind;
  auto other = [&]() -> const Value& {
    if (a.pos.empty()) in.fail(pos, "test '" + t + "' needs an argument");
    return a.pos[0];
  };
  if (t == "defined") return !v.is_undefined();
  if (t == "undefined") return v.is_undefined();
  if (t == "none") return v.is_none();
  if (t == "boolean") return v.kind == K::kBool;
  if (t == "true") return v.kind == K::kBool && v.b;
  if (t == "false") return v.kind == K::kBool && !v.b;
  if (t == "integer") return v.kind == K::kInt;
  if (t == "float") return v.kind == K::kFloat;
  if (t == "number") return v.is_number();
  if (t == "string") return v.is_string();
  if (t == "mapping") return v.is_dict();
  if (t == "iterable") return v.is_list() || v.is_dict() || v.is_string();
  if (t == "sequence") return v.is_list() || v.is_dict() || v.is_string();
  if (t == "callable") return v.is_func();
  if (t == "even" || t == "odd" || t == "divisibleby") {
    if (v.kind != K::kInt && v.kind != K::kBool) in.fail(pos, "test '" + t + "' needs an integer");
    int64_t x = v.kind == K::kBool ? v.b : v.i;
    if (t == "even") return x % 2 == 0;
    if (t == "odd") return x % 2 != 0;
    int64_t d = int_arg(in, a, 0, "num", 0, pos);
    if (d == 0) in.fail(pos, "divisibleby(0)");
    if (d == -1) return true;
    return x % d == 0;
  }
  if (t == "eq" || t == "equalto" || t == "==") return equals(v, other());
  if (t == "ne" || t == "!=") return !equals(v, other());
  if (t == "lt" || t == "lessthan" || t == "<" || t == "le" || t == "<=" || t == "gt" || t == "greaterthan" ||
      t == ">" || t == "ge" || t == ">=") {
    bool ok = false;
    int c = compare(v, other(), &ok);
    if (!ok) in.fail(pos, "test '" + t + "': values are not comparable");
    if (t == "lt" || t == "lessthan" || t == "<") return c < 0;
    if (t == "le" || t == "<=") return c <= 0;
    if (t == "gt" || t == "greaterthan" || t == ">") return c > 0;
    return c >= 0;
  }
  if (t == "in") {
    const Value& seq = other();
    if (seq.is_string()) return v.is_string() && seq.s.find(v.s) != std::string::npos;
    if (seq.is_dict()) return v.is_string() && seq.dict->find(v.s);
    for (const auto& x : iterate(in, seq, pos))
      if (equals(x, v)) return true;
    return false;
  }
  if (t == "sameas") {
    const Value& o = other();
    if (v.kind != o.kind) return false;
    switch (v.kind) {
      case K::kList: return v.list == o.list;
      case K::kDict: return v.dict == o.dict;
      case K::kFunc: return v.func == o.func;
      default: return equals(v, o);
    }
  }
  if (t == "lower") return v.is_string() && str_lower(v.s) == v.s;
  if (t == "upper") return v.is_string() && str_upper(v.s) == v.s;
  if (t == "escaped") return false;
  in.fail(pos, "unknown test '" + t + "'");
}

}  // namespace sgl::jinja
