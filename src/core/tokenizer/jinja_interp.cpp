#include "core/tokenizer/jinja_interp.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "core/tokenizer/jinja_builtins.hpp"
#include "core/tokenizer/jinja_lexer.hpp"

namespace sgl::jinja {

Interp::Interp(std::shared_ptr<const Program> program, Limits limits)
    : program_(std::move(program)), limits_(limits) {}

void Interp::fail(size_t pos, const std::string& msg) const {
  throw Error(Status::kInvalidArgument,
              "chat template error at " + describe_position(program_->source, pos) + ": " + msg,
              static_cast<int64_t>(pos));
}

void Interp::charge(int64_t n, size_t pos) {
  work_ += n;
  if (work_ > limits_.max_iterations)
    fail(pos, "template exceeded the limit of " + std::to_string(limits_.max_iterations) +
                  " loop iterations (runaway loop?)");
}

void Interp::check_size(size_t n, size_t pos) const {
  if (n > limits_.max_output_bytes)
    fail(pos, "template built a value or output larger than the limit of " +
                  std::to_string(limits_.max_output_bytes) + " bytes");
}

std::string Interp::render(const Value& vars) {
  std::string out;
  out_ = &out;
  scopes_.clear();
  scopes_.emplace_back();
  if (vars.is_dict())
    for (const auto& [k, v] : vars.dict->items) scopes_[0].emplace_back(k, v);
  exec(program_->body);
  out_ = nullptr;
  return out;
}

void Interp::emit(const std::string& s) {
  check_size(out_->size() + s.size(), cur_pos_);
  out_->append(s);
}

void Interp::bind(const std::string& name, Value v) {
  Scope& s = scopes_.back();
  for (auto& [k, old] : s) {
    if (k == name) {
      old = std::move(v);
      return;
    }
  }
  s.emplace_back(name, std::move(v));
}

Value Interp::lookup(const std::string& name) const {
  for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it)
    for (auto kv = it->rbegin(); kv != it->rend(); ++kv)
      if (kv->first == name) return kv->second;
  return lookup_global(name);
}

Value Interp::call(const Value& fn, Args& args, size_t pos) {
  if (!fn.is_func()) fail(pos, std::string("'") + fn.type_name() + "' object is not callable");
  size_t saved = cur_pos_;
  cur_pos_ = pos;
  Value r = (*fn.func)(*this, args);
  cur_pos_ = saved;
  return r;
}

// ---- statements ------------------------------------------------------------------------

void Interp::exec(const Body& body) {
  for (const auto& n : body) {
    exec_node(*n);
    if (flow_ != Flow::kNormal) return;
  }
}

void Interp::exec_node(const Node& n) {
  cur_pos_ = n.pos;
  switch (n.kind) {
    case Node::Kind::kText: emit(n.text); return;
    case Node::Kind::kOutput: {
      Value v = eval(*n.expr);
      cur_pos_ = n.pos;
      emit(to_str(v));
      return;
    }
    case Node::Kind::kIf:
      for (size_t k = 0; k < n.conds.size(); ++k) {
        if (eval(*n.conds[k]).truthy()) {
          exec(n.bodies[k]);
          return;
        }
      }
      exec(n.else_body);
      return;
    case Node::Kind::kFor: exec_for(n); return;
    case Node::Kind::kSet: exec_set(n); return;
    case Node::Kind::kSetBlock: {
      std::string captured;
      std::string* saved = out_;
      out_ = &captured;
      exec(n.body);
      out_ = saved;
      bind(n.targets[0], Value::string(std::move(captured)));
      return;
    }
    case Node::Kind::kMacro: bind(n.text, define_macro(n)); return;
    case Node::Kind::kBreak: flow_ = Flow::kBreak; return;
    case Node::Kind::kContinue: flow_ = Flow::kContinue; return;
    case Node::Kind::kScope: exec(n.body); return;
  }
}

void Interp::assign(const std::vector<std::string>& targets, const Value& v, size_t pos) {
  if (targets.size() == 1) {
    bind(targets[0], v);
    return;
  }
  List items = iterate(*this, v, pos);
  if (items.size() != targets.size())
    fail(pos, "cannot unpack " + std::to_string(items.size()) + " values into " + std::to_string(targets.size()) +
                  " names");
  for (size_t k = 0; k < targets.size(); ++k) bind(targets[k], items[k]);
}

