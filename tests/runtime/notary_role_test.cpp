// The notarization layer's actors under the deterministic harness: 4 validators through the
// seam, with a BPI whose key holds builder stake.
//
//  1. Forced inclusion: a censoring proposer (validator.censor, wrapped onto node 0 only) leaves
//     out a PoE header the others have held for N = 1 block: they refuse to PREPARE, sign
//     exclusion complaints, f+1 of them become evidence, and the censor's validator stake is
//     slashed; the header lands within N + 1 blocks under the next, honest proposer.
//  2. A withholding builder (builder.withhold) wins the auction with a high bid and never
//     reveals: the proposer records withheld-bid evidence; the bid's value is taken from the
//     builder into the slashing pool, and its headers are still included (they are held).
//  4. A builder takes a receipt only when a staked verifier signed it (with the executor's
//     result and key, its PoE v1 verifying) and sent it itself: unsigned receipts, garbage, a
//     forged result, a verifier without stake and a relayed receipt are refused with the reason.
//  3. Reproducibility: validators, builders and rent roles on four nodes, a builder staked and
//     fed receipts, run twice from one seed, exchange exactly the same messages at the same
//     simulated times (the roles read time and randomness only from their role_context).
#include "poe/actors/roles.hpp"
#include "poe/chain/evidence.hpp"
#include "poe/chain/genesis.hpp"
#include "poe/chain/log_builder.hpp"
#include "poe/chain/qbft.hpp"
#include "poe/chain/transaction.hpp"
#include "poe/core/sha256.hpp"
#include "poe/testing/harness.hpp"
#include "poe/wire/codec.hpp"
#include "test_roles.hpp"
#include "../receipt_util.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <unistd.h>

using namespace poe;
using namespace poe::runtime;
using poe::testing::harness;
using poe::testing::node_index;
using namespace std::chrono_literals;

namespace {

using bytes_t = std::vector<std::uint8_t>;

/// A role that runs `inner` with one more role option (a per-node fault drill).
runtime::role_info with_option(runtime::role_info inner, std::string key, std::string value) {
  auto body = inner.body;
  inner.body = [=](caf::event_based_actor* self, const role_context& ctx) {
    auto c = ctx;
    auto settings = std::make_shared<node_settings>(ctx.settings ? *ctx.settings : node_settings{});
    REQUIRE(set_role_option(settings->options, key, value));
    c.settings = settings;
    return body(self, c);
  };
  return inner;
}

struct notary_fixture {
  harness h{29};
  std::string genesis_path = "/tmp/poe-genesis-notary-" + std::to_string(::getpid()) + ".json";
  std::vector<node_index> ns;
  chain::genesis g;

  /// `roles_of(i)`: the roles of node i (validator first).
  explicit notary_fixture(const std::function<std::vector<role_info>(std::size_t)>& roles_of,
                          std::uint64_t inclusion_blocks, bool record = false) {
    h.record(record);
    for (std::size_t i = 0; i < 4; ++i) {
      testing::node_spec spec{"n" + std::to_string(i), roles_of(i), {}};
      for (std::size_t j = 0; j < i; ++j) spec.peers.push_back(j);
      spec.net = test::fast_net();
      spec.store = true;
      ns.push_back(h.add_node(spec));
    }
    g.chain_id = harness::chain_id();
    for (auto n : ns) {
      g.validators.push_back({h.key(n).pub(), amount{1000}});
      g.balances.push_back({h.key(n).id(), amount{1'000'000}});
    }
    std::sort(g.validators.begin(), g.validators.end(), [](auto& a, auto& b) { return a.id() < b.id(); });
    std::sort(g.balances.begin(), g.balances.end(), [](auto& a, auto& b) { return a.account < b.account; });
    g.params.block_interval_ms = 300;
    g.params.rent.inclusion_blocks = inclusion_blocks;
    std::ofstream(genesis_path) << chain::to_json(g);
    h.set("validator.genesis", genesis_path);
    h.start_all();
    REQUIRE(h.advance_until([&] { return height(0) >= 1 && height(3) >= 1; }, 30s, 20ms));
  }
  ~notary_fixture() { std::remove(genesis_path.c_str()); }

