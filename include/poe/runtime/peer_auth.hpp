#pragma once
/// @file
/// The connect-time identity proof between two nodes (no CAF include). TLS proves a peer
/// belongs to the cluster's CA; this proves *which node* it is: each side signs the other's
/// fresh nonce together with both node ids, in the `peer_auth` signature domain.
///
///     initiator → responder : hello   {chain_id, initiator public key, nonce_i}
///     responder → initiator : welcome {responder public key, nonce_r, sig_r}
///     initiator → responder : proof   {sig_i}
///
///     sig_x = sign_in_domain(key_x, chain_id, peer_auth,
///                            side_x (1 byte: 1 initiator, 2 responder) ‖ nonce_i ‖ nonce_r ‖
///                            id_initiator ‖ id_responder)
///
/// A node id is SHA-256 of the DER public key, so a peer cannot claim an id without its key.
/// Only ids on the allow list are accepted.

#include "poe/core/keys.hpp"
#include "poe/core/types.hpp"

#include <set>
#include <string>
#include <string_view>

namespace poe::runtime {

constexpr std::size_t auth_nonce_size = 32;

enum class auth_side : std::uint8_t { initiator = 1, responder = 2 };

/// Why a peer was refused. Counted in metrics, logged with the peer's claimed id.
enum class auth_reject {
  wrong_chain,   ///< the peer runs another chain id
  bad_key,       ///< its public key does not decode
  bad_nonce,     ///< nonce of the wrong length
  self,          ///< it claims our own id
  not_allowed,   ///< a valid key whose node id is not on the allow list
  bad_signature, ///< the challenge signature does not verify
  tls_mismatch,  ///< the TLS certificate of its connection is another node's (or none)
};
std::string_view to_string(auth_reject r);

struct auth_transcript {
  std::string chain_id;
  bytes nonce_i;
  bytes nonce_r;
  node_id initiator;
  node_id responder;
};

/// The bytes each side signs (before the domain prefix).
bytes auth_payload(const auth_transcript& t, auth_side signer);
bytes sign_auth(const private_key& key, const auth_transcript& t, auth_side signer);
bool verify_auth(const public_key& key, const auth_transcript& t, auth_side signer,
                 byte_view sig);

/// Who may connect: a set of node ids (node.allowed-peers; the chain issue adds the validator
/// and operator set), or anyone — only for insecure plaintext development runs with an empty
/// allow list.
struct peer_policy {
  std::set<node_id> allowed;
  bool allow_any = false;
  bool permits(const node_id& id) const { return allow_any || allowed.count(id) > 0; }
};

/// Context-free checks of a peer's hello or welcome. On success `out` holds its key.
result<public_key> check_peer_key(std::string_view our_chain, std::string_view their_chain,
                                  byte_view public_key_der, byte_view nonce,
                                  const node_id& self, const peer_policy& policy,
                                  auth_reject& reason);

/// A fresh random nonce (OpenSSL's DRBG). Called by the adapter, never by logic.
bytes random_nonce();

} // namespace poe::runtime
