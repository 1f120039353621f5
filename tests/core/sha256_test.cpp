// Scenarios:
// - FIPS 180-2 vectors ("", "abc", the 448-bit message, one million 'a')
// - streaming in pieces equals one-shot; an object is reusable after finish
// - digest of parts equals digest of the concatenation

#include "poe/core/sha256.hpp"
#include "test_util.hpp"

#include <catch2/catch.hpp>

using namespace poe;
using poe::test::to_bytes;

TEST_CASE("SHA-256 FIPS vectors") {
  CHECK(sha256::digest(byte_view{}).hex() ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256::digest(as_bytes("abc")).hex() ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256::digest(as_bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).hex() ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  sha256 h;
  bytes thousand(1000, 'a');
  for (int i = 0; i < 1000; ++i) h.update(thousand);
  CHECK(h.finish().hex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("SHA-256 streaming and reuse") {
  auto msg = to_bytes("the quick brown fox jumps over the lazy dog");
  sha256 h;
  for (std::size_t i = 0; i < msg.size(); i += 5)
    h.update(byte_view{msg}.subspan(i, std::min<std::size_t>(5, msg.size() - i)));
  auto streamed = h.finish();
  CHECK(streamed == sha256::digest(msg));
  // Reused after finish: starts from scratch.
  CHECK(h.update(msg).finish() == streamed);
  CHECK(sha256::digest({byte_view{msg}.first(10), byte_view{msg}.subspan(10)}) == streamed);
}
