// sgl-bench-serving: a load generator with the flags and output of `python -m sglang.bench_serving`,
// so the same numbers can be taken against sgl-server, SGLang, vLLM or llama.cpp's server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sgl::bench {

struct Args {
  std::string backend = "sglang";
  std::string host = "127.0.0.1";
  int port = 0;  // 0: the backend's default (30000)
  std::string base_url;
  std::string model;  // "model" field of OpenAI requests
  std::string dataset_name = "sharegpt";
  std::string dataset_path;
  std::string tokenizer;
  int num_prompts = 1000;
  int sharegpt_output_len = -1;
  int random_input_len = 1024;
  int random_output_len = 1024;
  double random_range_ratio = 0.0;
  int gsp_num_groups = 64;
  int gsp_prompts_per_group = 16;
  int gsp_system_prompt_len = 2048;
  int gsp_question_len = 128;
  int gsp_output_len = 256;
  double request_rate = -1;  // < 0 or inf: all at once
  int max_concurrency = 0;   // 0: unlimited
  uint64_t seed = 1;
  std::string output_file;
  bool disable_stream = false;
  bool disable_tqdm = false;
  bool disable_ignore_eos = false;
  double timeout_s = 600;  // per request, whole response
  std::string tag;
  bool output_details = false;  // per-request lengths, TTFTs, ITLs, texts and errors in the JSONL
};

// One prompt: token ids when a tokenizer was given (always sent as input_ids to /generate), the
// text for OpenAI backends, and the lengths we asked for.
struct Prompt {
  std::vector<int32_t> ids;
  std::string text;
  int input_len = 0;
  int output_len = 0;
};

struct Outcome {
  bool success = false;
  std::string error;
  double latency = 0;  // seconds, request sent -> last byte
  double ttft = 0;
  std::vector<double> itl;  // seconds between tokens (a chunk of n tokens counts as n equal gaps)
  int prompt_len = 0;
  int output_len = 0;
  int cached_tokens = -1;  // prompt tokens the server found cached, -1 when not reported
  std::string generated_text;
};

std::vector<Prompt> make_prompts(const Args& a);
std::string base_url_of(const Args& a);
Outcome send_request(const Args& a, const Prompt& p);
// Prints the summary table and, with --output-file, appends one JSONL record.
void report(const Args& a, const std::vector<Outcome>& outs, double duration_s);

}  // namespace sgl::bench
