// TextDecoder: how the scheduler turns output ids into text (for streaming and stop strings)
// without depending on the tokenizer's concrete class. The engine adapts sgl::Tokenizer to it.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace sgl {

class TextDecoder {
 public:
  virtual ~TextDecoder() = default;
  virtual std::string decode(std::span<const int32_t> ids, bool skip_special_tokens,
                             bool spaces_between_special_tokens) const = 0;
};

}  // namespace sgl
