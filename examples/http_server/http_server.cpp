#include "http_server.hpp"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <random>

#include <fmt/format.h>

#include "api_error.hpp"
#include "chat_output.hpp"
#include "chat_renderer.hpp"
#include "engine_group.hpp"
#include "core/support/check.hpp"
#include "core/support/listen_backlog.hpp"
#include "core/support/log.hpp"
#include "job.hpp"
#include "job_registry.hpp"
#include "metrics.hpp"
#include "request_parser.hpp"
#include "response_writer.hpp"
#include "tokenize_api.hpp"

namespace sgl::server {

using namespace std::chrono_literals;

struct HttpServer::Impl {
  EngineGroup group;
  Engine& engine;  // replica 0: tokenizer, chat template and model facts (every replica has the same)
  ServerArgs args;
  httplib::Server http;
  Metrics metrics;
  ParseLimits limits;
  ChatRenderer chat;
  JobRegistry jobs;  // for /abort_request
  std::string id_prefix;
  std::atomic<uint64_t> serial{0};
  int64_t started = 0;

  Impl(std::vector<Engine*> replicas, ServerArgs a);
  void routes();
  std::string new_id() { return fmt::format("{}{:08x}", id_prefix, serial.fetch_add(1)); }
  TokenText token_text() const;
  void send_json(httplib::Response& res, int status, const json& body);
  void send_error(httplib::Response& res, const ApiError& e);
  // Wraps a route: ApiError / sgl::Error / anything else become OpenAI-shaped errors.
  template <typename F>
  void guarded(const httplib::Request& req, httplib::Response& res, F&& f);
  void generation(const httplib::Request& req, httplib::Response& res, Api api);
  void finish_log(const Job& job, const char* route, int status, const char* note);
  json server_info() const;
};

namespace {

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

const char* route_name(Api api) {
  switch (api) {
    case Api::kGenerate: return "/generate";
    case Api::kCompletions: return "/v1/completions";
    case Api::kChat: return "/v1/chat/completions";
  }
  return "?";
}

bool sse_write(httplib::DataSink& sink, const std::string& payload) {
  std::string ev = "data: " + payload + "\n\n";
  return sink.is_writable() && sink.write(ev.data(), ev.size());
}

// A sample the engine aborted: it refused it (prompt too long for the context or KV pool: 400,
// SGLang's status for a rejected input), is shutting down (503), or failed while running it
// (500, or 503 when out of memory).
ApiError abort_error(const Result& r) {
  const std::string m = r.finish.message.empty() ? "request aborted" : r.finish.message;
  if (m.find("shut down") != std::string::npos) return ApiError(503, m);
  const Status st = r.finish.status;
  if (st == Status::kOk || st == Status::kCancelled) return ApiError(400, m);  // cancelled: as before
  return from_engine_error(sgl::Error(st, m));
}

}  // namespace

HttpServer::Impl::Impl(std::vector<Engine*> replicas, ServerArgs a)
    : group(std::move(replicas), parse_load_balance_method(a.load_balance_method)),
      engine(group.primary()),
      args(std::move(a)),
      chat(engine, args.chat_template),
      started(unix_now()) {
  SGL_LOG_INFO("chat template: {}", chat.available() ? chat.origin() : "none (chat requests answer 400; see --chat-template)");
  std::random_device rd;
  id_prefix = fmt::format("{:08x}", static_cast<uint32_t>(rd()));
}

TokenText HttpServer::Impl::token_text() const {
  Engine* e = &engine;
  return [e](int32_t id) -> std::string {
    try {
      return e->detokenize({id}, /*skip_special_tokens=*/false);
    } catch (const sgl::Error&) {
      return {};  // no tokenizer: ids only
    }
  };
}

void HttpServer::Impl::send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
  metrics.on_http(status);
}

void HttpServer::Impl::send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status();
  if (e.status() == 503) res.set_header("Retry-After", "1");
  res.set_content(error_body(e), "application/json");
  metrics.on_http(e.status());
  if (e.status() >= 500) SGL_LOG_WARN("http {}: {}", e.status(), e.message());
  else SGL_LOG_DEBUG("http {}: {}", e.status(), e.message());
}

