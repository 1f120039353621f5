#pragma once
// What roles share to use the storage role and the directory: reading and writing whole files
// (a manifest and its chunks) and finding a role's actor. Asynchronous: each call answers
// through its callback, on the calling actor.

#include "poe/core/error.hpp"
#include "poe/core/types.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace poe::actors {

inline constexpr auto storage_timeout = std::chrono::seconds(60);

using file_done = std::function<void(result<bytes>)>;
using cid_done = std::function<void(result<std::string>)>;

/// Reads a stored file (its manifest, then its chunks, in order) or a single chunk; every piece
/// is checked against its CID (a mismatch: errc::verify_failed, the bytes are never passed on).
void fetch_file(caf::event_based_actor* self, const caf::actor& storage, const std::string& id,
                file_done done);

/// Reads a stored file as fetch_file does from the storage role on node `own_node` (hex) if
/// the directory lists one there, else the first listed; when a node's copy does not match its
/// CID, or the node does not answer, from each other storage node in turn. `done` gets the
/// bytes or the last error, and how many nodes answered a copy that did not match (a lying or
/// damaged node costs one more read, never a byte passed on).
void fetch_any(caf::event_based_actor* self, const caf::actor& directory, const std::string& own_node,
               const std::string& id, std::function<void(result<bytes>, std::size_t corrupt)> done);

/// A file cut into its chunks and manifest, as stored.
struct file_parts {
  std::vector<bytes> chunks;
  bytes manifest;  ///< encoded
  std::string cid; ///< the manifest's CID
  std::uint64_t size = 0;
};
result<file_parts> split_file(const bytes& data, const std::string& media_type);

/// Stores `data` as a file: its chunks, then its manifest (so a manifest never names a chunk
/// that is not stored), owned by this node (the one that made it). Answers the manifest's CID.
void store_file(caf::event_based_actor* self, const caf::actor& storage, const bytes& data,
                const std::string& media_type, cid_done done);

/// Stores a split file likewise; with `auth` (an encoded client request signed over the
/// manifest's CID and a nonce of `storage`), owned by the request's signer.
void store_parts(caf::event_based_actor* self, const caf::actor& storage,
                 std::shared_ptr<const file_parts> parts, bytes auth, cid_done done);

/// The actor of `role`: the one on node `own_node` (hex) if the directory lists it, else the
/// first listed; `or_else` gets the reason when there is none.
void find_role(caf::event_based_actor* self, const caf::actor& directory, const std::string& role,
               const std::string& own_node, std::function<void(caf::actor)> then,
               std::function<void(std::string)> or_else);

} // namespace poe::actors
