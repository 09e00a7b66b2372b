/*
 * examples/c — the sgl C ABI from plain C99: load a model, run one greedy request blocking and
 * streaming, then a JSON-schema-constrained request.
 *
 *   sgl-example-c MODEL.gguf [DEVICE]
 *
 * The Rust and Go examples print exactly the same lines for the same model (CI compares them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgl.h"

/* Text is printed with bytes outside printable ASCII escaped, so the output is comparable
 * byte for byte across languages whatever the (random) model emits. */
static void print_escaped(const char* label, const char* s, size_t n) {
  size_t i;
  printf("%s: \"", label);
  for (i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\\' || c == '"') printf("\\%c", c);
    else if (c >= 0x20 && c < 0x7f) putchar(c);
    else printf("\\x%02x", c);
  }
  printf("\"\n");
}

static void print_ids(const char* label, const int32_t* ids, size_t n) {
  size_t i;
  printf("%s:", label);
  for (i = 0; i < n; ++i) printf(" %d", (int)ids[i]);
  printf("\n");
}

static int fail(const char* what, sgl_status st) {
  fprintf(stderr, "%s failed: %s: %s\n", what, sgl_status_string(st), sgl_last_error());
  return 1;
}

/* Collects streamed chunks; grows its buffers as needed. */
typedef struct {
  char* text;
  size_t text_len;
  int32_t* ids;
  size_t n_ids;
  int chunks;
} stream_buf;

static int on_chunk(const sgl_chunk* chunk, void* user_data) {
  stream_buf* b = (stream_buf*)user_data;
  char* t = (char*)realloc(b->text, b->text_len + chunk->text_len + 1);
  int32_t* ids = (int32_t*)realloc(b->ids, (b->n_ids + chunk->n_token_ids + 1) * sizeof(int32_t));
  if (t) b->text = t;
  if (ids) b->ids = ids;
  if (!t || !ids) return 1; /* out of memory: stop the request */
  memcpy(b->text + b->text_len, chunk->text, chunk->text_len);
  b->text_len += chunk->text_len;
  if (chunk->n_token_ids) memcpy(b->ids + b->n_ids, chunk->token_ids, chunk->n_token_ids * sizeof(int32_t));
  b->n_ids += chunk->n_token_ids;
  b->chunks++;
  return 0; /* keep going */
}

int main(int argc, char** argv) {
  static const int32_t prompt_ids[] = {1, 17, 42, 99, 5, 230, 64};
  static const char* schema = "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"}},\"required\":[\"n\"]}";
  sgl_engine_params ep;
  sgl_engine* engine = NULL;
  sgl_prompt prompt;
  sgl_sampling_params sp;
  sgl_result* res = NULL;
  stream_buf sb;
  const char* text;
  const int32_t* ids;
  size_t n, len;
  sgl_status st;
  int32_t* tok = NULL;

  if (argc < 2) {
    fprintf(stderr, "usage: %s MODEL.gguf [DEVICE]\n", argv[0]);
    return 2;
  }
  if (sgl_abi_version() != SGL_ABI_VERSION) {
    fprintf(stderr, "libsgl ABI %d, header ABI %d\n", sgl_abi_version(), SGL_ABI_VERSION);
    return 1;
  }
  printf("sgl %s (ABI %d)\n", sgl_version(), sgl_abi_version());

  ep = sgl_engine_params_default();
  ep.model_path = argv[1];
  ep.device = argc > 2 ? argv[2] : "cpu";
  ep.threads = 1;
  ep.max_total_tokens = 4096;
  st = sgl_engine_create(&ep, &engine);
  if (st != SGL_OK) return fail("sgl_engine_create", st);

  /* One greedy request, given as token ids. */
  prompt = sgl_prompt_default();
  prompt.input_ids = prompt_ids;
  prompt.n_input_ids = sizeof prompt_ids / sizeof prompt_ids[0];
  sp = sgl_sampling_params_default();
  sp.temperature = 0.0f;
  sp.max_new_tokens = 12;
  sp.ignore_eos = 1;

  /* 1. Blocking. */
  st = sgl_generate(engine, &prompt, &sp, &res);
  if (st != SGL_OK) return fail("sgl_generate", st);
  ids = sgl_result_token_ids(res, &n);
  print_ids("blocking ids", ids, n);
  text = sgl_result_text(res, &len);
  print_escaped("blocking text", text, len);
  printf("blocking finish: %s\n", sgl_result_finish_type(res));
  sgl_result_free(res);
  res = NULL;

  /* 2. Streaming: the callback runs on this thread for every chunk. */
  memset(&sb, 0, sizeof sb);
  st = sgl_generate_stream(engine, &prompt, &sp, on_chunk, &sb, &res);
  if (st != SGL_OK) return fail("sgl_generate_stream", st);
  print_ids("stream ids", sb.ids, sb.n_ids);
  print_escaped("stream text", sb.text ? sb.text : "", sb.text_len);
  printf("stream finish: %s\n", sgl_result_finish_type(res));
  sgl_result_free(res);
  res = NULL;
  free(sb.text);
  free(sb.ids);

  /* 3. Constrained by a JSON schema. An engine without grammar support says so clearly. */
  sp.json_schema = schema;
  sp.max_new_tokens = 24;
  st = sgl_generate(engine, &prompt, &sp, &res);
  if (st == SGL_OK) {
    text = sgl_result_text(res, &len);
    print_escaped("json text", text, len);
    printf("json finish: %s\n", sgl_result_finish_type(res));
    sgl_result_free(res);
  } else {
    printf("json error: %s: %s\n", sgl_status_string(st), sgl_last_error());
  }

  /* 4. Tokenizer (unsupported for models without one). */
  st = sgl_tokenize(engine, "Hello world", 11, 1, &tok, &n);
  if (st == SGL_OK) {
    print_ids("tokenize", tok, n);
    sgl_tokens_free(tok);
  } else {
    printf("tokenize error: %s: %s\n", sgl_status_string(st), sgl_last_error());
  }

  sgl_engine_destroy(engine);
  return 0;
}
