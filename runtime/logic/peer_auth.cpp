#include "poe/runtime/peer_auth.hpp"

#include "poe/core/domain.hpp"

#include <openssl/rand.h>

#include <stdexcept>

namespace poe::runtime {

std::string_view to_string(auth_reject r) {
  switch (r) {
    case auth_reject::wrong_chain: return "wrong_chain";
    case auth_reject::bad_key: return "bad_key";
    case auth_reject::bad_nonce: return "bad_nonce";
    case auth_reject::self: return "self";
    case auth_reject::not_allowed: return "not_allowed";
    case auth_reject::bad_signature: return "bad_signature";
    case auth_reject::tls_mismatch: return "tls_mismatch";
  }
  return "unknown";
}

bytes auth_payload(const auth_transcript& t, auth_side signer) {
  bytes out;
  out.reserve(1 + t.nonce_i.size() + t.nonce_r.size() + 64);
  out.push_back(static_cast<std::uint8_t>(signer));
  append(out, t.nonce_i);
  append(out, t.nonce_r);
  append(out, t.initiator.view());
  append(out, t.responder.view());
  return out;
}

bytes sign_auth(const private_key& key, const auth_transcript& t, auth_side signer) {
  return sign_in_domain(key, t.chain_id, msg_type::peer_auth, auth_payload(t, signer));
}

bool verify_auth(const public_key& key, const auth_transcript& t, auth_side signer,
                 byte_view sig) {
  return verify_in_domain(key, t.chain_id, msg_type::peer_auth, auth_payload(t, signer), sig);
}

result<public_key> check_peer_key(std::string_view our_chain, std::string_view their_chain,
                                  byte_view public_key_der, byte_view nonce,
                                  const node_id& self, const peer_policy& policy,
                                  auth_reject& reason) {
  if (our_chain != their_chain) {
    reason = auth_reject::wrong_chain;
    return fail(errc::verify_failed, "peer runs chain '" + std::string(their_chain) +
                                         "', we run '" + std::string(our_chain) + "'");
  }
  if (nonce.size() != auth_nonce_size) {
    reason = auth_reject::bad_nonce;
    return fail(errc::verify_failed, "nonce of " + std::to_string(nonce.size()) +
                                         " bytes, expected " + std::to_string(auth_nonce_size));
  }
  auto key = public_key::from_der(public_key_der);
  if (!key) {
    reason = auth_reject::bad_key;
    return fail(errc::verify_failed, "public key does not decode: " + key.err().message);
  }
  if (key->id() == self) {
    reason = auth_reject::self;
    return fail(errc::verify_failed, "peer claims our own node id (connected to ourselves?)");
  }
  if (!policy.permits(key->id())) {
    reason = auth_reject::not_allowed;
    return fail(errc::verify_failed,
                "node id " + key->id().hex() + " is not in node.allowed-peers");
  }
  return key;
}

bytes random_nonce() {
  bytes out(auth_nonce_size);
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return out;
}

} // namespace poe::runtime
