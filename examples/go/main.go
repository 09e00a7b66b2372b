// examples/go — the sgl C ABI from Go through cgo: load a model, run one greedy request
// blocking and streaming, then a JSON-schema-constrained request. Prints the same lines as
// examples/c.
//
//	CGO_CFLAGS=-I/path/to/capi CGO_LDFLAGS="-L/path/to/build -Wl,-rpath,/path/to/build" go build
//	./go MODEL.gguf [DEVICE]
package main

/*
#cgo LDFLAGS: -lsgl
#include <stdlib.h>
#include "sgl.h"

extern int sglGoStreamTrampoline(const sgl_chunk* chunk, void* user_data);
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"runtime/cgo"
	"strings"
	"unsafe"
)

// lastError reads sgl_last_error(); it is per OS thread, so the caller must still be on the
// thread that made the failing call; init() pins the main goroutine to one thread.
func lastError(st C.sgl_status) string {
	return C.GoString(C.sgl_status_string(st)) + ": " + C.GoString(C.sgl_last_error())
}

func init() { runtime.LockOSThread() }

func escaped(b []byte) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for _, c := range b {
		switch {
		case c == '\\' || c == '"':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			sb.WriteByte(c)
		default:
			fmt.Fprintf(&sb, "\\x%02x", c)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

func idsLine(label string, ids []int32) string {
	var sb strings.Builder
	sb.WriteString(label + ":")
	for _, id := range ids {
		fmt.Fprintf(&sb, " %d", id)
	}
	return sb.String()
}

func resultIDs(r *C.sgl_result) []int32 {
	var n C.size_t
	p := C.sgl_result_token_ids(r, &n)
	if p == nil {
		return nil
	}
	return append([]int32(nil), unsafe.Slice((*int32)(unsafe.Pointer(p)), int(n))...)
}

func resultText(r *C.sgl_result) []byte {
	var n C.size_t
	p := C.sgl_result_text(r, &n)
	return C.GoBytes(unsafe.Pointer(p), C.int(n))
}

type streamBuf struct {
	text []byte
	ids  []int32
}

//export goOnChunk
func goOnChunk(chunk *C.sgl_chunk, userData unsafe.Pointer) C.int {
	h := *(*cgo.Handle)(userData)
	b := h.Value().(*streamBuf)
	if chunk.text_len > 0 {
		b.text = append(b.text, C.GoBytes(unsafe.Pointer(chunk.text), C.int(chunk.text_len))...)
	}
	if chunk.n_token_ids > 0 {
		b.ids = append(b.ids, unsafe.Slice((*int32)(unsafe.Pointer(chunk.token_ids)), int(chunk.n_token_ids))...)
	}
	return 0
}

func run(model, device string) error {
	if C.sgl_abi_version() != C.SGL_ABI_VERSION {
		return fmt.Errorf("libsgl ABI %d, header ABI %d", C.sgl_abi_version(), C.SGL_ABI_VERSION)
	}
	fmt.Printf("sgl %s (ABI %d)\n", C.GoString(C.sgl_version()), C.sgl_abi_version())

	cModel, cDevice := C.CString(model), C.CString(device)
	defer C.free(unsafe.Pointer(cModel))
	defer C.free(unsafe.Pointer(cDevice))
	ep := C.sgl_engine_params_default()
	ep.model_path = cModel
	ep.device = cDevice
	ep.threads = 1
	ep.max_total_tokens = 4096
	var engine *C.sgl_engine
	if st := C.sgl_engine_create(&ep, &engine); st != C.SGL_OK {
		return fmt.Errorf("sgl_engine_create failed: %s", lastError(st))
	}
	defer C.sgl_engine_destroy(engine)

	// cgo forbids passing C memory that holds Go pointers, so the prompt ids live in C memory.
	promptIDs := []int32{1, 17, 42, 99, 5, 230, 64}
	cIDs := (*C.int32_t)(C.malloc(C.size_t(len(promptIDs) * 4)))
	defer C.free(unsafe.Pointer(cIDs))
	copy(unsafe.Slice((*int32)(unsafe.Pointer(cIDs)), len(promptIDs)), promptIDs)
	prompt := C.sgl_prompt_default()
	prompt.input_ids = cIDs
	prompt.n_input_ids = C.size_t(len(promptIDs))
	sp := C.sgl_sampling_params_default()
	sp.temperature = 0
	sp.max_new_tokens = 12
	sp.ignore_eos = 1

	// 1. Blocking.
	var res *C.sgl_result
	if st := C.sgl_generate(engine, &prompt, &sp, &res); st != C.SGL_OK {
		return fmt.Errorf("sgl_generate failed: %s", lastError(st))
	}
	fmt.Println(idsLine("blocking ids", resultIDs(res)))
	fmt.Println("blocking text: " + escaped(resultText(res)))
	fmt.Println("blocking finish: " + C.GoString(C.sgl_result_finish_type(res)))
	C.sgl_result_free(res)

	// 2. Streaming: goOnChunk runs on this goroutine's thread for every chunk. user_data is a
	// cgo.Handle stored in C memory (a Go pointer may not be kept by C).
	buf := &streamBuf{}
	h := cgo.NewHandle(buf)
	defer h.Delete()
	ud := C.malloc(C.size_t(unsafe.Sizeof(h)))
	defer C.free(ud)
	*(*cgo.Handle)(ud) = h
	if st := C.sgl_generate_stream(engine, &prompt, &sp, C.sgl_stream_callback(C.sglGoStreamTrampoline), ud, &res); st != C.SGL_OK {
		return fmt.Errorf("sgl_generate_stream failed: %s", lastError(st))
	}
	fmt.Println(idsLine("stream ids", buf.ids))
	fmt.Println("stream text: " + escaped(buf.text))
	fmt.Println("stream finish: " + C.GoString(C.sgl_result_finish_type(res)))
	C.sgl_result_free(res)

	// 3. Constrained by a JSON schema.
	schema := C.CString(`{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}`)
	defer C.free(unsafe.Pointer(schema))
	csp := sp
	csp.json_schema = schema
	csp.max_new_tokens = 24
	if st := C.sgl_generate(engine, &prompt, &csp, &res); st == C.SGL_OK {
		fmt.Println("json text: " + escaped(resultText(res)))
		fmt.Println("json finish: " + C.GoString(C.sgl_result_finish_type(res)))
		C.sgl_result_free(res)
	} else {
		fmt.Println("json error: " + lastError(st))
	}

	// 4. Tokenizer.
	text := C.CString("Hello world")
	defer C.free(unsafe.Pointer(text))
	var ids *C.int32_t
	var n C.size_t
	if st := C.sgl_tokenize(engine, text, 11, 1, &ids, &n); st == C.SGL_OK {
		var v []int32
		if ids != nil {
			v = unsafe.Slice((*int32)(unsafe.Pointer(ids)), int(n))
		}
		fmt.Println(idsLine("tokenize", v))
		C.sgl_tokens_free(ids)
	} else {
		fmt.Println("tokenize error: " + lastError(st))
	}
	return nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintf(os.Stderr, "usage: %s MODEL.gguf [DEVICE]\n", os.Args[0])
		os.Exit(2)
	}
	device := "cpu"
	if len(os.Args) > 2 {
		device = os.Args[2]
	}
	if err := run(os.Args[1], device); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