template <typename F>
void HttpServer::Impl::guarded(const httplib::Request& req, httplib::Response& res, F&& f) {
  try {
    f();
  } catch (const ApiError& e) {
    send_error(res, e);
  } catch (const sgl::Error& e) {
    send_error(res, from_engine_error(e));
  } catch (const std::exception& e) {
    send_error(res, ApiError(500, fmt::format("internal error: {}", e.what())));
  }
}

void HttpServer::Impl::finish_log(const Job& job, const char* route, int status, const char* note) {
  int64_t in = 0, out = 0, cached = 0;
  double ttft = 0, latency = 0;
  std::string finish;
  const auto& samples = const_cast<Job&>(job).samples();
  for (size_t i = 0; i < samples.size(); ++i) {
    if (!samples[i].result) continue;
    const Result& r = *samples[i].result;
    if (i % static_cast<size_t>(job.request().n) == 0) {
      in += r.prompt_tokens;
      cached += r.cached_tokens;
    }
    out += r.completion_tokens;
    ttft = std::max(ttft, r.time_to_first_token);
    latency = std::max(latency, r.e2e_latency);
    if (finish.empty()) finish = r.finish.type();
  }
  SGL_LOG_INFO("request {} {} status={} samples={}/{} in={} out={} cached={} ttft={:.3f}s latency={:.3f}s finish={}{}",
               job.rid(), route, status, job.finished_samples(), job.total_samples(), in, out, cached, ttft, latency,
               finish.empty() ? "-" : finish, note);
}

