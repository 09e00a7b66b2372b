#include "core/model/gguf_reader.hpp"

#include <cstring>
#include <limits>

#include "core/support/check.hpp"

namespace sgl::gguf {

int64_t TensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

namespace {
constexpr uint32_t kMaxDims = 4;
constexpr int kMaxArrayDepth = 8;
constexpr uint64_t kMaxStringLen = uint64_t{1} << 30;
}  // namespace

// Cursor over the raw bytes with bounds-checked reads.
class Parser {
 public:
  Parser(const uint8_t* data, size_t size, std::string name) : p_(data), size_(size), name_(std::move(name)) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(Status::kParseError, fmt::format("GGUF '{}': {} (at byte {})", name_, what, pos_),
                static_cast<int64_t>(pos_));
  }

  size_t remaining() const { return size_ - pos_; }

  void need(uint64_t n, const char* what) {
    if (n > remaining())
      fail(fmt::format("truncated file: {} needs {} bytes but only {} remain", what, n, remaining()));
  }

  template <class T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string read_string(const char* what) {
    uint64_t len = read<uint64_t>(what);
    if (len > kMaxStringLen) fail(fmt::format("{} has absurd length {}", what, len));
    need(len, what);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), len);
    pos_ += len;
    return s;
  }

  Value read_value(ValueType t, int depth, const std::string& key) {
    switch (t) {
      case ValueType::kU8: return Value{t, uint64_t{read<uint8_t>("u8 value")}};
      case ValueType::kI8: return Value{t, int64_t{read<int8_t>("i8 value")}};
      case ValueType::kU16: return Value{t, uint64_t{read<uint16_t>("u16 value")}};
      case ValueType::kI16: return Value{t, int64_t{read<int16_t>("i16 value")}};
      case ValueType::kU32: return Value{t, uint64_t{read<uint32_t>("u32 value")}};
      case ValueType::kI32: return Value{t, int64_t{read<int32_t>("i32 value")}};
      case ValueType::kF32: return Value{t, double{read<float>("f32 value")}};
      case ValueType::kU64: return Value{t, read<uint64_t>("u64 value")};
      case ValueType::kI64: return Value{t, read<int64_t>("i64 value")};
      case ValueType::kF64: return Value{t, read<double>("f64 value")};
      case ValueType::kBool: {
        uint8_t b = read<uint8_t>("bool value");
        if (b > 1) fail(fmt::format("key '{}': bool value {} is neither 0 nor 1", key, b));
        return Value{t, b != 0};
      }
      case ValueType::kString: return Value{t, read_string("string value")};
      case ValueType::kArray: return Value{t, read_array(depth + 1, key)};
    }
    fail(fmt::format("key '{}': unknown value type {}", key, static_cast<uint32_t>(t)));
  }

  Array read_array(int depth, const std::string& key) {
    if (depth > kMaxArrayDepth) fail(fmt::format("key '{}': arrays nested deeper than {}", key, kMaxArrayDepth));
    uint32_t et = read<uint32_t>("array element type");
    if (et >= kValueTypeCount) fail(fmt::format("key '{}': unknown array element type {}", key, et));
    uint64_t count = read<uint64_t>("array length");
    Array a;
    a.elem_type = static_cast<ValueType>(et);
    size_t esize = value_type_size(a.elem_type);
    // Every element takes at least one byte (strings/arrays at least 8/12), so the count is
    // bounded by what is left of the file; check before reserving anything.
    uint64_t min_elem = esize ? esize : (a.elem_type == ValueType::kString ? 8 : 12);
    if (count > remaining() / min_elem)
      fail(fmt::format("key '{}': array of {} {} elements does not fit in the {} bytes left", key, count,
                       value_type_name(a.elem_type), remaining()));
    switch (a.elem_type) {
      case ValueType::kString:
        a.strings.reserve(count);
        for (uint64_t i = 0; i < count; ++i) a.strings.push_back(read_string("array string"));
        break;
      case ValueType::kArray:
        a.arrays.reserve(count);
        for (uint64_t i = 0; i < count; ++i) a.arrays.push_back(Value{ValueType::kArray, read_array(depth + 1, key)});
        break;
      case ValueType::kU64:
      case ValueType::kI64:
        a.integers.resize(count);
        std::memcpy(a.integers.data(), p_ + pos_, count * 8);
        pos_ += count * 8;
        break;
      default:
        a.numbers.reserve(count);
        for (uint64_t i = 0; i < count; ++i) {
          Value v = read_value(a.elem_type, depth, key);
          a.numbers.push_back(v.as_float().value_or(v.as_bool().value_or(false) ? 1.0 : 0.0));
        }
        break;
    }
    return a;
  }

  const uint8_t* p_;
  size_t size_;
  size_t pos_ = 0;
  std::string name_;
};

GgufFile GgufFile::open(const std::string& path, const ReadOptions& opts) {
  auto map = std::make_shared<MappedFile>(path);
  GgufFile f = parse_named(map->data(), map->size(), opts, path);
  f.map_ = std::move(map);
  f.path_ = path;
  return f;
}

GgufFile GgufFile::parse(const uint8_t* data, size_t size, const ReadOptions& opts) {
  return parse_named(data, size, opts, "<buffer>");
}

