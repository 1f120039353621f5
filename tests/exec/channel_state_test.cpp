// The payee side of payment channels (actors/channel/channel_state.hpp), without actors:
// - a lane is accepted for a channel the chain opened to this node, signed by its payer, for
//   published content at its price or more; a lane keeps its first commitment; a channel
//   takes at most the chain's max_channel_lanes lanes; owed is the sum over lanes;
// - ticks: one hash for the next, duplicates and late ticks answered without change (order
//   tolerant), forged ticks, jumps past max_gap, past the deposit, or past the chain's hash bound
//   from the newest checkpoint refused; vouchers advance checkpoints;
// - closed or expired channels take no new payment;
// - claims: a payer's close makes every unsettled lane due at once, expiry and the schedule
//   too; unsettled claims are resubmitted; settled lanes are not claimed again; plans are
//   split at max_claims and at the chain's max_tx_bytes (the signed transaction fits); every
//   claim a plan holds passes the ledger's check_claim;
// - records round-trip (restore after a restart).
#include "channel_state.hpp"

#include "poe/chain/transaction.hpp"
#include "poe/core/sha256.hpp"

#include <catch2/catch.hpp>

using namespace poe;
using namespace poe::chain;
using namespace poe::actors::channel;

namespace {

const std::string chain_id = "poe-test";

const private_key& key(int i) {
  static std::map<int, private_key> cache;
  if (auto it = cache.find(i); it != cache.end()) return it->second;
  auto seed = sha256::digest(as_bytes("payee-test-key-" + std::to_string(i)));
  return cache.emplace(i, *private_key::ed25519_from_seed(seed.view())).first->second;
}

hash256 h(std::string_view s) { return sha256::digest(as_bytes(s)); }

struct fixture {
  payee_params params;
  payee_book book;
  hash256 ch = h("channel-1");
  hash256 content = h("content-1");
  tick_chain chain{h("seed"), 2'000};
  lane_commit commit;

  explicit fixture(payee_params p = {}) : params(p), book(key(2).id(), chain_id, p) {
    book.on_block(10);
    book.on_channel(ch, channel_facts{key(1).id(), key(1).pub().der(), amount{1'000}, 100, 0});
    book.on_content(content, amount{2});
    commit = lane_commit{ch, 1, content, chain.top(), 2'000, amount{2}, {}};
    sign(commit, key(1), chain_id);
  }
  voucher voucher_at(std::uint32_t k) {
    voucher v{ch, 1, k, chain.at(k), {}};
    sign(v, key(1), chain_id);
    return v;
  }
  /// The payer's commitment on `lane` (the fixture's chain and price).
  lane_commit commit_on(std::uint32_t lane) {
    auto c = commit;
    c.lane = lane;
    sign(c, key(1), chain_id);
    return c;
  }
  /// Lanes 1..n, each paid up to tick(n) (n → index: the tick each lane reaches).
  template <class Index>
  void pay_lanes(std::uint32_t n, Index index) {
    for (std::uint32_t lane = 1; lane <= n; ++lane) {
      REQUIRE(book.add_lane(commit_on(lane)).ok());
      REQUIRE(book.tick(ch, lane, index(lane), chain.at(index(lane))).ok());
    }
  }
};

} // namespace

TEST_CASE("a lane is accepted once, from the payer, for published content at its price") {
  fixture f;
  CHECK(f.book.add_lane(f.commit).ok());
  CHECK(f.book.add_lane(f.commit).ok()); // the same commitment again: nothing new
  CHECK_FALSE(f.book.add_lane(f.commit).fresh);
  auto other = f.commit;
  other.top = h("another chain");
  sign(other, key(1), chain_id);
  CHECK(f.book.add_lane(other).why == refusal::lane_taken);

  auto lane2 = f.commit;
  lane2.lane = 2;
  sign(lane2, key(3), chain_id);
  CHECK(f.book.add_lane(lane2).why == refusal::bad_signature);
  lane2.price_per_tick = amount{1};
  sign(lane2, key(1), chain_id);
  CHECK(f.book.add_lane(lane2).why == refusal::price_too_low);
  lane2.price_per_tick = amount{2};
  lane2.content = h("unpublished");
  sign(lane2, key(1), chain_id);
  CHECK(f.book.add_lane(lane2).why == refusal::unknown_content);
  lane2.channel = h("no such channel");
  CHECK(f.book.add_lane(lane2).why == refusal::unknown_channel);
}

TEST_CASE("a channel takes no more lanes than the chain settles, and owed adds up over lanes") {
  fixture f;
  f.book.set_chain_bounds(4096, 3, 65536); // max_channel_lanes 3
  for (std::uint32_t lane = 0; lane < 3; ++lane) {
    REQUIRE(f.book.add_lane(f.commit_on(lane)).ok());
    REQUIRE(f.book.tick(f.ch, lane, lane + 1, f.chain.at(lane + 1)).ok());
  }
  CHECK(f.book.owed(f.ch) == amount{(1 + 2 + 3) * 2});
  CHECK(f.book.add_lane(f.commit_on(3)).why == refusal::too_many_lanes);
  // Restored records count once each, also when a lane is restored twice.
  payee_book again(key(2).id(), chain_id);
  for (std::uint32_t lane = 0; lane < 3; ++lane) again.restore(f.ch, *f.book.lane(f.ch, lane));
  again.restore(f.ch, *f.book.lane(f.ch, 2));
  CHECK(again.owed(f.ch) == f.book.owed(f.ch));
}

TEST_CASE("ticks: one hash each, in any order, idempotent, never past deposit or bounds") {
  fixture f;
  REQUIRE(f.book.add_lane(f.commit).ok());
  auto r = f.book.tick(f.ch, 1, 1, f.chain.at(1));
  CHECK(r.ok());
  CHECK(r.fresh);
  CHECK(r.owed == amount{2});
  // Tick 3 before tick 2: two hashes down to tick 1; then 2 is a duplicate.
  CHECK(f.book.tick(f.ch, 1, 3, f.chain.at(3)).ticks == 3);
  auto late = f.book.tick(f.ch, 1, 2, f.chain.at(2));
  CHECK(late.ok());
  CHECK_FALSE(late.fresh);
  CHECK(late.ticks == 3);
  CHECK(f.book.tick(f.ch, 1, 3, f.chain.at(3)).ok()); // repeated
  CHECK(f.book.tick(f.ch, 1, 4, f.chain.at(5)).why == refusal::bad_tick);
  CHECK(f.book.tick(f.ch, 1, 4, h("junk")).why == refusal::bad_tick);
  CHECK(f.book.tick(f.ch, 2, 4, f.chain.at(4)).why == refusal::unknown_lane);
  CHECK(f.book.tick(f.ch, 1, 3 + 601, f.chain.at(604)).why == refusal::gap_too_large);
  // The deposit (1,000) covers 500 ticks at 2.
  CHECK(f.book.tick(f.ch, 1, 500, f.chain.at(500)).ok());
  CHECK(f.book.tick(f.ch, 1, 501, f.chain.at(501)).why == refusal::over_deposit);
  CHECK(f.book.owed(f.ch) == amount{1'000});
  f.book.on_channel(f.ch, channel_facts{key(1).id(), key(1).pub().der(), amount{5'000}, 100, 0}); // top-up
  CHECK(f.book.tick(f.ch, 1, 501, f.chain.at(501)).ok());
  CHECK(f.book.tick(f.ch, 1, 2'001, f.chain.at(2'000)).why == refusal::beyond_length);
}

TEST_CASE("vouchers are checkpoints: past max_tick_hashes a lane needs one") {
  payee_params p;
  p.max_tick_hashes = 100;
  p.max_gap = 100;
  fixture f(p);
  f.book.on_channel(f.ch, channel_facts{key(1).id(), key(1).pub().der(), amount{100'000}, 100, 0});
  REQUIRE(f.book.add_lane(f.commit).ok());
  REQUIRE(f.book.tick(f.ch, 1, 100, f.chain.at(100)).ok());
  CHECK(f.book.tick(f.ch, 1, 101, f.chain.at(101)).why == refusal::needs_voucher);
  CHECK(f.book.add_voucher(f.voucher_at(90)).ok());
  CHECK(f.book.lane(f.ch, 1)->ticks == 100);
  CHECK(f.book.tick(f.ch, 1, 101, f.chain.at(101)).ok());
  CHECK(f.book.add_voucher(f.voucher_at(80)).ok()); // older: nothing new
  CHECK(f.book.lane(f.ch, 1)->checkpoint->index == 90);
  // A voucher ahead of the ticks pays up to its index.
  auto v = f.voucher_at(150);
  CHECK(f.book.add_voucher(v).ticks == 150);
  CHECK(f.book.tick(f.ch, 1, 151, f.chain.at(151)).ok());
  auto forged = f.voucher_at(160);
  sign(forged, key(3), chain_id);
  CHECK(f.book.add_voucher(forged).why == refusal::bad_signature);
  auto off_chain = voucher{f.ch, 1, 140, h("not on the chain"), {}};
  sign(off_chain, key(1), chain_id);
  CHECK(f.book.add_voucher(off_chain).why == refusal::none); // at or below the checkpoint: ignored
  auto mismatch = voucher{f.ch, 1, 151, f.chain.at(150), {}};
  f.book.add_voucher(f.voucher_at(151)); // fine
  sign(mismatch, key(1), chain_id);
  CHECK_FALSE(f.book.add_voucher(mismatch).fresh);
}

TEST_CASE("a closing or expired channel takes no new payment, duplicates still answer") {
  fixture f;
  REQUIRE(f.book.add_lane(f.commit).ok());
  REQUIRE(f.book.tick(f.ch, 1, 10, f.chain.at(10)).ok());
  f.book.on_channel(f.ch, channel_facts{key(1).id(), key(1).pub().der(), amount{1'000}, 100, 30});
  CHECK(f.book.tick(f.ch, 1, 11, f.chain.at(11)).why == refusal::channel_closed);
  CHECK(f.book.tick(f.ch, 1, 10, f.chain.at(10)).ok());
  auto lane2 = f.commit;
  lane2.lane = 2;
  sign(lane2, key(1), chain_id);
  CHECK(f.book.add_lane(lane2).why == refusal::channel_closed);
  fixture g;
  REQUIRE(g.book.add_lane(g.commit).ok());
  g.book.on_block(100);
  CHECK(g.book.tick(g.ch, 1, 1, g.chain.at(1)).why == refusal::channel_closed);
}

TEST_CASE("claims: at once when the payer closes, near expiry, on schedule, resubmitted until settled") {
  payee_params p;
  p.claim_every = 30;
  p.expiry_margin = 20;
  p.resubmit_after = 5;
  fixture f(p);
  REQUIRE(f.book.add_lane(f.commit).ok());
  REQUIRE(f.book.tick(f.ch, 1, 40, f.chain.at(40)).ok());
  f.book.on_block(39);
  CHECK(f.book.due().empty()); // the schedule starts with the lane (height 10)
  f.book.on_block(40);
  auto first = f.book.due();
  REQUIRE(first.size() == 1);
  REQUIRE(first[0].claims.size() == 1);
  CHECK(first[0].claims[0].tick_index == 40);
  CHECK(check_claim(first[0].claims[0], key(1).pub(), chain_id, 4096) == claim_error::none);
  f.book.on_block(41);
  CHECK(f.book.due().empty()); // submitted, waiting
  f.book.on_block(45);
  CHECK(f.book.due().size() == 1); // not settled after 5 blocks: again
  f.book.on_settled(f.ch, 1, 40);
  f.book.on_block(60);
  CHECK(f.book.due().empty()); // settled, nothing new
  REQUIRE(f.book.tick(f.ch, 1, 45, f.chain.at(45)).ok());
  f.book.on_block(61);
  CHECK(f.book.due().empty()); // claimed at 45: next on schedule at 75
  // The payer starts closing: due at once.
  f.book.on_channel(f.ch, channel_facts{key(1).id(), key(1).pub().der(), amount{1'000}, 100, 66});
  auto urgent = f.book.due();
  REQUIRE(urgent.size() == 1);
  CHECK(urgent[0].claims[0].tick_index == 45);
  CHECK(f.book.pending() == amount{5 * 2});
  f.book.on_block(66);
  CHECK(f.book.due().empty()); // the window is over: the chain would refuse
}

TEST_CASE("near expiry a channel is claimed, plans split at max_claims") {
  payee_params p;
  p.claim_every = 1'000;
  p.max_claims = 2;
  fixture f(p);
  f.book.on_channel(f.ch, channel_facts{key(1).id(), key(1).pub().der(), amount{100'000}, 100, 0});
  f.pay_lanes(5, [](std::uint32_t n) { return n; });
  f.book.on_block(79);
  CHECK(f.book.due().empty()); // neither scheduled (every 1,000) nor near expiry yet
  f.book.on_block(80);         // expiry 100, margin 20
  CHECK(f.book.due().size() == 3); // 2 + 2 + 1 lanes
  for (std::uint32_t n = 1; n <= 5; ++n) f.book.on_settled(f.ch, n, n);
  REQUIRE(f.book.tick(f.ch, 3, 9, f.chain.at(9)).ok());
  f.book.on_block(81);
  auto plans = f.book.due();
  REQUIRE(plans.size() == 1);
  CHECK(plans[0].claims.size() == 1);
  CHECK(plans[0].claims[0].commit.lane == 3);
}

TEST_CASE("a claim plan's transaction fits the chain's max_tx_bytes") {
  payee_params p;
  p.claim_every = 1;
  p.max_tx_bytes = 2048; // room for 4 claims of 219 bytes beside claim_tx_overhead
  fixture f(p);
  f.book.on_channel(f.ch, channel_facts{key(1).id(), key(1).pub().der(), amount{100'000}, 100, 0});
  f.pay_lanes(10, [](std::uint32_t) { return 1u; });
  f.book.on_block(20);
  auto plans = f.book.due();
  REQUIRE(plans.size() == 3); // 4 + 4 + 2
  auto rsa = *private_key::generate(key_type::rsa2048); // the largest sender key and signature
  for (auto& plan : plans) {
    transaction tx;
    tx.chain_id = std::string(64, 'c');
    tx.nonce = UINT64_MAX;
    tx.fee = amount{UINT64_MAX};
    tx.body = channel_claim{plan.channel, plan.claims};
    sign(tx, rsa);
    CHECK(encode(tx).size() <= 2048);
  }
}

TEST_CASE("a claim plan stays within the ledger's hash steps per transaction") {
  payee_params p;
  p.claim_every = 1;
  p.max_tick_hashes = 100;
  p.max_gap = 100;
  fixture f(p);
  f.book.on_channel(f.ch, channel_facts{key(1).id(), key(1).pub().der(), amount{100'000}, 100, 0});
  f.pay_lanes(3, [](std::uint32_t) { return 60u; });
  f.book.on_block(20);
  auto plans = f.book.due(); // 60 + 60 > 100: one lane per plan
  REQUIRE(plans.size() == 3);
  for (auto& plan : plans) {
    std::uint64_t steps = 0;
    for (auto& c : plan.claims) steps += c.tick_index - (c.checkpoint ? c.checkpoint->index : 0);
    CHECK(steps <= 100);
  }
}

TEST_CASE("lane records round-trip and restore the book") {
  fixture f;
  REQUIRE(f.book.add_lane(f.commit).ok());
  REQUIRE(f.book.tick(f.ch, 1, 30, f.chain.at(30)).ok());
  REQUIRE(f.book.add_voucher(f.voucher_at(20)).ok());
  f.book.on_settled(f.ch, 1, 12);
  auto rec = payee_book::encode(*f.book.lane(f.ch, 1));
  auto back = payee_book::decode(rec);
  REQUIRE(back);
  CHECK(*back == *f.book.lane(f.ch, 1));
  CHECK_FALSE(payee_book::decode(byte_view(rec).first(rec.size() - 1)));

  payee_book restarted(key(2).id(), chain_id);
  restarted.restore(f.ch, *back);
  restarted.on_block(10);
  restarted.on_content(f.content, amount{2});
  restarted.on_channel(f.ch, channel_facts{key(1).id(), key(1).pub().der(), amount{1'000}, 100, 0});
  CHECK(restarted.tick(f.ch, 1, 30, f.chain.at(30)).ok()); // a duplicate after the restart
  CHECK_FALSE(restarted.tick(f.ch, 1, 30, f.chain.at(30)).fresh);
  CHECK(restarted.tick(f.ch, 1, 31, f.chain.at(31)).fresh);
  CHECK(restarted.owed(f.ch) == amount{62});
}

TEST_CASE("a channel gone takes no tick, even right after one of its own") {
  fixture f;
  REQUIRE(f.book.add_lane(f.commit).ok());
  REQUIRE(f.book.tick(f.ch, 1, 1, f.chain.at(1)).ok());
  f.book.on_channel_gone(f.ch);
  CHECK(f.book.tick(f.ch, 1, 2, f.chain.at(2)).why == refusal::unknown_channel);
  // Opened again under the same id (it cannot be on chain; the book must not keep old lanes).
  f.book.on_channel(f.ch, channel_facts{key(1).id(), key(1).pub().der(), amount{1'000}, 100, 0});
  CHECK(f.book.tick(f.ch, 1, 2, f.chain.at(2)).why == refusal::unknown_lane);
  auto other = h("channel-2");
  f.book.on_channel(other, channel_facts{key(1).id(), key(1).pub().der(), amount{1'000}, 100, 0});
  auto c2 = f.commit;
  c2.channel = other;
  sign(c2, key(1), chain_id);
  REQUIRE(f.book.add_lane(c2).ok());
  CHECK(f.book.tick(other, 1, 1, f.chain.at(1)).ok());
  CHECK(f.book.tick(f.ch, 1, 1, f.chain.at(1)).why == refusal::unknown_lane);
  CHECK(f.book.tick(other, 1, 2, f.chain.at(2)).ticks == 2);
}
