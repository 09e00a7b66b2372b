// sgl-quantize IN OUT TYPE [--threads N]: converts a GGUF file or a Hugging Face model directory
// into a GGUF file whose weight matrices are in TYPE (q8_0, q4_0, q4_k, f16, ...), with
// llama.cpp's rules: norms and biases stay F32, token_embd becomes q8_0, rows that do not fit
// TYPE's block fall back to a type that does (see src/core/model/weight_quantizer.hpp).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

#include "core/model/model_quantizer.hpp"
#include "core/support/log.hpp"
#include "sgl/error.hpp"

using namespace sgl;

int main(int argc, char** argv) {
  CLI::App app{"sgl-quantize: write a quantized GGUF from a GGUF file or an HF model directory"};
  std::string in, out, type;
  int threads = 0;
  app.add_option("IN", in, "input: .gguf file or Hugging Face model directory")->required();
  app.add_option("OUT", out, "output .gguf file (written atomically)")->required();
  app.add_option("TYPE", type, "target type: " + supported_quantizations())->required();
  app.add_option("-t,--threads", threads, "conversion threads (0 = all cores)")->check(CLI::Range(0, 1024));
  CLI11_PARSE(app, argc, argv);

  set_log_level(LogLevel::kInfo);  // the per-tensor fallback notes
  try {
    auto t = parse_quantization(type);
    if (!t) throw Error(Status::kInvalidArgument, "TYPE 'none' does nothing; give a type such as q8_0");
    auto t0 = std::chrono::steady_clock::now();
    QuantizeReport r = quantize_model_file(in, out, *t, threads);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%s -> %s (%s): %d matrices converted, %d fell back, %d kept, %d already quantized; "
                "%.1f MiB -> %.1f MiB in %.2f s\n",
                in.c_str(), out.c_str(), type.c_str(), r.quantized, r.fallbacks, r.kept, r.already_quantized,
                r.bytes_before / 1048576.0, r.bytes_after / 1048576.0, s);
  } catch (const Error& e) {
    std::fprintf(stderr, "sgl-quantize: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sgl-quantize: %s\n", e.what());
    return 1;
  }
  return 0;
}
