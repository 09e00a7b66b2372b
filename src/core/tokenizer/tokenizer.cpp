// sgl::Tokenizer: loaders, decoding, the streaming detokenizer and accessors.
#include "sgl/tokenizer.hpp"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/model/gguf_reader.hpp"
#include "core/support/check.hpp"
#include "core/tokenizer/tokenizer_factory.hpp"
#include "core/tokenizer/tokenizer_impl.hpp"
#include "core/tokenizer/unicode_text.hpp"
#include "core/tokenizer/vocab_loader.hpp"

namespace sgl {

using tok::ModelKind;

namespace {

std::atomic<uint64_t> g_serial{1};

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    SGL_THROW(Status::kNotFound, "tokenizer: file '{}' does not exist", path);
  std::ifstream in(path, std::ios::binary);
  if (!in) SGL_THROW(Status::kIoError, "tokenizer: cannot open '{}'", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) SGL_THROW(Status::kIoError, "tokenizer: error reading '{}'", path);
  return ss.str();
}

}  // namespace

Tokenizer::Impl::Impl(tok::Vocab v) : vocab(std::move(v)), serial(g_serial.fetch_add(1)) {
  if (vocab.kind == ModelKind::kSpm) {
    // Characters of the Basic Multilingual Plane resolve through a table instead of a hash lookup.
    bmp_id.assign(0x10000, -1);
    std::string s;
    for (uint32_t cp = 0; cp < 0x10000; ++cp) {
      if (cp >= 0xD800 && cp <= 0xDFFF) continue;
      s.clear();
      tok::utf8_append(s, cp);
      bmp_id[cp] = vocab.find(s);
    }
  }
}

void Tokenizer::Impl::decode_one(int32_t id, bool skip_special, bool spaces_between, DecodeState& st,
                                 std::string& out) const {
  if (!vocab.valid(id))
    SGL_THROW(Status::kInvalidArgument, "tokenizer: token id {} is out of range (vocabulary size {})", id, vocab.size());
  const bool special = vocab.type[id] == tok::TokenType::kControl || vocab.type[id] == tok::TokenType::kUnknown ||
                       vocab.type[id] == tok::TokenType::kUnused;
  if (special && skip_special) return;
  std::string_view piece = vocab.bytes[id];
  // SentencePiece's dummy prefix: the space it added in front of the text is not part of it.
  if (st.at_start && !special && vocab.kind == ModelKind::kSpm && vocab.add_space_prefix && !piece.empty() &&
      piece[0] == ' ')
    piece.remove_prefix(1);
  st.at_start = false;  // only the first kept token loses its dummy-prefix space
  if (piece.empty()) return;
  if (spaces_between && st.any_output && (special || st.prev_special)) out.push_back(' ');
  out.append(piece);
  st.any_output = true;
  st.prev_special = special;
}

Tokenizer::Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_gguf_file(const std::string& path) {
  return tok::tokenizer_from_gguf(gguf::GgufFile::open(path));
}

Tokenizer Tokenizer::from_hf_dir(const std::string& dir) {
  const std::filesystem::path d(dir);
  const auto json_path = d / "tokenizer.json";
  const auto cfg_path = d / "tokenizer_config.json";
  std::error_code ec;
  return from_tokenizer_json(json_path.string(), std::filesystem::exists(cfg_path, ec) ? cfg_path.string() : "");
}

Tokenizer Tokenizer::from_tokenizer_json(const std::string& tokenizer_json_path, const std::string& config_path) {
  const std::string text = read_file(tokenizer_json_path);
  const std::string cfg = config_path.empty() ? std::string() : read_file(config_path);
  return Tokenizer(std::make_shared<const Impl>(tok::load_vocab_hf(text, cfg, tokenizer_json_path)));
}

Tokenizer Tokenizer::from_tokenizer_json_text(std::string_view tokenizer_json, std::string_view config_json) {
  return Tokenizer(std::make_shared<const Impl>(tok::load_vocab_hf(tokenizer_json, config_json, "<tokenizer.json>")));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  impl_->encode(text, add_special, parse_special, out);
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special, bool spaces_between_special) const {
  std::string out;
  Impl::DecodeState st;
  for (const int32_t id : ids) impl_->decode_one(id, skip_special, spaces_between_special, st, out);
  return out;
}

