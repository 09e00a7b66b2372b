// JSON Schema front end: lowers a schema into the shared grammar representation.
//
// Policies (documented choices):
// - Properties are generated in `properties` order (as xgrammar, llguidance, Outlines);
//   required keys missing from `properties` follow them.
// - Unknown extra keys: with GrammarOptions::strict_properties (default, xgrammar's strict_mode)
//   an object that lists `properties` and has no `additionalProperties` accepts no other keys;
//   an object without `properties` accepts any keys. Arrays with a tuple (`prefixItems` or
//   array `items`) take no extra items unless `items`/`additionalItems` says so.
// - Whitespace: compact by default (`{"a":1,"b":[1,2]}`); kSpaced gives xgrammar's fixed
//   separators (", " and ": "); kAny allows up to max_whitespace blanks between tokens (like xgrammar's
//   any_whitespace=True, which recent xgrammar versions use by default; we keep compact as
//   the default as the task asks, and because it needs fewer tokens).
// - Keywords the grammar cannot enforce (not, if/then/else, uniqueItems, patternProperties, ...)
//   throw kUnsupported naming the keyword and its JSON pointer, unless
//   allow_unenforced_keywords (then they are listed in `warnings` and logged). Annotations and
//   unknown keywords are ignored, as the JSON Schema spec says.
// - `oneOf` is generated like `anyOf` (exclusivity is not enforced; branches are usually
//   disjoint by type or const).
// - `pattern` uses the regex front end with search semantics (unanchored ends get `.*`); the
//   pattern is matched against the raw characters, and characters JSON must escape are not
//   generated inside patterned strings.
// - Integer bounds are exact digit-range grammars; number bounds are exact for integer-valued
//   bounds and tightened inward (to whole numbers) otherwise; bounded numbers have no exponent.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/grammar/grammar.hpp"
#include "core/grammar/grammar_matcher.hpp"

namespace sgl::grammar {

Grammar json_schema_to_grammar(std::string_view schema_json, const GrammarOptions& opt,
                               std::vector<std::string>* warnings = nullptr);
// Any JSON object (response_format json_object).
Grammar json_object_grammar(const GrammarOptions& opt);

// Exact regex-free Expr for the decimal integers in [lo, hi] (canonical form, no leading zeros).
// Missing bounds are unbounded. Exposed for tests.
Expr integer_range_expr(const int64_t* lo, const int64_t* hi);

}  // namespace sgl::grammar
