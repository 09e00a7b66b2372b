// Recursive-descent parser of the chat-template Jinja subset, following Jinja2's grammar and
// operator precedence (lowest first): `a if c else b`, or, and, not, comparisons (chained, `in`,
// `not in`), + -, ~, * / // %, **, unary -, then primaries with postfix `.attr`, `[i]`, `[a:b:c]`,
// calls, `| filter` and `is test`.
#include <unordered_set>

#include "core/support/check.hpp"
#include "core/tokenizer/jinja_ast.hpp"
#include "core/tokenizer/jinja_lexer.hpp"

namespace sgl::jinja {
namespace {

using TK = Token::Kind;

// Deep nesting would otherwise overflow the stack; real templates nest a few levels.
constexpr int kMaxNesting = 300;

class Parser {
 public:
  Parser(const std::string& src, std::vector<Token> toks) : src_(src), toks_(std::move(toks)) {}

  Body parse_template() {
    std::string end;
    Body body = parse_body({}, &end);
    return body;
  }

 private:
  // ---- token helpers -------------------------------------------------------------------
  const Token& cur() const { return toks_[idx_]; }
  const Token& peek(size_t n = 1) const { return toks_[std::min(idx_ + n, toks_.size() - 1)]; }
  const Token& next() {
    const Token& t = toks_[idx_];
    if (idx_ + 1 < toks_.size()) ++idx_;
    return t;
  }
  bool is_op(const char* op) const { return cur().kind == TK::kOp && cur().text == op; }
  bool is_name(const char* name) const { return cur().kind == TK::kName && cur().text == name; }
  bool accept_op(const char* op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool accept_name(const char* name) {
    if (!is_name(name)) return false;
    next();
    return true;
  }
  [[noreturn]] void fail(const Token& t, const std::string& msg) const { throw_syntax_error(src_, t.pos, msg); }
  static std::string describe(const Token& t) {
    switch (t.kind) {
      case TK::kText: return "template text";
      case TK::kVarBegin: return "'{{'";
      case TK::kVarEnd: return "'}}'";
      case TK::kBlockBegin: return "'{%'";
      case TK::kBlockEnd: return "'%}'";
      case TK::kName: return "name '" + t.text + "'";
      case TK::kString: return "string literal";
      case TK::kInt:
      case TK::kFloat: return "number '" + t.text + "'";
      case TK::kOp: return "'" + t.text + "'";
      case TK::kEof: return "end of template";
    }
    return "?";
  }
  void expect_op(const char* op) {
    if (!accept_op(op)) fail(cur(), std::string("expected '") + op + "', found " + describe(cur()));
  }
  std::string expect_ident() {
    if (cur().kind != TK::kName) fail(cur(), "expected a name, found " + describe(cur()));
    return next().text;
  }
  void expect_block_end() {
    if (cur().kind != TK::kBlockEnd) fail(cur(), "expected '%}', found " + describe(cur()));
    next();
  }

  struct DepthGuard {
    Parser* p;
    DepthGuard(Parser* parser, const Token& at) : p(parser) {
      if (++p->depth_ > kMaxNesting) p->fail(at, "template nested too deeply (limit " + std::to_string(kMaxNesting) + ")");
    }
    ~DepthGuard() { --p->depth_; }
  };

  // Left-associative chains (a + b + c, x.a.b, x|f|g) deepen the tree without recursing here, so
  // each link counts toward the same nesting limit as recursion does.
  struct ChainGuard {
    Parser* p;
    int steps = 0;
    explicit ChainGuard(Parser* parser) : p(parser) {}
    void step() {
      ++steps;
      if (++p->depth_ > kMaxNesting)
        p->fail(p->cur(), "expression nested too deeply (limit " + std::to_string(kMaxNesting) + ")");
    }
    ~ChainGuard() { p->depth_ -= steps; }
  };

  // ---- statements ----------------------------------------------------------------------
  // Parses nodes until a `{% name %}` with name in `ends` (consumed up to the name; *end set to
  // it) or the end of the template (*end empty; an error if `ends` is not empty).
  Body parse_body(std::initializer_list<const char*> ends, std::string* end, const Token* opener = nullptr) {
    Body body;
    for (;;) {
      const Token& t = cur();
      if (t.kind == TK::kEof) {
        if (ends.size() != 0) {
          std::string want;
          for (const char* e : ends) want += std::string(want.empty() ? "" : " or ") + "'{% " + e + " %}'";
          fail(opener ? *opener : t, "missing " + want + " before the end of the template");
        }
        end->clear();
        return body;
      }
      if (t.kind == TK::kText) {
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::kText;
        n->pos = t.pos;
        n->text = t.text;
        body.push_back(std::move(n));
        next();
        continue;
      }
      if (t.kind == TK::kVarBegin) {
        next();
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::kOutput;
        n->pos = t.pos;
        n->expr = parse_tuple_or_expr();
        if (cur().kind != TK::kVarEnd) fail(cur(), "expected '}}', found " + describe(cur()));
        next();
        body.push_back(std::move(n));
        continue;
      }
      if (t.kind != TK::kBlockBegin) fail(t, "unexpected " + describe(t));
      const Token& name = peek();
      if (name.kind != TK::kName) fail(name, "expected a statement name after '{%', found " + describe(name));
      for (const char* e : ends) {
        if (name.text == e) {
          next();
          next();
          *end = e;
          return body;
        }
      }
      body.push_back(parse_statement());
    }
  }

  NodePtr parse_statement() {
    const Token& begin = next();  // '{%'
    DepthGuard guard(this, begin);
    const Token& kw = next();
    const std::string& w = kw.text;
    auto n = std::make_unique<Node>();
    n->pos = begin.pos;
    std::string end;
    if (w == "if") {
      n->kind = Node::Kind::kIf;
      n->conds.push_back(parse_expr());
      expect_block_end();
      for (;;) {
        n->bodies.push_back(parse_body({"elif", "else", "endif"}, &end, &begin));
        if (end == "elif") {
          n->conds.push_back(parse_expr());
          expect_block_end();
          continue;
        }
        expect_block_end();
        if (end == "else") {
          n->else_body = parse_body({"endif"}, &end, &begin);
          expect_block_end();
        }
        break;
      }
    } else if (w == "for") {
      n->kind = Node::Kind::kFor;
      bool paren = accept_op("(");
      n->targets.push_back(expect_ident());
      while (accept_op(",")) n->targets.push_back(expect_ident());
      if (paren) expect_op(")");
      if (!accept_name("in")) fail(cur(), "expected 'in' in for loop, found " + describe(cur()));
      n->expr = parse_expr(/*allow_cond=*/false);
      if (accept_name("if")) n->cond = parse_expr(false);
      if (is_name("recursive")) fail(cur(), "recursive for loops are not supported");
      expect_block_end();
      ++loop_depth_;
      n->body = parse_body({"else", "endfor"}, &end, &begin);
      --loop_depth_;
      expect_block_end();
      if (end == "else") {
        n->else_body = parse_body({"endfor"}, &end, &begin);
        expect_block_end();
      }
    } else if (w == "set") {
      n->targets.push_back(expect_ident());
      if (accept_op(".")) {
        n->text = expect_ident();
      } else {
        while (accept_op(",")) n->targets.push_back(expect_ident());
      }
      if (accept_op("=")) {
        n->kind = Node::Kind::kSet;
        n->expr = parse_tuple_or_expr();
        expect_block_end();
      } else {
        if (n->targets.size() != 1 || !n->text.empty()) fail(cur(), "expected '=' in set statement");
        n->kind = Node::Kind::kSetBlock;
        expect_block_end();
        n->body = parse_body({"endset"}, &end, &begin);
        expect_block_end();
      }
    } else if (w == "macro") {
      n->kind = Node::Kind::kMacro;
      n->text = expect_ident();
      expect_op("(");
      while (!is_op(")")) {
        std::string p = expect_ident();
        ExprPtr def;
        if (accept_op("=")) def = parse_expr();
        n->params.emplace_back(std::move(p), std::move(def));
        if (!accept_op(",")) break;
      }
      expect_op(")");
      expect_block_end();
      int saved = loop_depth_;
      loop_depth_ = 0;
      n->body = parse_body({"endmacro"}, &end, &begin);
      loop_depth_ = saved;
      if (cur().kind == TK::kName) next();  // `{% endmacro name %}`
      expect_block_end();
    } else if (w == "break" || w == "continue") {
      if (loop_depth_ == 0) fail(kw, "'" + w + "' outside of a for loop");
      n->kind = w == "break" ? Node::Kind::kBreak : Node::Kind::kContinue;
      expect_block_end();
    } else if (w == "generation") {
      // HF's AssistantTracker extension: marks assistant text; renders its body unchanged.
      n->kind = Node::Kind::kScope;
      expect_block_end();
      n->body = parse_body({"endgeneration"}, &end, &begin);
      expect_block_end();
    } else if (w == "elif" || w == "else" || w.rfind("end", 0) == 0) {
      fail(kw, "unexpected '{% " + w + " %}' with no open block it could close");
    } else if (w == "call" || w == "filter" || w == "include" || w == "import" || w == "from" || w == "extends" ||
               w == "block" || w == "with" || w == "autoescape" || w == "do") {
      SGL_THROW(Status::kParseError, "chat template: '{{% {} %}}' at {} is not supported by this interpreter", w,
                describe_position(src_, kw.pos));
    } else {
      fail(kw, "unknown statement '" + w + "'");
    }
    return n;
  }

  // ---- expressions ---------------------------------------------------------------------
  ExprPtr make(Expr::Kind kind, size_t pos) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->pos = pos;
    return e;
  }

