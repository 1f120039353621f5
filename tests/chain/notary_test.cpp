// The notarization layer's pure rules (poe/chain/notary.hpp):
//  1. The log book's compact range gives RFC 6962's root for every size, and survives encoding.
//  2. PoE entries: encoding round trip; a forged signature, a LogBlock of another BPI, a wrong
//     execution hash, times out of order are refused.
//  3. Rent: the quote is base + complexity + storage (KiB rounded up), overflow refused; the
//     split always adds up; shares by weight add up with the remainder to the named one.
//  4. The auction takes the maximum bid, breaks ties deterministically, refuses replays, bids
//     of other heights and chains, forged and lowered bids; a reveal must match the hash.
//  5. Complaints: round trip, signature, ordering; the tracker's due headers respect log-book
//     order and N.
//  6. The proposer's auction round: the best reachable bid is asked first; a wrong bundle or
//     none in time (withheld-bid evidence, once) passes to the next best; with none left the
//     proposal has no bundle; bids of another height are never asked.
#include "chain_test_util.hpp"

#include "poe/chain/inclusion.hpp"
#include "poe/chain/notary.hpp"
#include "poe/core/merkle.hpp"

#include <catch2/catch.hpp>

using namespace poe;
using namespace poe::chain;
using poe::chain::test::id;
using poe::chain::test::key;
static const std::string& chain_name = poe::chain::test::chain;

namespace {

hash256 h(const std::string& s) { return sha256::digest(as_bytes(s)); }

/// LogBlock `seq` of key `k`'s BPI, chained to `prev`, and its signed entry.
poe_entry make_entry(int k, std::uint64_t seq, const hash256& prev, const hash256& book_root,
                     std::uint64_t rent = 1000, std::uint64_t units = 10) {
  poe_entry e;
  e.book_block.bpi = id(k);
  e.book_block.sequence = seq;
  e.book_block.prev = prev;
  e.book_block.receipts_root = h("receipts" + std::to_string(seq));
  e.book_block.receipt_count = 3;
  e.book_block.first_ms = 1000 + seq;
  e.book_block.last_ms = 2000 + seq;
  e.book_block.work_units = units;
  e.book_block.result_bytes = 5000;
  e.header.logbook_root = book_root;
  e.header.execution_hash = log_block_id(e.book_block);
  e.header.timestamp = 3000 + seq;
  e.header.rent_payment = rent;
  sign_header(e.header, key(k), chain_name);
  return e;
}

} // namespace

TEST_CASE("the log book's compact range is RFC 6962's root at every size") {
  log_book book;
  std::vector<hash256> leaves;
  CHECK(book.root() == merkle::empty_root());
  for (int i = 0; i < 70; ++i) {
    auto id = h("logblock" + std::to_string(i));
    auto predicted = book.root_with(id);
    book.append(id);
    leaves.push_back(merkle::leaf_hash(id.view()));
    REQUIRE(book.root() == merkle::root(leaves));
    CHECK(predicted == book.root());
    CHECK(book.last() == id);
    auto back = log_book::decode(book.encode());
    REQUIRE(back);
    CHECK(*back == book);
  }
  CHECK(book.size() == 70);
  auto bytes_ = book.encode();
  bytes_.push_back(0);
  CHECK_FALSE(log_book::decode(bytes_));
  bytes_.pop_back();
  bytes_[7] ^= 1; // size 71: three subtrees claimed by popcount, two stored
  CHECK_FALSE(log_book::decode(bytes_));
}

TEST_CASE("PoE entries round-trip and are checked") {
  auto e = make_entry(1, 0, {}, h("root"));
  auto back = decode_poe_entry(encode(e));
  REQUIRE(back);
  CHECK(*back == e);
  CHECK(entry_id(e) == header_id(e.header));
  CHECK(check_entry(e, key(1).pub(), chain_name));
  CHECK_FALSE(check_entry(e, key(2).pub(), chain_name));  // not the BPI's key
  CHECK_FALSE(check_entry(e, key(1).pub(), "other")); // another chain_name's domain
  auto other_bpi = e;
  other_bpi.book_block.bpi = id(2);
  CHECK_FALSE(check_entry(other_bpi, key(1).pub(), chain_name));
  auto changed = e;
  changed.book_block.work_units = 1; // cheaper rent, but no longer what was signed
  CHECK_FALSE(check_entry(changed, key(1).pub(), chain_name));
  auto late = make_entry(1, 0, {}, h("root"));
  late.book_block.last_ms = late.header.timestamp + 1;
  late.header.execution_hash = log_block_id(late.book_block);
  sign_header(late.header, key(1), chain_name);
  CHECK_FALSE(check_entry(late, key(1).pub(), chain_name));
  auto raw = encode(e);
  raw.pop_back();
  CHECK_FALSE(decode_poe_entry(raw));
}

TEST_CASE("rent: quote, split and shares are integers that add up") {
  rent_params p;
  log_block b;
  b.work_units = 90;
  b.result_bytes = 2049; // 3 KiB, rounded up
  auto q = rent_quote(p, b);
  REQUIRE(q);
  CHECK(q->units() == 100 + 90 + 3);
  b.work_units = ~std::uint64_t{0};
  p.rent_per_work_unit = amount{2};
  CHECK_FALSE(rent_quote(p, b));
  rent_params d;
  for (std::uint64_t total : {0ull, 1ull, 7ull, 999ull, 1'000'003ull, 18'446'744'073'709'551'615ull}) {
    auto s = split_rent(d, amount{total});
    CHECK(s.validators.units() + s.slashing.units() + s.treasury.units() == total);
  }
  CHECK(split_rent(d, amount{1000}) == rent_split{amount{700}, amount{100}, amount{200}});
  std::map<node_id, amount> w{{id(1), amount{1}}, {id(2), amount{1}}, {id(3), amount{1}}};
  auto shares = share_by_weight(w, amount{100}, id(2));
  CHECK(shares[id(1)].units() == 33);
  CHECK(shares[id(2)].units() == 34);
  CHECK(shares[id(3)].units() == 33);
}

