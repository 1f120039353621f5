// Paid work on the ledger (ledger_payments.cpp, job_fund / job_pay / job_close),
// deterministic:
// - funding escrows the fee once per (verifier, job); the verifier must be staked; expiry after
//   inclusion;
// - only the escrow's verifier pays, below expiry; each task once (across transactions and
//   within one); the executor must be staked; each payment min(work × price, rest), the
//   verifier's ppm share by floor, the executor the remainder;
// - closing refunds the rest to the funder: the verifier at any time, the funder only from
//   expiry on, nobody else;
// - supply is conserved after every transaction, over seeded runs of many escrows.
#include "chain_test_util.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace poe;
using namespace poe::chain;
using chain::test::id;
using chain::test::make_tx;

namespace {

// Keys: 10 funder (the job's owner), 11 and 12 executors, 13 the vfy.
constexpr int funder = 10, exec_a = 11, exec_b = 12, vfy = 13; // vfy: the verifier

struct world {
  ledger l = chain::test::small_ledger();
  std::map<int, std::uint64_t> nonce;
  std::uint64_t height = 1;
  node_id proposer = id(0);

  tx_status send(int from, tx_body body) {
    auto tx = make_tx(from, nonce[from], std::move(body), amount{0});
    auto st = l.apply(tx, height, proposer);
    if (st) ++nonce[from];
    REQUIRE(l.total_supply() == l.minted());
    return st;
  }
  amount balance(int who) const { return l.account_of(id(who)).balance; }
};

world make_world() {
  world w;
  REQUIRE(w.send(vfy, stake{stake_role::verifier, amount{100}}));
  REQUIRE(w.send(exec_a, stake{stake_role::executor, amount{100}}));
  REQUIRE(w.send(exec_b, stake{stake_role::executor, amount{100}}));
  return w;
}

hash256 fund(world& w, std::uint64_t max_fee, std::uint64_t price = 3, std::uint32_t ppm = 100'000,
             std::uint64_t expiry = 50, const std::string& job = "1700000000000-0") {
  REQUIRE(w.send(funder, job_fund{id(vfy), job, amount{max_fee}, amount{price}, ppm, expiry}));
  return job_escrow_id(id(vfy), job);
}

} // namespace

