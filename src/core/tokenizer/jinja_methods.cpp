// Attribute/item access, Python methods of str/dict/list, global functions, and the string
// helpers they share with the filters.
#include <utf8proc.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <unordered_set>

#include "core/tokenizer/jinja_builtins.hpp"

namespace sgl::jinja {

// ---- arguments --------------------------------------------------------------------------

const Value* arg(const Args& a, size_t k, std::string_view name) {
  if (k < a.pos.size()) return &a.pos[k];
  for (const auto& [n, v] : a.kw)
    if (n == name) return &v;
  return nullptr;
}

int64_t int_arg(Interp& in, const Args& a, size_t k, std::string_view name, int64_t dflt, size_t pos) {
  const Value* v = arg(a, k, name);
  if (!v || v->is_none() || v->is_undefined()) return dflt;
  if (v->kind == Value::Kind::kInt) return v->i;
  if (v->kind == Value::Kind::kBool) return v->b;
  in.fail(pos, "argument '" + std::string(name) + "' must be an integer, not '" + v->type_name() + "'");
}

bool bool_arg(const Args& a, size_t k, std::string_view name, bool dflt) {
  const Value* v = arg(a, k, name);
  return v && !v->is_undefined() ? v->truthy() : dflt;
}

std::string str_arg(Interp& in, const Args& a, size_t k, std::string_view name, const std::string& dflt, size_t pos) {
  const Value* v = arg(a, k, name);
  if (!v || v->is_undefined() || v->is_none()) return dflt;
  if (!v->is_string()) in.fail(pos, "argument '" + std::string(name) + "' must be a string, not '" + v->type_name() + "'");
  return v->s;
}

// ---- string helpers ---------------------------------------------------------------------

namespace {

template <typename F>
std::string map_code_points(std::string_view s, F f) {
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  utf8proc_ssize_t n = static_cast<utf8proc_ssize_t>(s.size()), k = 0;
  size_t index = 0;
  while (k < n) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t len = utf8proc_iterate(p + k, n - k, &cp);
    if (len <= 0) {  // invalid byte: keep it as is
      out += s[static_cast<size_t>(k)];
      ++k;
      ++index;
      continue;
    }
    utf8proc_int32_t m = f(cp, index++);
    utf8proc_uint8_t buf[4];
    out.append(reinterpret_cast<char*>(buf), static_cast<size_t>(utf8proc_encode_char(m, buf)));
    k += len;
  }
  return out;
}

bool is_cased(utf8proc_int32_t cp) {
  auto c = utf8proc_category(cp);
  return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT;
}

bool is_py_space(std::string_view ch) {
  if (ch.size() == 1) {
    char c = ch[0];
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
  }
  return ch == "\xc2\x85" || ch == "\xc2\xa0" || ch == "\xe3\x80\x80" || ch == "\xe2\x80\xa8" || ch == "\xe2\x80\xa9" ||
         (ch.size() == 3 && ch[0] == '\xe2' && ch[1] == '\x80' && static_cast<unsigned char>(ch[2]) <= 0x8a) ||
         ch == "\xe1\x9a\x80" || ch == "\xe2\x80\xaf" || ch == "\xe2\x81\x9f";
}

}  // namespace

std::string str_upper(std::string_view s) {
  return map_code_points(s, [](utf8proc_int32_t c, size_t) { return utf8proc_toupper(c); });
}
std::string str_lower(std::string_view s) {
  return map_code_points(s, [](utf8proc_int32_t c, size_t) { return utf8proc_tolower(c); });
}
std::string str_capitalize(std::string_view s) {
  return map_code_points(s, [](utf8proc_int32_t c, size_t i) { return i == 0 ? utf8proc_toupper(c) : utf8proc_tolower(c); });
}
std::string str_title_python(std::string_view s) {
  bool prev_cased = false;
  return map_code_points(s, [&](utf8proc_int32_t c, size_t) {
    utf8proc_int32_t r = prev_cased ? utf8proc_tolower(c) : utf8proc_toupper(c);
    prev_cased = is_cased(c);
    return r;
  });
}

