// The validator role under the deterministic harness: 4 nodes, each a validator with its own
// RocksDB store, connected through the seam.
//
// Scenarios:
//  1. Four validators commit blocks; every node has the same block at every height.
//  2. One validator crashes; the other three go on (3 of 4 is a quorum). Restarted, it replays
//     its stored blocks and catches up through block sync; hashes match.
//  3. Two of four crashed: no block is committed (no quorum); nothing unsafe. Restarted, progress
//     resumes.
//  3b. Every message delayed (a round takes half a block interval): heights still start one
//     interval apart.
//  4. Seven validators, f = 2 of them silent from the start: the five others commit.
//  5. An equivocating validator (two conflicting signed PREPAREs of one height and round, sent
//     to every validator besides its honest traffic): detected, the evidence goes into a block,
//     every node slashes it (5 % of its stake into the slashing pool) and removes it; the three
//     others go on; the removed node follows the chain without signing.
//  7. A batch of submissions: each gets its own answer (a bad one is refused with its reason),
//     the accepted ones are gossiped, committed and visible on every node.
//  6. Lossy network from seeds (drops, duplicates, delays that reorder, a partition that heals):
//     agreement at every height on every node, and progress once the network is clean.
//     (The 1000-seed sweeps of the consensus rules themselves are in tests/chain/qbft_test.cpp.)
#include "poe/actors/roles.hpp"
#include "poe/chain/block.hpp"
#include "poe/chain/evidence.hpp"
#include "poe/chain/genesis.hpp"
#include "poe/chain/qbft.hpp"
#include "poe/chain/transaction.hpp"
#include "poe/core/sha256.hpp"
#include "poe/testing/harness.hpp"
#include "test_roles.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <unistd.h>

using namespace poe;
using namespace poe::runtime;
using poe::testing::harness;
using poe::testing::node_index;
using namespace std::chrono_literals;

namespace {


using cons_atom = caf::atom_constant<caf::atom("v_cons")>; // the validators' consensus channel

struct chain_fixture {
  harness h;
  std::string genesis_path = "/tmp/poe-genesis-" + std::to_string(::getpid()) + ".json";
  std::vector<node_index> ns;

  explicit chain_fixture(std::size_t n = 4, std::uint64_t seed = 11, std::uint64_t interval_ms = 50)
    : h(seed) {
    for (std::size_t i = 0; i < n; ++i) {
      testing::node_spec spec{"v" + std::to_string(i), {actors::validator_role()}, {}};
      for (std::size_t j = 0; j < i; ++j)
        spec.peers.push_back(j);
      spec.net = test::fast_net();
      spec.store = true;
      ns.push_back(h.add_node(spec));
    }
    chain::genesis g;
    g.chain_id = "poe-sim";
    for (auto n : ns)
      g.validators.push_back({h.key(n).pub(), amount{1000}});
    std::sort(g.validators.begin(), g.validators.end(),
              [](auto& a, auto& b) { return a.id() < b.id(); });
    g.params.block_interval_ms = interval_ms;
    g.balances.push_back({h.key(ns[0]).id(), amount{1'000'000}});
    std::ofstream(genesis_path) << chain::to_json(g);
    h.set("validator.genesis", genesis_path);
  }
  ~chain_fixture() { std::remove(genesis_path.c_str()); }

  caf::actor validator(node_index n) { return h.local(n, "validator"); }

  std::uint64_t height(node_index n) {
    auto v = validator(n);
    if (!v) return 0;
    auto r = h.ask<std::uint64_t>(v, caf::make_message(status_atom::value));
    return r ? *r : 0;
  }

  runtime::chain_status chain_status(node_index n) {
    auto r = h.ask<runtime::chain_status>(validator(n), caf::make_message(chain_atom::value));
    return r ? *r : runtime::chain_status{};
  }

  account_view account(node_index n, node_index of) {
    auto r = h.ask<account_view>(validator(n), caf::make_message(account_atom::value,
                                                                  h.node_id(of)));
    return r ? *r : account_view{};
  }

  std::string block_at(node_index n, std::uint64_t height) {
    auto r = h.ask<std::string>(validator(n), caf::make_message(status_atom::value, height));
    return r ? *r : std::string{};
  }

  bool all_at_least(const std::vector<node_index>& which, std::uint64_t height) {
    for (auto n : which)
      if (this->height(n) < height) return false;
    return true;
  }

