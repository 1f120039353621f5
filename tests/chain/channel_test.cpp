// Content and payment channels on the ledger (ledger_payments.cpp), deterministic:
// - publishing: only the owner of a job a staked verifier vouched for; the split's platform
//   and treasury shares at least the genesis ones; each content once;
// - a lane's ticks paid by the content's split, exactly (creator, payee as operator, platform
//   account, treasury), replays and stale states change nothing;
// - nothing is paid twice: lanes share one deposit (capped), a lane keeps its first
//   commitment, another channel's lane is refused, the payee alone claims;
// - closing: the payee at once; the payer's close opens the challenge window in which the
//   payee's best state still wins, then collect refunds; expiry refunds; the payer vanishing
//   costs the payee nothing it claimed in time;
// - supply is conserved after every transaction, over many seeded runs of many channels.
#include "chain_test_util.hpp"

#include "poe/chain/payments.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace poe;
using namespace poe::chain;
using chain::test::id;
using chain::test::key;
using chain::test::make_tx;

namespace {

// Keys: 10 creator (job owner), 11 payer, 12 payee, 13 the vouching verifier, 14 platform.
constexpr int creator = 10, payer = 11, payee = 12, vouching = 13, platform = 14;

struct world {
  ledger l = chain::test::small_ledger();
  std::map<int, std::uint64_t> nonce;
  std::uint64_t height = 1;
  node_id proposer = id(0);

  tx_status send(int from, tx_body body, std::uint64_t fee = 0) {
    auto tx = make_tx(from, nonce[from], std::move(body), amount{fee});
    auto st = l.apply(tx, height, proposer);
    if (st) ++nonce[from];
    REQUIRE(l.total_supply() == l.minted());
    return st;
  }
  amount balance(int who) const { return l.account_of(id(who)).balance; }
};

genesis payments_genesis(bool with_platform) {
  auto g = chain::test::small_genesis();
  g.params.channel_challenge_blocks = 5;
  g.params.max_tick_hashes = 1000;
  g.params.max_channel_lanes = 4;
  if (with_platform) g.params.platform_account = id(platform);
  return g;
}

world make_world(bool with_platform = true) {
  world w;
  auto l = ledger::from_genesis(payments_genesis(with_platform));
  REQUIRE(l);
  w.l = std::move(*l);
  REQUIRE(w.send(vouching, stake{stake_role::verifier, amount{100}}));
  return w;
}

job_output output_of(int owner, std::string job = "job-1", std::string cid = "bafkreiA") {
  job_output s;
  s.job = std::move(job);
  s.owner = id(owner);
  s.outputs = {{"seg0-240p.ts", cid, 1000}, {"seg0-720p.ts", cid + "7", 9000}};
  sign(s, key(vouching), chain::test::chain);
  return s;
}

hash256 publish(world& w) {
  auto s = output_of(creator);
  REQUIRE(w.send(creator, content_publish{s, amount{5}, split_rule{}}));
  return content_id(s);
}

hash256 open(world& w, std::uint64_t deposit, std::uint64_t expiry = 100) {
  auto n = w.nonce[payer];
  REQUIRE(w.send(payer, channel_open{id(payee), amount{deposit}, expiry}));
  return channel_id(id(payer), n);
}

struct lane {
  tick_chain chain;
  lane_commit commit;
  lane(const hash256& ch, std::uint32_t number, const hash256& content, std::uint64_t price = 5,
       std::uint32_t length = 500, int signer = payer)
      : chain(sha256::digest(as_bytes("seed-" + ch.hex() + std::to_string(number) + std::to_string(price))), length),
        commit{ch, number, content, chain.top(), length, amount{price}, {}} {
    sign(commit, key(signer), chain::test::chain);
  }
  lane_claim at(std::uint32_t i) const { return lane_claim{commit, std::nullopt, i, chain.at(i)}; }
  lane_claim with_voucher(std::uint32_t k, std::uint32_t i) const {
    voucher v{commit.channel, commit.lane, k, chain.at(k), {}};
    sign(v, key(payer), chain::test::chain);
    return lane_claim{commit, v, i, chain.at(i)};
  }
};

} // namespace