void Interp::exec_set(const Node& n) {
  Value v = eval(*n.expr);
  if (n.text.empty()) {
    assign(n.targets, v, n.pos);
    return;
  }
  Value obj = lookup(n.targets[0]);
  if (!obj.is_dict() || !obj.dict->is_namespace)
    fail(n.pos, "cannot set attribute '" + n.text + "' on '" + n.targets[0] + "': only namespace() objects allow it");
  if (v.has_ns) fail(n.pos, "cannot store a namespace() object inside a namespace");
  if (v.nest + 1 > Value::kMaxNest) fail(n.pos, "value nested too deeply");
  obj.dict->set(n.text, std::move(v));
}

void Interp::exec_for(const Node& n) {
  Value seq = eval(*n.expr);
  List items;
  if (seq.is_undefined()) {
    // Undefined iterates as empty, as in Jinja.
  } else {
    items = iterate(*this, seq, n.expr->pos);
  }
  if (n.cond) {
    List kept;
    scopes_.emplace_back();
    for (auto& item : items) {
      charge(1, n.pos);
      assign(n.targets, item, n.pos);
      if (eval(*n.cond).truthy()) kept.push_back(std::move(item));
    }
    scopes_.pop_back();
    items = std::move(kept);
  }
  if (items.empty()) {
    exec(n.else_body);
    return;
  }
  const int64_t len = static_cast<int64_t>(items.size());
  Value cycle_fn = Value::undefined();
  for (int64_t k = 0; k < len; ++k) {
    charge(1, n.pos);
    Value loop = Value::new_dict();
    Dict& d = *loop.dict;
    d.items.reserve(12);
    d.set("index", Value::integer(k + 1));
    d.set("index0", Value::integer(k));
    d.set("revindex", Value::integer(len - k));
    d.set("revindex0", Value::integer(len - k - 1));
    d.set("first", Value::boolean(k == 0));
    d.set("last", Value::boolean(k == len - 1));
    d.set("length", Value::integer(len));
    d.set("depth", Value::integer(1));
    d.set("depth0", Value::integer(0));
    d.set("previtem", k > 0 ? items[k - 1] : Value::undefined());
    d.set("nextitem", k + 1 < len ? items[k + 1] : Value::undefined());
    d.set("cycle", Value::function([k](Interp& in, Args& a) -> Value {
            if (a.pos.empty()) in.fail(in.current_pos(), "loop.cycle() needs at least one argument");
            return a.pos[static_cast<size_t>(k) % a.pos.size()];
          }));
    loop.refresh_nest();
    scopes_.emplace_back();
    bind("loop", loop);
    assign(n.targets, items[k], n.pos);
    exec(n.body);
    scopes_.pop_back();
    if (flow_ == Flow::kBreak) {
      flow_ = Flow::kNormal;
      break;
    }
    flow_ = Flow::kNormal;
  }
}

Value Interp::define_macro(const Node& n) {
  const Node* node = &n;
  return Value::function([node](Interp& in, Args& args) -> Value {
    size_t pos = in.current_pos();
    if (in.call_depth_ >= in.limits_.max_call_depth)
      in.fail(pos, "macro calls nested deeper than " + std::to_string(in.limits_.max_call_depth));
    in.charge(1, pos);
    if (args.pos.size() > node->params.size())
      in.fail(pos, "macro '" + node->text + "' takes " + std::to_string(node->params.size()) + " arguments, got " +
                       std::to_string(args.pos.size()));
    Scope params;
    for (size_t k = 0; k < node->params.size(); ++k) {
      const auto& [pname, def] = node->params[k];
      Value v;
      if (k < args.pos.size()) {
        v = args.pos[k];
      } else {
        bool found = false;
        for (auto& [kn, kv] : args.kw)
          if (kn == pname) v = kv, found = true;
        if (!found && def) v = in.eval(*def);
      }
      params.emplace_back(pname, std::move(v));
    }
    // The body sees the template's top-level variables and its parameters.
    std::vector<Scope> saved_scopes;
    saved_scopes.swap(in.scopes_);
    in.scopes_.push_back(saved_scopes.front());
    in.scopes_.push_back(std::move(params));
    std::string captured;
    std::string* saved_out = in.out_;
    in.out_ = &captured;
    ++in.call_depth_;
    try {
      in.exec(node->body);
    } catch (...) {
      --in.call_depth_;
      in.out_ = saved_out;
      in.scopes_.swap(saved_scopes);
      throw;
    }
    --in.call_depth_;
    in.out_ = saved_out;
    // Keep top-level changes the macro made (none in practice) out: Jinja macros are scoped.
    in.scopes_.swap(saved_scopes);
    in.flow_ = Flow::kNormal;
    return Value::string(std::move(captured));
  });
}

