// One request against a backend, timed the way SGLang's bench_serving times it: TTFT is the first
// chunk that carries output, ITL the gaps between later chunks, and a chunk holding n tokens (the
// native /generate backend reports cumulative completion_tokens) counts as n equal gaps.
#include <chrono>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "bench_serving.hpp"
#include "core/support/check.hpp"

namespace sgl::bench {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Url {
  std::string origin;  // scheme://host:port
  std::string prefix;  // path before the route, no trailing slash
};

Url split_url(const std::string& base) {
  auto scheme = base.find("://");
  size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  auto slash = base.find('/', start);
  Url u{base.substr(0, slash), slash == std::string::npos ? "" : base.substr(slash)};
  while (!u.prefix.empty() && u.prefix.back() == '/') u.prefix.pop_back();
  return u;
}

std::string route(const Args& a) {
  if (a.backend == "sglang") return "/generate";
  if (a.backend == "openai-chat") return "/v1/chat/completions";
  return "/v1/completions";  // sglang-oai, vllm, openai, lmdeploy-style completions
}

json request_body(const Args& a, const Prompt& p) {
  bool stream = !a.disable_stream;
  if (a.backend == "sglang") {
    json sp = {{"temperature", 0.0}, {"max_new_tokens", p.output_len}, {"ignore_eos", !a.disable_ignore_eos}};
    json b = {{"sampling_params", sp}, {"stream", stream}};
    if (!p.ids.empty()) b["input_ids"] = p.ids;
    else b["text"] = p.text;
    return b;
  }
  json b = {{"model", a.model}, {"temperature", 0.0}, {"max_tokens", p.output_len}, {"stream", stream},
            {"ignore_eos", !a.disable_ignore_eos}};
  if (stream) b["stream_options"] = {{"include_usage", true}};
  if (a.backend == "openai-chat") b["messages"] = json::array({{{"role", "user"}, {"content", p.text}}});
  else b["prompt"] = p.text;
  return b;
}

// The text of one event (or a whole non-streamed body); usage counts when the server sends them.
struct Piece {
  std::string text;
  int completion_tokens = -1;  // cumulative, -1 when not reported
  int prompt_tokens = -1;
  int cached_tokens = -1;
};

Piece parse_piece(const Args& a, const json& j) {
  Piece pc;
  if (a.backend == "sglang") {
    if (auto t = j.find("text"); t != j.end() && t->is_string()) pc.text = *t;
    if (auto m = j.find("meta_info"); m != j.end() && m->is_object()) {
      pc.completion_tokens = m->value("completion_tokens", -1);
      pc.prompt_tokens = m->value("prompt_tokens", -1);
      pc.cached_tokens = m->value("cached_tokens", -1);
    }
    return pc;
  }
  if (auto c = j.find("choices"); c != j.end() && c->is_array() && !c->empty() && (*c)[0].is_object()) {
    const json& ch = (*c)[0];
    if (auto t = ch.find("text"); t != ch.end() && t->is_string()) pc.text = *t;
    for (const char* k : {"delta", "message"})
      if (auto d = ch.find(k); d != ch.end() && d->is_object())
        if (auto t = d->find("content"); t != d->end() && t->is_string()) pc.text = *t;
  }
  if (auto u = j.find("usage"); u != j.end() && u->is_object()) {
    pc.completion_tokens = u->value("completion_tokens", -1);
    pc.prompt_tokens = u->value("prompt_tokens", -1);
    if (auto d = u->find("prompt_tokens_details"); d != u->end() && d->is_object())
      pc.cached_tokens = d->value("cached_tokens", -1);
  }
  return pc;
}

}  // namespace

std::string base_url_of(const Args& a) {
  if (!a.base_url.empty()) return a.base_url;
  return "http://" + a.host + ":" + std::to_string(a.port > 0 ? a.port : 30000);
}

