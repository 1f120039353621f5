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
/// Kind 3, executor fraud: for one task a staked verifier signed (its task grant, objects.hpp),
/// an executor's PoE v1-signed result differs from the result two other executors signed
/// alike (the verifier's sampled re-execution and the third executor that decided). Validators
/// check the verifier's signature over the task and that it holds verifier stake, that the
/// task names the request and the verifier as submitter, the three PoE v1 proofs, that each
/// result names the request and the SHA-256 of the signed task (so results of another task
/// under the same request id prove nothing), and that all three executors hold at least
/// `min_executor_stake`. A task cheap enough to run (reexecute) is run by the validators:
/// the offender's result must be wrong and the witnesses' right, whatever the votes; for any
/// other task the two witnesses must be among the deciders the chain draws from the task's
/// anchor block (drawn_deciders), so the accuser does not choose who decides. The
/// liar's executor stake is slashed, once per request. (PoE v1 signatures are fixed by seed
/// 003 and carry no chain id: the evidence names the chain, and the stake checks tie it to
/// this chain's executors.)
///
/// Kind 4, censorship (forced inclusion, seed 004): f+1 validators signed exclusion
/// complaints against one proposal (same height, round, proposer and block digest) that left
/// out PoE headers they had held for N blocks. Validators check every complaint's signature,
/// that the complainers are distinct members of the validator set and at least f+1 of it, and
/// that the offender is the proposer and a validator; its validator stake is slashed (it is
/// not jailed), once per (proposer, height, round).
///
/// Kind 5, bid settlement (the PBS auction): the winning builder's signed bid for this block's
/// height and the number k of leading PoE entries of the block that are its bundle; the block
/// is valid only if the RFC 6962 root of those k entries is the bid's bundle hash. The bid's
/// value moves from the builder to the block's proposer. At most one per block.
///
/// Kind 6, withheld bid: a builder's signed bid for this height that won the auction but whose
/// bundle was not revealed in time. Its value is taken from the builder (balance, then builder
/// stake) into the slashing pool — not to the proposer, who gains nothing by claiming it — once
/// per bid.
///
/// Encoding: "poe/evidence/v1" (15 bytes) ‖ u8 kind ‖ u8 len ‖ chain_id ‖ u32 len ‖ offender
/// public key (DER SPKI) ‖ then, kind 1: u32 len ‖ first ‖ u32 len ‖ second (encoded QBFT
/// messages, qbft::encode); kind 2: nonce (32) ‖ answer (32) ‖ u32 len ‖ signature ‖
/// u32 len ‖ chunk (1 byte .. 1 MiB); kind 3: request id (16) ‖ task grant (u32 len ‖ task
/// (≤ 64 KiB) ‖ u32 len ‖ verifier key ‖ u32 len ‖ signature ‖ u32 index ‖ u32 count ‖ u8 n
/// (≤ 32) ‖ n × 32 audit path) ‖ lie ‖ a ‖ b, each signed
/// result being u32 len ‖ executor key (DER; the offender's for the lie) ‖ u32 len ‖ result
/// (≤ 64 KiB) ‖ poe (32) ‖ u32 len ‖ signature; kind 4: u32 n (1..256) ‖ n × (u32 len ‖
/// encoded exclusion complaint); kind 5: u32 len ‖ encoded bid ‖ u32 k; kind 6: u32 len ‖
/// encoded bid. For kinds 5 and 6 the offender key is the bid's builder key.

#include "poe/chain/ledger.hpp"
#include "poe/chain/qbft.hpp"
#include "poe/core/error.hpp"
#include "poe/core/objects.hpp"

#include <optional>

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
  task_grant task; ///< the task as the verifier signed it
  signed_result lie, a, b;
};

/// The executors the chain draws to decide a task (kind 3): among `pool` (executors with at
/// least min_executor_stake that staked before the task's anchor block, ledger::
/// drawable_executors), all but `exclude` (the accused) ranked by
/// score = (first 16 bytes of SHA-256("poe/deciders/v1" ‖ anchor block id ‖ request id ‖
/// executor id) as a big-endian integer) / stake, lowest first (ties by id); the first `k`.
/// A verifier sends re-executions to these, and evidence about a task no validator can run
/// counts only witnesses among them: the accuser does not choose who decides.
inline constexpr std::size_t decider_draw_size = 3;
std::vector<node_id> drawn_deciders(const std::vector<ledger::drawable_executor>& pool,
                                    const hash256& anchor_id, const request_id& request,
                                    const node_id& exclude, std::size_t k = decider_draw_size);

/// Inline compute tasks of at most this many iterations are re-executed by validators when
/// judging fraud evidence (a few milliseconds), instead of trusting the witnesses' votes.
inline constexpr std::uint64_t max_reexecuted_iterations = 100'000;

/// The digest (hex) a task cheap enough for validators to run yields: an inline "compute"
/// task of at most max_reexecuted_iterations (iterated SHA-256 over `data`). nullopt for
/// every other task.
std::optional<std::string> reexecute(const task& t);

