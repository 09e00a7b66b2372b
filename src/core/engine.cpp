// Engine: wires the model, KV pool, radix cache, sampler and tokenizer to the Scheduler thread.
// Caller threads only validate, tokenize and enqueue here; all model work runs on the scheduler.
#include "sgl/engine.hpp"

#include <atomic>

#include "core/engine/engine_setup.hpp"
#include "core/engine/engine_text.hpp"
#include "core/engine/grammar_mask.hpp"
#include "core/kv/radix_cache.hpp"
#include "core/model/transformer.hpp"
#include "core/sched/scheduler.hpp"
#include "core/support/check.hpp"
#include "core/support/log.hpp"

namespace sgl {

struct Engine::Impl {
  EngineConfig config;
  std::shared_ptr<const LoadedModel> model;
  std::unique_ptr<kernels::Backend> backend;
  std::unique_ptr<Transformer> transformer;
  std::unique_ptr<KvPool> pool;
  std::unique_ptr<RadixCache> cache;
  std::shared_ptr<EngineText> text;  // null: token ids only
  std::vector<int32_t> eos_ids;
  std::shared_ptr<Scheduler> scheduler;
  TokenMaskFactory grammar;  // null without a tokenizer: requests with a grammar are rejected
  std::atomic<uint64_t> serial{0};

  std::vector<int32_t> prompt_ids(const Request& r) const;
  RequestHandle reject(const std::string& rid, int n, std::function<void(const StreamChunk&)> cb,
                       int64_t prompt_len, const std::string& why) const;
};

Engine::Engine(const EngineConfig& cfg) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  cfg.validate();
  m.config = cfg;
  m.model = std::make_shared<LoadedModel>(load_model(cfg.model_path, LoadOptions{cfg.quantization, cfg.threads}));
  const ModelConfig& mc = m.model->config;
  if (m.config.context_length == 0) m.config.context_length = mc.n_ctx_train;
  if (m.config.context_length > mc.n_ctx_train)
    SGL_THROW(Status::kInvalidArgument, "context_length {} is longer than the model's {} ({})", m.config.context_length,
              mc.n_ctx_train, cfg.model_path);

  kernels::BackendOptions bo;
  bo.threads = cfg.threads;
  m.backend = kernels::create_backend(cfg.device, bo);
  m.transformer = std::make_unique<Transformer>(m.model, *m.backend);

  KvPoolConfig kc;
  kc.n_layers = static_cast<int>(mc.n_layer);
  kc.n_kv_heads = static_cast<int>(mc.n_head_kv);
  kc.head_dim = static_cast<int>(mc.head_dim);
  kc.page_size = cfg.page_size;
  kc.v_is_k = mc.is_mla();  // deepseek2: one compressed row per token and layer
  kc.dtype = cfg.kv_cache_dtype == "f32"    ? kernels::DType::F32
             : cfg.kv_cache_dtype == "bf16" ? kernels::DType::BF16
             : cfg.kv_cache_dtype == "q8_0" ? kernels::DType::Q8_0
                                            : kernels::DType::F16;
  // Resident weights: the model's tensors, plus the backend's repacked copies, minus the pages of
  // the originals it released after packing (Backend::weight_memory).
  const kernels::Backend::WeightMemory wm = m.backend->weight_memory();
  const size_t file_weights = model_weight_bytes(*m.model);
  const size_t weights = file_weights + wm.packed - std::min(wm.released, file_weights);
  PoolPlan plan = plan_kv_pool(cfg, kc, weights, m.config.context_length);
  kc.n_pages = plan.n_pages;
  m.pool = std::make_unique<KvPool>(kc, *m.backend);
  m.cache = std::make_unique<RadixCache>(*m.pool, cfg.disable_radix_cache);
  const int64_t pool_tokens = kc.n_pages * kc.page_size;
  m.config.max_total_tokens = pool_tokens;
  if (m.config.max_running_requests == 0)
    m.config.max_running_requests = static_cast<int>(std::clamp<int64_t>(pool_tokens / 16, 1, 256));