void HttpServer::Impl::generation(const httplib::Request& req, httplib::Response& res, Api api) {
  check_json_content_type(req.get_header_value("Content-Type"));
  ParsedRequest pr = api == Api::kGenerate      ? parse_generate(req.body, limits)
                     : api == Api::kCompletions ? parse_completions(req.body, limits)
                                                : parse_chat(req.body, limits);
  if (api == Api::kChat) {
    // Rendered here, not by the engine: the context carries tools and chat_template_kwargs.
    // tool_choice required / named: the output is forced to the tools' JSON by a grammar.
    std::string forced = forced_tool_schema(pr);
    SamplingParams& sp = pr.prompts[0].sampling;
    if (!forced.empty()) {
      if (!sp.regex.empty() || !sp.json_schema.empty() || !sp.ebnf.empty())
        throw ApiError(400, "tool_choice \"required\" or a named function cannot be combined with response_format, regex or ebnf",
                       "tool_choice");
      sp.json_schema = forced;
    }
    const json no_tools = json::array();
    const json& tools = pr.tool_choice.kind == ToolChoice::Kind::kNone ? no_tools : pr.tools;
    pr.prompts[0].input_ids = chat.render_ids(pr.chat_messages, tools, pr.chat_template_kwargs);
    pr.prompts[0].messages.clear();
  }
  std::vector<std::string> echo;
  for (const auto& p : pr.prompts) echo.push_back(p.text);
  const char* prefix = api == Api::kChat ? "chatcmpl-" : api == Api::kCompletions ? "cmpl-" : "";
  std::string rid = pr.prompts.size() == 1 && !pr.prompts[0].rid.empty() ? pr.prompts[0].rid : new_id();
  // Data parallel: the replica is chosen before submitting; the lease counts the request as in
  // flight there until the response is done (kept by the stream provider when streaming).
  int64_t cost = 0;
  for (const auto& p : pr.prompts)
    cost += static_cast<int64_t>(p.input_ids.empty() ? p.text.size() / 4 + 1 : p.input_ids.size()) +
            static_cast<int64_t>(p.sampling.max_new_tokens) * pr.n;
  std::shared_ptr<EngineGroup::Lease> lease;
  try {
    lease = group.pick(pr.data_parallel_rank, cost);
  } catch (const sgl::Error& e) {
    throw ApiError(400, e.what(), "data_parallel_rank");
  }
  auto job = std::make_shared<Job>(lease->engine(), std::move(pr), rid);  // throws sgl::Error -> 4xx/503
  jobs.add(rid, job);
  ResponseContext ctx{prefix + rid, args.model_name(), unix_now(), token_text()};

  if (!job->request().stream) {
    while (!job->all_finished()) {
      job->poll(1000ms);
      if (job->engine_lost_results()) throw ApiError(500, "the engine finished without a result");
    }
    for (const auto& s : job->samples()) metrics.on_result(*s.result);
    // Aborted by /abort_request: SGLang answers 200 with finish_reason abort (its
    // "Abort before prefill" / user abort); only an abort with a cause (the engine refused the
    // request, or is shutting down) is an HTTP error.
    for (const auto& s : job->samples())
      if (!s.result->ok() && !job->cancelled()) {
        finish_log(*job, route_name(api), abort_error(*s.result).status(), " (aborted)");
        throw abort_error(*s.result);
      }
    json body;
    const ParsedRequest& p = job->request();
    if (api == Api::kGenerate) {
      std::vector<json> outs;
      for (size_t i = 0; i < job->samples().size(); ++i) {
        std::string id = p.prompts.size() == 1 ? rid : fmt::format("{}-{}", rid, i / static_cast<size_t>(p.n));
        json o = generate_json(job->samples()[i], id, p, ctx.token_text);
        if (p.batch) o["index"] = i;
        outs.push_back(std::move(o));
      }
      body = p.batch ? json(outs) : outs[0];
    } else if (api == Api::kCompletions) {
      body = completion_response(ctx, p, job->samples(), echo);
    } else {
      std::vector<json> messages;
      std::vector<bool> called;
      for (const auto& smp : job->samples()) {
        ChatOutput out(args.reasoning_parser, args.tool_call_parser, p);
        messages.push_back(out.message(smp.result->text));
        called.push_back(out.called_tools());
      }
      body = chat_response(ctx, p, job->samples(), messages, called);
    }
    send_json(res, 200, body);
    finish_log(*job, route_name(api), 200, "");
    return;
  }

  // Streaming: SSE events "data: {json}\n\n", then "data: [DONE]\n\n". The provider runs on this
  // handler's thread until it returns false (client gone: cancel) or calls sink.done().
  struct StreamState {
    std::vector<size_t> offsets;  // completions: text offset per sample, for logprobs
    std::vector<std::unique_ptr<ChatOutput>> chat;  // chat: reasoning / tool-call split per sample
    bool done = false;
  };
  auto st = std::make_shared<StreamState>();
  st->offsets.assign(static_cast<size_t>(job->total_samples()), 0);
  if (api == Api::kChat)
    for (int i = 0; i < job->total_samples(); ++i)
      st->chat.push_back(std::make_unique<ChatOutput>(args.reasoning_parser, args.tool_call_parser, job->request()));
  metrics.on_http(200);
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, job, st, ctx, api, echo, rid, lease](size_t, httplib::DataSink& sink) -> bool {
        const ParsedRequest& p = job->request();
        auto events = job->poll(1000ms);
        if (events.empty() && !job->all_finished()) {
          if (job->engine_lost_results()) {
            sse_write(sink, error_body(ApiError(500, "the engine finished without a result")));
            job->cancel();
            return false;
          }
          // Idle (long prefill, or a queue): an SSE comment keeps proxies open and finds out
          // whether the client is still there.
          static const std::string kKeepAlive = ": keep-alive\n\n";
          if (!sink.is_writable() || !sink.write(kKeepAlive.data(), kKeepAlive.size())) return false;
          return true;
        }
        // /generate streams cumulative state, so one event per sample and poll is enough (and
        // the state after poll() is the latest, not the one at each chunk).
        std::vector<bool> touched(api == Api::kGenerate ? job->samples().size() : 0, false);
        for (auto& ev : events) {
          const size_t i = static_cast<size_t>(ev.sample);
          SampleOutput& s = job->samples()[i];
          const Result* fin = ev.chunk.finished && ev.chunk.result ? &*ev.chunk.result : nullptr;
          if (fin) metrics.on_result(*fin);
          if (fin && !fin->ok() && api != Api::kGenerate && !job->cancelled()) {
            // OpenAI clients raise on an error event; an aborted sample is one.
            if (!sse_write(sink, error_body(abort_error(*fin)))) return false;
          }
          std::string payload;
          if (api == Api::kGenerate) {
            touched[i] = true;  // written once below, with the sample's latest state
            continue;
          } else if (api == Api::kCompletions) {
            std::string text = ev.chunk.text;
            if (p.echo && !s.sent_role) text = echo[i / static_cast<size_t>(p.n)] + text;
            s.sent_role = true;
            const std::vector<TokenLogprob>* lps = p.logprobs ? &ev.chunk.logprobs : nullptr;
            payload = dump(completion_chunk(ctx, static_cast<int>(i), text, lps, st->offsets[i], fin));
            for (const auto& lp : ev.chunk.logprobs) st->offsets[i] += ctx.token_text(lp.token).size();
          } else {
            // OpenAI's order: the role first, then content / reasoning / tool-call deltas; the
            // last chunk of a sample carries its finish_reason.
            ChatOutput& co = *st->chat[i];
            std::vector<json> deltas = co.feed(ev.chunk.text);
            if (fin)
              for (auto& d : co.finish()) deltas.push_back(std::move(d));
            const std::vector<TokenLogprob>* lps = p.logprobs && !ev.chunk.logprobs.empty() ? &ev.chunk.logprobs : nullptr;
            if (!s.sent_role) {
              json role = {{"role", "assistant"}, {"content", ""}};
              if (!sse_write(sink, dump(chat_delta_chunk(ctx, static_cast<int>(i), role, nullptr, nullptr)))) return false;
              s.sent_role = true;
            }
            if (deltas.empty() && (fin || lps)) deltas.push_back(json::object());
            for (size_t k = 0; k < deltas.size(); ++k) {
              json fr = fin && k + 1 == deltas.size() ? chat_finish_reason(fin, co.called_tools()) : json(nullptr);
              if (!sse_write(sink, dump(chat_delta_chunk(ctx, static_cast<int>(i), deltas[k], k == 0 ? lps : nullptr, fr))))
                return false;
            }
            continue;
          }
          if (!sse_write(sink, payload)) return false;
        }
        for (size_t i = 0; i < touched.size(); ++i) {
          if (!touched[i]) continue;
          std::string id = p.prompts.size() == 1 ? rid : fmt::format("{}-{}", rid, i / static_cast<size_t>(p.n));
          json o = generate_json(job->samples()[i], id, p, ctx.token_text);
          if (p.batch) o["index"] = i;
          if (!sse_write(sink, dump(o))) return false;
        }
        if (!job->all_finished()) return true;
        if (api != Api::kGenerate && p.include_usage) {
          int64_t in = 0, out = 0, cached = 0;
          for (size_t i = 0; i < job->samples().size(); ++i) {
            const Result& r = *job->samples()[i].result;
            if (i % static_cast<size_t>(p.n) == 0) in += r.prompt_tokens, cached += r.cached_tokens;
            out += r.completion_tokens;
          }
          if (!sse_write(sink, dump(usage_chunk(ctx, p, usage_json(in, out, cached))))) return false;
        }
        if (!sse_write(sink, "[DONE]")) return false;
        st->done = true;
        finish_log(*job, route_name(api), 200, "");
        sink.done();
        return true;
      },
      [this, job, st, api](bool success) {
        if (st->done) return;
        // The client went away (or a write failed): stop generating and free the KV pages. The
        // aborts come back within a scheduler step; wait briefly so metrics and the log count them.
        job->cancel();
        auto deadline = std::chrono::steady_clock::now() + 5s;
        while (!job->all_finished() && std::chrono::steady_clock::now() < deadline)
          for (const auto& ev : job->poll(100ms))
            if (ev.chunk.finished && ev.chunk.result) metrics.on_result(*ev.chunk.result);
        finish_log(*job, route_name(api), 499, " (client disconnected; cancelled)");
      });
}