  caf::actor validator(std::size_t i) { return h.local(ns[i], "validator"); }
  std::uint64_t height(std::size_t i) {
    auto r = h.ask<std::uint64_t>(validator(i), caf::make_message(status_atom::value));
    return r ? *r : 0;
  }
  account_view account(const node_id& who) {
    auto r = h.ask<account_view>(validator(1), caf::make_message(account_atom::value, who.hex()));
    return r ? *r : account_view{};
  }
  std::uint64_t stake_of(const node_id& who, chain::stake_role role) {
    return account(who).stake_of(role);
  }
  std::uint64_t balance_of(const node_id& who) { return account(who).balance; }
  runtime::chain_status chain_status() {
    auto r = h.ask<runtime::chain_status>(validator(1), caf::make_message(chain_atom::value));
    return r ? *r : runtime::chain_status{};
  }
  /// A receipt for request `n` as node `v`'s verifier signs it (an executor on node `x` ran it).
  bytes_t receipt(std::size_t v, std::size_t x, std::uint8_t n) {
    auto w = chain::encode(test::attested_receipt(h.key(ns[v]), h.key(ns[x]), harness::chain_id(), n));
    return bytes_t(w.begin(), w.end());
  }
  /// Node i stakes `role` and waits until it is committed.
  void stake_committed(std::size_t i, chain::stake_role role) {
    stake(i, role);
    auto who = h.key(ns[i]).id();
    REQUIRE(h.advance_until([&] { return stake_of(who, role) > 0; }, 30s, 20ms));
  }
  /// Node i stakes `role` (signed with its node key).
  void stake(std::size_t i, chain::stake_role role) {
    chain::transaction tx;
    tx.chain_id = harness::chain_id();
    tx.nonce = account(h.key(ns[i]).id()).nonce;
    tx.body = chain::stake{role, amount{5000}};
    chain::sign(tx, h.key(ns[i]));
    auto r = h.ask<submit_reply>(validator(1), caf::make_message(tx_atom::value, chain::encode(tx)));
    REQUIRE(r);
    REQUIRE(r->outcome == verdict::accepted);
  }
  /// The finalized block at `height` (decoded).
  std::optional<chain::block> block_at(std::uint64_t height) {
    auto r = h.ask<bytes_t>(validator(1), caf::make_message(block_atom::value, height));
    if (!r || r->empty()) return std::nullopt;
    auto d = chain::qbft::decode_decision(*r, height);
    if (!d) return std::nullopt;
    auto b = chain::decode_block(d->block);
    return b ? std::optional<chain::block>(*b) : std::nullopt;
  }
  /// The height of the block holding the PoE header `id`, searching from `from`.
  std::optional<std::uint64_t> included_at(const hash256& id, std::uint64_t from) {
    for (auto k = from; k <= height(1); ++k)
      if (auto b = block_at(k))
        for (auto& raw : b->poe_headers)
          if (auto e = chain::decode_poe_entry(raw); e && chain::entry_id(*e) == id) return k;
    return std::nullopt;
  }
};

} // namespace

TEST_CASE("a censoring proposer is slashed and the header lands within N+1 blocks") {
  notary_fixture f(
    [](std::size_t i) {
      return std::vector<role_info>{i == 0 ? with_option(actors::validator_role(), "validator.censor", "true")
                                           : actors::validator_role()};
    },
    1);
  // Node 3 is the BPI: builder stake first.
  f.stake(3, chain::stake_role::builder);
  auto bpi = f.h.key(f.ns[3]).id();
  REQUIRE(f.h.advance_until([&] { return f.stake_of(bpi, chain::stake_role::builder) > 0; }, 30s, 20ms));
  chain::log_builder maker(f.h.key(f.ns[3]), harness::chain_id(), f.g.params.rent, {1, 0, 0});
  chain::receipt_in r;
  r.request.data[0] = 7;
  r.encoded = bytes{'r', '7'};
  r.work_units = 10;
  maker.add(r);
  auto entry = *maker.poll(1);
  auto id = chain::entry_id(entry.entry);
  // Wait for a tip h whose next proposer (round 0) is the censor, then offer the header to every
  // validator: they hold it since h; it is due at h + 1 = the censor's proposal.
  auto censor = f.h.key(f.ns[0]).id();
  std::vector<public_key> keys;
  for (auto& v : f.g.validators) keys.push_back(v.key);
  chain::qbft::validator_set set(keys);
  std::uint64_t h0 = 0;
  REQUIRE(f.h.advance_until(
    [&] {
      auto t = f.height(1);
      if (f.height(0) != t || f.height(2) != t || f.height(3) != t) return false;
      if (set.proposer(t + 1, 0) != censor) return false;
      h0 = t;
      return true;
    },
    60s, 5ms));
  auto raw = chain::encode(entry.entry);
  for (std::size_t i = 0; i < 4; ++i) {
    auto a = f.h.ask<submit_reply>(f.validator(i), caf::make_message(poe_atom::value, bytes_t(raw.begin(), raw.end())));
    REQUIRE(a);
    CHECK(a->taken());
  }
  auto stake_before = f.stake_of(censor, chain::stake_role::validator);
  REQUIRE(f.h.advance_until([&] { return f.included_at(id, h0 + 1).has_value(); }, 60s, 20ms));
  auto landed = *f.included_at(id, h0 + 1);
  CHECK(landed <= h0 + 1 + 1); // N + 1 blocks after it was held
  // f+1 complaints became evidence; the censor's validator stake is slashed (5 %), not jailed.
  REQUIRE(f.h.advance_until([&] { return f.stake_of(censor, chain::stake_role::validator) < stake_before; }, 60s, 20ms));
  CHECK(f.stake_of(censor, chain::stake_role::validator) == stake_before * 95 / 100);
  CHECK_FALSE(f.account(censor).jailed);
}

