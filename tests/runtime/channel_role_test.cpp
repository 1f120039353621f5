// The channel role under the deterministic harness: 4 validators through the seam, the channel
// role on node 3 (the payee). Node 2 stakes as a verifier and vouches for a job of node 0 (the
// creator), who publishes it as content; node 1 (the payer) opens a channel to node 3.
//
//  1. A playback session: the payer's lane commitment and 40 ticks are acknowledged (forged,
//     early and unpaid-for ticks refused); node 3 crashes mid-session and comes back: every
//     acknowledged tick is still there, a repeated one is not taken twice, the session goes on
//     (also with ticks batched in one ch_ticks message).
//  2. The payer starts closing: the channel role claims its best state at once, within the
//     challenge window; after it the payer collects the rest. The creator, the payee, the
//     treasury (platform and treasury shares: no platform account) get exactly the split of
//     what was paid, the payer exactly the rest; the supply is unchanged. The validator's
//     content and channel views (v_content, v_chan) show each step.
#include "poe/actors/roles.hpp"
#include "poe/chain/genesis.hpp"
#include "poe/chain/payments.hpp"
#include "poe/chain/transaction.hpp"
#include "poe/core/byte_io.hpp"
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

using bytes_t = std::vector<std::uint8_t>;
bytes_t wire(const bytes& b) { return bytes_t(b.begin(), b.end()); }

struct channel_fixture {
  harness h{31};
  std::string genesis_path = "/tmp/poe-genesis-channel-" + std::to_string(::getpid()) + ".json";
  std::vector<node_index> ns;

  channel_fixture() {
    for (std::size_t i = 0; i < 4; ++i) {
      std::vector<role_info> roles{actors::validator_role()};
      if (i == 3) roles.push_back(actors::channel_role());
      testing::node_spec spec{"n" + std::to_string(i), roles, {}};
      for (std::size_t j = 0; j < i; ++j) spec.peers.push_back(j);
      spec.net = test::fast_net();
      spec.store = true;
      ns.push_back(h.add_node(spec));
    }
    chain::genesis g;
    g.chain_id = harness::chain_id();
    for (auto n : ns) {
      g.validators.push_back({h.key(n).pub(), amount{1000}});
      g.balances.push_back({h.key(n).id(), amount{1'000'000}});
    }
    std::sort(g.validators.begin(), g.validators.end(), [](auto& a, auto& b) { return a.id() < b.id(); });
    std::sort(g.balances.begin(), g.balances.end(), [](auto& a, auto& b) { return a.account < b.account; });
    g.params.block_interval_ms = 300;
    g.params.channel_challenge_blocks = 10;
    std::ofstream(genesis_path) << chain::to_json(g);
    h.set("validator.genesis", genesis_path);
    h.start_all();
    REQUIRE(h.advance_until([&] { return height() >= 1; }, 30s, 20ms));
  }
  ~channel_fixture() { std::remove(genesis_path.c_str()); }

  const private_key& key(std::size_t i) { return h.key(ns[i]); }
  caf::actor validator() { return h.local(ns[1], "validator"); }
  caf::actor payee() { return h.local(ns[3], "channel"); }
  std::uint64_t height() {
    auto r = h.ask<std::uint64_t>(validator(), caf::make_message(status_atom::value));
    return r ? *r : 0;
  }
  account_view account(std::size_t i) {
    auto r = h.ask<account_view>(validator(), caf::make_message(account_atom::value, key(i).id().hex()));
    return r ? *r : account_view{};
  }
  runtime::chain_status status() {
    auto r = h.ask<runtime::chain_status>(validator(), caf::make_message(chain_atom::value));
    return r ? *r : runtime::chain_status{};
  }
  /// Node i sends `body` and waits until its nonce moved (the transaction is in a block).
  void commit(std::size_t i, chain::tx_body body) {
    chain::transaction tx;
    tx.chain_id = harness::chain_id();
    auto before = account(i).nonce;
    tx.nonce = before;
    tx.body = std::move(body);
    chain::sign(tx, key(i));
    auto r = h.ask<submit_reply>(validator(), caf::make_message(tx_atom::value, wire(chain::encode(tx))));
    REQUIRE(r);
    INFO(r->text());
    REQUIRE(r->taken());
    REQUIRE(h.advance_until([&] { return account(i).nonce > before; }, 30s, 20ms));
  }
  channel_ack pay(caf::message m) {
    auto r = h.ask<channel_ack>(payee(), std::move(m));
    REQUIRE(r);
    return *r;
  }
  content_view content(const hash256& id) {
    auto r = h.ask<content_view>(validator(), caf::make_message(content_atom::value, wire(bytes(id.data.begin(), id.data.end()))));
    return r ? *r : content_view{};
  }
  channel_view channel(const hash256& id) {
    auto r = h.ask<channel_view>(validator(), caf::make_message(chan_atom::value, wire(bytes(id.data.begin(), id.data.end()))));
    return r ? *r : channel_view{};
  }
  channel_report report() {
    auto r = h.ask<channel_report>(payee(), caf::make_message(ch_status_atom::value));
    return r ? *r : channel_report{};
  }
};

} // namespace

