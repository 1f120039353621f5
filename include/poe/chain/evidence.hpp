#pragma once
/// @file
/// Evidence of misbehaviour, checkable offline (`poe-cli evidence verify FILE`). The first
/// kind is consensus equivocation: two different signed QBFT messages of one validator for the
/// same height, round and kind. Later issues add their kinds (executor fraud, exclusion).
///
/// Encoding: "poe/evidence/v1" (15 bytes) ‖ u8 kind (1 = equivocation) ‖ u8 len ‖ chain_id ‖
///           u32 len ‖ offender public key (DER SPKI) ‖ u32 len ‖ first ‖ u32 len ‖ second
/// where first and second are encoded QBFT messages (qbft::encode).

#include "poe/chain/ledger.hpp"
#include "poe/chain/qbft.hpp"
#include "poe/core/error.hpp"

#include <string>

namespace poe::chain {

struct equivocation_evidence {
  std::string chain_id;
  bytes offender_key; ///< DER SubjectPublicKeyInfo; its SHA-256 must be the messages' sender
  qbft::message first;
  qbft::message second;
};

bytes encode(const equivocation_evidence& e);
result<equivocation_evidence> decode_evidence(byte_view data);
/// Builds evidence from what qbft::state reported.
equivocation_evidence make_evidence(const std::string& chain_id, const public_key& offender,
                                    const qbft::equivocation& eq);

/// Ok when both messages verify under the offender's key in the chain's domain, name the same
/// sender (the key's node id), height, round and kind, and differ. The error says which check
/// failed.
status verify_evidence(const equivocation_evidence& e);

/// The offender's node id (SHA-256 of its key); zero when the key does not parse.
node_id offender_of(const equivocation_evidence& e);

/// Checks encoded evidence against the chain state it would be applied to (block `height`):
/// it decodes and verifies (verify_evidence), names this chain, its messages are not from a
/// later height, the offender is a validator of this chain (its recorded key is the
/// evidence's), not already removed, and not the last member of the set. The error's message
/// starts with the failed rule ("wrong_chain", "from_future", "not_a_validator",
/// "already_punished", "last_validator", or "invalid").
result<equivocation_evidence> check_evidence(const ledger& state, byte_view encoded,
                                             std::uint64_t height);

/// The punishment, after check_evidence: the offender loses `params.slash_share_ppm` of its
/// validator stake (bonded and unbonding) to the slashing pool and leaves the validator set
/// for good. Returns the amount slashed.
amount punish_equivocation(ledger& state, const node_id& offender);

} // namespace poe::chain
