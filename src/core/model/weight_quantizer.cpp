#include "core/model/weight_quantizer.hpp"

#include <algorithm>
#include <cctype>
#include <exception>
#include <mutex>
#include <thread>

#include "core/support/check.hpp"
#include "core/support/log.hpp"
#include "kernels/quant.hpp"

namespace sgl {
namespace {

using kernels::DType;

constexpr uint32_t kMaxTypeId = 64;  // above every GGML type id

bool is_float(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

// Types a model may be converted to: float types and block types, not the integer/F64 ones.
bool is_target_kind(DType t) { return is_float(t) || kernels::dtype_info(t).block_elems > 1; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool supported(DType t) { return kernels::dtype_info(t).supported; }

bool fits(DType t, int64_t cols) { return cols % kernels::dtype_info(t).block_elems == 0; }

// llama.cpp's substitutes for K-quants on rows that are not a multiple of 256: a 32-block
// type of about the same size (it uses IQ4_NL for Q2_K/Q3_K; Q4_0 is its nearest kin here).
std::optional<DType> near_fallback(DType t) {
  switch (t) {
    case DType::Q2_K:
    case DType::Q3_K: return DType::Q4_0;
    case DType::Q4_K: return DType::Q5_0;
    case DType::Q5_K: return DType::Q5_1;
    case DType::Q6_K: return DType::Q8_0;
    default: return std::nullopt;
  }
}

}  // namespace

std::optional<DType> parse_quantization(std::string_view name) {
  const std::string want = lower(name);
  if (want.empty() || want == "none") return std::nullopt;
  for (uint32_t id = 0; id < kMaxTypeId; ++id) {
    auto info = kernels::dtype_info(id);
    if (!info || lower(info->name) != want) continue;
    const DType t = static_cast<DType>(id);
    if (!is_target_kind(t))
      SGL_THROW(Status::kInvalidArgument, "quantization '{}' is not a weight type (one of: {})", name,
                supported_quantizations());
    if (!info->supported)
      SGL_THROW(Status::kUnsupported, "quantization '{}': type {} is not supported by this build (one of: {})", name,
                info->name, supported_quantizations());
    return t;
  }
  SGL_THROW(Status::kInvalidArgument, "unknown quantization '{}' (one of: {})", name, supported_quantizations());
}

std::string supported_quantizations() {
  std::string out = "none";
  for (uint32_t id = 0; id < kMaxTypeId; ++id) {
    auto info = kernels::dtype_info(id);
    if (info && info->supported && is_target_kind(static_cast<DType>(id))) out += ", " + lower(info->name);
  }
  return out;
}

DType quantized_type(const TensorRef& t, DType target) {
  if (t.dims.size() != 2 || !is_float(t.dtype)) return t.dtype;
  const int64_t cols = t.dims[0];
  const bool block_target = kernels::dtype_info(target).block_elems > 1;
  if (t.name == "token_embd.weight" && block_target) return fits(DType::Q8_0, cols) ? DType::Q8_0 : t.dtype;
  if (fits(target, cols)) return target;
  if (auto f = near_fallback(target); f && supported(*f) && fits(*f, cols)) return *f;
  if (supported(DType::Q8_0) && fits(DType::Q8_0, cols)) return DType::Q8_0;
  return t.dtype;
}

std::vector<uint8_t> convert_tensor(const TensorRef& t, DType to, int threads) {
  SGL_CHECK(!t.dims.empty(), "convert_tensor: '{}' has no dims", t.name);
  const int64_t cols = t.dims[0];
  const int64_t rows = cols > 0 ? t.n_elements() / cols : 0;
  if (!fits(to, cols))
    SGL_THROW(Status::kInvalidArgument, "tensor '{}': row length {} is not a multiple of {}'s block of {}", t.name,
              cols, kernels::dtype_name(to), kernels::dtype_info(to).block_elems);
  if (!fits(t.dtype, cols) || t.nbytes != kernels::row_bytes(t.dtype, cols) * static_cast<size_t>(rows))
    SGL_THROW(Status::kParseError, "tensor '{}': {} bytes do not hold {} rows of {} {}", t.name, t.nbytes, rows, cols,
              kernels::dtype_name(t.dtype));
  const size_t in_rb = kernels::row_bytes(t.dtype, cols), out_rb = kernels::row_bytes(to, cols);
  std::vector<uint8_t> out(out_rb * static_cast<size_t>(rows));
  const auto* src = static_cast<const uint8_t*>(t.data);
  auto work = [&](int64_t r0, int64_t r1) {
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = r0; r < r1; ++r) {
      kernels::dequantize_row(t.dtype, src + static_cast<size_t>(r) * in_rb, row.data(), cols);
      kernels::quantize_row(to, row.data(), out.data() + static_cast<size_t>(r) * out_rb, cols);
    }
  };
  int n = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // Small tensors are not worth a thread each.
  n = static_cast<int>(std::clamp<int64_t>(rows * cols / (1 << 16), 1, n));
  if (n == 1) {
    work(0, rows);
    return out;
  }
  std::vector<std::thread> pool;
  std::exception_ptr failure;
  std::mutex mu;
  for (int i = 0; i < n; ++i) {
    const int64_t r0 = rows * i / n, r1 = rows * (i + 1) / n;
    pool.emplace_back([&, r0, r1] {
      try {
        work(r0, r1);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!failure) failure = std::current_exception();
      }
    });
  }
  for (std::thread& th : pool) th.join();
  if (failure) std::rethrow_exception(failure);
  return out;
}

std::shared_ptr<TensorStore> quantize_store(std::shared_ptr<const TensorStore> src, DType target, int threads,
                                            QuantizeReport* report) {
  QuantizeReport rep;
  auto out = std::make_shared<TensorStore>();
  for (const TensorRef& t : src->all()) {
    rep.bytes_before += t.nbytes;
    TensorRef q = t;
    if (t.dims.size() == 2) {
      const DType want = t.name == "token_embd.weight" && kernels::dtype_info(target).block_elems > 1 ? DType::Q8_0
                                                                                                      : target;
      const DType to = quantized_type(t, target);
      if (!is_float(t.dtype)) {
        if (t.dtype != want) {
          ++rep.already_quantized;
          rep.notes.push_back(fmt::format("{}: already {}, not re-quantized", t.name, kernels::dtype_name(t.dtype)));
        }
      } else if (to == t.dtype && to != want) {
        ++rep.kept;
        rep.notes.push_back(fmt::format("{}: {} columns fit no quantized type, kept {}", t.name, t.dims[0],
                                        kernels::dtype_name(t.dtype)));
      } else if (to != t.dtype) {
        std::vector<uint8_t> bytes = convert_tensor(t, to, threads);
        q.dtype = to;
        q.nbytes = bytes.size();
        q.data = out->own(std::move(bytes));
        if (to == want) {
          ++rep.quantized;
        } else {
          ++rep.fallbacks;
          rep.notes.push_back(fmt::format("{}: {} columns are not a multiple of {}'s block of {}, used {}", t.name,
                                          t.dims[0], kernels::dtype_name(want), kernels::dtype_info(want).block_elems,
                                          kernels::dtype_name(to)));
        }
      }
    }
    rep.bytes_after += q.nbytes;
    out->add(std::move(q));
  }
  out->keep_alive(src);
  for (const std::string& n : rep.notes) SGL_LOG_INFO("quantize: {}", n);
  // Fallbacks and kept matrices change what the user asked for: worth a warning.
  SGL_LOG(rep.fallbacks + rep.kept > 0 ? LogLevel::kWarn : LogLevel::kInfo,
          "quantize to {}: {} matrices converted, {} fell back to another type, {} kept (rows fit no block), {} "
          "already quantized; {:.1f} MiB -> {:.1f} MiB",
          kernels::dtype_name(target), rep.quantized, rep.fallbacks, rep.kept, rep.already_quantized,
          rep.bytes_before / 1048576.0, rep.bytes_after / 1048576.0);
  if (report) *report = std::move(rep);
  return out;
}

uint32_t gguf_file_type(DType t) {
  switch (t) {
    case DType::F32: return 0;
    case DType::F16: return 1;
    case DType::Q4_0: return 2;
    case DType::Q4_1: return 3;
    case DType::Q8_0: return 7;
    case DType::Q5_0: return 8;
    case DType::Q5_1: return 9;
    case DType::Q2_K: return 10;
    case DType::Q3_K: return 11;
    case DType::Q4_K: return 14;
    case DType::Q5_K: return 16;
    case DType::Q6_K: return 18;
    case DType::IQ4_NL: return 25;
    case DType::IQ4_XS: return 30;
    case DType::BF16: return 32;
    default:
      SGL_THROW(Status::kUnsupported, "no GGUF file type for {}", kernels::dtype_name(t));
  }
}

}  // namespace sgl
