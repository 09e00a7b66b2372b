// GGUF writer -> reader round trip, and the reader's robustness: truncation at every byte,
// flipped header bytes, absurd counts and sizes, bad alignment, unknown and unsupported tensor
// types, duplicate keys. Every bad file must give sgl::Error with the right status and a message
// naming the problem (this test also runs under ASan + UBSan).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "core/model/gguf_reader.hpp"
#include "core/model/gguf_writer.hpp"
#include "sgl/error.hpp"
#include "support/test_support.hpp"

using namespace sgl;
using namespace sgl::gguf;
using kernels::DType;

namespace {

Value make(ValueType t, uint64_t u) { return Value{t, u}; }
Value makei(ValueType t, int64_t i) { return Value{t, i}; }

GgufWriter sample_writer(uint32_t alignment = 32) {
  GgufWriter w(alignment);
  w.set("general.architecture", Value::string("llama"));
  w.set("u8", make(ValueType::kU8, 200));
  w.set("i8", makei(ValueType::kI8, -100));
  w.set("u16", make(ValueType::kU16, 60000));
  w.set("i16", makei(ValueType::kI16, -30000));
  w.set("u32", Value::u32(4000000000u));
  w.set("i32", Value::i32(-2000000000));
  w.set("f32", Value::f32(1.5f));
  w.set("bool", Value::boolean(true));
  w.set("str", Value::string("héllo"));
  w.set("u64", Value::u64(0xfedcba9876543210ull));
  w.set("i64", makei(ValueType::kI64, -1234567890123ll));
  w.set("f64", Value{ValueType::kF64, 2.25});
  w.set("arr.str", Value::string_array({"a", "", "ccc"}));
  w.set("arr.f32", Value::f32_array({1.0f, -2.5f}));
  w.set("arr.i32", Value::i32_array({-1, 7}));
  Array a64;
  a64.elem_type = ValueType::kU64;
  a64.integers = {1, -1};
  w.set("arr.u64", Value{ValueType::kArray, a64});
  Array ab;
  ab.elem_type = ValueType::kBool;
  ab.numbers = {1, 0, 1};
  w.set("arr.bool", Value{ValueType::kArray, ab});
  Array nested;
  nested.elem_type = ValueType::kArray;
  nested.arrays = {Value::i32_array({1, 2}), Value::i32_array({3})};
  w.set("arr.nested", Value{ValueType::kArray, nested});
  std::vector<float> f(8 * 3);
  for (size_t i = 0; i < f.size(); ++i) f[i] = static_cast<float>(i) * 0.5f;
  std::vector<uint8_t> bytes(f.size() * 4);
  std::memcpy(bytes.data(), f.data(), bytes.size());
  w.add_tensor("t.f32", DType::F32, {8, 3}, bytes);
  w.add_tensor("t.q8", DType::Q8_0, {32}, std::vector<uint8_t>(34, 1));
  w.add_tensor("t.f16", DType::F16, {5}, std::vector<uint8_t>(10, 0x3c));
  return w;
}

// Expects parse() to throw `status` with `part` in the message.
void expect_error(const std::vector<uint8_t>& bytes, Status status, const std::string& part) {
  try {
    GgufFile::parse(bytes.data(), bytes.size());
    FAIL("no error; expected: " << part);
  } catch (const Error& e) {
    INFO(std::string(e.what()));
    CHECK(e.code() == status);
    CHECK(std::string(e.what()).find(part) != std::string::npos);
  }
}

// A minimal file built by hand, for the cases the writer cannot produce.
struct Raw {
  std::vector<uint8_t> b;
  template <class T>
  Raw& put(T v) {
    size_t n = b.size();
    b.resize(n + sizeof(T));
    std::memcpy(b.data() + n, &v, sizeof(T));
    return *this;
  }
  Raw& str(const std::string& s) {
    put<uint64_t>(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Raw& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    b = {'G', 'G', 'U', 'F'};
    return put<uint32_t>(version).put<uint64_t>(n_tensors).put<uint64_t>(n_kv);
  }
  Raw& pad(size_t n) {
    b.resize(b.size() + n, 0);
    return *this;
  }
};

}  // namespace

TEST_CASE("GGUF round trip: every value type, nested arrays, tensors") {
  for (uint32_t alignment : {32u, 64u, 8u}) {
    INFO("alignment " << alignment);
    std::vector<uint8_t> bytes = sample_writer(alignment).to_bytes();
    GgufFile f = GgufFile::parse(bytes.data(), bytes.size());
    CHECK(f.version() == 3);
    CHECK(f.alignment() == alignment);
    CHECK(f.get_string("general.architecture") == "llama");
    CHECK(f.get_uint("u8") == 200u);
    CHECK(f.find("i8")->as_int() == -100);
    CHECK(f.get_uint("u16") == 60000u);
    CHECK(f.find("i16")->as_int() == -30000);
    CHECK(f.get_uint("u32") == 4000000000u);
    CHECK(f.find("i32")->as_int() == -2000000000);
    CHECK(f.get_float("f32") == 1.5);
    CHECK(f.get_bool("bool") == true);
    CHECK(f.get_string("str") == "héllo");
    CHECK(f.get_uint("u64") == 0xfedcba9876543210ull);
    CHECK(f.find("i64")->as_int() == -1234567890123ll);
    CHECK(f.get_float("f64") == 2.25);
    const std::pair<const char*, ValueType> types[] = {
        {"u8", ValueType::kU8},   {"i8", ValueType::kI8},     {"u16", ValueType::kU16}, {"i16", ValueType::kI16},
        {"u32", ValueType::kU32}, {"i32", ValueType::kI32},   {"f32", ValueType::kF32}, {"bool", ValueType::kBool},
        {"str", ValueType::kString}, {"u64", ValueType::kU64}, {"i64", ValueType::kI64}, {"f64", ValueType::kF64},
        {"arr.nested", ValueType::kArray}};
    for (const auto& [k, t] : types) CHECK(f.find(k)->type == t);
    CHECK(f.get_array("arr.str")->strings == std::vector<std::string>{"a", "", "ccc"});
    CHECK(f.get_array("arr.f32")->numbers == std::vector<double>{1.0, -2.5});
    CHECK(f.get_array("arr.i32")->numbers == std::vector<double>{-1, 7});
    CHECK(f.get_array("arr.u64")->integers == std::vector<int64_t>{1, -1});
    CHECK(f.get_array("arr.bool")->numbers == std::vector<double>{1, 0, 1});
    const Array* nested = f.get_array("arr.nested");
    REQUIRE(nested);
    REQUIRE(nested->arrays.size() == 2);
    CHECK(nested->arrays[0].as_array()->numbers == std::vector<double>{1, 2});
    CHECK(nested->arrays[1].as_array()->numbers == std::vector<double>{3});
    // Metadata keeps file order.
    CHECK(f.metadata()[0].first == "general.architecture");

    REQUIRE(f.tensors().size() == 3);
    const TensorInfo* t = f.find_tensor("t.f32");
    REQUIRE(t);
    CHECK(t->dims == std::vector<int64_t>{8, 3});
    CHECK(t->nbytes == 96);
    CHECK((t->data - bytes.data()) % alignment == 0);
    float x;
    std::memcpy(&x, t->data + 4 * 5, 4);
    CHECK(x == 2.5f);
    CHECK(f.find_tensor("t.q8")->dtype == DType::Q8_0);
    CHECK(f.find_tensor("t.q8")->nbytes == 34);
    CHECK(f.find_tensor("t.f16")->data[9] == 0x3c);
    CHECK(f.find_tensor("missing") == nullptr);
  }
}

TEST_CASE("GGUF files on disk: open, write, errors name the path") {
  auto dir = test::scratch_dir("gguf-disk");
  const std::string path = (dir / "m.gguf").string();
  sample_writer().write(path);
  GgufFile f = GgufFile::open(path);
  CHECK(f.path() == path);
  CHECK(f.tensors().size() == 3);
  try {
    GgufFile::open((dir / "nope.gguf").string());
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == Status::kNotFound);
    CHECK(std::string(e.what()).find("nope.gguf") != std::string::npos);
  }
  std::string text = test::read_text(path);
  {
    std::FILE* fp = std::fopen(path.c_str(), "wb");
    std::fwrite(text.data(), 1, 40, fp);
    std::fclose(fp);
  }
  try {
    GgufFile::open(path);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == Status::kParseError);
    CHECK(std::string(e.what()).find(path) != std::string::npos);
    CHECK(std::string(e.what()).find("metadata count") != std::string::npos);
  }
}