// ---- expressions -----------------------------------------------------------------------

Args Interp::eval_args(const Expr& e, size_t first) {
  Args a;
  for (size_t k = first; k < e.args.size(); ++k) a.pos.push_back(eval(*e.args[k]));
  for (const auto& [name, x] : e.kwargs) a.kw.emplace_back(name, eval(*x));
  return a;
}

Value Interp::eval(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::kLiteral: return e.value;
    case Expr::Kind::kName: return lookup(e.name);
    case Expr::Kind::kList: {
      List items;
      items.reserve(e.args.size());
      for (const auto& a : e.args) items.push_back(eval(*a));
      return Value::new_list(std::move(items));
    }
    case Expr::Kind::kDict: {
      Value d = Value::new_dict();
      for (size_t k = 0; k + 1 < e.args.size(); k += 2) {
        Value key = eval(*e.args[k]);
        d.dict->set(to_str(key), eval(*e.args[k + 1]));
      }
      d.refresh_nest();
      return d;
    }
    case Expr::Kind::kGetAttr: return get_attr(*this, eval(*e.args[0]), e.name, e.pos);
    case Expr::Kind::kGetItem: {
      Value obj = eval(*e.args[0]);
      return get_item(*this, obj, eval(*e.args[1]), e.pos);
    }
    case Expr::Kind::kSlice: return eval_slice(e);
    case Expr::Kind::kCall: {
      Value fn = eval(*e.args[0]);
      Args a = eval_args(e, 1);
      return call(fn, a, e.pos);
    }
    case Expr::Kind::kFilter: {
      Value input = eval(*e.args[0]);
      Args a = eval_args(e, 1);
      return apply_filter(*this, e.name, input, a, e.pos);
    }
    case Expr::Kind::kTest: {
      Value v = eval(*e.args[0]);
      Args a = eval_args(e, 1);
      bool r = apply_test(*this, e.name, v, a, e.pos);
      return Value::boolean(e.negated ? !r : r);
    }
    case Expr::Kind::kUnary: {
      Value v = eval(*e.args[0]);
      if (e.name == "not") return Value::boolean(!v.truthy());
      if (v.kind == Value::Kind::kFloat) return Value::number(e.name == "-" ? -v.f : v.f);
      if (v.kind == Value::Kind::kInt || v.kind == Value::Kind::kBool) {
        int64_t x = v.kind == Value::Kind::kBool ? v.b : v.i;
        if (e.name == "+") return Value::integer(x);
        if (x == std::numeric_limits<int64_t>::min()) fail(e.pos, "integer overflow");
        return Value::integer(-x);
      }
      fail(e.pos, std::string("bad operand type for unary ") + e.name + ": '" + v.type_name() + "'");
    }
    case Expr::Kind::kBinary: return eval_binary(e);
    case Expr::Kind::kCompare: return eval_compare(e);
    case Expr::Kind::kCond:
      if (eval(*e.args[0]).truthy()) return eval(*e.args[1]);
      return e.args[2] ? eval(*e.args[2]) : Value::undefined();
  }
  return Value::undefined();
}

namespace {

bool is_intlike(const Value& v) { return v.kind == Value::Kind::kInt || v.kind == Value::Kind::kBool; }
int64_t int_of(const Value& v) { return v.kind == Value::Kind::kBool ? v.b : v.i; }

}  // namespace

