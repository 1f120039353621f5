// The signing record: a validator never signs two different messages for one slot, across
// restarts.
//
// Scenarios:
//  1. The first message of a slot is allowed (and persisted first), the same again is allowed,
//     a different one is refused; other slots are independent.
//  2. When persisting fails nothing is signed or recorded.
//  3. Backed by the node's RocksDB store with sync writes: after a "crash" (everything
//     destroyed) and a reload, a conflicting message for a recorded slot is refused.
//  4. Wired into qbft::state: a validator that prepared block X, restarted from its record,
//     does not prepare a different block Y offered for the same round by an equivocating
//     proposer.
//  5. forget_below drops finalized heights.
#include "chain_test_util.hpp"
#include "poe/chain/signing_guard.hpp"
#include "poe/core/domain.hpp"
#include "poe/store/store.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace poe;
using namespace poe::chain;
namespace t = poe::chain::test;

namespace {

qbft::message msg(qbft::kind k, std::uint64_t h, std::uint64_t r, const std::string& content) {
  qbft::message m;
  m.type = k;
  m.height = h;
  m.round = r;
  m.digest = sha256::digest(as_bytes(content));
  return m;
}

qbft::message proposal(int proposer, std::uint64_t h, std::uint64_t r, const std::string& text) {
  qbft::message m;
  m.type = qbft::kind::proposal;
  m.height = h;
  m.round = r;
  m.block = bytes(text.begin(), text.end());
  m.digest = sha256::digest(m.block);
  m.from = t::key(proposer).id();
  m.signature = sign_in_domain(t::key(proposer), t::chain, msg_type::proposal,
                               qbft::signing_payload(m));
  return m;
}

struct temp {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("poe-guard-" + std::to_string(::getpid()));
  ~temp() { std::filesystem::remove_all(path); }
};

signing_guard::persist_fn to_store(store::db& db) {
  return [&db](byte_view k, byte_view v) { return db.put("signing", k, v, store::write_mode::sync); };
}

void reload(signing_guard& g, store::db& db) {
  REQUIRE(db.for_each("signing", {}, [&](byte_view k, byte_view v) {
    REQUIRE(g.load(k, v));
    return true;
  }));
}

} // namespace

TEST_CASE("one message per slot: the same again is allowed and a different one refused") {
  int persisted = 0;
  signing_guard g([&](byte_view, byte_view) {
    ++persisted;
    return status{};
  });
  auto a = msg(qbft::kind::prepare, 5, 0, "A");
  CHECK(g.allow(a));
  CHECK(persisted == 1);
  CHECK(g.allow(a));
  CHECK(persisted == 1);
  CHECK_FALSE(g.allow(msg(qbft::kind::prepare, 5, 0, "B")));
  CHECK(g.allow(msg(qbft::kind::commit, 5, 0, "B")));  // another kind
  CHECK(g.allow(msg(qbft::kind::prepare, 5, 1, "B")));  // another round
  CHECK(g.allow(msg(qbft::kind::prepare, 6, 0, "B")));  // another height
  auto rc = msg(qbft::kind::round_change, 5, 2, "");
  CHECK(g.allow(rc));
  rc.prepared = true;
  CHECK_FALSE(g.allow(rc)); // a round change claiming something else
}

TEST_CASE("nothing is signed when the record cannot be persisted") {
  signing_guard g([](byte_view, byte_view) { return status{fail(errc::io_error, "disk full")}; });
  CHECK_FALSE(g.allow(msg(qbft::kind::prepare, 1, 0, "A")));
  CHECK(g.size() == 0);
}

TEST_CASE("the record survives a crash through the store") {
  temp dir;
  {
    auto db = store::db::open(dir.path, {"signing"});
    REQUIRE(db);
    signing_guard g(to_store(*db));
    CHECK(g.allow(msg(qbft::kind::commit, 9, 3, "X")));
  } // crash: everything gone but the store
  auto db = store::db::open(dir.path, {"signing"});
  REQUIRE(db);
  signing_guard g(to_store(*db));
  reload(g, *db);
  CHECK(g.size() == 1);
  CHECK_FALSE(g.allow(msg(qbft::kind::commit, 9, 3, "Y")));
  CHECK(g.allow(msg(qbft::kind::commit, 9, 3, "X")));
}

TEST_CASE("a restarted validator does not prepare a second block in the same round") {
  temp dir;
  std::vector<public_key> keys;
  for (int i = 0; i < 4; ++i)
    keys.push_back(t::key(i).pub());
  qbft::validator_set vals(keys);
  auto proposer = 0;
  while (t::key(proposer).id() != vals.proposer(1, 0))
    ++proposer;
  auto me = (proposer + 1) % 4;
  auto x = proposal(proposer, 1, 0, "block X");
  auto y = proposal(proposer, 1, 0, "block Y"); // the proposer equivocates
  auto make = [&](store::db& db, signing_guard& g) {
    auto cfg = qbft::config::make(t::chain);
    cfg.before_sign = [&g](const qbft::message& m) { return g.allow(m); };
    return qbft::state(cfg, t::key(me), [](byte_view) { return true; });
  };
  {
    auto db = store::db::open(dir.path, {"signing"});
    REQUIRE(db);
    signing_guard g(to_store(*db));
    auto st = make(*db, g);
    st.start(1, vals);
    auto fx = st.on_message(x);
    REQUIRE(fx.broadcast.size() == 1);
    CHECK(fx.broadcast[0].type == qbft::kind::prepare);
    CHECK(fx.broadcast[0].digest == x.digest);
  }
  auto db = store::db::open(dir.path, {"signing"});
  REQUIRE(db);
  signing_guard g(to_store(*db));
  reload(g, *db);
  auto st = make(*db, g);
  st.start(1, vals);
  auto fx = st.on_message(y);
  CHECK(fx.broadcast.empty()); // withheld: it would be a double sign
  auto again = st.on_message(x);
  CHECK(again.rejected == qbft::reject::none);
}

TEST_CASE("finalized heights are forgotten") {
  signing_guard g(nullptr);
  for (std::uint64_t h = 1; h <= 5; ++h)
    REQUIRE(g.allow(msg(qbft::kind::prepare, h, 0, "A")));
  g.forget_below(4);
  CHECK(g.size() == 2);
  CHECK(g.allow(msg(qbft::kind::prepare, 2, 0, "B"))); // no longer guarded
}