std::string str_strip(std::string_view s, const Value* chars, bool left, bool right) {
  std::vector<std::string_view> cs = utf8_chars(s);
  std::vector<std::string_view> set;
  bool ws = !chars || chars->is_none() || chars->is_undefined();
  if (!ws) set = utf8_chars(chars->is_string() ? std::string_view(chars->s) : std::string_view());
  auto strip_it = [&](std::string_view ch) {
    return ws ? is_py_space(ch) : std::find(set.begin(), set.end(), ch) != set.end();
  };
  size_t b = 0, e = cs.size();
  if (left)
    while (b < e && strip_it(cs[b])) ++b;
  if (right)
    while (e > b && strip_it(cs[e - 1])) --e;
  if (b == e) return "";
  const char* start = cs[b].data();
  const char* end = cs[e - 1].data() + cs[e - 1].size();
  return std::string(start, end);
}

std::string str_replace(Interp& in, const std::string& s, const std::string& from, const std::string& to,
                        int64_t count, size_t pos) {
  std::string out;
  int64_t done = 0;
  if (from.empty()) {  // Python inserts `to` around every character
    for (auto ch : utf8_chars(s)) {
      if (count < 0 || done < count) out += to, ++done;
      out += ch;
      in.check_size(out.size(), pos);
    }
    if (count < 0 || done < count) out += to;
    return out;
  }
  size_t k = 0;
  while (count < 0 || done < count) {
    size_t f = s.find(from, k);
    if (f == std::string::npos) break;
    out.append(s, k, f - k);
    out += to;
    in.check_size(out.size(), pos);
    k = f + from.size();
    ++done;
  }
  out.append(s, k, std::string::npos);
  return out;
}

// ---- iteration and access ---------------------------------------------------------------

List iterate(Interp& in, const Value& v, size_t pos) {
  switch (v.kind) {
    case Value::Kind::kList: return *v.list;
    case Value::Kind::kDict: {
      List keys;
      for (const auto& [k, x] : v.dict->items) keys.push_back(Value::string(k));
      return keys;
    }
    case Value::Kind::kString: {
      List chars;
      for (auto ch : utf8_chars(v.s)) chars.push_back(Value::string(std::string(ch)));
      return chars;
    }
    case Value::Kind::kUndefined: return {};
    default: in.fail(pos, std::string("'") + v.type_name() + "' object is not iterable");
  }
}