Value Interp::eval_binary(const Expr& e) {
  const std::string& op = e.name;
  Value a = eval(*e.args[0]);
  if (op == "and") return a.truthy() ? eval(*e.args[1]) : a;
  if (op == "or") return a.truthy() ? a : eval(*e.args[1]);
  Value b = eval(*e.args[1]);
  auto type_error = [&]() {
    fail(e.pos, "unsupported operand types for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'");
  };
  if (op == "~") {
    std::string s = to_str(a);
    std::string t = to_str(b);
    check_size(s.size() + t.size(), e.pos);
    return Value::string(s + t);
  }
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      check_size(a.s.size() + b.s.size(), e.pos);
      return Value::string(a.s + b.s);
    }
    if (a.is_list() && b.is_list()) {
      check_size(a.list->size() + b.list->size(), e.pos);
      List r = *a.list;
      r.insert(r.end(), b.list->begin(), b.list->end());
      return Value::new_list(std::move(r));
    }
  }
  if (op == "*") {
    const Value* seq = a.is_string() || a.is_list() ? &a : (b.is_string() || b.is_list() ? &b : nullptr);
    const Value* cnt = seq == &a ? &b : &a;
    if (seq && is_intlike(*cnt)) {
      int64_t n = std::max<int64_t>(0, int_of(*cnt));
      size_t unit = seq->is_string() ? seq->s.size() : seq->list->size();
      if (unit && static_cast<uint64_t>(n) > limits_.max_output_bytes / unit) check_size(limits_.max_output_bytes + 1, e.pos);
      charge(n, e.pos);
      if (seq->is_string()) {
        std::string r;
        r.reserve(unit * static_cast<size_t>(n));
        for (int64_t k = 0; k < n; ++k) r += seq->s;
        return Value::string(std::move(r));
      }
      List r;
      for (int64_t k = 0; k < n; ++k) r.insert(r.end(), seq->list->begin(), seq->list->end());
      return Value::new_list(std::move(r));
    }
  }
  if (op == "%" && a.is_string()) return Value::string(percent_format(*this, a.s, b, e.pos));
  if (!a.is_number() || !b.is_number()) type_error();
  if (is_intlike(a) && is_intlike(b) && op != "/") {
    int64_t x = int_of(a), y = int_of(b), r = 0;
    if (op == "+") {
      if (__builtin_add_overflow(x, y, &r)) fail(e.pos, "integer overflow");
      return Value::integer(r);
    }
    if (op == "-") {
      if (__builtin_sub_overflow(x, y, &r)) fail(e.pos, "integer overflow");
      return Value::integer(r);
    }
    if (op == "*") {
      if (__builtin_mul_overflow(x, y, &r)) fail(e.pos, "integer overflow");
      return Value::integer(r);
    }
    if (op == "//" || op == "%") {
      if (y == 0) fail(e.pos, "integer division or modulo by zero");
      if (x == std::numeric_limits<int64_t>::min() && y == -1) fail(e.pos, "integer overflow");
      int64_t q = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {  // Python floors
        --q;
        m += y;
      }
      return Value::integer(op == "//" ? q : m);
    }
    if (op == "**") {
      if (y >= 0) {
        int64_t acc = 1;
        for (int64_t k = 0; k < y; ++k) {
          if (__builtin_mul_overflow(acc, x, &acc)) fail(e.pos, "integer overflow");
          if (acc == 0 || acc == 1) break;
        }
        if (acc == 1 && x == -1 && (y % 2)) acc = -1;
        return Value::integer(acc);
      }
      return Value::number(std::pow(static_cast<double>(x), static_cast<double>(y)));
    }
  }
  double x = a.as_double(), y = b.as_double();
  if (op == "+") return Value::number(x + y);
  if (op == "-") return Value::number(x - y);
  if (op == "*") return Value::number(x * y);
  if (op == "/") {
    if (y == 0) fail(e.pos, "division by zero");
    return Value::number(x / y);
  }
  if (op == "//") {
    if (y == 0) fail(e.pos, "float floor division by zero");
    return Value::number(std::floor(x / y));
  }
  if (op == "%") {
    if (y == 0) fail(e.pos, "float modulo by zero");
    double m = std::fmod(x, y);
    if (m != 0 && ((m < 0) != (y < 0))) m += y;
    return Value::number(m);
  }
  if (op == "**") return Value::number(std::pow(x, y));
  fail(e.pos, "unsupported operator " + op);
}

