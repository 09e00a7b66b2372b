// RadixCache: unit cases for match/insert/split/lock/evict/flush at page sizes 1 and 4, and a
// randomized property test against a naive model (a map from cached page-aligned prefixes to
// their last page's id).
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <random>
#include <vector>

#include "core/kv/kv_pool.hpp"
#include "core/kv/radix_cache.hpp"
#include "kernels/backend.hpp"
#include "sgl/error.hpp"

using namespace sgl;
using Tokens = std::vector<int32_t>;

namespace {

struct Fixture {
  std::unique_ptr<kernels::Backend> backend = kernels::create_backend("ref");
  std::unique_ptr<KvPool> pool;
  explicit Fixture(int page_size, int64_t n_pages) {
    KvPoolConfig c;
    c.n_layers = 1;
    c.n_kv_heads = 1;
    c.head_dim = 2;
    c.page_size = page_size;
    c.n_pages = n_pages;
    c.dtype = kernels::DType::F32;
    pool = std::make_unique<KvPool>(c, *backend);
  }
  std::vector<int32_t> alloc(int64_t n) {
    std::vector<int32_t> out;
    REQUIRE(pool->alloc(n, out));
    return out;
  }
};

Tokens iota_tokens(int n, int start = 100) {
  Tokens t(n);
  for (int i = 0; i < n; ++i) t[i] = start + i;
  return t;
}

}  // namespace

TEST_CASE("radix: insert then match whole and partial prefixes (page size 1)") {
  Fixture f(1, 32);
  RadixCache cache(*f.pool);
  Tokens a = {1, 2, 3, 4, 5};
  auto pa = f.alloc(5);
  auto r = cache.insert(a, pa);
  CHECK(r.n_already_cached == 0);
  CHECK(r.pages == pa);
  CHECK(cache.cached_pages() == 5);
  CHECK(cache.evictable_pages() == 5);
  CHECK(f.pool->used_pages() == 5);

  auto m = cache.match_prefix(Tokens{1, 2, 3, 9});
  CHECK(m.n_tokens == 3);
  CHECK(m.pages == std::vector<int32_t>(pa.begin(), pa.begin() + 3));
  CHECK(cache.node_count() == 3);  // root + split prefix [1,2,3] + suffix [4,5]

  auto full = cache.match_prefix(a);
  CHECK(full.n_tokens == 5);
  CHECK(full.pages == pa);

  auto none = cache.match_prefix(Tokens{7, 1, 2});
  CHECK(none.n_tokens == 0);
  CHECK(none.node == RadixCache::kRoot);
  CHECK(none.pages.empty());

  CHECK(cache.stats().lookup_tokens == 4 + 5 + 3);
  CHECK(cache.stats().hit_tokens == 3 + 5);
  CHECK(cache.stats().inserted_tokens == 5);
}

TEST_CASE("radix: duplicate pages are freed, same ids are kept, new suffix adopted") {
  Fixture f(1, 32);
  RadixCache cache(*f.pool);
  Tokens a = {1, 2, 3, 4};
  auto pa = f.alloc(4);
  cache.insert(a, pa);

  // A second request computed the same prefix into its own pages, plus two new tokens.
  Tokens b = {1, 2, 3, 4, 5, 6};
  auto pb = f.alloc(6);
  auto r = cache.insert(b, pb);
  CHECK(r.n_already_cached == 4);
  CHECK(r.pages == std::vector<int32_t>{pa[0], pa[1], pa[2], pa[3], pb[4], pb[5]});
  CHECK(f.pool->used_pages() == 6);  // the 4 duplicates went back to the pool
  CHECK(cache.cached_pages() == 6);

  // A request that matched the prefix reuses the tree's ids: nothing is freed twice.
  auto m = cache.match_prefix(b);
  auto extra = f.alloc(1);
  std::vector<int32_t> pc = m.pages;
  pc.push_back(extra[0]);
  Tokens c = b;
  c.push_back(7);
  auto rc = cache.insert(c, pc);
  CHECK(rc.n_already_cached == 6);
  CHECK(rc.pages == pc);
  CHECK(f.pool->used_pages() == 7);
  CHECK(cache.stats().inserted_tokens == 4 + 2 + 1);
}

