// The engine's constrained-decoding factory: connects the grammar module (src/core/grammar) to
// the scheduler's TokenMaskProvider hook. One factory per engine holds the tokenizer's
// vocabulary as grammar bytes and a GrammarCache, so a schema sent again (or each of n samples)
// compiles once. The factory runs on the submitting thread: compile errors reach submit().
#pragma once

#include <cstdint>
#include <vector>

#include "core/sched/token_mask.hpp"
#include "sgl/tokenizer.hpp"

namespace sgl {

// n_vocab: the model's vocabulary (the mask width); ids the tokenizer does not know are never
// allowed. eos_ids: the engine's end-of-generation ids, allowed exactly where the grammar may
// end. The vocabulary index is built on the first grammar request (thread-safe), so engines
// that never constrain output pay nothing. The returned factory throws sgl::Error for a bad
// grammar: kParseError (with offset) for malformed regex / JSON / EBNF, kUnsupported naming a
// schema keyword it cannot enforce, kInvalidArgument for exceeded bounds.
TokenMaskFactory make_grammar_mask_factory(Tokenizer tokenizer, int64_t n_vocab, std::vector<int32_t> eos_ids);

}  // namespace sgl
