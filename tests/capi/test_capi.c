/* The C ABI from C99: every function, its results, and its misuse (NULL handles and pointers,
 * out-of-range values, wrong struct sizes, malformed JSON). Every misuse must give an error
 * code and a message, never a crash; CI runs this under ASan+UBSan.
 *
 * Not exercised because they are undefined behaviour by contract (documented in sgl.h): freeing
 * a handle twice and using an engine after sgl_engine_destroy. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "capi_test.h"

static const int32_t kPrompt[] = {1, 17, 42, 99, 5, 230, 64};
#define PROMPT_LEN (sizeof kPrompt / sizeof kPrompt[0])

static sgl_prompt ids_prompt(void) {
  sgl_prompt p = sgl_prompt_default();
  p.input_ids = kPrompt;
  p.n_input_ids = PROMPT_LEN;
  return p;
}

static sgl_sampling_params greedy(int max_new) {
  sgl_sampling_params sp = sgl_sampling_params_default();
  sp.temperature = 0.0f;
  sp.max_new_tokens = max_new;
  sp.ignore_eos = 1;
  return sp;
}

static void test_versions_and_status(void) {
  int s;
  CHECK(sgl_version() != NULL && strchr(sgl_version(), '.') != NULL);
  CHECK(sgl_abi_version() == SGL_ABI_VERSION);
  CHECK(strcmp(sgl_status_string(SGL_OK), "ok") == 0);
  CHECK(strcmp(sgl_status_string(SGL_ERR_INVALID_ARGUMENT), "invalid argument") == 0);
  CHECK(strcmp(sgl_status_string(SGL_ERR_PARSE), "parse error") == 0);
  for (s = SGL_OK; s <= SGL_ERR_INTERNAL; ++s) {
    CHECK(sgl_status_string((sgl_status)s)[0] != '\0');
    CHECK(strcmp(sgl_status_string((sgl_status)s), "unknown status") != 0);
  }
  CHECK(strcmp(sgl_status_string((sgl_status)15), "unknown status") == 0);
  CHECK(sgl_last_error() != NULL);
  CHECK(sgl_last_error_offset() == -1);
}

static void test_create_misuse(void) {
  sgl_engine* e = (sgl_engine*)&e; /* must be reset to NULL on failure */
  sgl_engine_params p = capi_test_engine_params("main", "cpu");

  CHECK_ERR(sgl_engine_create(NULL, &e), SGL_ERR_INVALID_ARGUMENT, "params is NULL");
  CHECK(e == NULL);
  CHECK_ERR(sgl_engine_create(&p, NULL), SGL_ERR_INVALID_ARGUMENT, "out_engine is NULL");

  p.struct_size = 8;
  CHECK_ERR(sgl_engine_create(&p, &e), SGL_ERR_INVALID_ARGUMENT, "sgl_engine_params.struct_size is 8");
  p.struct_size = sizeof p + 8; /* a newer caller's larger struct */
  CHECK_ERR(sgl_engine_create(&p, &e), SGL_ERR_INVALID_ARGUMENT, "struct_size");
  p = capi_test_engine_params("main", "cpu");

  p.model_path = NULL;
  CHECK_ERR(sgl_engine_create(&p, &e), SGL_ERR_INVALID_ARGUMENT, "model_path is NULL");
  p.model_path = "/nonexistent/dir/model.gguf";
  {
    sgl_status st = sgl_engine_create(&p, &e);
    CHECK(st != SGL_OK && e == NULL);
    CHECK(strstr(sgl_last_error(), "sgl_engine_create: ") == sgl_last_error());
    CHECK(strlen(sgl_last_error()) > strlen("sgl_engine_create: "));
  }
  p = capi_test_engine_params("main", "cpu");
  p.page_size = 0;
  CHECK_ERR(sgl_engine_create(&p, &e), SGL_ERR_INVALID_ARGUMENT, "page_size");
  p = capi_test_engine_params("main", "cpu");
  p.threads = -3;
  CHECK_ERR(sgl_engine_create(&p, &e), SGL_ERR_INVALID_ARGUMENT, "threads");
  p = capi_test_engine_params("main", "cpu");
  p.device = "no-such-device";
  CHECK(sgl_engine_create(&p, &e) != SGL_OK && e == NULL && sgl_last_error()[0] != '\0');
  p = capi_test_engine_params("main", "cpu");
  p.schedule_policy = "bogus";
  CHECK_ERR(sgl_engine_create(&p, &e), SGL_ERR_INVALID_ARGUMENT, "schedule_policy");

  sgl_engine_destroy(NULL); /* a no-op */
}

