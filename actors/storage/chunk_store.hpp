#pragma once
// The storage role's engine: chunks and manifests in the node's RocksDB store (column family
// "storage"), addressed by CID, with pins, references and owners. No CAF: the actor
// (storage_actor.cpp) is a thin adapter, and this class is tested directly.
//
// Keys (cid = CID binary form):
//   c/ cid → chunk bytes          m/ cid → manifest bytes (codec poe-manifest)
//   r/ cid → u32 manifests that reference the chunk
//   p/ cid → pin marker           o/ cid → owner ‖ u64 stored_at_ms (a manifest's owner)
//
// Invariants: a manifest is written only after every chunk it names is present (so nothing
// is half-visible after a full disk or a crash), in one batch with its reference counts; a
// chunk is written only if its bytes match its CID; every read re-hashes.

#include "poe/store/store.hpp"
#include "poe/storage/manifest.hpp"
#include "poe/storage/placement.hpp"

#include <optional>
#include <string>
#include <vector>

namespace poe::actors {

class chunk_store {
public:
  static constexpr const char* column_family = "storage";

  /// `max_object`: largest file (manifest total size) accepted.
  chunk_store(store::db& db, std::uint64_t max_object = 4ull << 30);

  /// Stores a chunk (idempotent); its raw CID.
  result<storage::cid> put_chunk(byte_view data);
  /// Stores a chunk that must match `id` (replication); errc::verify_failed if it does not.
  status put_chunk(const storage::cid& id, byte_view data);
  /// The chunk's bytes, re-hashed: errc::verify_failed "corrupt" when they do not match, and
  /// errc::invalid_argument "not stored" when missing.
  result<bytes> get_chunk(const storage::cid& id) const;
  bool has(const storage::cid& id) const;

  /// Stores a manifest whose chunks are all present (else the first missing one is named).
  /// `require_chunks` false: a replica of the manifest on a node that holds only some chunks
  /// (references are counted for the chunks held here).
  result<storage::cid> put_manifest(byte_view encoded, const std::string& owner,
                                    std::uint64_t now_ms, bool require_chunks = true);
  /// Replaces a chunk found corrupt with bytes that match its CID (repair from a replica).
  status repair_chunk(const storage::cid& id, byte_view data);
  /// Every stored chunk and manifest CID.
  result<std::vector<storage::cid>> all() const;
  /// The first stored chunk whose CID is at or after `point` in key order, wrapping around:
  /// a uniformly placed random `point` picks a chunk with one seek, not a scan.
  std::optional<storage::cid> chunk_near(const hash256& point) const;
  result<storage::manifest> get_manifest(const storage::cid& id) const;

  struct stat_info {
    bool manifest = false;
    std::uint64_t size = 0;        ///< chunk bytes, or the file's total size
    std::size_t chunks = 0;        ///< a manifest's chunk count
    std::size_t present = 0;       ///< of those, stored here
    std::string media_type;
    bool pinned = false;
    std::uint32_t references = 0;  ///< manifests naming this chunk
    std::string owner;
    std::uint64_t stored_at_ms = 0;
  };
  result<stat_info> stat(const storage::cid& id) const;

  status pin(const storage::cid& id);
  status unpin(const storage::cid& id);
  /// Deletes an unpinned manifest (and the chunks nothing else references or pins) or an
  /// unpinned, unreferenced chunk.
  /// `now_ms` ends the file's usage for its owner.
  status remove(const storage::cid& id, std::uint64_t now_ms = 0);

  struct entry {
    storage::cid id;
    std::uint64_t size = 0;
    bool pinned = false;
  };
  /// Every stored manifest, in CID order.
  result<std::vector<entry>> list() const;

  /// Bytes × time per owner of the files put here (not replicas): rebuilt from the owner
  /// records at construction, fed by put_manifest and remove.
  const storage::usage_ledger& usage() const { return usage_; }

  /// Totals over every stored chunk (computed at construction, kept up to date).
  std::uint64_t bytes_stored() const { return bytes_; }
  std::uint64_t chunks_stored() const { return chunks_; }

private:
  static bytes key(char kind, const storage::cid& id);
  status store_chunk(const storage::cid& id, byte_view data); // id already checked
  std::uint32_t refs(const storage::cid& id) const;

  store::db& db_;
  std::uint64_t max_object_;
  std::uint64_t bytes_ = 0, chunks_ = 0;
  storage::usage_ledger usage_;
};

} // namespace poe::actors
