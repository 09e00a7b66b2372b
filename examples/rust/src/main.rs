//! examples/rust — the sgl C ABI from Rust: load a model, run one greedy request blocking and
//! streaming, then a JSON-schema-constrained request. Prints the same lines as examples/c.
//!
//!   SGL_LIB_DIR=/path/to/build cargo run --offline -- MODEL.gguf [DEVICE]

mod sys;

use std::ffi::{CStr, CString};
use std::os::raw::{c_int, c_void};
use std::ptr;

/// An error from the library: its status text and sgl_last_error() (read right after the call,
/// on the same thread, as the header requires).
fn last_error(st: sys::sgl_status) -> String {
    unsafe {
        let s = CStr::from_ptr(sys::sgl_status_string(st)).to_string_lossy();
        let m = CStr::from_ptr(sys::sgl_last_error()).to_string_lossy();
        format!("{s}: {m}")
    }
}

fn escaped(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &c in bytes {
        match c {
            b'\\' | b'"' => {
                out.push('\\');
                out.push(c as char)
            }
            0x20..=0x7e => out.push(c as char),
            _ => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push('"');
    out
}

fn ids_line(label: &str, ids: &[i32]) -> String {
    let mut s = format!("{label}:");
    for id in ids {
        s.push_str(&format!(" {id}"));
    }
    s
}

/// Owns an sgl_result and frees it once.
struct GenResult(*mut sys::sgl_result);

impl GenResult {
    fn text(&self) -> &[u8] {
        let mut n = 0usize;
        unsafe {
            let p = sys::sgl_result_text(self.0, &mut n);
            std::slice::from_raw_parts(p as *const u8, n)
        }
    }
    fn ids(&self) -> &[i32] {
        let mut n = 0usize;
        unsafe {
            let p = sys::sgl_result_token_ids(self.0, &mut n);
            if p.is_null() { &[] } else { std::slice::from_raw_parts(p, n) }
        }
    }
    fn finish(&self) -> String {
        unsafe { CStr::from_ptr(sys::sgl_result_finish_type(self.0)).to_string_lossy().into_owned() }
    }
}

impl Drop for GenResult {
    fn drop(&mut self) {
        unsafe { sys::sgl_result_free(self.0) }
    }
}

#[derive(Default)]
struct StreamBuf {
    text: Vec<u8>,
    ids: Vec<i32>,
}

extern "C" fn on_chunk(chunk: *const sys::sgl_chunk, user_data: *mut c_void) -> c_int {
    // Never unwind into C: a panic here would be undefined behaviour.
    let r = std::panic::catch_unwind(|| unsafe {
        let b = &mut *(user_data as *mut StreamBuf);
        let c = &*chunk;
        if c.text_len > 0 {
            b.text.extend_from_slice(std::slice::from_raw_parts(c.text as *const u8, c.text_len));
        }
        if c.n_token_ids > 0 {
            b.ids.extend_from_slice(std::slice::from_raw_parts(c.token_ids, c.n_token_ids));
        }
    });
    if r.is_ok() { 0 } else { 1 }
}

fn run(model: &str, device: &str) -> Result<(), String> {
    let model_c = CString::new(model).map_err(|e| e.to_string())?;
    let device_c = CString::new(device).map_err(|e| e.to_string())?;
    unsafe {
        if sys::sgl_abi_version() != 0 {
            return Err(format!("libsgl ABI {} but these bindings are for ABI 0", sys::sgl_abi_version()));
        }
        let ver = CStr::from_ptr(sys::sgl_version()).to_string_lossy();
        println!("sgl {ver} (ABI {})", sys::sgl_abi_version());

        let mut ep = sys::sgl_engine_params_default();
        ep.model_path = model_c.as_ptr();
        ep.device = device_c.as_ptr();
        ep.threads = 1;
        ep.max_total_tokens = 4096;
        let mut engine: *mut sys::sgl_engine = ptr::null_mut();
        let st = sys::sgl_engine_create(&ep, &mut engine);
        if st != sys::SGL_OK {
            return Err(format!("sgl_engine_create failed: {}", last_error(st)));
        }

        let prompt_ids: [i32; 7] = [1, 17, 42, 99, 5, 230, 64];
        let mut prompt = sys::sgl_prompt_default();
        prompt.input_ids = prompt_ids.as_ptr();
        prompt.n_input_ids = prompt_ids.len();
        let mut sp = sys::sgl_sampling_params_default();
        sp.temperature = 0.0;
        sp.max_new_tokens = 12;
        sp.ignore_eos = 1;

        let out = (|| -> Result<(), String> {
            // 1. Blocking.
            let mut res = ptr::null_mut();
            let st = sys::sgl_generate(engine, &prompt, &sp, &mut res);
            if st != sys::SGL_OK {
                return Err(format!("sgl_generate failed: {}", last_error(st)));
            }
            let r = GenResult(res);
            println!("{}", ids_line("blocking ids", r.ids()));
            println!("blocking text: {}", escaped(r.text()));
            println!("blocking finish: {}", r.finish());

            // 2. Streaming: on_chunk runs on this thread for every chunk.
            let mut buf = StreamBuf::default();
            let mut res = ptr::null_mut();
            let st = sys::sgl_generate_stream(
                engine,
                &prompt,
                &sp,
                on_chunk,
                &mut buf as *mut StreamBuf as *mut c_void,
                &mut res,
            );
            if st != sys::SGL_OK {
                return Err(format!("sgl_generate_stream failed: {}", last_error(st)));
            }
            let r = GenResult(res);
            println!("{}", ids_line("stream ids", &buf.ids));
            println!("stream text: {}", escaped(&buf.text));
            println!("stream finish: {}", r.finish());

            // 3. Constrained by a JSON schema.
            let schema = CString::new(r#"{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}"#)
                .unwrap();
            let mut csp = sp;
            csp.json_schema = schema.as_ptr();
            csp.max_new_tokens = 24;
            let mut res = ptr::null_mut();
            let st = sys::sgl_generate(engine, &prompt, &csp, &mut res);
            if st == sys::SGL_OK {
                let r = GenResult(res);
                println!("json text: {}", escaped(r.text()));
                println!("json finish: {}", r.finish());
            } else {
                println!("json error: {}", last_error(st));
            }

            // 4. Tokenizer.
            let text = b"Hello world";
            let mut ids: *mut i32 = ptr::null_mut();
            let mut n = 0usize;
            let st = sys::sgl_tokenize(engine, text.as_ptr() as *const _, text.len(), 1, &mut ids, &mut n);
            if st == sys::SGL_OK {
                let v = if ids.is_null() { &[][..] } else { std::slice::from_raw_parts(ids, n) };
                println!("{}", ids_line("tokenize", v));
                sys::sgl_tokens_free(ids);
            } else {
                println!("tokenize error: {}", last_error(st));
            }
            Ok(())
        })();
        sys::sgl_engine_destroy(engine);
        out
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 2 {
        eprintln!("usage: {} MODEL.gguf [DEVICE]", args[0]);
        std::process::exit(2);
    }
    let device = args.get(2).map(String::as_str).unwrap_or("cpu");
    if let Err(e) = run(&args[1], device) {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