Value get_item(Interp& in, const Value& obj, const Value& key, size_t pos) {
  if (obj.is_undefined()) in.fail(pos, "cannot index " + to_repr(key) + " of an undefined value");
  if (obj.is_dict()) {
    if (key.is_string()) {
      if (const Value* v = obj.dict->find(key.s)) return *v;
      return get_attr(in, obj, key.s, pos);
    }
    if (key.kind == Value::Kind::kInt) {
      if (const Value* v = obj.dict->find(std::to_string(key.i))) return *v;
    }
    return Value::undefined();
  }
  if ((obj.is_list() || obj.is_string()) && (key.kind == Value::Kind::kInt || key.kind == Value::Kind::kBool)) {
    int64_t i = key.kind == Value::Kind::kBool ? key.b : key.i;
    if (obj.is_list()) {
      int64_t n = static_cast<int64_t>(obj.list->size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Value::undefined();
      return (*obj.list)[static_cast<size_t>(i)];
    }
    auto chars = utf8_chars(obj.s);
    int64_t n = static_cast<int64_t>(chars.size());
    if (i < 0) i += n;
    if (i < 0 || i >= n) return Value::undefined();
    return Value::string(std::string(chars[static_cast<size_t>(i)]));
  }
  if (key.is_string() && !obj.is_none()) return get_attr(in, obj, key.s, pos);
  return Value::undefined();
}

namespace {

Value call_str_method(Interp& in, const std::string& s, const std::string& m, Args& a, size_t pos);
Value call_dict_method(Interp& in, const Value& d, const std::string& m, Args& a, size_t pos);
Value call_list_method(Interp& in, const Value& l, const std::string& m, Args& a, size_t pos);

const std::unordered_set<std::string>& str_methods() {
  static const std::unordered_set<std::string> k = {
      "startswith", "endswith", "strip",   "lstrip",  "rstrip",       "split",        "rsplit",  "splitlines",
      "replace",    "upper",    "lower",   "title",   "capitalize",   "format",       "count",   "find",
      "rfind",      "index",    "join",    "isdigit", "isalpha",      "isalnum",      "isspace", "isupper",
      "islower",    "removeprefix", "removesuffix", "swapcase"};
  return k;
}

}  // namespace

Value get_attr(Interp& in, const Value& obj, const std::string& name, size_t pos) {
  switch (obj.kind) {
    case Value::Kind::kDict: {
      static const std::unordered_set<std::string> kDictMethods = {"items", "keys", "values", "get"};
      if (!obj.dict->is_namespace && kDictMethods.count(name)) {
        return Value::function([obj, name](Interp& i, Args& a) { return call_dict_method(i, obj, name, a, i.current_pos()); });
      }
      if (const Value* v = obj.dict->find(name)) return *v;
      return Value::undefined();
    }
    case Value::Kind::kString:
      if (str_methods().count(name))
        return Value::function([s = obj.s, name](Interp& i, Args& a) { return call_str_method(i, s, name, a, i.current_pos()); });
      return Value::undefined();
    case Value::Kind::kList:
      if (name == "count" || name == "index" || name == "append" || name == "pop" || name == "extend" ||
          name == "insert" || name == "remove" || name == "sort" || name == "reverse" || name == "clear")
        return Value::function([obj, name](Interp& i, Args& a) { return call_list_method(i, obj, name, a, i.current_pos()); });
      return Value::undefined();
    case Value::Kind::kUndefined: in.fail(pos, "cannot read attribute '" + name + "' of an undefined value");
    default: return Value::undefined();
  }
}

namespace {

std::vector<std::string> split_ws(const std::string& s, int64_t maxsplit) {
  std::vector<std::string> out;
  auto cs = utf8_chars(s);
  size_t k = 0;
  while (k < cs.size()) {
    while (k < cs.size() && is_py_space(cs[k])) ++k;
    if (k >= cs.size()) break;
    if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
      size_t e = cs.size();
      while (e > k && is_py_space(cs[e - 1])) --e;
      out.emplace_back(cs[k].data(), cs[e - 1].data() + cs[e - 1].size());
      break;
    }
    size_t b = k;
    while (k < cs.size() && !is_py_space(cs[k])) ++k;
    out.emplace_back(cs[b].data(), cs[k - 1].data() + cs[k - 1].size());
  }
  return out;
}

Value to_list(const std::vector<std::string>& parts) {
  List l;
  for (const auto& p : parts) l.push_back(Value::string(p));
  return Value::new_list(std::move(l));
}

// Python str.format with "{}", "{0}", "{name}" and "{{ }}" escapes (no format specs).
std::string str_format(Interp& in, const std::string& fmt, Args& a, size_t pos) {
  std::string out;
  size_t auto_idx = 0;
  for (size_t k = 0; k < fmt.size(); ++k) {
    char c = fmt[k];
    if (c == '{' && k + 1 < fmt.size() && fmt[k + 1] == '{') {
      out += '{';
      ++k;
    } else if (c == '}' && k + 1 < fmt.size() && fmt[k + 1] == '}') {
      out += '}';
      ++k;
    } else if (c == '{') {
      size_t e = fmt.find('}', k);
      if (e == std::string::npos) in.fail(pos, "format string: single '{' without '}'");
      std::string field = fmt.substr(k + 1, e - k - 1);
      if (field.find_first_of(":!") != std::string::npos) in.fail(pos, "format specs in str.format are not supported");
      const Value* v = nullptr;
      if (field.empty()) {
        v = auto_idx < a.pos.size() ? &a.pos[auto_idx] : nullptr;
        ++auto_idx;
      } else if (std::all_of(field.begin(), field.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
        size_t idx = std::stoul(field);
        v = idx < a.pos.size() ? &a.pos[idx] : nullptr;
      } else {
        for (auto& [n, x] : a.kw)
          if (n == field) v = &x;
      }
      if (!v) in.fail(pos, "format string: no argument for field '{" + field + "}'");
      out += to_str(*v);
      k = e;
    } else if (c == '}') {
      in.fail(pos, "format string: single '}'");
    } else {
      out += c;
    }
  }
  return out;
}

bool all_chars(const std::string& s, bool (*pred)(utf8proc_int32_t)) {
  if (s.empty()) return false;
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  utf8proc_ssize_t n = static_cast<utf8proc_ssize_t>(s.size()), k = 0;
  while (k < n) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t len = utf8proc_iterate(p + k, n - k, &cp);
    if (len <= 0 || !pred(cp)) return false;
    k += len;
  }
  return true;
}

bool affix_match(Interp& in, const std::string& s, const Value& affix, bool prefix, size_t pos) {
  auto one = [&](const Value& v) {
    if (!v.is_string()) in.fail(pos, std::string(prefix ? "startswith" : "endswith") + " argument must be a string");
    return prefix ? s.starts_with(v.s) : s.ends_with(v.s);
  };
  if (affix.is_list()) return std::any_of(affix.list->begin(), affix.list->end(), one);
  return one(affix);
}

Value call_str_method(Interp& in, const std::string& s, const std::string& m, Args& a, size_t pos) {
  if (m == "startswith" || m == "endswith") {
    const Value* x = arg(a, 0, "prefix");
    if (!x) in.fail(pos, m + "() needs an argument");
    return Value::boolean(affix_match(in, s, *x, m == "startswith", pos));
  }
  if (m == "strip") return Value::string(str_strip(s, arg(a, 0, "chars"), true, true));
  if (m == "lstrip") return Value::string(str_strip(s, arg(a, 0, "chars"), true, false));
  if (m == "rstrip") return Value::string(str_strip(s, arg(a, 0, "chars"), false, true));
  if (m == "split" || m == "rsplit") {
    const Value* sep = arg(a, 0, "sep");
    int64_t maxsplit = int_arg(in, a, 1, "maxsplit", -1, pos);
    if (!sep || sep->is_none()) {
      if (m == "rsplit" && maxsplit >= 0) in.fail(pos, "rsplit() with maxsplit and no separator is not supported");
      return to_list(split_ws(s, maxsplit));
    }
    if (!sep->is_string()) in.fail(pos, "split() separator must be a string");
    if (sep->s.empty()) in.fail(pos, "empty separator");
    std::vector<std::string> parts;
    if (m == "split") {
      size_t k = 0;
      for (;;) {
        size_t f = (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) ? s.find(sep->s, k) : std::string::npos;
        if (f == std::string::npos) break;
        parts.push_back(s.substr(k, f - k));
        k = f + sep->s.size();
      }
      parts.push_back(s.substr(k));
    } else {
      size_t e = s.size();
      for (;;) {
        if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) >= maxsplit) break;
        if (e < sep->s.size()) break;
        size_t f = s.rfind(sep->s, e - sep->s.size());
        if (f == std::string::npos) break;
        parts.push_back(s.substr(f + sep->s.size(), e - f - sep->s.size()));
        e = f;
      }
      parts.push_back(s.substr(0, e));
      std::reverse(parts.begin(), parts.end());
    }
    return to_list(parts);
  }
  if (m == "splitlines") {
    std::vector<std::string> parts;
    size_t k = 0;
    while (k < s.size()) {
      size_t e = s.find_first_of("\r\n", k);
      if (e == std::string::npos) {
        parts.push_back(s.substr(k));
        break;
      }
      parts.push_back(s.substr(k, e - k));
      k = e + ((s[e] == '\r' && e + 1 < s.size() && s[e + 1] == '\n') ? 2 : 1);
    }
    return to_list(parts);
  }
  if (m == "replace") {
    std::string from = str_arg(in, a, 0, "old", "", pos), to = str_arg(in, a, 1, "new", "", pos);
    if (!arg(a, 0, "old") || !arg(a, 1, "new")) in.fail(pos, "replace() needs two arguments");
    return Value::string(str_replace(in, s, from, to, int_arg(in, a, 2, "count", -1, pos), pos));
  }
  if (m == "upper") return Value::string(str_upper(s));
  if (m == "lower") return Value::string(str_lower(s));
  if (m == "title") return Value::string(str_title_python(s));
  if (m == "capitalize") return Value::string(str_capitalize(s));
  if (m == "swapcase")
    return Value::string(map_code_points(s, [](utf8proc_int32_t c, size_t) {
      return utf8proc_isupper(c) ? utf8proc_tolower(c) : utf8proc_toupper(c);
    }));
  if (m == "format") return Value::string(str_format(in, s, a, pos));
  if (m == "count" || m == "find" || m == "rfind" || m == "index") {
    std::string sub = str_arg(in, a, 0, "sub", "", pos);
    if (!arg(a, 0, "sub")) in.fail(pos, m + "() needs an argument");
    if (m == "count") {
      if (sub.empty()) return Value::integer(static_cast<int64_t>(utf8_length(s) + 1));
      int64_t n = 0;
      for (size_t k = s.find(sub); k != std::string::npos; k = s.find(sub, k + sub.size())) ++n;
      return Value::integer(n);
    }
    size_t f = m == "rfind" ? s.rfind(sub) : s.find(sub);
    if (f == std::string::npos) {
      if (m == "index") in.fail(pos, "substring not found");
      return Value::integer(-1);
    }
    return Value::integer(static_cast<int64_t>(utf8_length(std::string_view(s).substr(0, f))));
  }
  if (m == "join") {
    const Value* x = arg(a, 0, "iterable");
    if (!x) in.fail(pos, "join() needs an argument");
    std::string out;
    bool first = true;
    for (const auto& v : iterate(in, *x, pos)) {
      if (!v.is_string()) in.fail(pos, std::string("join() expects strings, found '") + v.type_name() + "'");
      if (!first) out += s;
      first = false;
      out += v.s;
      in.check_size(out.size(), pos);
    }
    return Value::string(std::move(out));
  }
  if (m == "isdigit") return Value::boolean(all_chars(s, [](utf8proc_int32_t c) { return utf8proc_category(c) == UTF8PROC_CATEGORY_ND; }));
  if (m == "isalpha")
    return Value::boolean(all_chars(s, [](utf8proc_int32_t c) {
      auto k = utf8proc_category(c);
      return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
    }));
  if (m == "isalnum")
    return Value::boolean(all_chars(s, [](utf8proc_int32_t c) {
      auto k = utf8proc_category(c);
      return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) || (k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO);
    }));
  if (m == "isspace") {
    auto cs = utf8_chars(s);
    return Value::boolean(!cs.empty() && std::all_of(cs.begin(), cs.end(), is_py_space));
  }
  if (m == "isupper" || m == "islower") {
    bool any = false, ok = true;
    map_code_points(s, [&](utf8proc_int32_t c, size_t) {
      if (is_cased(c)) {
        any = true;
        if (m == "isupper" ? utf8proc_islower(c) : utf8proc_isupper(c)) ok = false;
      }
      return c;
    });
    return Value::boolean(any && ok);
  }
  if (m == "removeprefix" || m == "removesuffix") {
    std::string x = str_arg(in, a, 0, "prefix", "", pos);
    if (m == "removeprefix") return Value::string(s.starts_with(x) ? s.substr(x.size()) : s);
    return Value::string(s.ends_with(x) ? s.substr(0, s.size() - x.size()) : s);
  }
  in.fail(pos, "str has no method '" + m + "'");
}

