// The text a routing policy sees for a request: the prompt of /generate and /v1/completions, the
// messages of /v1/chat/completions in order. Token-id prompts become their decimal ids, which
// still share prefixes exactly when the ids do.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace sgl::router {

enum class TextSource { kGenerate, kCompletions, kChat };

std::string request_text(const nlohmann::json& body, TextSource source);

}  // namespace sgl::router
