#pragma once
/// @file
/// Proof of Execution v1, exactly as seed 003 specifies it:
///
///     poe = SHA-256(request_id ‖ result ‖ node_id)      16 + |result| + 32 bytes hashed
///     sig = Sign(node_key, result ‖ poe)                 RSA-2048 PKCS#1 v1.5/SHA-256 or Ed25519
///
/// `node_id` = SHA-256(DER SubjectPublicKeyInfo of the node's public key).

#include "poe/core/keys.hpp"
#include "poe/core/sha256.hpp"
#include "poe/core/types.hpp"

#include <string_view>

namespace poe {

/// What a node returns with a result: the binding and its signature.
struct poe_v1_proof {
  request_id request;
  node_id node;
  hash256 poe;
  bytes sig;
};

/// The commitment SHA-256(request_id ‖ result ‖ node_id).
hash256 poe_commitment(const request_id& request, byte_view result, const node_id& node);

/// Computes the commitment for `key`'s node id and signs result ‖ poe.
poe_v1_proof poe_commit(const private_key& key, const request_id& request, byte_view result);

/// Outcome of a PoE v1 check; the first failing step is reported.
enum class poe_check {
  valid,
  key_mismatch,        ///< the public key's node id is not the claimed node id
  commitment_mismatch, ///< the recomputed commitment differs from the submitted one
  bad_signature,       ///< the signature over result ‖ poe does not verify
};

/// "valid", "key does not match node id", "commitment mismatch", "bad signature".
std::string_view to_string(poe_check c);

/// Checks, in order: key ↔ node id, commitment, signature.
poe_check poe_verify(const public_key& key, const request_id& request, byte_view result,
                     const poe_v1_proof& proof);

/// A PoE v1 checker bound to one node's key that reuses its OpenSSL contexts: the hot path
/// of the verifier role. Not thread-safe.
class poe_verifier {
public:
  explicit poe_verifier(public_key key) : verifier_(std::move(key)) {}
  const public_key& key() const { return verifier_.key(); }
  poe_check verify(const request_id& request, byte_view result, const poe_v1_proof& proof);

private:
  verifier verifier_;
  sha256 hasher_;
};

} // namespace poe
