#include "poe/core/keyed_hash.hpp"

#include <sodium.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace poe {

namespace {

/// The process's SipHash key, drawn from the operating system once (libsodium's
/// randombytes): only hash tables use it, so it does not touch the protocol's determinism.
const std::array<unsigned char, crypto_shorthash_KEYBYTES>& process_key() {
  static const auto key = [] {
    if (sodium_init() < 0) throw std::runtime_error("libsodium: sodium_init failed");
    std::array<unsigned char, crypto_shorthash_KEYBYTES> k{};
    randombytes_buf(k.data(), k.size());
    return k;
  }();
  return key;
}

} // namespace

std::size_t keyed_hash(const void* data, std::size_t size) {
  static const auto& key = process_key();
  unsigned char out[crypto_shorthash_BYTES];
  crypto_shorthash(out, static_cast<const unsigned char*>(data), size, key.data());
  std::uint64_t v;
  std::memcpy(&v, out, sizeof v);
  return static_cast<std::size_t>(v);
}

} // namespace poe