static void test_stats(sgl_engine* e) {
  sgl_engine_stats s = sgl_engine_stats_default();
  int flushed = -1;
  CHECK(s.struct_size == sizeof s);
  CHECK_ERR(sgl_engine_get_stats(NULL, &s), SGL_ERR_INVALID_ARGUMENT, "engine is NULL");
  CHECK_ERR(sgl_engine_get_stats(e, NULL), SGL_ERR_INVALID_ARGUMENT, "out is NULL");
  s.struct_size = 3;
  CHECK_ERR(sgl_engine_get_stats(e, &s), SGL_ERR_INVALID_ARGUMENT, "sgl_engine_stats.struct_size");
  s = sgl_engine_stats_default();
  CHECK_OK(sgl_engine_get_stats(e, &s));
  CHECK(s.struct_size == sizeof s);
  CHECK(s.vocab_size == 512);
  CHECK(s.context_length == 512);
  CHECK(s.max_total_tokens > 0 && s.max_total_tokens <= 4096);
  CHECK(s.kv_pages_total > 0 && s.page_size == 1);

  CHECK_ERR(sgl_engine_flush_cache(NULL, &flushed), SGL_ERR_INVALID_ARGUMENT, "engine is NULL");
  CHECK(flushed == 0);
  CHECK_OK(sgl_engine_flush_cache(e, &flushed));
  CHECK(flushed == 1);
  CHECK_OK(sgl_engine_flush_cache(e, NULL));
}

