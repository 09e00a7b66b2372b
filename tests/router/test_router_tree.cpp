// ApproxTree: matching, splitting, per-tenant sizes and LRU eviction of the router's text tree.
#include <doctest/doctest.h>

#include "approx_tree.hpp"

using sgl::router::ApproxTree;

TEST_CASE("match reports each tenant's shared prefix, partial edges included") {
  ApproxTree t;
  t.insert("hello world", "a");
  t.insert("hello there", "b");
  auto m = t.match("hello world, again");
  CHECK(m.at("a") == 11);
  CHECK(m.at("b") == 6);  // "hello " then the edges diverge
  auto p = t.match("help");
  CHECK(p.at("a") == 3);
  CHECK(p.at("b") == 3);
  CHECK(t.match("xyz").empty());
  CHECK(t.match("").empty());
}

TEST_CASE("tenant sizes count the text each tenant holds; shared edges are stored once") {
  ApproxTree t;
  t.insert("abcdef", "a");
  CHECK(t.tenant_size("a") == 6);
  t.insert("abcxyz", "b");  // splits "abcdef" at 3
  CHECK(t.tenant_size("a") == 6);
  CHECK(t.tenant_size("b") == 6);
  CHECK(t.total_bytes() == 9);  // abc + def + xyz
  CHECK(t.node_count() == 3);
  t.insert("abcdef", "a");  // again: nothing new
  CHECK(t.tenant_size("a") == 6);
  t.insert("abc", "c");
  CHECK(t.tenant_size("c") == 3);
  CHECK(t.total_bytes() == 9);
}

TEST_CASE("eviction removes the least recently used leaves first, down to the bound") {
  ApproxTree t;
  t.insert("system prompt one: aaaa", "w");   // oldest
  t.insert("system prompt two: bbbb", "w");
  t.insert("system prompt three: cc", "w");   // newest
  size_t before = t.tenant_size("w");
  size_t evicted = t.evict(before - 1);
  CHECK(evicted >= 1);
  CHECK(t.tenant_size("w") <= before - 1);
  auto m1 = t.match("system prompt one: aaaa");
  auto m3 = t.match("system prompt three: cc");
  CHECK(m1.at("w") < 23);  // the oldest lost its tail
  CHECK(m3.at("w") == 23); // the newest is intact
  // Touching an entry (insert) makes it recent again.
  t.insert("system prompt two: bbbb", "w");
  t.evict(t.tenant_size("w") - 1);
  CHECK(t.match("system prompt two: bbbb").at("w") == 23);
}

TEST_CASE("eviction is per tenant: one tenant's bound does not evict another's text") {
  ApproxTree t;
  t.insert(std::string(100, 'x'), "big");
  t.insert("small", "small");
  t.evict(10);
  CHECK(t.tenant_size("big") <= 10);
  CHECK(t.tenant_size("small") == 5);
  CHECK(t.match("small").at("small") == 5);
  t.evict(0);
  CHECK(t.tenant_size("big") == 0);
  CHECK(t.tenant_size("small") == 0);
  CHECK(t.total_bytes() == 0);
  CHECK(t.node_count() == 0);
}

TEST_CASE("a shared prefix survives while another tenant still holds it") {
  ApproxTree t;
  t.insert("shared prefix / tail a", "a");
  t.insert("shared prefix / tail b", "b");
  t.evict(0);  // both over the bound of 0
  CHECK(t.total_bytes() == 0);
  t.insert("shared prefix / tail a", "a");
  t.insert("shared prefix / tail b", "b");
  t.remove_tenant("a");
  CHECK(t.tenant_size("a") == 0);
  CHECK(t.match("shared prefix / tail a").count("a") == 0);
  CHECK(t.match("shared prefix / tail b").at("b") == 22);
  CHECK(t.total_bytes() == 22);
}