  m.text = make_engine_text(*m.model, cfg.tokenizer_path);
  m.eos_ids = m.text ? m.text->eos_ids() : std::vector<int32_t>{};
  if (m.eos_ids.empty()) m.eos_ids = model_eos_ids(*m.model);
  // Grammars are byte-level, so they need each token's bytes: only engines with a tokenizer.
  if (m.text && m.text->tokenizer()) m.grammar = make_grammar_mask_factory(*m.text->tokenizer(), mc.n_vocab, m.eos_ids);

  SchedulerOptions so;
  so.context_length = m.config.context_length;
  so.max_running_requests = m.config.max_running_requests;
  so.chunked_prefill_size = cfg.chunked_prefill_size;
  so.max_prefill_tokens = cfg.max_prefill_tokens;
  so.mixed_prefill_tokens = cfg.mixed_prefill_tokens;
  so.policy = cfg.schedule_policy;
  so.random_seed = cfg.random_seed;
  so.max_queued_requests = cfg.max_queued_requests;
  so.eos_ids = m.eos_ids;
  so.jump_forward = cfg.grammar_jump_forward;
  m.scheduler = std::make_shared<Scheduler>(so, *m.transformer, *m.pool, *m.cache, m.text);
  m.scheduler->start();
  if (mc.is_mla()) {
    // What a decompressed K/V cache would cost, next to the compressed row the pool holds.
    const MlaConfig& a = mc.mla;
    const size_t naive = mc.n_layer * (kernels::row_bytes(kc.dtype, mc.n_head * (a.qk_nope + a.qk_rope)) +
                                       kernels::row_bytes(kc.dtype, mc.n_head * a.v_head_dim));
    const size_t row = KvPool::bytes_per_token(kc);
    SGL_LOG_INFO("engine: MLA KV row of {} values per token and layer: {} bytes per token vs {} for decompressed "
                 "K/V ({:.1f}x more tokens in the same memory)",
                 a.kv_lora_rank + a.qk_rope, row, naive, static_cast<double>(naive) / static_cast<double>(row));
  }
  SGL_LOG_INFO("engine: {} on {}; KV pool {} tokens ({} pages of {}, {}; {}), context {}, max running {}",
               mc.summary(), m.backend->describe(), pool_tokens, kc.n_pages, kc.page_size,
               kernels::dtype_name(kc.dtype), plan.how, m.config.context_length, m.config.max_running_requests);
  // Where the memory goes, so a deployment can size the host (scratch is the bound for the
  // largest step: a full prefill budget plus one decode token per running request).
  const int64_t step_tokens = cfg.max_prefill_tokens + m.config.max_running_requests;
  const size_t scratch = Transformer::scratch_bytes(mc, step_tokens, m.config.max_running_requests) +
                         static_cast<size_t>(m.config.max_running_requests) * mc.n_vocab * sizeof(float);
  constexpr double kMiB = 1024.0 * 1024.0;
  SGL_LOG_INFO("engine memory: weights {:.1f} MiB resident ({:.1f} MiB of tensors, {:.1f} MiB repacked, {:.1f} MiB of "
               "originals released), KV pool {:.1f} MiB, scratch up to {:.1f} MiB (a step of {} tokens)",
               static_cast<double>(weights) / kMiB, static_cast<double>(file_weights) / kMiB,
               static_cast<double>(wm.packed) / kMiB, static_cast<double>(wm.released) / kMiB,
               static_cast<double>(KvPool::bytes_per_token(kc) * static_cast<size_t>(pool_tokens)) / kMiB,
               static_cast<double>(scratch) / kMiB, step_tokens);
}

Engine::~Engine() {
  if (impl_ && impl_->scheduler) impl_->scheduler->stop();
}

