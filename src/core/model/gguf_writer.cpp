#include "core/model/gguf_writer.hpp"

#include <cstdio>
#include <cstring>

#include "core/support/check.hpp"

namespace sgl::gguf {
namespace {

class Out {
 public:
  template <class T>
  void put(T v) {
    size_t n = buf.size();
    buf.resize(n + sizeof(T));
    std::memcpy(buf.data() + n, &v, sizeof(T));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    buf.insert(buf.end(), s.begin(), s.end());
  }
  void put_scalar(ValueType t, const Value& v) {
    switch (t) {
      case ValueType::kU8: put<uint8_t>(static_cast<uint8_t>(v.as_uint().value_or(0))); break;
      case ValueType::kI8: put<int8_t>(static_cast<int8_t>(v.as_int().value_or(0))); break;
      case ValueType::kU16: put<uint16_t>(static_cast<uint16_t>(v.as_uint().value_or(0))); break;
      case ValueType::kI16: put<int16_t>(static_cast<int16_t>(v.as_int().value_or(0))); break;
      case ValueType::kU32: put<uint32_t>(static_cast<uint32_t>(v.as_uint().value_or(0))); break;
      case ValueType::kI32: put<int32_t>(static_cast<int32_t>(v.as_int().value_or(0))); break;
      case ValueType::kF32: put<float>(static_cast<float>(v.as_float().value_or(0))); break;
      case ValueType::kU64: put<uint64_t>(std::get<uint64_t>(v.data)); break;
      case ValueType::kI64: put<int64_t>(std::get<int64_t>(v.data)); break;
      case ValueType::kF64: put<double>(v.as_float().value_or(0)); break;
      case ValueType::kBool: put<uint8_t>(v.as_bool().value_or(false) ? 1 : 0); break;
      case ValueType::kString: put_string(*v.as_string()); break;
      case ValueType::kArray: put_array(*v.as_array()); break;
    }
  }
  void put_array(const Array& a) {
    put<uint32_t>(static_cast<uint32_t>(a.elem_type));
    put<uint64_t>(a.size());
    switch (a.elem_type) {
      case ValueType::kString:
        for (const auto& s : a.strings) put_string(s);
        break;
      case ValueType::kArray:
        for (const auto& v : a.arrays) put_array(*v.as_array());
        break;
      case ValueType::kU64:
      case ValueType::kI64:
        for (int64_t x : a.integers) put<int64_t>(x);
        break;
      default:
        for (double x : a.numbers) {
          Value v = a.elem_type == ValueType::kF32 || a.elem_type == ValueType::kF64
                        ? Value{a.elem_type, x}
                        : (x < 0 ? Value{a.elem_type, static_cast<int64_t>(x)} : Value{a.elem_type, static_cast<uint64_t>(x)});
          if (a.elem_type == ValueType::kBool) v = Value{ValueType::kBool, x != 0};
          put_scalar(a.elem_type, v);
        }
        break;
    }
  }
  void pad_to(size_t alignment) {
    while (buf.size() % alignment) buf.push_back(0);
  }
  std::vector<uint8_t> buf;
};

}  // namespace

void GgufWriter::set(std::string key, Value value) {
  for (auto& kv : kv_) {
    if (kv.first == key) {
      kv.second = std::move(value);
      return;
    }
  }
  kv_.emplace_back(std::move(key), std::move(value));
}

void GgufWriter::add_tensor(std::string name, kernels::DType dtype, std::vector<int64_t> dims,
                            std::vector<uint8_t> data) {
  SGL_CHECK(!dims.empty() && dims.size() <= 4, "tensor '{}' needs 1..4 dims", name);
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  const auto& info = kernels::dtype_info(dtype);
  SGL_CHECK(dims[0] % info.block_elems == 0, "tensor '{}': row {} not a multiple of block {}", name, dims[0],
            info.block_elems);
  size_t expect = static_cast<size_t>(n / info.block_elems) * info.block_bytes;
  SGL_CHECK(data.size() == expect, "tensor '{}': {} bytes given, {} expected", name, data.size(), expect);
  tensors_.push_back(Tensor{std::move(name), dtype, std::move(dims), std::move(data)});
}

std::vector<uint8_t> GgufWriter::to_bytes() const {
  Out o;
  o.buf.insert(o.buf.end(), {'G', 'G', 'U', 'F'});
  o.put<uint32_t>(3);
  o.put<uint64_t>(tensors_.size());
  bool has_alignment = false;
  for (const auto& kv : kv_) has_alignment |= kv.first == "general.alignment";
  o.put<uint64_t>(kv_.size() + (alignment_ != 32 && !has_alignment ? 1 : 0));
  for (const auto& [key, value] : kv_) {
    o.put_string(key);
    o.put<uint32_t>(static_cast<uint32_t>(value.type));
    o.put_scalar(value.type, value);
  }
  if (alignment_ != 32 && !has_alignment) {
    o.put_string("general.alignment");
    o.put<uint32_t>(static_cast<uint32_t>(ValueType::kU32));
    o.put<uint32_t>(alignment_);
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    o.put_string(t.name);
    o.put<uint32_t>(static_cast<uint32_t>(t.dims.size()));
    for (int64_t d : t.dims) o.put<uint64_t>(static_cast<uint64_t>(d));
    o.put<uint32_t>(static_cast<uint32_t>(t.dtype));
    o.put<uint64_t>(offset);
    offset += (t.data.size() + alignment_ - 1) / alignment_ * alignment_;
  }
  o.pad_to(alignment_);
  for (const auto& t : tensors_) {
    o.buf.insert(o.buf.end(), t.data.begin(), t.data.end());
    o.pad_to(alignment_);
  }
  return std::move(o.buf);
}

void GgufWriter::write(const std::string& path) const {
  std::vector<uint8_t> bytes = to_bytes();
  std::string tmp = path + ".tmp";
  FILE* fp = std::fopen(tmp.c_str(), "wb");
  if (!fp) SGL_THROW(Status::kIoError, "cannot create '{}': {}", tmp, std::strerror(errno));
  size_t w = std::fwrite(bytes.data(), 1, bytes.size(), fp);
  int rc = std::fclose(fp);
  if (w != bytes.size() || rc != 0) {
    std::remove(tmp.c_str());
    SGL_THROW(Status::kIoError, "short write to '{}'", tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    SGL_THROW(Status::kIoError, "cannot rename '{}' to '{}': {}", tmp, path, std::strerror(errno));
  }
}

}  // namespace sgl::gguf