  void same_chain(const std::vector<node_index>& which, std::uint64_t upto) {
    for (std::uint64_t k = 1; k <= upto; ++k) {
      auto first = block_at(which.front(), k);
      REQUIRE(!first.empty());
      for (auto n : which)
        CHECK(block_at(n, k) == first);
    }
  }
};

} // namespace

TEST_CASE("four validators commit the same blocks") {
  chain_fixture f;
  f.h.start_all();
  REQUIRE(f.h.advance_until([&] { return f.all_at_least(f.ns, 5); }, 30s, 20ms));
  f.same_chain(f.ns, 5);
}

TEST_CASE("a crashed validator is not missed and catches up after a restart") {
  chain_fixture f;
  f.h.start_all();
  REQUIRE(f.h.advance_until([&] { return f.all_at_least(f.ns, 3); }, 30s, 20ms));
  f.h.crash(3);
  std::vector<node_index> rest{0, 1, 2};
  auto before = f.height(0);
  REQUIRE(f.h.advance_until([&] { return f.all_at_least(rest, before + 5); }, 60s, 20ms));
  f.h.start(3);
  auto target = f.height(0) + 2;
  REQUIRE(f.h.advance_until([&] { return f.all_at_least(f.ns, target); }, 60s, 20ms));
  f.same_chain(f.ns, target);
}

TEST_CASE("without a quorum nothing is committed and progress resumes after restarts") {
  chain_fixture f;
  f.h.start_all();
  REQUIRE(f.h.advance_until([&] { return f.all_at_least(f.ns, 2); }, 30s, 20ms));
  f.h.crash(2);
  f.h.crash(3);
  f.h.advance(1s, 20ms);
  auto stalled = f.height(0);
  f.h.advance(10s, 20ms);
  CHECK(f.height(0) <= stalled + 1); // at most the height already in flight
  CHECK(f.height(1) <= stalled + 1);
  f.h.start(2);
  f.h.start(3);
  REQUIRE(f.h.advance_until([&] { return f.all_at_least(f.ns, stalled + 3); }, 90s, 20ms));
  f.same_chain(f.ns, stalled + 3);
}

TEST_CASE("after a lost quorum the chain resumes soon after the validators return") {
  // 2 of 4 validators down for 3 s or for 30 s (round timers doubled to their 10 s cap
  // meanwhile), then back: the first block within 3 simulated seconds of their return — not
  // when the survivors' long round timers fire. 1 s blocks: round 0 lasts 2 s.
  for (auto outage : {3s, 30s}) {
    chain_fixture f(4, 11, 1000);
    f.h.start_all();
    REQUIRE(f.h.advance_until([&] { return f.all_at_least(f.ns, 2); }, 30s, 20ms));
    f.h.crash(2);
    f.h.crash(3);
    f.h.advance(outage, 20ms);
    auto stalled = std::max(f.height(0), f.height(1));
    f.h.start(2);
    f.h.start(3);
    auto back = f.h.clock().now_ms();
    REQUIRE(f.h.advance_until([&] { return f.height(0) > stalled && f.height(1) > stalled; }, 60s, 20ms));
    auto took = f.h.clock().now_ms() - back;
    INFO("outage " << outage.count() << " s: the next block " << took << " ms after the return");
    CHECK(took <= 3000);
    REQUIRE(f.h.advance_until([&] { return f.all_at_least(f.ns, stalled + 2); }, 30s, 20ms));
    f.same_chain(f.ns, stalled + 2);
  }
}

TEST_CASE("heights start one block interval apart also when deciding takes a while") {
  // Every message between the nodes delayed 0-80 ms, so a round takes ~100 ms of a 200 ms
  // block interval. The interval is the period of heights: 20 s make ~100 blocks, where
  // waiting one interval after each commit made ~60.
  chain_fixture f(4, 11, 200);
  f.h.faults({0, 0, 1.0, 80ms});
  f.h.start_all();
  REQUIRE(f.h.advance_until([&] { return f.all_at_least(f.ns, 1); }, 30s, 20ms));
  auto h0 = f.height(0);
  f.h.advance(20s, 20ms);
  auto blocks = f.height(0) - h0;
  INFO(blocks << " blocks in 20 s of 200 ms blocks; " << f.h.describe());
  CHECK(f.h.seam_counters().delayed > 0);
  CHECK(blocks >= 85);
  CHECK(blocks <= 101); // never faster than the interval
}

