#pragma once
/// @file
/// Canonical Cap'n Proto encoding of the protocol objects (schemas/*.capnp).
///
/// `encode` returns the canonical bytes of an object: a single segment without segment table
/// (capnp::canonicalize). They are what poe hashes and signs. `decode_*` takes untrusted bytes,
/// reads them with a traversal limit proportional to their size and a nesting limit, accepts
/// only canonical encodings (so bytes ↔ object is one-to-one), checks field sizes, and
/// returns plain structs or an error. No Cap'n Proto type crosses this header.

#include "poe/core/objects.hpp"
#include "poe/core/sha256.hpp"

#include <cstddef>

namespace poe::wire {

/// Bounds applied to untrusted input.
struct limits {
  std::size_t max_bytes = 16u << 20; ///< larger inputs are refused before parsing
  int nesting = 8;                   ///< maximum pointer nesting depth
};

bytes encode(const task& v);
bytes encode(const task_result& v);
bytes encode(const step_receipt& v);
bytes encode(const log_block& v);
bytes encode(const poe_header& v);
bytes encode(const envelope& v);

result<task> decode_task(byte_view in, const limits& lim = {});
result<task_result> decode_task_result(byte_view in, const limits& lim = {});
result<step_receipt> decode_step_receipt(byte_view in, const limits& lim = {});
result<log_block> decode_log_block(byte_view in, const limits& lim = {});
result<poe_header> decode_poe_header(byte_view in, const limits& lim = {});
result<envelope> decode_envelope(byte_view in, const limits& lim = {});

/// SHA-256 of an object's canonical bytes: its content hash.
template <class T>
hash256 object_hash(const T& v) {
  return sha256::digest(encode(v));
}

/// Seals an object: encodes it canonically and signs it in (chain_id, type).
template <class T>
envelope seal_object(const private_key& key, std::string_view chain_id, msg_type type,
                     const T& v) {
  return seal(key, chain_id, type, encode(v));
}

} // namespace poe::wire