TEST_CASE("the auction takes the highest valid bid and refuses replays") {
  auto bid = [](int k, std::uint64_t height, std::uint64_t value, const std::string& bundle) {
    builder_bid b;
    b.chain_id = chain_name;
    b.height = height;
    b.bundle_hash = h(bundle);
    b.value = amount{value};
    sign(b, key(k));
    return b;
  };
  auction a(chain_name, 10);
  CHECK(a.offer(bid(1, 10, 50, "x")));
  CHECK(a.offer(bid(2, 10, 80, "y")));
  CHECK(a.offer(bid(3, 10, 70, "z")));
  CHECK(a.best()->value.units() == 80);
  CHECK(a.best({id(2)})->value.units() == 70);
  // Replays: the same bid again, an old height, another chain_name; a forged and a lowered bid.
  auto b1 = bid(1, 10, 90, "x2");
  CHECK(a.offer(b1));
  CHECK_FALSE(a.offer(b1));
  CHECK_FALSE(a.offer(bid(1, 9, 500, "old")));
  auto foreign = bid(1, 10, 500, "f");
  foreign.chain_id = "other";
  CHECK_FALSE(a.offer(foreign));
  auto forged = bid(3, 10, 500, "forged");
  forged.value = amount{501};
  CHECK_FALSE(a.offer(forged));
  CHECK_FALSE(a.offer(bid(1, 10, 60, "lower")));
  CHECK_FALSE(a.offer(bid(4, 10, 0, "zero")));
  CHECK(a.best()->value.units() == 90);
  // Ties go to the smaller bundle hash, then the smaller builder id: the same for everyone.
  auction t(chain_name, 11);
  auto p = bid(5, 11, 40, "p"), q = bid(6, 11, 40, "q");
  REQUIRE(t.offer(p));
  REQUIRE(t.offer(q));
  CHECK(t.best()->bundle_hash == std::min(p.bundle_hash, q.bundle_hash));
  auto back = decode_builder_bid(encode(p));
  REQUIRE(back);
  CHECK(*back == p);
  // The reveal must hash to the bid's bundle hash.
  std::vector<bytes> entries{encode(make_entry(1, 0, {}, h("r")))};
  auto winner = bid(1, 12, 10, "");
  winner.bundle_hash = bundle_hash(entries);
  sign(winner, key(1));
  CHECK(auction::check_reveal(winner, entries));
  entries.push_back(encode(make_entry(1, 1, {}, h("r2"))));
  CHECK_FALSE(auction::check_reveal(winner, entries));
}

TEST_CASE("the proposer's auction: best reachable first, wrong or withheld bundles pass to the next") {
  std::vector<bytes> good{encode(make_entry(1, 0, {}, h("g")))};
  auto bid = [&](int k, std::uint64_t value) {
    builder_bid b;
    b.chain_id = chain_name;
    b.height = 20;
    b.bundle_hash = bundle_hash(good);
    b.value = amount{value};
    sign(b, key(k));
    return b;
  };
  auction a(chain_name, 20);
  REQUIRE(a.offer(bid(1, 90)));
  REQUIRE(a.offer(bid(2, 80)));
  REQUIRE(a.offer(bid(3, 70)));
  REQUIRE(a.offer(bid(4, 60)));
  // Builder 1 cannot be asked (no handle): builder 2 is asked first.
  proposer_auction r(20, 0);
  auto reachable = [](const node_id& b) { return b != id(1); };
  auto first = r.next(&a, reachable);
  REQUIRE(first);
  CHECK(r.builder() == id(2));
  // A wrong bundle: refused with the reason, builder 3 next.
  auto wrong = r.revealed({encode(make_entry(2, 0, {}, h("w")))});
  CHECK_FALSE(wrong);
  REQUIRE(r.next(&a, reachable));
  CHECK(r.builder() == id(3));
  // No bundle in time: withheld-bid evidence naming builder 3's bid, builder 4 next.
  auto ev = r.withheld(chain_name);
  auto decoded = decode_evidence(ev);
  REQUIRE(decoded);
  REQUIRE(std::holds_alternative<withheld_bid_evidence>(*decoded));
  CHECK(std::get<withheld_bid_evidence>(*decoded).bid == bid(3, 70));
  auto fourth = r.next(&a, reachable);
  REQUIRE(fourth);
  CHECK(r.builder() == id(4));
  CHECK(r.revealed(good)); // the right bundle: propose with it
  // Every builder tried: no bundle.
  r.withheld(chain_name);
  CHECK_FALSE(r.next(&a, reachable));
  // Bids of another height are never asked for.
  proposer_auction later(21, 0);
  CHECK_FALSE(later.next(&a, [](const node_id&) { return true; }));
  CHECK_FALSE(later.next(nullptr, [](const node_id&) { return true; }));
}

TEST_CASE("complaints are signed and ordered, due headers follow log-book order and N") {
  exclusion_complaint c;
  c.chain_id = chain_name;
  c.height = 5;
  c.round = 0;
  c.proposer = id(9);
  c.digest = h("block");
  c.missing = {h("a"), h("b")};
  std::sort(c.missing.begin(), c.missing.end());
  sign(c, key(1));
  auto who = verify_complaint(c, chain_name);
  REQUIRE(who);
  CHECK(*who == id(1));
  auto back = decode_exclusion_complaint(encode(c));
  REQUIRE(back);
  CHECK(*back == c);
  auto unsorted = c;
  std::swap(unsorted.missing[0], unsorted.missing[1]);
  sign(unsorted, key(1));
  CHECK_FALSE(verify_complaint(unsorted, chain_name));
  auto tampered = c;
  tampered.height = 6;
  CHECK_FALSE(verify_complaint(tampered, chain_name));

  inclusion_tracker t;
  auto e0 = make_entry(1, 0, {}, h("r0"));
  auto e1 = make_entry(1, 1, log_block_id(e0.book_block), h("r1"));
  auto e2 = make_entry(1, 2, log_block_id(e1.book_block), h("r2"));
  auto f5 = make_entry(2, 5, h("x"), h("r5")); // BPI 2 is at 3 on chain: not includable
  CHECK(t.hold(e1, 10));
  CHECK(t.hold(e0, 11));
  CHECK(t.hold(e2, 12));
  CHECK(t.hold(f5, 10));
  CHECK_FALSE(t.hold(e0, 13));
  std::map<node_id, std::uint64_t> books{{id(1), 0}, {id(2), 3}};
  auto size_of = [&](const node_id& b) { return books[b]; };
  auto inc = t.includable(size_of, 100);
  REQUIRE(inc.size() == 3);
  CHECK(inc[0].book_block.sequence == 0);
  CHECK(inc[2].book_block.sequence == 2);
  // e1 was seen first (since 10): due at 13 — including it means including e0 with it.
  CHECK(t.due(12, 3, size_of).empty());
  CHECK(t.due(13, 3, size_of) == std::vector<hash256>{entry_id(e1)});
  auto due14 = t.due(14, 3, size_of);   // e0 (11) and e1 (10) are due; e2 (12) not yet
  std::vector<hash256> want{entry_id(e0), entry_id(e1)};
  std::sort(want.begin(), want.end());
  CHECK(due14 == want);
  books[id(1)] = 2; // e0 and e1 were included
  t.prune(size_of);
  CHECK(t.size() == 2);
  CHECK(t.due(15, 3, size_of) == std::vector<hash256>{entry_id(e2)});
  // f5 waits behind a gap in BPI 2's book: dropped once held for more than max_age blocks.
  t.prune(size_of, 1010, 1000);
  CHECK(t.holds(entry_id(f5)));
  t.prune(size_of, 1011, 1000);
  CHECK_FALSE(t.holds(entry_id(f5)));
  CHECK(t.holds(entry_id(e2)));
  CHECK(t.count_of(id(1)) == 1);
  CHECK(t.count_of(id(2)) == 0);
  t.release(entry_id(e2));
  CHECK(t.count_of(id(1)) == 0);
  CHECK(t.size() == 0);
}

