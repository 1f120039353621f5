#pragma once
/// @file
/// Files as chunks and a manifest (no CAF, RocksDB or FFmpeg include).
///
/// A file is cut into chunks of `chunk_size` bytes (default 256 KiB; the last one shorter),
/// each stored under its raw CID. The manifest lists them in order and is itself stored and
/// addressed: its CID has the codec `codec_manifest` (0x300001) and the SHA-256 of its
/// encoding. Encoding (integers big-endian):
///
///     manifest = "poe/manifest/v1" (15 bytes) ‖ u8 len ‖ media_type ‖ u64 total_size ‖
///                u32 chunk_size ‖ u32 count ‖ (u8 len ‖ chunk CID bytes ‖ u64 size)^count
///
/// Canonical and checked on decode: sizes add up to total_size, every chunk but the last is
/// exactly chunk_size, the last is 1..chunk_size, every chunk CID is raw, count matches the
/// sizes, media_type is printable ASCII (at most 255 bytes), nothing trails.

#include "poe/storage/cid.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace poe::storage {

constexpr std::uint32_t default_chunk_size = 256 * 1024;
constexpr std::uint32_t max_chunk_size = 4 * 1024 * 1024;

struct chunk_ref {
  cid id;
  std::uint64_t size = 0;
  friend bool operator==(const chunk_ref&, const chunk_ref&) = default;
};

struct manifest {
  std::string media_type = "application/octet-stream";
  std::uint64_t total_size = 0;
  std::uint32_t chunk_size = default_chunk_size;
  std::vector<chunk_ref> chunks;
  friend bool operator==(const manifest&, const manifest&) = default;
};

bytes encode(const manifest& m);
/// `max_total`: the largest object accepted (its chunk count is bounded by it too).
result<manifest> decode_manifest(byte_view data, std::uint64_t max_total = 1ull << 40);
/// The manifest's own CID (codec_manifest).
cid manifest_cid(const manifest& m);

/// Builds a manifest while a file streams through, one chunk at a time (the caller stores
/// each chunk): add() takes chunk_size bytes except for the last call.
class manifest_builder {
public:
  explicit manifest_builder(std::string media_type, std::uint32_t chunk_size = default_chunk_size);
  /// The chunk's CID; an error if a previous chunk was short or this one is empty/too long.
  result<cid> add(byte_view chunk);
  /// The finished manifest (at least one chunk unless the file is empty).
  manifest finish() &&;

private:
  manifest m_;
  bool closed_ = false;
};

} // namespace poe::storage
