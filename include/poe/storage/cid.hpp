#pragma once
/// @file
/// Content identifiers compatible with IPFS (no CAF, RocksDB or FFmpeg include).
///
/// A chunk's id is a CIDv1 with the raw codec (0x55) and a sha2-256 multihash, written in
/// multibase base32 lower case (prefix `b`, RFC 4648 alphabet, no padding):
///
///     bytes  = varint(1) ‖ varint(codec) ‖ varint(0x12) ‖ varint(32) ‖ SHA-256(data)
///     text   = "b" ‖ base32_lower(bytes)
///
/// so a chunk's CID equals what IPFS computes for the same bytes as a raw leaf
/// (`ipfs add --raw-leaves --cid-version 1` of a file that fits one chunk). Manifests use the
/// same form with the private-use codec `codec_manifest` (0x300001, "poe-manifest-v1").
/// Varints are unsigned LEB128 (multiformats unsigned-varint).

#include "poe/core/error.hpp"
#include "poe/core/types.hpp"

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

namespace poe::storage {

constexpr std::uint64_t codec_raw = 0x55;
constexpr std::uint64_t codec_manifest = 0x300001; ///< multicodec private-use range
constexpr std::uint64_t multihash_sha2_256 = 0x12;

/// RFC 4648 base32, lower-case alphabet, no padding (multibase `b` without the prefix).
std::string base32_lower(byte_view data);
/// The inverse; accepts only lower-case alphabet characters of a canonical length.
result<bytes> base32_decode(std::string_view text);

class cid {
public:
  cid() = default;
  /// The raw-codec CID of `data`.
  static cid of(byte_view data);
  static cid of_digest(std::uint64_t codec, const hash256& sha256_digest);
  /// Parses "b…" (CIDv1, base32 lower). Refuses other versions, multibases, hash functions,
  /// digest lengths, codecs other than raw and manifest, and trailing bytes.
  static result<cid> parse(std::string_view text);
  static result<cid> from_bytes(byte_view binary);

  std::uint64_t codec() const { return codec_; }
  const hash256& digest() const { return digest_; }
  bool is_manifest() const { return codec_ == codec_manifest; }
  /// Binary form (see the file comment).
  bytes to_bytes() const;
  /// "b…".
  std::string str() const;
  /// SHA-256(data) equals the digest.
  bool matches(byte_view data) const;

  friend bool operator==(const cid&, const cid&) = default;
  friend auto operator<=>(const cid&, const cid&) = default;

private:
  cid(std::uint64_t codec, const hash256& digest) : codec_(codec), digest_(digest) {}
  std::uint64_t codec_ = codec_raw;
  hash256 digest_;
};

} // namespace poe::storage
