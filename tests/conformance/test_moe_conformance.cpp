// Mixture-of-experts forward pass against llama.cpp: the in-repository tiny Mixtral, qwen2moe
// and qwen3moe goldens (tests/data/moe/README.md) on the cpu and ref backends.
#include <doctest/doctest.h>

#include "support/golden_logits.hpp"

using namespace sgl;

TEST_CASE("MoE goldens: Mixtral, qwen2moe, qwen3moe match llama.cpp on cpu and ref") {
  const auto dir = test::data_dir() / "moe";
  for (const char* name : {"tiny-mixtral", "tiny-qwen2moe", "tiny-qwen3moe"})
    for (const char* device : {"cpu", "ref"})
      test::check_logits_golden(dir / (std::string(name) + ".gguf"), dir / (std::string(name) + ".json"), device);
}

TEST_CASE("MLA goldens: deepseek2 (V3-like and legacy V2-Lite-like) match llama.cpp on cpu and ref") {
  const auto dir = test::data_dir() / "moe";
  for (const char* name : {"tiny-deepseek2", "tiny-deepseek2-lite"})
    for (const char* device : {"cpu", "ref"})
      test::check_logits_golden(dir / (std::string(name) + ".gguf"), dir / (std::string(name) + ".json"), device);
}
