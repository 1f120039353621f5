#pragma once
/// @file
/// The builder's aggregation logic, pure (no CAF, no store, no clock: time is an input).
/// Step receipts (their canonical bytes, with the figures rent needs) are grouped into
/// LogBlocks of this BPI — cut when `max_receipts` are pending or the oldest has waited
/// `max_age_ms` — each chained into the BPI's log book and notarized by a signed PoE header
/// whose rent_payment is the rent quote plus the configured priority.
///
/// A `receipt_proof` ties one receipt (an attested_receipt: signed by its verifier, with the
/// executor's result and key) to a finalized block: the receipt's audit path to the
/// LogBlock's receipts_root, the PoE entry (header + LogBlock, execution_hash = LogBlock id),
/// the BPI's key, and the finalized block (encoded, with its commit seals) whose poe_headers
/// hold the entry. `verify_receipt_proof` checks every link offline against validator keys.
#include "poe/chain/block.hpp"
#include "poe/chain/notary.hpp"
#include "poe/chain/playback.hpp"
#include "poe/core/merkle.hpp"

#include <deque>
#include <optional>
#include <set>
#include <vector>

namespace poe::chain {

/// A step receipt as it travels from a verifier to a builder and sits in a LogBlock (its leaf):
/// the canonical StepReceipt, signed by the verifier in the `step_receipt` domain, with what
/// lets anyone check the executor's PoE v1 offline — the result bytes and the executor's key.
/// Encoding (blobs: u32 len ‖ bytes):
///
///     "poe/receipt/v1" ‖ blob(StepReceipt ≤ 4 KiB) ‖ blob(verifier key, DER) ‖
///     blob(signature) ‖ blob(result ≤ 64 KiB) ‖ blob(executor key, DER)
struct attested_receipt {
  bytes receipt;       ///< canonical StepReceipt
  bytes verifier_key;  ///< DER SPKI; its node id is the receipt's `verifier`
  bytes signature;     ///< over signing_bytes(chain, step_receipt, receipt)
  bytes result;        ///< canonical TaskResult the executor signed
  bytes executor_key;  ///< DER SPKI; its node id is the receipt's `executor`
  friend bool operator==(const attested_receipt&, const attested_receipt&) = default;
};
bytes encode(const attested_receipt& a);
result<attested_receipt> decode_attested_receipt(byte_view in);
/// Fills in `key`'s public key and signature (the verifier's).
void sign(attested_receipt& a, const private_key& key, std::string_view chain_id);

/// What a checked receipt says, and who vouches for it.
struct checked_receipt {
  step_receipt receipt;
  node_id verifier; ///< signed it (stake is the caller's check: builders ask the chain)
  node_id executor; ///< its PoE v1 over the result verifies
};
/// Checks: the receipt decodes; the verifier key parses, is the receipt's verifier and its
/// signature verifies in (chain_id, step_receipt); the executor key parses and is the receipt's
/// executor; SHA-256(result) is the receipt's result_hash and names its request; the PoE v1
/// (receipt's poe and poe_sig) verifies over the result. Each failure names its check.
result<checked_receipt> check_attested_receipt(const attested_receipt& a, std::string_view chain_id);

/// A verified step receipt as the builder takes it.
struct receipt_in {
  request_id request;
  bytes encoded; ///< the receipt's canonical bytes (the Merkle leaf)
  std::uint64_t work_units = 0;
  std::uint64_t result_bytes = 0;
  std::uint64_t verified_ms = 0;
};

struct builder_config {
  std::uint32_t max_receipts = 64;   ///< a LogBlock is cut at this many receipts
  std::uint64_t max_age_ms = 1000;   ///< ... or when the oldest pending one is this old
  std::uint64_t priority = 0;        ///< rent paid above the quote (inclusion priority)
};

/// A LogBlock made, with its header and the receipts it holds (the witness).
struct sealed_log_block {
  poe_entry entry;
  std::vector<bytes> receipts; ///< canonical bytes, in leaf order
  std::vector<request_id> requests;
};

class log_builder {
public:
  /// `book`: this BPI's log book as far as LogBlocks were made before (restart).
  log_builder(private_key key, std::string chain_id, rent_params rent, builder_config cfg,
              log_book book = {});
  const node_id& bpi() const { return key_.id(); }
  const log_book& book() const { return book_; }
  std::size_t pending() const { return pending_.size(); }
  /// Queues a receipt; false for a request already queued or sealed by this builder.
  bool add(receipt_in r);
  /// Seals a LogBlock when one is due at `now_ms` (size or age); nullopt otherwise.
  std::optional<sealed_log_block> poll(std::uint64_t now_ms);
  /// Seals whatever is pending (nullopt when nothing is).
  std::optional<sealed_log_block> flush(std::uint64_t now_ms);
  /// Forgets a request id (so the set of seen ids stays bounded by the caller's retention).
  void forget(const request_id& r) { seen_.erase(r); }

private:
  sealed_log_block seal(std::size_t n, std::uint64_t now_ms);
  private_key key_;
  std::string chain_id_;
  rent_params rent_;
  builder_config cfg_;
  log_book book_;
  std::deque<receipt_in> pending_;
  std::set<request_id> seen_;
};

/// A change of the validator set between genesis and a proof's block, as a light client
/// follows it: the sealed block after which the set changed (qbft::encode(decision)), and the
/// new set — each validator's DER key and stake, in node id order — which that block's header
/// commits to (block_header::validators_root).
struct set_change {
  std::uint64_t height = 0;
  bytes decision;
  std::vector<std::pair<bytes, std::uint64_t>> validators; ///< (DER key, stake), by node id
};
bytes encode(const set_change& c);
result<set_change> decode_set_change(byte_view in);

/// See the file comment. Encoding (integers big-endian, blobs u32 len ‖ bytes):
///
///     "poe/receipt-proof/v1" ‖ blob(receipt) ‖ u64 leaf index ‖ u64 leaf count ‖
///     u32 n ‖ n × hash (receipt path) ‖ blob(PoE entry) ‖ blob(BPI key DER) ‖
///     u64 height ‖ blob(finalized block: qbft::encode(decision) — round, seals, block) ‖
///     u32 m ‖ m × blob(set_change)
///     set_change = u64 height ‖ blob(decision) ‖ u32 k ‖ k × (blob(DER key) ‖ u64 stake)
///
/// `changes`: every change of the validator set from genesis up to the block (oldest first),
/// so the block's seals are checked against the set at its height.
struct receipt_proof {
  bytes receipt;
  merkle::inclusion_proof in_log_block;
  poe_entry entry;
  bytes bpi_key;
  std::uint64_t height = 0;
  bytes decision;
  std::vector<set_change> changes;
};
bytes encode(const receipt_proof& p);
result<receipt_proof> decode_receipt_proof(byte_view in);

/// What a verified proof establishes.
struct proof_facts {
  checked_receipt receipt; ///< a step receipt: its verifier's signature and the executor's PoE checked
  std::optional<checked_playback> playback; ///< or a playback receipt (then `receipt` is empty)
  hash256 block_id;
  std::uint64_t height = 0;
  std::size_t entry_index = 0; ///< in the block's poe_headers
  std::size_t seals_valid = 0; ///< distinct validators of the set at `height` whose seal verifies
  std::size_t validators = 0;  ///< the size of that set
  std::vector<std::uint64_t> set_changes; ///< heights after which the set changed (each checked)
};
/// Checks: the leaf — an attested_receipt passes check_attested_receipt, an attested_playback
/// check_attested_playback; its path leads to
/// the LogBlock's receipts_root; the entry passes
/// check_entry under the BPI key; the block decodes, is at `height`, is for `chain_id` and
/// holds the entry among its poe_headers (its poe_root recomputed); a quorum (⌈2n/3⌉) of the
/// validator set at `height` sealed (height, round, block id). That set starts as `validators`
/// (the genesis set) and follows `changes` in order: each change's block, below `height`, is
/// sealed by a quorum of the set before it and its header commits to the set it gives
/// (validators_root). Each failure names the link that broke.
result<proof_facts> verify_receipt_proof(const receipt_proof& p, std::string_view chain_id,
                                         const std::vector<public_key>& validators);

} // namespace poe::chain