namespace {

bool contains(Interp& in, const Value& container, const Value& item, size_t pos) {
  switch (container.kind) {
    case Value::Kind::kString:
      if (!item.is_string()) in.fail(pos, std::string("'in <string>' requires a string, not '") + item.type_name() + "'");
      return container.s.find(item.s) != std::string::npos;
    case Value::Kind::kList:
      for (const auto& x : *container.list)
        if (equals(x, item)) return true;
      return false;
    case Value::Kind::kDict: return item.is_string() && container.dict->find(item.s) != nullptr;
    case Value::Kind::kUndefined: return false;
    default: in.fail(pos, std::string("argument of type '") + container.type_name() + "' is not iterable");
  }
}

}  // namespace

Value Interp::eval_compare(const Expr& e) {
  Value left = eval(*e.args[0]);
  for (size_t k = 0; k < e.ops.size(); ++k) {
    Value right = eval(*e.args[k + 1]);
    const std::string& op = e.ops[k];
    bool r;
    if (op == "==") r = equals(left, right);
    else if (op == "!=") r = !equals(left, right);
    else if (op == "in") r = contains(*this, right, left, e.pos);
    else if (op == "not in") r = !contains(*this, right, left, e.pos);
    else {
      bool ok = false;
      int c = compare(left, right, &ok);
      if (!ok)
        fail(e.pos, "'" + op + "' not supported between '" + left.type_name() + "' and '" + right.type_name() + "'");
      r = op == "<" ? c < 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c >= 0;
    }
    if (!r) return Value::boolean(false);
    left = std::move(right);
  }
  return Value::boolean(true);
}

Value Interp::eval_slice(const Expr& e) {
  Value obj = eval(*e.args[0]);
  auto bound = [&](const ExprPtr& x, const char* what) -> std::optional<int64_t> {
    if (!x) return std::nullopt;
    Value v = eval(*x);
    if (v.is_none() || v.is_undefined()) return std::nullopt;
    if (!is_intlike(v)) fail(x->pos, std::string("slice ") + what + " must be an integer, not '" + v.type_name() + "'");
    return int_of(v);
  };
  auto start = bound(e.args[1], "start");
  auto stop = bound(e.args[2], "stop");
  auto step_opt = bound(e.args[3], "step");
  int64_t step = step_opt.value_or(1);
  if (step == 0) fail(e.pos, "slice step cannot be zero");

  std::vector<std::string_view> chars;
  int64_t len;
  if (obj.is_string()) {
    chars = utf8_chars(obj.s);
    len = static_cast<int64_t>(chars.size());
  } else if (obj.is_list()) {
    len = static_cast<int64_t>(obj.list->size());
  } else if (obj.is_undefined()) {
    fail(e.pos, "cannot slice an undefined value");
  } else {
    fail(e.pos, std::string("'") + obj.type_name() + "' object is not subscriptable");
  }
  // Python's slice index adjustment.
  auto adjust = [&](std::optional<int64_t> v, int64_t dflt) {
    if (!v) return dflt;
    int64_t x = *v;
    if (x < 0) {
      x += len;
      if (x < 0) x = step < 0 ? -1 : 0;
    } else if (x >= len) {
      x = step < 0 ? len - 1 : len;
    }
    return x;
  };
  int64_t lo = adjust(start, step < 0 ? len - 1 : 0);
  int64_t hi = adjust(stop, step < 0 ? -1 : len);
  std::vector<int64_t> idx;
  if (step > 0)
    for (int64_t k = lo; k < hi; k += step) idx.push_back(k);
  else
    for (int64_t k = lo; k > hi; k += step) idx.push_back(k);
  if (obj.is_string()) {
    std::string r;
    for (int64_t k : idx) r += chars[static_cast<size_t>(k)];
    return Value::string(std::move(r));
  }
  List r;
  r.reserve(idx.size());
  for (int64_t k : idx) r.push_back((*obj.list)[static_cast<size_t>(k)]);
  return Value::new_list(std::move(r));
}

}  // namespace sgl::jinja
