// ChatOutput: one chat sample's text turned into OpenAI's assistant message — reasoning_content
// (--reasoning-parser), tool_calls (--tool-call-parser, or the JSON a forced tool_choice
// produced) and content — either whole (message()) or as the deltas of a stream (feed/finish),
// which OpenAI clients reassemble: role first, then content / reasoning_content fragments, and
// for each tool call one delta with index, id, type and name, then its argument text in
// fragments as the model writes it.
#pragma once

#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reasoning_parser.hpp"
#include "request_parser.hpp"
#include "tool_call_parser.hpp"

namespace sgl::server {

class ChatOutput {
 public:
  // `reasoning_parser` / `tool_call_parser`: the server's flags ("" = off).
  ChatOutput(const std::string& reasoning_parser, const std::string& tool_call_parser, const ParsedRequest& pr);

  // Streaming: the delta objects for this piece of text, in order (may be none).
  std::vector<nlohmann::json> feed(const std::string& text);
  std::vector<nlohmann::json> finish();
  // Non-streamed: the whole message for the sample's final text (call on a fresh object).
  nlohmann::json message(const std::string& text);
  // True once a tool call was produced (finish_reason "tool_calls").
  bool called_tools() const { return calls_ > 0; }

 private:
  void take(const std::string& reasoning, const std::string& content, std::vector<nlohmann::json>& out);
  void take(const std::string& reasoning, const ToolCallParser::Delta& d, std::vector<nlohmann::json>& out);
  void add_pieces(const std::vector<ToolCallPiece>& pieces, std::vector<nlohmann::json>& out);

  std::optional<ReasoningParser> reasoning_;
  std::unique_ptr<ToolCallParser> tools_;
  bool stream_reasoning_ = true;
  std::string held_reasoning_;  // stream_reasoning false: sent whole
  bool forced_ = false;  // tool_choice required / named: the output is the calls' JSON
  int calls_ = 0;
  std::mt19937_64 rng_;
};

// The JSON schema that forces a tool_choice of "required" (an array of {name, parameters}
// objects, one of the tools each) or a named function (its parameters); "" for auto / none.
std::string forced_tool_schema(const ParsedRequest& pr);

}  // namespace sgl::server