Outcome send_request(const Args& a, const Prompt& p) {
  Outcome out;
  out.prompt_len = p.input_len;
  Url url = split_url(base_url_of(a));
  httplib::Client cli(url.origin);
  cli.set_connection_timeout(10, 0);
  cli.set_read_timeout(static_cast<time_t>(a.timeout_s), 0);
  cli.set_write_timeout(30, 0);
  std::string body = request_body(a, p).dump(-1, ' ', false, json::error_handler_t::replace);

  const auto t0 = Clock::now();
  const auto deadline = t0 + std::chrono::duration<double>(a.timeout_s);
  auto since = [&](Clock::time_point t) { return std::chrono::duration<double>(t - t0).count(); };
  int status = 0;
  std::string raw;  // unparsed bytes (SSE events are split on blank lines)
  std::string cumulative;  // sglang's /generate text is cumulative; OpenAI's is per chunk
  int tokens_seen = 0, chunks = 0, server_prompt = -1, server_completion = -1;
  bool first = true, timed_out = false;
  Clock::time_point last = t0;

  auto on_piece = [&](const Piece& pc, Clock::time_point now) {
    if (pc.prompt_tokens >= 0) server_prompt = pc.prompt_tokens;
    if (pc.cached_tokens >= 0) out.cached_tokens = pc.cached_tokens;
    int new_tokens;
    if (a.backend == "sglang") {
      if (pc.text.size() > cumulative.size()) out.generated_text += pc.text.substr(cumulative.size());
      cumulative = pc.text;
      new_tokens = pc.completion_tokens >= 0 ? pc.completion_tokens - tokens_seen : (pc.text.empty() ? 0 : 1);
    } else {
      out.generated_text += pc.text;
      new_tokens = pc.text.empty() ? 0 : 1;  // a usage-only chunk carries no token
    }
    if (pc.completion_tokens >= 0) server_completion = pc.completion_tokens;
    if (new_tokens <= 0) return;
    tokens_seen += new_tokens;
    ++chunks;
    if (first) {
      out.ttft = since(now);
      first = false;
    } else {
      double gap = std::chrono::duration<double>(now - last).count() / new_tokens;
      for (int i = 0; i < new_tokens; ++i) out.itl.push_back(gap);
    }
    last = now;
  };

  httplib::Request req;
  req.method = "POST";
  req.path = url.prefix + route(a);
  req.body = body;
  req.set_header("Content-Type", "application/json");
  if (const char* key = std::getenv("OPENAI_API_KEY"); key && *key) req.set_header("Authorization", std::string("Bearer ") + key);
  req.response_handler = [&](const httplib::Response& r) {
    status = r.status;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    auto now = Clock::now();
    if (now > deadline) {
      timed_out = true;
      return false;
    }
    raw.append(data, n);
    if (a.disable_stream || status != 200) return true;
    for (size_t pos; (pos = raw.find("\n\n")) != std::string::npos;) {
      std::string ev = raw.substr(0, pos);
      raw.erase(0, pos + 2);
      for (size_t s = 0; s < ev.size();) {
        size_t e = ev.find('\n', s);
        std::string line = ev.substr(s, e == std::string::npos ? std::string::npos : e - s);
        s = e == std::string::npos ? ev.size() : e + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.rfind("data:", 0) != 0) continue;
        std::string payload = line.substr(line.size() > 5 && line[5] == ' ' ? 6 : 5);
        if (payload == "[DONE]") continue;
        json j = json::parse(payload, nullptr, false);
        if (j.is_discarded() || !j.is_object()) continue;
        if (j.contains("error")) {
          out.error = "stream error: " + payload.substr(0, 300);
          return false;
        }
        on_piece(parse_piece(a, j), now);
      }
    }
    return true;
  };

  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  bool ok = cli.send(req, res, err);
  const auto t_end = Clock::now();
  out.latency = since(t_end);
  if (timed_out) {
    out.error = "timed out after " + std::to_string(a.timeout_s) + " s";
    return out;
  }
  if (!out.error.empty()) return out;
  if (!ok) {
    out.error = "HTTP error: " + httplib::to_string(err);
    if (err == httplib::Error::Read) out.error += " (connection closed, or no data within --request-timeout)";
    return out;
  }
  if (status != 200) {
    out.error = "HTTP " + std::to_string(status) + ": " + raw.substr(0, 300);
    return out;
  }
  if (a.disable_stream) {
    json j = json::parse(raw, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      out.error = "response is not a JSON object: " + raw.substr(0, 200);
      return out;
    }
    on_piece(parse_piece(a, j), t_end);
    out.ttft = out.latency;  // as SGLang: without streaming the first token arrives with the last
    out.itl.clear();
  }
  if (server_prompt > 0) out.prompt_len = server_prompt;
  out.output_len = server_completion >= 0 ? server_completion : tokens_seen;
  if (out.output_len <= 0 && chunks == 0) {
    out.error = "no output tokens in the response";
    return out;
  }
  out.success = true;
  return out;
}

}  // namespace sgl::bench
