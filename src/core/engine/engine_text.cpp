#include "core/engine/engine_text.hpp"

#include <filesystem>

#include "core/support/check.hpp"
#include "core/tokenizer/tokenizer_factory.hpp"

namespace sgl {
namespace {

class TokenizerText final : public EngineText {
 public:
  explicit TokenizerText(Tokenizer t) : tok_(std::move(t)) {}

  std::vector<int32_t> encode(const std::string& text, bool add_special, bool parse_special) const override {
    return tok_.encode(text, add_special, parse_special);
  }
  std::string decode(std::span<const int32_t> ids, bool skip_special, bool spaces_between) const override {
    return tok_.decode(ids, skip_special, spaces_between);
  }
  std::string apply_chat_template(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const override {
    return tok_.apply_chat_template(messages, add_generation_prompt);
  }
  std::vector<int32_t> eos_ids() const override { return tok_.eos_ids(); }
  const Tokenizer* tokenizer() const override { return &tok_; }

 private:
  Tokenizer tok_;
};

}  // namespace

std::shared_ptr<EngineText> make_engine_text(const LoadedModel& model, const std::string& tokenizer_path) {
  namespace fs = std::filesystem;
  if (!tokenizer_path.empty()) {
    std::error_code ec;
    if (!fs::exists(tokenizer_path, ec)) SGL_THROW(Status::kNotFound, "tokenizer_path '{}' does not exist", tokenizer_path);
    if (fs::is_directory(tokenizer_path, ec)) return std::make_shared<TokenizerText>(Tokenizer::from_hf_dir(tokenizer_path));
    if (fs::path(tokenizer_path).extension() == ".gguf")
      return std::make_shared<TokenizerText>(Tokenizer::from_gguf_file(tokenizer_path));
    return std::make_shared<TokenizerText>(Tokenizer::from_tokenizer_json(tokenizer_path));
  }
  if (model.gguf) {
    // A GGUF without tokenizer metadata (weights only) runs on token ids.
    if (!model.gguf->find("tokenizer.ggml.model") && !model.gguf->find("tokenizer.huggingface.json")) return nullptr;
    return std::make_shared<TokenizerText>(tok::tokenizer_from_gguf(*model.gguf));
  }
  if (!model.hf_dir.empty() && fs::exists(fs::path(model.hf_dir) / "tokenizer.json"))
    return std::make_shared<TokenizerText>(Tokenizer::from_hf_dir(model.hf_dir));
  return nullptr;
}

}  // namespace sgl
