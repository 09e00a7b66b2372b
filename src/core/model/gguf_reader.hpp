// GGUF (v2, v3) reader over a memory map. Every count, size, offset and string length is checked
// against the file, so a truncated or hostile file produces sgl::Error(kParseError) naming what
// is wrong — never an out-of-bounds read.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/model/gguf_value.hpp"
#include "core/support/mapped_file.hpp"
#include "kernels/dtype.hpp"

namespace sgl::gguf {

struct TensorInfo {
  std::string name;
  kernels::DType dtype = kernels::DType::F32;
  std::vector<int64_t> dims;  // GGUF order: dims[0] is the contiguous (innermost) dimension
  uint64_t offset = 0;        // relative to the data section
  uint64_t nbytes = 0;
  const uint8_t* data = nullptr;  // into the mapping

  int64_t n_elements() const;
};

struct ReadOptions {
  // Accept tensors whose type is defined by GGML but has no kernels here (for inspection).
  bool allow_unsupported_types = false;
};

class GgufFile {
 public:
  // Maps and parses the file. Throws sgl::Error.
  static GgufFile open(const std::string& path, const ReadOptions& opts = {});
  // Parses a buffer the caller keeps alive (used by tests and the fuzzer).
  static GgufFile parse(const uint8_t* data, size_t size, const ReadOptions& opts = {});

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  const std::string& path() const { return path_; }

  // Metadata in file order, and lookup by key.
  const std::vector<std::pair<std::string, Value>>& metadata() const { return kv_; }
  const Value* find(std::string_view key) const;
  std::optional<uint64_t> get_uint(std::string_view key) const;
  std::optional<double> get_float(std::string_view key) const;
  std::optional<bool> get_bool(std::string_view key) const;
  std::optional<std::string> get_string(std::string_view key) const;
  const Array* get_array(std::string_view key) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;

 private:
  std::shared_ptr<MappedFile> map_;
  std::string path_;
  uint32_t version_ = 0;
  uint32_t alignment_ = 32;
  std::vector<std::pair<std::string, Value>> kv_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;

  // parse() with a name for error messages (open() passes the path).
  static GgufFile parse_named(const uint8_t* data, size_t size, const ReadOptions& opts, const std::string& name);

  friend class Parser;
};

}  // namespace sgl::gguf