TEST_CASE("seven validators commit with two of them silent") {
  chain_fixture f(7, 17);
  for (node_index n = 0; n < 5; ++n)
    f.h.start(n);
  std::vector<node_index> live{0, 1, 2, 3, 4};
  REQUIRE(f.h.advance_until([&] { return f.all_at_least(live, 4); }, 90s, 20ms));
  f.same_chain(live, 4);
  CHECK(f.chain_status(0).validators.size() == 7); // silent, not removed
}

TEST_CASE("an equivocating validator is slashed and removed and the others go on") {
  chain_fixture f;
  f.h.start_all();
  REQUIRE(f.h.advance_until([&] { return f.all_at_least(f.ns, 2); }, 30s, 20ms));
  // Validator 3 signs two different PREPAREs for a height two ahead (buffered by the others
  // until they get there) and sends both to everyone.
  auto target = f.height(0) + 2;
  auto prepare = [&](const char* content) {
    chain::qbft::message m;
    m.type = chain::qbft::kind::prepare;
    m.height = target;
    m.round = 0;
    m.digest = sha256::digest(as_bytes(std::string(content)));
    m.from = f.h.key(3).id();
    m.signature = sign_in_domain(f.h.key(3), "poe-sim", chain::qbft::domain_of(m.type),
                                 chain::qbft::signing_payload(m));
    return chain::qbft::encode(m);
  };
  for (auto n : f.ns) {
    caf::anon_send(f.validator(n), cons_atom::value, prepare("one block"));
    caf::anon_send(f.validator(n), cons_atom::value, prepare("another block"));
  }
  std::vector<node_index> honest{0, 1, 2};
  auto removed = [&](node_index n) {
    auto st = f.chain_status(n);
    if (st.validators.size() != 3) return false;
    for (auto& v : st.validators)
      if (to_hex(v.id) == f.h.node_id(3)) return false;
    return true;
  };
  REQUIRE(f.h.advance_until([&] { return removed(0) && removed(1) && removed(2); }, 60s, 20ms));
  for (auto n : honest) {
    auto st = f.chain_status(n);
    CHECK(st.slashing_pool == 50); // 5 % of 1000
    auto acct = f.account(n, 3);
    CHECK(acct.jailed);
    CHECK(acct.stake_of(chain::stake_role::validator) == 950);
  }
  // Three validators go on; the removed one follows.
  auto now = f.height(0);
  REQUIRE(f.h.advance_until([&] { return f.all_at_least(f.ns, now + 3); }, 60s, 20ms));
  f.same_chain(f.ns, now + 3);
  // Evidence is in exactly one block, and the same one everywhere.
  std::size_t with_evidence = 0;
  for (std::uint64_t k = 1; k <= now + 3; ++k) {
    auto raw = f.h.ask<std::vector<std::uint8_t>>(f.validator(0),
                                                  caf::make_message(block_atom::value, k));
    REQUIRE(raw);
    auto d = chain::qbft::decode_decision(*raw, k);
    REQUIRE(d);
    auto b = chain::decode_block(d->block);
    REQUIRE(b);
    if (b->evidence.empty()) continue;
    ++with_evidence;
    auto e = chain::decode_evidence(b->evidence.front());
    REQUIRE(e);
    CHECK(chain::offender_of(*e).hex() == f.h.node_id(3));
  }
  CHECK(with_evidence == 1);
}

TEST_CASE("validators agree under lossy networks from seeds and progress once it heals") {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    chain_fixture f(4, seed);
    f.h.faults({0.05, 0.05, 0.2, 150ms});
    f.h.start_all();
    f.h.advance(4s, 20ms);
    f.h.partition({0, 1}, {2, 3}); // no side has a quorum
    f.h.advance(2s, 20ms);
    f.h.heal();
    f.h.advance(2s, 20ms);
    f.h.faults({});
    CHECK(f.h.seam_counters().dropped > 0);
    CHECK(f.h.seam_counters().delayed > 0);
    CHECK(f.h.seam_counters().partitioned > 0);
    auto top = std::max({f.height(0), f.height(1), f.height(2), f.height(3)});
    REQUIRE(f.h.advance_until([&] { return f.all_at_least(f.ns, top + 2); }, 120s, 20ms));
    f.same_chain(f.ns, top + 2);
  }
}

