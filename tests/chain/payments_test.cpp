// Content and channel objects (payments.hpp), without a ledger:
// - the split: exact integer shares that always sum to the payment, the remainder to the
//   creator, over many seeded amounts and rules; parsing "70/10/15/5" and refusing bad text;
// - job outputs: round trip, canonical order, signature by the verifier, content id names the
//   outputs only;
// - lanes: the payer's hash chain, ticks checked one hash at a time in any order, vouchers as
//   checkpoints, and every way a claim can be wrong (signature, lane, index, tick, hash bound);
// - every decoder refuses truncation, trailing bytes and out-of-bound fields.
#include "chain_test_util.hpp"

#include "poe/chain/payments.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace poe;
using namespace poe::chain;
using poe::chain::test::key;

namespace {

const std::string chain_id = "poe-test";

job_output sample_output() {
  job_output s;
  s.job = "job-7f3a";
  s.owner = key(10).id();
  s.outputs = {{"seg0-240p.ts", "bafkrei240", 1000}, {"seg0-720p.ts", "bafkrei720", 9000}};
  sign(s, key(20), chain_id);
  return s;
}

hash256 h(std::string_view s) { return sha256::digest(as_bytes(s)); }

lane_commit commit_for(const tick_chain& t, std::uint32_t lane = 1) {
  lane_commit c{h("channel"), lane, h("content"), t.top(), t.length(), amount{5}, {}};
  sign(c, key(11), chain_id);
  return c;
}

voucher voucher_for(const tick_chain& t, std::uint32_t index, std::uint32_t lane = 1) {
  voucher v{h("channel"), lane, index, t.at(index), {}};
  sign(v, key(11), chain_id);
  return v;
}

} // namespace