std::vector<int32_t> Engine::Impl::prompt_ids(const Request& r) const {
  int forms = !r.input_ids.empty() + !r.messages.empty() + !r.text.empty();
  if (forms != 1)
    SGL_THROW(Status::kInvalidArgument, "a request needs exactly one of input_ids, messages and text (got {})", forms);
  std::vector<int32_t> ids;
  if (!r.input_ids.empty()) {
    ids = r.input_ids;
  } else {
    if (!text)
      SGL_THROW(Status::kUnsupported, "text and chat input need a tokenizer, and this model/build has none; send input_ids");
    std::string prompt = r.messages.empty() ? r.text : text->apply_chat_template(r.messages, true);
    // A chat template already writes BOS and special tokens itself.
    ids = r.messages.empty() ? text->encode(prompt, true, false) : text->encode(prompt, false, true);
  }
  const int64_t nv = model->config.n_vocab;
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= nv)
      SGL_THROW(Status::kInvalidArgument, "input_ids[{}] = {} is outside the vocabulary [0, {})", i, ids[i], nv);
  if (ids.empty()) SGL_THROW(Status::kInvalidArgument, "the prompt is empty (no input tokens)");
  return ids;
}

RequestHandle Engine::Impl::reject(const std::string& rid, int n, std::function<void(const StreamChunk&)> cb,
                                   int64_t prompt_len, const std::string& why) const {
  auto ch = std::make_shared<detail::RequestChannel>(rid, n, std::move(cb));
  for (int i = 0; i < n; ++i) {
    StreamChunk c;
    c.index = i;
    c.finished = true;
    Result res;
    res.rid = rid;
    res.index = i;
    res.prompt_tokens = prompt_len;
    res.finish.kind = FinishKind::kAbort;
    res.finish.message = why;
    res.finish.status = Status::kInvalidArgument;
    c.result = std::move(res);
    ch->push(std::move(c));
  }
  return RequestHandle(ch);
}

RequestHandle Engine::submit(Request req) {
  Impl& m = *impl_;
  const SamplingParams& sp = req.sampling;
  sp.validate();
  if (!sp.regex.empty() || !sp.json_schema.empty() || !sp.ebnf.empty()) {
    if (!m.grammar) SGL_THROW(Status::kUnsupported, "constrained decoding (regex, json_schema, ebnf) needs a tokenizer, and this model/build has none");
  }
  if (!sp.stop.empty() && !m.text)
    SGL_THROW(Status::kUnsupported, "stop strings need a tokenizer, and this model/build has none; use stop_token_ids");
  for (const auto& [t, b] : sp.logit_bias)
    if (t >= m.model->config.n_vocab)
      SGL_THROW(Status::kInvalidArgument, "logit_bias: token {} is outside the vocabulary [0, {})", t, m.model->config.n_vocab);
  for (int32_t t : sp.stop_token_ids)
    if (t >= m.model->config.n_vocab)
      SGL_THROW(Status::kInvalidArgument, "stop_token_ids: {} is outside the vocabulary [0, {})", t, m.model->config.n_vocab);
  std::vector<int32_t> ids = m.prompt_ids(req);
  const uint64_t serial = m.serial.fetch_add(1);
  std::string rid = req.rid.empty() ? fmt::format("req-{}", serial) : req.rid;

  const auto prompt_len = static_cast<int64_t>(ids.size());
  const int64_t ctx = m.config.context_length;
  const int64_t pool_tokens = m.scheduler->pool_tokens();
  if (prompt_len >= ctx)
    return m.reject(rid, sp.n, std::move(req.on_chunk), prompt_len,
                    fmt::format("the input ({} tokens) is longer than the model's context length ({} tokens)", prompt_len, ctx));
  if (prompt_len + 1 > pool_tokens)
    return m.reject(rid, sp.n, std::move(req.on_chunk), prompt_len,
                    fmt::format("the input ({} tokens) needs more KV cache than the pool holds ({} tokens)", prompt_len, pool_tokens));

  auto ch = std::make_shared<detail::RequestChannel>(rid, sp.n, std::move(req.on_chunk));
  std::weak_ptr<Scheduler> weak = m.scheduler;
  ch->wake = [weak] {
    if (auto s = weak.lock()) s->wake();
  };
  auto group = sp.n > 1 ? std::make_shared<SampleGroup>() : nullptr;
  std::vector<std::unique_ptr<SchedRequest>> samples;
  const auto now = SteadyClock::now();
  for (int i = 0; i < sp.n; ++i) {
    auto r = std::make_unique<SchedRequest>();
    r->serial = serial;
    r->index = i;
    r->channel = ch;
    r->group = group;
    r->params = sp;
    r->tokens = ids;
    r->prompt_len = prompt_len;
    r->max_new = std::min<int64_t>({sp.max_new_tokens, ctx - prompt_len, pool_tokens - prompt_len});
    SamplingOptions so;
    so.temperature = sp.temperature;
    so.top_p = sp.top_p;
    so.top_k = sp.top_k;
    so.min_p = sp.min_p;
    so.frequency_penalty = sp.frequency_penalty;
    so.presence_penalty = sp.presence_penalty;
    so.repetition_penalty = sp.repetition_penalty;
    so.min_new_tokens = sp.min_new_tokens;
    so.logit_bias = sp.logit_bias;
    if (!sp.ignore_eos) so.eos_ids = m.eos_ids;
    so.eos_ids.insert(so.eos_ids.end(), sp.stop_token_ids.begin(), sp.stop_token_ids.end());
    so.seed = (sp.seed ? *sp.seed : derive_seed(m.config.random_seed, rid)) + static_cast<uint64_t>(i);
    so.return_logprob = sp.return_logprob;
    so.top_logprobs_num = sp.top_logprobs_num;
    r->sampler = std::make_unique<SamplerState>(so, std::span<const int32_t>(ids));
    if (m.grammar && (!sp.regex.empty() || !sp.json_schema.empty() || !sp.ebnf.empty())) r->mask = m.grammar(sp);
    r->submitted = now;
    samples.push_back(std::move(r));
  }
  m.scheduler->submit(std::move(samples));
  return RequestHandle(ch);
}

