//! Raw bindings to capi/sgl.h (ABI 0). Field order and types mirror the header exactly; keep
//! them in step when the header grows (fields are only ever appended).
#![allow(non_camel_case_types, dead_code)]

use std::os::raw::{c_char, c_int, c_void};

pub type sgl_status = c_int;
pub const SGL_OK: sgl_status = 0;
pub type sgl_finish_reason = c_int;

#[repr(C)]
pub struct sgl_engine {
    _private: [u8; 0],
}
#[repr(C)]
pub struct sgl_result {
    _private: [u8; 0],
}
#[repr(C)]
pub struct sgl_request {
    _private: [u8; 0],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct sgl_engine_params {
    pub struct_size: usize,
    pub model_path: *const c_char,
    pub tokenizer_path: *const c_char,
    pub device: *const c_char,
    pub threads: i32,
    pub page_size: i32,
    pub context_length: i64,
    pub mem_fraction_static: f64,
    pub max_total_tokens: i64,
    pub max_running_requests: i32,
    pub max_queued_requests: i32,
    pub chunked_prefill_size: i64,
    pub max_prefill_tokens: i64,
    pub schedule_policy: *const c_char,
    pub kv_cache_dtype: *const c_char,
    pub random_seed: u64,
    pub disable_radix_cache: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct sgl_prompt {
    pub struct_size: usize,
    pub text: *const c_char,
    pub text_len: usize,
    pub input_ids: *const i32,
    pub n_input_ids: usize,
    pub messages_json: *const c_char,
    pub messages_json_len: usize,
    pub rid: *const c_char,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct sgl_sampling_params {
    pub struct_size: usize,
    pub max_new_tokens: i32,
    pub min_new_tokens: i32,
    pub temperature: f32,
    pub top_p: f32,
    pub top_k: i32,
    pub min_p: f32,
    pub frequency_penalty: f32,
    pub presence_penalty: f32,
    pub repetition_penalty: f32,
    pub ignore_eos: i32,
    pub skip_special_tokens: i32,
    pub spaces_between_special_tokens: i32,
    pub no_stop_trim: i32,
    pub has_seed: i32,
    pub seed: u64,
    pub stop: *const *const c_char,
    pub n_stop: usize,
    pub stop_token_ids: *const i32,
    pub n_stop_token_ids: usize,
    pub regex: *const c_char,
    pub json_schema: *const c_char,
    pub ebnf: *const c_char,
}

#[repr(C)]
pub struct sgl_chunk {
    pub struct_size: usize,
    pub text: *const c_char,
    pub text_len: usize,
    pub token_ids: *const i32,
    pub n_token_ids: usize,
    pub finished: i32,
}

pub type sgl_stream_callback = extern "C" fn(chunk: *const sgl_chunk, user_data: *mut c_void) -> c_int;

extern "C" {
    pub fn sgl_version() -> *const c_char;
    pub fn sgl_abi_version() -> c_int;
    pub fn sgl_status_string(status: sgl_status) -> *const c_char;
    pub fn sgl_last_error() -> *const c_char;
    pub fn sgl_engine_params_default() -> sgl_engine_params;
    pub fn sgl_engine_create(params: *const sgl_engine_params, out: *mut *mut sgl_engine) -> sgl_status;
    pub fn sgl_engine_destroy(engine: *mut sgl_engine);
    pub fn sgl_prompt_default() -> sgl_prompt;
    pub fn sgl_sampling_params_default() -> sgl_sampling_params;
    pub fn sgl_generate(
        engine: *mut sgl_engine,
        prompt: *const sgl_prompt,
        sampling: *const sgl_sampling_params,
        out: *mut *mut sgl_result,
    ) -> sgl_status;
    pub fn sgl_generate_stream(
        engine: *mut sgl_engine,
        prompt: *const sgl_prompt,
        sampling: *const sgl_sampling_params,
        callback: sgl_stream_callback,
        user_data: *mut c_void,
        out: *mut *mut sgl_result,
    ) -> sgl_status;
    pub fn sgl_result_text(result: *const sgl_result, out_len: *mut usize) -> *const c_char;
    pub fn sgl_result_token_ids(result: *const sgl_result, out_n: *mut usize) -> *const i32;
    pub fn sgl_result_finish_type(result: *const sgl_result) -> *const c_char;
    pub fn sgl_result_free(result: *mut sgl_result);
    pub fn sgl_tokenize(
        engine: *mut sgl_engine,
        text: *const c_char,
        text_len: usize,
        add_special: c_int,
        out_ids: *mut *mut i32,
        out_n: *mut usize,
    ) -> sgl_status;
    pub fn sgl_tokens_free(ids: *mut i32);
}
