// The scheduler's output side: appending a sampled token, stop conditions (max tokens, EOS and
// stop ids, grammar end, stop strings spanning token boundaries), incremental detokenization
// that never splits a UTF-8 character or leaks a half-matched stop string, and final results.
#include <algorithm>

#include "core/sched/scheduler.hpp"
#include "core/support/check.hpp"

namespace sgl {

void Scheduler::process_token(SchedRequest& r, int32_t token, float logprob,
                              std::vector<std::pair<int32_t, float>> top) {
  if (!append_token(r, token, logprob, std::move(top), false)) return;
  if (opts_.jump_forward && r.mask) {
    // Forced tokens have probability 1 under the constraint: logprob 0, no alternatives.
    for (int32_t t : r.mask->jump_forward(token, r.max_new - r.n_output())) {
      ++r.forced_tokens;
      if (!append_token(r, t, 0.0f, {}, true)) return;
    }
  }
  emit(r, false);
}

bool Scheduler::append_token(SchedRequest& r, int32_t token, float logprob,
                             std::vector<std::pair<int32_t, float>> top, bool forced) {
  // The grammar first: a token it rejects throws (the request ends with that error) before it
  // becomes part of the output. jump_forward() accepted forced tokens already.
  if (r.mask && !forced) r.mask->accept(token);
  r.tokens.push_back(token);
  r.sampler->accept(token);
  if (!r.has_first_token) {
    r.has_first_token = true;
    r.first_token = SteadyClock::now();
  }
  if (r.params.return_logprob) r.logprobs.push_back(TokenLogprob{token, logprob, std::move(top)});

  // SGLang's order: length, then a stop token, then stop strings.
  FinishReason why;
  const auto& stop_ids = r.params.stop_token_ids;
  if (r.n_output() >= r.max_new) {
    why.kind = FinishKind::kLength;
  } else if ((!r.params.ignore_eos && std::find(opts_.eos_ids.begin(), opts_.eos_ids.end(), token) != opts_.eos_ids.end()) ||
             std::find(stop_ids.begin(), stop_ids.end(), token) != stop_ids.end()) {
    why.kind = FinishKind::kStop;
    why.matched_token = token;
  } else if (r.mask && r.mask->terminated()) {
    why.kind = FinishKind::kStop;
  }
  update_text(r);
  if (why.kind == FinishKind::kNone && !r.params.stop.empty()) {
    size_t longest = 0;
    for (const auto& s : r.params.stop) longest = std::max(longest, s.size());
    // Only text that could contain a match not seen before: it must end in the new bytes.
    size_t from = r.stop_searched >= longest ? r.stop_searched - longest + 1 : 0;
    size_t best = std::string::npos;
    const std::string* matched = nullptr;
    for (const auto& s : r.params.stop) {
      size_t pos = r.text.find(s, from);
      if (pos != std::string::npos && pos < best) best = pos, matched = &s;
    }
    r.stop_searched = r.text.size();
    if (matched) {
      why.kind = FinishKind::kStop;
      why.matched_str = *matched;
      r.text.resize(r.params.no_stop_trim ? best + matched->size() : best);
    }
  }
  if (why.kind == FinishKind::kNone) return true;
  finish(r, std::move(why));
  return false;
}

void Scheduler::update_text(SchedRequest& r) {
  if (!decoder_) return;
  std::span<const int32_t> out(r.tokens.data() + r.prompt_len, static_cast<size_t>(r.n_output()));
  r.text = decoder_->decode(out, r.params.skip_special_tokens, r.params.spaces_between_special_tokens);
}

void Scheduler::finish(SchedRequest& r, FinishReason why) {
  if (r.finish.kind != FinishKind::kNone) return;
  r.finish = std::move(why);
  release_kv(r);
  if (&r == chunked_) chunked_ = nullptr;
  if (r.index == 0 && r.group) r.group->leader_prefilled = true;  // never leave siblings waiting
  ++finished_requests_;
  emit(r, true);
}

void Scheduler::emit(SchedRequest& r, bool final) {
  StreamChunk c;
  c.index = r.index;
  const size_t n_out = static_cast<size_t>(r.n_output());
  if (r.tokens_sent < n_out) {
    c.token_ids.assign(r.tokens.begin() + r.prompt_len + static_cast<int64_t>(r.tokens_sent), r.tokens.end());
    if (r.params.return_logprob && r.logprobs.size() == n_out)
      c.logprobs.assign(r.logprobs.begin() + static_cast<int64_t>(r.tokens_sent), r.logprobs.end());
    r.tokens_sent = n_out;
  }
  size_t end = r.text.size();
  if (!final) {
    // Hold back an incomplete UTF-8 sequence (decoded as U+FFFD) and anything that might still
    // turn out to start a stop string.
    static const std::string kReplacement = "\xEF\xBF\xBD";
    while (end >= 3 && r.text.compare(end - 3, 3, kReplacement) == 0) end -= 3;
    size_t longest = 0;
    for (const auto& s : r.params.stop) longest = std::max(longest, s.size());
    if (longest > 1) end = std::min(end, r.text.size() >= longest - 1 ? r.text.size() - (longest - 1) : size_t{0});
    while (end > 0 && end < r.text.size() && (static_cast<unsigned char>(r.text[end]) & 0xC0) == 0x80) --end;
  }
  if (end > r.text_sent) {
    c.text = r.text.substr(r.text_sent, end - r.text_sent);
    r.text_sent = end;
  }
  if (final) {
    c.finished = true;
    Result res;
    res.rid = r.channel->rid;
    res.index = r.index;
    res.text = r.text;
    res.output_ids.assign(r.tokens.begin() + r.prompt_len, r.tokens.end());
    res.finish = r.finish;
    res.prompt_tokens = r.prompt_len;
    res.completion_tokens = r.n_output();
    res.forced_tokens = r.forced_tokens;
    res.cached_tokens = r.cached_prompt_tokens;
    auto now = SteadyClock::now();
    res.time_to_first_token = r.has_first_token ? std::chrono::duration<double>(r.first_token - r.submitted).count() : 0.0;
    res.e2e_latency = std::chrono::duration<double>(now - r.submitted).count();
    res.output_logprobs = r.logprobs;
    res.input_logprobs = r.input_logprobs;
    c.result = std::move(res);
  } else if (c.token_ids.empty() && c.text.empty()) {
    return;
  }
  r.channel->push(std::move(c));
}

void Scheduler::remove_finished() {
  auto done = [](const std::unique_ptr<SchedRequest>& r) { return r->finish.kind != FinishKind::kNone; };
  running_.erase(std::remove_if(running_.begin(), running_.end(), done), running_.end());
  waiting_.erase(std::remove_if(waiting_.begin(), waiting_.end(), done), waiting_.end());
}

}  // namespace sgl
