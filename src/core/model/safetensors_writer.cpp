// safetensors serialisation, for sgl-mkmodel and tests.
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/model/safetensors.hpp"
#include "core/support/check.hpp"

namespace sgl::safetensors {

std::vector<uint8_t> serialize(const std::vector<WriteTensor>& tensors, const std::map<std::string, std::string>& metadata) {
  // nlohmann's ordered_json keeps insertion order, so the header lists tensors in data order.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const WriteTensor& t : tensors) {
    uint64_t n = 1;
    for (int64_t d : t.shape) {
      if (d < 0) SGL_THROW(Status::kInvalidArgument, "safetensors: tensor '{}' has a negative dimension", t.name);
      n *= static_cast<uint64_t>(d);
    }
    if (n * dtype_size(t.dtype) != t.data.size())
      SGL_THROW(Status::kInvalidArgument, "safetensors: tensor '{}' has {} bytes but its shape needs {}", t.name,
                t.data.size(), n * dtype_size(t.dtype));
    header[t.name] = {{"dtype", std::string(dtype_name(t.dtype))},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.data.size()}}};
    offset += t.data.size();
  }
  std::string h = header.dump();
  // Padding the header with spaces keeps the data buffer 8-byte aligned, as the Python writer does.
  while (h.size() % 8) h.push_back(' ');
  std::vector<uint8_t> out;
  out.reserve(8 + h.size() + offset);
  uint64_t len = h.size();
  out.resize(8);
  std::memcpy(out.data(), &len, 8);
  out.insert(out.end(), h.begin(), h.end());
  for (const WriteTensor& t : tensors) out.insert(out.end(), t.data.begin(), t.data.end());
  return out;
}

void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
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
    int e = errno;
    std::remove(tmp.c_str());
    SGL_THROW(Status::kIoError, "cannot rename '{}' to '{}': {}", tmp, path, std::strerror(e));
  }
}

}  // namespace sgl::safetensors
