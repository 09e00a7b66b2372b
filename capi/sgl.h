/*
 * sgl.h — the stable C ABI of libsgl (C99, self-contained).
 *
 * A thin shim over the C++ API in include/sgl: load a model into an engine, run generations on
 * it (blocking, streaming with a callback, or submitted and waited on / cancelled from another
 * thread), tokenize, apply the chat template and read engine statistics.
 *
 * Conventions (SQLite / DuckDB / llama.h habits):
 *   - Every fallible call returns an sgl_status and writes its results through out-pointers.
 *     On failure the out-pointers are set to NULL / 0 and sgl_last_error() says why.
 *   - Handles are opaque. Each has exactly one free/destroy function; passing NULL to it is a
 *     no-op. Freeing a handle twice, or using it after it was freed, is undefined behaviour (as
 *     with free()); the library cannot detect it.
 *   - Ownership is stated on each function with fixed phrases: "the caller frees with X" (the
 *     object belongs to the caller, who must release it with X exactly once) and "owned by X"
 *     (the pointer stays valid until X is freed; never free it yourself).
 *   - Parameter structs start with `size_t struct_size`. Initialize them with their
 *     `*_default()` function, which sets struct_size = sizeof(the struct in the header you
 *     compiled against); fields are only ever appended, so programs built against an older
 *     header keep working. A struct_size the library does not know is SGL_ERR_INVALID_ARGUMENT.
 *   - Strings are UTF-8. Input strings are NUL-terminated unless a length is passed with them;
 *     output text comes with its length (it may contain NUL bytes) and is NUL-terminated too.
 *   - No C++ exception, STL type or allocator crosses this boundary; no function is variadic;
 *     every callback receives the caller's user_data pointer.
 *
 * Thread-safety:
 *   - sgl_engine: every function taking an engine may be called from any number of threads at
 *     once, except sgl_engine_destroy, which must not run concurrently with any other call on
 *     that engine. Calls on an engine after sgl_engine_destroy are undefined behaviour.
 *   - sgl_request: sgl_request_cancel, sgl_request_done and sgl_request_wait may be called
 *     from any threads at once (cancel from one thread while another waits is the intended use).
 *     sgl_request_free must not run concurrently with them. A request stays valid after its
 *     engine is destroyed (it then finishes with SGL_FINISH_ABORT).
 *   - sgl_result: immutable; read it from any threads; free it once.
 *   - sgl_last_error() is per thread.
 */
#ifndef SGL_H
#define SGL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Incremented on every incompatible change; it is also the shared library's soname suffix. */
#define SGL_ABI_VERSION 0

#if defined(_WIN32)
#define SGL_EXPORT __declspec(dllexport)
#else
#define SGL_EXPORT __attribute__((visibility("default")))
#endif

/* ---------------------------------------------------------------------------------------------
 * Versions, status codes and errors
 * ------------------------------------------------------------------------------------------- */

/* Library version as "MAJOR.MINOR.PATCH"; a static string, never freed. @since 0.1 */
SGL_EXPORT const char* sgl_version(void);

/* The ABI version the library was built with; compare with SGL_ABI_VERSION. @since 0.1 */
SGL_EXPORT int sgl_abi_version(void);

/* Result of every fallible call. The values match sgl::Status in include/sgl/error.hpp and
 * never change. @since 0.1 */
typedef enum sgl_status {
  SGL_OK = 0,
  SGL_ERR_INVALID_ARGUMENT = 1, /* a NULL handle/pointer, a value out of range, a bad struct_size */
  SGL_ERR_NOT_FOUND = 2,        /* a file or id does not exist */
  SGL_ERR_UNSUPPORTED = 3,      /* valid input this build or model cannot handle */
  SGL_ERR_PARSE = 4,            /* malformed text (JSON, regex, schema, grammar); see sgl_last_error_offset */
  SGL_ERR_OUT_OF_MEMORY = 5,    /* allocation failed, KV capacity or the request queue is full */
  SGL_ERR_IO = 6,               /* the OS refused a read or map */
  SGL_ERR_CANCELLED = 7,        /* the request was cancelled */
  SGL_ERR_INTERNAL = 8          /* a bug in sgl */
} sgl_status;

