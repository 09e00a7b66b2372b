// ToolCallParser (--tool-call-parser): finds the tool calls a model writes in its own format and
// turns them into OpenAI tool_calls; the text around them stays content.
//   qwen25:     <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call> (repeated)
//   llama3:     <|python_tag|>{"name": ..., "parameters": {...}} or an answer that opens with
//               such a JSON object; several calls separated by ';'
//   mistral:    [TOOL_CALLS] [{"name": ..., "arguments": {...}}, ...]
//   deepseekv3: <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\n{...}\n```
//               <｜tool▁call▁end｜>...<｜tool▁calls▁end｜>
// Incremental: text is fed in arbitrary chunks; anything that may still become a marker or an
// unfinished call is held back, so the content and the calls never depend on the chunking. A call
// is reported once its JSON is complete (name and arguments together); text in a call region that
// does not parse is given back as content.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sgl::server {

struct ParsedToolCall {
  int index = 0;          // 0, 1, ... in order of appearance
  std::string name;
  std::string arguments;  // compact JSON text of the arguments object
};

class ToolCallParser {
 public:
  struct Delta {
    std::string content;
    std::vector<ParsedToolCall> calls;
  };

  virtual ~ToolCallParser() = default;
  // "qwen25", "llama3", "mistral", "deepseekv3"; throws sgl::Error(kInvalidArgument) otherwise.
  static std::unique_ptr<ToolCallParser> create(const std::string& name);
  static const std::vector<std::string>& names();

  Delta feed(std::string_view text);
  Delta finish();

 protected:
  // Consumes what it can decide from buf_[pos_...], appending to `out`; `final` = no more text.
  virtual void step(Delta& out, bool final) = 0;
  // Adds a call from a parsed JSON object text {name, arguments|parameters}; false if it is not one.
  bool add_call(Delta& out, std::string_view object_text);

  std::string buf_;
  size_t pos_ = 0;
  int next_index_ = 0;
};

// Length of a complete JSON value starting at s[0] ('{' or '['), counting brackets outside
// strings; 0 while it is incomplete.
size_t json_extent(std::string_view s);

}  // namespace sgl::server
