#include "core/model/hf_json.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/support/check.hpp"

namespace sgl::hf {

nlohmann::json read_json_file(const std::string& path) {
  // A config or index file is a few KB to a few MB; anything far larger is not one.
  constexpr long kMaxBytes = 64L << 20;
  FILE* fp = std::fopen(path.c_str(), "rb");
  if (!fp) {
    Status st = errno == ENOENT ? Status::kNotFound : Status::kIoError;
    SGL_THROW(st, "cannot open '{}': {}", path, std::strerror(errno));
  }
  std::string text;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, fp)) > 0) {
    text.append(buf, n);
    if (static_cast<long>(text.size()) > kMaxBytes) {
      std::fclose(fp);
      SGL_THROW(Status::kIoError, "'{}' is larger than {} bytes; not a model JSON file", path, kMaxBytes);
    }
  }
  bool err = std::ferror(fp) != 0;
  std::fclose(fp);
  if (err) SGL_THROW(Status::kIoError, "cannot read '{}'", path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(Status::kParseError, fmt::format("'{}' is not valid JSON: {}", path, e.what()),
                static_cast<int64_t>(e.byte));
  }
}

}  // namespace sgl::hf
