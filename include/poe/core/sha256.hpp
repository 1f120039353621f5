#pragma once
/// @file
/// SHA-256 over OpenSSL EVP. The digest algorithm is fetched once per process; a `sha256`
/// object owns one EVP_MD_CTX and can be reused for any number of digests.

#include "poe/core/types.hpp"

#include <initializer_list>
#include <memory>

namespace poe {

/// Streaming SHA-256. Not thread-safe; use one per thread (or `sha256::digest`).
class sha256 {
public:
  sha256();
  ~sha256();
  sha256(sha256&&) noexcept;
  sha256& operator=(sha256&&) noexcept;
  sha256(const sha256&) = delete;
  sha256& operator=(const sha256&) = delete;

  /// Feeds more bytes.
  sha256& update(byte_view data);
  sha256& update(std::uint8_t b) { return update(byte_view{&b, 1}); }
  /// Returns the digest of everything fed since construction or the last `finish`,
  /// and resets the object for the next digest.
  hash256 finish();

  /// One-shot digest of `data` (uses a thread-local context).
  static hash256 digest(byte_view data);
  /// One-shot digest of the concatenation of `parts`.
  static hash256 digest(std::initializer_list<byte_view> parts);

private:
  void reset();
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace poe
