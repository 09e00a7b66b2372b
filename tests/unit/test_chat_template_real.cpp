// Real-world chat templates, written out here from the structure of the templates those models
// ship (Llama-3 / 3.2 instruct, Qwen2.5 instruct, Mistral instruct v0.1, DeepSeek-R1), rendered
// against prompts derived by hand from each template's logic.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/tokenizer/chat_template.hpp"
#include "sgl/error.hpp"

using nlohmann::json;
using nlohmann::ordered_json;
using sgl::ChatTemplate;

namespace {

json conversation() {
  return json::array({{{"role", "system"}, {"content", "You are helpful."}},
                      {{"role", "user"}, {"content", "Hello"}},
                      {{"role", "assistant"}, {"content", "Hi there!"}},
                      {{"role", "user"}, {"content", "How are you?"}}});
}

constexpr const char* kLlama3Instruct =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
    "message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 "
    "%}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

// The head of the Llama-3.2 instruct template: date via strftime_now, system message extraction.
constexpr const char* kLlama32Head = R"TPL({{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- if strftime_now is defined %}
        {%- set date_string = strftime_now("%d %b %Y") %}
    {%- else %}
        {%- set date_string = "26 Jul 2024" %}
    {%- endif %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}

{#- This block extracts the system message, so we can slot it into the right place. #}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}

{#- System message #}
{{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
{%- if tools is not none %}
    {{- "Environment: ipython\n" }}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\n" }}
{{- "Today Date: " + date_string + "\n\n" }}
{{- system_message }}
{{- "<|eot_id|>" }}

{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}
)TPL";

constexpr const char* kQwen25 = R"TPL({%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
    {%- else %}
        {{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
)TPL";

constexpr const char* kMistralV01 =
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ "
    "raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if "
    "message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == "
    "'assistant' %}{{ message['content'] + eos_token + ' ' }}{% else %}{{ raise_exception('Only user and assistant "
    "roles are supported!') }}{% endif %}{% endfor %}";

// DeepSeek-R1 style: namespace flags, system prompts gathered first, reasoning stripped from past
// assistant turns with split('</think>'), tool calls and outputs framed by special markers.
constexpr const char* kDeepseekR1 =
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
    "{% set ns = namespace(is_first=false, is_tool=false, is_output_first=true, system_prompt='', is_first_sp=true) %}"
    "{%- for message in messages %}{%- if message['role'] == 'system' %}{%- if ns.is_first_sp %}"
    "{% set ns.system_prompt = ns.system_prompt + message['content'] %}{% set ns.is_first_sp = false %}"
    "{%- else %}{% set ns.system_prompt = ns.system_prompt + '\\n\\n' + message['content'] %}{%- endif %}{%- endif %}"
    "{%- endfor %}{{ bos_token }}{{ ns.system_prompt }}"
    "{%- for message in messages %}"
    "{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}{{'<｜User｜>' + message['content']}}{%- endif %}"
    "{%- if message['role'] == 'assistant' and 'tool_calls' in message %}{%- set ns.is_tool = false -%}"
    "{%- for tool in message['tool_calls'] %}{%- if not ns.is_first %}{%- if message['content'] is none %}"
    "{{'<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + "
    "tool['function']['name'] + '\\n' + '```json' + '\\n' + tool['function']['arguments'] + '\\n' + '```' + "
    "'<｜tool▁call▁end｜>'}}"
    "{%- else %}{{'<｜Assistant｜>' + message['content'] + '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>' + tool['type'] + "
    "'<｜tool▁sep｜>' + tool['function']['name'] + '\\n' + '```json' + '\\n' + tool['function']['arguments'] + '\\n' + "
    "'```' + '<｜tool▁call▁end｜>'}}{%- endif %}{%- set ns.is_first = true -%}"
    "{%- else %}{{'\\n' + '<｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] + '\\n' + "
    "'```json' + '\\n' + tool['function']['arguments'] + '\\n' + '```' + '<｜tool▁call▁end｜>'}}{%- endif %}"
    "{%- endfor %}{{'<｜tool▁calls▁end｜><｜end▁of▁sentence｜>'}}{%- endif %}"
    "{%- if message['role'] == 'assistant' and 'tool_calls' not in message %}{%- if ns.is_tool %}"
    "{{'<｜tool▁outputs▁end｜>' + message['content'] + '<｜end▁of▁sentence｜>'}}{%- set ns.is_tool = false -%}"
    "{%- else %}{% set content = message['content'] %}{% if '</think>' in content %}"
    "{% set content = content.split('</think>')[-1] %}{% endif %}"
    "{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}{%- endif %}{%- endif %}"
    "{%- if message['role'] == 'tool' %}{%- set ns.is_tool = true -%}{%- if ns.is_output_first %}"
    "{{'<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>' + message['content'] + '<｜tool▁output▁end｜>'}}"
    "{%- set ns.is_output_first = false %}{%- else %}{{'<｜tool▁output▁begin｜>' + message['content'] + "
    "'<｜tool▁output▁end｜>'}}{%- endif %}{%- endif %}"
    "{%- endfor -%}{% if ns.is_tool %}{{'<｜tool▁outputs▁end｜>'}}{% endif %}"
    "{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜><think>\\n'}}{% endif %}";

}  // namespace

TEST_CASE("Llama-3 instruct template") {
  json ctx = {{"messages", conversation()}, {"add_generation_prompt", true}, {"bos_token", "<|begin_of_text|>"}};
  CHECK(ChatTemplate::parse(kLlama3Instruct).render(ctx) ==
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nHi there!<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST_CASE("Llama-3.2 instruct template head (strftime_now, date_string, tools none)") {
  auto tpl = ChatTemplate::parse(kLlama32Head);
  json ctx = {{"messages", conversation()}, {"add_generation_prompt", true}, {"bos_token", "<|begin_of_text|>"},
              {"date_string", "01 Jan 2025"}};
  const std::string tail =
      "You are helpful.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
      "<|start_header_id|>assistant<|end_header_id|>\n\nHi there!<|eot_id|>"
      "<|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>"
      "<|start_header_id|>assistant<|end_header_id|>\n\n";
  CHECK(tpl.render(ctx) ==
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
        "Cutting Knowledge Date: December 2023\nToday Date: 01 Jan 2025\n\n" + tail);
  ctx.erase("date_string");
  std::string out = tpl.render(ctx);
  // "Today Date: DD Mon YYYY" from strftime_now.
  auto at = out.find("Today Date: ");
  REQUIRE(at != std::string::npos);
  std::string date = out.substr(at + 12, out.find('\n', at) - at - 12);
  CHECK(date.size() == 11);
  CHECK(date[2] == ' ');
  CHECK(date[6] == ' ');
  CHECK(out.ends_with(tail));
}

TEST_CASE("Qwen2.5 template without and with tools") {
  auto tpl = ChatTemplate::parse(kQwen25);
  json ctx = {{"messages", conversation()}, {"add_generation_prompt", true}};
  CHECK(tpl.render(ctx) ==
        "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
        "<|im_start|>assistant\nHi there!<|im_end|>\n<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n");
  // No system message: the default Qwen system prompt is inserted.
  json no_sys = {{"messages", json::array({{{"role", "user"}, {"content", "Hi"}}})}, {"add_generation_prompt", false}};
  CHECK(tpl.render(no_sys) ==
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n");

  // With tools, a tool call and a tool response; ordered_json keeps the key order for tojson.
  ordered_json tools_ctx = ordered_json::parse(R"({
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Get weather",
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
    "messages": [
      {"role": "user", "content": "Weather in Paris?"},
      {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
      {"role": "tool", "content": "22C"},
      {"role": "tool", "content": "sunny"}
    ],
    "add_generation_prompt": true})");
  CHECK(tpl.render(tools_ctx) ==
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\n\n# Tools\n\n"
        "You may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
        R"({"type": "function", "function": {"name": "get_weather", "description": "Get weather", )"
        R"("parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}})"
        "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
        "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
        "<args-json-object>}\n</tool_call><|im_end|>\n"
        "<|im_start|>user\nWeather in Paris?<|im_end|>\n"
        "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
        "</tool_call><|im_end|>\n"
        "<|im_start|>user\n<tool_response>\n22C\n</tool_response>\n<tool_response>\nsunny\n</tool_response><|im_end|>\n"
        "<|im_start|>assistant\n");
}

TEST_CASE("Mistral instruct v0.1 template and its raise_exception checks") {
  auto tpl = ChatTemplate::parse(kMistralV01);
  json msgs = conversation();
  msgs.erase(msgs.begin());  // no system role in v0.1
  json ctx = {{"messages", msgs}, {"bos_token", "<s>"}, {"eos_token", "</s>"}};
  CHECK(tpl.render(ctx) == "<s>[INST] Hello [/INST]Hi there!</s> [INST] How are you? [/INST]");

  ctx["messages"] = conversation();
  try {
    tpl.render(ctx);
    FAIL("system role must be rejected");
  } catch (const sgl::Error& e) {
    CHECK(e.code() == sgl::Status::kInvalidArgument);
    // The system message at index 0 is not a user turn, so the alternation check fires first.
    CHECK(std::string(e.what()) == "Conversation roles must alternate user/assistant/user/assistant/...");
  }
  ctx["messages"] = json::array({{{"role", "user"}, {"content", "a"}}, {{"role", "system"}, {"content", "b"}}});
  try {
    tpl.render(ctx);
    FAIL("system role must be rejected");
  } catch (const sgl::Error& e) {
    CHECK(std::string(e.what()) == "Only user and assistant roles are supported!");
  }
}

TEST_CASE("DeepSeek-R1 style template: namespace and split('</think>')") {
  auto tpl = ChatTemplate::parse(kDeepseekR1);
  json msgs = conversation();
  msgs[2]["content"] = "<think>\nreasoning\n</think>\n\nHi there!";
  json ctx = {{"messages", msgs}, {"add_generation_prompt", true}, {"bos_token", "<｜begin▁of▁sentence｜>"}};
  CHECK(tpl.render(ctx) ==
        "<｜begin▁of▁sentence｜>You are helpful.<｜User｜>Hello<｜Assistant｜>\n\nHi there!<｜end▁of▁sentence｜>"
        "<｜User｜>How are you?<｜Assistant｜><think>\n");

  // Two system prompts are joined; a tool call and its output use the tool markers.
  json tool_msgs = json::array(
      {{{"role", "system"}, {"content", "A"}},
       {{"role", "system"}, {"content", "B"}},
       {{"role", "user"}, {"content", "q"}},
       {{"role", "assistant"},
        {"content", nullptr},
        {"tool_calls", json::array({{{"type", "function"}, {"function", {{"name", "f"}, {"arguments", "{}"}}}}})}},
       {{"role", "tool"}, {"content", "out"}}});
  json ctx2 = {{"messages", tool_msgs}, {"add_generation_prompt", true}, {"bos_token", "<BOS>"}};
  CHECK(tpl.render(ctx2) ==
        "<BOS>A\n\nB<｜User｜>q<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n"
        "```json\n{}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜>"
        "<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>out<｜tool▁output▁end｜><｜tool▁outputs▁end｜>");
}
