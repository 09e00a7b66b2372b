#include "json_fields.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "api_error.hpp"

namespace sgl::server {

const json* field(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<bool> get_bool(const json& obj, const char* key, const std::string& path) {
  const json* v = field(obj, key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) bad_field(path, fmt::format("{} must be a boolean", path));
  return v->get<bool>();
}

std::optional<int64_t> get_int(const json& obj, const char* key, const std::string& path, int64_t lo, int64_t hi) {
  const json* v = field(obj, key);
  if (!v) return std::nullopt;
  int64_t x = 0;
  if (v->is_number_integer()) {
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      bad_field(path, fmt::format("{} must be <= {} (got {})", path, hi, v->dump()));
    x = v->get<int64_t>();
  } else if (v->is_number_float()) {
    // 16.0 is accepted as 16 (Python clients send floats); 16.5 is not an integer.
    double d = v->get<double>();
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9.0e15)
      bad_field(path, fmt::format("{} must be an integer (got {})", path, v->dump()));
    x = static_cast<int64_t>(d);
  } else {
    bad_field(path, fmt::format("{} must be an integer (got {})", path, v->type_name()));
  }
  if (x < lo) bad_field(path, fmt::format("{} must be >= {} (got {})", path, lo, x));
  if (x > hi) bad_field(path, fmt::format("{} must be <= {} (got {})", path, hi, x));
  return x;
}

std::optional<double> get_number(const json& obj, const char* key, const std::string& path, double lo, double hi) {
  const json* v = field(obj, key);
  if (!v) return std::nullopt;
  if (!v->is_number()) bad_field(path, fmt::format("{} must be a number (got {})", path, v->type_name()));
  double x = v->get<double>();
  if (!std::isfinite(x) || x < lo || x > hi)
    bad_field(path, fmt::format("{} must be in [{}, {}] (got {})", path, lo, hi, v->dump()));
  return x;
}

std::optional<std::string> get_string(const json& obj, const char* key, const std::string& path, size_t max_bytes) {
  const json* v = field(obj, key);
  if (!v) return std::nullopt;
  if (!v->is_string()) bad_field(path, fmt::format("{} must be a string (got {})", path, v->type_name()));
  const auto& s = v->get_ref<const std::string&>();
  if (s.size() > max_bytes) bad_field(path, fmt::format("{} is too long ({} bytes, max {})", path, s.size(), max_bytes));
  return s;
}

std::vector<std::string> get_string_list(const json& obj, const char* key, const std::string& path,
                                         size_t max_items, size_t max_total_bytes) {
  const json* v = field(obj, key);
  std::vector<std::string> out;
  if (!v) return out;
  if (v->is_string()) {
    out.push_back(v->get<std::string>());
  } else if (v->is_array()) {
    if (v->size() > max_items)
      bad_field(path, fmt::format("{} has {} entries; at most {} are allowed", path, v->size(), max_items));
    for (size_t i = 0; i < v->size(); ++i) {
      if (!(*v)[i].is_string()) bad_field(path, fmt::format("{}[{}] must be a string", path, i));
      out.push_back((*v)[i].get<std::string>());
    }
  } else {
    bad_field(path, fmt::format("{} must be a string or an array of strings (got {})", path, v->type_name()));
  }
  size_t total = 0;
  for (const auto& s : out) {
    if (s.empty()) bad_field(path, fmt::format("{} must not contain empty strings", path));
    total += s.size();
  }
  if (total > max_total_bytes)
    bad_field(path, fmt::format("{} is too long ({} bytes in all, max {})", path, total, max_total_bytes));
  return out;
}

std::vector<int32_t> get_int_list(const json& value, const std::string& path, size_t max_items, int64_t lo, int64_t hi) {
  if (!value.is_array()) bad_field(path, fmt::format("{} must be an array of integers", path));
  if (value.size() > max_items)
    bad_field(path, fmt::format("{} has {} entries; at most {} are allowed", path, value.size(), max_items));
  std::vector<int32_t> out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    const json& e = value[i];
    if (!e.is_number_integer()) bad_field(path, fmt::format("{}[{}] must be an integer", path, i));
    if (e.is_number_unsigned() ? e.get<uint64_t>() > static_cast<uint64_t>(hi) : (e.get<int64_t>() < lo || e.get<int64_t>() > hi))
      bad_field(path, fmt::format("{}[{}] must be in [{}, {}] (got {})", path, i, lo, hi, e.dump()));
    out.push_back(static_cast<int32_t>(e.get<int64_t>()));
  }
  return out;
}

void reject_unknown(const json& obj, const std::vector<std::string>& known, const std::string& path) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (std::find(known.begin(), known.end(), it.key()) == known.end())
      bad_field(path.empty() ? it.key() : path + "." + it.key(),
                fmt::format("unknown field '{}'{}", it.key(), path.empty() ? "" : " in " + path));
  }
}

}  // namespace sgl::server