  // `a, b` without brackets is a tuple (used by `{% set a, b = ... %}` and `{{ a, b }}`).
  ExprPtr parse_tuple_or_expr() {
    size_t pos = cur().pos;
    ExprPtr first = parse_expr();
    if (!is_op(",")) return first;
    auto list = make(Expr::Kind::kList, pos);
    list->args.push_back(std::move(first));
    while (accept_op(",")) {
      if (cur().kind == TK::kBlockEnd || cur().kind == TK::kVarEnd) break;
      list->args.push_back(parse_expr());
    }
    return list;
  }

  ExprPtr parse_expr(bool allow_cond = true) {
    DepthGuard guard(this, cur());
    ExprPtr e = parse_or();
    while (allow_cond && is_name("if")) {
      size_t pos = cur().pos;
      next();
      auto c = make(Expr::Kind::kCond, pos);
      c->args.push_back(parse_or());
      c->args.push_back(std::move(e));  // args = [cond, then, else]
      c->args.push_back(accept_name("else") ? parse_expr() : nullptr);
      e = std::move(c);
    }
    return e;
  }

  ExprPtr binary(const std::string& op, size_t pos, ExprPtr l, ExprPtr r) {
    auto e = make(Expr::Kind::kBinary, pos);
    e->name = op;
    e->args.push_back(std::move(l));
    e->args.push_back(std::move(r));
    return e;
  }