TEST_CASE("radix: insert that ends inside a node splits it and returns the prefix node") {
  Fixture f(1, 16);
  RadixCache cache(*f.pool);
  Tokens a = iota_tokens(6);
  auto pa = f.alloc(6);
  auto ra = cache.insert(a, pa);
  auto pb = f.alloc(3);
  auto rb = cache.insert(Tokens(a.begin(), a.begin() + 3), pb);
  CHECK(rb.n_already_cached == 3);
  CHECK(rb.node != ra.node);
  CHECK(f.pool->used_pages() == 6);
  // Locking the prefix node protects 3 pages; the leaf (original id) keeps the other 3.
  cache.lock(rb.node);
  CHECK(cache.protected_pages() == 3);
  CHECK(cache.evictable_pages() == 3);
  CHECK(cache.evict(100) == 3);
  CHECK(cache.cached_pages() == 3);
  cache.unlock(rb.node);
  CHECK(cache.flush());
  CHECK(f.pool->free_pages() == 16);
}

TEST_CASE("radix: a lock taken before a split still covers the whole path") {
  Fixture f(1, 16);
  RadixCache cache(*f.pool);
  Tokens a = iota_tokens(8);
  auto r = cache.insert(a, f.alloc(8));
  cache.lock(r.node);
  CHECK(cache.protected_pages() == 8);
  // Split the locked node twice through matches that end inside it.
  auto m1 = cache.match_prefix(Tokens(a.begin(), a.begin() + 5));
  auto m2 = cache.match_prefix(Tokens(a.begin(), a.begin() + 2));
  CHECK(m1.n_tokens == 5);
  CHECK(m2.n_tokens == 2);
  CHECK(cache.lock_count(m1.node) == 1);
  CHECK(cache.lock_count(m2.node) == 1);
  CHECK(cache.protected_pages() == 8);
  CHECK(cache.evict(8) == 0);
  CHECK_FALSE(cache.flush());
  cache.unlock(r.node);  // the original id still refers to the tail [5, 8)
  CHECK(cache.lock_count(m1.node) == 0);
  CHECK(cache.protected_pages() == 0);
  CHECK(cache.evictable_pages() == 8);
  CHECK(cache.evict(1) == 3);  // the leaf [5, 8) goes first, whole
  CHECK(cache.match_prefix(a).n_tokens == 5);
  CHECK(cache.flush());
  CHECK(f.pool->free_pages() == 16);
  CHECK(cache.node_count() == 1);
}

TEST_CASE("radix: eviction is LRU over leaves and cascades to parents") {
  Fixture f(1, 32);
  RadixCache cache(*f.pool);
  Tokens base = {1, 2};
  Tokens x = {1, 2, 10, 11}, y = {1, 2, 20, 21}, z = {5, 6};
  cache.insert(x, f.alloc(4));
  cache.insert(y, f.alloc(4));
  cache.insert(z, f.alloc(2));
  CHECK(f.pool->used_pages() == 2 + 2 + 2 + 2);
  cache.match_prefix(x);  // x is now most recent, then z and y older
  cache.match_prefix(z);
  CHECK(cache.evict(1) == 2);  // y's leaf [20, 21]
  CHECK(cache.match_prefix(y).n_tokens == 2);
  // That match touched the shared prefix [1,2] and not [10,11]; z was touched before.
  cache.match_prefix(z);
  CHECK(cache.evict(1) == 2);  // x's leaf [10, 11] (older than z)
  CHECK(cache.match_prefix(x).n_tokens == 2);
  // Now [1,2] is a leaf touched last: z goes first, then [1,2].
  CHECK(cache.evict(3) == 4);
  CHECK(cache.cached_pages() == 0);
  CHECK(f.pool->free_pages() == 32);
  CHECK(cache.stats().evicted_tokens == 8);
}