/* Fixed English text for a status ("invalid argument"); a static string, never freed. Unknown
 * values give "unknown status". Thread-safe. @since 0.1 */
SGL_EXPORT const char* sgl_status_string(sgl_status status);

/* The message of the most recent call on this thread that failed; "" after a call that
 * succeeded (every call returning sgl_status clears or sets it). Owned by the library: valid
 * until the next sgl_* call on this thread; copy it to keep it. Never NULL. @since 0.1 */
SGL_EXPORT const char* sgl_last_error(void);

/* For SGL_ERR_PARSE from the most recent failed call on this thread: the byte offset of the
 * error in the offending input (a regex, schema, grammar or JSON text), else -1. @since 0.1 */
SGL_EXPORT int64_t sgl_last_error_offset(void);

/* ---------------------------------------------------------------------------------------------
 * Engine
 * ------------------------------------------------------------------------------------------- */

/* A loaded model with its scheduler thread, KV pool and prefix cache. @since 0.1 */
typedef struct sgl_engine sgl_engine;

/* How an engine is built; names follow SGLang's server arguments. Strings are copied by
 * sgl_engine_create; NULL string fields mean "the default". @since 0.1 */
typedef struct sgl_engine_params {
  size_t struct_size;            /* = sizeof(sgl_engine_params); set by sgl_engine_params_default */
  const char* model_path;        /* required: a .gguf file or Hugging Face model directory */
  const char* tokenizer_path;    /* NULL or "" = the model's own tokenizer */
  const char* device;            /* NULL = "cpu"; also "ref", "gcu:0" (unsupported -> error) */
  int32_t threads;               /* kernel threads; 0 = all hardware threads */
  int32_t page_size;             /* tokens per KV page, >= 1 (default 1) */
  int64_t context_length;        /* 0 = the model's trained context */
  double mem_fraction_static;    /* share of RAM for weights + KV pool (default 0.5) */
  int64_t max_total_tokens;      /* KV pool size in tokens; 0 = derived from memory */
  int32_t max_running_requests;  /* 0 = derived */
  int32_t max_queued_requests;   /* 0 = unlimited; beyond it generation fails with OUT_OF_MEMORY */
  int64_t chunked_prefill_size;  /* default 8192; -1 = no chunking */
  int64_t max_prefill_tokens;    /* default 16384 */
  const char* schedule_policy;   /* NULL = "lpm"; "fcfs", "random", "dfs-weight" */
  const char* kv_cache_dtype;    /* NULL = "auto"; "f16", "bf16", "f32", "q8_0" */
  uint64_t random_seed;          /* base of per-request seeds (default 0) */
  int32_t disable_radix_cache;   /* nonzero disables prefix caching */
  /* Appended later; callers built against the header without it (a smaller struct_size) get
   * "none". */
  const char* quantization;      /* NULL = "none"; online weight quantization: "q8_0", "q4_0", "q4_k", ... */
} sgl_engine_params;

/* The defaults, with struct_size set. Thread-safe. @since 0.1 */
SGL_EXPORT sgl_engine_params sgl_engine_params_default(void);

/* Loads the model and starts the engine. On success *out_engine is a new engine; the caller
 * frees with sgl_engine_destroy. On failure *out_engine is NULL. Thread-safe. @since 0.1 */
SGL_EXPORT sgl_status sgl_engine_create(const sgl_engine_params* params, sgl_engine** out_engine);

/* Aborts every pending request (they finish with SGL_FINISH_ABORT), stops the scheduler and
 * frees the engine. NULL is a no-op. Must not run concurrently with other calls on the same
 * engine; the handle is invalid afterwards. @since 0.1 */
SGL_EXPORT void sgl_engine_destroy(sgl_engine* engine);

/* A snapshot of the engine's counters. The caller sets out->struct_size (use
 * sgl_engine_stats_default); the library fills the fields that fit. @since 0.1 */