// ------------------------------------------------------------------------------ in blocks
//  6. Blocks carry PoE entries: rent is collected from the BPI, split to validators by stake,
//     the slashing pool and the treasury; supply is conserved.
//  7. Entries out of log-book order, with rent below the quote, from a BPI without builder
//     stake or with a wrong logbook_root are refused by execute_block and left out by
//     build_block.
//  8. The auction's winner pays the proposer and its bundle leads the block; a block whose
//     leading entries are not the bundle is refused; a withheld bid is penalized once.
//  9. Censorship: f+1 complaints against one proposal slash the proposer once; f do not.
// 10. Conservation over 10,000 simulated blocks with every kind of notarized content.
// 11. Forced inclusion, the validator's decisions (inclusion.hpp): a proposal owes the headers
//     held for N blocks that would apply on its parent state; one that leaves them out is
//     complained about, one that includes them, is full, or comes before N is not; a header
//     whose BPI cannot pay is owed by nobody.
// 12. The complaint book: one complaint per validator and proposal, evidence at f+1 and once
//     per proposal, nothing for proposals beyond the horizon or an unknown proposer.

#include "poe/chain/evidence.hpp"
#include "poe/chain/producer.hpp"

#include <random>

namespace {

using poe::chain::test::make_tx;
using poe::chain::test::small_ledger;

/// A BPI (a builder key) making LogBlocks and headers in log-book order.
struct bpi_maker {
  int k;
  log_book book;
  std::uint64_t clock = 1000;

  poe_entry next(const rent_params& p, std::uint64_t priority = 0, std::uint64_t units = 30) {
    poe_entry e;
    auto& b = e.book_block;
    b.bpi = id(k);
    b.sequence = book.size();
    b.prev = book.last();
    b.receipts_root = h("receipts of " + std::to_string(k) + "/" + std::to_string(book.size()));
    b.receipt_count = 4;
    b.first_ms = clock;
    b.last_ms = clock + 10;
    b.work_units = units;
    b.result_bytes = 3000;
    e.header.logbook_root = book.root_with(log_block_id(b));
    e.header.execution_hash = log_block_id(b);
    e.header.timestamp = clock + 20;
    e.header.rent_payment = rent_quote(p, b)->units() + priority;
    sign_header(e.header, key(k), chain_name);
    book.append(log_block_id(b));
    clock += 100;
    return e;
  }
};

/// small_ledger with keys 10..12 staking as builders in block 1.
struct notary_chain {
  ledger state = small_ledger();
  chain_tip tip;
  std::map<int, bpi_maker> bpis;

  notary_chain() {
    std::vector<transaction> txs;
    for (int k : {10, 11, 12}) {
      txs.push_back(make_tx(k, 0, stake{stake_role::builder, amount{5000}}));
      bpis.emplace(k, bpi_maker{k, {}});
    }
    commit(build_block(state, tip, txs, proposer(), 0, tip.timestamp_ms + 1000));
    REQUIRE(state.stake_of(id(12), stake_role::builder) == amount{5000});
  }
  node_id proposer() const { return state.validator_set()[(tip.height + 1) % 4].id; }
  void commit(const block& b) {
    auto next = execute_block(state, b);
    if (!next) FAIL(next.err().message);
    REQUIRE(next->total_supply() == next->minted());
    state = std::move(*next);
    tip = tip_of(b);
  }
  block build(const block_notary& n, std::vector<transaction> txs = {},
              std::vector<bytes> evidence = {}) {
    return build_block(state, tip, txs, proposer(), 0, tip.timestamp_ms + 1000, evidence, nullptr,
                       &n);
  }
};

} // namespace

TEST_CASE("blocks carry PoE entries: rent is collected, split and conserved") {
  notary_chain c;
  auto p = c.state.params().rent;
  block_notary n;
  amount rent;
  for (int k : {10, 11, 12})
    for (int i = 0; i < 2; ++i) {
      auto e = c.bpis.at(k).next(p, 7);
      rent = *checked_add(rent, amount{e.header.rent_payment});
      n.held.push_back(encode(e));
    }
  auto before = c.state;
  auto b = c.build(n);
  REQUIRE(b.poe_headers.size() == 6);
  REQUIRE(validate_block(before, c.tip, b, c.tip.timestamp_ms + 1000));
  c.commit(b);
  // 30 work units + 3 KiB + base 100 + priority 7 = 140 per entry.
  CHECK(rent.units() == 6 * 140);
  auto split = split_rent(p, rent);
  CHECK(c.state.treasury().units() == before.treasury().units() + split.treasury.units());
  CHECK(c.state.slashing_pool().units() == before.slashing_pool().units() + split.slashing.units());
  for (int k : {10, 11, 12}) {
    CHECK(c.state.account_of(id(k)).balance.units() ==
          before.account_of(id(k)).balance.units() - 2 * 140);
    CHECK(c.state.book_of(id(k)).size() == 2);
    CHECK(c.state.book_of(id(k)).root() == c.bpis.at(k).book.root());
  }
  std::uint64_t to_validators = 0;
  for (auto& v : c.state.validator_set())
    to_validators += c.state.account_of(v.id).balance.units() - before.account_of(v.id).balance.units();
  CHECK(to_validators == split.validators.units());
}