Result Engine::generate(Request request) {
  if (request.sampling.n != 1)
    SGL_THROW(Status::kInvalidArgument, "generate() returns one result; for n = {} use submit() and wait()", request.sampling.n);
  return submit(std::move(request)).result();
}

std::vector<int32_t> Engine::tokenize(const std::string& text, bool add_special) const {
  if (!impl_->text) SGL_THROW(Status::kUnsupported, "this model/build has no tokenizer");
  return impl_->text->encode(text, add_special, false);
}

std::string Engine::detokenize(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  if (!impl_->text) SGL_THROW(Status::kUnsupported, "this model/build has no tokenizer");
  for (int32_t t : ids)
    if (t < 0 || t >= impl_->model->config.n_vocab)
      SGL_THROW(Status::kInvalidArgument, "token id {} is outside the vocabulary [0, {})", t, impl_->model->config.n_vocab);
  return impl_->text->decode(ids, skip_special_tokens, true);
}

std::string Engine::apply_chat_template(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  if (!impl_->text) SGL_THROW(Status::kUnsupported, "this model/build has no tokenizer");
  return impl_->text->apply_chat_template(messages, add_generation_prompt);
}

bool Engine::has_tokenizer() const { return impl_->text != nullptr; }
const Tokenizer& Engine::tokenizer() const {
  if (!impl_->text) SGL_THROW(Status::kUnsupported, "this model/build has no tokenizer");
  return *impl_->text->tokenizer();
}
bool Engine::flush_cache() { return impl_->scheduler->flush_cache(); }
EngineStats Engine::stats() const { return impl_->scheduler->stats(); }
const EngineConfig& Engine::config() const { return impl_->config; }
int64_t Engine::vocab_size() const { return impl_->model->config.n_vocab; }
std::vector<int32_t> Engine::eos_token_ids() const { return impl_->eos_ids; }

}  // namespace sgl
