// Generation calls of the C ABI: prompt and sampling conversion, blocking and streaming
// generation, and submitted requests that another thread can cancel.
#include <cmath>
#include <cstring>

#include "capi_internal.hpp"

using sgl::capi::check_struct_size;
using sgl::capi::guard;
using sgl::capi::need;

namespace {

sgl::Request to_request(const sgl_prompt* prompt, const sgl_sampling_params* sp) {
  need(prompt, "prompt");
  check_struct_size(prompt->struct_size, sizeof(sgl_prompt), "sgl_prompt");
  sgl::Request r;
  r.text = sgl::capi::input_string(prompt->text, prompt->text_len, "prompt.text");
  if (prompt->input_ids == nullptr && prompt->n_input_ids != 0) need(prompt->input_ids, "prompt.input_ids");
  if (prompt->n_input_ids) r.input_ids.assign(prompt->input_ids, prompt->input_ids + prompt->n_input_ids);
  if (prompt->messages_json != nullptr || prompt->messages_json_len != 0) {
    std::string js = sgl::capi::input_string(prompt->messages_json, prompt->messages_json_len, "prompt.messages_json");
    r.messages = sgl::capi::parse_messages_json(js);
    if (r.messages.empty()) throw sgl::Error(sgl::Status::kInvalidArgument, "prompt.messages_json is an empty array");
  }
  if (prompt->rid) r.rid = prompt->rid;

  sgl_sampling_params p = sp ? *sp : sgl_sampling_params_default();
  if (sp) check_struct_size(sp->struct_size, sizeof(sgl_sampling_params), "sgl_sampling_params");
  sgl::SamplingParams& s = r.sampling;
  s.max_new_tokens = p.max_new_tokens;
  s.min_new_tokens = p.min_new_tokens;
  s.temperature = p.temperature;
  s.top_p = p.top_p;
  s.top_k = p.top_k;
  s.min_p = p.min_p;
  s.frequency_penalty = p.frequency_penalty;
  s.presence_penalty = p.presence_penalty;
  s.repetition_penalty = p.repetition_penalty;
  s.ignore_eos = p.ignore_eos != 0;
  s.skip_special_tokens = p.skip_special_tokens != 0;
  s.spaces_between_special_tokens = p.spaces_between_special_tokens != 0;
  s.no_stop_trim = p.no_stop_trim != 0;
  if (p.has_seed) s.seed = p.seed;
  if (p.n_stop) need(p.stop, "sampling.stop");
  for (size_t i = 0; i < p.n_stop; ++i) {
    if (!p.stop[i]) throw sgl::Error(sgl::Status::kInvalidArgument, "sampling.stop[" + std::to_string(i) + "] is NULL");
    s.stop.emplace_back(p.stop[i]);
  }
  if (p.n_stop_token_ids) need(p.stop_token_ids, "sampling.stop_token_ids");
  for (size_t i = 0; i < p.n_stop_token_ids; ++i) {
    if (p.stop_token_ids[i] < 0)
      throw sgl::Error(sgl::Status::kInvalidArgument, "sampling.stop_token_ids[" + std::to_string(i) + "] is negative");
    s.stop_token_ids.push_back(p.stop_token_ids[i]);
  }
  if (p.regex) s.regex = p.regex;
  if (p.json_schema) s.json_schema = p.json_schema;
  if (p.ebnf) s.ebnf = p.ebnf;
  // NaN slips through range checks written as "x < lo"; name it here.
  for (auto [v, name] : {std::pair{p.temperature, "temperature"}, {p.top_p, "top_p"}, {p.min_p, "min_p"},
                         {p.frequency_penalty, "frequency_penalty"}, {p.presence_penalty, "presence_penalty"},
                         {p.repetition_penalty, "repetition_penalty"}})
    if (std::isnan(v)) throw sgl::Error(sgl::Status::kInvalidArgument, std::string(name) + " is NaN");
  s.validate();
  return r;
}

sgl::Engine& engine_of(sgl_engine* e) {
  need(e, "engine");
  return *e->engine;
}

sgl_result* new_result(sgl::Result r) {
  auto out = std::make_unique<sgl_result>();
  out->result = std::move(r);
  return out.release();
}

}  // namespace

