#pragma once
// libsodium initialised once for the process (internal to poe_core: keys.cpp, keyed_hash.cpp).

#include <sodium.h>

#include <stdexcept>

namespace poe::detail {

/// Initialises libsodium on first use (thread-safe, idempotent); whether it could.
inline bool sodium_ready() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

/// sodium_ready(), throwing if libsodium cannot be initialised.
inline void require_sodium() {
  if (!sodium_ready()) throw std::runtime_error("libsodium: sodium_init failed");
}

} // namespace poe::detail
