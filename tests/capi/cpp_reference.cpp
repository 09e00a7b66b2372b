// The C++ API's answer to the examples' greedy request (examples/{c,rust,go} print the same
// "blocking"/"stream" lines through the C ABI; run_examples.sh compares them).
//   capi_cpp_reference MODEL.gguf [DEVICE]
#include <cstdio>
#include <string>
#include <vector>

#include "sgl/engine.hpp"
#include "sgl/error.hpp"

namespace {

void print_escaped(const char* label, const std::string& s) {
  std::printf("%s: \"", label);
  for (unsigned char c : s) {
    if (c == '\\' || c == '"') std::printf("\\%c", c);
    else if (c >= 0x20 && c < 0x7f) std::putchar(c);
    else std::printf("\\x%02x", c);
  }
  std::printf("\"\n");
}

void print_ids(const char* label, const std::vector<int32_t>& ids) {
  std::printf("%s:", label);
  for (int32_t id : ids) std::printf(" %d", id);
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.gguf [DEVICE]\n", argv[0]);
    return 2;
  }
  try {
    sgl::EngineConfig cfg;  // the same settings as the examples
    cfg.model_path = argv[1];
    cfg.device = argc > 2 ? argv[2] : "cpu";
    cfg.threads = 1;
    cfg.max_total_tokens = 4096;
    sgl::Engine engine(cfg);

    sgl::Request req;
    req.input_ids = {1, 17, 42, 99, 5, 230, 64};
    req.sampling.temperature = 0.0f;
    req.sampling.max_new_tokens = 12;
    req.sampling.ignore_eos = true;

    sgl::Result r = engine.generate(req);
    print_ids("blocking ids", r.output_ids);
    print_escaped("blocking text", r.text);
    std::printf("blocking finish: %s\n", r.finish.type());

    sgl::RequestHandle h = engine.submit(req);
    std::vector<int32_t> ids;
    std::string text;
    std::string finish;
    while (auto c = h.next()) {
      ids.insert(ids.end(), c->token_ids.begin(), c->token_ids.end());
      text += c->text;
      if (c->result) finish = c->result->finish.type();
    }
    print_ids("stream ids", ids);
    print_escaped("stream text", text);
    std::printf("stream finish: %s\n", finish.c_str());
  } catch (const sgl::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