json HttpServer::Impl::server_info() const {
  const EngineConfig& c = engine.config();
  json info = {{"model_path", c.model_path},
               {"tokenizer_path", c.tokenizer_path},
               {"served_model_name", args.model_name()},
               {"host", args.host},
               {"port", args.port},
               {"device", c.device},
               {"threads", c.threads},
               {"context_length", c.context_length},
               {"mem_fraction_static", c.mem_fraction_static},
               {"max_total_tokens", c.max_total_tokens},
               {"max_running_requests", c.max_running_requests},
               {"max_queued_requests", c.max_queued_requests},
               {"chunked_prefill_size", c.chunked_prefill_size},
               {"max_prefill_tokens", c.max_prefill_tokens},
               {"mixed_prefill_tokens", c.mixed_prefill_tokens},
               {"schedule_policy", c.schedule_policy},
               {"disable_radix_cache", c.disable_radix_cache},
               {"page_size", c.page_size},
               {"random_seed", c.random_seed},
               {"kv_cache_dtype", c.kv_cache_dtype},
               {"quantization", c.quantization},
               {"enable_metrics", args.enable_metrics},
               {"log_level", args.log_level},
               {"tp_size", 1},
               {"dp_size", group.size()},
               {"load_balance_method", load_balance_method_name(group.method())},
               {"version", "sgl-server 0.1.0"}};
  // One entry per data-parallel replica, as SGLang lists one per dp rank.
  info["internal_states"] = json::array();
  for (int rank = 0; rank < group.size(); ++rank) {
    const EngineStats s = group.replica(rank).stats();
    const EngineGroup::Counters& d = group.counters(rank);
    json st = {{"dp_rank", rank},
               {"dispatched_requests", d.dispatched.load()},
               {"in_flight_requests", d.in_flight.load()},
               {"running_requests", s.running_requests},
               {"waiting_requests", s.waiting_requests},
               {"kv_pages_total", s.kv_pages_total},
               {"kv_pages_used", s.kv_pages_used},
               {"kv_pages_free", s.kv_pages_free},
               {"page_size", s.page_size},
               {"cached_tokens", s.cached_tokens},
               {"cache_hit_rate", s.cache_hit_rate},
               {"prefill_tokens_per_s", s.prefill_tokens_per_s},
               {"decode_tokens_per_s", s.decode_tokens_per_s},
               {"total_requests", s.total_requests},
               {"finished_requests", s.finished_requests},
               {"retracted_requests", s.retracted_requests},
               {"evicted_tokens", s.evicted_tokens},
               {"forward_steps", s.forward_steps}};
    info["internal_states"].push_back(std::move(st));
  }
  return info;
}