Value call_dict_method(Interp& in, const Value& d, const std::string& m, Args& a, size_t pos) {
  if (m == "items") {
    List items;
    for (const auto& [k, v] : d.dict->items) items.push_back(Value::new_list({Value::string(k), v}));
    return Value::new_list(std::move(items));
  }
  if (m == "keys") {
    List items;
    for (const auto& [k, v] : d.dict->items) items.push_back(Value::string(k));
    return Value::new_list(std::move(items));
  }
  if (m == "values") {
    List items;
    for (const auto& [k, v] : d.dict->items) items.push_back(v);
    return Value::new_list(std::move(items));
  }
  // get
  const Value* key = arg(a, 0, "key");
  if (!key) in.fail(pos, "get() needs a key");
  const Value* found = key->is_string() ? d.dict->find(key->s) : nullptr;
  if (found) return *found;
  const Value* dflt = arg(a, 1, "default");
  return dflt ? *dflt : Value::none();
}

Value call_list_method(Interp& in, const Value& l, const std::string& m, Args& a, size_t pos) {
  const Value* x = arg(a, 0, "value");
  if (m == "count") {
    if (!x) in.fail(pos, "count() needs an argument");
    return Value::integer(std::count_if(l.list->begin(), l.list->end(), [&](const Value& v) { return equals(v, *x); }));
  }
  if (m == "index") {
    if (!x) in.fail(pos, "index() needs an argument");
    for (size_t k = 0; k < l.list->size(); ++k)
      if (equals((*l.list)[k], *x)) return Value::integer(static_cast<int64_t>(k));
    in.fail(pos, "value is not in list");
  }
  // Hugging Face renders in an immutable sandbox, so templates that mutate lists fail there too.
  in.fail(pos, "list." + m + "() modifies a list, which chat templates may not do (use '+' or namespace())");
}

