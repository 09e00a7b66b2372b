#include "request_text.hpp"

namespace sgl::router {

using json = nlohmann::json;

namespace {

// Strings as they are, token ids as "1,2,3,", arrays of either concatenated.
void append(std::string& out, const json& v) {
  if (v.is_string()) out += v.get_ref<const std::string&>();
  else if (v.is_number_integer()) out += std::to_string(v.get<int64_t>()) + ",";
  else if (v.is_array())
    for (const auto& e : v) append(out, e);
}

}  // namespace

std::string request_text(const json& body, TextSource source) {
  std::string out;
  if (!body.is_object()) return out;
  switch (source) {
    case TextSource::kGenerate:
      if (body.contains("text")) append(out, body["text"]);
      else if (body.contains("input_ids")) append(out, body["input_ids"]);
      break;
    case TextSource::kCompletions:
      if (body.contains("prompt")) append(out, body["prompt"]);
      break;
    case TextSource::kChat:
      if (body.contains("messages") && body["messages"].is_array())
        for (const auto& m : body["messages"]) {
          if (!m.is_object()) continue;
          if (m.contains("role") && m["role"].is_string()) out += m["role"].get<std::string>() + ": ";
          if (!m.contains("content")) continue;
          const json& c = m["content"];
          if (c.is_string()) out += c.get<std::string>();
          else if (c.is_array())  // content parts: the text ones
            for (const auto& part : c)
              if (part.is_object() && part.contains("text") && part["text"].is_string()) out += part["text"].get<std::string>();
          out += "\n";
        }
      break;
  }
  return out;
}

}  // namespace sgl::router
