#include "core/model/gguf_value.hpp"

namespace sgl::gguf {

std::string_view value_type_name(ValueType t) {
  switch (t) {
    case ValueType::kU8: return "u8";
    case ValueType::kI8: return "i8";
    case ValueType::kU16: return "u16";
    case ValueType::kI16: return "i16";
    case ValueType::kU32: return "u32";
    case ValueType::kI32: return "i32";
    case ValueType::kF32: return "f32";
    case ValueType::kBool: return "bool";
    case ValueType::kString: return "string";
    case ValueType::kArray: return "array";
    case ValueType::kU64: return "u64";
    case ValueType::kI64: return "i64";
    case ValueType::kF64: return "f64";
  }
  return "?";
}

size_t value_type_size(ValueType t) {
  switch (t) {
    case ValueType::kU8: case ValueType::kI8: case ValueType::kBool: return 1;
    case ValueType::kU16: case ValueType::kI16: return 2;
    case ValueType::kU32: case ValueType::kI32: case ValueType::kF32: return 4;
    case ValueType::kU64: case ValueType::kI64: case ValueType::kF64: return 8;
    case ValueType::kString: case ValueType::kArray: return 0;
  }
  return 0;
}

size_t Array::size() const {
  switch (elem_type) {
    case ValueType::kString: return strings.size();
    case ValueType::kArray: return arrays.size();
    case ValueType::kU64: case ValueType::kI64: return integers.size();
    default: return numbers.size();
  }
}

Value Value::string_array(std::vector<std::string> v) {
  Array a;
  a.elem_type = ValueType::kString;
  a.strings = std::move(v);
  return Value{ValueType::kArray, std::move(a)};
}

Value Value::f32_array(const std::vector<float>& v) {
  Array a;
  a.elem_type = ValueType::kF32;
  a.numbers.assign(v.begin(), v.end());
  return Value{ValueType::kArray, std::move(a)};
}

Value Value::i32_array(const std::vector<int32_t>& v) {
  Array a;
  a.elem_type = ValueType::kI32;
  a.numbers.assign(v.begin(), v.end());
  return Value{ValueType::kArray, std::move(a)};
}

std::optional<uint64_t> Value::as_uint() const {
  if (auto* u = std::get_if<uint64_t>(&data)) return *u;
  if (auto* i = std::get_if<int64_t>(&data)) {
    if (*i >= 0) return static_cast<uint64_t>(*i);
  }
  return std::nullopt;
}

std::optional<int64_t> Value::as_int() const {
  if (auto* i = std::get_if<int64_t>(&data)) return *i;
  if (auto* u = std::get_if<uint64_t>(&data)) {
    if (*u <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(*u);
  }
  return std::nullopt;
}

std::optional<double> Value::as_float() const {
  if (auto* d = std::get_if<double>(&data)) return *d;
  if (auto* i = std::get_if<int64_t>(&data)) return static_cast<double>(*i);
  if (auto* u = std::get_if<uint64_t>(&data)) return static_cast<double>(*u);
  return std::nullopt;
}

std::optional<bool> Value::as_bool() const {
  if (auto* b = std::get_if<bool>(&data)) return *b;
  return std::nullopt;
}

const std::string* Value::as_string() const { return std::get_if<std::string>(&data); }

const Array* Value::as_array() const { return std::get_if<Array>(&data); }

}  // namespace sgl::gguf