TEST_CASE("a builder that wins the auction and withholds its bundle is penalized") {
  notary_fixture f(
    [](std::size_t i) {
      std::vector<role_info> roles{actors::validator_role()};
      if (i == 2) roles.push_back(actors::builder_role());
      return roles;
    },
    3);
  f.h.set("builder.withhold", "true");
  f.h.set("builder.bid-base", "700");
  f.h.set("builder.max-age-ms", "0");
  f.h.crash(f.ns[2]); // restart node 2 so its builder sees the options set above
  f.h.start(f.ns[2]);
  f.stake_committed(2, chain::stake_role::builder);
  f.stake_committed(0, chain::stake_role::verifier); // node 0 signs the receipts
  auto bpi = f.h.key(f.ns[2]).id();
  auto pool_before = f.chain_status().slashing_pool;
  auto balance_before = f.balance_of(bpi);
  // Receipts for the builder (as verifiers would send them), a few per block for a while: it
  // seals LogBlocks, offers their headers and bids for the next heights.
  auto builder = f.h.local(f.ns[2], "builder");
  for (int i = 0; i < 40; ++i) {
    auto q = f.h.ask<submit_reply>(builder, caf::make_message(bd_receipt_atom::value,
                                                              f.receipt(0, 3, static_cast<std::uint8_t>(i + 1))));
    REQUIRE(q);
    CHECK(q->outcome == verdict::accepted);
    f.h.advance(100ms, 10ms);
  }
  // Its header is included anyway (validators hold it), and its withheld bid is penalized.
  REQUIRE(f.h.advance_until(
    [&] {
      auto st = f.h.ask<builder_status>(builder, caf::make_message(bd_status_atom::value));
      return st && st->headers_included >= 1;
    },
    60s, 20ms));
  REQUIRE(f.h.advance_until(
    [&] { return f.chain_status().slashing_pool >= pool_before + 700; },
    60s, 20ms));
  CHECK(f.balance_of(bpi) <= balance_before - 700);
}

TEST_CASE("a held header that can no longer apply does not stop the chain") {
  // Its BPI cannot pay its rent: admitted (admission does not check balances), held, never
  // includable by anyone; honest proposals that leave it out must still be prepared.
  notary_fixture f([](std::size_t) { return std::vector<role_info>{actors::validator_role()}; }, 1);
  f.stake(3, chain::stake_role::builder);
  auto bpi = f.h.key(f.ns[3]).id();
  REQUIRE(f.h.advance_until([&] { return f.stake_of(bpi, chain::stake_role::builder) > 0; }, 30s, 20ms));
  chain::log_builder maker(f.h.key(f.ns[3]), harness::chain_id(), f.g.params.rent,
                           {1, 0, 50'000'000}); // priority: far above its balance
  chain::receipt_in r;
  r.request.data[0] = 1;
  r.encoded = bytes{'r'};
  maker.add(r);
  auto raw = chain::encode(maker.poll(1)->entry);
  for (std::size_t i = 0; i < 4; ++i) {
    auto a = f.h.ask<submit_reply>(f.validator(i), caf::make_message(poe_atom::value, bytes_t(raw.begin(), raw.end())));
    REQUIRE(a);
    CHECK(a->taken());
  }
  auto h0 = f.height(1);
  REQUIRE(f.h.advance_until([&] { return f.height(1) >= h0 + 6; }, 60s, 20ms));
  CHECK(f.chain_status().poe_held == 1); // still held, never included
}

