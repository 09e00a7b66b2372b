// Engine public API: configuration and parameter validation, blocking and streaming generation,
// n > 1, cancellation, rejection of over-long prompts, shutdown with pending requests.
#include <doctest/doctest.h>

#include <thread>

#include "engine_test_util.hpp"

using namespace sgl;
using namespace sgl::test;

namespace {

template <class F>
Error catch_error(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  FAIL("expected sgl::Error");
  return Error(Status::kOk, "");
}

}  // namespace

TEST_CASE("SamplingParams::validate names the offending field") {
  SamplingParams p;
  CHECK_NOTHROW(p.validate());
  p.temperature = -1;
  Error e = catch_error([&] { p.validate(); });
  CHECK(e.code() == Status::kInvalidArgument);
  CHECK(std::string(e.what()).find("temperature must be >= 0") != std::string::npos);
  p = {};
  p.top_p = 0;
  CHECK(std::string(catch_error([&] { p.validate(); }).what()).find("top_p") != std::string::npos);
  p = {};
  p.top_k = 0;
  CHECK(std::string(catch_error([&] { p.validate(); }).what()).find("top_k") != std::string::npos);
  p = {};
  p.min_new_tokens = 10;
  p.max_new_tokens = 5;
  CHECK(std::string(catch_error([&] { p.validate(); }).what()).find("min_new_tokens") != std::string::npos);
  p = {};
  p.n = 0;
  CHECK(std::string(catch_error([&] { p.validate(); }).what()).find("n must be") != std::string::npos);
  p = {};
  p.regex = "a+";
  p.json_schema = "{}";
  CHECK(std::string(catch_error([&] { p.validate(); }).what()).find("only one of regex") != std::string::npos);
}

TEST_CASE("EngineConfig::validate names the offending field") {
  EngineConfig c;
  Error e = catch_error([&] { c.validate(); });
  CHECK(e.code() == Status::kInvalidArgument);
  CHECK(std::string(e.what()).find("model_path") != std::string::npos);
  c.model_path = "x.gguf";
  c.page_size = 0;
  CHECK(std::string(catch_error([&] { c.validate(); }).what()).find("page_size must be") != std::string::npos);
  c.page_size = 1;
  c.schedule_policy = "sjf";
  CHECK(std::string(catch_error([&] { c.validate(); }).what()).find("schedule_policy") != std::string::npos);
  c.schedule_policy = "fcfs";
  c.kv_cache_dtype = "int4";
  CHECK(std::string(catch_error([&] { c.validate(); }).what()).find("kv_cache_dtype") != std::string::npos);
  c.kv_cache_dtype = "bf16";
  c.chunked_prefill_size = 0;
  CHECK(std::string(catch_error([&] { c.validate(); }).what()).find("chunked_prefill_size") != std::string::npos);
  c.chunked_prefill_size = -1;
  CHECK_NOTHROW(c.validate());
  c.model_path = "/nonexistent/model.gguf";
  CHECK(catch_error([&] { Engine eng(c); }).code() == Status::kNotFound);
}

TEST_CASE("generate matches a direct greedy forward pass, and streaming yields the same tokens") {
  std::mt19937 rng(1);
  auto prompt = random_prompt(rng, 13);
  auto want = direct_greedy(tiny_model_path(), tiny_config().device, prompt, 20);
  Engine eng(tiny_config());
  CHECK(eng.config().context_length == 512);
  CHECK(eng.config().max_total_tokens == 4096);
  Result r = eng.generate(greedy_request(prompt, 20));
  CHECK(r.ok());
  CHECK(r.output_ids == want);
  CHECK(r.finish.kind == FinishKind::kLength);
  CHECK(std::string(r.finish.type()) == "length");
  CHECK(r.prompt_tokens == 13);
  CHECK(r.completion_tokens == 20);
  CHECK(r.time_to_first_token > 0);
  CHECK(r.e2e_latency >= r.time_to_first_token);

  // Streaming: the chunks' ids add up to the result, the last chunk carries it.
  RequestHandle h = eng.submit(greedy_request(prompt, 20));
  std::vector<int32_t> streamed;
  std::optional<Result> final;
  int chunks = 0;
  while (auto c = h.next()) {
    ++chunks;
    streamed.insert(streamed.end(), c->token_ids.begin(), c->token_ids.end());
    if (c->finished) final = c->result;
  }
  CHECK(chunks >= 2);
  CHECK(streamed == want);
  REQUIRE(final);
  CHECK(final->output_ids == want);
  CHECK(h.done());
  // The second run found its prompt in the radix cache (whole prompt but the last token).
  CHECK(final->cached_tokens == 12);

  // Callback streaming.
  std::vector<int32_t> via_cb;
  Request cbreq = greedy_request(prompt, 20);
  cbreq.on_chunk = [&](const StreamChunk& c) { via_cb.insert(via_cb.end(), c.token_ids.begin(), c.token_ids.end()); };
  Result cbres = eng.submit(std::move(cbreq)).result();
  CHECK(via_cb == want);
  CHECK(cbres.output_ids == want);
}