TEST_CASE("radix: page size 4 matches whole pages only") {
  Fixture f(4, 16);
  RadixCache cache(*f.pool);
  Tokens a = iota_tokens(12);  // 3 pages
  auto pa = f.alloc(3);
  cache.insert(a, pa);

  Tokens q = a;
  q[9] = -1;  // differs inside the third page
  auto m = cache.match_prefix(q);
  CHECK(m.n_tokens == 8);
  CHECK(m.pages == std::vector<int32_t>{pa[0], pa[1]});

  auto m2 = cache.match_prefix(Tokens(a.begin(), a.begin() + 7));  // 1 whole page + 3 tokens
  CHECK(m2.n_tokens == 4);
  CHECK(m2.pages == std::vector<int32_t>{pa[0]});

  // A sequence sharing only 3 tokens of the first page shares nothing.
  Tokens b = {100, 101, 102, 7, 8, 9, 10, 11};
  auto pb = f.alloc(2);
  auto rb = cache.insert(b, pb);
  CHECK(rb.n_already_cached == 0);
  CHECK(cache.match_prefix(b).pages == pb);
  CHECK(cache.match_prefix(a).pages == pa);
  CHECK(cache.cached_pages() == 5);

  auto odd = std::vector<int32_t>{1, 2, 3};
  auto one = f.alloc(1);
  CHECK_THROWS_AS(cache.insert(odd, one), sgl::Error);
  f.pool->free(one);
  CHECK(cache.flush());
  CHECK(f.pool->free_pages() == 16);
}

TEST_CASE("radix: disabled cache shares nothing and frees inserted pages") {
  Fixture f(2, 8);
  RadixCache cache(*f.pool, /*disabled=*/true);
  Tokens a = iota_tokens(4);
  auto r = cache.insert(a, f.alloc(2));
  CHECK(r.node == RadixCache::kRoot);
  CHECK(r.n_already_cached == 0);
  CHECK(f.pool->free_pages() == 8);
  auto m = cache.match_prefix(a);
  CHECK(m.n_tokens == 0);
  CHECK(m.pages.empty());
  CHECK(cache.cached_pages() == 0);
  CHECK(cache.evict(4) == 0);
  CHECK(cache.flush());
}

TEST_CASE("radix: misuse is caught") {
  Fixture f(1, 8);
  RadixCache cache(*f.pool);
  auto r = cache.insert(Tokens{1, 2}, f.alloc(2));
  CHECK_THROWS_AS(cache.unlock(r.node), sgl::Error);
  CHECK_THROWS_AS(cache.lock(1234), sgl::Error);
  try {
    cache.insert(Tokens{1, 2, 3}, std::vector<int32_t>{0, 1});
    FAIL("expected a throw");
  } catch (const sgl::Error& e) {
    CHECK(e.code() == Status::kInternal);
    CHECK(std::string(e.what()).find("3 tokens with 2 pages") != std::string::npos);
  }
}

// ---------------------------------------------------------------------------------------------
// Property test: random workloads against a naive model.

namespace {

struct Model {
  int ps;
  std::map<Tokens, int32_t> prefix_page;  // cached page-aligned prefix -> its last page id

  Tokens prefix(const Tokens& t, size_t n_pages) const { return Tokens(t.begin(), t.begin() + n_pages * ps); }