TEST_CASE("the storage part of the rent pays storage stakers by stake, flows count every share") {
  notary_chain c;
  auto p = c.state.params().rent;
  // Key 13 stakes 300 as storage, key 12 (also a builder) 100: shares 3:1 of the storage part.
  c.commit(c.build(block_notary{}, {make_tx(13, 0, stake{stake_role::storage, amount{300}}),
                                    make_tx(12, 1, stake{stake_role::storage, amount{100}})}));
  block_notary n;
  amount rent;
  for (int k : {10, 11}) {
    auto e = c.bpis.at(k).next(p, 7);
    rent = *checked_add(rent, amount{e.header.rent_payment});
    n.held.push_back(encode(e));
  }
  auto before = c.state;
  c.commit(c.build(n));
  // Each entry: 3000 result bytes = 3 KiB × rent_per_kib 1 = 3 of storage rent; 2 entries = 6.
  const std::uint64_t storage = 2 * 3 * p.rent_per_kib.units();
  auto gain = [&](int k) {
    return c.state.account_of(id(k)).balance.units() - before.account_of(id(k)).balance.units();
  };
  // floor(6 × 300 / 400) = 4 and floor(6 × 100 / 400) = 1; the remainder 1 to the largest stake.
  CHECK(gain(13) == 5);
  CHECK(gain(12) == 1);
  auto split = split_rent(p, amount{rent.units() - storage});
  CHECK(c.state.treasury().units() == before.treasury().units() + split.treasury.units());
  auto& f = c.state.block_flows();
  CHECK(f[static_cast<std::size_t>(flow_kind::rent_storage)] == storage);
  CHECK(f[static_cast<std::size_t>(flow_kind::rent_treasury)] == split.treasury.units());
  CHECK(f[static_cast<std::size_t>(flow_kind::rent_slashing)] == split.slashing.units());
  CHECK(f[static_cast<std::size_t>(flow_kind::rent_validators)] == split.validators.units());
  CHECK(c.state.flows_of(id(13))[static_cast<std::size_t>(flow_kind::rent_storage)] == gain(13));
  // Every share adds up to what was collected.
  CHECK(storage + split.treasury.units() + split.slashing.units() + split.validators.units() == rent.units());
}

TEST_CASE("entries that break the rules are refused by validators and left out by proposers") {
  notary_chain c;
  auto p = c.state.params().rent;
  auto& m = c.bpis.at(10);
  auto first = m.next(p);
  auto second = m.next(p);
  auto must_refuse = [&](const std::vector<bytes>& entries, const std::string& rule) {
    INFO(rule);
    auto b = c.build({});
    b.poe_headers = entries;
    seal_roots(b);
    auto st = execute_block(c.state, b);
    REQUIRE_FALSE(st);
    CHECK(st.err().message.find(rule) != std::string::npos);
    block_notary n;
    n.held = entries;
    CHECK(c.build(n).poe_headers.size() < entries.size()); // the proposer leaves it out
  };
  must_refuse({encode(second)}, "out_of_order");
  auto cheap = first;
  cheap.header.rent_payment -= 1;
  sign_header(cheap.header, key(10), chain_name);
  must_refuse({encode(cheap)}, "rent_too_low");
  auto bad_root = first;
  bad_root.header.logbook_root = h("elsewhere");
  sign_header(bad_root.header, key(10), chain_name);
  must_refuse({encode(bad_root)}, "bad_logbook_root");
  bpi_maker stranger{13, {}}; // has a balance, no builder stake
  must_refuse({encode(stranger.next(p))}, "not_staked");
  auto forged = first;
  forged.header.rent_payment += 50; // not what the BPI signed
  must_refuse({encode(forged)}, "invalid");
  // In order, both apply.
  block_notary n;
  n.held = {encode(second), encode(first)}; // held order does not matter: log-book order does
  auto b = c.build(n);
  CHECK(b.poe_headers.size() == 1); // `second` comes before `first` here: left out
  c.commit(b);
  n.held = {encode(second)};
  CHECK(c.build(n).poe_headers.size() == 1);
}

TEST_CASE("the auction's winner pays the proposer, a withheld bid is penalized once") {
  notary_chain c;
  auto p = c.state.params().rent;
  auto height = c.tip.height + 1;
  std::vector<bytes> bundle{encode(c.bpis.at(11).next(p)), encode(c.bpis.at(11).next(p))};
  auto bid_of = [&](int k, std::uint64_t value, const hash256& bundle_hash) {
    builder_bid b;
    b.chain_id = chain_name;
    b.height = height;
    b.bundle_hash = bundle_hash;
    b.value = amount{value};
    sign(b, key(k));
    return b;
  };
  auto winner = bid_of(11, 900, bundle_hash(bundle));
  auto withheld = bid_of(12, 1500, h("never revealed"));
  block_notary n;
  n.bundle = bundle;
  n.settlement = encode(bid_settlement{chain_name, key(11).pub().der(), winner, 2});
  n.withheld = {encode(withheld_bid_evidence{chain_name, key(12).pub().der(), withheld})};
  n.held = {encode(c.bpis.at(10).next(p))};
  auto before = c.state;
  auto proposer = c.proposer();
  auto b = c.build(n);
  REQUIRE(b.evidence.size() == 2);
  REQUIRE(b.poe_headers.size() == 3);
  CHECK(b.poe_headers[0] == bundle[0]);
  CHECK(b.poe_headers[1] == bundle[1]);
  // A block whose leading entries are not the bundle is refused.
  auto swapped = b;
  std::swap(swapped.poe_headers[0], swapped.poe_headers[2]);
  seal_roots(swapped);
  auto st = execute_block(before, swapped);
  REQUIRE_FALSE(st);
  CHECK(st.err().message.find("bad_bundle") != std::string::npos);
  c.commit(b);
  // The withholder lost 1500 (from its balance) to the slashing pool.
  CHECK(c.state.account_of(id(12)).balance.units() == before.account_of(id(12)).balance.units() - 1500);
  CHECK(c.state.slashing_pool().units() >= before.slashing_pool().units() + 1500);
  // The winner paid 900 to the proposer (on top of its rent).
  auto rent = 2 * rent_quote(p, decode_poe_entry(bundle[0])->book_block)->units();
  CHECK(c.state.account_of(id(11)).balance.units() ==
        before.account_of(id(11)).balance.units() - 900 - rent);
  CHECK(c.state.account_of(proposer).balance.units() >= before.account_of(proposer).balance.units() + 900);
  // Once only; and a bid of another height is no settlement for this block.
  auto again = c.build({}, {}, {n.withheld[0]});
  CHECK(again.evidence.empty());
  auto late = c.build({}, {}, {*n.settlement});
  CHECK(late.evidence.empty());
}

TEST_CASE("censorship: f+1 complaints against one proposal slash the proposer once") {
  notary_chain c;
  auto offender = c.state.validator_set()[0];
  auto offender_index = -1;
  for (int i = 0; i < 4; ++i)
    if (key(i).id() == offender.id) offender_index = i;
  auto at = c.tip.height;
  auto complaint = [&](int by) {
    exclusion_complaint x;
    x.chain_id = chain_name;
    x.height = at;
    x.round = 0;
    x.proposer = offender.id;
    x.digest = h("the censoring proposal");
    x.missing = {h("a due header")};
    sign(x, key(by));
    return x;
  };
  std::vector<int> others;
  for (int i = 0; i < 4; ++i)
    if (i != offender_index) others.push_back(i);
  auto ev = [&](std::vector<int> by) {
    censorship_evidence e{chain_name, key(offender_index).pub().der(), {}};
    for (int b : by) e.complaints.push_back(complaint(b));
    return encode(e);
  };
  // n = 4, f = 1: one complaint is not enough, two are; a non-validator does not count.
  CHECK(c.build({}, {}, {ev({others[0]})}).evidence.empty());
  CHECK(c.build({}, {}, {ev({others[0], 10})}).evidence.empty());
  auto before = c.state.stake_of(offender.id, stake_role::validator);
  auto b = c.build({}, {}, {ev({others[0], others[1]})});
  REQUIRE(b.evidence.size() == 1);
  c.commit(b);
  CHECK(c.state.stake_of(offender.id, stake_role::validator).units() == before.units() * 95 / 100);
  CHECK_FALSE(c.state.is_jailed(offender.id)); // slashed, not removed
  CHECK(c.build({}, {}, {ev({others[1], others[2]})}).evidence.empty()); // once per proposal
}