TEST_CASE("stop_token_ids, max_new_tokens = 0, logprobs and invalid requests") {
  std::mt19937 rng(2);
  auto prompt = random_prompt(rng, 9);
  Engine eng(tiny_config());
  auto want = eng.generate(greedy_request(prompt, 12)).output_ids;

  Request r = greedy_request(prompt, 12);
  r.sampling.stop_token_ids = {want[4]};
  Result res = eng.generate(r);
  size_t first = static_cast<size_t>(std::find(want.begin(), want.end(), want[4]) - want.begin());
  CHECK(res.finish.kind == FinishKind::kStop);
  REQUIRE(res.finish.matched_token);
  CHECK(*res.finish.matched_token == want[4]);
  CHECK(res.output_ids == std::vector<int32_t>(want.begin(), want.begin() + static_cast<int64_t>(first) + 1));

  Result zero = eng.generate(greedy_request(prompt, 0));
  CHECK(zero.output_ids.empty());
  CHECK(zero.finish.kind == FinishKind::kLength);

  Request lp = greedy_request(prompt, 5);
  lp.sampling.return_logprob = true;
  lp.sampling.top_logprobs_num = 3;
  Result lpr = eng.generate(lp);
  REQUIRE(lpr.output_logprobs.size() == 5);
  for (size_t i = 0; i < 5; ++i) {
    CHECK(lpr.output_logprobs[i].token == lpr.output_ids[i]);
    CHECK(lpr.output_logprobs[i].logprob <= 0.0f);
    REQUIRE(lpr.output_logprobs[i].top.size() == 3);
    CHECK(lpr.output_logprobs[i].top[0].first == lpr.output_ids[i]);  // greedy picks the best
  }

  Request bad = greedy_request({1, 2, 9999}, 4);
  Error e = catch_error([&] { eng.submit(bad); });
  CHECK(e.code() == Status::kInvalidArgument);
  CHECK(std::string(e.what()).find("outside the vocabulary") != std::string::npos);
  Request none;
  CHECK(catch_error([&] { eng.submit(none); }).code() == Status::kInvalidArgument);
  Request text;
  text.text = "hello";
  if (!eng.has_tokenizer()) CHECK(catch_error([&] { eng.submit(text); }).code() == Status::kUnsupported);
  Request neg = greedy_request(prompt, 4);
  neg.sampling.temperature = -0.5f;
  CHECK(std::string(catch_error([&] { eng.submit(neg); }).what()).find("temperature") != std::string::npos);
}

TEST_CASE("a prompt longer than the context is rejected with an abort result") {
  EngineConfig c = tiny_config();
  c.context_length = 64;
  Engine eng(c);
  std::mt19937 rng(3);
  Result r = eng.generate(greedy_request(random_prompt(rng, 64), 4));
  CHECK(r.finish.kind == FinishKind::kAbort);
  CHECK(!r.ok());
  CHECK(r.finish.message.find("longer than the model's context length (64 tokens)") != std::string::npos);
  CHECK(r.finish.status == Status::kInvalidArgument);
  // A prompt that fits is clipped to the context: finish "length" at exactly 64 tokens in all.
  Result ok = eng.generate(greedy_request(random_prompt(rng, 60), 100));
  CHECK(ok.ok());
  CHECK(ok.completion_tokens == 4);
  CHECK(ok.finish.kind == FinishKind::kLength);
  // A context longer than the model's is a configuration error.
  c.context_length = 100000;
  Error e = catch_error([&] { Engine bad(c); });
  CHECK(e.code() == Status::kInvalidArgument);
  CHECK(std::string(e.what()).find("context_length") != std::string::npos);
}

TEST_CASE("seeded sampling: same seed, same tokens alone or in a batch; n > 1 samples") {
  std::mt19937 rng(4);
  auto prompt = random_prompt(rng, 10);
  Engine eng(tiny_config());
  Request r = greedy_request(prompt, 16);
  r.sampling.temperature = 1.0f;
  r.sampling.top_k = 50;
  r.sampling.seed = 1234;
  auto alone = eng.generate(r).output_ids;

  std::vector<RequestHandle> others;
  for (int i = 0; i < 6; ++i) {
    Request o = greedy_request(random_prompt(rng, 5 + i), 12 + i);
    o.sampling.temperature = 0.8f;
    others.push_back(eng.submit(o));
  }
  auto batched = eng.submit(r).result().output_ids;
  for (auto& h : others) CHECK(h.result().ok());
  CHECK(batched == alone);

  Request n4 = r;
  n4.sampling.n = 4;
  RequestHandle h = eng.submit(n4);
  CHECK(h.n() == 4);
  auto results = h.wait();
  REQUIRE(results.size() == 4);
  CHECK(results[0].output_ids == alone);  // sample i uses seed + i
  bool differ = false;
  for (int i = 0; i < 4; ++i) {
    CHECK(results[i].index == i);
    CHECK(results[i].completion_tokens == 16);
    differ |= results[i].output_ids != results[0].output_ids;
  }
  CHECK(differ);
  // Samples 1..3 waited for sample 0's prefill and reused it.
  CHECK(results[3].cached_tokens == 9);
  CHECK_THROWS_AS(eng.generate(n4), Error);
}

