#include "reasoning_parser.hpp"

#include "core/support/check.hpp"

namespace sgl::server {
namespace {

constexpr std::string_view kOpen = "<think>";
constexpr std::string_view kClose = "</think>";

bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

// Length of the longest suffix of `s` that is a proper prefix of `tag` (what may still become it).
size_t partial_tag_suffix(std::string_view s, std::string_view tag) {
  for (size_t n = std::min(s.size(), tag.size() - 1); n > 0; --n)
    if (s.substr(s.size() - n) == tag.substr(0, n)) return n;
  return 0;
}

}  // namespace

ReasoningParser::ReasoningParser(const std::string& kind) {
  if (kind == "deepseek-r1") force_reasoning_ = true;
  else if (kind == "qwen3") force_reasoning_ = false;
  else SGL_THROW(Status::kInvalidArgument, "unknown reasoning parser '{}' (deepseek-r1, qwen3)", kind);
}

void ReasoningParser::emit_reasoning(Delta& out, std::string_view piece, bool closing) {
  if (reasoning_lead_) {
    size_t i = 0;
    while (i < piece.size() && is_ws(piece[i])) ++i;
    piece.remove_prefix(i);
    if (piece.empty()) return;
    reasoning_lead_ = false;
  }
  std::string s = held_ws_ + std::string(piece);
  size_t end = s.size();
  while (end > 0 && is_ws(s[end - 1])) --end;
  out.reasoning += s.substr(0, end);
  held_ws_ = closing ? std::string() : s.substr(end);
}

void ReasoningParser::step(Delta& out, bool final) {
  for (;;) {
    if (state_ == State::kStart) {
      size_t w = 0;
      while (w < pending_.size() && is_ws(pending_[w])) ++w;
      std::string_view rest = std::string_view(pending_).substr(w);
      if (!final && rest.size() < kOpen.size() && kOpen.substr(0, rest.size()) == rest) return;  // undecided
      if (rest.substr(0, kOpen.size()) == kOpen) {
        pending_.erase(0, w + kOpen.size());
        state_ = State::kReasoning;
      } else {
        state_ = force_reasoning_ ? State::kReasoning : State::kContent;
      }
      continue;
    }
    if (state_ == State::kReasoning) {
      size_t p = pending_.find(kClose);
      if (p != std::string::npos) {
        emit_reasoning(out, std::string_view(pending_).substr(0, p), /*closing=*/true);
        pending_.erase(0, p + kClose.size());
        state_ = State::kContent;
        content_lead_ = true;
        continue;
      }
      size_t keep = final ? 0 : partial_tag_suffix(pending_, kClose);
      emit_reasoning(out, std::string_view(pending_).substr(0, pending_.size() - keep), final);
      pending_.erase(0, pending_.size() - keep);
      return;
    }
    // kContent
    if (content_lead_) {
      size_t i = 0;
      while (i < pending_.size() && is_ws(pending_[i])) ++i;
      pending_.erase(0, i);
      if (!pending_.empty()) content_lead_ = false;
    }
    out.content += pending_;
    pending_.clear();
    return;
  }
}

ReasoningParser::Delta ReasoningParser::feed(std::string_view text) {
  Delta out;
  pending_ += text;
  step(out, false);
  return out;
}

ReasoningParser::Delta ReasoningParser::finish() {
  Delta out;
  step(out, true);
  return out;
}

}  // namespace sgl::server
