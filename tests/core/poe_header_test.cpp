// Scenarios:
// - the binary header is 176 bytes with Ed25519 and 368 with RSA-2048, fields at the
//   documented offsets, integers big-endian
// - encode/decode round trip; other lengths are refused
// - sign/verify; tampering with any field, a foreign key, another chain all fail

#include "poe/core/poe_header.hpp"

#include <catch2/catch.hpp>

using namespace poe;

namespace {

poe_header sample() {
  poe_header h;
  for (int i = 0; i < 32; ++i) {
    h.logbook_root.data[i] = static_cast<std::uint8_t>(0x10 + i);
    h.execution_hash.data[i] = static_cast<std::uint8_t>(0x80 + i);
  }
  h.timestamp = 0x0102030405060708ull;
  h.rent_payment = 1000;
  return h;
}

} // namespace

TEST_CASE("binary PoE header layout") {
  for (auto t : {key_type::ed25519, key_type::rsa2048}) {
    auto key = *private_key::generate(t);
    auto h = sample();
    sign_header(h, key, "devnet");
    CHECK(h.bpi == key.id());
    auto bin = encode_binary(h);
    REQUIRE(bin);
    CHECK(bin->size() == (t == key_type::ed25519 ? 176u : 368u));
    CHECK(std::equal(h.bpi.data.begin(), h.bpi.data.end(), bin->begin()));
    CHECK((*bin)[32] == 0x10);
    CHECK((*bin)[64] == 0x80);
    CHECK((*bin)[96] == 0x01); // timestamp, big-endian
    CHECK((*bin)[103] == 0x08);
    CHECK((*bin)[111] == 0xe8); // 1000 = 0x03e8
    CHECK((*bin)[110] == 0x03);
    CHECK(std::equal(h.signature.begin(), h.signature.end(), bin->begin() + 112));
    auto back = decode_binary_header(*bin);
    REQUIRE(back);
    CHECK(*back == h);
    CHECK(verify_header(*back, key.pub(), "devnet"));
    CHECK(header_id(*back) == header_id(h));
  }
}

TEST_CASE("binary PoE header rejects wrong lengths") {
  for (std::size_t n : {0u, 1u, 111u, 112u, 175u, 177u, 367u, 369u, 1000u}) {
    bytes b(n, 0);
    CHECK_FALSE(decode_binary_header(b));
  }
  auto h = sample();
  h.signature.assign(63, 0);
  CHECK_FALSE(encode_binary(h));
}

TEST_CASE("PoE header signature checks") {
  auto key = *private_key::generate(key_type::ed25519);
  auto h = sample();
  sign_header(h, key, "devnet");
  REQUIRE(verify_header(h, key.pub(), "devnet"));
  CHECK_FALSE(verify_header(h, key.pub(), "mainnet"));
  auto other = *private_key::generate(key_type::ed25519);
  CHECK(verify_header(h, other.pub(), "devnet").err().message.find("bpi_id") != std::string::npos);
  auto t = h;
  t.rent_payment += 1;
  CHECK(verify_header(t, key.pub(), "devnet").err().message.find("bad signature") != std::string::npos);
  t = h;
  t.timestamp -= 1;
  CHECK_FALSE(verify_header(t, key.pub(), "devnet"));
  t = h;
  t.logbook_root.data[0] ^= 1;
  CHECK_FALSE(verify_header(t, key.pub(), "devnet"));
  t = h;
  t.execution_hash.data[31] ^= 1;
  CHECK_FALSE(verify_header(t, key.pub(), "devnet"));
  auto rsa = *private_key::generate(key_type::rsa2048);
  t = h;
  t.bpi = rsa.id();
  CHECK(verify_header(t, rsa.pub(), "devnet").err().message.find("256") != std::string::npos);
}