static void test_generate_misuse(sgl_engine* e) {
  sgl_prompt p = ids_prompt();
  sgl_sampling_params sp = greedy(4);
  sgl_result* r = (sgl_result*)&r;
  static const int32_t bad_ids[] = {1, 512};
  const char* stops[] = {"a", NULL};
  float nan_value = (float)NAN;

  CHECK_ERR(sgl_generate(NULL, &p, &sp, &r), SGL_ERR_INVALID_ARGUMENT, "sgl_generate: engine is NULL");
  CHECK(r == NULL);
  CHECK_ERR(sgl_generate(e, NULL, &sp, &r), SGL_ERR_INVALID_ARGUMENT, "prompt is NULL");
  CHECK_ERR(sgl_generate(e, &p, &sp, NULL), SGL_ERR_INVALID_ARGUMENT, "out_result is NULL");

  p.struct_size = 0;
  CHECK_ERR(sgl_generate(e, &p, &sp, &r), SGL_ERR_INVALID_ARGUMENT, "sgl_prompt.struct_size is 0");
  p = ids_prompt();
  sp.struct_size = sizeof sp - 8;
  CHECK_ERR(sgl_generate(e, &p, &sp, &r), SGL_ERR_INVALID_ARGUMENT, "sgl_sampling_params.struct_size");
  sp = greedy(4);

  /* Prompt forms: none, two, bad ids, NULL arrays with a length. */
  p = sgl_prompt_default();
  CHECK_ERR(sgl_generate(e, &p, &sp, &r), SGL_ERR_INVALID_ARGUMENT, "exactly one of");
  p = ids_prompt();
  p.text = "hello";
  p.text_len = 5;
  CHECK_ERR(sgl_generate(e, &p, &sp, &r), SGL_ERR_INVALID_ARGUMENT, "exactly one of");
  p = ids_prompt();
  p.input_ids = bad_ids;
  p.n_input_ids = 2;
  CHECK_ERR(sgl_generate(e, &p, &sp, &r), SGL_ERR_INVALID_ARGUMENT, "outside the vocabulary");
  p.input_ids = NULL;
  CHECK_ERR(sgl_generate(e, &p, &sp, &r), SGL_ERR_INVALID_ARGUMENT, "prompt.input_ids is NULL");
  p = sgl_prompt_default();
  p.text_len = 3;
  CHECK_ERR(sgl_generate(e, &p, &sp, &r), SGL_ERR_INVALID_ARGUMENT, "prompt.text is NULL but its length is 3");
  p = sgl_prompt_default();
  p.messages_json = "[{\"role\": \"user\", \"content\": }]";
  p.messages_json_len = strlen(p.messages_json);
  CHECK_ERR(sgl_generate(e, &p, &sp, &r), SGL_ERR_PARSE, "messages JSON");
  CHECK(sgl_last_error_offset() == 29);
  p.messages_json = "{\"role\": \"user\"}";
  p.messages_json_len = strlen(p.messages_json);
  CHECK_ERR(sgl_generate(e, &p, &sp, &r), SGL_ERR_INVALID_ARGUMENT, "must be an array");
  CHECK(sgl_last_error_offset() == -1);
  p.messages_json = "[{\"role\": \"user\"}]";
  p.messages_json_len = strlen(p.messages_json);
  CHECK_ERR(sgl_generate(e, &p, &sp, &r), SGL_ERR_INVALID_ARGUMENT, "messages[0]");
  p = ids_prompt();

  /* Out-of-range sampling values name the field. */
  sp.temperature = -1.0f;
  CHECK_ERR(sgl_generate(e, &p, &sp, &r), SGL_ERR_INVALID_ARGUMENT, "temperature");
  sp = greedy(4);
  sp.top_p = nan_value;
  CHECK_ERR(sgl_generate(e, &p, &sp, &r), SGL_ERR_INVALID_ARGUMENT, "top_p is NaN");
  sp = greedy(4);
  sp.top_p = 1.5f;
  CHECK_ERR(sgl_generate(e, &p, &sp, &r), SGL_ERR_INVALID_ARGUMENT, "top_p");
  sp = greedy(4);
  sp.top_k = 0;
  CHECK_ERR(sgl_generate(e, &p, &sp, &r), SGL_ERR_INVALID_ARGUMENT, "top_k");
  sp = greedy(4);
  sp.max_new_tokens = -1;
  CHECK_ERR(sgl_generate(e, &p, &sp, &r), SGL_ERR_INVALID_ARGUMENT, "max_new_tokens");
  sp = greedy(4);
  sp.repetition_penalty = 0.0f;
  CHECK_ERR(sgl_generate(e, &p, &sp, &r), SGL_ERR_INVALID_ARGUMENT, "repetition_penalty");
  sp = greedy(4);
  sp.n_stop = 2;
  CHECK_ERR(sgl_generate(e, &p, &sp, &r), SGL_ERR_INVALID_ARGUMENT, "sampling.stop is NULL");
  sp.stop = stops;
  CHECK_ERR(sgl_generate(e, &p, &sp, &r), SGL_ERR_INVALID_ARGUMENT, "sampling.stop[1] is NULL");
  sp = greedy(4);
  sp.n_stop_token_ids = 1;
  CHECK_ERR(sgl_generate(e, &p, &sp, &r), SGL_ERR_INVALID_ARGUMENT, "sampling.stop_token_ids is NULL");
  sp.stop_token_ids = bad_ids + 1; /* 512: outside the vocabulary */
  CHECK_ERR(sgl_generate(e, &p, &sp, &r), SGL_ERR_INVALID_ARGUMENT, "stop_token_ids");
  sp = greedy(4);
  sp.regex = "a+";
  sp.ebnf = "root ::= \"a\"";
  CHECK_ERR(sgl_generate(e, &p, &sp, &r), SGL_ERR_INVALID_ARGUMENT, "only one of regex, json_schema and ebnf");
  CHECK(r == NULL);
}