TEST_CASE("content is published by the owner of a job a staked verifier vouched for") {
  auto w = make_world();
  auto s = output_of(creator);
  CHECK(w.send(payer, content_publish{s, amount{5}, split_rule{}}).reason() == reject_reason::bad_statement);
  // Refused at admission too (a stateless check): a validator's mempool never takes it.
  auto foreign = make_tx(payer, 0, content_publish{s, amount{5}, split_rule{}}, amount{0});
  CHECK(check_transaction(foreign, chain::test::chain, 1 << 20).reason() == reject_reason::bad_statement);
  auto unsigned_ = s;
  unsigned_.signature.assign(64, 0);
  CHECK(w.send(creator, content_publish{unsigned_, amount{5}, split_rule{}}).reason() ==
        reject_reason::bad_statement);
  auto other = s;
  sign(other, key(payee), chain::test::chain); // no verifier stake
  CHECK(w.send(creator, content_publish{other, amount{5}, split_rule{}}).reason() ==
        reject_reason::bad_statement);
  CHECK(w.send(creator, content_publish{s, amount{5}, split_rule{800'000, 0, 150'000, 50'000}}));
  auto c = w.l.content_of(content_id(s));
  REQUIRE(c);
  CHECK(c->creator == id(creator));
  CHECK(c->verifier == id(vouching));
  CHECK(c->outputs == 2);
  CHECK(w.send(creator, content_publish{s, amount{9}, split_rule{}}).reason() ==
        reject_reason::content_exists);
  auto s2 = output_of(creator, "job-2", "bafkreiB");
  CHECK(w.send(creator, content_publish{s2, amount{5}, split_rule{750'000, 100'000, 100'000, 50'000}}).reason() ==
        reject_reason::bad_split); // platform below the genesis 15 %
  CHECK(w.send(creator, content_publish{s2, amount{5}, split_rule{700'000, 100'000, 150'000, 49'999}}).reason() ==
        reject_reason::bad_split);
}

TEST_CASE("ticks are paid by the content's split, exactly, and replays change nothing") {
  auto w = make_world();
  auto content = publish(w);
  auto ch = open(w, 10'000);
  CHECK(w.balance(payer) == amount{1'000'000 - 10'000});
  lane l(ch, 1, content);
  auto before = std::map<int, amount>{{creator, w.balance(creator)}, {payee, w.balance(payee)},
                                      {platform, w.balance(platform)}};
  auto treasury = w.l.treasury();
  REQUIRE(w.send(payee, channel_claim{ch, {l.at(30)}}));
  // 30 ticks × 5 = 150: operators 15, platform 22 (22.5), treasury 7 (7.5), creator 106.
  CHECK(w.balance(creator).units() - before[creator].units() == 106);
  CHECK(w.balance(payee).units() - before[payee].units() == 15);
  CHECK(w.balance(platform).units() - before[platform].units() == 22);
  CHECK(w.l.treasury().units() - treasury.units() == 7);
  CHECK(w.l.channel_of(ch)->paid == amount{150});
  CHECK(w.l.channel_of(ch)->escrow() == amount{10'000 - 150});

  auto root = w.l.state_root();
  REQUIRE(w.send(payee, channel_claim{ch, {l.at(30)}})); // the same state again
  REQUIRE(w.send(payee, channel_claim{ch, {l.at(12)}})); // an older one
  CHECK(w.l.channel_of(ch)->paid == amount{150});
  CHECK(w.balance(creator).units() - before[creator].units() == 106);
  CHECK(w.l.state_root() != root); // only the payee's nonce moved
  REQUIRE(w.send(payee, channel_claim{ch, {l.with_voucher(400, 410)}}));
  CHECK(w.l.channel_of(ch)->paid == amount{410 * 5});
  CHECK(w.l.channel_of(ch)->lanes.at(1).ticks == 410);
}

TEST_CASE("without a platform account the treasury keeps the platform's share") {
  auto w = make_world(false);
  auto content = publish(w);
  auto ch = open(w, 10'000);
  lane l(ch, 1, content);
  auto treasury = w.l.treasury();
  REQUIRE(w.send(payee, channel_claim{ch, {l.at(100)}}));
  CHECK(w.l.treasury().units() - treasury.units() == 75 + 25); // 15 % + 5 % of 500
}

TEST_CASE("nothing is paid twice: lanes share one deposit, lanes keep their commitment") {
  auto w = make_world();
  auto content = publish(w);
  auto ch = open(w, 1'000);
  lane a(ch, 1, content), b(ch, 2, content);
  REQUIRE(w.send(payee, channel_claim{ch, {a.at(150)}})); // 750
  auto creator_before = w.balance(creator);
  REQUIRE(w.send(payee, channel_claim{ch, {b.at(100)}})); // 500 promised, 250 left
  CHECK(w.l.channel_of(ch)->paid == amount{1'000});
  CHECK(w.l.channel_of(ch)->escrow() == amount{0});
  CHECK(w.balance(creator).units() - creator_before.units() == 176); // 250 - 25 - 37 - 12
  REQUIRE(w.send(payee, channel_claim{ch, {b.at(200)}}));           // nothing left to pay
  CHECK(w.l.channel_of(ch)->paid == amount{1'000});

  SECTION("a second commitment for a settled lane is refused") {
    lane a2(ch, 1, content, 50);
    CHECK(w.send(payee, channel_claim{ch, {a2.at(10)}}).reason() == reject_reason::bad_claim);
  }
  SECTION("another channel's lane, or another payer's signature, is refused") {
    auto ch2 = open(w, 1'000);
    CHECK(w.send(payee, channel_claim{ch2, {a.at(10)}}).reason() == reject_reason::bad_claim);
    lane forged(ch2, 1, content, 5, 500, payee);
    CHECK(w.send(payee, channel_claim{ch2, {forged.at(10)}}).reason() == reject_reason::bad_claim);
    lane bad_tick(ch2, 1, content);
    auto c = bad_tick.at(10);
    c.tick = bad_tick.chain.at(11);
    CHECK(w.send(payee, channel_claim{ch2, {c}}).reason() == reject_reason::bad_claim);
    lane unknown(ch2, 1, sha256::digest(as_bytes("nothing")));
    CHECK(w.send(payee, channel_claim{ch2, {unknown.at(10)}}).reason() == reject_reason::unknown_content);
    CHECK(w.send(creator, channel_claim{ch2, {bad_tick.at(10)}}).reason() == reject_reason::not_channel_party);
  }
  SECTION("a walk past max_tick_hashes needs a voucher; lanes are bounded") {
    auto ch2 = open(w, 100'000);
    lane c(ch2, 7, content, 1, 5'000);
    CHECK(w.send(payee, channel_claim{ch2, {c.at(1'001)}}).reason() == reject_reason::bad_claim);
    CHECK(w.send(payee, channel_claim{ch2, {c.with_voucher(3'000, 3'900)}}));
    for (std::uint32_t n = 8; n < 11; ++n) REQUIRE(w.send(payee, channel_claim{ch2, {lane(ch2, n, content).at(1)}}));
    CHECK(w.send(payee, channel_claim{ch2, {lane(ch2, 11, content).at(1)}}).reason() == reject_reason::bad_claim);
  }
  SECTION("one transaction's claims hash at most max_tick_hashes steps in all") {
    auto ch2 = open(w, 100'000);
    lane x(ch2, 1, content, 1, 5'000), y(ch2, 2, content, 1, 5'000);
    CHECK(w.send(payee, channel_claim{ch2, {x.at(600), y.at(600)}}).reason() == reject_reason::bad_claim);
    CHECK(w.send(payee, channel_close{ch2, {x.at(600), y.at(600)}}).reason() == reject_reason::bad_claim);
    CHECK(w.send(payee, channel_claim{ch2, {x.at(600), y.with_voucher(500, 900)}}));
  }
  SECTION("a refused claim changes nothing, even after good ones in the same transaction") {
    auto ch2 = open(w, 1'000);
    lane good(ch2, 1, content);
    auto root = w.l.state_root();
    auto bad = good.at(20);
    bad.tick = good.chain.at(3);
    CHECK(w.send(payee, channel_claim{ch2, {good.at(10), bad}}).reason() == reject_reason::bad_claim);
    CHECK(w.l.state_root() == root);
  }
}

TEST_CASE("a payer's close opens the challenge window, the payee's best state wins in it") {
  auto w = make_world();
  auto content = publish(w);
  auto ch = open(w, 1'000);
  lane l(ch, 1, content);
  w.height = 10;
  REQUIRE(w.send(payer, channel_close{ch, {}}));
  CHECK(w.l.channel_of(ch)->closing_height == 15);
  CHECK(w.send(payer, channel_close{ch, {}}).reason() == reject_reason::channel_closed);
  CHECK(w.send(payer, channel_topup{ch, amount{5}}).reason() == reject_reason::channel_closed);
  CHECK(w.send(payer, channel_collect{ch}).reason() == reject_reason::not_settled);
  w.height = 14; // the last block of the window
  REQUIRE(w.send(payee, channel_claim{ch, {l.at(40)}}));
  w.height = 15;
  CHECK(w.send(payee, channel_claim{ch, {l.at(60)}}).reason() == reject_reason::channel_closed);
  auto before = w.balance(payer);
  REQUIRE(w.send(creator, channel_collect{ch})); // anyone may collect; the payer gets the rest
  CHECK(w.balance(payer).units() - before.units() == 1'000 - 200);
  CHECK_FALSE(w.l.channel_of(ch));
  CHECK(w.send(payer, channel_collect{ch}).reason() == reject_reason::unknown_channel);
}

TEST_CASE("the payee closes at once with its best state, expiry refunds the rest") {
  auto w = make_world();
  auto content = publish(w);
  auto ch = open(w, 1'000, 50);
  lane l(ch, 1, content);
  auto before = w.balance(payer);
  REQUIRE(w.send(payee, channel_close{ch, {l.at(20)}}));
  CHECK(w.balance(payer).units() - before.units() == 900);
  CHECK_FALSE(w.l.channel_of(ch));

  SECTION("the payer vanishes: the payee's claims stand, expiry returns the rest") {
    auto ch2 = open(w, 1'000, 50);
    lane m(ch2, 1, content);
    w.height = 30;
    REQUIRE(w.send(payee, channel_claim{ch2, {m.at(10)}}));
    CHECK(w.send(creator, channel_collect{ch2}).reason() == reject_reason::not_settled);
    w.height = 50;
    CHECK(w.send(payee, channel_claim{ch2, {m.at(20)}}).reason() == reject_reason::channel_closed);
    auto b = w.balance(payer);
    REQUIRE(w.send(payee, channel_collect{ch2}));
    CHECK(w.balance(payer).units() - b.units() == 950);
  }
  SECTION("opening checks payee, deposit and expiry; topping up is the payer's") {
    CHECK(w.send(payer, channel_open{id(payee), amount{10}, w.height + 5}).reason() == reject_reason::bad_expiry);
    CHECK(w.send(payer, channel_open{id(payer), amount{10}, 100}).reason() == reject_reason::self_transfer);
    CHECK(w.send(payer, channel_open{id(payee), amount{0}, 100}).reason() == reject_reason::zero_amount);
    CHECK(w.send(payer, channel_open{id(payee), amount{2'000'000}, 100}).reason() ==
          reject_reason::insufficient_funds);
    auto ch3 = open(w, 100);
    CHECK(w.send(payee, channel_topup{ch3, amount{5}}).reason() == reject_reason::not_channel_party);
    REQUIRE(w.send(payer, channel_topup{ch3, amount{5}}));
    CHECK(w.l.channel_of(ch3)->deposit == amount{105});
    CHECK(w.send(creator, channel_close{ch3, {}}).reason() == reject_reason::not_channel_party);
  }
}

TEST_CASE("supply is conserved and payouts add up over many seeded runs of many channels") {
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    INFO("seed " << seed);
    auto w = make_world(seed % 2 == 0);
    auto content = publish(w);
    std::mt19937_64 rng(seed);
    std::vector<hash256> chans;
    std::map<std::pair<int, std::uint32_t>, std::unique_ptr<lane>> lanes;
    std::map<std::pair<int, std::uint32_t>, std::uint32_t> best;
    for (int step = 0; step < 120; ++step) {
      w.height += rng() % 3;
      auto pick = rng() % 10;
      if (chans.empty() || pick == 0) {
        chans.push_back(open(w, 100 + rng() % 5'000, w.height + 10 + rng() % 60));
        continue;
      }
      int c = static_cast<int>(rng() % chans.size());
      auto ch = chans[c];
      if (!w.l.channel_of(ch)) continue;
      std::uint32_t ln = static_cast<std::uint32_t>(rng() % 3);
      auto& lp = lanes[{c, ln}];
      if (!lp) lp = std::make_unique<lane>(ch, ln, content, 1 + rng() % 9, 800);
      auto i = static_cast<std::uint32_t>(rng() % 800);
      switch (pick) {
      case 1: (void)w.send(payer, channel_topup{ch, amount{1 + rng() % 100}}); break;
      case 2: (void)w.send(payer, channel_close{ch, {}}); break;
      case 3: (void)w.send(payee, channel_close{ch, {lp->at(i)}}); break;
      case 4: (void)w.send(creator, channel_collect{ch}); break;
      default: {
        auto before = w.l.channel_of(ch)->paid;
        if (w.send(payee, channel_claim{ch, {lp->at(i)}}) && w.l.channel_of(ch)) {
          auto after = w.l.channel_of(ch);
          REQUIRE(after->paid >= before);
          REQUIRE(after->paid <= after->deposit);
          best[{c, ln}] = std::max(best[{c, ln}], i);
          REQUIRE(after->lanes.at(ln).ticks == best[{c, ln}]);
        }
      }
      }
    }
    REQUIRE(w.l.total_supply() == w.l.minted());
  }
}