TEST_CASE("rent conservation over 10,000 simulated blocks") {
  notary_chain c;
  auto p = c.state.params().rent;
  std::mt19937_64 rng(20261130);
  std::uint64_t entries = 0, settlements = 0, withheld = 0, refused = 0;
  std::vector<bytes> waiting; // made but not yet included (some get stale on purpose)
  for (int i = 0; i < 10'000; ++i) {
    auto height = c.tip.height + 1;
    block_notary n;
    std::vector<transaction> txs;
    auto roll = rng() % 100;
    if (roll < 35) { // entries from a random BPI, sometimes paying less than the quote
      auto& m = c.bpis.at(10 + static_cast<int>(rng() % 3));
      auto e = m.next(p, rng() % 20, 1 + rng() % 200);
      if (rng() % 10 == 0) {
        e.header.rent_payment = 1;
        sign_header(e.header, key(m.k), chain_name);
      }
      waiting.push_back(encode(e));
    }
    if (roll >= 90) { // an auction: a builder wins with a bundle of one or two fresh entries
      int k = 10 + static_cast<int>(rng() % 3);
      std::vector<bytes> bundle{encode(c.bpis.at(k).next(p, rng() % 20))};
      if (rng() % 2) bundle.push_back(encode(c.bpis.at(k).next(p)));
      for (auto& e : bundle) waiting.push_back(e); // if the bundle fails, they wait as held
      builder_bid bid;
      bid.chain_id = chain_name;
      bid.height = height;
      bid.bundle_hash = bundle_hash(bundle);
      bid.value = amount{1 + rng() % 50};
      sign(bid, key(k));
      n.bundle = bundle;
      n.settlement = encode(bid_settlement{chain_name, key(k).pub().der(), bid,
                                           static_cast<std::uint32_t>(bundle.size())});
    }
    if (roll >= 97) { // a withheld bid of another builder
      builder_bid bid;
      bid.chain_id = chain_name;
      bid.height = height;
      bid.bundle_hash = h("withheld " + std::to_string(i));
      bid.value = amount{1 + rng() % 30};
      sign(bid, key(12));
      n.withheld = {encode(withheld_bid_evidence{chain_name, key(12).pub().der(), bid})};
    }
    if (roll % 7 == 0)
      txs.push_back(make_tx(13, c.state.account_of(id(13)).nonce,
                            transfer{id(10 + static_cast<int>(rng() % 3)), amount{1 + rng() % 100}},
                            amount{rng() % 3}));
    n.held = waiting;
    auto b = c.build(n, txs);
    c.commit(b); // execute_block re-checks everything and the supply invariant
    for (auto& ev : b.evidence) {
      auto e = decode_evidence(ev);
      settlements += std::holds_alternative<bid_settlement>(*e);
      withheld += std::holds_alternative<withheld_bid_evidence>(*e);
    }
    entries += b.poe_headers.size();
    std::vector<bytes> still;
    for (auto& w : waiting) {
      auto e = decode_poe_entry(w);
      if (e->book_block.sequence >= c.state.book_of(e->header.bpi).size()) still.push_back(w);
    }
    // An underpaid entry blocks its BPI's book: its maker replaces it (same sequence).
    if (still.size() > 3) {
      ++refused;
      for (auto& [k, m] : c.bpis) m.book = c.state.book_of(id(k));
      still.clear();
    }
    waiting = std::move(still);
  }
  INFO("entries " << entries << ", settlements " << settlements << ", withheld " << withheld);
  CHECK(c.state.total_supply() == c.state.minted());
  CHECK(entries > 2000);
  CHECK(settlements > 100);
  CHECK(withheld > 50);
  CHECK(refused > 10);
  CHECK(c.state.treasury() > amount{0});
}

// ------------------------------------------------------------------------------ builder
// 11. The builder cuts LogBlocks by size and age, chains them, prices the headers at the quote
//     plus its priority; refuses a receipt twice.
// 12. A receipt proof verifies offline against the validators' keys, with the verifier's
//     signature and the executor's PoE v1 in the receipt; a tampered or re-signed receipt, a
//     forged PoE, another result, a receipt not at that leaf, a tampered entry, block or too
//     few seals fail, each naming the broken link.

#include "poe/chain/log_builder.hpp"
#include "poe/chain/qbft.hpp"
#include "../receipt_util.hpp"

TEST_CASE("the builder cuts, chains and prices LogBlocks") {
  rent_params p;
  log_builder b(key(10), chain_name, p, builder_config{3, 500, 9});
  auto receipt = [](int i, std::uint64_t at) {
    receipt_in r;
    r.request.data[0] = static_cast<std::uint8_t>(i);
    r.encoded = bytes{'r', 'e', 'c', static_cast<std::uint8_t>(i)};
    r.work_units = 10;
    r.result_bytes = 1000;
    r.verified_ms = at;
    return r;
  };
  CHECK(b.add(receipt(1, 1000)));
  CHECK_FALSE(b.add(receipt(1, 1000)));
  CHECK(b.add(receipt(2, 1100)));
  CHECK_FALSE(b.poll(1400)); // 2 pending, the oldest 400 ms old
  auto first = b.poll(1500); // by age
  REQUIRE(first);
  CHECK(first->receipts.size() == 2);
  CHECK(first->entry.book_block.sequence == 0);
  CHECK(first->entry.header.rent_payment == 100 + 20 + 2 + 9);
  CHECK(check_entry(first->entry, key(10).pub(), chain_name));
  for (int i = 3; i <= 6; ++i) b.add(receipt(i, 2000));
  auto second = b.poll(2000); // by size: 3 of the 4
  REQUIRE(second);
  CHECK(second->receipts.size() == 3);
  CHECK(second->entry.book_block.prev == log_block_id(first->entry.book_block));
  CHECK(b.pending() == 1);
  CHECK(b.book().size() == 2);
  CHECK(second->entry.header.logbook_root == b.book().root());
  CHECK(second->entry.book_block.receipts_root == merkle::root_of(second->receipts));
}

