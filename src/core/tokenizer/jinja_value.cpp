#include "core/tokenizer/jinja_value.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "sgl/error.hpp"

namespace sgl::jinja {

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

void Dict::set(std::string key, Value v) {
  for (auto& [k, old] : items) {
    if (k == key) {
      old = std::move(v);
      return;
    }
  }
  items.emplace_back(std::move(key), std::move(v));
}

Value Value::new_list(List items) {
  Value v;
  v.kind = Kind::kList;
  v.list = std::make_shared<List>(std::move(items));
  v.refresh_nest();
  return v;
}

void Value::refresh_nest() {
  uint32_t n = 0;
  bool ns = false;
  if (kind == Kind::kList) {
    for (const auto& c : *list) {
      n = std::max(n, c.nest + 1);
      ns |= c.has_ns;
    }
  } else if (kind == Kind::kDict) {
    ns = dict->is_namespace;
    for (const auto& [k, c] : dict->items) {
      n = std::max(n, c.nest + 1);
      ns |= c.has_ns;
    }
  }
  if (n > kMaxNest)
    throw Error(Status::kInvalidArgument,
                "chat template value nested deeper than " + std::to_string(kMaxNest) + " levels");
  nest = n;
  has_ns = ns;
}

Value Value::new_dict() {
  Value v;
  v.kind = Kind::kDict;
  v.dict = std::make_shared<Dict>();
  return v;
}

Value Value::function(Func fn) {
  Value v;
  v.kind = Kind::kFunc;
  v.func = std::make_shared<Func>(std::move(fn));
  return v;
}

double Value::as_double() const {
  switch (kind) {
    case Kind::kBool: return b ? 1.0 : 0.0;
    case Kind::kInt: return static_cast<double>(i);
    case Kind::kFloat: return f;
    default: return 0.0;
  }
}

bool Value::truthy() const {
  switch (kind) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool: return b;
    case Kind::kInt: return i != 0;
    case Kind::kFloat: return f != 0.0;
    case Kind::kString: return !s.empty();
    case Kind::kList: return !list->empty();
    case Kind::kDict: return !dict->items.empty();
    case Kind::kFunc: return true;
  }
  return false;
}

const char* Value::type_name() const {
  switch (kind) {
    case Kind::kUndefined: return "undefined";
    case Kind::kNone: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "str";
    case Kind::kList: return "list";
    case Kind::kDict: return "dict";
    case Kind::kFunc: return "function";
  }
  return "?";
}

std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  // Python's repr switches to exponent notation at 1e16 and below 1e-4; to_chars picks the
  // shortest form, so format the shortest digits ourselves in Python's style.
  double a = std::fabs(d);
  if (a != 0.0 && (a >= 1e16 || a < 1e-4)) {
    auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string s(buf, r.ptr);
    // C++ gives "1e+16" / "1.5e-05"; Python gives "1e+16" / "1.5e-05" too.
    return s;
  }
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
  std::string s(buf, r.ptr);
  if (s.find('.') == std::string::npos) s += ".0";
  return s;
}