static void test_generate(sgl_engine* e) {
  sgl_prompt p = ids_prompt();
  sgl_sampling_params sp = greedy(8);
  sgl_result *r = NULL, *r2 = NULL;
  sgl_usage u = sgl_usage_default();
  const int32_t *ids, *ids2;
  size_t n = 99, n2 = 0, len = 99;
  const char* text;

  p.rid = "c-req-1";
  CHECK_OK(sgl_generate(e, &p, &sp, &r));
  CHECK(r != NULL);
  ids = sgl_result_token_ids(r, &n);
  CHECK(n == 8 && ids != NULL);
  CHECK(sgl_result_token_ids(r, NULL) == ids);
  CHECK(sgl_result_finish_reason(r) == SGL_FINISH_LENGTH);
  CHECK(strcmp(sgl_result_finish_type(r), "length") == 0);
  CHECK(strcmp(sgl_result_finish_message(r), "") == 0);
  CHECK(strcmp(sgl_result_rid(r), "c-req-1") == 0);
  text = sgl_result_text(r, &len);
  CHECK(text != NULL && strlen(text) == len);
  CHECK(sgl_result_text(r, NULL) == text);
  CHECK_OK(sgl_result_usage(r, &u));
  CHECK(u.prompt_tokens == (int64_t)PROMPT_LEN && u.completion_tokens == 8);
  CHECK(u.e2e_latency >= 0.0 && u.time_to_first_token >= 0.0);
  u.struct_size = 1;
  CHECK_ERR(sgl_result_usage(r, &u), SGL_ERR_INVALID_ARGUMENT, "sgl_usage.struct_size is 1");
  CHECK_ERR(sgl_result_usage(r, NULL), SGL_ERR_INVALID_ARGUMENT, "out is NULL");
  CHECK_ERR(sgl_result_usage(NULL, &u), SGL_ERR_INVALID_ARGUMENT, "result is NULL");

  /* Greedy is deterministic; the rid is assigned when not given; the prefix cache serves the
   * repeated prompt. */
  p.rid = NULL;
  CHECK_OK(sgl_generate(e, &p, &sp, &r2));
  ids2 = sgl_result_token_ids(r2, &n2);
  CHECK(n2 == n && memcmp(ids, ids2, n * sizeof *ids) == 0);
  CHECK(strlen(sgl_result_rid(r2)) > 0 && strcmp(sgl_result_rid(r2), "c-req-1") != 0);
  u = sgl_usage_default();
  CHECK_OK(sgl_result_usage(r2, &u));
  CHECK(u.cached_tokens > 0);
  sgl_result_free(r2);

  /* A stop token id from the greedy output ends the request there. */
  {
    sgl_sampling_params st = greedy(8);
    st.stop_token_ids = &ids[3];
    st.n_stop_token_ids = 1;
    CHECK_OK(sgl_generate(e, &p, &st, &r2));
    ids2 = sgl_result_token_ids(r2, &n2);
    CHECK(sgl_result_finish_reason(r2) == SGL_FINISH_STOP);
    CHECK(n2 >= 1 && n2 <= 4 && ids2[n2 - 1] == ids[3]);
    sgl_result_free(r2);
  }
  /* max_new_tokens = 0 is valid. */
  {
    sgl_sampling_params z = greedy(0);
    CHECK_OK(sgl_generate(e, &p, &z, &r2));
    sgl_result_token_ids(r2, &n2);
    CHECK(n2 == 0);
    CHECK(sgl_result_token_ids(r2, NULL) == NULL);
    sgl_result_free(r2);
  }
  /* NULL sampling means the defaults (temperature 1, 128 tokens, stop at EOS). */
  CHECK_OK(sgl_generate(e, &p, NULL, &r2));
  sgl_result_token_ids(r2, &n2);
  CHECK(n2 >= 1 && n2 <= 128);
  sgl_result_free(r2);
  /* A seeded sample repeats. */
  {
    sgl_sampling_params s1 = sgl_sampling_params_default();
    sgl_result* a = NULL;
    sgl_result* b = NULL;
    const int32_t *ia, *ib;
    size_t na = 0, nb = 0;
    s1.max_new_tokens = 6;
    s1.ignore_eos = 1;
    s1.has_seed = 1;
    s1.seed = 1234;
    CHECK_OK(sgl_generate(e, &p, &s1, &a));
    CHECK_OK(sgl_generate(e, &p, &s1, &b));
    ia = sgl_result_token_ids(a, &na);
    ib = sgl_result_token_ids(b, &nb);
    CHECK(na == 6 && nb == 6 && memcmp(ia, ib, 6 * sizeof *ia) == 0);
    sgl_result_free(a);
    sgl_result_free(b);
  }
  /* A prompt longer than the context is accepted but finishes with an abort saying why. */
  {
    int32_t* longp = (int32_t*)calloc(600, sizeof(int32_t));
    sgl_prompt lp = sgl_prompt_default();
    size_t i;
    for (i = 0; i < 600; ++i) longp[i] = (int32_t)(3 + i % 500);
    lp.input_ids = longp;
    lp.n_input_ids = 600;
    CHECK_OK(sgl_generate(e, &lp, &sp, &r2));
    CHECK(sgl_result_finish_reason(r2) == SGL_FINISH_ABORT);
    CHECK(strstr(sgl_result_finish_message(r2), "context length") != NULL);
    sgl_result_free(r2);
    free(longp);
  }
  sgl_result_free(r);
}

