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
#include "chain_test_util.hpp"

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

TEST_CASE("complaints are signed and ordered; due headers follow log-book order and N") {
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
}
