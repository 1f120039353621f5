// Scenarios:
// - hex encodes lower case and decodes either case
// - odd length and non-hex digits are errors that name the position
// - fixed_bytes accept exactly their size, from bytes and from hex
// - big-endian helpers round-trip

#include "poe/core/types.hpp"

#include <catch2/catch.hpp>

using namespace poe;

TEST_CASE("hex round trip") {
  bytes b{0x00, 0x01, 0xab, 0xff};
  CHECK(to_hex(b) == "0001abff");
  auto back = from_hex("0001ABff");
  REQUIRE(back);
  CHECK(*back == b);
  CHECK(to_hex({}) == "");
  CHECK(from_hex("")->empty());
}

TEST_CASE("hex errors name the problem") {
  auto odd = from_hex("abc");
  REQUIRE_FALSE(odd);
  CHECK(odd.err().code == errc::bad_hex);
  CHECK(odd.err().message.find("odd length") != std::string::npos);
  auto bad = from_hex("00zz");
  REQUIRE_FALSE(bad);
  CHECK(bad.err().message.find("position 2") != std::string::npos);
}

TEST_CASE("fixed_bytes take exactly their size") {
  CHECK_FALSE(request_id::from_hex("00"));
  CHECK(request_id::from_hex(std::string(32, 'a')));
  CHECK_FALSE(hash256::from_hex(std::string(62, 'a')));
  CHECK_FALSE(hash256::from_hex(std::string(63, 'a')));
  auto h = hash256::from_hex(std::string(64, 'F'));
  REQUIRE(h);
  CHECK(h->hex() == std::string(64, 'f'));
  bytes sixteen(16, 7);
  CHECK(request_id::from_view(sixteen));
  CHECK_FALSE(node_id::from_view(sixteen));
  CHECK(hash256{}.is_zero());
}

TEST_CASE("fixed_bytes order and equality") {
  hash256 a, b;
  b.data[31] = 1;
  CHECK(a < b);
  CHECK(a != b);
  CHECK(fixed_bytes_hash{}(a) == fixed_bytes_hash{}(hash256{}));
}

TEST_CASE("big-endian u64 helpers") {
  std::uint8_t buf[8];
  put_u64_be(buf, 0x0102030405060708ull);
  CHECK(buf[0] == 1);
  CHECK(buf[7] == 8);
  CHECK(get_u64_be(buf) == 0x0102030405060708ull);
}
