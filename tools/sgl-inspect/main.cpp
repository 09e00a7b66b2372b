// sgl-inspect: prints a model's metadata (arrays abbreviated), the resolved ModelConfig and its
// tensor table. Works on any GGUF file (unsupported tensor types are listed, not refused) and on
// HF model directories.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/model/hf_json.hpp"
#include "core/model/model_loader.hpp"
#include "core/model/safetensors.hpp"
#include "core/support/check.hpp"

using namespace sgl;

namespace {

std::string dims_str(const std::vector<int64_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

std::string abbreviate(std::string s, size_t max) {
  for (char& c : s)
    if (c == '\n') c = ' ';
  if (s.size() > max) s = s.substr(0, max) + "...";
  return s;
}

std::string scalar_str(const gguf::Value& v) {
  if (auto* s = v.as_string()) return "\"" + abbreviate(*s, 100) + "\"";
  if (auto b = v.as_bool()) return *b ? "true" : "false";
  if (v.type == gguf::ValueType::kF32 || v.type == gguf::ValueType::kF64) return fmt::format("{}", *v.as_float());
  if (auto i = v.as_int()) return std::to_string(*i);
  if (auto u = v.as_uint()) return std::to_string(*u);
  return "?";
}

std::string value_str(const gguf::Value& v, size_t show = 6) {
  const gguf::Array* a = v.as_array();
  if (!a) return scalar_str(v);
  std::string s = fmt::format("{}[{}] {{", gguf::value_type_name(a->elem_type), a->size());
  for (size_t i = 0; i < std::min(a->size(), show); ++i) {
    if (i) s += ", ";
    switch (a->elem_type) {
      case gguf::ValueType::kString: s += "\"" + abbreviate(a->strings[i], 24) + "\""; break;
      case gguf::ValueType::kArray: s += value_str(a->arrays[i], 3); break;
      case gguf::ValueType::kU64: s += std::to_string(static_cast<uint64_t>(a->integers[i])); break;
      case gguf::ValueType::kI64: s += std::to_string(a->integers[i]); break;
      default: s += fmt::format("{}", a->numbers[i]); break;
    }
  }
  return s + (a->size() > show ? ", ...}" : "}");
}

void print_config(const std::function<ModelConfig()>& get) {
  try {
    std::printf("\nconfig: %s\n", get().summary().c_str());
  } catch (const Error& e) {
    std::printf("\nconfig: not loadable: %s\n", e.what());
  }
}

int inspect_gguf(const std::string& path) {
  gguf::ReadOptions opts;
  opts.allow_unsupported_types = true;
  gguf::GgufFile f = gguf::GgufFile::open(path, opts);
  std::printf("GGUF v%u, alignment %u, %zu metadata keys, %zu tensors\n\nmetadata:\n", f.version(), f.alignment(),
              f.metadata().size(), f.tensors().size());
  for (const auto& [k, v] : f.metadata())
    std::printf("  %-44s %-7s %s\n", k.c_str(), std::string(gguf::value_type_name(v.type)).c_str(), value_str(v).c_str());
  print_config([&] { return config_from_gguf(f); });
  std::printf("\ntensors:\n  %-36s %-7s %-22s %14s\n", "name", "type", "dims (GGUF order)", "bytes");
  uint64_t total = 0;
  for (const auto& t : f.tensors()) {
    std::printf("  %-36s %-7s %-22s %14llu\n", t.name.c_str(), std::string(kernels::dtype_name(t.dtype)).c_str(),
                dims_str(t.dims).c_str(), static_cast<unsigned long long>(t.nbytes));
    total += t.nbytes;
  }
  std::printf("  total %llu bytes\n", static_cast<unsigned long long>(total));
  return 0;
}

int inspect_hf(const std::string& dir) {
  namespace fs = std::filesystem;
  std::printf("HF model directory %s\n\nconfig.json:\n", dir.c_str());
  nlohmann::json j = hf::read_json_file((fs::path(dir) / "config.json").string());
  if (j.is_object())
    for (auto it = j.begin(); it != j.end(); ++it)
      std::printf("  %-36s %s\n", it.key().c_str(), abbreviate(it.value().dump(), 100).c_str());
  print_config([&] { return config_from_hf_dir(dir); });
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".safetensors") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  uint64_t total = 0;
  for (const std::string& file : files) {
    auto st = safetensors::SafetensorsFile::open(file);
    std::printf("\n%s (%zu tensors):\n  %-52s %-5s %-22s %14s\n", file.c_str(), st.tensors().size(), "name", "dtype",
                "shape (row-major)", "bytes");
    for (const auto& t : st.tensors()) {
      std::printf("  %-52s %-5s %-22s %14llu\n", t.name.c_str(), std::string(safetensors::dtype_name(t.dtype)).c_str(),
                  dims_str(t.shape).c_str(), static_cast<unsigned long long>(t.nbytes()));
      total += t.nbytes();
    }
  }
  std::printf("  total %llu bytes\n", static_cast<unsigned long long>(total));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Print a model's metadata, config and tensor table (GGUF file or HF directory)"};
  std::string path;
  app.add_option("model", path, "GGUF file or HF model directory")->required();
  CLI11_PARSE(app, argc, argv);
  try {
    return std::filesystem::is_directory(path) ? inspect_hf(path) : inspect_gguf(path);
  } catch (const Error& e) {
    std::fprintf(stderr, "sgl-inspect: %s\n", e.what());
    return 1;
  }
}
