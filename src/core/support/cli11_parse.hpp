// CLI11 parsing with argparse-style long-option prefixes (see long_option_prefix.hpp). Header
// only, so libsgl itself does not depend on CLI11; the programs that use CLI11 include it.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/support/long_option_prefix.hpp"
#include "sgl/error.hpp"

namespace sgl {

// Every long name ("--name") of `app`'s options, the built-in --help included.
inline std::vector<std::string> cli11_long_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* o : app.get_options())
    for (const std::string& n : o->get_lnames()) names.push_back("--" + n);
  return names;
}

// app.parse(argc, argv) after expanding prefixes; an ambiguous prefix is a CLI::ValidationError,
// so callers handle it like any other parse error (app.exit(e)).
inline void cli11_parse_with_prefixes(CLI::App& app, int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  try {
    args = expand_long_option_prefixes(args, cli11_long_names(app));
  } catch (const sgl::Error& e) {
    throw CLI::ValidationError(e.what());
  }
  std::vector<char*> av;
  av.push_back(argc > 0 ? argv[0] : const_cast<char*>(""));
  for (auto& s : args) av.push_back(s.data());
  app.parse(static_cast<int>(av.size()), av.data());
}

}  // namespace sgl