TEST_CASE("a batch of transactions is answered one by one and committed everywhere") {
  chain_fixture f;
  f.h.start_all();
  REQUIRE(f.h.advance_until([&] { return f.all_at_least(f.ns, 1); }, 30s, 20ms));
  // Recipients that are no validators (a validator would also collect fees as proposer).
  auto account_id = [](int i) {
    return node_id{sha256::digest(as_bytes("recipient-" + std::to_string(i))).data};
  };
  auto pay = [&](std::uint64_t nonce, int to, std::uint64_t value) {
    chain::transaction tx;
    tx.chain_id = "poe-sim";
    tx.nonce = nonce;
    tx.fee = amount{1};
    tx.body = chain::transfer{account_id(to), amount{value}};
    chain::sign(tx, f.h.key(0));
    return chain::encode(tx);
  };
  std::vector<std::vector<std::uint8_t>> batch{pay(0, 1, 100), pay(1, 2, 200), {1, 2, 3},
                                               pay(0, 3, 5)};
  auto answers = f.h.ask<std::vector<submit_reply>>(
    f.validator(0), caf::make_message(tx_atom::value, batch));
  REQUIRE(answers);
  REQUIRE(answers->size() == 4);
  CHECK((*answers)[0].outcome == verdict::accepted);
  CHECK((*answers)[1].outcome == verdict::accepted);
  CHECK((*answers)[2].outcome == verdict::rejected);
  CHECK((*answers)[2].reason == "bad_encoding");
  // Another transaction with a nonce already pending: refused (no replacement by fee).
  CHECK((*answers)[3].reason == "duplicate");
  CHECK((*answers)[3].text().find("rejected: duplicate: a transaction with nonce 0 is pending") == 0);
  // A client without an explicit nonce is told the next free one: past the two pending.
  CHECK(f.account(0, 0).next_nonce == 2);
  auto has = [&](node_index n, int who, std::uint64_t balance) {
    auto r = f.h.ask<account_view>(f.validator(n), caf::make_message(account_atom::value,
                                                                     account_id(who).hex()));
    return r && r->balance == balance;
  };
  REQUIRE(f.h.advance_until(
    [&] {
      for (auto n : f.ns)
        if (!has(n, 2, 200)) return false;
      return true;
    },
    30s, 20ms));
  for (auto n : f.ns)
    CHECK(f.account(n, 0).nonce == 2);
}

TEST_CASE("a full mempool answers busy and admits the transaction again after a block") {
  chain_fixture f;
  f.h.start_all();
  REQUIRE(f.h.advance_until([&] { return f.all_at_least(f.ns, 1); }, 30s, 20ms));
  auto pay = [&](std::uint64_t nonce) {
    chain::transaction tx;
    tx.chain_id = "poe-sim";
    tx.nonce = nonce;
    tx.fee = amount{1};
    tx.body = chain::transfer{node_id{sha256::digest(as_bytes("busy-recipient")).data}, amount{1}};
    chain::sign(tx, f.h.key(0));
    return chain::encode(tx);
  };
  // 64 pending per sender at most: the 65th is refused for now, not for good.
  std::vector<std::vector<std::uint8_t>> batch;
  for (std::uint64_t n = 0; n <= 64; ++n) batch.push_back(pay(n));
  auto answers = f.h.ask<std::vector<submit_reply>>(
    f.validator(0), caf::make_message(tx_atom::value, batch));
  REQUIRE(answers);
  REQUIRE(answers->size() == 65);
  for (std::size_t i = 0; i < 64; ++i) CHECK((*answers)[i].outcome == verdict::accepted);
  auto& last = answers->back();
  CHECK(last.outcome == verdict::busy);
  CHECK_FALSE(last.taken());
  CHECK(last.reason == "mempool_full");
  CHECK(last.text().find("busy: mempool_full: ") == 0);
  // Once a block takes the 64, the same bytes are admitted.
  REQUIRE(f.h.advance_until([&] { return f.account(0, 0).nonce == 64; }, 30s, 20ms));
  auto again = f.h.ask<std::vector<submit_reply>>(
    f.validator(0), caf::make_message(tx_atom::value, std::vector<std::vector<std::uint8_t>>{batch.back()}));
  REQUIRE(again);
  REQUIRE(again->size() == 1);
  CHECK((*again)[0].outcome == verdict::accepted);
}
