// GGUF metadata values: the typed scalars and arrays of a GGUF key/value section.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace sgl::gguf {

enum class ValueType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};
constexpr uint32_t kValueTypeCount = 13;

std::string_view value_type_name(ValueType t);
// Bytes of one element of a fixed-size type; 0 for string and array.
size_t value_type_size(ValueType t);

struct Value;

// An array of one element type. Numeric and bool elements are kept in `numbers` (as double,
// which holds every value of the ≤32-bit types exactly) and in `integers` for the 64-bit integer
// types; strings in `strings`; nested arrays in `arrays`.
struct Array {
  ValueType elem_type = ValueType::kU8;
  std::vector<double> numbers;
  std::vector<int64_t> integers;  // kI64 / kU64 (bit pattern for kU64)
  std::vector<std::string> strings;
  std::vector<Value> arrays;

  size_t size() const;
};

struct Value {
  ValueType type = ValueType::kU8;
  std::variant<uint64_t, int64_t, double, bool, std::string, Array> data;

  static Value u32(uint32_t v) { return Value{ValueType::kU32, uint64_t{v}}; }
  static Value i32(int32_t v) { return Value{ValueType::kI32, int64_t{v}}; }
  static Value u64(uint64_t v) { return Value{ValueType::kU64, v}; }
  static Value f32(float v) { return Value{ValueType::kF32, double{v}}; }
  static Value boolean(bool v) { return Value{ValueType::kBool, v}; }
  static Value string(std::string v) { return Value{ValueType::kString, std::move(v)}; }
  static Value string_array(std::vector<std::string> v);
  static Value f32_array(const std::vector<float>& v);
  static Value i32_array(const std::vector<int32_t>& v);

  // Conversions that succeed only when the stored type fits.
  std::optional<uint64_t> as_uint() const;  // any non-negative integer type
  std::optional<int64_t> as_int() const;    // any integer type that fits
  std::optional<double> as_float() const;   // any numeric type
  std::optional<bool> as_bool() const;
  const std::string* as_string() const;
  const Array* as_array() const;
};

}  // namespace sgl::gguf