typedef struct sgl_engine_stats {
  size_t struct_size;
  int64_t running_requests;
  int64_t waiting_requests;
  int64_t kv_pages_total;
  int64_t kv_pages_used;
  int64_t kv_pages_free;
  int64_t page_size;
  int64_t cached_tokens;
  double cache_hit_rate;
  double prefill_tokens_per_s;
  double decode_tokens_per_s;
  int64_t total_requests;
  int64_t finished_requests;
  int64_t retracted_requests;
  int64_t evicted_tokens;
  int64_t forward_steps;
  int64_t max_total_tokens;
  int64_t context_length;
  int64_t max_running_requests;
  int64_t vocab_size;
} sgl_engine_stats;

/* Zeroes with struct_size set. Thread-safe. @since 0.1 */
SGL_EXPORT sgl_engine_stats sgl_engine_stats_default(void);

/* Fills *out (see sgl_engine_stats). Thread-safe per engine. @since 0.1 */
SGL_EXPORT sgl_status sgl_engine_get_stats(sgl_engine* engine, sgl_engine_stats* out);

/* Drops every unlocked prefix-cache entry. *out_flushed (may be NULL) is 1 when the cache is
 * empty afterwards, 0 when running requests still hold pages. Thread-safe per engine. @since 0.1 */
SGL_EXPORT sgl_status sgl_engine_flush_cache(sgl_engine* engine, int* out_flushed);

/* ---------------------------------------------------------------------------------------------
 * Tokenizer and chat template (SGL_ERR_UNSUPPORTED when the model has no tokenizer)
 * ------------------------------------------------------------------------------------------- */

/* Encodes text_len bytes of text. add_special: add BOS/EOS as the vocabulary asks. On success
 * *out_ids is an array of *out_n ids (NULL when *out_n is 0); the caller frees with
 * sgl_tokens_free. Thread-safe per engine. @since 0.1 */
SGL_EXPORT sgl_status sgl_tokenize(sgl_engine* engine, const char* text, size_t text_len, int add_special,
                                   int32_t** out_ids, size_t* out_n);

/* Frees an array from sgl_tokenize. NULL is a no-op. @since 0.1 */
SGL_EXPORT void sgl_tokens_free(int32_t* ids);

/* Decodes n ids (ids may be NULL when n is 0). skip_special: drop control tokens. On success
 * *out_text is NUL-terminated text of *out_len bytes (out_len may be NULL); the caller frees
 * with sgl_string_free. Thread-safe per engine. @since 0.1 */
SGL_EXPORT sgl_status sgl_detokenize(sgl_engine* engine, const int32_t* ids, size_t n, int skip_special,
                                     char** out_text, size_t* out_len);

/* Renders the model's chat template. messages_json: messages_len bytes of a JSON array of
 * {"role": string, "content": string} objects. On success *out_text (NUL-terminated,
 * *out_len bytes; out_len may be NULL) is the prompt; the caller frees with sgl_string_free.
 * Thread-safe per engine. @since 0.1 */
SGL_EXPORT sgl_status sgl_apply_chat_template(sgl_engine* engine, const char* messages_json, size_t messages_len,
                                              int add_generation_prompt, char** out_text, size_t* out_len);

/* Frees a string from sgl_detokenize or sgl_apply_chat_template. NULL is a no-op. @since 0.1 */
SGL_EXPORT void sgl_string_free(char* text);

/* ---------------------------------------------------------------------------------------------
 * Generation
 * ------------------------------------------------------------------------------------------- */

/* The prompt: exactly one of text, input_ids or messages_json. The library copies what it
 * needs before the call returns. @since 0.1 */
typedef struct sgl_prompt {
  size_t struct_size;          /* = sizeof(sgl_prompt); set by sgl_prompt_default */
  const char* text;            /* UTF-8 text, encoded with the tokenizer's BOS rule */
  size_t text_len;
  const int32_t* input_ids;    /* token ids, used as-is */
  size_t n_input_ids;
  const char* messages_json;   /* JSON array of {"role","content"}; the chat template is applied */
  size_t messages_json_len;
  const char* rid;             /* optional request id echoed by sgl_result_rid; NULL = assigned */
} sgl_prompt;

