// An independent JSON Schema validator for tests only, written apart from the grammar code (it
// shares nothing with src/core/grammar). It covers the keywords of the conformance sample:
// type, enum, const, properties, required, additionalProperties, patternProperties,
// items/prefixItems/additionalItems, min/maxItems, uniqueItems, min/maxLength (code points),
// pattern (std::regex ECMAScript, search), format (date, time, date-time, email, uuid, uri,
// ipv4), numeric bounds (both drafts' exclusive forms), multipleOf, anyOf/oneOf/allOf/not,
// if/then/else, min/maxProperties, dependencies, local $ref.
#pragma once

#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

namespace sgl::test {

class SchemaValidator {
 public:
  using json = nlohmann::json;
  explicit SchemaValidator(json root) : root_(std::move(root)) {}

  bool validate(const json& inst) const { return check(root_, inst, 0); }

 private:
  static size_t codepoints(const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  }
  static bool is_type(const json& v, const std::string& t) {
    if (t == "null") return v.is_null();
    if (t == "boolean") return v.is_boolean();
    if (t == "string") return v.is_string();
    if (t == "object") return v.is_object();
    if (t == "array") return v.is_array();
    if (t == "number") return v.is_number();
    if (t == "integer")
      return v.is_number_integer() || (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
    return false;
  }
  static bool re_search(const std::string& pat, const std::string& s) {
    try {
      return std::regex_search(s, std::regex(pat, std::regex::ECMAScript));
    } catch (const std::regex_error&) {
      return true;  // a pattern std::regex cannot compile is not checked
    }
  }
  static bool full(const char* re, const std::string& s) { return std::regex_match(s, std::regex(re)); }
  static bool format_ok(const std::string& f, const std::string& s) {
    if (f == "date") return full(R"(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]))", s);
    if (f == "time") return full(R"(([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?([zZ]|[+-]([01]\d|2[0-3]):[0-5]\d))", s);
    if (f == "date-time")
      return full(R"(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[tT ]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?([zZ]|[+-]([01]\d|2[0-3]):[0-5]\d))", s);
    if (f == "email") return s.find('@') != std::string::npos;
    if (f == "uuid") return full(R"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})", s);
    if (f == "uri") return full(R"([a-zA-Z][a-zA-Z0-9+.\-]*:[^\s]*)", s);
    if (f == "ipv4") return full(R"(((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d))", s);
    if (f == "ipv6") return ipv6_ok(s);
    if (f == "hostname") return hostname_ok(s);
    return true;  // other formats are annotations here
  }
  // Checked by parsing rather than by a regex, so the test does not reuse the grammar's regex.
  static bool hex_group(const std::string& g) {
    if (g.empty() || g.size() > 4) return false;
    for (char c : g)
      if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    return true;
  }
  static std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    size_t b = 0;
    for (size_t i = 0; i <= s.size(); ++i)
      if (i == s.size() || s[i] == sep) out.push_back(s.substr(b, i - b)), b = i + 1;
    return out;
  }
  static bool ipv6_ok(const std::string& s) {
    size_t dc = s.find("::");
    if (dc != std::string::npos && s.find("::", dc + 1) != std::string::npos) return false;
    auto groups_ok = [](const std::string& part, size_t& n) {
      if (part.empty()) return true;
      for (const auto& g : split(part, ':')) {
        if (!hex_group(g)) return false;
        ++n;
      }
      return true;
    };
    size_t n = 0;
    if (dc == std::string::npos) return groups_ok(s, n) && n == 8;
    return groups_ok(s.substr(0, dc), n) && groups_ok(s.substr(dc + 2), n) && n <= 7;
  }
  static bool hostname_ok(const std::string& s) {
    if (s.empty() || s.size() > 253) return false;
    for (const auto& label : split(s, '.')) {
      if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
      for (char c : label)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    return true;
  }

  const json* resolve(const std::string& ref) const {
    if (ref.empty() || ref[0] != '#') return nullptr;
    try {
      std::string p = ref.substr(1);
      return &root_.at(json::json_pointer(p));
    } catch (...) {
      return nullptr;
    }
  }

  bool check(const json& s, const json& v, int depth) const {
    if (depth > 64) return true;
    if (s.is_boolean()) return s.get<bool>();
    if (!s.is_object()) return true;
    if (s.contains("$ref")) {
      const json* t = resolve(s["$ref"].get<std::string>());
      if (!t || !check(*t, v, depth + 1)) return false;
    }
    if (s.contains("type")) {
      const json& t = s["type"];
      bool ok = false;
      if (t.is_string()) ok = is_type(v, t);
      else for (const auto& x : t) ok = ok || is_type(v, x);
      if (!ok) return false;
    }
    if (s.value("nullable", false) && v.is_null()) return true;
    if (s.contains("enum")) {
      bool ok = false;
      for (const auto& e : s["enum"]) ok = ok || e == v;
      if (!ok) return false;
    }
    if (s.contains("const") && s["const"] != v) return false;
    if (s.contains("allOf"))
      for (const auto& x : s["allOf"])
        if (!check(x, v, depth + 1)) return false;
    if (s.contains("anyOf")) {
      bool ok = false;
      for (const auto& x : s["anyOf"]) ok = ok || check(x, v, depth + 1);
      if (!ok) return false;
    }
    if (s.contains("oneOf")) {
      int n = 0;
      for (const auto& x : s["oneOf"]) n += check(x, v, depth + 1);
      if (n != 1) return false;
    }
    if (s.contains("not") && check(s["not"], v, depth + 1)) return false;
    if (s.contains("if")) {
      if (check(s["if"], v, depth + 1)) {
        if (s.contains("then") && !check(s["then"], v, depth + 1)) return false;
      } else if (s.contains("else") && !check(s["else"], v, depth + 1)) {
        return false;
      }
    }
    if (v.is_string()) {
      const std::string& str = v.get_ref<const std::string&>();
      if (s.contains("minLength") && codepoints(str) < s["minLength"].get<double>()) return false;
      if (s.contains("maxLength") && codepoints(str) > s["maxLength"].get<double>()) return false;
      if (s.contains("pattern") && !re_search(s["pattern"], str)) return false;
      if (s.contains("format") && s["format"].is_string() && !format_ok(s["format"], str)) return false;
    }
    if (v.is_number()) {
      double x = v.get<double>();
      auto num = [&](const char* k) { return s.contains(k) && s[k].is_number(); };
      if (num("minimum")) {
        bool ex = s.contains("exclusiveMinimum") && s["exclusiveMinimum"].is_boolean() && s["exclusiveMinimum"].get<bool>();
        if (ex ? x <= s["minimum"].get<double>() : x < s["minimum"].get<double>()) return false;
      }
      if (num("maximum")) {
        bool ex = s.contains("exclusiveMaximum") && s["exclusiveMaximum"].is_boolean() && s["exclusiveMaximum"].get<bool>();
        if (ex ? x >= s["maximum"].get<double>() : x > s["maximum"].get<double>()) return false;
      }
      if (num("exclusiveMinimum") && x <= s["exclusiveMinimum"].get<double>()) return false;
      if (num("exclusiveMaximum") && x >= s["exclusiveMaximum"].get<double>()) return false;
      if (num("multipleOf")) {
        double q = x / s["multipleOf"].get<double>();
        if (std::fabs(q - std::round(q)) > 1e-9) return false;
      }
    }
    if (v.is_object()) {
      if (s.contains("required"))
        for (const auto& r : s["required"])
          if (!v.contains(r.get<std::string>())) return false;
      if (s.contains("minProperties") && v.size() < s["minProperties"].get<double>()) return false;
      if (s.contains("maxProperties") && v.size() > s["maxProperties"].get<double>()) return false;
      for (auto it = v.begin(); it != v.end(); ++it) {
        bool matched = false;
        if (s.contains("properties") && s["properties"].contains(it.key())) {
          matched = true;
          if (!check(s["properties"][it.key()], it.value(), depth + 1)) return false;
        }
        if (s.contains("patternProperties"))
          for (auto pp = s["patternProperties"].begin(); pp != s["patternProperties"].end(); ++pp)
            if (re_search(pp.key(), it.key())) {
              matched = true;
              if (!check(pp.value(), it.value(), depth + 1)) return false;
            }
        if (!matched && s.contains("additionalProperties") && !check(s["additionalProperties"], it.value(), depth + 1))
          return false;
        if (s.contains("propertyNames") && !check(s["propertyNames"], json(it.key()), depth + 1)) return false;
      }
      if (s.contains("dependencies"))
        for (auto d = s["dependencies"].begin(); d != s["dependencies"].end(); ++d) {
          if (!v.contains(d.key())) continue;
          if (d.value().is_array()) {
            for (const auto& r : d.value())
              if (!v.contains(r.get<std::string>())) return false;
          } else if (!check(d.value(), v, depth + 1)) {
            return false;
          }
        }
    }
    if (v.is_array()) {
      if (s.contains("minItems") && v.size() < s["minItems"].get<double>()) return false;
      if (s.contains("maxItems") && v.size() > s["maxItems"].get<double>()) return false;
      size_t start = 0;
      const json* tuple = nullptr;
      if (s.contains("prefixItems")) tuple = &s["prefixItems"];
      else if (s.contains("items") && s["items"].is_array()) tuple = &s["items"];
      if (tuple) {
        for (size_t i = 0; i < tuple->size() && i < v.size(); ++i)
          if (!check((*tuple)[i], v[i], depth + 1)) return false;
        start = tuple->size();
      }
      const json* rest = nullptr;
      if (s.contains("items") && !s["items"].is_array()) rest = &s["items"];
      else if (tuple && s.contains("additionalItems")) rest = &s["additionalItems"];
      if (rest)
        for (size_t i = start; i < v.size(); ++i)
          if (!check(*rest, v[i], depth + 1)) return false;
      if (s.value("uniqueItems", false))
        for (size_t i = 0; i < v.size(); ++i)
          for (size_t j = i + 1; j < v.size(); ++j)
            if (v[i] == v[j]) return false;
      if (s.contains("contains")) {
        bool any = false;
        for (const auto& x : v) any = any || check(s["contains"], x, depth + 1);
        if (!any) return false;
      }
    }
    return true;
  }

  json root_;
};

}  // namespace sgl::test