  // Longest cached prefix: page ids in order.
  std::vector<int32_t> match(const Tokens& t) const {
    std::vector<int32_t> pages;
    for (size_t j = 1; j * ps <= t.size(); ++j) {
      auto it = prefix_page.find(prefix(t, j));
      if (it == prefix_page.end()) break;
      pages.push_back(it->second);
    }
    return pages;
  }
};

struct HeldLock {
  RadixCache::NodeId node;
  Tokens tokens;  // the prefix the lock covers
};

void check_consistent(const RadixCache& cache, const KvPool& pool, const Model& model,
                      const std::vector<HeldLock>& locks) {
  REQUIRE(cache.cached_pages() == static_cast<int64_t>(model.prefix_page.size()));
  REQUIRE(pool.used_pages() == cache.cached_pages());  // the test never holds pages outside
  std::map<Tokens, int> covered;
  for (const auto& l : locks)
    for (size_t j = 1; j * model.ps <= l.tokens.size(); ++j) covered[model.prefix(l.tokens, j)] = 1;
  REQUIRE(cache.protected_pages() == static_cast<int64_t>(covered.size()));
  REQUIRE(cache.evictable_pages() == cache.cached_pages() - cache.protected_pages());
}

void run_property(int page_size, uint64_t seed, int n_ops) {
  Fixture f(page_size, 48);
  RadixCache cache(*f.pool);
  Model model{page_size, {}};
  std::vector<HeldLock> locks;
  std::vector<Tokens> corpus;  // earlier sequences, extended to create shared prefixes
  std::mt19937_64 rng(seed);
  // How often the interesting paths ran, so the test fails if the workload stops reaching them.
  int n_evictions = 0, n_flush_ok = 0, n_flush_refused = 0, n_duplicates = 0, n_partial = 0;
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };

  auto random_seq = [&]() {
    Tokens t;
    if (!corpus.empty() && uni(0, 3) != 0) {
      const Tokens& base = corpus[uni(0, static_cast<int>(corpus.size()) - 1)];
      t.assign(base.begin(), base.begin() + uni(0, static_cast<int>(base.size())));
    }
    const int extra = uni(0, 4 * page_size);
    for (int i = 0; i < extra; ++i) t.push_back(uni(0, 2));  // tiny alphabet: many collisions
    if (t.size() > static_cast<size_t>(10 * page_size)) t.resize(10 * page_size);
    return t;
  };

  // After an eviction the model forgets prefixes the tree no longer has; the tree's answer must
  // be a prefix-closed subset of what it had, keep every locked prefix, and account the pages.
  auto resync_after_evict = [&](int64_t freed) {
    int64_t removed = 0;
    std::map<Tokens, int32_t> kept;
    for (const auto& [key, page] : model.prefix_page) {
      auto m = cache.match_prefix(key);
      auto want = model.match(Tokens(key.begin(), key.begin() + m.n_tokens));
      REQUIRE(m.pages == want);  // what remains is unchanged
      if (m.n_tokens == static_cast<int64_t>(key.size()))
        kept[key] = page;
      else
        ++removed;
    }
    REQUIRE(removed == freed);
    if (freed > 0) ++n_evictions;
    model.prefix_page = std::move(kept);
    for (const auto& l : locks) REQUIRE(model.match(l.tokens).size() * page_size == l.tokens.size());
  };