/* All fields empty, struct_size set. Thread-safe. @since 0.1 */
SGL_EXPORT sgl_prompt sgl_prompt_default(void);

/* How one request is decoded; names, defaults and ranges follow SGLang's SamplingParams.
 * Out-of-range values are SGL_ERR_INVALID_ARGUMENT naming the field. @since 0.1 */
typedef struct sgl_sampling_params {
  size_t struct_size;               /* = sizeof(sgl_sampling_params) */
  int32_t max_new_tokens;           /* default 128, >= 0 */
  int32_t min_new_tokens;           /* default 0 */
  float temperature;                /* default 1; 0 = greedy */
  float top_p;                      /* (0, 1], default 1 */
  int32_t top_k;                    /* -1 = off (default), else >= 1 */
  float min_p;                      /* [0, 1], default 0 */
  float frequency_penalty;          /* [-2, 2], default 0 */
  float presence_penalty;           /* [-2, 2], default 0 */
  float repetition_penalty;         /* (0, 2], default 1 */
  int32_t ignore_eos;               /* nonzero: do not stop at EOS */
  int32_t skip_special_tokens;      /* default 1 */
  int32_t spaces_between_special_tokens; /* default 1 */
  int32_t no_stop_trim;             /* nonzero: keep the matched stop string in the text */
  int32_t has_seed;                 /* nonzero: use `seed`; else derived from the engine seed */
  uint64_t seed;
  const char* const* stop;          /* n_stop NUL-terminated stop strings */
  size_t n_stop;
  const int32_t* stop_token_ids;    /* extra stop tokens besides EOS */
  size_t n_stop_token_ids;
  /* Constrained decoding, at most one (NULL or "" = none). */
  const char* regex;
  const char* json_schema;
  const char* ebnf;
} sgl_sampling_params;

/* SGLang's defaults with struct_size set. Thread-safe. @since 0.1 */
SGL_EXPORT sgl_sampling_params sgl_sampling_params_default(void);

/* Why a generation ended. @since 0.1 */
typedef enum sgl_finish_reason {
  SGL_FINISH_NONE = 0,   /* still running (never seen in a finished result) */
  SGL_FINISH_STOP = 1,   /* EOS, a stop token or a stop string */
  SGL_FINISH_LENGTH = 2, /* max_new_tokens or the context length */
  SGL_FINISH_ABORT = 3   /* cancelled, rejected or engine shut down; see sgl_result_finish_message */
} sgl_finish_reason;

/* The outcome of one finished generation. Immutable. @since 0.1 */
typedef struct sgl_result sgl_result;

/* Token counts and timings of a result. @since 0.1 */
typedef struct sgl_usage {
  size_t struct_size;          /* set by the caller (sgl_usage_default) */
  int64_t prompt_tokens;
  int64_t completion_tokens;
  int64_t cached_tokens;       /* prompt tokens served from the prefix cache */
  double time_to_first_token;  /* seconds */
  double e2e_latency;          /* seconds */
} sgl_usage;

/* Zeroes with struct_size set. Thread-safe. @since 0.1 */
SGL_EXPORT sgl_usage sgl_usage_default(void);

/* Runs one request to the end and blocks until it finishes. sampling may be NULL (defaults).
 * A request the engine accepted always yields a result, also when it was aborted (check
 * sgl_result_finish_reason); invalid requests fail with a status and no result. On success
 * *out_result is new; the caller frees with sgl_result_free. Thread-safe per engine.
 * @since 0.1 */
SGL_EXPORT sgl_status sgl_generate(sgl_engine* engine, const sgl_prompt* prompt, const sgl_sampling_params* sampling,
                                   sgl_result** out_result);

/* One increment of the output, passed to a stream callback. All pointers are owned by the
 * library and valid only during the callback. @since 0.1 */
typedef struct sgl_chunk {
  size_t struct_size;
  const char* text;             /* new text since the previous chunk (NUL-terminated) */
  size_t text_len;
  const int32_t* token_ids;     /* new token ids since the previous chunk */
  size_t n_token_ids;
  int32_t finished;             /* nonzero on the last chunk */
} sgl_chunk;