namespace {

std::string py_quote(const std::string& s) {
  // Python repr prefers single quotes unless the string holds one and no double quote.
  char q = (s.find('\'') != std::string::npos && s.find('"') == std::string::npos) ? '"' : '\'';
  std::string out(1, q);
  for (unsigned char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c == static_cast<unsigned char>(q)) {
          out += '\\';
          out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += q;
  return out;
}

void json_string(std::string& out, const std::string& s, bool ensure_ascii) {
  out += '"';
  for (size_t k = 0; k < s.size(); ++k) {
    unsigned char c = static_cast<unsigned char>(s[k]);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default: {
        char buf[16];
        if (c < 0x20) {
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else if (c < 0x80 || !ensure_ascii) {
          out += static_cast<char>(c);  // ensure_ascii=False: UTF-8 passes through
        } else {
          // Decode one code point (invalid bytes stand for U+FFFD) and write \uXXXX escapes.
          std::string_view rest(s.data() + k, s.size() - k);
          std::string_view ch = utf8_chars(rest.substr(0, std::min<size_t>(4, rest.size())))[0];
          uint32_t cp = 0xfffd;
          if (ch.size() > 1) {
            cp = static_cast<unsigned char>(ch[0]) & (0x7f >> ch.size());
            for (size_t m = 1; m < ch.size(); ++m) cp = (cp << 6) | (static_cast<unsigned char>(ch[m]) & 0x3f);
          }
          k += ch.size() - 1;
          if (cp >= 0x10000) {
            cp -= 0x10000;
            std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
          } else {
            std::snprintf(buf, sizeof buf, "\\u%04x", cp);
          }
          out += buf;
        }
      }
    }
  }
  out += '"';
}

void json_dump(std::string& out, const Value& v, const JsonStyle& st, int depth) {
  auto newline = [&](int d) {
    out += '\n';
    out.append(static_cast<size_t>(st.indent) * static_cast<size_t>(d), ' ');
  };
  switch (v.kind) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone: out += "null"; return;
    case Value::Kind::kBool: out += v.b ? "true" : "false"; return;
    case Value::Kind::kInt: out += std::to_string(v.i); return;
    case Value::Kind::kFloat:
      if (std::isnan(v.f)) out += "NaN";
      else if (std::isinf(v.f)) out += v.f > 0 ? "Infinity" : "-Infinity";
      else out += float_repr(v.f);
      return;
    case Value::Kind::kString: json_string(out, v.s, st.ensure_ascii); return;
    case Value::Kind::kFunc: out += "null"; return;
    case Value::Kind::kList: {
      if (v.list->empty()) {
        out += "[]";
        return;
      }
      out += '[';
      bool first = true;
      for (const auto& e : *v.list) {
        if (!first) out += st.item_sep;
        first = false;
        if (st.indent >= 0) newline(depth + 1);
        json_dump(out, e, st, depth + 1);
      }
      if (st.indent >= 0) newline(depth);
      out += ']';
      return;
    }
    case Value::Kind::kDict: {
      if (v.dict->items.empty()) {
        out += "{}";
        return;
      }
      std::vector<const std::pair<std::string, Value>*> items;
      for (const auto& kv : v.dict->items) items.push_back(&kv);
      if (st.sort_keys)
        std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->first < b->first; });
      out += '{';
      bool first = true;
      for (const auto* kv : items) {
        if (!first) out += st.item_sep;
        first = false;
        if (st.indent >= 0) newline(depth + 1);
        json_string(out, kv->first, st.ensure_ascii);
        out += st.key_sep;
        json_dump(out, kv->second, st, depth + 1);
      }
      if (st.indent >= 0) newline(depth);
      out += '}';
      return;
    }
  }
}

}  // namespace

std::string to_str(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kUndefined: return "";
    case Value::Kind::kString: return v.s;
    default: return to_repr(v);
  }
}

std::string to_repr(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kUndefined: return "";
    case Value::Kind::kNone: return "None";
    case Value::Kind::kBool: return v.b ? "True" : "False";
    case Value::Kind::kInt: return std::to_string(v.i);
    case Value::Kind::kFloat: return float_repr(v.f);
    case Value::Kind::kString: return py_quote(v.s);
    case Value::Kind::kFunc: return "<function>";
    case Value::Kind::kList: {
      std::string out = "[";
      for (size_t k = 0; k < v.list->size(); ++k) {
        if (k) out += ", ";
        out += to_repr((*v.list)[k]);
      }
      return out + "]";
    }
    case Value::Kind::kDict: {
      std::string out = v.dict->is_namespace ? "Namespace(" : "{";
      bool first = true;
      for (const auto& [k, e] : v.dict->items) {
        if (!first) out += ", ";
        first = false;
        if (v.dict->is_namespace) out += k + "=";
        else out += py_quote(k) + ": ";
        out += to_repr(e);
      }
      return out + (v.dict->is_namespace ? ")" : "}");
    }
  }
  return "";
}

std::string to_json_text(const Value& v, const JsonStyle& style) {
  std::string out;
  json_dump(out, v, style, 0);
  return out;
}

