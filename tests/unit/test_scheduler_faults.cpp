// The scheduler thread survives failures: a forward pass that throws (sgl::Error from a
// poisoned batch, std::bad_alloc mid-decode), a grammar matcher that rejects a sampled token,
// and a caller's on_chunk callback that throws on a partial or the final chunk. The affected
// requests end with finish reason abort and the message; every other request gets its exact
// greedy answer, the engine keeps serving afterwards, and no KV page leaks.
//
// Faults are injected for real: the Scheduler runs on a backend that wraps the ref backend and
// throws on command, and on a mask provider whose mask allows everything while the real grammar
// matcher judges the sampled token (a mask/matcher disagreement).
#include <doctest/doctest.h>

#include <atomic>
#include <new>

#include "core/engine/grammar_mask.hpp"
#include "core/support/check.hpp"
#include "core/kv/radix_cache.hpp"
#include "core/sched/scheduler.hpp"
#include "engine_test_util.hpp"

using namespace sgl;
using namespace sgl::test;

namespace {

// The ref backend, plus two faults: any forward whose batch holds token `poison` throws from
// the embedding lookup, and the matmul call numbered `bad_alloc_at` throws std::bad_alloc.
class FaultyBackend final : public kernels::Backend {
 public:
  FaultyBackend() : in_(kernels::create_backend("ref", {1, ""})) {}

  std::atomic<int32_t> poison{-1};
  std::atomic<int64_t> matmuls{0};
  std::atomic<int64_t> bad_alloc_at{-1};

  std::string_view name() const override { return "faulty-ref"; }
  std::string describe() const override { return "ref with injected faults"; }
  int threads() const override { return in_->threads(); }
  void* alloc(size_t bytes) override { return in_->alloc(bytes); }
  void free(void* p) override { in_->free(p); }
  void copy_to_device(void* d, const void* s, size_t n) override { in_->copy_to_device(d, s, n); }
  void copy_to_host(void* d, const void* s, size_t n) override { in_->copy_to_host(d, s, n); }
  kernels::WeightView prepare_weight(const kernels::WeightView& w) override { return in_->prepare_weight(w); }
  void release_weight(const kernels::WeightView& w) override { in_->release_weight(w); }
  void matmul(const float* x, int64_t m, const kernels::WeightView& w, float* y) override {
    if (matmuls.fetch_add(1) == bad_alloc_at.load()) throw std::bad_alloc();
    in_->matmul(x, m, w, y);
  }
  void rms_norm(const float* x, const float* w, float* y, int64_t rows, int64_t dim, float eps) override {
    in_->rms_norm(x, w, y, rows, dim, eps);
  }
  void rope(float* x, int64_t n, int h, const int32_t* pos, const kernels::RopeParams& p) override {
    in_->rope(x, n, h, pos, p);
  }
  void swiglu(const float* g, const float* u, float* o, int64_t n) override { in_->swiglu(g, u, o, n); }
  void add(float* y, const float* x, int64_t n) override { in_->add(y, x, n); }
  void add_bias(float* y, const float* b, int64_t rows, int64_t dim) override { in_->add_bias(y, b, rows, dim); }
  void embedding(const kernels::WeightView& t, const int32_t* ids, int64_t n, float* out) override {
    for (int64_t i = 0; i < n; ++i)
      if (ids[i] == poison.load()) SGL_THROW(Status::kInternal, "injected fault: poisoned token {}", ids[i]);
    in_->embedding(t, ids, n, out);
  }
  void moe_route(const float* l, int64_t n, const kernels::MoeRouting& r, int32_t* ids, float* w) override {
    in_->moe_route(l, n, r, ids, w);
  }
  void moe_ffn(const float* x, int64_t n, const int32_t* ids, const float* w, int k, const kernels::MoeExperts& e,
               float* out) override {
    in_->moe_ffn(x, n, ids, w, k, e, out);
  }
  void scale_rows_sigmoid(float* y, const float* g, int64_t rows, int64_t dim) override {
    in_->scale_rows_sigmoid(y, g, rows, dim);
  }
  void kv_store(const kernels::KvLayer& kv, const float* k, const float* v, const int32_t* s, int64_t n) override {
    in_->kv_store(kv, k, v, s, n);
  }
  void attention(const float* q, const kernels::KvLayer& kv, std::span<const kernels::AttnSeq> seqs, int h, float scale,
                 float* out) override {
    in_->attention(q, kv, seqs, h, scale, out);
  }

 private:
  std::unique_ptr<kernels::Backend> in_;
};

// A mask that allows every token, while the real grammar matcher judges what was sampled.
class DisagreeingMask final : public TokenMaskProvider {
 public:
  explicit DisagreeingMask(std::unique_ptr<TokenMaskProvider> real) : real_(std::move(real)) {}
  void fill(uint32_t* mask, int64_t n_vocab) override {
    for (int64_t t = 0; t < n_vocab; ++t) mask[t / 32] |= 1u << (t % 32);
  }
  void accept(int32_t token) override { real_->accept(token); }
  bool terminated() const override { return real_->terminated(); }

