// ReasoningParser (--reasoning-parser): splits model output into the reasoning between <think> and
// </think> (message.reasoning_content / delta.reasoning_content) and the answer after it. Text
// arrives in arbitrary chunks; a tag split across chunks is held back until it is decided, so the
// concatenated deltas never depend on how the text was chunked.
//   deepseek-r1: the output starts inside the reasoning (R1's template opens <think> itself, so
//                the model often omits it); a leading <think> is dropped when present.
//   qwen3:       reasoning only when the output opens with <think>; otherwise all is content.
// Reasoning is trimmed of surrounding whitespace and the answer of leading whitespace, as SGLang
// does; output that never closes </think> is all reasoning for deepseek-r1.
#pragma once

#include <string>
#include <string_view>

namespace sgl::server {

class ReasoningParser {
 public:
  struct Delta {
    std::string reasoning;
    std::string content;
  };

  // `kind`: "deepseek-r1" or "qwen3". Throws sgl::Error(kInvalidArgument) for other names.
  explicit ReasoningParser(const std::string& kind);

  Delta feed(std::string_view text);
  // The text still held back (a partial tag at the very end is plain text after all).
  Delta finish();

 private:
  enum class State { kStart, kReasoning, kContent };
  void step(Delta& out, bool final);
  void emit_reasoning(Delta& out, std::string_view piece, bool closing);

  bool force_reasoning_;
  State state_ = State::kStart;
  std::string pending_;           // received, not yet decided
  std::string held_ws_;           // reasoning whitespace that may turn out to be trailing
  bool reasoning_lead_ = true;    // still dropping the reasoning's leading whitespace
  bool content_lead_ = false;     // dropping the answer's leading whitespace (after </think>)
};

}  // namespace sgl::server
