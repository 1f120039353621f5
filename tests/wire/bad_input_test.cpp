// Scenarios (every decoder, Cap'n Proto and the fixed binary header):
// - every truncation of a valid encoding is an error (never a crash)
// - every single-bit flip either fails or decodes to bytes that re-encode identically
// - seeded random inputs of many sizes fail cleanly
// - a tiny input that claims a huge list does not allocate unboundedly (traversal limit)

#include "poe/core/poe_header.hpp"
#include "poe/wire/codec.hpp"
#include "samples.hpp"

#include <catch2/catch.hpp>

#include <functional>
#include <optional>
#include <random>

using namespace poe;

namespace {

struct decoder {
  const char* name;
  bytes sample;
  // Returns the re-encoding on success, or nothing on error.
  std::function<std::optional<bytes>(byte_view)> decode;
};

template <class T>
decoder make(const char* name, const T& sample, result<T> (*fn)(byte_view, const wire::limits&)) {
  return {name, wire::encode(sample), [fn](byte_view in) -> std::optional<bytes> {
            auto r = fn(in, wire::limits{});
            if (!r) return std::nullopt;
            return wire::encode(*r);
          }};
}

std::vector<decoder> decoders() {
  auto hdr = test::sample_header();
  return {
      make("task", test::sample_task(), wire::decode_task),
      make("task_result", test::sample_result(), wire::decode_task_result),
      make("step_receipt", test::sample_receipt(), wire::decode_step_receipt),
      make("log_block", test::sample_log_block(), wire::decode_log_block),
      make("poe_header", hdr, wire::decode_poe_header),
      make("envelope", test::sample_envelope(), wire::decode_envelope),
      {"poe_header_binary", *encode_binary(hdr),
       [](byte_view in) -> std::optional<bytes> {
         auto r = decode_binary_header(in);
         if (!r) return std::nullopt;
         return *encode_binary(*r);
       }},
  };
}

} // namespace

TEST_CASE("truncated inputs are errors") {
  for (const auto& d : decoders()) {
    INFO(d.name);
    for (std::size_t n = 0; n < d.sample.size(); ++n)
      CHECK_FALSE(d.decode(byte_view{d.sample}.first(n)));
    CHECK(d.decode(d.sample));
  }
}

TEST_CASE("bit flips fail or stay canonical") {
  for (const auto& d : decoders()) {
    INFO(d.name);
    for (std::size_t bit = 0; bit < d.sample.size() * 8; ++bit) {
      auto b = d.sample;
      b[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
      auto r = d.decode(b);
      if (r) CHECK(*r == b); // accepted only as another valid canonical object
    }
  }
}

TEST_CASE("random inputs fail cleanly") {
  std::mt19937_64 rng(20261123);
  for (const auto& d : decoders()) {
    INFO(d.name);
    for (int i = 0; i < 2000; ++i) {
      bytes b(rng() % 600);
      for (auto& x : b) x = static_cast<std::uint8_t>(rng());
      auto r = d.decode(b);
      if (r) CHECK(*r == b);
    }
  }
}

TEST_CASE("a huge claimed list in a tiny input is refused") {
  // Root struct pointer, then a list pointer claiming 2^29-1 elements of 8-byte structs.
  bytes b(32, 0);
  b[0] = 0x00; // struct pointer, offset 0
  b[4] = 0x01; // data words = 1
  b[6] = 0x04; // pointer words = 4
  // first pointer: list, element size 7 (composite), word count huge
  b[16] = 0x01;
  b[20] = 0xff;
  b[21] = 0xff;
  b[22] = 0xff;
  b[23] = 0xff;
  for (const auto& d : decoders()) CHECK_FALSE(d.decode(b));
}
