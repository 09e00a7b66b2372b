// EngineText: the engine's view of the tokenizer — encode, decode (also as the scheduler's
// TextDecoder), chat templates and EOS ids — so engine and scheduler code never depend on the
// tokenizer's concrete class.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/model/model_loader.hpp"
#include "core/sched/text_decoder.hpp"
#include "sgl/request.hpp"
#include "sgl/tokenizer.hpp"

namespace sgl {

class EngineText : public TextDecoder {
 public:
  virtual std::vector<int32_t> encode(const std::string& text, bool add_special, bool parse_special) const = 0;
  virtual std::string apply_chat_template(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const = 0;
  virtual std::vector<int32_t> eos_ids() const = 0;
  virtual const Tokenizer* tokenizer() const = 0;
};

// The model's tokenizer (or the one at tokenizer_path); null when this build has no tokenizer
// for it. Throws sgl::Error when a tokenizer exists but is malformed.
std::shared_ptr<EngineText> make_engine_text(const LoadedModel& model, const std::string& tokenizer_path);

}  // namespace sgl