std::string strftime_now(const std::string& fmt) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[512];
  size_t n = fmt.empty() ? 0 : std::strftime(buf, sizeof buf, fmt.c_str(), &tm);
  return std::string(buf, n);
}

const std::vector<std::pair<std::string, Value>>& globals() {
  static const std::vector<std::pair<std::string, Value>> g = [] {
    std::vector<std::pair<std::string, Value>> v;
    v.emplace_back("range", Value::function([](Interp& in, Args& a) -> Value {
      size_t pos = in.current_pos();
      if (a.pos.empty() || a.pos.size() > 3) in.fail(pos, "range() takes 1 to 3 arguments");
      int64_t start = 0, stop, step = 1;
      if (a.pos.size() == 1) {
        stop = int_arg(in, a, 0, "stop", 0, pos);
      } else {
        start = int_arg(in, a, 0, "start", 0, pos);
        stop = int_arg(in, a, 1, "stop", 0, pos);
        step = int_arg(in, a, 2, "step", 1, pos);
      }
      if (step == 0) in.fail(pos, "range() step must not be zero");
      // Count without overflow, then refuse ranges larger than the iteration budget.
      __int128 n = step > 0 ? (static_cast<__int128>(stop) - start + step - 1) / step
                            : (static_cast<__int128>(start) - stop - step - 1) / -step;
      if (n < 0) n = 0;
      if (n > in.limits().max_iterations)
        in.fail(pos, "range() of " + std::to_string(static_cast<int64_t>(n)) + " items exceeds the iteration limit");
      List items;
      items.reserve(static_cast<size_t>(n));
      for (int64_t k = 0; k < static_cast<int64_t>(n); ++k) items.push_back(Value::integer(start + k * step));
      return Value::new_list(std::move(items));
    }));
    auto make_dict = [](bool ns) {
      return [ns](Interp& in, Args& a) -> Value {
        Value d = Value::new_dict();
        d.dict->is_namespace = ns;
        for (const auto& p : a.pos) {
          if (!p.is_dict()) in.fail(in.current_pos(), std::string(ns ? "namespace" : "dict") + "() positional argument must be a dict");
          for (const auto& [k, v] : p.dict->items) d.dict->set(k, v);
        }
        for (const auto& [k, v] : a.kw) d.dict->set(k, v);
        d.refresh_nest();
        return d;
      };
    };
    v.emplace_back("namespace", Value::function(make_dict(true)));
    v.emplace_back("dict", Value::function(make_dict(false)));
    v.emplace_back("raise_exception", Value::function([](Interp& in, Args& a) -> Value {
      std::string msg = a.pos.empty() ? std::string("raise_exception() called") : to_str(a.pos[0]);
      throw Error(Status::kInvalidArgument, msg, static_cast<int64_t>(in.current_pos()));
    }));
    v.emplace_back("strftime_now", Value::function([](Interp& in, Args& a) -> Value {
      return Value::string(strftime_now(str_arg(in, a, 0, "format", "", in.current_pos())));
    }));
    return v;
  }();
  return g;
}

}  // namespace

