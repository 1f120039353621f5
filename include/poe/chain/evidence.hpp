#pragma once
/// @file
/// Evidence of misbehaviour, checkable offline (`poe-cli evidence verify FILE`).
///
/// Kind 1, consensus equivocation: two different signed QBFT messages of one validator for
/// the same height, round and kind. Punished by slashing its validator stake and jailing it.
///
/// Kind 2, storage fraud: a storage node signed a wrong answer to a storage challenge. The
/// node signs every answer (msg_type::storage_proof, in the chain's domain) over
/// `storage_proof_payload` = SHA-256(chunk) ‖ nonce ‖ answer; the evidence carries the chunk,
/// so anyone can check that the chunk's SHA-256 is what was signed and that the signed answer
/// is not SHA-256(nonce ‖ chunk). Punished by slashing its storage stake; the evidence id is
/// recorded as spent so it never slashes twice. (A node that does not answer, or refuses,
/// signs nothing: that costs it reputation, not stake.)
///
/// Kind 3, executor fraud: for one request, an executor's PoE v1-signed result differs from
/// the result two other executors signed alike (the verifier's sampled re-execution and the
/// third executor that decided). Validators check the three PoE v1 proofs and that all three
/// executors hold executor stake; the liar's executor stake is slashed, once per request.
/// (PoE v1 signatures are fixed by seed 003 and carry no chain id: the evidence names the
/// chain, and the stake checks tie it to this chain's executors.)
///
/// Encoding: "poe/evidence/v1" (15 bytes) ‖ u8 kind ‖ u8 len ‖ chain_id ‖ u32 len ‖ offender
/// public key (DER SPKI) ‖ then, kind 1: u32 len ‖ first ‖ u32 len ‖ second (encoded QBFT
/// messages, qbft::encode); kind 2: nonce (32) ‖ answer (32) ‖ u32 len ‖ signature ‖
/// u32 len ‖ chunk (1 byte .. 1 MiB); kind 3: request id (16) ‖ lie ‖ a ‖ b, each signed
/// result being u32 len ‖ executor key (DER; the offender's for the lie) ‖ u32 len ‖ result
/// (≤ 64 KiB) ‖ poe (32) ‖ u32 len ‖ signature.

#include "poe/chain/ledger.hpp"
#include "poe/chain/qbft.hpp"
#include "poe/core/error.hpp"

#include <string>
#include <variant>

namespace poe::chain {

struct equivocation_evidence {
  std::string chain_id;
  bytes offender_key; ///< DER SubjectPublicKeyInfo; its SHA-256 must be the messages' sender
  qbft::message first;
  qbft::message second;
};

/// See the file comment (kind 2).
struct storage_fraud_evidence {
  std::string chain_id;
  bytes offender_key; ///< DER SubjectPublicKeyInfo of the storage node that signed
  hash256 nonce;
  hash256 answer; ///< what the node signed as SHA-256(nonce ‖ chunk)
  bytes signature;
  bytes chunk;
};

/// A result as an executor returns it: its canonical bytes bound by PoE v1.
struct signed_result {
  bytes executor_key; ///< DER SubjectPublicKeyInfo
  bytes result;
  hash256 poe;
  bytes signature;
  friend bool operator==(const signed_result&, const signed_result&) = default;
};

/// See the file comment (kind 3). `offender_key` is `lie.executor_key`.
struct executor_fraud_evidence {
  std::string chain_id;
  bytes offender_key;
  request_id request;
  signed_result lie, a, b;
};

/// What a storage node signs when it answers a challenge for a chunk whose SHA-256 (the
/// CID's digest) is `chunk_digest`: chunk_digest ‖ nonce ‖ answer (96 bytes).
bytes storage_proof_payload(const hash256& chunk_digest, const hash256& nonce,
                            const hash256& answer);

using evidence =
  std::variant<equivocation_evidence, storage_fraud_evidence, executor_fraud_evidence>;

bytes encode(const equivocation_evidence& e);
bytes encode(const storage_fraud_evidence& e);
bytes encode(const executor_fraud_evidence& e);
result<evidence> decode_evidence(byte_view data);
/// Builds evidence from what qbft::state reported.
equivocation_evidence make_evidence(const std::string& chain_id, const public_key& offender,
                                    const qbft::equivocation& eq);

/// Ok when both messages verify under the offender's key in the chain's domain, name the same
/// sender (the key's node id), height, round and kind, and differ. The error says which check
/// failed.
status verify_evidence(const equivocation_evidence& e);
/// Ok when the key parses, the signature verifies over storage_proof_payload(SHA-256(chunk),
/// nonce, answer) in the chain's domain, and answer != SHA-256(nonce ‖ chunk).
status verify_evidence(const storage_fraud_evidence& e);
/// Ok when the three PoE v1 proofs verify for the request under their keys, the three
/// executors differ, a and b carry the same result and the lie another.
status verify_evidence(const executor_fraud_evidence& e);
status verify_evidence(const evidence& e);

/// The stake the evidence slashes: validator, storage or executor.
stake_role role_of(const evidence& e);

/// The offender's node id (SHA-256 of its key); zero when the key does not parse.
node_id offender_of(const evidence& e);
/// The id a storage fraud is recorded under once punished: SHA-256(offender id ‖ payload).
hash256 evidence_id(const storage_fraud_evidence& e);
/// The id an executor fraud is recorded under: SHA-256("executor" ‖ offender id ‖ request),
/// so an executor is punished once per request.
hash256 evidence_id(const executor_fraud_evidence& e);
/// One line for logs and the CLI ("validator 1a2b.. equivocated: prepare at height 7 round
/// 0", "storage node 1a2b.. signed a wrong challenge answer for chunk digest 9f..").
std::string describe(const evidence& e);

/// Checks encoded evidence against the chain state it would be applied to (block `height`):
/// it decodes and verifies (verify_evidence) and names this chain. Equivocation: its messages
/// are not from a later height, the offender is a validator of this chain (its recorded key
/// is the evidence's), not already removed, and not the last member of the set. Storage
/// fraud: the offender's recorded key is the evidence's, it has storage stake, and the
/// evidence was not punished before. The error's message starts with the failed rule
/// ("wrong_chain", "from_future", "not_a_validator", "not_staked", "witness_not_staked",
/// "already_punished", "last_validator", or "invalid").
result<evidence> check_evidence(const ledger& state, byte_view encoded, std::uint64_t height);

/// The punishment, after check_evidence: the offender loses `params.slash_share_ppm` of its
/// stake in the offending role (bonded and unbonding) to the slashing pool; an equivocating
/// validator also leaves the validator set for good, a storage fraud is recorded as spent.
/// Returns the amount slashed.
amount punish(ledger& state, const evidence& e);

} // namespace poe::chain
