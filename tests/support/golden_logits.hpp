// Checks a GGUF model against a llama.cpp logits golden (the JSON layout of the shared dense
// goldens and of tests/data/moe): logits at every position of seq_a and seq_b, the two
// sequences in one batch, and the greedy continuation of seq_a decoded through the KV cache.
#pragma once

#include <filesystem>
#include <string>

namespace sgl::test {

// The in-repository test data folder (tests/data).
std::filesystem::path data_dir();

// doctest CHECKs every comparison against `tol`; MESSAGEs the max |diff| of each sequence.
void check_logits_golden(const std::filesystem::path& gguf, const std::filesystem::path& golden,
                         const std::string& device, double tol = 1e-3);

}  // namespace sgl::test
