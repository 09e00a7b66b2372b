// Reading the small JSON files of a Hugging Face model directory (config.json,
// model.safetensors.index.json, tokenizer_config.json) with size limits and clear errors.
// Internal: nlohmann types stay out of the public headers.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace sgl::hf {

// Throws sgl::Error: kNotFound if the file is missing, kIoError if unreadable or over 64 MiB,
// kParseError (with the byte offset) if it is not valid JSON.
nlohmann::json read_json_file(const std::string& path);

}  // namespace sgl::hf
