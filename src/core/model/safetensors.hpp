// safetensors reader over a memory map. The format is an 8-byte little-endian header length, a
// JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {..}} and a
// byte buffer. Every length, offset and shape is checked against the file: a truncated or
// hostile file gives sgl::Error(kParseError) naming what is wrong, never an out-of-bounds read.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/support/mapped_file.hpp"

namespace sgl::safetensors {

// Element types the format defines. Only F32, F16 and BF16 can be loaded as weights; the others
// are parsed (so sizes can be checked) and reported as unsupported when a caller asks for them.
enum class DType : int { kF32, kF16, kBF16, kF64, kI64, kI32, kI16, kI8, kU8, kBool, kF8E4M3, kF8E5M2, kU16, kU32, kU64 };

// Bytes per element; the name as the format spells it ("F32", "BF16", ...).
size_t dtype_size(DType t);
std::string_view dtype_name(DType t);
// nullopt-like: returns false when `name` is not a safetensors dtype.
bool dtype_from_name(std::string_view name, DType* out);

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;  // row-major, outermost first (PyTorch order)
  uint64_t begin = 0;          // offsets into the data buffer
  uint64_t end = 0;
  const uint8_t* data = nullptr;

  uint64_t nbytes() const { return end - begin; }
  int64_t n_elements() const;
};

class SafetensorsFile {
 public:
  // Maps and parses the file. Throws sgl::Error (kNotFound, kIoError, kParseError).
  static SafetensorsFile open(const std::string& path);
  // Parses a buffer the caller keeps alive; `name` appears in error messages.
  static SafetensorsFile parse(const uint8_t* data, size_t size, const std::string& name = "<buffer>");

  const std::string& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Keeps the mapping alive (for stores that point into it); null for parsed buffers.
  std::shared_ptr<const MappedFile> mapping() const { return map_; }

 private:
  std::shared_ptr<const MappedFile> map_;
  std::string path_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// A tensor to write: shape outermost first, `data` exactly n_elements * dtype_size bytes.
struct WriteTensor {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;
};

// Serialises tensors (in the given order, contiguous, header padded to 8 bytes) with optional
// "__metadata__". Throws sgl::Error(kInvalidArgument) on a size mismatch.
std::vector<uint8_t> serialize(const std::vector<WriteTensor>& tensors,
                               const std::map<std::string, std::string>& metadata = {});
// Writes atomically (temp file + rename). Throws sgl::Error(kIoError).
void write_file(const std::string& path, const std::vector<uint8_t>& bytes);

}  // namespace sgl::safetensors