/// What a storage node signs when it answers a challenge for a chunk whose SHA-256 (the
/// CID's digest) is `chunk_digest`: chunk_digest ‖ nonce ‖ answer (96 bytes).
bytes storage_proof_payload(const hash256& chunk_digest, const hash256& nonce,
                            const hash256& answer);

/// See the file comment (kind 4). `offender_key` is the proposer's key.
struct censorship_evidence {
  std::string chain_id;
  bytes offender_key;
  std::vector<exclusion_complaint> complaints;
};
/// See the file comment (kind 5).
struct bid_settlement {
  std::string chain_id;
  bytes offender_key; ///< the builder's key (= bid.builder_key)
  builder_bid bid;
  std::uint32_t bundle_entries = 0; ///< the block's first k PoE entries are the bundle
};
/// See the file comment (kind 6).
struct withheld_bid_evidence {
  std::string chain_id;
  bytes offender_key; ///< the builder's key (= bid.builder_key)
  builder_bid bid;
};

using evidence =
  std::variant<equivocation_evidence, storage_fraud_evidence, executor_fraud_evidence,
               censorship_evidence, bid_settlement, withheld_bid_evidence>;

bytes encode(const equivocation_evidence& e);
bytes encode(const storage_fraud_evidence& e);
bytes encode(const executor_fraud_evidence& e);
bytes encode(const censorship_evidence& e);
bytes encode(const bid_settlement& e);
bytes encode(const withheld_bid_evidence& e);
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
/// Every complaint verifies, names the offender as proposer and the same height, round and
/// digest; the complainers are distinct.
status verify_evidence(const censorship_evidence& e);
/// The bid verifies and is the offender's; k >= 1 (settlement).
status verify_evidence(const bid_settlement& e);
status verify_evidence(const withheld_bid_evidence& e);
status verify_evidence(const evidence& e);

/// The stake the evidence slashes: validator, storage, executor, or builder (settlements).
stake_role role_of(const evidence& e);

/// The offender's node id (SHA-256 of its key); zero when the key does not parse.
node_id offender_of(const evidence& e);
/// The id a storage fraud is recorded under once punished: SHA-256(offender id ‖ payload).
hash256 evidence_id(const storage_fraud_evidence& e);
/// The id an executor fraud is recorded under: SHA-256("executor" ‖ offender id ‖ request),
/// so an executor is punished once per request.
hash256 evidence_id(const executor_fraud_evidence& e);
/// SHA-256("censorship" ‖ proposer ‖ u64 height ‖ u64 round): a proposal is punished once.
hash256 evidence_id(const censorship_evidence& e);
/// The bid's id: a withheld bid is penalized once.
hash256 evidence_id(const withheld_bid_evidence& e);
/// One line for logs and the CLI ("validator 1a2b.. equivocated: prepare at height 7 round
/// 0", "storage node 1a2b.. signed a wrong challenge answer for chunk digest 9f..").
std::string describe(const evidence& e);

/// Checks encoded evidence against the chain state it would be applied to (block `height`):
/// it decodes and verifies (verify_evidence) and names this chain. Equivocation: its messages
/// are not from a later height, the offender is a validator of this chain (its recorded key
/// is the evidence's), not already removed, and not the last member of the set. Storage
/// fraud: the offender's recorded key is the evidence's, it has storage stake, and the
/// evidence was not punished before. Censorship: the offender is a validator (recorded key),
/// the complaints are for a height <= `height`, from at least f+1 members of the current
/// validator set, and the proposal was not punished before. Executor fraud: the offender and
/// both witnesses hold at least min_executor_stake (recorded keys) and, for a task validators
/// cannot run, are among the deciders drawn from the task's anchor block (drawn_deciders),
/// the task's signer holds
/// verifier stake, and the offender was not punished for the request before. Settlement and
/// withheld bid: the
/// bid is for `height`, its builder holds builder stake; a settlement's builder can pay it; a
/// withheld bid was not penalized before. The error's message starts with the failed rule
/// ("wrong_chain", "from_future", "not_a_validator", "not_staked", "witness_not_staked", "verifier_not_staked",
/// "witness_not_drawn",
/// "already_punished", "last_validator", "too_few", "wrong_height", "insufficient_funds" or
/// "invalid").
result<evidence> check_evidence(const ledger& state, byte_view encoded, std::uint64_t height);

/// The effect, after check_evidence (`proposer`: the block's, which a bid settlement pays):
/// a settlement moves the bid's value to the proposer; a withheld bid moves it to the slashing
/// pool (`penalize_withheld`); censorship slashes `params.slash_share_ppm` of the proposer's
/// validator stake without jailing it; otherwise the punishment: the offender loses `params.slash_share_ppm` of its
/// stake in the offending role (bonded and unbonding) to the slashing pool; an equivocating
/// validator also leaves the validator set for good, a storage fraud is recorded as spent.
/// Returns the amount slashed.
amount punish(ledger& state, const evidence& e, const node_id& proposer = {});

} // namespace poe::chain
