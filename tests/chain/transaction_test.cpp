// Scenarios:
// - the encoding of a transaction with fixed fields equals the byte layout written out by hand
// - every body type, with Ed25519 and RSA-2048 senders, round-trips: decode(encode(tx)) == tx
//   and re-encoding the decoded transaction gives the input bytes
// - a trailing byte, every truncation, an unknown version / body type / role, a bad chain id,
//   an empty or oversized key and an oversized signature are decode errors
// - every single-byte change of an encoding either fails to decode or decodes to a
//   transaction whose encoding is exactly the changed bytes (bytes ↔ transactions one to one)
// - the signing payload is the encoding without the signature field; tx_id is SHA-256 of the
//   encoding
// - a signed transaction passes check_transaction; changing any signed field, signing for
//   another domain or with another key, or truncating the signature fails with bad_signature
// - every context-free reject reason: bad_encoding, wrong_chain, bad_key, bad_signature,
//   oversized, zero_amount (each body), self_transfer; cheap checks come first
// - names of roles and reasons are stable and parse back

#include "chain_test_util.hpp"

#include "poe/core/domain.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace poe;
using namespace poe::chain;
using chain::test::make_tx;

namespace {

const private_key& rsa_key() {
  static auto k = *private_key::generate(key_type::rsa2048);
  return k;
}

std::vector<transaction> samples() {
  std::vector<transaction> out;
  out.push_back(make_tx(1, 0, transfer{test::id(2), amount{5}}));
  out.push_back(make_tx(1, 7, stake{stake_role::executor, amount{1'000}}, amount{3}));
  out.push_back(make_tx(2, ~0ull, unstake{stake_role::builder, amount{~0ull}}, amount{~0ull}));
  transaction rsa;
  rsa.chain_id = test::chain;
  rsa.nonce = 42;
  rsa.fee = amount{1};
  rsa.body = stake{stake_role::storage, amount{9}};
  sign(rsa, rsa_key());
  out.push_back(rsa);
  // Content and channels.
  job_output s;
  s.job = "job-1";
  s.owner = test::id(1);
  s.outputs = {{"a.ts", "bafkreia", 10}, {"b.ts", "bafkreib", 20}};
  sign(s, test::key(20), test::chain);
  out.push_back(make_tx(1, 8, content_publish{s, amount{3}, split_rule{}}));
  out.push_back(make_tx(1, 9, channel_open{test::id(2), amount{500}, 1000}));
  auto ch = channel_id(test::id(1), 9);
  out.push_back(make_tx(1, 10, channel_topup{ch, amount{5}}));
  tick_chain t(sha256::digest(as_bytes("seed")), 20);
  lane_commit c{ch, 0, content_id(s), t.top(), 20, amount{2}, {}};
  sign(c, test::key(1), test::chain);
  voucher v{ch, 0, 5, t.at(5), {}};
  sign(v, test::key(1), test::chain);
  out.push_back(make_tx(2, 0, channel_claim{ch, {lane_claim{c, v, 7, t.at(7)}, lane_claim{c, std::nullopt, 3, t.at(3)}}}));
  out.push_back(make_tx(2, 1, channel_close{ch, {}}));
  out.push_back(make_tx(1, 11, channel_collect{ch}));
  // Paid work.
  out.push_back(make_tx(1, 12, job_fund{test::id(3), "1700000000000-7", amount{900}, amount{2}, 100'000, 77}));
  auto e = job_escrow_id(test::id(3), "1700000000000-7");
  out.push_back(make_tx(3, 0, job_pay{e, {task_payment{0, test::id(4), 7}, task_payment{~0u, test::id(5), ~0ull}}}));
  out.push_back(make_tx(3, 1, job_close{e}));
  return out;
}

} // namespace

TEST_CASE("the encoding is the documented byte layout") {
  transaction tx;
  tx.chain_id = "ab";
  tx.sender_key = {0xAA, 0xBB};
  tx.nonce = 0x0102030405060708;
  tx.fee = amount{0x10};
  node_id to;
  to.data.fill(0x77);
  tx.body = transfer{to, amount{0x0A0B}};
  tx.signature = {0xCC};

  bytes expected{0x01, 0x00, 0x02, 'a', 'b', 0x00, 0x02, 0xAA, 0xBB, 1, 2, 3,    4,
                 5,    6,    7,    8,   0,   0,    0,    0,    0,    0, 0, 0x10, 0x01};
  for (int i = 0; i < 32; ++i)
    expected.push_back(0x77);
  for (std::uint8_t b : {0, 0, 0, 0, 0, 0, 0x0A, 0x0B})
    expected.push_back(b);
  auto payload = expected;
  for (std::uint8_t b : {0x00, 0x01, 0xCC})
    expected.push_back(b);
  CHECK(encode(tx) == expected);
  CHECK(signing_payload(tx) == payload);

  tx.body = unstake{stake_role::storage, amount{1}};
  auto enc = encode(tx);
  bytes tail{0x03, 0x03, 0, 0, 0, 0, 0, 0, 0, 1, 0x00, 0x01, 0xCC};
  REQUIRE(enc.size() == 25 + tail.size());
  CHECK(bytes(enc.begin() + 25, enc.end()) == tail);
  tx.body = stake{stake_role::builder, amount{2}};
  enc = encode(tx);
  CHECK(enc[25] == 0x02);
  CHECK(enc[26] == 0x04);
}

TEST_CASE("transactions round-trip and re-encode to the same bytes") {
  for (const auto& tx : samples()) {
    auto enc = encode(tx);
    auto dec = decode_transaction(enc);
    REQUIRE(dec);
    CHECK(*dec == tx);
    CHECK(encode(*dec) == enc);
    CHECK(tx_id(*dec) == sha256::digest(enc));
    CHECK(check_transaction(*dec, test::chain, 4096));
  }
}

TEST_CASE("trailing bytes and truncations are decode errors") {
  for (const auto& tx : samples()) {
    auto enc = encode(tx);
    auto longer = enc;
    longer.push_back(0);
    auto dec = decode_transaction(longer);
    REQUIRE_FALSE(dec);
    CHECK(dec.err().message.find("trailing") != std::string::npos);
    for (std::size_t n = 0; n < enc.size(); ++n) {
      auto cut = decode_transaction(byte_view{enc.data(), n});
      INFO("prefix of " << n << " bytes");
      REQUIRE_FALSE(cut);
      CHECK(cut.err().code == errc::decode_error);
    }
  }
}

TEST_CASE("unknown values and out-of-bound fields are decode errors") {
  auto tx = make_tx(1, 0, stake{stake_role::validator, amount{5}});
  auto enc = encode(tx);
  const std::size_t chain_len = test::chain.size();
  const std::size_t body_at = 1 + 2 + chain_len + 2 + tx.sender_key.size() + 16;
  auto expect_error = [](bytes b, std::string_view what) {
    auto dec = decode_transaction(b);
    REQUIRE_FALSE(dec);
    INFO(dec.err().message);
    CHECK(dec.err().message.find(what) != std::string::npos);
  };
  auto b = enc;
  b[0] = 2;
  expect_error(b, "version");
  b = enc;
  b[body_at] = 13;
  expect_error(b, "body type");
  b[body_at] = 0;
  expect_error(b, "body type");
  b = enc;
  b[body_at + 1] = 0;
  expect_error(b, "role");
  b[body_at + 1] = 7; // 6 is gateway
  expect_error(b, "role");
  b = enc;
  b[3] = ' '; // a space inside the chain id
  expect_error(b, "chain_id");

  // Length fields beyond their bounds (the bytes need not even be present).
  auto with_chain = [](std::size_t len) {
    bytes out{1, static_cast<std::uint8_t>(len >> 8), static_cast<std::uint8_t>(len)};
    out.resize(out.size() + len, 'x');
    return out;
  };
  expect_error(with_chain(0), "chain_id");
  expect_error(with_chain(65), "chain_id is 65 bytes");
  auto key_len = [&](std::size_t len) {
    auto out = with_chain(chain_len);
    out.push_back(static_cast<std::uint8_t>(len >> 8));
    out.push_back(static_cast<std::uint8_t>(len));
    out.resize(out.size() + len, 0x30);
    return out;
  };
  expect_error(key_len(0), "sender_key is empty");
  expect_error(key_len(1025), "sender_key is 1025 bytes");
  b = enc;
  b[b.size() - tx.signature.size() - 2] = 0x02; // signature length 512 + 64 > 512
  expect_error(b, "signature is");
}

TEST_CASE("every single-byte change decodes to nothing or to exactly those bytes") {
  for (const auto& tx : samples()) {
    auto enc = encode(tx);
    for (std::size_t i = 0; i < enc.size(); ++i) {
      for (std::uint8_t flip : {0x01, 0x80, 0xFF}) {
        auto b = enc;
        b[i] ^= flip;
        auto dec = decode_transaction(b);
        if (dec) {
          INFO("byte " << i << " ^ " << int(flip));
          CHECK(encode(*dec) == b);
        }
      }
    }
  }
}

TEST_CASE("signatures verify and any tampering is detected") {
  auto base = make_tx(1, 3, transfer{test::id(2), amount{50}}, amount{2});
  REQUIRE(check_transaction(base, test::chain, 4096));
  CHECK(verify_in_domain(test::key(1).pub(), test::chain, msg_type::transaction,
                         signing_payload(base), base.signature));

  auto expect_bad = [](const transaction& tx, std::string_view chain_id = test::chain) {
    auto s = check_transaction(tx, chain_id, 4096);
    REQUIRE_FALSE(s);
    CHECK(s.reason() == reject_reason::bad_signature);
  };
  auto t = base;
  t.nonce = 4;
  expect_bad(t);
  t = base;
  t.fee = amount{1};
  expect_bad(t);
  t = base;
  std::get<transfer>(t.body).value = amount{51};
  expect_bad(t);
  t = base;
  std::get<transfer>(t.body).to = test::id(3);
  expect_bad(t);
  t = base;
  t.body = stake{stake_role::validator, amount{50}};
  expect_bad(t);
  t = base;
  t.chain_id = "poe-other";
  expect_bad(t, "poe-other");
  t = base;
  t.sender_key = test::key(3).pub().der(); // someone else's key, same signature
  expect_bad(t);
  t = base;
  t.signature = test::key(1).sign(signing_payload(base)); // not domain-separated
  expect_bad(t);
  t = base;
  t.signature = sign_in_domain(test::key(1), test::chain, msg_type::commit, signing_payload(base));
  expect_bad(t);
  t = base;
  t.signature.pop_back();
  expect_bad(t);
  t = base;
  t.signature.clear();
  expect_bad(t);
  t = base;
  t.signature[10] ^= 1;
  expect_bad(t);

  auto stake_tx = make_tx(1, 0, stake{stake_role::storage, amount{5}});
  std::get<stake>(stake_tx.body).role = stake_role::builder;
  expect_bad(stake_tx);
}

TEST_CASE("every context-free reject reason") {
  auto check = [](const transaction& tx, std::size_t max = 4096) {
    return check_transaction(tx, test::chain, max);
  };
  auto good = make_tx(1, 0, transfer{test::id(2), amount{5}});
  auto size = encode(good).size();
  CHECK(check(good, size));

  auto s = check(good, size - 1);
  CHECK(s.reason() == reject_reason::oversized);
  CHECK(s.message().find(std::to_string(size)) != std::string::npos);

  s = check_transaction(good, "poe-other", 4096);
  CHECK(s.reason() == reject_reason::wrong_chain);
  CHECK(s.text().rfind("wrong_chain: ", 0) == 0);

  auto t = good;
  t.sender_key = {0x30, 0x03, 0x02, 0x01, 0x00};
  CHECK(check(t).reason() == reject_reason::bad_key);
  t.sender_key.assign(max_sender_key_size + 1, 0x30);
  CHECK(check(t).reason() == reject_reason::bad_encoding);
  t = good;
  t.signature.assign(max_signature_size + 1, 0);
  CHECK(check(t).reason() == reject_reason::bad_encoding);
  t = good;
  t.chain_id = "bad chain";
  CHECK(check_transaction(t, "bad chain", 4096).reason() == reject_reason::bad_encoding);
  auto role = make_tx(1, 0, stake{static_cast<stake_role>(9), amount{1}});
  CHECK(check(role).reason() == reject_reason::bad_encoding);
  role = make_tx(1, 0, unstake{static_cast<stake_role>(0), amount{1}});
  CHECK(check(role).reason() == reject_reason::bad_encoding);

  CHECK(check(make_tx(1, 0, transfer{test::id(2), amount{0}})).reason() ==
        reject_reason::zero_amount);
  CHECK(check(make_tx(1, 0, stake{stake_role::executor, amount{0}})).reason() ==
        reject_reason::zero_amount);
  CHECK(check(make_tx(1, 0, unstake{stake_role::executor, amount{0}})).reason() ==
        reject_reason::zero_amount);
  CHECK(check(make_tx(1, 0, transfer{test::id(1), amount{1}})).reason() ==
        reject_reason::self_transfer);

  t = good;
  t.nonce = 1;
  CHECK(check(t).reason() == reject_reason::bad_signature);

  // Cheapest first: an oversized transaction for another chain with a bad signature is
  // reported as oversized; a wrong chain before a bad key.
  t = good;
  t.chain_id = "poe-other";
  t.signature[0] ^= 1;
  CHECK(check(t, 10).reason() == reject_reason::oversized);
  t.sender_key = {1, 2, 3};
  CHECK(check(t).reason() == reject_reason::wrong_chain);
}

TEST_CASE("role and reason names are stable") {
  for (auto r : all_stake_roles) {
    auto back = parse_stake_role(to_string(r));
    REQUIRE(back);
    CHECK(*back == r);
    CHECK(*to_stake_role(static_cast<std::uint8_t>(r)) == r);
  }
  CHECK(to_string(stake_role::validator) == "validator");
  CHECK(to_string(stake_role::builder) == "builder");
  auto bad = parse_stake_role("miner");
  REQUIRE_FALSE(bad);
  CHECK(bad.err().message.find("validator, executor, storage, builder, verifier or gateway") != std::string::npos);
  CHECK_FALSE(to_stake_role(0));
  CHECK(to_string(stake_role::verifier) == "verifier");
  CHECK(to_string(stake_role::gateway) == "gateway");
  CHECK_FALSE(to_stake_role(7));

  CHECK(to_string(reject_reason::stale_nonce) == "stale_nonce");
  CHECK(to_string(reject_reason::insufficient_funds) == "insufficient_funds");
  std::set<std::string_view> names;
  for (int r = 1; r <= static_cast<int>(reject_reason::not_executor); ++r)
    names.insert(to_string(static_cast<reject_reason>(r)));
  CHECK(names.size() == static_cast<std::size_t>(reject_reason::not_executor));
  CHECK_FALSE(names.contains("unknown"));
  CHECK(tx_status{}.text() == "accepted");
}

TEST_CASE("a verified signature is checked once and a changed one again") {
  auto tx = make_tx(10, 0, transfer{chain::test::id(11), amount{5}});
  verified_txs known;
  REQUIRE(check_transaction(tx, chain::test::chain, 4096, &known));
  CHECK(known.contains(tx_id(tx)));
  CHECK(check_transaction(tx, chain::test::chain, 4096, &known)); // from the cache
  auto forged = tx;
  forged.signature[3] ^= 1; // another id: verified, and refused
  auto st = check_transaction(forged, chain::test::chain, 4096, &known);
  REQUIRE_FALSE(st);
  CHECK(st.reason() == reject_reason::bad_signature);
  CHECK_FALSE(known.contains(tx_id(forged)));
  // Context-free checks still run for cached ids.
  CHECK(check_transaction(tx, "other-chain", 4096, &known).reason() == reject_reason::wrong_chain);

  verified_txs tiny(2); // bounded: forgets everything when full
  tiny.insert(tx_id(tx));
  tiny.insert(tx_id(forged));
  tiny.insert(hash256{});
  CHECK(tiny.size() == 1);
}

TEST_CASE("parsed keys come from a cache that keeps ids and refusals exact") {
  auto der = chain::test::key(3).pub().der();
  auto a = public_key::from_der(der);
  auto b = public_key::from_der(der);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->id() == b->id());
  CHECK(a->id() == chain::test::key(3).id());
  auto longer = der;
  longer.push_back(0); // never cached: refused every time
  CHECK_FALSE(public_key::from_der(longer));
  CHECK_FALSE(public_key::from_der(longer));
  CHECK(public_key::from_der(der));
}
