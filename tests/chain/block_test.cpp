// Blocks: canonical encoding, ids, roots and contextual checks.
//
// Scenarios:
//  1. encode → decode round-trips a block with all three lists; re-encoding gives the same bytes.
//  2. Every truncation and a trailing byte are refused; a huge declared count is refused before
//     allocating; a block over the byte limit is refused.
//  3. The id changes with any header field or body item.
//  4. check_block: a well-formed child passes; wrong chain, height, parent, a timestamp not
//     after the parent's or too far ahead of the clock, and a body not matching its roots are
//     each refused with their reason.
#include "poe/chain/block.hpp"
#include "poe/core/merkle.hpp"

#include <catch2/catch.hpp>

using namespace poe;
using namespace poe::chain;

namespace {

bytes b(const std::string& s) { return bytes(s.begin(), s.end()); }

block sample() {
  block x;
  x.header.chain_id = "poe-test";
  x.header.height = 7;
  x.header.parent.data.fill(0xab);
  x.header.timestamp_ms = 1'000'000;
  x.header.proposer.data.fill(0x11);
  x.header.round = 2;
  x.header.state_root.data.fill(0x22);
  x.transactions = {b("tx-1"), b("tx-2"), b("")};
  x.poe_headers = {b("poe-header")};
  x.evidence = {};
  seal_roots(x);
  return x;
}

block_context context_of(const block& x) {
  block_context c;
  c.chain_id = x.header.chain_id;
  c.height = 7;
  c.parent = x.header.parent;
  c.parent_timestamp_ms = 999'000;
  c.now_ms = 1'000'500;
  c.max_drift_ms = 1000;
  return c;
}

} // namespace

TEST_CASE("a block round-trips through its canonical encoding") {
  auto x = sample();
  auto bytes_ = encode(x);
  auto y = decode_block(bytes_);
  REQUIRE(y);
  CHECK(*y == x);
  CHECK(encode(*y) == bytes_);
  CHECK(x.header.tx_root == merkle::root_of(x.transactions));
  CHECK(x.header.evidence_root == merkle::empty_root());
}

TEST_CASE("truncated or padded or oversized or lying blocks are refused") {
  auto full = encode(sample());
  for (std::size_t n = 0; n < full.size(); ++n) {
    INFO("prefix of " << n);
    CHECK_FALSE(decode_block(byte_view(full.data(), n)));
  }
  auto padded = full;
  padded.push_back(0);
  auto p = decode_block(padded);
  REQUIRE_FALSE(p);
  CHECK(p.err().message.find("trailing") != std::string::npos);
  CHECK_FALSE(decode_block(full, block_limits{full.size() - 1, 100}));
  // A header followed by a count of 2^32-1 transactions.
  block empty;
  empty.header.chain_id = "c";
  auto lying = encode(empty);
  auto header_size = lying.size() - 12;
  lying[header_size] = lying[header_size + 1] = lying[header_size + 2] = lying[header_size + 3] =
    0xff;
  auto l = decode_block(lying);
  REQUIRE_FALSE(l);
  CHECK(l.err().message.find("does not fit") != std::string::npos);
}

TEST_CASE("the block id covers every field") {
  auto x = sample();
  auto id = block_id(x);
  std::vector<block> variants(9, x);
  variants[0].header.chain_id = "other";
  variants[1].header.height = 8;
  variants[2].header.parent.data[0] ^= 1;
  variants[3].header.timestamp_ms += 1;
  variants[4].header.proposer.data[5] ^= 1;
  variants[5].header.round = 3;
  variants[6].header.state_root.data[31] ^= 1;
  variants[7].transactions[0] = b("tx-X");
  variants[8].evidence.push_back(b("e"));
  for (auto& v : variants)
    CHECK(block_id(v) != id);
}

TEST_CASE("check_block refuses each kind of wrong block with its reason") {
  auto x = sample();
  auto ctx = context_of(x);
  CHECK(check_block(x, ctx) == block_reject::none);
  auto expect = [&](block y, block_context c, block_reject r) {
    INFO(to_string(r));
    CHECK(check_block(y, c) == r);
  };
  auto c = ctx;
  c.chain_id = "other";
  expect(x, c, block_reject::wrong_chain);
  c = ctx;
  c.height = 8;
  expect(x, c, block_reject::wrong_height);
  c = ctx;
  c.parent.data[0] ^= 1;
  expect(x, c, block_reject::wrong_parent);
  c = ctx;
  c.parent_timestamp_ms = x.header.timestamp_ms;
  expect(x, c, block_reject::timestamp_not_increasing);
  c = ctx;
  c.now_ms = x.header.timestamp_ms - 1001;
  expect(x, c, block_reject::timestamp_in_future);
  auto y = x;
  y.transactions.push_back(b("smuggled"));
  expect(y, ctx, block_reject::bad_tx_root);
  y = x;
  y.poe_headers.clear();
  expect(y, ctx, block_reject::bad_poe_root);
  y = x;
  y.evidence.push_back(b("e"));
  expect(y, ctx, block_reject::bad_evidence_root);
}