extern "C" {

SGL_EXPORT sgl_prompt sgl_prompt_default(void) {
  sgl_prompt p;
  std::memset(&p, 0, sizeof p);
  p.struct_size = sizeof p;
  return p;
}

SGL_EXPORT sgl_sampling_params sgl_sampling_params_default(void) {
  sgl::SamplingParams d;
  sgl_sampling_params p;
  std::memset(&p, 0, sizeof p);
  p.struct_size = sizeof p;
  p.max_new_tokens = d.max_new_tokens;
  p.min_new_tokens = d.min_new_tokens;
  p.temperature = d.temperature;
  p.top_p = d.top_p;
  p.top_k = d.top_k;
  p.min_p = d.min_p;
  p.frequency_penalty = d.frequency_penalty;
  p.presence_penalty = d.presence_penalty;
  p.repetition_penalty = d.repetition_penalty;
  p.ignore_eos = d.ignore_eos;
  p.skip_special_tokens = d.skip_special_tokens;
  p.spaces_between_special_tokens = d.spaces_between_special_tokens;
  p.no_stop_trim = d.no_stop_trim;
  return p;
}

SGL_EXPORT sgl_status sgl_generate(sgl_engine* engine, const sgl_prompt* prompt, const sgl_sampling_params* sampling,
                                   sgl_result** out_result) {
  if (out_result) *out_result = nullptr;
  return guard("sgl_generate", [&] {
    sgl::Engine& e = engine_of(engine);
    need(out_result, "out_result");
    sgl::Request r = to_request(prompt, sampling);
    *out_result = new_result(e.generate(std::move(r)));
  });
}

SGL_EXPORT sgl_status sgl_generate_stream(sgl_engine* engine, const sgl_prompt* prompt,
                                          const sgl_sampling_params* sampling, sgl_stream_callback callback,
                                          void* user_data, sgl_result** out_result) {
  if (out_result) *out_result = nullptr;
  return guard("sgl_generate_stream", [&] {
    sgl::Engine& e = engine_of(engine);
    need(reinterpret_cast<const void*>(callback), "callback");
    sgl::Request r = to_request(prompt, sampling);
    sgl::RequestHandle h = e.submit(std::move(r));
    // Chunks are popped and handed to the callback on this thread, so callers (and FFI
    // runtimes such as Go's) never see a call from a thread they do not know.
    bool stopped = false;
    std::optional<sgl::Result> final_result;
    while (auto c = h.next()) {
      if (c->result) final_result = c->result;
      if (stopped) continue;
      sgl_chunk ch;
      std::memset(&ch, 0, sizeof ch);
      ch.struct_size = sizeof ch;
      ch.text = c->text.c_str();
      ch.text_len = c->text.size();
      ch.token_ids = c->token_ids.empty() ? nullptr : c->token_ids.data();
      ch.n_token_ids = c->token_ids.size();
      ch.finished = c->finished ? 1 : 0;
      if (callback(&ch, user_data) != 0) {
        stopped = true;
        h.cancel();
      }
    }
    if (!final_result) final_result = h.result();
    if (out_result) *out_result = new_result(std::move(*final_result));
  });
}

SGL_EXPORT sgl_status sgl_submit(sgl_engine* engine, const sgl_prompt* prompt, const sgl_sampling_params* sampling,
                                 sgl_request** out_request) {
  if (out_request) *out_request = nullptr;
  return guard("sgl_submit", [&] {
    sgl::Engine& e = engine_of(engine);
    need(out_request, "out_request");
    sgl::Request r = to_request(prompt, sampling);
    auto h = std::make_unique<sgl_request>();
    h->handle = e.submit(std::move(r));
    *out_request = h.release();
  });
}

SGL_EXPORT sgl_status sgl_request_cancel(sgl_request* request) {
  return guard("sgl_request_cancel", [&] {
    need(request, "request");
    request->handle.cancel();
  });
}

SGL_EXPORT sgl_status sgl_request_done(sgl_request* request, int* out_done) {
  if (out_done) *out_done = 0;
  return guard("sgl_request_done", [&] {
    need(request, "request");
    need(out_done, "out_done");
    *out_done = request->handle.done() ? 1 : 0;
  });
}

SGL_EXPORT sgl_status sgl_request_wait(sgl_request* request, sgl_result** out_result) {
  if (out_result) *out_result = nullptr;
  return guard("sgl_request_wait", [&] {
    need(request, "request");
    need(out_result, "out_result");
    *out_result = new_result(request->handle.result());
  });
}

SGL_EXPORT void sgl_request_free(sgl_request* request) {
  guard("sgl_request_free", [&] { delete request; });
}

}  // extern "C"