bool equals(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.kind != Value::Kind::kFloat && b.kind != Value::Kind::kFloat)
      return (a.kind == Value::Kind::kBool ? a.b : a.i) == (b.kind == Value::Kind::kBool ? b.b : b.i);
    return a.as_double() == b.as_double();
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone: return true;
    case Value::Kind::kString: return a.s == b.s;
    case Value::Kind::kList:
      if (a.list->size() != b.list->size()) return false;
      for (size_t k = 0; k < a.list->size(); ++k)
        if (!equals((*a.list)[k], (*b.list)[k])) return false;
      return true;
    case Value::Kind::kDict:
      if (a.dict->items.size() != b.dict->items.size()) return false;
      for (const auto& [k, v] : a.dict->items) {
        const Value* o = b.dict->find(k);
        if (!o || !equals(v, *o)) return false;
      }
      return true;
    case Value::Kind::kFunc: return a.func == b.func;
    default: return false;
  }
}

int compare(const Value& a, const Value& b, bool* ok) {
  *ok = true;
  if (a.is_number() && b.is_number()) {
    if (a.kind == Value::Kind::kInt && b.kind == Value::Kind::kInt) return a.i < b.i ? -1 : (a.i > b.i ? 1 : 0);
    double x = a.as_double(), y = b.as_double();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    int c = a.s.compare(b.s);  // byte order == code point order for valid UTF-8
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.is_list() && b.is_list()) {
    size_t n = std::min(a.list->size(), b.list->size());
    for (size_t k = 0; k < n; ++k) {
      int c = compare((*a.list)[k], (*b.list)[k], ok);
      if (!*ok || c != 0) return c;
    }
    return a.list->size() < b.list->size() ? -1 : (a.list->size() > b.list->size() ? 1 : 0);
  }
  *ok = false;
  return 0;
}

namespace {

template <typename Json>
Value from_json_impl(const Json& j, uint32_t depth = 0) {
  if (depth > Value::kMaxNest)
    throw Error(Status::kInvalidArgument, "chat template context nested deeper than " + std::to_string(Value::kMaxNest) + " levels");
  switch (j.type()) {
    case nlohmann::detail::value_t::null: return Value::none();
    case nlohmann::detail::value_t::boolean: return Value::boolean(j.template get<bool>());
    case nlohmann::detail::value_t::number_integer: return Value::integer(j.template get<int64_t>());
    case nlohmann::detail::value_t::number_unsigned: {
      uint64_t u = j.template get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Value::number(static_cast<double>(u));
      return Value::integer(static_cast<int64_t>(u));
    }
    case nlohmann::detail::value_t::number_float: return Value::number(j.template get<double>());
    case nlohmann::detail::value_t::string: return Value::string(j.template get<std::string>());
    case nlohmann::detail::value_t::array: {
      List items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(from_json_impl(e, depth + 1));
      return Value::new_list(std::move(items));
    }
    case nlohmann::detail::value_t::object: {
      Value d = Value::new_dict();
      for (auto it = j.begin(); it != j.end(); ++it) d.dict->set(it.key(), from_json_impl(it.value(), depth + 1));
      d.refresh_nest();
      return d;
    }
    default: return Value::none();  // binary / discarded: not produced by JSON parsing
  }
}

}  // namespace

Value from_json(const nlohmann::json& j) { return from_json_impl(j); }
Value from_json(const nlohmann::ordered_json& j) { return from_json_impl(j); }

std::vector<std::string_view> utf8_chars(std::string_view s) {
  // Invalid bytes count as one character each, so every byte belongs to exactly one piece.
  std::vector<std::string_view> out;
  size_t k = 0;
  while (k < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[k]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 1;
    if (k + n > s.size()) n = 1;
    for (size_t m = 1; m < n; ++m)
      if ((static_cast<unsigned char>(s[k + m]) & 0xc0) != 0x80) n = 1;
    out.push_back(s.substr(k, n));
    k += n;
  }
  return out;
}

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xc0) != 0x80;
  return n;
}

}  // namespace sgl::jinja
