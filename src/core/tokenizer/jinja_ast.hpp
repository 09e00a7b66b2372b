// Syntax tree of a parsed chat template. Nodes are plain structs with a kind tag; the
// interpreter (jinja_interp.cpp) walks them. Every node keeps the byte offset of its source so
// runtime errors can name a line and column.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/tokenizer/jinja_value.hpp"

namespace sgl::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind : uint8_t {
    kLiteral,  // value
    kName,     // name
    kList,     // args = items (also tuples)
    kDict,     // args = key0, value0, key1, value1, ...
    kGetAttr,  // args[0] . name
    kGetItem,  // args[0] [ args[1] ]
    kSlice,    // args[0] [ args[1] : args[2] : args[3] ]  (null children are omitted bounds)
    kCall,     // args[0] ( args[1..], kwargs )
    kFilter,   // args[0] | name ( args[1..], kwargs )
    kTest,     // args[0] is [not] name ( args[1..] )
    kUnary,    // name in {"-", "+", "not"}, args[0]
    kBinary,   // args[0] name args[1], name in {+ - * / // % ** ~ and or}
    kCompare,  // args[0] ops[0] args[1] ops[1] args[2] ... (chained, Python style)
    kCond,     // args[1] if args[0] else args[2] (args[2] may be null)
  };
  Kind kind = Kind::kLiteral;
  size_t pos = 0;
  Value value;
  std::string name;
  bool negated = false;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;
};

struct Node;
using NodePtr = std::unique_ptr<Node>;
using Body = std::vector<NodePtr>;

struct Node {
  enum class Kind : uint8_t {
    kText,      // text
    kOutput,    // {{ expr }}
    kIf,        // conds[k] -> bodies[k]; else_body
    kFor,       // for targets in expr [if cond]: body; else_body
    kSet,       // set targets = expr, or set targets[0].attr = expr
    kSetBlock,  // set targets[0] %} body {% endset
    kMacro,     // macro name(params) body
    kBreak,
    kContinue,
    kScope,     // a body with no effect of its own ({% generation %})
  };
  Kind kind = Kind::kText;
  size_t pos = 0;
  std::string text;                 // kText; kSet attribute name; kMacro name
  ExprPtr expr;                     // kOutput, kFor iterable, kSet value
  ExprPtr cond;                     // kFor inline filter
  std::vector<std::string> targets;
  std::vector<ExprPtr> conds;       // kIf
  std::vector<Body> bodies;         // kIf branches
  Body body;                        // kFor, kSetBlock, kMacro, kScope
  Body else_body;                   // kIf, kFor
  std::vector<std::pair<std::string, ExprPtr>> params;  // kMacro (default may be null)
};

// A parsed template. Owns its source so errors can quote positions.
struct Program {
  std::string source;
  Body body;
};

// Parses a template. Throws sgl::Error(kParseError) with the offset and line:column.
std::shared_ptr<const Program> parse_program(std::string source);

}  // namespace sgl::jinja