TEST_CASE("GGUF truncated at every byte gives a parse error, never a crash") {
  std::vector<uint8_t> bytes = sample_writer().to_bytes();
  // Cutting only the padding after the last tensor leaves a valid file; stop at its last byte.
  GgufFile whole = GgufFile::parse(bytes.data(), bytes.size());
  size_t end = 0;
  for (const TensorInfo& t : whole.tensors()) end = std::max(end, static_cast<size_t>(t.data + t.nbytes - bytes.data()));
  CHECK(end + 32 > bytes.size());
  for (size_t cut = 0; cut < end; ++cut) {
    std::vector<uint8_t> part(bytes.begin(), bytes.begin() + static_cast<long>(cut));
    try {
      GgufFile::parse(part.data(), part.size());
      FAIL("truncation at " << cut << " of " << bytes.size() << " was accepted");
    } catch (const Error& e) {
      CHECK(e.code() == Status::kParseError);
      const std::string m = e.what();
      bool named = m.find("truncated") != std::string::npos || m.find("past the end") != std::string::npos ||
                   m.find("bad magic") != std::string::npos || m.find("does not fit") != std::string::npos ||
                   m.find("larger than the file") != std::string::npos;
      if (!named) FAIL_CHECK("cut " << cut << ": unexpected message: " << m);
    }
  }
}