TEST_CASE("validators, builders and rent roles replay the same messages from one seed") {
  auto run = [] {
    notary_fixture f(
      [](std::size_t) {
        return std::vector<role_info>{actors::validator_role(), actors::builder_role(),
                                      actors::rent_role()};
      },
      2, true);
    f.stake_committed(1, chain::stake_role::builder);
    f.stake_committed(0, chain::stake_role::verifier);
    auto builder = f.h.local(f.ns[1], "builder");
    for (int i = 0; i < 10; ++i) {
      caf::anon_send(builder, bd_receipt_atom::value, f.receipt(0, 2, static_cast<std::uint8_t>(i + 1)));
      f.h.advance(100ms, 10ms);
    }
    f.h.advance(5s, 10ms);
    return f.h.recorded();
  };
  auto a = run();
  auto b = run();
  INFO("traces of " << a.size() << " and " << b.size() << " messages");
  REQUIRE(a.size() > 100); // consensus, gossip, bids, headers: what crosses between nodes
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    INFO("message " << i);
    REQUIRE(a[i] == b[i]);
  }
  CHECK(a.size() == b.size());
}

TEST_CASE("a builder takes only receipts a staked verifier signed and sent itself") {
  notary_fixture f(
    [](std::size_t i) {
      std::vector<role_info> roles{actors::validator_role()};
      if (i == 1) roles.push_back(actors::builder_role());
      return roles;
    },
    3);
  f.stake_committed(1, chain::stake_role::builder);
  f.stake_committed(2, chain::stake_role::verifier); // node 2 is a staked verifier, node 3 is not
  auto builder = f.h.local(f.ns[1], "builder");
  // Sends as node `from` on its connection; the reply's reason and detail.
  auto offer = [&](std::size_t from, bytes_t raw) {
    auto out = std::make_shared<std::optional<submit_reply>>();
    auto asker = f.h.system().spawn([=](caf::event_based_actor* self) {
      self->request(builder, caf::infinite, bd_receipt_atom::value, raw)
        .then([=](const submit_reply& r) { *out = r; }, [=](caf::error&) {});
    });
    f.h.speak_as(f.ns[from], asker);
    f.h.advance_until([&] { return out->has_value(); }, 10s);
    REQUIRE(*out);
    return **out;
  };
  auto refused = [&](std::size_t from, bytes_t raw, const std::string& why) {
    auto r = offer(from, std::move(raw));
    INFO(r.text());
    CHECK_FALSE(r.taken());
    CHECK(r.text().find(why) != std::string::npos);
  };
  // An unsigned step receipt (what builders took before), garbage, a forged PoE.
  auto plain = wire::encode(*wire::decode_step_receipt(test::attested_receipt(f.h.key(f.ns[2]), f.h.key(f.ns[3]),
                                                                              harness::chain_id(), 1).receipt));
  refused(2, bytes_t(plain.begin(), plain.end()), "not a signed receipt");
  refused(2, bytes_t{1, 2, 3}, "not a signed receipt");
  auto forged = test::attested_receipt(f.h.key(f.ns[2]), f.h.key(f.ns[3]), harness::chain_id(), 2);
  forged.result.back() ^= 1;
  auto fw = chain::encode(forged);
  refused(2, bytes_t(fw.begin(), fw.end()), "result");
  // Signed by a node without verifier stake: refused after asking the chain.
  refused(3, f.receipt(3, 0, 3), "holds no verifier stake");
  // A staked verifier's genuine receipt relayed by another node: refused.
  refused(3, f.receipt(2, 0, 4), "came from");
  // The staked verifier's own receipt is taken, once.
  CHECK(offer(2, f.receipt(2, 0, 5)).outcome == verdict::accepted);
  CHECK(offer(2, f.receipt(2, 0, 5)).outcome == verdict::known);
  auto st = f.h.ask<builder_status>(builder, caf::make_message(bd_status_atom::value));
  REQUIRE(st);
  CHECK(st->receipts == 1);
}