  ExprPtr parse_or() {
    ChainGuard chain(this);
    ExprPtr l = parse_and();
    while (is_name("or")) {
      chain.step();
      size_t pos = next().pos;
      l = binary("or", pos, std::move(l), parse_and());
    }
    return l;
  }
  ExprPtr parse_and() {
    ChainGuard chain(this);
    ExprPtr l = parse_not();
    while (is_name("and")) {
      chain.step();
      size_t pos = next().pos;
      l = binary("and", pos, std::move(l), parse_not());
    }
    return l;
  }
  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(this, cur());
      size_t pos = next().pos;
      auto e = make(Expr::Kind::kUnary, pos);
      e->name = "not";
      e->args.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }
  ExprPtr parse_compare() {
    size_t pos = cur().pos;
    ExprPtr first = parse_math1();
    ExprPtr cmp;
    for (;;) {
      std::string op;
      if (cur().kind == TK::kOp && (cur().text == "==" || cur().text == "!=" || cur().text == "<" ||
                                    cur().text == ">" || cur().text == "<=" || cur().text == ">=")) {
        op = next().text;
      } else if (is_name("in")) {
        next();
        op = "in";
      } else if (is_name("not") && peek().kind == TK::kName && peek().text == "in") {
        next();
        next();
        op = "not in";
      } else {
        break;
      }
      if (!cmp) {
        // A comparison chain is one flat node: evaluating it does not recurse per link.
        cmp = make(Expr::Kind::kCompare, pos);
        cmp->args.push_back(std::move(first));
      }
      cmp->ops.push_back(op);
      cmp->args.push_back(parse_math1());
    }
    return cmp ? std::move(cmp) : std::move(first);
  }
  ExprPtr parse_math1() {
    ChainGuard chain(this);
    ExprPtr l = parse_concat();
    while (is_op("+") || is_op("-")) {
      chain.step();
      const Token& t = next();
      l = binary(t.text, t.pos, std::move(l), parse_concat());
    }
    return l;
  }
  ExprPtr parse_concat() {
    ChainGuard chain(this);
    ExprPtr l = parse_math2();
    while (is_op("~")) {
      chain.step();
      size_t pos = next().pos;
      l = binary("~", pos, std::move(l), parse_math2());
    }
    return l;
  }
  ExprPtr parse_math2() {
    ChainGuard chain(this);
    ExprPtr l = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      chain.step();
      const Token& t = next();
      l = binary(t.text, t.pos, std::move(l), parse_pow());
    }
    return l;
  }
  ExprPtr parse_pow() {
    ChainGuard chain(this);
    ExprPtr l = parse_unary(true);
    while (is_op("**")) {
      chain.step();
      size_t pos = next().pos;
      l = binary("**", pos, std::move(l), parse_unary(true));
    }
    return l;
  }
  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(this, cur());
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      const Token& t = next();
      e = make(Expr::Kind::kUnary, t.pos);
      e->name = t.text;
      e->args.push_back(parse_unary(false));
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filters(std::move(e));
    return e;
  }

  void parse_call_args(Expr* call) {
    // '(' already consumed
    while (!is_op(")")) {
      if (cur().kind == TK::kName && peek().kind == TK::kOp && peek().text == "=") {
        std::string key = next().text;
        next();
        call->kwargs.emplace_back(std::move(key), parse_expr());
      } else {
        if (!call->kwargs.empty()) fail(cur(), "positional argument after keyword argument");
        call->args.push_back(parse_expr());
      }
      if (!accept_op(",")) break;
    }
    expect_op(")");
  }

  ExprPtr parse_postfix(ExprPtr e) {
    ChainGuard chain(this);
    for (;;) {
      if (is_op(".") || is_op("[") || is_op("(")) chain.step();
      if (is_op(".")) {
        size_t pos = next().pos;
        if (cur().kind == TK::kInt) {
          auto g = make(Expr::Kind::kGetItem, pos);
          auto idx = make(Expr::Kind::kLiteral, cur().pos);
          idx->value = Value::integer(next().i);
          g->args.push_back(std::move(e));
          g->args.push_back(std::move(idx));
          e = std::move(g);
        } else {
          auto g = make(Expr::Kind::kGetAttr, pos);
          g->name = expect_ident();
          g->args.push_back(std::move(e));
          e = std::move(g);
        }
      } else if (is_op("[")) {
        size_t pos = next().pos;
        ExprPtr parts[3];
        int colons = 0;
        for (;;) {
          if (is_op(":")) {
            if (++colons > 2) fail(cur(), "too many ':' in slice");
            next();
            continue;
          }
          if (is_op("]")) break;
          if (parts[colons]) fail(cur(), "expected ':' or ']' in subscript, found " + describe(cur()));
          parts[colons] = parse_expr();
        }
        next();  // ']'
        if (colons == 0) {
          if (!parts[0]) fail(cur(), "empty subscript");
          auto g = make(Expr::Kind::kGetItem, pos);
          g->args.push_back(std::move(e));
          g->args.push_back(std::move(parts[0]));
          e = std::move(g);
        } else {
          auto s = make(Expr::Kind::kSlice, pos);
          s->args.push_back(std::move(e));
          for (auto& p : parts) s->args.push_back(std::move(p));
          e = std::move(s);
        }
      } else if (is_op("(")) {
        size_t pos = next().pos;
        auto c = make(Expr::Kind::kCall, pos);
        c->args.push_back(std::move(e));
        parse_call_args(c.get());
        e = std::move(c);
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_filters(ExprPtr e) {
    ChainGuard chain(this);
    for (;;) {
      if (is_op("|") || is_name("is")) chain.step();
      if (is_op("|")) {
        size_t pos = next().pos;
        auto f = make(Expr::Kind::kFilter, pos);
        f->name = expect_ident();
        f->args.push_back(std::move(e));
        if (accept_op("(")) parse_call_args(f.get());
        e = std::move(f);
      } else if (is_name("is")) {
        size_t pos = next().pos;
        auto t = make(Expr::Kind::kTest, pos);
        t->negated = accept_name("not");
        t->name = expect_ident();
        t->args.push_back(std::move(e));
        if (accept_op("(")) {
          parse_call_args(t.get());
        } else {
          static const std::unordered_set<std::string> kStop = {"else", "or", "and", "if", "is", "in", "not"};
          const Token& c = cur();
          bool arg = c.kind == TK::kString || c.kind == TK::kInt || c.kind == TK::kFloat ||
                     (c.kind == TK::kName && !kStop.count(c.text)) ||
                     (c.kind == TK::kOp && (c.text == "[" || c.text == "{" || c.text == "("));
          if (arg) t->args.push_back(parse_postfix(parse_primary()));
        }
        e = std::move(t);
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_primary() {
    DepthGuard guard(this, cur());
    const Token& t = cur();
    switch (t.kind) {
      case TK::kName: {
        next();
        auto e = make(Expr::Kind::kLiteral, t.pos);
        if (t.text == "true" || t.text == "True") e->value = Value::boolean(true);
        else if (t.text == "false" || t.text == "False") e->value = Value::boolean(false);
        else if (t.text == "none" || t.text == "None") e->value = Value::none();
        else {
          e->kind = Expr::Kind::kName;
          e->name = t.text;
        }
        return e;
      }
      case TK::kString: {
        auto e = make(Expr::Kind::kLiteral, t.pos);
        std::string s;
        while (cur().kind == TK::kString) s += next().text;  // adjacent literals concatenate
        e->value = Value::string(std::move(s));
        return e;
      }
      case TK::kInt: {
        auto e = make(Expr::Kind::kLiteral, t.pos);
        e->value = Value::integer(next().i);
        return e;
      }
      case TK::kFloat: {
        auto e = make(Expr::Kind::kLiteral, t.pos);
        e->value = Value::number(next().f);
        return e;
      }
      case TK::kOp:
        if (t.text == "(") {
          next();
          if (accept_op(")")) return make(Expr::Kind::kList, t.pos);
          ExprPtr inner = parse_expr();
          if (is_op(",")) {
            auto list = make(Expr::Kind::kList, t.pos);
            list->args.push_back(std::move(inner));
            while (accept_op(",")) {
              if (is_op(")")) break;
              list->args.push_back(parse_expr());
            }
            inner = std::move(list);
          }
          expect_op(")");
          return inner;
        }
        if (t.text == "[") {
          next();
          auto list = make(Expr::Kind::kList, t.pos);
          while (!is_op("]")) {
            list->args.push_back(parse_expr());
            if (!accept_op(",")) break;
          }
          expect_op("]");
          return list;
        }
        if (t.text == "{") {
          next();
          auto dict = make(Expr::Kind::kDict, t.pos);
          while (!is_op("}")) {
            dict->args.push_back(parse_expr());
            expect_op(":");
            dict->args.push_back(parse_expr());
            if (!accept_op(",")) break;
          }
          expect_op("}");
          return dict;
        }
        break;
      default: break;
    }
    fail(t, "expected an expression, found " + describe(t));
  }

  const std::string& src_;
  std::vector<Token> toks_;
  size_t idx_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

std::shared_ptr<const Program> parse_program(std::string source) {
  auto prog = std::make_shared<Program>();
  prog->source = std::move(source);
  Parser parser(prog->source, lex(prog->source));
  prog->body = parser.parse_template();
  return prog;
}

}  // namespace sgl::jinja