/* Called for every chunk. Return 0 to continue, nonzero to stop the request (it then finishes
 * with SGL_FINISH_ABORT and the callback is not called again). @since 0.1 */
typedef int (*sgl_stream_callback)(const sgl_chunk* chunk, void* user_data);

/* Like sgl_generate, but calls `callback(chunk, user_data)` on the calling thread as output
 * arrives, in order. Blocks until the request finished. out_result may be NULL if the final
 * result is not wanted; otherwise the caller frees *out_result with sgl_result_free.
 * Thread-safe per engine. @since 0.1 */
SGL_EXPORT sgl_status sgl_generate_stream(sgl_engine* engine, const sgl_prompt* prompt,
                                          const sgl_sampling_params* sampling, sgl_stream_callback callback,
                                          void* user_data, sgl_result** out_result);

/* A submitted request, for waiting and cancelling from different threads. @since 0.1 */
typedef struct sgl_request sgl_request;

/* Enqueues a request and returns at once. On success *out_request is new; the caller frees
 * with sgl_request_free. Thread-safe per engine. @since 0.1 */
SGL_EXPORT sgl_status sgl_submit(sgl_engine* engine, const sgl_prompt* prompt, const sgl_sampling_params* sampling,
                                 sgl_request** out_request);

/* Asks the engine to stop the request; it finishes with SGL_FINISH_ABORT ("cancelled"). Safe
 * at any time from any thread, also after it finished (then a no-op). @since 0.1 */
SGL_EXPORT sgl_status sgl_request_cancel(sgl_request* request);

/* *out_done = 1 once the request finished, else 0. Thread-safe. @since 0.1 */
SGL_EXPORT sgl_status sgl_request_done(sgl_request* request, int* out_done);

/* Blocks until the request finished. May be called more than once and from several threads;
 * each call gives a new *out_result; the caller frees with sgl_result_free. @since 0.1 */
SGL_EXPORT sgl_status sgl_request_wait(sgl_request* request, sgl_result** out_result);

/* Frees the handle (a running request keeps running; cancel it first to stop it). NULL is a
 * no-op. Must not run concurrently with other calls on the same request. @since 0.1 */
SGL_EXPORT void sgl_request_free(sgl_request* request);

/* ---------------------------------------------------------------------------------------------
 * Results. Accessors never fail on a valid result; given NULL they return NULL / 0 /
 * SGL_FINISH_NONE and set sgl_last_error. Returned pointers are owned by the result: valid
 * until sgl_result_free.
 * ------------------------------------------------------------------------------------------- */

/* The generated text, NUL-terminated; *out_len (may be NULL) gets its length in bytes. @since 0.1 */
SGL_EXPORT const char* sgl_result_text(const sgl_result* result, size_t* out_len);

/* The generated token ids; *out_n (may be NULL) gets their count. NULL when there are none. @since 0.1 */
SGL_EXPORT const int32_t* sgl_result_token_ids(const sgl_result* result, size_t* out_n);

/* Why it ended. @since 0.1 */
SGL_EXPORT sgl_finish_reason sgl_result_finish_reason(const sgl_result* result);

/* SGLang's name of the finish reason: "stop", "length", "abort" (static string). @since 0.1 */
SGL_EXPORT const char* sgl_result_finish_type(const sgl_result* result);

/* For SGL_FINISH_ABORT: why ("cancelled", "engine shut down", ...); for a stop string: the
 * matched string; else "". NUL-terminated, never NULL for a valid result. @since 0.1 */
SGL_EXPORT const char* sgl_result_finish_message(const sgl_result* result);

/* The request id (the prompt's rid or the one the engine assigned). @since 0.1 */
SGL_EXPORT const char* sgl_result_rid(const sgl_result* result);

/* Fills *out (the caller sets out->struct_size, see sgl_usage_default). @since 0.1 */
SGL_EXPORT sgl_status sgl_result_usage(const sgl_result* result, sgl_usage* out);

/* Frees a result. NULL is a no-op. @since 0.1 */
SGL_EXPORT void sgl_result_free(sgl_result* result);

#ifdef __cplusplus
}
#endif

#endif /* SGL_H */