Value lookup_global(const std::string& name) {
  for (const auto& [k, v] : globals())
    if (k == name) return v;
  return Value::undefined();
}

std::string percent_format(Interp& in, const std::string& fmt, const Value& args, size_t pos) {
  List items = args.is_list() ? *args.list : List{args};
  size_t next = 0;
  std::string out;
  for (size_t k = 0; k < fmt.size(); ++k) {
    if (fmt[k] != '%') {
      out += fmt[k];
      continue;
    }
    // %[flags][width][.precision]type, as Python's printf-style formatting.
    std::string flags;
    while (++k < fmt.size() && std::string_view("-+ 0#").find(fmt[k]) != std::string_view::npos) flags += fmt[k];
    int width = 0, precision = -1;
    while (k < fmt.size() && fmt[k] >= '0' && fmt[k] <= '9') width = std::min(width * 10 + (fmt[k++] - '0'), 1000);
    if (k < fmt.size() && fmt[k] == '.') {
      precision = 0;
      while (++k < fmt.size() && fmt[k] >= '0' && fmt[k] <= '9') precision = std::min(precision * 10 + (fmt[k] - '0'), 100);
    }
    if (k >= fmt.size()) in.fail(pos, "incomplete format");
    char c = fmt[k];
    if (c == '%') {
      out += '%';
      continue;
    }
    if (next >= items.size()) in.fail(pos, "not enough arguments for format string");
    const Value& v = items[next++];
    std::string piece;
    switch (c) {
      case 's':
      case 'r': {
        piece = c == 's' ? to_str(v) : to_repr(v);
        if (precision >= 0 && static_cast<size_t>(precision) < piece.size()) piece.resize(static_cast<size_t>(precision));
        size_t len = utf8_length(piece);
        if (static_cast<size_t>(width) > len) {
          std::string pad(static_cast<size_t>(width) - len, ' ');
          piece = flags.find('-') != std::string::npos ? piece + pad : pad + piece;
        }
        break;
      }
      case 'd':
      case 'i':
      case 'x':
      case 'X':
      case 'o':
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G': {
        if (!v.is_number()) in.fail(pos, std::string("%") + c + " format: a number is required, not " + v.type_name());
        if (c == 'd' || c == 'i') flags.erase(std::remove(flags.begin(), flags.end(), '#'), flags.end());
        std::string spec = "%" + flags + (width ? std::to_string(width) : "");
        if (precision >= 0) spec += "." + std::to_string(precision);
        char buf[1400];
        if (c == 'd' || c == 'i' || c == 'x' || c == 'X' || c == 'o') {
          long long x = v.kind == Value::Kind::kFloat ? static_cast<long long>(v.f) : (v.kind == Value::Kind::kBool ? v.b : v.i);
          spec += std::string("ll") + (c == 'i' ? 'd' : c);
          std::snprintf(buf, sizeof buf, spec.c_str(), x);
        } else {
          spec += c;
          std::snprintf(buf, sizeof buf, spec.c_str(), v.as_double());
        }
        piece = buf;
        break;
      }
      default: in.fail(pos, std::string("unsupported format character '") + c + "'");
    }
    out += piece;
    in.check_size(out.size(), pos);
  }
  if (next < items.size() && args.is_list()) in.fail(pos, "not all arguments converted during string formatting");
  return out;
}

}  // namespace sgl::jinja
