/* A tiny test harness for the C99 tests of the C ABI (doctest is C++): CHECK records a failure
 * with file/line and carries on; main returns the failure count. */
#ifndef SGL_CAPI_TEST_H
#define SGL_CAPI_TEST_H

#include <stdio.h>
#include <string.h>

#include "sgl.h"

#ifdef __cplusplus
extern "C" {
#endif

extern int capi_test_failures;

#define CHECK(cond)                                                       \
  do {                                                                    \
    if (!(cond)) {                                                        \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      capi_test_failures++;                                               \
    }                                                                     \
  } while (0)

/* The call returned `code` and sgl_last_error() contains `part`. */
#define CHECK_ERR(call, code, part)                                                             \
  do {                                                                                          \
    sgl_status st_ = (call);                                                                    \
    if (st_ != (code) || strstr(sgl_last_error(), (part)) == NULL) {                            \
      fprintf(stderr, "%s:%d: %s gave %d (%s) \"%s\"; expected %d with \"%s\"\n", __FILE__, __LINE__, \
              #call, (int)st_, sgl_status_string(st_), sgl_last_error(), (int)(code), (part)); \
      capi_test_failures++;                                                                     \
    }                                                                                           \
  } while (0)

#define CHECK_OK(call)                                                                           \
  do {                                                                                           \
    sgl_status st_ = (call);                                                                     \
    if (st_ != SGL_OK || sgl_last_error()[0] != '\0') {                                          \
      fprintf(stderr, "%s:%d: %s gave %d (%s): %s\n", __FILE__, __LINE__, #call, (int)st_,      \
              sgl_status_string(st_), sgl_last_error());                                         \
      capi_test_failures++;                                                                      \
    }                                                                                            \
  } while (0)

/* Path of a tiny synthetic llama GGUF (512 tokens of vocabulary and context), written once per
 * process under $SGL_TEST_TMPDIR (model_fixture.cpp). */
const char* capi_test_model_path(const char* tag);

/* Engine params for the tests: one kernel thread and a small KV pool. */
sgl_engine_params capi_test_engine_params(const char* tag, const char* device);

#ifdef __cplusplus
}
#endif

#endif
