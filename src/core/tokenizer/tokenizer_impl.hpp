// The state behind sgl::Tokenizer: a finalized Vocab plus the encode / decode algorithms.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/tokenizer/chat_template.hpp"
#include "core/tokenizer/vocab.hpp"
#include "sgl/tokenizer.hpp"

namespace sgl {

struct Tokenizer::Impl {
  explicit Impl(tok::Vocab v);

  tok::Vocab vocab;
  uint64_t serial;                   // distinguishes tokenizers in per-thread caches
  std::vector<int32_t> bmp_id;       // SPM: token of each BMP character (-1 if none)
  // The model's chat template, parsed on first use.
  mutable std::once_flag template_once;
  mutable std::shared_ptr<const ChatTemplate> parsed_template;

  // Per-call decoding state shared by decode() and the stream decoder.
  struct DecodeState {
    bool at_start = true;
    bool prev_special = false;
    bool any_output = false;
  };

  void encode(std::string_view text, bool add_special, bool parse_special, std::vector<int32_t>& out) const;
  void decode_one(int32_t id, bool skip_special, bool spaces_between, DecodeState& st, std::string& out) const;

 private:
  void encode_fragment(std::string_view text, bool after_special, std::vector<int32_t>& out) const;
  void encode_spm(std::string_view text, bool after_special, std::vector<int32_t>& out) const;
  void spm_piece(std::string_view piece, std::vector<int32_t>& out) const;
  void encode_byte_level(std::string_view text, std::vector<int32_t>& out) const;
  void byte_level_piece(std::string_view piece, std::vector<int32_t>& out) const;
};

}  // namespace sgl
