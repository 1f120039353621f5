// The mempool and making/checking blocks against the ledger.
//
// Scenarios:
//  1. The mempool refuses, each with its reason: a bad signature, another chain, a replay
//     (stale nonce), a nonce too far ahead, insufficient funds, a duplicate, a full pool;
//     while it holds a few blocks' worth it refuses before verifying (backpressure).
//  2. Selection takes consecutive nonces per sender, highest fee first, only what applies,
//     and never more than asked; pruning after a block drops what was included.
//  3. A built block validates on every other validator's copy of the state and executes to
//     its header's state root.
//  4. A block whose state root is wrong, which includes a transaction that does not apply
//     (a replay), or one with a broken signature is refused with the reason.
//  5. Timestamps: a block is never older than its parent; a chain of blocks links by id.
#include "chain_test_util.hpp"
#include "poe/chain/mempool.hpp"
#include "poe/chain/producer.hpp"

#include <catch2/catch.hpp>

using namespace poe;
using namespace poe::chain;
using namespace poe::chain::test;

TEST_CASE("the mempool refuses bad transactions with their reason") {
  auto state = small_ledger();
  mempool pool(test::chain, {100, 2, 8});
  auto expect = [&](const transaction& tx, reject_reason r, const ledger* at = nullptr) {
    auto st = pool.add(tx, at ? *at : state);
    INFO(st.text());
    REQUIRE_FALSE(st);
    CHECK(st.reason() == r);
  };
  auto ok = pay(10, 0, id(11), 5);
  REQUIRE(pool.add(ok, state));
  expect(ok, reject_reason::duplicate);
  auto forged = pay(10, 1, id(11), 5);
  forged.signature[3] ^= 1;
  expect(forged, reject_reason::bad_signature);
  expect(make_tx(10, 1, transfer{id(11), amount{5}}, amount{0}, "other-chain"),
         reject_reason::wrong_chain);
  expect(pay(10, 9, id(11), 5), reject_reason::bad_nonce);
  expect(pay(10, 1, id(11), 2'000'000), reject_reason::insufficient_funds);
  // The refusal names value and fee as given, also when their sum overflows (it said
  // "value + fee 18446744073709551615" before).
  CHECK(pool.add(pay(10, 1, id(11), 2'000'000, 3), state).text().find("does not cover value 2000000 + fee 3 = 2000003") !=
        std::string::npos);
  CHECK(pool.add(pay(10, 1, id(11), UINT64_MAX, 3), state).text().find(
          "does not cover value 18446744073709551615 + fee 3 (more than 2^64 - 1)") != std::string::npos);
  REQUIRE(pool.add(pay(10, 1, id(11), 5), state));
  expect(pay(10, 2, id(11), 5), reject_reason::mempool_full); // 2 per sender
  // A replay once the first is in a block.
  auto after = state;
  REQUIRE(after.apply(ok, 1, id(0)));
  pool.prune(after);
  CHECK(pool.size() == 1);
  expect(ok, reject_reason::stale_nonce, &after);
}

TEST_CASE("the mempool refuses before verifying while it holds a few blocks' worth") {
  auto g = small_genesis();
  g.params.max_block_txs = 2;
  auto l = ledger::from_genesis(g);
  REQUIRE(l);
  auto state = std::move(*l);
  mempool pool(test::chain, {100, 64, 64, 3}); // 3 blocks of 2: six pending at most
  for (std::uint64_t n = 0; n < 6; ++n)
    REQUIRE(pool.add(pay(10, n, id(11), 5), state));
  auto next = pay(11, 0, id(10), 5);
  auto st = pool.add(next, state);
  REQUIRE_FALSE(st);
  CHECK(st.reason() == reject_reason::mempool_full);
  CHECK(st.message().find("3 blocks' worth") != std::string::npos);
  // Refused before the signature is checked: a forged one gets the same answer, not
  // bad_signature (no verification is spent on it).
  auto forged = next;
  forged.signature[5] ^= 1;
  auto fst = pool.add(forged, state);
  REQUIRE_FALSE(fst);
  CHECK(fst.reason() == reject_reason::mempool_full);
  // A block drains two: the pool admits again, and checks signatures again.
  auto picked = pool.select(state, 1, id(0), g.params.max_block_txs);
  REQUIRE(picked.size() == 2);
  auto b = build_block(state, {}, picked, id(0), 0, 1000);
  auto after = execute_block(state, b);
  REQUIRE(after);
  pool.prune(*after);
  CHECK(pool.size() == 4);
  auto fst2 = pool.add(forged, *after);
  REQUIRE_FALSE(fst2);
  CHECK(fst2.reason() == reject_reason::bad_signature);
  CHECK(pool.add(next, *after));
}

