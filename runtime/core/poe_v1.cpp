#include "poe/core/poe_v1.hpp"

namespace poe {

hash256 poe_commitment(const request_id& request, byte_view result, const node_id& node) {
  return sha256::digest({request.view(), result, node.view()});
}

poe_v1_proof poe_commit(const private_key& key, const request_id& request, byte_view result) {
  poe_v1_proof out;
  out.request = request;
  out.node = key.id();
  out.poe = poe_commitment(request, result, out.node);
  out.sig = key.sign({result, out.poe.view()});
  return out;
}

std::string_view to_string(poe_check c) {
  switch (c) {
    case poe_check::valid: return "valid";
    case poe_check::key_mismatch: return "key does not match node id";
    case poe_check::commitment_mismatch: return "commitment mismatch";
    case poe_check::bad_signature: return "bad signature";
  }
  return "unknown";
}

poe_check poe_verify(const public_key& key, const request_id& request, byte_view result,
                     const poe_v1_proof& proof) {
  if (key.id() != proof.node) return poe_check::key_mismatch;
  if (proof.request != request || poe_commitment(request, result, proof.node) != proof.poe)
    return poe_check::commitment_mismatch;
  if (!key.verify({result, proof.poe.view()}, proof.sig)) return poe_check::bad_signature;
  return poe_check::valid;
}

poe_check poe_verifier::verify(const request_id& request, byte_view result,
                               const poe_v1_proof& proof) {
  if (verifier_.key().id() != proof.node) return poe_check::key_mismatch;
  hasher_.update(request.view()).update(result).update(proof.node.view());
  if (proof.request != request || hasher_.finish() != proof.poe)
    return poe_check::commitment_mismatch;
  if (!verifier_.verify({result, proof.poe.view()}, proof.sig)) return poe_check::bad_signature;
  return poe_check::valid;
}

} // namespace poe