const std::string& Tokenizer::token_to_piece(int32_t id) const {
  if (!impl_->vocab.valid(id)) SGL_THROW(Status::kInvalidArgument, "tokenizer: token id {} is out of range", id);
  return impl_->vocab.text[id];
}

const std::string& Tokenizer::token_bytes(int32_t id) const {
  if (!impl_->vocab.valid(id)) SGL_THROW(Status::kInvalidArgument, "tokenizer: token id {} is out of range", id);
  return impl_->vocab.bytes[id];
}

std::optional<int32_t> Tokenizer::piece_to_id(std::string_view piece) const {
  const int32_t id = impl_->vocab.find(piece);
  return id < 0 ? std::nullopt : std::optional<int32_t>(id);
}

int32_t Tokenizer::vocab_size() const { return impl_->vocab.size(); }
Tokenizer::Kind Tokenizer::kind() const {
  return impl_->vocab.kind == ModelKind::kSpm ? Kind::kSentencePiece : Kind::kByteLevel;
}
int32_t Tokenizer::bos_id() const { return impl_->vocab.bos; }
int32_t Tokenizer::eos_id() const { return impl_->vocab.eos; }
int32_t Tokenizer::pad_id() const { return impl_->vocab.pad; }
int32_t Tokenizer::unk_id() const { return impl_->vocab.unk; }
const std::vector<int32_t>& Tokenizer::eos_ids() const { return impl_->vocab.eog; }
bool Tokenizer::is_eos(int32_t id) const {
  return std::binary_search(impl_->vocab.eog.begin(), impl_->vocab.eog.end(), id);
}
bool Tokenizer::is_special(int32_t id) const { return impl_->vocab.valid(id) && impl_->vocab.is_special(id); }
bool Tokenizer::add_bos() const { return impl_->vocab.add_bos; }
bool Tokenizer::add_eos() const { return impl_->vocab.add_eos; }
std::string Tokenizer::bos_token() const { return bos_id() >= 0 ? impl_->vocab.text[bos_id()] : std::string(); }
std::string Tokenizer::eos_token() const { return eos_id() >= 0 ? impl_->vocab.text[eos_id()] : std::string(); }
std::string Tokenizer::chat_template() const { return impl_->vocab.chat_template; }

Tokenizer::StreamDecoder Tokenizer::stream_decoder(bool skip_special, bool spaces_between_special) const {
  return StreamDecoder(impl_, skip_special, spaces_between_special);
}

Tokenizer::StreamDecoder::StreamDecoder(std::shared_ptr<const Impl> impl, bool skip_special, bool spaces_between)
    : impl_(std::move(impl)), skip_special_(skip_special), spaces_between_(spaces_between) {}

std::string Tokenizer::StreamDecoder::push(int32_t id) {
  Impl::DecodeState st{at_start_, prev_special_, any_output_};
  impl_->decode_one(id, skip_special_, spaces_between_, st, pending_);
  at_start_ = st.at_start;
  prev_special_ = st.prev_special;
  any_output_ = st.any_output;
  const size_t safe = tok::utf8_safe_prefix(pending_);
  std::string out = pending_.substr(0, safe);
  pending_.erase(0, safe);
  return out;
}

std::string Tokenizer::StreamDecoder::finish() {
  std::string out = std::move(pending_);
  pending_.clear();
  at_start_ = true;
  prev_special_ = false;
  any_output_ = false;
  return out;
}

namespace tok {

Tokenizer tokenizer_from_gguf(const gguf::GgufFile& file) {
  // sgl-quantize keeps an HF directory's tokenizer as the GGUF spec's tokenizer.huggingface.json
  // (and its tokenizer_config.json beside it) instead of converting it to tokenizer.ggml.* keys.
  if (!file.find("tokenizer.ggml.model")) {
    if (auto json = file.get_string("tokenizer.huggingface.json")) {
      std::string cfg = file.get_string("tokenizer.huggingface.config_json").value_or("");
      return Tokenizer(std::make_shared<const Tokenizer::Impl>(load_vocab_hf(*json, cfg, file.path())));
    }
  }
  return Tokenizer(std::make_shared<const Tokenizer::Impl>(load_vocab_gguf(file)));
}

Tokenizer tokenizer_from_vocab(Vocab vocab) {
  vocab.finalize();
  return Tokenizer(std::make_shared<const Tokenizer::Impl>(std::move(vocab)));
}

}  // namespace tok

}  // namespace sgl
