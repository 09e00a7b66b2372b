// Internal factories for the engine: build a Tokenizer from an already-open GGUF file (so the
// model loader parses the file once) or from a prepared Vocab (tests, tools).
#pragma once

#include "core/tokenizer/vocab.hpp"
#include "sgl/tokenizer.hpp"

namespace sgl::gguf {
class GgufFile;
}

namespace sgl::tok {

Tokenizer tokenizer_from_gguf(const gguf::GgufFile& file);
Tokenizer tokenizer_from_vocab(Vocab vocab);  // finalizes `vocab`

}  // namespace sgl::tok
