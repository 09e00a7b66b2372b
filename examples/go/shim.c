// A C trampoline with the exact sgl_stream_callback signature: cgo's exported goOnChunk drops
// the const qualifier, and a preamble with //export may not contain definitions.
#include "_cgo_export.h"

int sglGoStreamTrampoline(const sgl_chunk* chunk, void* user_data) {
  return goOnChunk((sgl_chunk*)chunk, user_data);
}
