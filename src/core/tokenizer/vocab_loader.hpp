// Loaders that fill a Vocab from a GGUF file's `tokenizer.ggml.*` metadata or from Hugging Face
// tokenizer.json (+ tokenizer_config.json). Both return a finalized Vocab or throw sgl::Error
// (kParseError for missing / contradictory fields, kUnsupported for valid but unhandled models).
#pragma once

#include <string>
#include <string_view>

#include "core/tokenizer/vocab.hpp"

namespace sgl::gguf {
class GgufFile;
}

namespace sgl::tok {

Vocab load_vocab_gguf(const gguf::GgufFile& file);

// `config_json` may be empty (no tokenizer_config.json). `source` names the input in errors.
Vocab load_vocab_hf(std::string_view tokenizer_json, std::string_view config_json, const std::string& source);

}  // namespace sgl::tok
