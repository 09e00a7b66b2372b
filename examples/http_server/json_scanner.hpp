// JsonScanner: an incremental, validating scanner of one JSON object or array, fed a byte at a
// time as a model writes it. It keeps the text without insignificant whitespace (compact()), which
// only ever grows by appending, so a prefix of it can be streamed before the value is complete
// and the pieces sent add up to the final text. For a top-level object it also records where each
// member's value lies in compact(), which is how the tool-call parsers find "name" and
// "arguments" while the object is still being written.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sgl::server {

class JsonScanner {
 public:
  enum class Status { kMore, kDone, kInvalid };

  // A member of the top-level object: `key` as written between its quotes; the value spans
  // compact()[value_begin, value_end) once `closed`, and [value_begin, size) while it is open.
  struct Member {
    std::string key;
    size_t value_begin = 0, value_end = 0;
    bool begun = false;   // the value's first byte was read
    bool closed = false;
  };

  // Feeds one byte. After kDone or kInvalid further bytes are not looked at (the byte that made it
  // invalid is not part of compact()).
  Status push(char c);
  Status status() const { return status_; }
  const std::string& compact() const { return out_; }
  const std::vector<Member>& members() const { return members_; }
  // The member with this key (the last one if repeated), or nullptr.
  const Member* member(std::string_view key) const;
  // The value text of `m` so far.
  std::string_view value(const Member& m) const;

 private:
  enum class State {
    kStart, kValue, kValueOrEnd, kKeyOrEnd, kKey, kColon, kCommaOrEnd,
    kString, kEscape, kUnicode, kLiteral,
    kNumMinus, kNumZero, kNumInt, kNumDot, kNumFrac, kNumE, kNumESign, kNumExp,
  };
  bool step(char c);  // false: invalid
  bool begin_value(char c);
  void end_value();   // a value just ended (at out_.size())
  bool in_top_object() const { return stack_.size() == 1 && stack_[0] == '{'; }

  Status status_ = Status::kMore;
  State state_ = State::kStart;
  std::string stack_;  // '{' / '[' per open container
  std::string out_;
  std::vector<Member> members_;
  bool string_is_key_ = false;
  std::string key_;           // the top-level key being read
  std::string_view literal_;  // the rest of true / false / null to match
  int unicode_left_ = 0;
};

}  // namespace sgl::server
