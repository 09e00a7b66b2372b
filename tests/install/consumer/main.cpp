#include <sgl/error.hpp>
#include <sgl/tokenizer.hpp>

#include <cstdio>

int main() {
  // The C++ API from the static library: a missing file is a clean sgl::Error.
  try {
    sgl::Tokenizer::from_gguf_file("/nonexistent/model.gguf");
  } catch (const sgl::Error& e) {
    std::printf("%s: %s\n", sgl::status_name(e.code()), e.what());
    return e.code() == sgl::Status::kNotFound ? 0 : 1;
  }
  return 1;
}