static void test_result_null(void) {
  size_t n = 7;
  CHECK(sgl_result_text(NULL, &n) == NULL && n == 0);
  CHECK(strstr(sgl_last_error(), "sgl_result_text: result is NULL") != NULL);
  n = 7;
  CHECK(sgl_result_token_ids(NULL, &n) == NULL && n == 0);
  CHECK(strstr(sgl_last_error(), "result is NULL") != NULL);
  CHECK(sgl_result_finish_reason(NULL) == SGL_FINISH_NONE);
  CHECK(sgl_result_finish_type(NULL) == NULL);
  CHECK(sgl_result_finish_message(NULL) == NULL);
  CHECK(sgl_result_rid(NULL) == NULL);
  CHECK(strstr(sgl_last_error(), "sgl_result_rid") != NULL);
  sgl_result_free(NULL);
  sgl_request_free(NULL);
  sgl_tokens_free(NULL);
  sgl_string_free(NULL);
}

typedef struct {
  int32_t ids[512];
  size_t n;
  int calls, finished_seen, stop_after, calls_after_stop, stopped;
} collect;

static int on_chunk(const sgl_chunk* c, void* user_data) {
  collect* b = (collect*)user_data;
  if (b->stopped) b->calls_after_stop++;
  b->calls++;
  CHECK(c->struct_size == sizeof(sgl_chunk));
  CHECK(c->text != NULL && strlen(c->text) == c->text_len);
  if (c->n_token_ids) {
    CHECK(c->token_ids != NULL && b->n + c->n_token_ids <= 512);
    if (b->n + c->n_token_ids <= 512) memcpy(b->ids + b->n, c->token_ids, c->n_token_ids * sizeof(int32_t));
    b->n += c->n_token_ids;
  }
  if (c->finished) b->finished_seen++;
  if (b->stop_after && b->calls >= b->stop_after) {
    b->stopped = 1;
    return 1;
  }
  return 0;
}

static void test_stream(sgl_engine* e) {
  sgl_prompt p = ids_prompt();
  sgl_sampling_params sp = greedy(10);
  sgl_result *ref = NULL, *r = NULL;
  collect b;
  const int32_t* ref_ids;
  size_t ref_n = 0, n = 0;

  CHECK_OK(sgl_generate(e, &p, &sp, &ref));
  ref_ids = sgl_result_token_ids(ref, &ref_n);

  memset(&b, 0, sizeof b);
  CHECK_ERR(sgl_generate_stream(NULL, &p, &sp, on_chunk, &b, &r), SGL_ERR_INVALID_ARGUMENT, "engine is NULL");
  CHECK_ERR(sgl_generate_stream(e, &p, &sp, NULL, &b, &r), SGL_ERR_INVALID_ARGUMENT, "callback is NULL");
  CHECK_ERR(sgl_generate_stream(e, NULL, &sp, on_chunk, &b, &r), SGL_ERR_INVALID_ARGUMENT, "prompt is NULL");
  CHECK(b.calls == 0 && r == NULL);

  CHECK_OK(sgl_generate_stream(e, &p, &sp, on_chunk, &b, &r));
  CHECK(b.n == ref_n && memcmp(b.ids, ref_ids, ref_n * sizeof *ref_ids) == 0);
  CHECK(b.finished_seen == 1 && b.calls >= 1);
  CHECK(sgl_result_finish_reason(r) == SGL_FINISH_LENGTH);
  sgl_result_token_ids(r, &n);
  CHECK(n == ref_n);
  sgl_result_free(r);
  r = NULL;

  /* out_result may be NULL. */
  memset(&b, 0, sizeof b);
  CHECK_OK(sgl_generate_stream(e, &p, &sp, on_chunk, &b, NULL));
  CHECK(b.n == ref_n);

  /* Returning nonzero stops the request: the callback is never called again and the request
   * ends early with an abort (unless all 480 tokens were already made, which the check allows). */
  memset(&b, 0, sizeof b);
  b.stop_after = 1;
  sp = greedy(480);
  CHECK_OK(sgl_generate_stream(e, &p, &sp, on_chunk, &b, &r));
  CHECK(b.calls == 1 && b.calls_after_stop == 0);
  sgl_result_token_ids(r, &n);
  CHECK((sgl_result_finish_reason(r) == SGL_FINISH_ABORT && n < 480 &&
         strstr(sgl_result_finish_message(r), "cancel") != NULL) ||
        (sgl_result_finish_reason(r) == SGL_FINISH_LENGTH && n == 480));
  sgl_result_free(r);
  sgl_result_free(ref);
}