 private:
  std::unique_ptr<TokenMaskProvider> real_;
};

// The Engine's wiring (model, pool, cache, scheduler) around the faulty backend.
struct Rig {
  explicit Rig(int max_running = 4, int64_t pool_tokens = 2048) {
    model = std::make_shared<LoadedModel>(load_model(tiny_model_path()));
    const ModelConfig& c = model->config;
    tf = std::make_unique<Transformer>(model, backend);
    KvPoolConfig kc{static_cast<int>(c.n_layer), static_cast<int>(c.n_head_kv), static_cast<int>(c.head_dim), 1,
                    pool_tokens, kernels::DType::F32};
    pool = std::make_unique<KvPool>(kc, backend);
    cache = std::make_unique<RadixCache>(*pool);
    SchedulerOptions so;
    so.context_length = c.n_ctx_train;
    so.max_running_requests = max_running;
    so.policy = "fcfs";
    sched = std::make_unique<Scheduler>(so, *tf, *pool, *cache, nullptr);
    sched->start();
  }
  ~Rig() { sched->stop(); }

  RequestHandle submit(const std::vector<int32_t>& prompt, int max_new, std::unique_ptr<TokenMaskProvider> mask = nullptr) {
    auto ch = std::make_shared<detail::RequestChannel>(fmt::format("r{}", serial), 1, nullptr);
    auto r = std::make_unique<SchedRequest>();
    r->serial = serial++;
    r->channel = ch;
    r->params.temperature = 0.0f;
    r->params.max_new_tokens = max_new;
    r->params.ignore_eos = true;
    r->tokens = prompt;
    r->prompt_len = static_cast<int64_t>(prompt.size());
    r->max_new = max_new;
    SamplingOptions so;
    so.temperature = 0.0f;
    r->sampler = std::make_unique<SamplerState>(so, std::span<const int32_t>(prompt));
    r->mask = std::move(mask);
    r->submitted = SteadyClock::now();
    std::vector<std::unique_ptr<SchedRequest>> v;
    v.push_back(std::move(r));
    sched->submit(std::move(v));
    return RequestHandle(ch);
  }

  // Every page free again once the cache is flushed: nothing leaked by the failures.
  void check_no_leak() {
    CHECK(sched->flush_cache());
    EngineStats s = sched->stats();
    CHECK(s.kv_pages_used == 0);
    CHECK(s.kv_pages_free == s.kv_pages_total);
  }

  FaultyBackend backend;
  std::shared_ptr<LoadedModel> model;
  std::unique_ptr<Transformer> tf;
  std::unique_ptr<KvPool> pool;
  std::unique_ptr<RadixCache> cache;
  std::unique_ptr<Scheduler> sched;
  uint64_t serial = 0;
};

std::vector<int32_t> reference(const std::vector<int32_t>& prompt, int n) {
  return direct_greedy(tiny_model_path(), "ref", prompt, n);
}

constexpr int32_t kPoison = 444;

}  // namespace

TEST_CASE("a forward pass that throws aborts its batch with the message; the queue and later requests are served") {
  Rig rig(/*max_running=*/2);
  rig.backend.poison = kPoison;
  std::mt19937 rng(5);
  auto clean = [&] {
    auto p = random_prompt(rng, 12);
    for (auto& t : p)
      if (t == kPoison) t = kPoison + 1;
    return p;
  };

  // Alone: the poisoned request fails, the thread lives.
  Result bad = rig.submit({1, 2, kPoison, 3}, 8).result();
  CHECK(bad.finish.kind == FinishKind::kAbort);
  CHECK(bad.finish.message.find("injected fault: poisoned token 444") != std::string::npos);
  CHECK(bad.finish.status == Status::kInternal);
  CHECK(bad.output_ids.empty());

  // In a crowd: poisoned first (fcfs), then six clean requests, two running at a time. Only a
  // request admitted in the poisoned prefill's step can share its fate.
  std::vector<std::vector<int32_t>> prompts;
  std::vector<RequestHandle> hs;
  hs.push_back(rig.submit({kPoison, 5, 6}, 8));
  for (int i = 0; i < 6; ++i) {
    prompts.push_back(clean());
    hs.push_back(rig.submit(prompts.back(), 6));
  }
  Result first = hs[0].result();
  CHECK(first.finish.kind == FinishKind::kAbort);
  CHECK(first.finish.message.find("injected fault") != std::string::npos);
  int ok = 0;
  for (int i = 0; i < 6; ++i) {
    Result r = hs[static_cast<size_t>(i) + 1].result();
    INFO("request " << i << ": " << r.finish.message);
    if (r.ok()) {
      ++ok;
      CHECK(r.output_ids == reference(prompts[static_cast<size_t>(i)], 6));
    } else {
      CHECK(r.finish.kind == FinishKind::kAbort);
      CHECK(r.finish.message.find("injected fault") != std::string::npos);
    }
  }
  CHECK(ok >= 5);

  // Afterwards: served as if nothing happened.
  auto p = clean();
  Result after = rig.submit(p, 10).result();
  CHECK(after.ok());
  CHECK(after.output_ids == reference(p, 10));
  rig.check_no_leak();
}

