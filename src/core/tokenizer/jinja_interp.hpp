// Tree-walking evaluator of a parsed chat template. One Interp renders one template once; it is
// cheap to build, so ChatTemplate::render makes a fresh one per call (render is thread-safe).
//
// Undefined follows Jinja's default Undefined: a missing variable, key, index or attribute is
// Undefined, prints as "", is false, has length 0 and iterates as empty; reading an attribute or
// item *of* an Undefined, or dumping it with tojson, is an error (as it is for Hugging Face).
//
// Runaway templates are bounded: loop iterations and macro calls together, output size (also
// the size of any string or list built on the way), and macro recursion depth.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tokenizer/jinja_ast.hpp"
#include "sgl/error.hpp"

namespace sgl::jinja {

struct Limits {
  int64_t max_iterations = 1'000'000;
  size_t max_output_bytes = 16u << 20;
  int max_call_depth = 64;
};

class Interp {
 public:
  Interp(std::shared_ptr<const Program> program, Limits limits);

  // Renders the template with `vars` (a dict) as the top-level variables.
  std::string render(const Value& vars);

  // ---- used by filters, tests and methods (jinja_builtins.cpp) ----
  [[noreturn]] void fail(size_t pos, const std::string& msg) const;
  Value call(const Value& fn, Args& args, size_t pos);
  // Counts n units of work against max_iterations.
  void charge(int64_t n, size_t pos);
  // Fails if a string or list of this size would exceed the output limit.
  void check_size(size_t n, size_t pos) const;
  const Limits& limits() const { return limits_; }
  size_t current_pos() const { return cur_pos_; }

 private:
  enum class Flow : uint8_t { kNormal, kBreak, kContinue };

  Value eval(const Expr& e);
  Value eval_binary(const Expr& e);
  Value eval_compare(const Expr& e);
  Value eval_slice(const Expr& e);
  Args eval_args(const Expr& e, size_t first);
  void exec(const Body& body);
  void exec_node(const Node& n);
  void exec_for(const Node& n);
  void exec_set(const Node& n);
  Value define_macro(const Node& n);
  void emit(const std::string& s);
  void assign(const std::vector<std::string>& targets, const Value& v, size_t pos);
  void bind(const std::string& name, Value v);
  Value lookup(const std::string& name) const;

  using Scope = std::vector<std::pair<std::string, Value>>;

  std::shared_ptr<const Program> program_;
  Limits limits_;
  std::vector<Scope> scopes_;
  std::string* out_ = nullptr;
  Flow flow_ = Flow::kNormal;
  int64_t work_ = 0;
  int call_depth_ = 0;
  size_t cur_pos_ = 0;
};

}  // namespace sgl::jinja