static void test_requests(sgl_engine* e) {
  sgl_prompt p = ids_prompt();
  sgl_sampling_params sp = greedy(6);
  sgl_request* q = (sgl_request*)&q;
  sgl_result *r1 = NULL, *r2 = NULL;
  int done = -1;
  size_t n1 = 0, n2 = 0;
  const int32_t *i1, *i2;

  CHECK_ERR(sgl_submit(NULL, &p, &sp, &q), SGL_ERR_INVALID_ARGUMENT, "sgl_submit: engine is NULL");
  CHECK(q == NULL);
  CHECK_ERR(sgl_submit(e, &p, &sp, NULL), SGL_ERR_INVALID_ARGUMENT, "out_request is NULL");
  sp.temperature = -2.0f;
  CHECK_ERR(sgl_submit(e, &p, &sp, &q), SGL_ERR_INVALID_ARGUMENT, "temperature");
  sp = greedy(6);
  CHECK_ERR(sgl_request_cancel(NULL), SGL_ERR_INVALID_ARGUMENT, "request is NULL");
  CHECK_ERR(sgl_request_done(NULL, &done), SGL_ERR_INVALID_ARGUMENT, "request is NULL");
  CHECK(done == 0);
  CHECK_ERR(sgl_request_wait(NULL, &r1), SGL_ERR_INVALID_ARGUMENT, "request is NULL");

  CHECK_OK(sgl_submit(e, &p, &sp, &q));
  CHECK_ERR(sgl_request_done(q, NULL), SGL_ERR_INVALID_ARGUMENT, "out_done is NULL");
  CHECK_ERR(sgl_request_wait(q, NULL), SGL_ERR_INVALID_ARGUMENT, "out_result is NULL");
  CHECK_OK(sgl_request_wait(q, &r1));
  CHECK_OK(sgl_request_done(q, &done));
  CHECK(done == 1);
  CHECK_OK(sgl_request_wait(q, &r2)); /* waiting again gives another copy */
  i1 = sgl_result_token_ids(r1, &n1);
  i2 = sgl_result_token_ids(r2, &n2);
  CHECK(n1 == 6 && n2 == 6 && memcmp(i1, i2, 6 * sizeof *i1) == 0 && r1 != r2);
  CHECK_OK(sgl_request_cancel(q)); /* after it finished: a no-op */
  sgl_result_free(r2);
  CHECK_OK(sgl_request_wait(q, &r2));
  CHECK(sgl_result_finish_reason(r2) == SGL_FINISH_LENGTH);
  sgl_result_free(r2);
  sgl_request_free(q);
  sgl_result_free(r1);

  /* Cancel right after submitting a long request. */
  sp = greedy(480);
  CHECK_OK(sgl_submit(e, &p, &sp, &q));
  CHECK_OK(sgl_request_cancel(q));
  CHECK_OK(sgl_request_wait(q, &r1));
  sgl_result_token_ids(r1, &n1);
  CHECK((sgl_result_finish_reason(r1) == SGL_FINISH_ABORT && strstr(sgl_result_finish_message(r1), "cancel")) ||
        n1 == 480);
  sgl_result_free(r1);
  sgl_request_free(q);
}

