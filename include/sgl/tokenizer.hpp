// sgl::Tokenizer — text <-> token ids, exactly as the model was trained.
//
// Two families are supported: SentencePiece-style BPE (GGUF model "llama", HF BPE with the '▁'
// space convention and <0xNN> byte fallback) and byte-level BPE (GGUF model "gpt2", HF ByteLevel)
// with the pre-tokenizers of the common model families. Behaviour follows llama.cpp for GGUF
// vocabularies and HF `tokenizers` for tokenizer.json.
//
// A Tokenizer is immutable after construction; copies share one vocabulary and every const method
// is safe to call from several threads at once.
//
// Invalid UTF-8 input: each byte that is not part of a valid UTF-8 sequence is treated as one
// character of its own (no category), and is encoded through byte tokens (<0xNN> fallback or the
// byte-level alphabet), so decode(encode(s)) == s holds byte for byte for any input that contains
// no special-token text.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sgl {

struct ChatMessage {
  std::string role;     // "system", "user", "assistant", ...
  std::string content;
};

class Tokenizer {
 public:
  enum class Kind { kSentencePiece, kByteLevel };
  struct Impl;

  // Loaders. All throw sgl::Error: kIoError / kNotFound for unreadable files, kParseError for
  // missing or contradictory fields, kUnsupported for tokenizer types this build does not handle.
  static Tokenizer from_gguf_file(const std::string& path);
  // A Hugging Face model folder: tokenizer.json and, if present, tokenizer_config.json.
  static Tokenizer from_hf_dir(const std::string& dir);
  // `config_path` may be empty.
  static Tokenizer from_tokenizer_json(const std::string& tokenizer_json_path, const std::string& config_path = "");
  // From the text of tokenizer.json / tokenizer_config.json (config may be empty).
  static Tokenizer from_tokenizer_json_text(std::string_view tokenizer_json, std::string_view config_json = {});

  Tokenizer(const Tokenizer&) = default;
  Tokenizer& operator=(const Tokenizer&) = default;
  Tokenizer(Tokenizer&&) noexcept = default;
  Tokenizer& operator=(Tokenizer&&) noexcept = default;
  ~Tokenizer();

  // add_special: prepend BOS / append EOS when the vocabulary asks for them (add_bos/add_eos).
  // parse_special: match control-token text (e.g. "<|im_end|>") in `text` as those tokens.
  // User-defined added tokens are always matched; unused (type 5) ones never.
  std::vector<int32_t> encode(std::string_view text, bool add_special = true, bool parse_special = false) const;

  // skip_special: drop control / unknown / unused tokens. spaces_between_special: put one space
  // between a (kept) control token and the text next to it. Throws kInvalidArgument for ids out of
  // range. The result is the concatenation of the tokens' bytes, except that a SentencePiece
  // vocabulary with a dummy prefix drops the leading space of the first piece.
  std::string decode(std::span<const int32_t> ids, bool skip_special = true, bool spaces_between_special = false) const;

  // The token's text as stored in the vocabulary (e.g. "▁Hello", "Ġworld", "<0x0A>").
  const std::string& token_to_piece(int32_t id) const;
  // The exact bytes the token emits when decoded (byte-fallback tokens: their single byte;
  // control tokens: their text). The grammar engine builds its token tries from these.
  const std::string& token_bytes(int32_t id) const;
  std::optional<int32_t> piece_to_id(std::string_view piece) const;

  int32_t vocab_size() const;
  Kind kind() const;
  int32_t bos_id() const;  // -1 if none
  int32_t eos_id() const;
  int32_t pad_id() const;
  int32_t unk_id() const;
  // Every end-of-generation id (eos, <|eot_id|>, <|im_end|>, <|end|>, ...), sorted.
  const std::vector<int32_t>& eos_ids() const;
  bool is_eos(int32_t id) const;
  // Control, unknown or unused token (what skip_special drops). False for ids out of range.
  bool is_special(int32_t id) const;
  bool add_bos() const;
  bool add_eos() const;
  std::string bos_token() const;  // text, empty if none
  std::string eos_token() const;

  // The model's chat template source (GGUF tokenizer.chat_template or tokenizer_config.json),
  // empty if it ships none.
  std::string chat_template() const;
  // Renders `msgs` (context: messages, add_generation_prompt, bos_token, eos_token) with, in
  // order of preference: `template_override` when it names a built-in template ("llama-2",
  // "llama-3", "chatml", "qwen", "mistral", "deepseek", ...), `template_override` as Jinja source
  // when it is any other non-empty string, the model's own template. Throws sgl::Error:
  // kNotFound when there is no template, kParseError / kInvalidArgument from the template.
  std::string apply_chat_template(const std::vector<ChatMessage>& msgs, bool add_generation_prompt,
                                  const std::string& template_override = "") const;
  // Incremental detokenization: push ids one at a time; each call returns the newly completed
  // text, never ending inside a UTF-8 character. The concatenation of every push() plus finish()
  // equals decode() of all ids with the same options.
  class StreamDecoder {
   public:
    std::string push(int32_t id);
    std::string finish();  // flushes held-back bytes (an incomplete UTF-8 tail) and resets

   private:
    friend class Tokenizer;
    StreamDecoder(std::shared_ptr<const Impl> impl, bool skip_special, bool spaces_between);
    std::shared_ptr<const Impl> impl_;
    std::string pending_;
    bool skip_special_, spaces_between_;
    bool at_start_ = true, prev_special_ = false, any_output_ = false;
  };
  StreamDecoder stream_decoder(bool skip_special = true, bool spaces_between_special = false) const;

  // For the engine / internal factories (src/core/tokenizer/tokenizer_factory.hpp).
  explicit Tokenizer(std::shared_ptr<const Impl> impl);
  const Impl& impl() const { return *impl_; }

 private:
  std::shared_ptr<const Impl> impl_;
};

}  // namespace sgl
