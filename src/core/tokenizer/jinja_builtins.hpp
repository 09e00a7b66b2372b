// Built-in behaviour of the chat-template interpreter: attribute and item access, the methods of
// str/dict/list that templates call (jinja_methods.cpp), filters and tests (jinja_filters.cpp),
// and the global functions HF provides (range, namespace, raise_exception, strftime_now).
#pragma once

#include <string>
#include <string_view>

#include "core/tokenizer/jinja_interp.hpp"

namespace sgl::jinja {

Value apply_filter(Interp& in, const std::string& name, const Value& input, Args& args, size_t pos);
bool apply_test(Interp& in, const std::string& name, const Value& v, Args& args, size_t pos);

// obj.name: dict keys, namespace attributes, and the methods of str, dict and list.
Value get_attr(Interp& in, const Value& obj, const std::string& name, size_t pos);
// obj[key] with Python indexing (negative indices); Undefined when missing.
Value get_item(Interp& in, const Value& obj, const Value& key, size_t pos);
// Iterating a value as Python would: list items, dict keys, string characters.
List iterate(Interp& in, const Value& v, size_t pos);
// Global functions; Undefined for other names.
Value lookup_global(const std::string& name);
// Python's `fmt % args` for %s %r %d %i %f %%.
std::string percent_format(Interp& in, const std::string& fmt, const Value& args, size_t pos);

// Argument access shared by filters, methods and globals: positional index `k` or keyword `name`.
const Value* arg(const Args& a, size_t k, std::string_view name);
int64_t int_arg(Interp& in, const Args& a, size_t k, std::string_view name, int64_t dflt, size_t pos);
bool bool_arg(const Args& a, size_t k, std::string_view name, bool dflt);
std::string str_arg(Interp& in, const Args& a, size_t k, std::string_view name, const std::string& dflt, size_t pos);

// String helpers with Python semantics (code points, Unicode case mapping via utf8proc).
std::string str_upper(std::string_view s);
std::string str_lower(std::string_view s);
std::string str_capitalize(std::string_view s);
std::string str_strip(std::string_view s, const Value* chars, bool left, bool right);
std::string str_replace(Interp& in, const std::string& s, const std::string& from, const std::string& to,
                        int64_t count, size_t pos);
// Python str.title(): a cased character after an uncased one starts a word.
std::string str_title_python(std::string_view s);

}  // namespace sgl::jinja
