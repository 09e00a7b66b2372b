#include "core/support/long_option_prefix.hpp"

#include <algorithm>

#include "core/support/check.hpp"

namespace sgl {

std::vector<std::string> expand_long_option_prefixes(const std::vector<std::string>& args,
                                                     const std::vector<std::string>& long_names) {
  std::vector<std::string> out;
  out.reserve(args.size());
  bool options_done = false;
  for (const std::string& a : args) {
    if (options_done || a.size() <= 2 || a.compare(0, 2, "--") != 0) {
      if (a == "--") options_done = true;
      out.push_back(a);
      continue;
    }
    const size_t eq = a.find('=');
    const std::string name = a.substr(0, eq);
    const std::string rest = eq == std::string::npos ? std::string() : a.substr(eq);
    if (std::find(long_names.begin(), long_names.end(), name) != long_names.end()) {
      out.push_back(a);
      continue;
    }
    std::vector<std::string> hits;
    for (const std::string& n : long_names)
      if (n.size() > name.size() && n.compare(0, name.size(), name) == 0 &&
          std::find(hits.begin(), hits.end(), n) == hits.end())
        hits.push_back(n);
    if (hits.size() > 1) {
      std::sort(hits.begin(), hits.end());
      std::string list;
      for (const auto& h : hits) list += (list.empty() ? "" : ", ") + h;
      SGL_THROW(Status::kInvalidArgument, "ambiguous option: {} could match {}", name, list);
    }
    out.push_back(hits.empty() ? a : hits[0] + rest);
  }
  return out;
}

}  // namespace sgl