TEST_CASE("std::bad_alloc in the middle of decoding aborts with the message and keeps the tokens so far") {
  Rig rig;
  std::mt19937 rng(9);
  auto p = random_prompt(rng, 10);
  // One forward pass's matmul count, from a request that runs exactly one.
  const int64_t before = rig.backend.matmuls.load();
  REQUIRE(rig.submit(p, 1).result().ok());
  const int64_t per_forward = rig.backend.matmuls.load() - before;
  REQUIRE(per_forward > 0);
  rig.check_no_leak();

  // Fail the 4th forward pass: the prefill and two decode steps produced three tokens.
  auto q = random_prompt(rng, 10);
  rig.backend.bad_alloc_at = rig.backend.matmuls.load() + 3 * per_forward + per_forward / 2;
  Result r = rig.submit(q, 10).result();
  CHECK(r.finish.kind == FinishKind::kAbort);
  CHECK(r.finish.message.find("bad_alloc") != std::string::npos);
  CHECK(r.finish.status == Status::kOutOfMemory);
  auto want = reference(q, 10);
  CHECK(r.output_ids == std::vector<int32_t>(want.begin(), want.begin() + 3));

  Result again = rig.submit(q, 10).result();
  CHECK(again.ok());
  CHECK(again.output_ids == want);
  rig.check_no_leak();
}

TEST_CASE("a token the grammar matcher rejects ends that request with an error, not unconstrained output") {
  // The real matcher, given a grammar the greedy token cannot start, behind a mask that lies.
  Engine eng(tiny_config());
  REQUIRE(eng.has_tokenizer());
  TokenMaskFactory grammar =
      make_grammar_mask_factory(eng.tokenizer(), eng.vocab_size(), eng.eos_token_ids());
  std::vector<int32_t> prompt{1, 300, 301, 302};
  auto want = reference(prompt, 4);
  const std::string& first = eng.tokenizer().token_bytes(want[0]);
  SamplingParams sp;
  sp.regex = !first.empty() && first[0] == 'a' ? "b+" : "a+";

  // The provider alone: a rejected token is an error naming it.
  auto m = grammar(sp);
  REQUIRE(m);
  CHECK_THROWS_WITH_AS(m->accept(want[0]), doctest::Contains("rejected token"), Error);

  Rig rig;
  std::mt19937 rng(3);
  auto other = random_prompt(rng, 8);
  RequestHandle bad = rig.submit(prompt, 4, std::make_unique<DisagreeingMask>(grammar(sp)));
  RequestHandle good = rig.submit(other, 6);
  Result r = bad.result();
  CHECK(r.finish.kind == FinishKind::kAbort);
  CHECK(r.finish.message.find("grammar: the matcher rejected token") != std::string::npos);
  CHECK(r.output_ids.empty());  // the rejected token never became output
  Result g = good.result();
  CHECK(g.ok());
  CHECK(g.output_ids == reference(other, 6));
  rig.check_no_leak();
}

TEST_CASE("an on_chunk callback that throws: on a partial chunk the request aborts, on the final one it completes") {
  Engine eng(tiny_config());
  std::mt19937 rng(21);
  auto p = random_prompt(rng, 9);
  auto want = reference(p, 8);

  SUBCASE("partial chunk") {
    Request req = greedy_request(p, 8);
    int calls = 0;
    req.on_chunk = [&](const StreamChunk& c) {
      ++calls;
      if (!c.finished && calls == 2) throw std::runtime_error("boom in the caller");
    };
    RequestHandle h = eng.submit(std::move(req));
    RequestHandle other = eng.submit(greedy_request(p, 8));
    Result r = h.result();
    CHECK(r.finish.kind == FinishKind::kAbort);
    CHECK(r.finish.message == "the on_chunk callback threw: boom in the caller");
    CHECK(r.finish.status == Status::kCancelled);
    CHECK(r.output_ids == std::vector<int32_t>(want.begin(), want.begin() + 2));
    Result o = other.result();
    CHECK(o.ok());
    CHECK(o.output_ids == want);
  }
  SUBCASE("final chunk") {
    Request req = greedy_request(p, 8);
    bool saw_final = false;
    req.on_chunk = [&](const StreamChunk& c) {
      if (!c.finished) return;
      saw_final = true;
      throw 42;  // not even a std::exception
    };
    Result r = eng.submit(std::move(req)).result();
    CHECK(saw_final);
    CHECK(r.ok());
    CHECK(r.output_ids == want);
  }
  // The engine still serves.
  Result after = eng.generate(greedy_request(p, 8));
  CHECK(after.ok());
  CHECK(after.output_ids == want);
}