TEST_CASE("cancellation, queue limit and shutdown with pending requests") {
  std::mt19937 rng(5);
  EngineConfig c = tiny_config();
  c.max_running_requests = 2;
  c.max_queued_requests = 40;
  auto eng = std::make_unique<Engine>(c);
  std::vector<RequestHandle> hs;
  for (int i = 0; i < 8; ++i) hs.push_back(eng->submit(greedy_request(random_prompt(rng, 8 + i), 200)));
  hs[0].cancel();
  hs[5].cancel();  // still waiting
  Result r0 = hs[0].result();
  Result r5 = hs[5].result();
  CHECK(r0.finish.kind == FinishKind::kAbort);
  CHECK(r0.finish.message == "cancelled");
  CHECK(r5.finish.kind == FinishKind::kAbort);
  CHECK(r5.completion_tokens == 0);
  hs[0].cancel();  // no-op after finish
  CHECK(hs[1].result().completion_tokens == 200);

  // Queue limit: fill the queue beyond max_queued_requests.
  std::vector<RequestHandle> flood;
  bool refused = false;
  for (int i = 0; i < 80 && !refused; ++i) {
    try {
      flood.push_back(eng->submit(greedy_request(random_prompt(rng, 8), 50)));
    } catch (const Error& e) {
      refused = true;
      CHECK(e.code() == Status::kOutOfMemory);
      CHECK(std::string(e.what()).find("queue is full") != std::string::npos);
    }
  }
  CHECK(refused);
  eng.reset();  // destroy with requests still pending
  int aborted = 0;
  for (auto& h : flood) {
    Result r = h.result();
    if (r.finish.kind == FinishKind::kAbort) {
      CHECK(r.finish.message == "engine shut down");
      ++aborted;
    }
  }
  CHECK(aborted > 0);
  for (auto& h : hs) CHECK(h.done());
}

TEST_CASE("text in and out through the model's tokenizer; stop strings spanning tokens") {
  Engine eng(tiny_config());
  REQUIRE(eng.has_tokenizer());
  auto ids = eng.tokenize("Once upon a time");
  CHECK(ids.size() >= 2);
  CHECK(eng.detokenize(ids) == "Once upon a time");
  std::string chat = eng.apply_chat_template({{"user", "hi"}}, true);
  CHECK(chat.find("hi") != std::string::npos);

  Request r;
  r.text = "Once upon a time";
  r.sampling.temperature = 0.0f;
  r.sampling.max_new_tokens = 40;
  r.sampling.ignore_eos = true;
  Result full = eng.generate(r);
  CHECK(full.prompt_tokens == static_cast<int64_t>(ids.size()));
  CHECK(full.text == eng.detokenize(full.output_ids));
  const std::string& T = full.text;
  REQUIRE(T.size() > 12);

  // A stop string across the boundary between output tokens 4 and 5 (when those decode to
  // whole characters), else any 3 bytes in the middle.
  std::string head = eng.detokenize(std::vector<int32_t>(full.output_ids.begin(), full.output_ids.begin() + 5));
  size_t b = head.size() >= 2 && head.size() + 2 <= T.size() && T.compare(0, head.size(), head) == 0 ? head.size() : T.size() / 2;
  std::string s = T.substr(b - 2, 4);
  size_t cut = T.find(s);
  INFO("output text: '" << T << "' stop: '" << s << "'");

  Request rs = r;
  rs.sampling.stop = {"never-appears-zzz", s};
  RequestHandle h = eng.submit(rs);
  std::string streamed;
  std::optional<Result> res;
  while (auto c = h.next()) {
    streamed += c->text;
    if (c->finished) res = c->result;
  }
  REQUIRE(res);
  CHECK(res->finish.kind == FinishKind::kStop);
  CHECK(res->finish.matched_str == s);
  CHECK(res->text == T.substr(0, cut));
  CHECK(streamed == res->text);  // the half-matched stop string was never streamed
  CHECK(res->completion_tokens < full.completion_tokens);

  rs.sampling.no_stop_trim = true;
  Result kept = eng.generate(rs);
  CHECK(kept.text == T.substr(0, cut + s.size()));

  // Streamed text adds up to the final text without stop strings too.
  RequestHandle h2 = eng.submit(r);
  std::string all;
  while (auto c = h2.next()) all += c->text;
  CHECK(all == T);

  // Chat input goes through the template.
  Request cr;
  cr.messages = {{"system", "be brief"}, {"user", "tell me a story"}};
  cr.sampling.max_new_tokens = 4;
  cr.sampling.temperature = 0.0f;
  Result cres = eng.generate(cr);
  CHECK(cres.ok());
  CHECK(cres.prompt_tokens > static_cast<int64_t>(eng.tokenize("be brief tell me a story", false).size()));
}