namespace {
/// BPI 10's LogBlock of `n` receipts verifier 12 signed for executor 13's results.
sealed_log_block log_block_of(const rent_params& p, int n) {
  log_builder builder(key(10), chain_name, p, builder_config{8, 0, 0});
  for (int i = 0; i < n; ++i) {
    receipt_in r;
    r.request.data[0] = static_cast<std::uint8_t>(i);
    r.encoded = encode(poe::test::attested_receipt(key(12), key(13), chain_name, static_cast<std::uint8_t>(i)));
    r.work_units = 3;
    r.verified_ms = 10;
    builder.add(r);
  }
  auto sealed = builder.poll(10);
  REQUIRE(sealed);
  return std::move(*sealed);
}

/// The proof of receipt `index` of `sealed`, whose entry block `height` holds (sealed as `d`).
receipt_proof proof_of(const sealed_log_block& sealed, std::uint64_t index, std::uint64_t height,
                       const qbft::decision& d) {
  std::vector<hash256> leaves;
  for (auto& r : sealed.receipts) leaves.push_back(merkle::leaf_hash(r));
  receipt_proof proof;
  proof.receipt = sealed.receipts[index];
  proof.in_log_block = *merkle::prove(leaves, index);
  proof.entry = sealed.entry;
  proof.bpi_key = key(10).pub().der();
  proof.height = height;
  proof.decision = qbft::encode(d);
  return proof;
}
/// Block `b` as 4 validators decided it: their seals over (height, round 0, block id).
qbft::decision decided(const block& b, std::vector<public_key>& validators) {
  qbft::decision d;
  d.height = b.header.height;
  d.round = 0;
  d.digest = block_id(b);
  d.block = encode(b);
  validators.clear();
  for (int i = 0; i < 4; ++i) {
    validators.push_back(key(i).pub());
    d.seals.push_back({id(i), sign_in_domain(key(i), chain_name, msg_type::commit_seal,
                                             qbft::seal_payload(d.height, 0, d.digest))});
  }
  return d;
}
} // namespace

TEST_CASE("a receipt proof verifies offline and a tampered one fails") {
  notary_chain c;
  auto p = c.state.params().rent;
  auto sealed = log_block_of(p, 5);
  block_notary n;
  n.held = {encode(c.bpis.at(11).next(p)), encode(sealed.entry)};
  auto b = c.build(n);
  REQUIRE(b.poe_headers.size() == 2);
  auto height = b.header.height;
  c.commit(b);
  std::vector<public_key> validators;
  auto d = decided(b, validators);
  auto proof = proof_of(sealed, 3, height, d);
  auto back = decode_receipt_proof(encode(proof));
  REQUIRE(back);
  auto facts = verify_receipt_proof(*back, chain_name, validators);
  REQUIRE(facts);
  CHECK(facts->entry_index == 1);
  CHECK(facts->seals_valid == 4);
  CHECK(facts->block_id == block_id(b));
  CHECK(facts->receipt.verifier == id(12));
  CHECK(facts->receipt.executor == id(13));
  CHECK(facts->receipt.receipt.request.data[0] == 3);
  auto broken = [&](receipt_proof q, const std::string& link) {
    INFO(link);
    auto r = verify_receipt_proof(q, chain_name, validators);
    REQUIRE_FALSE(r);
    INFO(r.err().message);
    CHECK(r.err().message.find(link) == 0);
  };
  auto q = proof;
  q.receipt.back() ^= 1; // the executor key
  broken(q, "executor");
  q = proof;
  q.receipt.push_back(0);
  broken(q, "receipt: signed receipt truncated or with trailing bytes");
  // The receipt's links: the verifier's signature, the executor's PoE v1 and the result.
  auto attested = *decode_attested_receipt(proof.receipt);
  auto resigned = attested;
  sign(resigned, key(11), chain_name); // someone else signs the verifier's receipt
  q = proof;
  q.receipt = encode(resigned);
  broken(q, "verifier: the key is not the receipt's verifier");
  resigned = attested;
  resigned.signature.back() ^= 1;
  q.receipt = encode(resigned);
  broken(q, "verifier: the signature does not verify");
  resigned = attested;
  sign(resigned, key(12), "another-chain");
  q.receipt = encode(resigned);
  broken(q, "verifier: the signature does not verify");
  resigned = attested;
  resigned.result.back() ^= 1;
  q.receipt = encode(resigned);
  broken(q, "result: not the receipt's result_hash");
  auto forged = *wire::decode_step_receipt(attested.receipt);
  forged.poe_sig.back() ^= 1; // the verifier vouches for a PoE that does not verify
  resigned = attested;
  resigned.receipt = wire::encode(forged);
  sign(resigned, key(12), chain_name);
  q.receipt = encode(resigned);
  broken(q, "executor: PoE v1");
  // A genuine receipt, but not the one the LogBlock holds at that place.
  q = proof;
  q.receipt = encode(poe::test::attested_receipt(key(12), key(13), chain_name, 9));
  broken(q, "receipt: its path does not lead");
  q = proof;
  q.entry.header.rent_payment += 1;
  broken(q, "PoE header:");
  q = proof;
  q.bpi_key = key(11).pub().der();
  broken(q, "PoE header:");
  auto other = d;
  other.seals.resize(2); // 2 of 4: below the quorum of 3
  q = proof;
  q.decision = qbft::encode(other);
  broken(q, "block: 2 valid commit seals");
  q = proof;
  q.height = height + 1;
  broken(q, "block:");
  auto elsewhere = b;
  elsewhere.poe_headers.erase(elsewhere.poe_headers.begin() + 1);
  seal_roots(elsewhere);
  auto d2 = d;
  d2.block = encode(elsewhere);
  d2.digest = block_id(elsewhere);
  d2.seals.clear();
  for (int i = 0; i < 4; ++i)
    d2.seals.push_back({id(i), sign_in_domain(key(i), chain_name, msg_type::commit_seal,
                                              qbft::seal_payload(height, 0, d2.digest))});
  q = proof;
  q.decision = qbft::encode(d2);
  broken(q, "block: the PoE entry is not in the block");
  CHECK_FALSE(decode_receipt_proof(bytes{1, 2, 3}));
}