TEST_CASE("selection takes runs of nonces by fee and only what applies") {
  auto state = small_ledger();
  mempool pool(test::chain);
  REQUIRE(pool.add(pay(10, 0, id(11), 5, 1), state));
  REQUIRE(pool.add(pay(10, 1, id(11), 5, 1), state));
  REQUIRE(pool.add(pay(10, 3, id(11), 5, 9), state)); // gap: not selectable yet
  REQUIRE(pool.add(pay(12, 0, id(11), 5, 7), state));
  REQUIRE(pool.add(pay(13, 0, id(11), 999'990, 5), state));
  REQUIRE(pool.add(pay(13, 1, id(11), 999'990, 5), state)); // cannot apply after the first
  auto picked = pool.select(state, 1, id(0), 10);
  REQUIRE(picked.size() == 4);
  CHECK(*sender_of(picked[0]) == id(12)); // fee 7
  CHECK(*sender_of(picked[1]) == id(13)); // fee 5
  CHECK(*sender_of(picked[2]) == id(10));
  CHECK(picked[2].nonce == 0);
  CHECK(picked[3].nonce == 1);
  CHECK(pool.select(state, 1, id(0), 2).size() == 2);
  auto b = build_block(state, {}, picked, id(0), 0, 1000);
  auto next = execute_block(state, b);
  REQUIRE(next);
  pool.prune(*next);
  CHECK(pool.size() == 2); // nonce 3 of key 10 and nonce 1 of key 13 remain
}

TEST_CASE("the next nonce of a sender counts its pending transactions") {
  // Two transfers in a row without an explicit nonce: the second must not reuse the first's.
  auto state = small_ledger();
  mempool pool(test::chain);
  CHECK(pool.next_nonce(id(10), state) == 0);
  REQUIRE(pool.add(pay(10, 0, id(11), 5), state));
  CHECK(pool.next_nonce(id(10), state) == 1);
  REQUIRE(pool.add(pay(10, 1, id(11), 5), state));
  REQUIRE(pool.add(pay(10, 3, id(11), 5), state)); // after a gap: not counted
  CHECK(pool.next_nonce(id(10), state) == 2);
  CHECK(pool.next_nonce(id(12), state) == 0); // other senders untouched
  auto after = state;
  REQUIRE(after.apply(pay(10, 0, id(11), 5), 1, id(0)));
  pool.prune(after);
  CHECK(pool.next_nonce(id(10), after) == 2);
}

TEST_CASE("a built block validates and executes to its state root") {
  auto state = small_ledger();
  std::vector<transaction> txs{pay(10, 0, id(11), 100, 2), pay(11, 0, id(12), 50, 1),
                               make_tx(12, 0, stake{stake_role::executor, amount{500}})};
  chain_tip genesis_tip;
  auto b = build_block(state, genesis_tip, txs, id(1), 0, 5000);
  CHECK(b.transactions.size() == 3);
  CHECK(validate_block(state, genesis_tip, b, 5000));
  auto wire = encode(b);
  auto decoded = decode_block(wire);
  REQUIRE(decoded);
  auto next = execute_block(state, *decoded);
  REQUIRE(next);
  CHECK(next->state_root() == b.header.state_root);
  CHECK(next->account_of(id(1)).balance == amount{3}); // fees to the proposer
  CHECK(next->stake_of(id(12), stake_role::executor) == amount{500});
  // The next block links to it.
  auto tip = tip_of(b);
  auto b2 = build_block(*next, tip, {pay(10, 1, id(13), 1)}, id(2), 0, 5000);
  CHECK(b2.header.parent == block_id(b));
  CHECK(b2.header.timestamp_ms == 5001); // never older than its parent
  CHECK(validate_block(*next, tip, b2, 5001));
}

TEST_CASE("a block commits to the validator set that seals the next one") {
  auto state = small_ledger();
  chain_tip tip;
  auto genesis_set = state.validator_set();
  auto b = build_block(state, tip, {pay(10, 0, id(11), 1)}, id(1), 0, 1000);
  CHECK(b.header.validators_root == validators_root(genesis_set)); // unchanged
  auto next = execute_block(state, b);
  REQUIRE(next);
  // Account 12 stakes as a validator: the block after which it joins commits to the new set.
  auto joins = make_tx(12, 0, stake{stake_role::validator, amount{1'000}}, amount{1});
  auto b2 = build_block(*next, tip_of(b), {joins}, id(1), 0, 2000);
  REQUIRE(b2.transactions.size() == 1);
  auto after = execute_block(*next, b2);
  REQUIRE(after);
  auto set = after->validator_set();
  CHECK(set.size() == genesis_set.size() + 1);
  CHECK(b2.header.validators_root == validators_root(set));
  CHECK(b2.header.validators_root != b.header.validators_root);
  // A header that names another set is refused by every validator that executes it.
  auto lying = b2;
  lying.header.validators_root = b.header.validators_root;
  auto st = validate_block(*next, tip_of(b), lying, 2000);
  REQUIRE_FALSE(st);
  CHECK(st.err().message.find("bad_validators_root") != std::string::npos);
  // The root covers ids, stakes and keys: each changes it.
  auto other = set;
  other.back().stake = amount{other.back().stake.units() + 1};
  CHECK(validators_root(other) != validators_root(set));
}

TEST_CASE("blocks with a wrong state root or a bad transaction are refused") {
  auto state = small_ledger();
  chain_tip tip;
  auto tx = pay(10, 0, id(11), 100);
  auto b = build_block(state, tip, {tx}, id(1), 0, 1000);
  REQUIRE(validate_block(state, tip, b, 1000));

  auto wrong_root = b;
  wrong_root.header.state_root.data[0] ^= 1;
  auto st = validate_block(state, tip, wrong_root, 1000);
  REQUIRE_FALSE(st);
  CHECK(st.err().message.find("bad_state_root") != std::string::npos);

  auto replay = b;
  replay.transactions.push_back(encode(tx)); // the same transaction twice
  seal_roots(replay);
  auto st2 = validate_block(state, tip, replay, 1000);
  REQUIRE_FALSE(st2);
  CHECK(st2.err().message.find("transaction 1: stale_nonce") != std::string::npos);

  auto forged_tx = tx;
  forged_tx.signature[0] ^= 1;
  auto forged = b;
  forged.transactions = {encode(forged_tx)};
  seal_roots(forged);
  auto st3 = validate_block(state, tip, forged, 1000);
  REQUIRE_FALSE(st3);
  CHECK(st3.err().message.find("transaction 0: bad_signature") != std::string::npos);

  auto garbage = b;
  garbage.transactions = {bytes{1, 2, 3}};
  seal_roots(garbage);
  auto st4 = validate_block(state, tip, garbage, 1000);
  REQUIRE_FALSE(st4);
  CHECK(st4.err().message.find("transaction 0: bad_encoding") != std::string::npos);

  auto ahead = build_block(state, tip, {tx}, id(1), 0, 10'000);
  auto st5 = validate_block(state, tip, ahead, 1000);
  REQUIRE_FALSE(st5);
  CHECK(st5.err().message == "timestamp_in_future");
}
