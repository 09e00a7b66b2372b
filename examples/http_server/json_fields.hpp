// Typed access to fields of a client's JSON object. Every getter checks the JSON type and the
// range and throws a 400 ApiError naming the field ("temperature must be a number"), so parsers
// read like a list of fields and never let a wrong type through as an nlohmann exception.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sgl::server {

using json = nlohmann::json;

// `obj[key]` if present and not null; `path` is the field's name in error messages.
const json* field(const json& obj, const char* key);

std::optional<bool> get_bool(const json& obj, const char* key, const std::string& path);
std::optional<int64_t> get_int(const json& obj, const char* key, const std::string& path, int64_t lo, int64_t hi);
std::optional<double> get_number(const json& obj, const char* key, const std::string& path, double lo, double hi);
std::optional<std::string> get_string(const json& obj, const char* key, const std::string& path,
                                      size_t max_bytes = 1 << 20);
// A string or an array of strings (OpenAI's `stop`): at most `max_items`, `max_total_bytes` in all.
std::vector<std::string> get_string_list(const json& obj, const char* key, const std::string& path,
                                         size_t max_items, size_t max_total_bytes);
// An array of integers in [lo, hi], at most `max_items`.
std::vector<int32_t> get_int_list(const json& value, const std::string& path, size_t max_items, int64_t lo, int64_t hi);

// Rejects keys of `obj` that are not in `known` (400 naming the first unknown one).
void reject_unknown(const json& obj, const std::vector<std::string>& known, const std::string& path);

}  // namespace sgl::server
