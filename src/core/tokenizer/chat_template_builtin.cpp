// Built-in chat templates, used when a model ships none. Each follows the prompt format its model
// family documents (and the template its reference checkpoint ships), rewritten here so that a
// missing bos_token/eos_token prints nothing instead of failing.
#include <array>
#include <utility>

#include "core/tokenizer/chat_template.hpp"

namespace sgl {
namespace {

// Llama-2-chat: system prompt folded into the first user turn inside <<SYS>>; every user turn is
// "<s>[INST] ... [/INST]", every assistant turn " ... </s>"; roles must alternate.
constexpr const char* kLlama2 = R"TPL({%- if messages[0]['role'] == 'system' %}
{%- set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}
{%- else %}
{%- set loop_messages = messages %}{% set system_message = false %}
{%- endif %}
{%- for message in loop_messages %}
{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
{{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}
{%- endif %}
{%- if loop.index0 == 0 and system_message != false %}
{%- set content = '<<SYS>>\n' + system_message + '\n<</SYS>>\n\n' + message['content'] %}
{%- else %}
{%- set content = message['content'] %}
{%- endif %}
{%- if message['role'] == 'user' %}
{{- bos_token }}{{ '[INST] ' + content.strip() + ' [/INST]' }}
{%- elif message['role'] == 'assistant' %}
{{- ' ' + content.strip() + ' ' }}{{ eos_token }}
{%- endif %}
{%- endfor %})TPL";

// Llama-3 instruct: header ids around each role, content trimmed, <|eot_id|> after each turn.
constexpr const char* kLlama3 = R"TPL({{- bos_token }}
{%- for message in messages %}
{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}
{%- endfor %}
{%- if add_generation_prompt %}
{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %})TPL";

// ChatML (Qwen, many fine-tunes): <|im_start|>role\ncontent<|im_end|>\n.
constexpr const char* kChatml = R"TPL({%- for message in messages %}
{{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}
{%- endfor %}
{%- if add_generation_prompt %}
{{- '<|im_start|>assistant\n' }}
{%- endif %})TPL";

// Mistral instruct (v0.3 style): the system message is prepended to the last user turn.
constexpr const char* kMistral = R"TPL({%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content'] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}
{{- bos_token }}
{%- for message in loop_messages %}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('After the optional system message, conversation roles must alternate user/assistant/user/assistant/...') }}
    {%- endif %}
    {%- if message['role'] == 'user' %}
        {%- if loop.last and system_message is defined %}
            {{- '[INST] ' + system_message + '\n\n' + message['content'] + '[/INST]' }}
        {%- else %}
            {{- '[INST] ' + message['content'] + '[/INST]' }}
        {%- endif %}
    {%- elif message['role'] == 'assistant' %}
        {{- ' ' + message['content'] }}{{ eos_token }}
    {%- else %}
        {{- raise_exception('Only user and assistant roles are supported, with the exception of an initial optional system message!') }}
    {%- endif %}
{%- endfor %})TPL";

// DeepSeek LLM chat: "User: ...\n\nAssistant: ...<eos>", system text first.
constexpr const char* kDeepseek = R"TPL({{- bos_token }}
{%- for message in messages %}
{%- if message['role'] == 'user' %}
{{- 'User: ' + message['content'] + '\n\n' }}
{%- elif message['role'] == 'assistant' %}
{{- 'Assistant: ' + message['content'] }}{{ eos_token }}
{%- elif message['role'] == 'system' %}
{{- message['content'] + '\n\n' }}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
{{- 'Assistant:' }}
{%- endif %})TPL";

// DeepSeek V3 / R1: system prompts first, then <｜User｜> / <｜Assistant｜> turns; R1 drops the
// reasoning (text up to </think>) of earlier assistant turns.
constexpr const char* kDeepseek3 = R"TPL({%- set ns = namespace(system_prompt='', is_first=true) %}
{%- for message in messages %}
    {%- if message['role'] == 'system' %}
        {%- if ns.is_first %}
            {%- set ns.system_prompt = message['content'] %}
            {%- set ns.is_first = false %}
        {%- else %}
            {%- set ns.system_prompt = ns.system_prompt + '\n\n' + message['content'] %}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{{- bos_token }}{{ ns.system_prompt }}
{%- for message in messages %}
    {%- if message['role'] == 'user' %}
        {{- '<｜User｜>' + message['content'] }}
    {%- elif message['role'] == 'assistant' %}
        {%- set content = message['content'] %}
        {%- if '</think>' in content %}
            {%- set content = content.split('</think>')[-1] %}
        {%- endif %}
        {{- '<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<｜Assistant｜>' }}
{%- endif %})TPL";

constexpr std::array<std::pair<const char*, const char*>, 7> kBuiltins = {{
    {"llama-2", kLlama2},
    {"llama-3", kLlama3},
    {"chatml", kChatml},
    {"qwen", kChatml},
    {"mistral", kMistral},
    {"deepseek", kDeepseek},
    {"deepseek3", kDeepseek3},
}};

}  // namespace

std::optional<std::string> builtin_chat_template(std::string_view name) {
  for (const auto& [n, src] : kBuiltins)
    if (name == n) return std::string(src);
  return std::nullopt;
}

std::vector<std::string> builtin_chat_template_names() {
  std::vector<std::string> names;
  for (const auto& [n, src] : kBuiltins) names.emplace_back(n);
  return names;
}

}  // namespace sgl