TEST_CASE("a receipt proof is checked against the validator set at its block's height") {
  notary_chain c;
  auto p = c.state.params().rent;
  // Block A: validators 2 and 3 leave, 12 and 13 join. The genesis set seals it.
  auto genesis_set = c.state.validator_set();
  auto a = c.build({}, {make_tx(2, 0, unstake{stake_role::validator, amount{1000}}),
                        make_tx(3, 0, unstake{stake_role::validator, amount{1000}}),
                        make_tx(12, 1, stake{stake_role::validator, amount{1000}}),
                        make_tx(13, 0, stake{stake_role::validator, amount{1000}})});
  REQUIRE(a.transactions.size() == 4);
  c.commit(a);
  auto new_set = c.state.validator_set();
  REQUIRE(new_set.size() == 4);
  CHECK(a.header.validators_root == validators_root(new_set));
  auto seal = [&](const block& b, const std::vector<int>& signers) {
    qbft::decision d;
    d.height = b.header.height;
    d.digest = block_id(b);
    d.block = encode(b);
    for (int i : signers)
      d.seals.push_back({id(i), sign_in_domain(key(i), chain_name, msg_type::commit_seal,
                                               qbft::seal_payload(d.height, 0, d.digest))});
    return d;
  };
  // Block B notarizes the receipt; the new set seals it.
  auto sealed = log_block_of(p, 3);
  block_notary n;
  n.held = {encode(sealed.entry)};
  auto b = c.build(n);
  REQUIRE(b.poe_headers.size() == 1);
  c.commit(b);
  auto proof = proof_of(sealed, 1, b.header.height, seal(b, {0, 1, 12, 13}));
  std::vector<public_key> genesis_keys;
  for (auto& v : genesis_set) genesis_keys.push_back(v.key);
  // Against the genesis set alone: only 0 and 1 of its members sealed B.
  auto r = verify_receipt_proof(proof, chain_name, genesis_keys);
  REQUIRE_FALSE(r);
  CHECK(r.err().message.find("block: 2 valid commit seals") == 0);
  // With the change (A sealed by the genesis set, committing to the new one): valid.
  set_change change;
  change.height = a.header.height;
  change.decision = qbft::encode(seal(a, {0, 1, 2, 3}));
  for (auto& v : new_set) change.validators.emplace_back(v.key.der(), v.stake.units());
  proof.changes = {change};
  auto back = decode_receipt_proof(encode(proof));
  REQUIRE(back);
  REQUIRE(back->changes.size() == 1);
  auto facts = verify_receipt_proof(*back, chain_name, genesis_keys);
  REQUIRE(facts);
  CHECK(facts->seals_valid == 4);
  CHECK(facts->validators == 4);
  CHECK(facts->set_changes == std::vector<std::uint64_t>{a.header.height});
  // Each link of the change is checked.
  auto broken = [&](set_change x, const std::string& what) {
    auto q = proof;
    q.changes = {x};
    auto st = verify_receipt_proof(q, chain_name, genesis_keys);
    REQUIRE_FALSE(st);
    INFO(st.err().message);
    CHECK(st.err().message.find(what) != std::string::npos);
  };
  auto padded = change; // a set the block does not commit to (a made-up member)
  padded.validators.back().second += 1;
  broken(padded, "not the one the block commits to");
  auto thin = change; // sealed by 2 of the 4 before it
  thin.decision = qbft::encode(seal(a, {0, 12}));
  broken(thin, "valid commit seals of the 4 validators before it");
  auto late = change;
  late.height = b.header.height;
  broken(late, "in height order");
  auto reordered = change;
  std::reverse(reordered.validators.begin(), reordered.validators.end());
  broken(reordered, "node id order");
}

TEST_CASE("rent parameters round-trip through JSON and are checked like genesis params") {
  rent_params p;
  p.base_rent = amount{7};
  p.validators_ppm = 600'000;
  p.treasury_ppm = 300'000;
  p.inclusion_blocks = 9;
  auto back = parse_rent_params(rent_params_json(p));
  REQUIRE(back);
  CHECK(*back == p);
  CHECK_FALSE(parse_rent_params("{\"rent_treasury_ppm\": 1}")); // shares no longer add up
  CHECK_FALSE(parse_rent_params("{\"base_rent\": -1}"));
  CHECK_FALSE(parse_rent_params("[]"));
}

TEST_CASE("forced inclusion: a proposal owes the held headers that would apply on its parent") {
  notary_chain c;
  auto p = c.state.params().rent;
  p.inclusion_blocks = 2;
  auto e = c.bpis.at(10).next(p);
  auto poor = c.bpis.at(11).next(p, 1'000'000'000'000); // its BPI cannot pay this priority
  inclusion_tracker held;
  auto next = c.tip.height + 1;
  REQUIRE(held.hold(e, next - 2));
  REQUIRE(held.hold(poor, next - 2));
  // Left out: owed (the unpayable one is not).
  auto empty = c.build({});
  CHECK(missing_owed(held, c.state, p, empty) == std::vector<hash256>{entry_id(e)});
  // Included: nothing owed.
  block_notary n;
  n.held.push_back(encode(e));
  auto with = c.build(n);
  REQUIRE(with.poe_headers.size() == 1);
  CHECK(missing_owed(held, c.state, p, with).empty());
  // Not held for N blocks yet: nothing owed.
  inclusion_tracker fresh;
  REQUIRE(fresh.hold(e, next - 1));
  CHECK(missing_owed(fresh, c.state, p, empty).empty());
  // A proposal full of PoE entries owes nothing more.
  auto full = p;
  full.max_block_poes = 1;
  auto other = c.bpis.at(12).next(p);
  block_notary n2;
  n2.held.push_back(encode(other));
  auto one = c.build(n2);
  REQUIRE(one.poe_headers.size() == 1);
  CHECK(missing_owed(held, c.state, full, one).empty());
  CHECK(missing_owed(held, c.state, p, one) == std::vector<hash256>{entry_id(e)});
}

TEST_CASE("the complaint book: evidence at f+1 distinct validators, once per proposal") {
  auto complaint = [](int by, std::uint64_t height, const std::string& digest) {
    exclusion_complaint x;
    x.chain_id = chain_name;
    x.height = height;
    x.round = 0;
    x.proposer = id(9);
    x.digest = h(digest);
    x.missing = {h("a due header")};
    sign(x, key(by));
    return x;
  };
  std::optional<bytes> offender = key(9).pub().der();
  complaint_book book;
  // n = 4, f = 1.
  auto a = book.take(complaint(1, 20, "p"), id(1), 20, 1, offender);
  CHECK(a.counted);
  CHECK_FALSE(a.evidence);
  CHECK_FALSE(book.take(complaint(1, 20, "p"), id(1), 20, 1, offender).counted); // again: no
  auto b = book.take(complaint(2, 20, "p"), id(2), 20, 1, offender);
  CHECK(b.counted);
  REQUIRE(b.evidence);
  CHECK(b.evidence->offender_key == *offender);
  CHECK(b.evidence->complaints.size() == 2);
  auto c3 = book.take(complaint(3, 20, "p"), id(3), 20, 1, offender);
  CHECK(c3.counted);
  CHECK_FALSE(c3.evidence); // once per proposal
  // Another proposal (another digest) counts apart; an unknown proposer gives no evidence.
  CHECK(book.take(complaint(1, 20, "q"), id(1), 20, 1, std::nullopt).counted);
  CHECK_FALSE(book.take(complaint(2, 20, "q"), id(2), 20, 1, std::nullopt).evidence);
  // Beyond the horizon: refused; forgotten as the chain moves on.
  CHECK_FALSE(book.take(complaint(1, 3, "old"), id(1), 3 + complaint_book::horizon + 1, 1, offender).counted);
  CHECK(book.size() == 2);
  book.forget_below(20 + complaint_book::horizon + 1);
  CHECK(book.size() == 0);
}

