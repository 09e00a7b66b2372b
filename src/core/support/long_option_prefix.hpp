// Long-option abbreviations the way Python's argparse accepts them (allow_abbrev): `--random-input`
// means `--random-input-len` when no other long option starts with it. SGLang's guides and
// scripts spell flags that way, so sgl's command-line tools accept the same spellings.
#pragma once

#include <string>
#include <vector>

namespace sgl {

// Returns `args` with every `--prefix` / `--prefix=value` token that is an unambiguous prefix of
// exactly one name in `long_names` (each spelled with its leading "--") replaced by that name.
// An exact match always wins; tokens after a bare "--", single-dash tokens and tokens that
// match nothing are left alone (the parser then reports the unknown flag by its own name).
// Throws sgl::Error(kInvalidArgument) naming the candidates when a prefix is ambiguous.
std::vector<std::string> expand_long_option_prefixes(const std::vector<std::string>& args,
                                                     const std::vector<std::string>& long_names);

}  // namespace sgl