void HttpServer::Impl::routes() {
  using httplib::Request;
  using httplib::Response;
  http.new_task_queue = [n = args.http_threads] { return new httplib::ThreadPool(static_cast<size_t>(n)); };
  http.set_payload_max_length(static_cast<size_t>(args.max_request_bytes));
  http.set_keep_alive_max_count(1000);
  // SSE events are small writes: with Nagle, one waits for the ACK of the last, which a client
  // on a kept-alive connection (sgl-router's pool) delays by ~40 ms.
  http.set_tcp_nodelay(true);
  http.set_read_timeout(30, 0);
  http.set_write_timeout(30, 0);

  http.set_pre_routing_handler([this](const Request& req, Response& res) {
    if (args.api_key.empty() || req.path.rfind("/health", 0) == 0 || req.path == "/metrics")
      return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    if (auth == "Bearer " + args.api_key) return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, ApiError(401, auth.empty() ? "missing API key: send 'Authorization: Bearer <key>'" : "invalid API key"));
    return httplib::Server::HandlerResponse::Handled;
  });
  // Anything httplib answers itself (404 no route, 413 body too large, 400 bad request line)
  // gets the OpenAI error shape too.
  http.set_error_handler([this](const Request& req, Response& res) {
    if (!res.body.empty()) return;
    std::string msg = res.status == 404   ? fmt::format("no route for {} {}", req.method, req.path)
                      : res.status == 413 ? fmt::format("request body too large (max {} bytes)", args.max_request_bytes)
                                          : fmt::format("HTTP error {}", res.status);
    ApiError e(res.status, msg);
    res.set_content(error_body(e), "application/json");
    metrics.on_http(res.status);
  });
  http.set_exception_handler([this](const Request&, Response& res, std::exception_ptr ep) {
    std::string what = "unknown";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(res, ApiError(500, fmt::format("internal error: {}", what)));
  });

  http.Post("/generate", [this](const Request& q, Response& r) { guarded(q, r, [&] { generation(q, r, Api::kGenerate); }); });
  http.Post("/v1/completions",
            [this](const Request& q, Response& r) { guarded(q, r, [&] { generation(q, r, Api::kCompletions); }); });
  http.Post("/v1/chat/completions",
            [this](const Request& q, Response& r) { guarded(q, r, [&] { generation(q, r, Api::kChat); }); });

  http.Get("/health", [this](const Request&, Response& r) {
    r.status = 200;
    r.set_content("", "text/plain");
  });
  http.Get("/health_generate", [this](const Request& q, Response& r) {
    guarded(q, r, [&] {
      sgl::Request req;
      req.input_ids = {engine.eos_token_ids().empty() ? 0 : engine.eos_token_ids()[0]};
      req.sampling.max_new_tokens = 1;
      req.sampling.temperature = 0.0f;
      // Every replica must generate: one stuck replica would fail the requests sent to it.
      std::vector<RequestHandle> hs;
      for (int rank = 0; rank < group.size(); ++rank) {
        sgl::Request one = req;
        one.rid = fmt::format("health-{}-{}", new_id(), rank);
        hs.push_back(group.replica(rank).submit(std::move(one)));
      }
      auto deadline = std::chrono::steady_clock::now() + 20s;
      for (size_t rank = 0; rank < hs.size(); ++rank) {
        RequestHandle& h = hs[rank];
        while (!h.done() && std::chrono::steady_clock::now() < deadline) h.next_for(100ms);
        if (!h.done()) {
          for (auto& other : hs) other.cancel();
          throw ApiError(503, fmt::format("health check generation on replica {} did not finish within 20 s", rank));
        }
        Result res = h.result();
        if (!res.ok()) throw ApiError(503, fmt::format("health check generation on replica {} failed: {}", rank, res.finish.message));
      }
      r.status = 200;
      r.set_content("", "text/plain");
    });
  });
  http.Get("/get_model_info", [this](const Request& q, Response& r) {
    guarded(q, r, [&] {
      const EngineConfig& c = engine.config();
      send_json(r, 200,
                {{"model_path", c.model_path},
                 {"tokenizer_path", c.tokenizer_path.empty() ? c.model_path : c.tokenizer_path},
                 {"served_model_name", args.model_name()},
                 {"is_generation", true},
                 {"has_tokenizer", engine.has_tokenizer()},
                 {"vocab_size", engine.vocab_size()},
                 {"context_length", c.context_length},
                 {"eos_token_ids", engine.eos_token_ids()}});
    });
  });
  http.Get("/get_server_info", [this](const Request& q, Response& r) { guarded(q, r, [&] { send_json(r, 200, server_info()); }); });
  auto flush = [this](const Request& q, Response& r) {
    guarded(q, r, [&] {
      bool flushed = true;
      for (int rank = 0; rank < group.size(); ++rank) flushed = group.replica(rank).flush_cache() && flushed;
      if (!flushed) throw ApiError(400, "cache not flushed: requests are still running");
      r.status = 200;
      r.set_content("Cache flushed.\n", "text/plain");
      metrics.on_http(200);
    });
  };
  http.Post("/flush_cache", flush);
  http.Get("/flush_cache", flush);
  // Tokenizer routes (SGLang serves both spellings).
  for (const char* path : {"/v1/tokenize", "/tokenize"})
    http.Post(path, [this](const Request& q, Response& r) {
      guarded(q, r, [&] {
        check_json_content_type(q.get_header_value("Content-Type"));
        send_json(r, 200, tokenize_response(engine, q.body));
      });
    });
  for (const char* path : {"/v1/detokenize", "/detokenize"})
    http.Post(path, [this](const Request& q, Response& r) {
      guarded(q, r, [&] {
        check_json_content_type(q.get_header_value("Content-Type"));
        send_json(r, 200, detokenize_response(engine, q.body));
      });
    });
  http.Post("/abort_request", [this](const Request& q, Response& r) {
    guarded(q, r, [&] {
      check_json_content_type(q.get_header_value("Content-Type"));
      AbortRequest a = parse_abort_request(q.body);
      if (a.abort_all) {
        int n = jobs.abort_all();
        SGL_LOG_INFO("abort_request: abort_all ({} in flight)", n);
      } else if (!jobs.abort(a.rid)) {
        throw ApiError(404, fmt::format("no request '{}' is running", a.rid), "rid");
      }
      r.status = 200;
      r.set_content("", "application/json");
      metrics.on_http(200);
    });
  });
  // One entry per data-parallel rank: what a load balancer weighs.
  auto loads = [this](const Request& q, Response& r) {
    guarded(q, r, [&] {
      json all = json::array();
      for (int rank = 0; rank < group.size(); ++rank) {
        EngineStats s = group.replica(rank).stats();
        const int64_t used = s.kv_pages_used * s.page_size, total = s.kv_pages_total * s.page_size;
        json l = {{"dp_rank", rank},
                  {"num_reqs", s.running_requests + s.waiting_requests},
                  {"num_running_reqs", s.running_requests},
                  {"num_waiting_reqs", s.waiting_requests},
                  {"num_tokens", used},
                  {"max_total_num_tokens", total},
                  {"token_usage", total > 0 ? static_cast<double>(used) / static_cast<double>(total) : 0.0}};
        all.push_back(std::move(l));
      }
      send_json(r, 200, all);
    });
  };
  http.Get("/get_loads", loads);
  http.Get("/get_load", loads);
  http.Get("/v1/models", [this](const Request& q, Response& r) {
    guarded(q, r, [&] {
      json m = {{"id", args.model_name()},
                {"object", "model"},
                {"created", started},
                {"owned_by", "sgl"},
                {"root", engine.config().model_path},
                {"max_model_len", engine.config().context_length}};
      send_json(r, 200, {{"object", "list"}, {"data", json::array({m})}});
    });
  });
  http.Get("/metrics", [this](const Request& q, Response& r) {
    guarded(q, r, [&] {
      if (!args.enable_metrics) throw ApiError(404, "metrics are off; start the server with --enable-metrics");
      r.status = 200;
      std::vector<EngineStats> stats;
      for (int rank = 0; rank < group.size(); ++rank) stats.push_back(group.replica(rank).stats());
      r.set_content(metrics.render(stats), "text/plain; version=0.0.4");
    });
  });
}

HttpServer::HttpServer(Engine& engine, ServerArgs args) : HttpServer(std::vector<Engine*>{&engine}, std::move(args)) {}

HttpServer::HttpServer(std::vector<Engine*> replicas, ServerArgs args)
    : impl_(std::make_unique<Impl>(std::move(replicas), std::move(args))) {
  impl_->routes();
}

HttpServer::~HttpServer() { stop(); }

int HttpServer::bind() {
  Impl& m = *impl_;
  int port = m.args.port;
  if (port == 0) {
    port = m.http.bind_to_any_port(m.args.host);
    if (port < 0) SGL_THROW(Status::kIoError, "cannot bind {} on any port", m.args.host);
  } else if (!m.http.bind_to_port(m.args.host, port)) {
    SGL_THROW(Status::kIoError, "cannot bind {}:{} (in use, or not an address of this host)", m.args.host, port);
  }
  m.args.port = port;
  deepen_listen_backlog(port);
  return port;
}

void HttpServer::serve() { impl_->http.listen_after_bind(); }

void HttpServer::stop() {
  if (impl_) impl_->http.stop();
}

}  // namespace sgl::server
