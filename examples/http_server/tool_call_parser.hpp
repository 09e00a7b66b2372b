// ToolCallParser (--tool-call-parser): finds the tool calls a model writes in its own format and
// turns them into OpenAI tool_calls; the text around them stays content.
//   qwen25:     <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call> (repeated)
//   llama3:     <|python_tag|>{"name": ..., "parameters": {...}} or an answer that opens with
//               such a JSON object; several calls separated by ';'
//   mistral:    [TOOL_CALLS] [{"name": ..., "arguments": {...}}, ...]
//   deepseekv3: <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\n{...}\n```
//               <｜tool▁call▁end｜>...<｜tool▁calls▁end｜>
// Incremental and streamed as OpenAI streams calls: text is fed in arbitrary chunks; a call's
// first piece (index and name) goes out once its name is known and its arguments object has
// begun, then the arguments follow in fragments as the model writes them (the compact JSON text:
// the model's key order and string spelling, insignificant whitespace dropped). What decides a
// piece is the text alone, never where a chunk ended, so every chunking gives the same content,
// the same calls and, concatenated, the same arguments. Text that may still become a marker or a
// call is held back; a call region that turns out not to be a call before its first piece was
// sent is given back as content. Once a call has started it stays one: if the output ends or
// stops being valid JSON inside its arguments, the arguments are what was written up to there
// (OpenAI's clients see the same with finish_reason "length").
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sgl::server {

// One piece of a call: the first piece of each call has `name` set (its id and name are sent
// first), later pieces carry a fragment of the arguments text; pieces of one call share `index`.
struct ToolCallPiece {
  int index = 0;          // 0, 1, ... in order of appearance
  std::string name;       // the first piece of a call only
  std::string arguments;  // a fragment of the compact JSON text of the arguments object
};

class ToolCallParser {
 public:
  struct Delta {
    std::string content;
    std::vector<ToolCallPiece> calls;
  };

  ToolCallParser();
  virtual ~ToolCallParser();
  // "qwen25", "llama3", "mistral", "deepseekv3"; throws sgl::Error(kInvalidArgument) otherwise.
  static std::unique_ptr<ToolCallParser> create(const std::string& name);
  static const std::vector<std::string>& names();
  // For a forced tool_choice (the output is grammar-constrained JSON): `name` set: the output is
  // that function's arguments object; empty: an array of {"name", "parameters"} objects.
  static std::unique_ptr<ToolCallParser> create_forced(const std::string& name);

  Delta feed(std::string_view text);
  Delta finish();

 protected:
  enum class CallStatus { kMore, kDone, kNotACall };

  // Consumes what it can decide from buf_[pos_...], appending to `out`; `final` = no more text.
  virtual void step(Delta& out, bool final) = 0;
  // Starts a call object at buf_[pos_] (a '{'). With `known_name` the object is the arguments of
  // a call to that function (deepseekv3, a named tool_choice); otherwise it is {"name": ...,
  // "arguments"|"parameters": {...}}.
  void begin_call(std::string known_name = {});
  // Reads buf_[pos_...] into the current call, sending its pieces; the raw text read is appended
  // to held_. kDone: the call ended (pos_ just after it); kNotACall: it is not one and nothing
  // was sent (give held_ back as content).
  CallStatus read_call(Delta& out, bool final);
  // held_ given back as content.
  void give_back(Delta& out);

  std::string buf_;
  size_t pos_ = 0;
  std::string held_;  // raw text of the current call region, given back if it is not a call
  int next_index_ = 0;

 private:
  struct Call;
  bool try_start(Delta& out);
  void send_arguments(Delta& out);
  std::unique_ptr<Call> call_;
};

}  // namespace sgl::server