TEST_CASE("job escrow: funding takes the fee once per job, for a staked verifier") {
  auto w = make_world();
  auto before = w.balance(funder);
  auto e = fund(w, 1'000);
  CHECK(w.balance(funder).units() == before.units() - 1'000);
  auto r = w.l.job_escrow_of(e);
  REQUIRE(r);
  CHECK(r->funder == id(funder));
  CHECK(r->rest() == amount{1'000});
  CHECK(w.l.escrowed() == amount{1'000});
  CHECK(w.send(funder, job_fund{id(vfy), "1700000000000-0", amount{5}, amount{1}, 0, 50}).reason() ==
        reject_reason::escrow_exists);
  CHECK(w.send(funder, job_fund{id(exec_a), "j2", amount{5}, amount{1}, 0, 50}).reason() ==
        reject_reason::not_escrow_party);
  CHECK(w.send(funder, job_fund{id(vfy), "j3", amount{5}, amount{1}, 0, 1}).reason() == reject_reason::bad_expiry);
  CHECK(w.send(funder, job_fund{id(vfy), "j4", amount{2'000'000}, amount{1}, 0, 50}).reason() ==
        reject_reason::insufficient_funds);
}

TEST_CASE("job escrow: the verifier pays verified tasks by work units, its share by floor") {
  auto w = make_world();
  auto e = fund(w, 1'000, 3, 100'000);
  auto a0 = w.balance(exec_a), b0 = w.balance(exec_b), v0 = w.balance(vfy);
  // task 0: 7 units × 3 = 21 → vfy floor(2.1) = 2, executor 19; task 1: 10 × 3 = 30 → 3 / 27.
  REQUIRE(w.send(vfy, job_pay{e, {task_payment{0, id(exec_a), 7}, task_payment{1, id(exec_b), 10}}}));
  CHECK(w.balance(exec_a).units() - a0.units() == 19);
  CHECK(w.balance(exec_b).units() - b0.units() == 27);
  CHECK(w.balance(vfy).units() - v0.units() == 5);
  CHECK(w.l.job_escrow_of(e)->rest() == amount{1'000 - 51});
  auto flow = [&](int who, flow_kind k) { return w.l.flows_of(id(who))[static_cast<std::size_t>(k)]; };
  CHECK(flow(exec_a, flow_kind::job_executor) == 19);
  CHECK(flow(vfy, flow_kind::job_verifier) == 5);
  CHECK(w.l.block_flows()[static_cast<std::size_t>(flow_kind::job_executor)] == 19 + 27);

  SECTION("each task once: a replayed task, in another transaction or twice in one") {
    CHECK(w.send(vfy, job_pay{e, {task_payment{1, id(exec_a), 10}}}).reason() == reject_reason::task_paid);
    CHECK(w.send(vfy, job_pay{e, {task_payment{2, id(exec_a), 1}, task_payment{0, id(exec_a), 1}}}).reason() ==
          reject_reason::task_paid);
    CHECK(w.l.job_escrow_of(e)->tasks_paid == std::set<std::uint32_t>{0, 1}); // the refused one changed nothing
    transaction twice = make_tx(vfy, w.nonce[vfy],
                                job_pay{e, {task_payment{5, id(exec_a), 1}, task_payment{5, id(exec_b), 1}}});
    CHECK(check_transaction(twice, chain::test::chain, 65536).reason() == reject_reason::task_paid);
  }
  SECTION("only the verifier pays, only to staked executors, only before expiry") {
    CHECK(w.send(funder, job_pay{e, {task_payment{2, id(exec_a), 1}}}).reason() == reject_reason::not_escrow_party);
    CHECK(w.send(exec_a, job_pay{e, {task_payment{2, id(exec_a), 1}}}).reason() == reject_reason::not_escrow_party);
    CHECK(w.send(vfy, job_pay{e, {task_payment{2, id(funder), 1}}}).reason() == reject_reason::not_executor);
    CHECK(w.send(vfy, job_pay{hash256{}, {task_payment{2, id(exec_a), 1}}}).reason() ==
          reject_reason::unknown_escrow);
    w.height = 50;
    CHECK(w.send(vfy, job_pay{e, {task_payment{2, id(exec_a), 1}}}).reason() == reject_reason::escrow_expired);
  }
  SECTION("payments stop at the fee: the last is capped, later ones are 0 (and still count)") {
    auto a1 = w.balance(exec_a);
    REQUIRE(w.send(vfy, job_pay{e, {task_payment{2, id(exec_a), 1'000}, task_payment{3, id(exec_a), 5}}}));
    CHECK(w.l.job_escrow_of(e)->rest() == amount{0});
    // 949 capped: vfy floor(94.9) = 94, executor 855.
    CHECK(w.balance(exec_a).units() - a1.units() == 855);
    CHECK(w.l.job_escrow_of(e)->tasks_paid.size() == 4);
    // An overflowing work × price is capped the same way (nothing left: 0).
    REQUIRE(w.send(vfy, job_pay{e, {task_payment{4, id(exec_a), ~0ull}}}));
  }
}

TEST_CASE("job escrow: closing refunds the rest to the funder, and who may close when") {
  auto w = make_world();
  auto e = fund(w, 1'000, 1, 0, 20);
  REQUIRE(w.send(vfy, job_pay{e, {task_payment{0, id(exec_a), 100}}}));
  auto f0 = w.balance(funder);
  CHECK(w.send(funder, job_close{e}).reason() == reject_reason::not_settled);
  CHECK(w.send(exec_a, job_close{e}).reason() == reject_reason::not_escrow_party);

  SECTION("the verifier closes when its job is done") {
    REQUIRE(w.send(vfy, job_close{e}));
  }
  SECTION("the funder closes at expiry (a verifier that vanished)") {
    w.height = 20;
    CHECK(w.send(vfy, job_pay{e, {task_payment{1, id(exec_a), 1}}}).reason() == reject_reason::escrow_expired);
    REQUIRE(w.send(funder, job_close{e}));
  }
  CHECK(w.balance(funder).units() - f0.units() == 900);
  CHECK(!w.l.job_escrow_of(e));
  CHECK(w.l.escrowed() == amount{0});
  CHECK(w.send(vfy, job_close{e}).reason() == reject_reason::unknown_escrow);
}

TEST_CASE("job escrow: the state root commits to escrows and their paid tasks") {
  auto w = make_world();
  auto empty = w.l.state_root();
  auto e = fund(w, 1'000);
  auto funded = w.l.state_root();
  CHECK(funded != empty);
  REQUIRE(w.send(vfy, job_pay{e, {task_payment{9, id(exec_a), 1}}}));
  CHECK(w.l.state_root() != funded);
  auto leaves = w.l.state_leaves();
  auto leaf = std::find_if(leaves.begin(), leaves.end(), [](const bytes& l) { return l[0] == 0x0B; });
  REQUIRE(leaf != leaves.end());
  // 1 + 32 × 3 + 8 × 3 + 4 + 8 + 4 + one task × 4
  CHECK(leaf->size() == 1 + 96 + 24 + 4 + 8 + 4 + 4);
  CHECK(get_u32_be(leaf->data() + leaf->size() - 4) == 9);
}

TEST_CASE("job escrow: supply conserved over seeded runs of many escrows") {
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    auto w = make_world();
    std::mt19937_64 rng(seed);
    std::vector<hash256> escrows;
    for (int step = 0; step < 400; ++step) {
      w.height = 1 + step / 4;
      switch (rng() % 5) {
      case 0: {
        auto job = "job-" + std::to_string(step);
        if (w.send(funder, job_fund{id(vfy), job, amount{rng() % 5'000}, amount{1 + rng() % 9},
                                    static_cast<std::uint32_t>(rng() % 1'000'001), w.height + 1 + rng() % 40}))
          escrows.push_back(job_escrow_id(id(vfy), job));
        break;
      }
      case 1:
      case 2:
        if (!escrows.empty()) {
          std::vector<task_payment> ts;
          for (int i = 0, n = 1 + static_cast<int>(rng() % 5); i < n; ++i)
            ts.push_back({static_cast<std::uint32_t>(rng() % 30), id(rng() % 2 ? exec_a : exec_b), rng() % 200});
          (void)w.send(vfy, job_pay{escrows[rng() % escrows.size()], ts});
        }
        break;
      case 3:
        if (!escrows.empty()) (void)w.send(rng() % 2 ? funder : vfy, job_close{escrows[rng() % escrows.size()]});
        break;
      default:
        (void)w.send(funder, transfer{id(exec_a), amount{1 + rng() % 10}});
      }
    }
    amount rest;
    for (auto& [id, e] : w.l.job_escrows()) rest = amount{rest.units() + e.rest().units()};
    CHECK(w.l.escrowed() == rest);
  }
}