TEST_CASE("a paid session survives the payee crash and the payer close is answered by a claim") {
  channel_fixture f;
  INFO(f.h.describe());
  // Content: node 2 vouches as a staked verifier for node 0's job.
  f.commit(2, chain::stake{chain::stake_role::verifier, amount{100}});
  chain::job_output out;
  out.job = "job-1";
  out.owner = f.key(0).id();
  out.outputs = {{"seg0-360p.ts", "bafkrei360", 4000}, {"seg0-720p.ts", "bafkrei720", 9000}};
  chain::sign(out, f.key(2), harness::chain_id());
  f.commit(0, chain::content_publish{out, amount{10}, chain::split_rule{}});
  auto content = chain::content_id(out);
  auto cv = f.content(content);
  CHECK(cv.found);
  CHECK(cv.creator == wire(bytes(f.key(0).id().data.begin(), f.key(0).id().data.end())));
  CHECK(cv.price_per_second == 10);
  CHECK(cv.creator_ppm == 700'000);
  CHECK(cv.outputs == 2);
  CHECK_FALSE(f.content(sha256::digest(as_bytes("nothing"))).found);

  // The channel: payer node 1 → payee node 3.
  auto open_nonce = f.account(1).nonce;
  f.commit(1, chain::channel_open{f.key(3).id(), amount{10'000}, f.height() + 500});
  auto ch = chain::channel_id(f.key(1).id(), open_nonce);
  REQUIRE(f.h.advance_until([&] { return f.report().channels.size() == 1; }, 30s, 20ms));

  chain::tick_chain ticks(sha256::digest(as_bytes("viewer seed")), 3'600);
  chain::lane_commit lane{ch, 1, content, ticks.top(), 3'600, amount{10}, {}};
  chain::sign(lane, f.key(1), harness::chain_id());
  auto tick = [&](std::uint32_t i, std::optional<hash256> w = std::nullopt) {
    return f.pay(caf::make_message(ch_tick_atom::value, wire(bytes(ch.data.begin(), ch.data.end())), 1u, i,
                                   wire(bytes((w ? *w : ticks.at(i)).data.begin(), (w ? *w : ticks.at(i)).data.end()))));
  };
  CHECK(tick(1).reason == "unknown_lane");
  REQUIRE(f.pay(caf::make_message(ch_lane_atom::value, wire(chain::encode(lane)))).ok);
  for (std::uint32_t i = 1; i <= 40; ++i) REQUIRE(tick(i).ok);
  CHECK(tick(41, ticks.at(42)).reason == "bad_tick");
  CHECK(tick(2'000).reason == "gap_too_large");
  CHECK(f.report().channels.at(0).owed == 400);

  // The payee crashes mid-session and comes back.
  f.h.crash(f.ns[3]);
  f.h.advance(2s);
  f.h.start(f.ns[3]);
  REQUIRE(f.h.advance_until([&] { return f.report().channels.size() == 1; }, 30s, 20ms));
  auto again = tick(40);
  CHECK(again.ok);
  CHECK(again.ticks == 40);
  CHECK(again.owed == 400); // acknowledged before the crash, not taken twice
  for (std::uint32_t i = 41; i <= 55; ++i) REQUIRE(tick(i).ok);
  // Many ticks in one message (as a gateway forwards them): answered one by one, in order.
  auto enc = [&](std::uint32_t i) {
    bytes_t t(ch.data.begin(), ch.data.end());
    append_u32_be(t, 1);
    append_u32_be(t, i);
    t.insert(t.end(), ticks.at(i).data.begin(), ticks.at(i).data.end());
    return t;
  };
  std::vector<bytes_t> batch{enc(56), enc(57), enc(57), bytes_t(71, 0), enc(58), enc(59), enc(60)};
  auto acks = f.h.ask<std::vector<channel_ack>>(f.payee(), caf::make_message(ch_ticks_atom::value, batch));
  REQUIRE(acks);
  REQUIRE(acks->size() == 7);
  CHECK((*acks)[2].ok); // a duplicate is answered like the first
  CHECK((*acks)[2].ticks == 57);
  CHECK((*acks)[3].reason == "bad_encoding");
  CHECK((*acks)[6].ticks == 60);
  CHECK((*acks)[6].owed == 600);

  // The payer starts closing; the role claims within the window.
  auto before = std::map<std::size_t, std::uint64_t>{};
  for (std::size_t i : {0, 1, 3}) before[i] = f.account(i).balance;
  auto treasury = f.status().treasury;
  auto supply = f.status().total_supply;
  f.commit(1, chain::channel_close{ch, {}});
  auto closed_at = f.height();
  REQUIRE(f.h.advance_until([&] { return f.report().claims_submitted >= 1 && f.report().pending == 0; }, 30s, 20ms));
  CHECK(f.height() < closed_at + 10);
  auto cw = f.channel(ch);
  REQUIRE(cw.found);
  CHECK(cw.closing_height > closed_at); // the close's block + 10
  CHECK(cw.closing_height <= closed_at + 10);
  CHECK(cw.paid == 600);
  REQUIRE(cw.lanes.size() == 1);
  CHECK(cw.lanes[0].lane == 1);
  CHECK(cw.lanes[0].ticks == 60);
  // After the window the payer collects the rest.
  REQUIRE(f.h.advance_until([&] { return f.height() >= closed_at + 11; }, 60s, 20ms));
  f.commit(1, chain::channel_collect{ch});
  // 60 ticks × 10 = 600: operators 60, platform 90 and treasury 30 (to the treasury), creator 420.
  CHECK(f.account(0).balance - before[0] == 420);
  CHECK(f.account(3).balance - before[3] == 60);
  CHECK(f.status().treasury - treasury == 120);
  CHECK(f.account(1).balance - before[1] == 10'000 - 600);
  CHECK(f.status().total_supply == supply);
  CHECK_FALSE(f.channel(ch).found); // collected: gone
  REQUIRE(f.h.advance_until([&] { return f.report().channels.empty(); }, 30s, 20ms));
}
