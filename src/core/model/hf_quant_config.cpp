// quantization_config of AWQ / GPTQ checkpoints. transformers writes AutoAWQ's config as
// {quant_method: "awq", bits, group_size, zero_point, version}; older AutoAWQ exports spell
// them w_bit / q_group_size. GPTQ: {quant_method: "gptq", bits, group_size, desc_act, sym,
// checkpoint_format} (GPTQModel may write "format" instead of "checkpoint_format").
#include <cctype>
#include <string>

#include "core/model/hf_quant.hpp"
#include "core/support/check.hpp"

namespace sgl::hf {
namespace {

using nlohmann::json;

const json* field(const json& q, std::initializer_list<const char*> keys) {
  for (const char* k : keys)
    if (q.contains(k) && !q.at(k).is_null()) return &q.at(k);
  return nullptr;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string string_field(const json& q, std::initializer_list<const char*> keys, const std::string& fallback,
                         const std::string& src) {
  const json* v = field(q, keys);
  if (!v) return fallback;
  if (!v->is_string())
    SGL_THROW(Status::kParseError, "{}: quantization_config '{}' must be a string (found {})", src, *keys.begin(),
              v->dump());
  return v->get<std::string>();
}

bool bool_field(const json& q, const char* key, bool fallback, const std::string& src) {
  const json* v = field(q, {key});
  if (!v) return fallback;
  if (!v->is_boolean())
    SGL_THROW(Status::kParseError, "{}: quantization_config '{}' must be true or false (found {})", src, key, v->dump());
  return v->get<bool>();
}

}  // namespace

const char* quant_method_name(QuantMethod m) {
  switch (m) {
    case QuantMethod::kAwq: return "AWQ";
    case QuantMethod::kGptq: return "GPTQ";
    case QuantMethod::kNone: break;
  }
  return "none";
}

QuantConfig read_quant_config(const json& config, const std::string& src) {
  QuantConfig c;
  if (!config.contains("quantization_config") || config.at("quantization_config").is_null()) return c;
  const json& q = config.at("quantization_config");
  if (!q.is_object()) SGL_THROW(Status::kParseError, "{}: 'quantization_config' must be an object", src);
  const std::string method = lower(string_field(q, {"quant_method"}, "", src));
  if (method.empty()) SGL_THROW(Status::kParseError, "{}: quantization_config has no 'quant_method'", src);
  if (method == "awq") {
    c.method = QuantMethod::kAwq;
  } else if (method == "gptq") {
    c.method = QuantMethod::kGptq;
  } else {
    SGL_THROW(Status::kUnsupported, "{}: quantization method '{}' is not supported (awq, gptq)", src, method);
  }

  const json* bits = field(q, {"bits", "w_bit"});
  if (!bits) SGL_THROW(Status::kParseError, "{}: {} quantization_config has no 'bits'", src, quant_method_name(c.method));
  if (!bits->is_number_integer())
    SGL_THROW(Status::kParseError, "{}: quantization_config 'bits' must be an integer (found {})", src, bits->dump());
  if (bits->get<int64_t>() != 4)
    SGL_THROW(Status::kUnsupported, "{}: {} with bits {} is not supported (only 4-bit)", src,
              quant_method_name(c.method), bits->dump());
  c.bits = 4;

  const json* gs = field(q, {"group_size", "q_group_size"});
  if (!gs) SGL_THROW(Status::kParseError, "{}: {} quantization_config has no 'group_size'", src, quant_method_name(c.method));
  if (!gs->is_number_integer() || !(gs->get<int64_t>() == -1 || (gs->get<int64_t>() > 0 && gs->get<int64_t>() <= (1 << 20))))
    SGL_THROW(Status::kParseError, "{}: quantization_config 'group_size' must be -1 or a positive integer (found {})", src,
              gs->dump());
  c.group_size = gs->get<int64_t>();

  if (c.method == QuantMethod::kAwq) {
    const std::string version = lower(string_field(q, {"version"}, "gemm", src));
    if (version != "gemm")
      SGL_THROW(Status::kUnsupported, "{}: AWQ version '{}' is not supported (only the GEMM packing, version \"gemm\")",
                src, version);
    if (!bool_field(q, "zero_point", true, src))
      SGL_THROW(Status::kUnsupported, "{}: AWQ with zero_point false is not supported", src);
  } else {
    c.sym = bool_field(q, "sym", true, src);
    c.desc_act = bool_field(q, "desc_act", false, src);
    const std::string fmt = lower(string_field(q, {"checkpoint_format", "format"}, "gptq", src));
    if (fmt == "gptq") {
      c.zero_minus_one = true;
    } else if (fmt == "gptq_v2") {
      c.zero_minus_one = false;
    } else {
      SGL_THROW(Status::kUnsupported, "{}: GPTQ checkpoint_format '{}' is not supported (gptq, gptq_v2)", src, fmt);
    }
  }
  return c;
}

}  // namespace sgl::hf
