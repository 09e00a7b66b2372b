#include "response_writer.hpp"

#include <cmath>

namespace sgl::server {

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json finish_reason_json(const Result* r) {
  if (!r) return nullptr;
  const FinishReason& f = r->finish;
  switch (f.kind) {
    case FinishKind::kLength: return {{"type", "length"}, {"length", r->completion_tokens}};
    case FinishKind::kStop: {
      json matched = nullptr;
      if (!f.matched_str.empty()) matched = f.matched_str;
      else if (f.matched_token) matched = *f.matched_token;
      return {{"type", "stop"}, {"matched", matched}};
    }
    case FinishKind::kAbort: return {{"type", "abort"}, {"message", f.message}};
    case FinishKind::kNone: break;
  }
  return nullptr;
}

json openai_finish_reason(const Result* r) {
  if (!r) return nullptr;
  switch (r->finish.kind) {
    case FinishKind::kLength: return "length";
    case FinishKind::kStop: return "stop";
    case FinishKind::kAbort: return "abort";
    case FinishKind::kNone: break;
  }
  return nullptr;
}

namespace {

json tuple(float lp, int32_t id, bool with_text, const TokenText& tt) {
  return json::array({lp, id, with_text ? json(tt(id)) : json(nullptr)});
}

std::vector<int> bytes_of(const std::string& s) {
  std::vector<int> b;
  b.reserve(s.size());
  for (unsigned char c : s) b.push_back(c);
  return b;
}

}  // namespace

json generate_json(const SampleOutput& s, const std::string& rid, const ParsedRequest& pr, const TokenText& tt) {
  const Result* r = s.result ? &*s.result : nullptr;
  json meta = {{"id", rid},
               {"finish_reason", finish_reason_json(r)},
               {"completion_tokens", r ? r->completion_tokens : static_cast<int64_t>(s.ids.size())}};
  if (r) {
    meta["prompt_tokens"] = r->prompt_tokens;
    meta["cached_tokens"] = r->cached_tokens;
    meta["e2e_latency"] = r->e2e_latency;
    meta["time_to_first_token"] = r->time_to_first_token;
  }
  if (pr.logprobs) {
    const auto& lps = r ? r->output_logprobs : s.logprobs;
    json out = json::array(), top = json::array();
    for (const auto& lp : lps) {
      out.push_back(tuple(lp.logprob, lp.token, pr.text_in_logprobs, tt));
      json t = json::array();
      for (const auto& [id, v] : lp.top) t.push_back(tuple(v, id, pr.text_in_logprobs, tt));
      top.push_back(std::move(t));
    }
    meta["output_token_logprobs"] = std::move(out);
    if (r && pr.prompts.size() > 0 && pr.prompts[0].sampling.logprob_start_len >= 0) {
      // [logprob, id, text]; the first prompt token has no logprob (null), as in SGLang.
      json in = json::array(), in_top = json::array();
      double sum = 0.0;
      int64_t counted = 0;
      for (const auto& lp : r->input_logprobs) {
        json t = tuple(lp.logprob, lp.token, pr.text_in_logprobs, tt);
        if (std::isnan(lp.logprob)) t[0] = nullptr;
        else sum += lp.logprob, ++counted;
        in.push_back(std::move(t));
        in_top.push_back(nullptr);
      }
      meta["input_token_logprobs"] = std::move(in);
      if (pr.top_logprobs > 0) meta["input_top_logprobs"] = std::move(in_top);
      meta["normalized_prompt_logprob"] = counted > 0 ? sum / static_cast<double>(counted) : 0.0;
    }
    if (pr.top_logprobs > 0) meta["output_top_logprobs"] = std::move(top);
  }
  return {{"text", r ? r->text : s.text}, {"output_ids", r ? r->output_ids : s.ids}, {"meta_info", std::move(meta)}};
}

json completion_logprobs_json(const std::vector<TokenLogprob>& lps, size_t text_offset, const TokenText& tt) {
  json tokens = json::array(), token_lps = json::array(), top = json::array(), offsets = json::array();
  for (const auto& lp : lps) {
    std::string t = tt(lp.token);
    tokens.push_back(t);
    token_lps.push_back(lp.logprob);
    json alts = json::object();
    for (const auto& [id, v] : lp.top) alts[tt(id)] = v;
    top.push_back(std::move(alts));
    offsets.push_back(text_offset);
    text_offset += t.size();
  }
  return {{"tokens", tokens}, {"token_logprobs", token_lps}, {"top_logprobs", top}, {"text_offset", offsets}};
}

json chat_logprobs_json(const std::vector<TokenLogprob>& lps, const TokenText& tt) {
  json content = json::array();
  for (const auto& lp : lps) {
    std::string t = tt(lp.token);
    json alts = json::array();
    for (const auto& [id, v] : lp.top) {
      std::string at = tt(id);
      alts.push_back({{"token", at}, {"logprob", v}, {"bytes", bytes_of(at)}});
    }
    content.push_back({{"token", t}, {"logprob", lp.logprob}, {"bytes", bytes_of(t)}, {"top_logprobs", alts}});
  }
  return {{"content", content}};
}

json usage_json(int64_t prompt_tokens, int64_t completion_tokens, int64_t cached_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", cached_tokens}}}};
}

namespace {

json usage_of(const ParsedRequest& pr, const std::vector<SampleOutput>& samples) {
  int64_t p = 0, c = 0, cached = 0;
  for (size_t i = 0; i < samples.size(); ++i) {
    if (!samples[i].result) continue;
    const Result& r = *samples[i].result;
    if (i % static_cast<size_t>(pr.n) == 0) {
      p += r.prompt_tokens;
      cached += r.cached_tokens;
    }
    c += r.completion_tokens;
  }
  return usage_json(p, c, cached);
}

}  // namespace

json completion_response(const ResponseContext& ctx, const ParsedRequest& pr, const std::vector<SampleOutput>& samples,
                         const std::vector<std::string>& echo_prefix) {
  json choices = json::array();
  for (size_t i = 0; i < samples.size(); ++i) {
    const Result& r = *samples[i].result;
    std::string prefix = pr.echo ? echo_prefix.at(i / static_cast<size_t>(pr.n)) : std::string();
    json lp = pr.logprobs ? completion_logprobs_json(r.output_logprobs, prefix.size(), ctx.token_text) : json(nullptr);
    choices.push_back({{"index", i}, {"text", prefix + r.text}, {"logprobs", lp}, {"finish_reason", openai_finish_reason(&r)}});
  }
  return {{"id", ctx.id}, {"object", "text_completion"}, {"created", ctx.created}, {"model", ctx.model},
          {"choices", choices}, {"usage", usage_of(pr, samples)}};
}

json chat_finish_reason(const Result* r, bool called_tools) {
  if (r && called_tools && r->finish.kind == FinishKind::kStop) return "tool_calls";
  return openai_finish_reason(r);
}

json chat_response(const ResponseContext& ctx, const ParsedRequest& pr, const std::vector<SampleOutput>& samples,
                   const std::vector<json>& messages, const std::vector<bool>& tool_calls) {
  json choices = json::array();
  for (size_t i = 0; i < samples.size(); ++i) {
    const Result& r = *samples[i].result;
    json lp = pr.logprobs ? chat_logprobs_json(r.output_logprobs, ctx.token_text) : json(nullptr);
    choices.push_back({{"index", i},
                       {"message", messages.at(i)},
                       {"logprobs", lp},
                       {"finish_reason", chat_finish_reason(&r, tool_calls.at(i))}});
  }
  return {{"id", ctx.id}, {"object", "chat.completion"}, {"created", ctx.created}, {"model", ctx.model},
          {"choices", choices}, {"usage", usage_of(pr, samples)}};
}

json completion_chunk(const ResponseContext& ctx, int index, const std::string& delta_text,
                      const std::vector<TokenLogprob>* delta_lps, size_t text_offset, const Result* finished) {
  json lp = delta_lps ? completion_logprobs_json(*delta_lps, text_offset, ctx.token_text) : json(nullptr);
  json choice = {{"index", index}, {"text", delta_text}, {"logprobs", lp}, {"finish_reason", openai_finish_reason(finished)}};
  return {{"id", ctx.id}, {"object", "text_completion"}, {"created", ctx.created}, {"model", ctx.model},
          {"choices", json::array({choice})}};
}

json chat_chunk(const ResponseContext& ctx, int index, bool with_role, const std::string& delta_text,
                const std::vector<TokenLogprob>* delta_lps, const Result* finished) {
  json delta = json::object();
  if (with_role) delta["role"] = "assistant";
  if (!delta_text.empty() || with_role) delta["content"] = delta_text;
  json lp = delta_lps ? chat_logprobs_json(*delta_lps, ctx.token_text) : json(nullptr);
  json choice = {{"index", index}, {"delta", delta}, {"logprobs", lp}, {"finish_reason", openai_finish_reason(finished)}};
  return {{"id", ctx.id}, {"object", "chat.completion.chunk"}, {"created", ctx.created}, {"model", ctx.model},
          {"choices", json::array({choice})}};
}

json chat_delta_chunk(const ResponseContext& ctx, int index, const json& delta, const std::vector<TokenLogprob>* delta_lps,
                      const json& finish_reason) {
  json lp = delta_lps ? chat_logprobs_json(*delta_lps, ctx.token_text) : json(nullptr);
  json choice = {{"index", index}, {"delta", delta}, {"logprobs", lp}, {"finish_reason", finish_reason}};
  return {{"id", ctx.id}, {"object", "chat.completion.chunk"}, {"created", ctx.created}, {"model", ctx.model},
          {"choices", json::array({choice})}};
}

json usage_chunk(const ResponseContext& ctx, const ParsedRequest& pr, const json& usage) {
  return {{"id", ctx.id},
          {"object", pr.api == Api::kChat ? "chat.completion.chunk" : "text_completion"},
          {"created", ctx.created},
          {"model", ctx.model},
          {"choices", json::array()},
          {"usage", usage}};
}

}  // namespace sgl::server
