// TokenMaskProvider: the hook through which constrained decoding (src/core/grammar) restricts
// the next token. The scheduler calls fill() inside the batched step just before sampling a
// request, then accept() with the chosen token, then (jump-forward on) jump_forward() for the
// tokens the grammar forces next, which are appended without sampling.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "sgl/sampling_params.hpp"

namespace sgl {

class TokenMaskProvider {
 public:
  virtual ~TokenMaskProvider() = default;
  // Sets bit t of mask[t / 32] for every allowed token; the mask arrives all zeros,
  // (n_vocab + 31) / 32 words.
  virtual void fill(uint32_t* mask, int64_t n_vocab) = 0;
  virtual void accept(int32_t token) = 0;
  // True once the grammar accepts no further tokens: the request then stops.
  virtual bool terminated() const = 0;
  // Jump-forward (SGLang's compressed FSM), called right after accept(last): the tokens that
  // spell the bytes the grammar forces from here, at most max_tokens, already accepted by the
  // provider. Empty when nothing (or too little) is forced or no safe token boundary exists.
  virtual std::vector<int32_t> jump_forward(int32_t last, int64_t max_tokens) {
    (void)last, (void)max_tokens;
    return {};
  }
};

// Builds a provider for a request's regex / json_schema / ebnf; throws sgl::Error on a bad
// grammar. Null factory: such requests are rejected as unsupported.
using TokenMaskFactory = std::function<std::unique_ptr<TokenMaskProvider>(const SamplingParams&)>;

}  // namespace sgl