static void test_text_calls(sgl_engine* e) {
  int32_t* ids = (int32_t*)&ids;
  size_t n = 5, len = 5;
  char* text = (char*)&text;
  sgl_status st;
  static const int32_t bad[] = {1, 100000};
  static const char* msgs = "[{\"role\":\"user\",\"content\":\"Hi\"}]";

  CHECK_ERR(sgl_tokenize(NULL, "a", 1, 1, &ids, &n), SGL_ERR_INVALID_ARGUMENT, "engine is NULL");
  CHECK(ids == NULL && n == 0);
  CHECK_ERR(sgl_tokenize(e, "a", 1, 1, NULL, &n), SGL_ERR_INVALID_ARGUMENT, "out_ids is NULL");
  CHECK_ERR(sgl_tokenize(e, "a", 1, 1, &ids, NULL), SGL_ERR_INVALID_ARGUMENT, "out_n is NULL");
  CHECK_ERR(sgl_tokenize(e, NULL, 4, 1, &ids, &n), SGL_ERR_INVALID_ARGUMENT, "text is NULL but its length is 4");
  CHECK_ERR(sgl_detokenize(NULL, bad, 1, 1, &text, &len), SGL_ERR_INVALID_ARGUMENT, "engine is NULL");
  CHECK(text == NULL && len == 0);
  CHECK_ERR(sgl_detokenize(e, bad, 1, 1, NULL, &len), SGL_ERR_INVALID_ARGUMENT, "out_text is NULL");
  CHECK_ERR(sgl_detokenize(e, NULL, 2, 1, &text, &len), SGL_ERR_INVALID_ARGUMENT, "ids is NULL");
  CHECK_ERR(sgl_apply_chat_template(NULL, msgs, strlen(msgs), 1, &text, &len), SGL_ERR_INVALID_ARGUMENT,
            "engine is NULL");
  CHECK_ERR(sgl_apply_chat_template(e, NULL, 0, 1, &text, &len), SGL_ERR_INVALID_ARGUMENT, "messages_json is NULL");
  CHECK_ERR(sgl_apply_chat_template(e, msgs, strlen(msgs), 1, NULL, &len), SGL_ERR_INVALID_ARGUMENT,
            "out_text is NULL");
  CHECK_ERR(sgl_apply_chat_template(e, "[1,", 3, 1, &text, &len), SGL_ERR_PARSE, "messages JSON");
  CHECK(sgl_last_error_offset() >= 2);

  st = sgl_tokenize(e, "Hello world", 11, 0, &ids, &n);
  if (st == SGL_ERR_UNSUPPORTED) {
    /* An engine without a tokenizer says so on every text call. */
    CHECK(strstr(sgl_last_error(), "tokenizer") != NULL && ids == NULL && n == 0);
    CHECK_ERR(sgl_detokenize(e, bad, 1, 1, &text, &len), SGL_ERR_UNSUPPORTED, "tokenizer");
    CHECK_ERR(sgl_apply_chat_template(e, msgs, strlen(msgs), 1, &text, &len), SGL_ERR_UNSUPPORTED, "tokenizer");
  } else {
    CHECK(st == SGL_OK && n > 0 && ids != NULL);
    CHECK_OK(sgl_detokenize(e, ids, n, 1, &text, &len));
    CHECK(text != NULL && len == 11 && memcmp(text, "Hello world", 11) == 0);
    sgl_string_free(text);
    sgl_tokens_free(ids);
    CHECK_OK(sgl_tokenize(e, "", 0, 0, &ids, &n));
    CHECK(n == 0 && ids == NULL);
    CHECK_ERR(sgl_detokenize(e, bad, 2, 1, &text, &len), SGL_ERR_INVALID_ARGUMENT, "outside the vocabulary");
    CHECK_OK(sgl_detokenize(e, NULL, 0, 1, &text, &len));
    CHECK(text != NULL && len == 0 && text[0] == '\0');
    sgl_string_free(text);
    st = sgl_apply_chat_template(e, msgs, strlen(msgs), 1, &text, &len);
    CHECK(st == SGL_OK || st == SGL_ERR_UNSUPPORTED || st == SGL_ERR_NOT_FOUND);
    if (st == SGL_OK) {
      CHECK(text != NULL && strstr(text, "Hi") != NULL && strlen(text) == len);
      sgl_string_free(text);
    }
    {
      /* A chat prompt works exactly when the template renders. */
      sgl_prompt cp = sgl_prompt_default();
      sgl_sampling_params sp = greedy(3);
      sgl_result* r = NULL;
      cp.messages_json = msgs;
      cp.messages_json_len = strlen(msgs);
      if (st == SGL_OK) {
        CHECK_OK(sgl_generate(e, &cp, &sp, &r));
        sgl_result_token_ids(r, &n);
        CHECK(n == 3);
        sgl_result_free(r);
      } else {
        CHECK(sgl_generate(e, &cp, &sp, &r) == st && r == NULL);
      }
    }
    {
      /* A text prompt is the same request as its tokens with the BOS rule applied. */
      sgl_prompt tp = sgl_prompt_default(), ip = sgl_prompt_default();
      sgl_sampling_params sp = greedy(6);
      sgl_result *rt = NULL, *ri = NULL;
      const int32_t *a, *b;
      size_t na = 0, nb = 0;
      CHECK_OK(sgl_tokenize(e, "Once upon a time", 16, 1, &ids, &n));
      tp.text = "Once upon a time";
      tp.text_len = 16;
      ip.input_ids = ids;
      ip.n_input_ids = n;
      CHECK_OK(sgl_generate(e, &tp, &sp, &rt));
      CHECK_OK(sgl_generate(e, &ip, &sp, &ri));
      a = sgl_result_token_ids(rt, &na);
      b = sgl_result_token_ids(ri, &nb);
      CHECK(na == 6 && nb == 6 && memcmp(a, b, 6 * sizeof *a) == 0);
      CHECK(strcmp(sgl_result_text(rt, NULL), sgl_result_text(ri, NULL)) == 0);
      CHECK_OK(sgl_detokenize(e, a, na, 1, &text, &len));
      CHECK(len == strlen(sgl_result_text(rt, NULL)) && memcmp(text, sgl_result_text(rt, NULL), len) == 0);
      sgl_string_free(text);
      sgl_result_free(rt);
      sgl_result_free(ri);
      sgl_tokens_free(ids);
    }
  }
}

