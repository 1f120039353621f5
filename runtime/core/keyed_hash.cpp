#include "poe/core/keyed_hash.hpp"

#include "sodium_ready.hpp"

#include <array>
#include <cstdint>
#include <cstring>

namespace poe {

std::size_t keyed_hash(const void* data, std::size_t size) {
  // The process's SipHash key, drawn from the operating system once (libsodium's randombytes):
  // only hash tables use it, so it does not touch the protocol's determinism.
  static const auto key = [] {
    detail::require_sodium();
    std::array<unsigned char, crypto_shorthash_KEYBYTES> k{};
    randombytes_buf(k.data(), k.size());
    return k;
  }();
  unsigned char out[crypto_shorthash_BYTES];
  crypto_shorthash(out, static_cast<const unsigned char*>(data), size, key.data());
  std::uint64_t v;
  std::memcpy(&v, out, sizeof v);
  return static_cast<std::size_t>(v);
}

} // namespace poe