GgufFile GgufFile::parse_named(const uint8_t* data, size_t size, const ReadOptions& opts, const std::string& name) {
  GgufFile f;
  f.path_ = name;
  Parser p(data, size, name);
  if (size < 4 || std::memcmp(data, "GGUF", 4) != 0) {
    if (size >= 4 && std::memcmp(data, "FUGG", 4) == 0) p.fail("big-endian GGUF files are not supported");
    p.fail("not a GGUF file (bad magic)");
  }
  p.pos_ = 4;
  f.version_ = p.read<uint32_t>("version");
  if (f.version_ == 1) p.fail("GGUF version 1 is obsolete and not supported (need 2 or 3)");
  if (f.version_ != 2 && f.version_ != 3) p.fail(fmt::format("unsupported GGUF version {} (need 2 or 3)", f.version_));
  uint64_t n_tensors = p.read<uint64_t>("tensor count");
  uint64_t n_kv = p.read<uint64_t>("metadata count");
  // A key/value pair is at least 8 (key length) + 4 (type) + 1 bytes; a tensor info 8+4+8+4+8.
  if (n_kv > p.remaining() / 13) p.fail(fmt::format("metadata count {} is larger than the file can hold", n_kv));
  if (n_tensors > p.remaining() / 32) p.fail(fmt::format("tensor count {} is larger than the file can hold", n_tensors));

  f.kv_.reserve(n_kv);
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = p.read_string("metadata key");
    uint32_t t = p.read<uint32_t>("metadata value type");
    if (t >= kValueTypeCount) p.fail(fmt::format("key '{}': unknown value type {}", key, t));
    Value v = p.read_value(static_cast<ValueType>(t), 0, key);
    if (!f.kv_index_.emplace(key, f.kv_.size()).second) p.fail(fmt::format("duplicate metadata key '{}'", key));
    f.kv_.emplace_back(std::move(key), std::move(v));
  }

  if (const Value* a = f.find("general.alignment")) {
    auto al = a->as_uint();
    if (a->type != ValueType::kU32 || !al || *al == 0 || (*al & (*al - 1)) != 0)
      p.fail("general.alignment must be a u32 power of two");
    f.alignment_ = static_cast<uint32_t>(*al);
  }

  f.tensors_.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorInfo t;
    t.name = p.read_string("tensor name");
    uint32_t nd = p.read<uint32_t>("tensor dimension count");
    if (nd == 0 || nd > kMaxDims) p.fail(fmt::format("tensor '{}' has {} dimensions (1..{} allowed)", t.name, nd, kMaxDims));
    int64_t n_el = 1;
    for (uint32_t d = 0; d < nd; ++d) {
      uint64_t dim = p.read<uint64_t>("tensor dimension");
      if (dim == 0 || dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / static_cast<uint64_t>(n_el))
        p.fail(fmt::format("tensor '{}' dimension {} = {} is zero or overflows", t.name, d, dim));
      n_el *= static_cast<int64_t>(dim);
      t.dims.push_back(static_cast<int64_t>(dim));
    }
    uint32_t type_id = p.read<uint32_t>("tensor type");
    auto info = kernels::dtype_info(type_id);
    if (!info) p.fail(fmt::format("tensor '{}' has unknown type id {}", t.name, type_id));
    if (!info->supported && !opts.allow_unsupported_types)
      throw Error(Status::kUnsupported,
                  fmt::format("GGUF '{}': tensor '{}' has type {} (id {}), which this build does not support",
                              name, t.name, info->name, type_id));
    t.dtype = static_cast<kernels::DType>(type_id);
    if (t.dims[0] % info->block_elems != 0)
      p.fail(fmt::format("tensor '{}' row length {} is not a multiple of the {} block size {}", t.name, t.dims[0],
                         info->name, info->block_elems));
    // n_el < 2^63 but bytes per element can reach 8: check before multiplying, or a huge tensor
    // would wrap to a small size and pass the end-of-file check below.
    uint64_t n_blocks = static_cast<uint64_t>(n_el / info->block_elems);
    if (n_blocks > size / static_cast<uint64_t>(info->block_bytes))
      p.fail(fmt::format("tensor '{}' of {} elements of {} is larger than the whole file", t.name, n_el, info->name));
    t.nbytes = n_blocks * static_cast<uint64_t>(info->block_bytes);
    t.offset = p.read<uint64_t>("tensor offset");
    if (t.offset % f.alignment_ != 0)
      p.fail(fmt::format("tensor '{}' offset {} is not aligned to {}", t.name, t.offset, f.alignment_));
    if (!f.tensor_index_.emplace(t.name, f.tensors_.size()).second)
      p.fail(fmt::format("duplicate tensor name '{}'", t.name));
    f.tensors_.push_back(std::move(t));
  }

  uint64_t data_start = (p.pos_ + f.alignment_ - 1) / f.alignment_ * f.alignment_;
  uint64_t data_size = data_start <= size ? size - data_start : 0;
  for (TensorInfo& t : f.tensors_) {
    if (t.offset > data_size || t.nbytes > data_size - t.offset)
      throw Error(Status::kParseError,
                  fmt::format("GGUF '{}': tensor '{}' ({} bytes at data offset {}) extends past the end of the file "
                              "(data section is {} bytes)",
                              name, t.name, t.nbytes, t.offset, data_size),
                  static_cast<int64_t>(data_start + t.offset));
    t.data = data + data_start + t.offset;
  }
  return f;
}

const Value* GgufFile::find(std::string_view key) const {
  auto it = kv_index_.find(std::string(key));
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

std::optional<uint64_t> GgufFile::get_uint(std::string_view key) const {
  const Value* v = find(key);
  return v ? v->as_uint() : std::nullopt;
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
  const Value* v = find(key);
  return v ? v->as_float() : std::nullopt;
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
  const Value* v = find(key);
  return v ? v->as_bool() : std::nullopt;
}

std::optional<std::string> GgufFile::get_string(std::string_view key) const {
  const Value* v = find(key);
  if (!v || !v->as_string()) return std::nullopt;
  return *v->as_string();
}

const Array* GgufFile::get_array(std::string_view key) const {
  const Value* v = find(key);
  return v ? v->as_array() : nullptr;
}

const TensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace sgl::gguf