/* sgl_engine_params grew by appending `quantization`: a caller with the older, shorter struct
 * still creates engines (unquantized); a new caller can quantize online or gets a clear error. */
static void test_quantization_param(void) {
  sgl_engine_params ep = capi_test_engine_params("main", "cpu");
  sgl_engine* e = NULL;
  ep.struct_size = offsetof(sgl_engine_params, quantization);
  ep.quantization = "not-read";
  CHECK_OK(sgl_engine_create(&ep, &e));
  sgl_engine_destroy(e);
  e = NULL;
  ep = capi_test_engine_params("main", "cpu");
  ep.quantization = "q8_0";
  CHECK_OK(sgl_engine_create(&ep, &e));
  if (e) {
    sgl_prompt p = ids_prompt();
    sgl_sampling_params sp = greedy(4);
    sgl_result* r = NULL;
    size_t n = 0;
    CHECK_OK(sgl_generate(e, &p, &sp, &r));
    sgl_result_token_ids(r, &n);
    CHECK(n == 4);
    sgl_result_free(r);
  }
  sgl_engine_destroy(e);
  e = NULL;
  ep.quantization = "q9_9";
  CHECK_ERR(sgl_engine_create(&ep, &e), SGL_ERR_INVALID_ARGUMENT, "unknown quantization 'q9_9'");
  CHECK(e == NULL);
}

/* A submitted request outlives its engine: destroying the engine aborts it. */
static void test_request_outlives_engine(void) {
  sgl_engine_params ep = capi_test_engine_params("main", "cpu");
  sgl_engine* e = NULL;
  sgl_prompt p = ids_prompt();
  sgl_sampling_params sp = greedy(480);
  sgl_request* q = NULL;
  sgl_result* r = NULL;
  size_t n = 0;
  CHECK_OK(sgl_engine_create(&ep, &e));
  CHECK_OK(sgl_submit(e, &p, &sp, &q));
  sgl_engine_destroy(e);
  CHECK_OK(sgl_request_wait(q, &r));
  sgl_result_token_ids(r, &n);
  CHECK(sgl_result_finish_reason(r) == SGL_FINISH_ABORT || n == 480);
  sgl_result_free(r);
  sgl_request_free(q);
}

int main(void) {
  sgl_engine_params ep;
  sgl_engine* e = NULL;
  test_versions_and_status();
  test_create_misuse();
  ep = capi_test_engine_params("main", "cpu");
  CHECK_OK(sgl_engine_create(&ep, &e));
  if (!e) {
    fprintf(stderr, "cannot create the engine: %s\n", sgl_last_error());
    return 1;
  }
  test_generate_misuse(e);
  test_generate(e);
  test_stats(e); /* after generating: the scheduler publishes its statistics as it steps */
  test_result_null();
  test_stream(e);
  test_requests(e);
  test_text_calls(e);
  sgl_engine_destroy(e);
  test_request_outlives_engine();
  test_quantization_param();
  if (capi_test_failures) fprintf(stderr, "%d check(s) failed\n", capi_test_failures);
  else printf("test_capi: all checks passed\n");
  return capi_test_failures ? 1 : 0;
}