TEST_CASE("GGUF with flipped header bytes gives errors or a valid parse, never a crash") {
  const std::vector<uint8_t> good = sample_writer().to_bytes();
  GgufFile ref = GgufFile::parse(good.data(), good.size());
  // The metadata and tensor-info region: flip each byte in a few ways.
  const size_t header_end = static_cast<size_t>(ref.tensors()[0].data - good.data());
  int errors = 0, accepted = 0;
  for (size_t i = 0; i < header_end; ++i) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      std::vector<uint8_t> b = good;
      b[i] ^= mask;
      try {
        GgufFile f = GgufFile::parse(b.data(), b.size());
        // Accepted (a changed string byte, say): every tensor must still lie inside the buffer.
        for (const TensorInfo& t : f.tensors()) {
          CHECK(t.data >= b.data());
          CHECK(t.data + t.nbytes <= b.data() + b.size());
        }
        ++accepted;
      } catch (const Error& e) {
        CHECK((e.code() == Status::kParseError || e.code() == Status::kUnsupported));
        CHECK(std::string(e.what()).size() > 10);
        ++errors;
      }
    }
  }
  MESSAGE("flipped header bytes: " << errors << " rejected, " << accepted << " accepted");
  CHECK(errors > 0);
}

TEST_CASE("GGUF header errors name the problem") {
  expect_error({'G', 'G', 'U'}, Status::kParseError, "bad magic");
  expect_error({'G', 'G', 'M', 'L', 0, 0, 0, 0}, Status::kParseError, "bad magic");
  expect_error(Raw().header(0, 0, 1).b, Status::kParseError, "version 1");
  expect_error(Raw().header(0, 0, 7).b, Status::kParseError, "unsupported GGUF version 7");
  Raw be;
  be.b = {'F', 'U', 'G', 'G'};
  be.pad(20);
  expect_error(be.b, Status::kParseError, "big-endian");
  // Absurd counts.
  expect_error(Raw().header(0, 1ull << 60).pad(64).b, Status::kParseError, "metadata count");
  expect_error(Raw().header(1ull << 62, 0).pad(64).b, Status::kParseError, "tensor count");
  // Absurd string length.
  expect_error(Raw().header(0, 1).put<uint64_t>(1ull << 40).pad(16).b, Status::kParseError, "absurd length");
  expect_error(Raw().header(0, 1).put<uint64_t>(1000).pad(16).b, Status::kParseError, "truncated");
  // Unknown value type and bad bool.
  expect_error(Raw().header(0, 1).str("k").put<uint32_t>(13).pad(8).b, Status::kParseError, "unknown value type 13");
  expect_error(Raw().header(0, 1).str("k").put<uint32_t>(7).put<uint8_t>(2).pad(8).b, Status::kParseError,
               "neither 0 nor 1");
  // Arrays: unknown element type, absurd length, too deep.
  expect_error(Raw().header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(99).put<uint64_t>(1).pad(8).b,
               Status::kParseError, "unknown array element type 99");
  expect_error(Raw().header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(4).put<uint64_t>(1ull << 61).pad(8).b,
               Status::kParseError, "does not fit");
  Raw deep;
  deep.header(0, 1).str("k").put<uint32_t>(9);
  for (int d = 0; d < 12; ++d) deep.put<uint32_t>(9).put<uint64_t>(1);
  deep.pad(64);
  expect_error(deep.b, Status::kParseError, "nested deeper");
  // Duplicate keys.
  expect_error(Raw().header(0, 2).str("k").put<uint32_t>(4).put<uint32_t>(1).str("k").put<uint32_t>(4).put<uint32_t>(2).b,
               Status::kParseError, "duplicate metadata key 'k'");
}