// ------------------------------------------------------------------------------ playback
// 13. A gateway's playback receipt checks offline against the viewer's own token, lane
//     commitment and tick; every forged link and every over-claim (more seconds than paid or
//     than the session lasted) fails naming its check; a LogBlock holding step and playback
//     receipts proves each of them.

TEST_CASE("a playback receipt checks offline and a forged or over-claimed one fails") {
  auto ok = poe::test::make_playback(key(20), key(21), chain_name, 8, 8, 9'000);
  auto back = decode_attested_playback(encode(ok.attested));
  REQUIRE(back);
  CHECK(*back == ok.attested);
  auto c = check_attested_playback(*back, chain_name);
  REQUIRE(c);
  CHECK(c->receipt == ok.receipt);
  CHECK(c->price_per_tick == amount{1000});
  CHECK(playback_receipt_id(ok.receipt.session, 0) != playback_receipt_id(ok.receipt.session, 1));
  auto refused = [&](const poe::test::playback_case& x, const std::string& why) {
    INFO(why);
    auto r = check_attested_playback(x.attested, chain_name);
    REQUIRE_FALSE(r);
    INFO(r.err().message);
    CHECK(r.err().message.find(why) != std::string::npos);
  };
  // Over-claims: more seconds than paid, more than the session's wall-clock length.
  refused(poe::test::make_playback(key(20), key(21), chain_name, 8, 9, 60'000), "9 s claimed, 8 paid");
  refused(poe::test::make_playback(key(20), key(21), chain_name, 8, 8, 7'999), "8 s claimed in a session of 7999 ms");
  // The gateway re-signs after raising the paid index: the tick is not w(9).
  auto x = ok;
  x.receipt.tick_index = 9;
  x.attested.receipt = encode(x.receipt);
  sign(x.attested, key(20), chain_name);
  refused(x, "tick: not w(9)");
  // Someone else signs as the gateway; a gateway's signature for another chain.
  x = ok;
  sign(x.attested, key(22), chain_name);
  refused(x, "the key is not the receipt's gateway");
  x = ok;
  sign(x.attested, key(20), "another-chain");
  refused(x, "the signature does not verify");
  // Another viewer's token; a lane commitment the viewer did not sign.
  x = ok;
  auto other = poe::test::make_playback(key(20), key(22), chain_name, 8, 8, 9'000);
  x.attested.token = other.attested.token;
  refused(x, "token: signed by another viewer");
  x = ok;
  x.attested.commit = other.attested.commit;
  refused(x, "lane commitment: not signed by the viewer");
  // A receipt for another lane than the token's; a session outside the token's life.
  x = ok;
  x.receipt.lane = 2;
  x.receipt.session = session_id(x.receipt.channel, 2);
  x.attested.receipt = encode(x.receipt);
  sign(x.attested, key(20), chain_name);
  refused(x, "token: for another gateway, content, channel or lane");
  x = ok;
  x.receipt.ended_ms = x.token.not_after_ms + 1;
  x.attested.receipt = encode(x.receipt);
  sign(x.attested, key(20), chain_name);
  refused(x, "outside its token's life");
  x = ok;
  x.receipt.session.data[0] ^= 1;
  x.attested.receipt = encode(x.receipt);
  sign(x.attested, key(20), chain_name);
  refused(x, "the session id is not its channel and lane's");
  auto raw = encode(ok.attested);
  raw.push_back(0);
  CHECK_FALSE(decode_attested_playback(raw));
  CHECK_FALSE(is_playback_leaf(encode(poe::test::attested_receipt(key(12), key(13), chain_name, 1))));
}

TEST_CASE("a LogBlock holding step and playback receipts proves each kind") {
  notary_chain c;
  auto p = c.state.params().rent;
  log_builder builder(key(10), chain_name, p, builder_config{8, 0, 0});
  receipt_in step;
  step.request.data[0] = 1;
  step.encoded = encode(poe::test::attested_receipt(key(12), key(13), chain_name, 1));
  step.work_units = 3;
  step.verified_ms = 10;
  REQUIRE(builder.add(step));
  auto play = poe::test::make_playback(key(20), key(21), chain_name, 8, 8, 9'000);
  receipt_in pin;
  pin.request = playback_receipt_id(play.receipt.session, play.receipt.sequence);
  pin.encoded = encode(play.attested);
  pin.verified_ms = 10;
  REQUIRE(builder.add(pin));
  auto sealed = builder.poll(10);
  REQUIRE(sealed);
  REQUIRE(sealed->receipts.size() == 2);
  block_notary n;
  n.held = {encode(sealed->entry)};
  auto b = c.build(n);
  auto height = b.header.height;
  c.commit(b);
  std::vector<public_key> validators;
  auto d = decided(b, validators);
  auto step_facts = verify_receipt_proof(*decode_receipt_proof(encode(proof_of(*sealed, 0, height, d))), chain_name, validators);
  REQUIRE(step_facts);
  CHECK_FALSE(step_facts->playback);
  CHECK(step_facts->receipt.executor == id(13));
  auto play_proof = proof_of(*sealed, 1, height, d);
  auto play_facts = verify_receipt_proof(*decode_receipt_proof(encode(play_proof)), chain_name, validators);
  REQUIRE(play_facts);
  REQUIRE(play_facts->playback);
  CHECK(play_facts->playback->receipt == play.receipt);
  CHECK(play_facts->seals_valid == 4);
  // A playback receipt not at that leaf; a forged one in its place.
  auto q = play_proof;
  q.receipt = encode(poe::test::make_playback(key(20), key(21), chain_name, 7, 7, 9'000).attested);
  auto r = verify_receipt_proof(q, chain_name, validators);
  REQUIRE_FALSE(r);
  CHECK(r.err().message.find("receipt: its path does not lead") == 0);
  q.receipt = encode(poe::test::make_playback(key(20), key(21), chain_name, 8, 9, 9'000).attested);
  r = verify_receipt_proof(q, chain_name, validators);
  REQUIRE_FALSE(r);
  CHECK(r.err().message.find("9 s claimed, 8 paid") != std::string::npos);
}