TEST_CASE("the split is exact: shares sum to the payment, the remainder goes to the creator") {
  split_rule d;
  REQUIRE(check_split(d));
  CHECK(split_payment(amount{1000}, d) == split_shares{amount{700}, amount{100}, amount{150}, amount{50}});
  // 7 units: operators floor(0.7)=0, platform floor(1.05)=1, treasury floor(0.35)=0.
  CHECK(split_payment(amount{7}, d) == split_shares{amount{6}, amount{0}, amount{1}, amount{0}});
  CHECK(split_payment(amount{0}, d) == split_shares{});
  auto max = split_payment(amount{~std::uint64_t{0}}, d);
  CHECK(max.operators.units() == static_cast<std::uint64_t>(
                                     static_cast<unsigned __int128>(~std::uint64_t{0}) * 100'000 / 1'000'000));

  std::mt19937_64 rng(42);
  for (int i = 0; i < 20'000; ++i) {
    std::uint32_t a = rng() % 1'000'001, b = rng() % (1'000'001 - a), c = rng() % (1'000'001 - a - b);
    split_rule s{1'000'000 - a - b - c, a, b, c};
    REQUIRE(check_split(s));
    amount paid{i % 3 == 0 ? rng() : rng() % 10'000};
    auto x = split_payment(paid, s);
    auto sum = static_cast<unsigned __int128>(x.creator.units()) + x.operators.units() +
               x.platform.units() + x.treasury.units();
    REQUIRE(sum == paid.units());
    auto floor_of = [&](std::uint32_t ppm) {
      return static_cast<std::uint64_t>(static_cast<unsigned __int128>(paid.units()) * ppm / 1'000'000);
    };
    REQUIRE(x.operators.units() == floor_of(s.operators));
    REQUIRE(x.creator.units() >= floor_of(s.creator));
    REQUIRE(x.creator.units() - floor_of(s.creator) <= 3); // under one unit per share
  }
}

TEST_CASE("a split is parsed from percentages and must sum to 100") {
  CHECK(*parse_split("70/10/15/5") == split_rule{});
  CHECK(*parse_split("70.5/9.5/15/5") == split_rule{705'000, 95'000, 150'000, 50'000});
  CHECK(*parse_split("99.9999/0/0.0001/0") == split_rule{999'999, 0, 1, 0});
  CHECK(to_string(split_rule{705'000, 95'000, 150'000, 50'000}) == "70.5/9.5/15/5");
  for (auto bad : {"70/10/15", "70/10/15/5/0", "70/10/15/6", "70/10/15/-5", "70/10/15/5x", "",
                   "70//15/15", "70.12345/10/14.87655/5", "101/0/0/0", "70./10/15/5"})
    CHECK_FALSE(parse_split(bad));
  CHECK_FALSE(check_split(split_rule{700'000, 100'000, 150'000, 49'999}));
}

TEST_CASE("a job output is signed by its verifier and names its content by the outputs") {
  auto s = sample_output();
  CHECK(s.verifier == key(20).id());
  CHECK(verify(s, key(20).pub(), chain_id));
  CHECK_FALSE(verify(s, key(21).pub(), chain_id));
  CHECK_FALSE(verify(s, key(20).pub(), "other-chain"));
  auto bytes_ = encode(s);
  REQUIRE(*decode_job_output(bytes_) == s);

  // The content id depends on the outputs only.
  auto other = s;
  other.job = "job-other";
  other.owner = key(12).id();
  CHECK(content_id(other) == content_id(s));
  other.outputs[1].cid = "bafkreiother";
  CHECK(content_id(other) != content_id(s));
  auto tampered = s;
  tampered.outputs[0].size = 1001;
  CHECK_FALSE(verify(tampered, key(20).pub(), chain_id));

  // Shape: order, bounds, counts.
  auto unsorted = s;
  std::swap(unsorted.outputs[0], unsorted.outputs[1]);
  CHECK_FALSE(check_shape(unsorted));
  CHECK_FALSE(decode_job_output(encode(unsorted)));
  auto dup = s;
  dup.outputs[1].name = dup.outputs[0].name;
  CHECK_FALSE(check_shape(dup));
  auto empty = s;
  empty.outputs.clear();
  CHECK_FALSE(check_shape(empty));
  auto long_name = s;
  long_name.outputs[0].name = std::string(129, 'a');
  CHECK_FALSE(check_shape(long_name));
  for (std::size_t cut = 0; cut < bytes_.size(); cut += 7)
    CHECK_FALSE(decode_job_output(byte_view(bytes_).first(cut)));
  auto trailing = bytes_;
  trailing.push_back(0);
  CHECK_FALSE(decode_job_output(trailing));
}

TEST_CASE("ticks: one hash each, in any order, from the payer's chain") {
  tick_chain t(h("seed"), 100);
  REQUIRE(t.length() == 100);
  CHECK(t.at(100) == h("seed"));
  for (std::uint32_t i = 1; i <= 100; ++i) REQUIRE(tick_parent(t.at(i)) == t.at(i - 1));
  // The payee checks tick 40 against tick 37 (three hashes) or against the top (forty).
  CHECK(chain_reaches(t.at(40), 40, 37, t.at(37)));
  CHECK(chain_reaches(t.at(40), 40, 0, t.top()));
  CHECK_FALSE(chain_reaches(t.at(40), 41, 0, t.top()));
  CHECK_FALSE(chain_reaches(t.at(40), 39, 37, t.at(37)));
  CHECK(chain_reaches(t.at(5), 5, 5, t.at(5)));
  CHECK_FALSE(chain_reaches(t.at(5), 4, 5, t.at(5)));
}

TEST_CASE("a lane claim: commitment, optional voucher and highest tick, all checked") {
  tick_chain t(h("seed"), 1000);
  auto payer = key(11).pub();
  lane_claim c{commit_for(t), std::nullopt, 30, t.at(30)};
  CHECK(check_claim(c, payer, chain_id, 4096) == claim_error::none);
  REQUIRE(*decode_lane_claim(encode(c)) == c);

  SECTION("a voucher is a checkpoint: settling hashes from it") {
    c.checkpoint = voucher_for(t, 900);
    c.tick_index = 950;
    c.tick = t.at(950);
    CHECK(check_claim(c, payer, chain_id, 64) == claim_error::none); // 50 hashes, not 950
    REQUIRE(*decode_lane_claim(encode(c)) == c);
    c.tick_index = 900;
    c.tick = t.at(900);
    CHECK(check_claim(c, payer, chain_id, 0) == claim_error::none); // the voucher alone
    c.tick_index = 899;
    c.tick = t.at(899);
    CHECK(check_claim(c, payer, chain_id, 64) == claim_error::below_checkpoint);
  }
  SECTION("too long a walk from the newest checkpoint is refused") {
    c.tick_index = 500;
    c.tick = t.at(500);
    CHECK(check_claim(c, payer, chain_id, 499) == claim_error::too_many_hashes);
    CHECK(check_claim(c, payer, chain_id, 500) == claim_error::none);
  }
  SECTION("a wrong tick, index or lane is refused") {
    c.tick = t.at(31);
    CHECK(check_claim(c, payer, chain_id, 4096) == claim_error::bad_tick);
    c.tick_index = 1001;
    CHECK(check_claim(c, payer, chain_id, 4096) == claim_error::beyond_length);
    c.tick_index = 30;
    c.tick = t.at(30);
    c.checkpoint = voucher_for(t, 10, 2); // another lane's voucher
    CHECK(check_claim(c, payer, chain_id, 4096) == claim_error::voucher_mismatch);
  }
  SECTION("signatures are the payer's, in their own domains") {
    CHECK(check_claim(c, key(12).pub(), chain_id, 4096) == claim_error::bad_commit_signature);
    auto forged = c;
    forged.commit.price_per_tick = amount{6};
    CHECK(check_claim(forged, payer, chain_id, 4096) == claim_error::bad_commit_signature);
    c.checkpoint = voucher_for(t, 10);
    c.checkpoint->signature = sign_in_domain(key(11), chain_id, msg_type::lane_commit,
                                             signing_payload(*c.checkpoint));
    CHECK(check_claim(c, payer, chain_id, 4096) == claim_error::bad_voucher_signature);
  }
}

TEST_CASE("lane decoders refuse bad encodings") {
  tick_chain t(h("seed"), 10);
  lane_claim c{commit_for(t), voucher_for(t, 4), 6, t.at(6)};
  auto b = encode(c);
  REQUIRE(decode_lane_claim(b));
  for (std::size_t cut = 0; cut < b.size(); ++cut) REQUIRE_FALSE(decode_lane_claim(byte_view(b).first(cut)));
  auto trailing = b;
  trailing.push_back(1);
  CHECK_FALSE(decode_lane_claim(trailing));
  auto flag = b;
  flag[encode(c.commit).size()] = 2; // the voucher flag
  CHECK_FALSE(decode_lane_claim(flag));
  auto zero_price = c.commit;
  zero_price.price_per_tick = amount{0};
  CHECK_FALSE(decode_lane_commit(encode(zero_price)));
  auto zero_length = c.commit;
  zero_length.length = 0;
  CHECK_FALSE(decode_lane_commit(encode(zero_length)));
  REQUIRE(*decode_lane_commit(encode(c.commit)) == c.commit);
  REQUIRE(*decode_voucher(encode(*c.checkpoint)) == *c.checkpoint);
  CHECK(commit_id(c.commit) != commit_id(commit_for(t, 2)));
}

TEST_CASE("a playback token is the viewer's signature, carried as base64url in a URL path") {
  playback_token t;
  t.gateway = key(12).id();
  t.content = h("content");
  t.channel = h("channel");
  t.lane = 3;
  t.not_after_ms = 1'700'000'000'000;
  sign(t, key(11), chain_id);
  auto viewer = verify(t, chain_id);
  REQUIRE(viewer);
  CHECK(*viewer == key(11).id());
  auto url = to_url(t);
  CHECK(url.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == std::string::npos);
  auto back = playback_token_from_url(url);
  REQUIRE(back);
  CHECK(*back == t);
  // Another chain, any changed field, another signer: refused.
  CHECK_FALSE(verify(t, "other-chain"));
  for (auto change : {0, 1, 2, 3}) {
    auto x = t;
    if (change == 0) x.lane = 4;
    if (change == 1) x.not_after_ms += 1;
    if (change == 2) x.content = h("other");
    if (change == 3) x.gateway = key(13).id();
    CHECK_FALSE(verify(x, chain_id));
  }
  auto forged = t;
  forged.viewer_key = key(13).pub().der(); // the signature is key(11)'s
  CHECK_FALSE(verify(forged, chain_id));
  // Not base64url, not canonical, truncated, trailing bytes.
  CHECK_FALSE(playback_token_from_url(""));
  CHECK_FALSE(playback_token_from_url(url + "="));
  CHECK_FALSE(playback_token_from_url(url.substr(0, url.size() - 5)));
  CHECK_FALSE(playback_token_from_url(url + "AAAA"));
  CHECK_FALSE(playback_token_from_url("a+b/"));
}
