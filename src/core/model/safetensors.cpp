#include "core/model/safetensors.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/support/check.hpp"

namespace sgl::safetensors {
namespace {

struct DTypeEntry {
  DType type;
  std::string_view name;
  size_t size;
};

constexpr DTypeEntry kDTypes[] = {
    {DType::kF32, "F32", 4},       {DType::kF16, "F16", 2},         {DType::kBF16, "BF16", 2},
    {DType::kF64, "F64", 8},       {DType::kI64, "I64", 8},         {DType::kI32, "I32", 4},
    {DType::kI16, "I16", 2},       {DType::kI8, "I8", 1},           {DType::kU8, "U8", 1},
    {DType::kBool, "BOOL", 1},     {DType::kF8E4M3, "F8_E4M3", 1}, {DType::kF8E5M2, "F8_E5M2", 1},
    {DType::kU16, "U16", 2},       {DType::kU32, "U32", 4},         {DType::kU64, "U64", 8},
};

// The reference implementation refuses headers above 100 MB; a real one is a few hundred KB.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr size_t kMaxDims = 8;

}  // namespace

size_t dtype_size(DType t) {
  for (const auto& e : kDTypes)
    if (e.type == t) return e.size;
  return 0;
}

std::string_view dtype_name(DType t) {
  for (const auto& e : kDTypes)
    if (e.type == t) return e.name;
  return "?";
}

bool dtype_from_name(std::string_view name, DType* out) {
  for (const auto& e : kDTypes) {
    if (e.name == name) {
      *out = e.type;
      return true;
    }
  }
  return false;
}

int64_t TensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  auto map = std::make_shared<const MappedFile>(path);
  SafetensorsFile f = parse(map->data(), map->size(), path);
  f.map_ = std::move(map);
  f.path_ = path;
  return f;
}

SafetensorsFile SafetensorsFile::parse(const uint8_t* data, size_t size, const std::string& name) {
  auto fail = [&](const std::string& what, int64_t offset = -1) {
    throw Error(Status::kParseError, fmt::format("safetensors '{}': {}", name, what), offset);
  };
  if (size < 8) fail(fmt::format("truncated file: {} bytes, the 8-byte header length is missing", size), 0);
  uint64_t header_len = 0;
  std::memcpy(&header_len, data, 8);  // little-endian on every platform sgl builds for
  if (header_len > kMaxHeaderBytes)
    fail(fmt::format("header length {} is absurd (limit {} bytes)", header_len, kMaxHeaderBytes), 0);
  if (header_len > size - 8)
    fail(fmt::format("truncated file: header needs {} bytes but only {} remain", header_len, size - 8), 8);
  if (header_len < 2) fail(fmt::format("header length {} is too short for a JSON object", header_len), 0);
  const char* hdr = reinterpret_cast<const char*>(data + 8);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(hdr, hdr + header_len);
  } catch (const nlohmann::json::parse_error& e) {
    fail(fmt::format("header is not valid JSON: {}", e.what()), static_cast<int64_t>(8 + e.byte));
  }
  if (!j.is_object()) fail("header is not a JSON object", 8);

  SafetensorsFile f;
  f.path_ = name;
  const uint8_t* buffer = data + 8 + header_len;
  const uint64_t buffer_size = size - 8 - header_len;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const nlohmann::json& v = it.value();
    if (key == "__metadata__") {
      if (!v.is_object()) fail("'__metadata__' is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) fail(fmt::format("'__metadata__' value '{}' is not a string", m.key()));
        f.metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!v.is_object()) fail(fmt::format("tensor '{}': entry is not an object", key));
    TensorInfo t;
    t.name = key;
    auto dt = v.find("dtype");
    if (dt == v.end() || !dt->is_string()) fail(fmt::format("tensor '{}': 'dtype' is missing or not a string", key));
    std::string dtn = dt->get<std::string>();
    if (!dtype_from_name(dtn, &t.dtype))
      throw Error(Status::kUnsupported, fmt::format("safetensors '{}': tensor '{}' has unsupported dtype {}", name, key, dtn));
    auto sh = v.find("shape");
    if (sh == v.end() || !sh->is_array()) fail(fmt::format("tensor '{}': 'shape' is missing or not an array", key));
    if (sh->size() > kMaxDims) fail(fmt::format("tensor '{}': {} dimensions (at most {})", key, sh->size(), kMaxDims));
    uint64_t n_el = 1;
    for (const auto& d : *sh) {
      if (!d.is_number_unsigned()) fail(fmt::format("tensor '{}': shape entry {} is not a non-negative integer", key, d.dump()));
      uint64_t dim = d.get<uint64_t>();
      if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          (dim != 0 && n_el > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / dim))
        fail(fmt::format("tensor '{}': shape {} overflows", key, sh->dump()));
      n_el *= dim;
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    auto off = v.find("data_offsets");
    if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned())
      fail(fmt::format("tensor '{}': 'data_offsets' must be two non-negative integers", key));
    t.begin = (*off)[0].get<uint64_t>();
    t.end = (*off)[1].get<uint64_t>();
    if (t.end < t.begin) fail(fmt::format("tensor '{}': data_offsets [{}, {}] are in the wrong order", key, t.begin, t.end));
    if (t.end > buffer_size)
      fail(fmt::format("tensor '{}': data_offsets [{}, {}] extend past the end of the file (data buffer is {} bytes)",
                       key, t.begin, t.end, buffer_size));
    size_t esize = dtype_size(t.dtype);
    if (n_el > std::numeric_limits<uint64_t>::max() / esize || n_el * esize != t.nbytes())
      fail(fmt::format("tensor '{}': shape {} of {} needs {} bytes but data_offsets [{}, {}] hold {}", key, sh->dump(),
                       dtn, n_el * esize, t.begin, t.end, t.nbytes()));
    t.data = buffer + t.begin;
    f.index_.emplace(t.name, f.tensors_.size());
    f.tensors_.push_back(std::move(t));
  }

  // The format requires the tensors to tile the buffer exactly: no overlaps (two tensors
  // sharing bytes) and no holes (room for hidden content).
  std::vector<const TensorInfo*> by_offset;
  for (const auto& t : f.tensors_) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t pos = 0;
  for (const TensorInfo* t : by_offset) {
    if (t->begin < pos)
      fail(fmt::format("tensor '{}': data_offsets [{}, {}] overlap the previous tensor (which ends at {})", t->name,
                       t->begin, t->end, pos));
    if (t->begin > pos)
      fail(fmt::format("tensor '{}': data_offsets [{}, {}] leave a hole after byte {} of the data buffer", t->name,
                       t->begin, t->end, pos));
    pos = t->end;
  }
  if (pos != buffer_size)
    fail(fmt::format("the tensors cover {} bytes but the data buffer is {} bytes", pos, buffer_size));
  return f;
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace sgl::safetensors