TEST_CASE("GGUF alignment and tensor-info errors name the problem") {
  auto align_kv = [](Raw& r, uint32_t type, uint64_t value) -> Raw& {
    r.str("general.alignment").put<uint32_t>(type);
    return type == 10 ? r.put<uint64_t>(value) : r.put<uint32_t>(static_cast<uint32_t>(value));
  };
  Raw a;
  a.header(0, 1);
  expect_error(align_kv(a, 4, 24).b, Status::kParseError, "power of two");
  Raw z;
  z.header(0, 1);
  expect_error(align_kv(z, 4, 0).b, Status::kParseError, "power of two");
  Raw t64;
  t64.header(0, 1);
  expect_error(align_kv(t64, 10, 32).b, Status::kParseError, "general.alignment must be a u32");

  // tensor info: name, n_dims, dims..., type, offset
  auto tensor = [](Raw& r, const std::string& name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset) -> Raw& {
    r.str(name).put<uint32_t>(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) r.put<uint64_t>(d);
    return r.put<uint32_t>(type).put<uint64_t>(offset);
  };
  auto one = [&](std::vector<uint64_t> dims, uint32_t type, uint64_t offset, size_t data = 64) {
    Raw r;
    r.header(1, 0);
    tensor(r, "w", dims, type, offset);
    r.pad(32 - r.b.size() % 32 + data);
    return r.b;
  };
  expect_error(one({4}, 0, 0, 8), Status::kParseError, "extends past the end");
  expect_error(one({4}, 0, 3), Status::kParseError, "not aligned");
  expect_error(one({}, 0, 0), Status::kParseError, "0 dimensions");
  expect_error(one({1, 1, 1, 1, 1}, 0, 0), Status::kParseError, "5 dimensions");
  expect_error(one({4, 0}, 0, 0), Status::kParseError, "zero or overflows");
  expect_error(one({1ull << 40, 1ull << 40}, 0, 0), Status::kParseError, "zero or overflows");
  // 2^62 F32 elements would wrap to a small byte count without an overflow check.
  expect_error(one({1ull << 62}, 0, 0), Status::kParseError, "larger than the whole file");
  expect_error(one({16}, 8, 0), Status::kParseError, "not a multiple of the Q8_0 block size 32");
  expect_error(one({4}, 4, 0), Status::kParseError, "unknown type id 4");
  expect_error(one({4}, 1000, 0), Status::kParseError, "unknown type id 1000");
  expect_error(one({256}, 16, 0, 256), Status::kUnsupported, "IQ2_XXS");
  // ... which the inspector can still list.
  std::vector<uint8_t> iq2 = one({256}, 16, 0, 256);
  ReadOptions opts;
  opts.allow_unsupported_types = true;
  GgufFile f = GgufFile::parse(iq2.data(), iq2.size(), opts);
  CHECK(f.tensors()[0].dtype == DType::IQ2_XXS);
  CHECK(f.tensors()[0].nbytes == 66);
  // K-quants are supported: a Q4_K super-block parses without the option.
  std::vector<uint8_t> q4k = one({256}, 12, 0, 256);
  GgufFile k = GgufFile::parse(q4k.data(), q4k.size());
  CHECK(k.tensors()[0].dtype == DType::Q4_K);
  CHECK(k.tensors()[0].nbytes == 144);

  Raw dup;
  dup.header(2, 0);
  tensor(dup, "w", {4}, 0, 0);
  tensor(dup, "w", {4}, 0, 32);
  dup.pad(128);
  expect_error(dup.b, Status::kParseError, "duplicate tensor name 'w'");
}