  for (int op = 0; op < n_ops; ++op) {
    const int kind = uni(0, 99);
    if (kind < 30) {
      // A request: match, lock, allocate the rest, insert, move the lock to the new node.
      Tokens t = random_seq();
      t.resize(t.size() / page_size * page_size);
      if (t.empty()) continue;
      corpus.push_back(t);
      auto m = cache.match_prefix(t);
      auto want = model.match(t);
      REQUIRE(m.pages == want);
      REQUIRE(m.n_tokens == static_cast<int64_t>(want.size()) * page_size);
      cache.lock(m.node);
      locks.push_back({m.node, Tokens(t.begin(), t.begin() + m.n_tokens)});
      const int64_t need = static_cast<int64_t>(t.size()) / page_size - static_cast<int64_t>(m.pages.size());
      if (f.pool->free_pages() < need) {
        const int64_t before = cache.evictable_pages();
        const int64_t short_by = need - f.pool->free_pages();
        const int64_t freed = cache.evict(short_by);
        REQUIRE(freed >= std::min(short_by, before));
        resync_after_evict(freed);
        if (f.pool->free_pages() < need) continue;  // keep the lock; it is released later
      }
      std::vector<int32_t> pages = m.pages;
      REQUIRE(f.pool->alloc(need, pages));
      auto r = cache.insert(t, pages);
      REQUIRE(r.n_already_cached == m.n_tokens);
      REQUIRE(r.pages == pages);
      for (size_t j = 1; j * page_size <= t.size(); ++j) model.prefix_page.emplace(model.prefix(t, j), pages[j - 1]);
      cache.unlock(locks.back().node);
      locks.back() = {r.node, t};
      cache.lock(r.node);
    } else if (kind < 50) {
      // A blind insert of freshly computed pages: duplicates must be freed.
      Tokens t = random_seq();
      t.resize(t.size() / page_size * page_size);
      const int64_t n = static_cast<int64_t>(t.size()) / page_size;
      if (n == 0) continue;
      if (f.pool->free_pages() < n) resync_after_evict(cache.evict(n - f.pool->free_pages()));
      if (f.pool->free_pages() < n) continue;
      corpus.push_back(t);
      std::vector<int32_t> pages;
      REQUIRE(f.pool->alloc(n, pages));
      const auto before = model.match(t);
      auto r = cache.insert(t, pages);
      REQUIRE(r.n_already_cached == static_cast<int64_t>(before.size()) * page_size);
      if (!before.empty()) ++n_duplicates;
      for (size_t j = 0; j < before.size(); ++j) pages[j] = before[j];
      REQUIRE(r.pages == pages);
      for (size_t j = 1; j * page_size <= t.size(); ++j) model.prefix_page.emplace(model.prefix(t, j), pages[j - 1]);
    } else if (kind < 70) {
      // A lookup of an arbitrary (possibly unaligned) sequence.
      Tokens t = random_seq();
      auto m = cache.match_prefix(t);
      REQUIRE(m.pages == model.match(t));
      REQUIRE(m.n_tokens % page_size == 0);
      if (m.n_tokens > 0 && m.n_tokens < static_cast<int64_t>(t.size()) / page_size * page_size) ++n_partial;
    } else if (kind < 88) {
      if (!locks.empty()) {
        const size_t i = uni(0, static_cast<int>(locks.size()) - 1);
        cache.unlock(locks[i].node);
        locks.erase(locks.begin() + i);
      }
    } else if (kind < 97) {
      const int64_t before = cache.evictable_pages();
      const int64_t want = uni(1, 12);
      const int64_t freed = cache.evict(want);
      REQUIRE(freed >= std::min(want, before));
      REQUIRE(freed <= before);
      resync_after_evict(freed);
    } else {
      if (uni(0, 1) == 0) {  // a drain: every request finishes first
        for (const auto& l : locks) cache.unlock(l.node);
        locks.clear();
      }
      const bool ok = cache.flush();
      REQUIRE(ok == locks.empty());
      if (ok) model.prefix_page.clear();
      ++(ok ? n_flush_ok : n_flush_refused);
    }
    check_consistent(cache, *f.pool, model, locks);
  }
  for (const auto& l : locks) cache.unlock(l.node);
  locks.clear();
  check_consistent(cache, *f.pool, model, locks);
  REQUIRE(cache.flush());
  CHECK(f.pool->free_pages() == f.pool->total_pages());
  CHECK(cache.node_count() == 1);
  CHECK(cache.stats().hit_tokens <= cache.stats().lookup_tokens);
  CHECK(n_evictions > 10);
  CHECK(n_duplicates > 10);
  CHECK(n_partial > 10);
  CHECK(n_flush_ok > 0);
  CHECK(n_flush_refused > 0);
}

}  // namespace

TEST_CASE("radix property: random operations agree with a naive model (page size 1)") {
  for (uint64_t seed = 1; seed <= 4; ++seed) run_property(1, seed, 1500);
}

TEST_CASE("radix property: random operations agree with a naive model (page size 4)") {
  for (uint64_t seed = 11; seed <= 14; ++seed) run_property(4, seed, 1500);
}
