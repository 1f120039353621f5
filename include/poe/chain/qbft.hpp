#pragma once
/// @file
/// QBFT — IBFT 2.0 as corrected by Moniz (2020, "The Istanbul BFT Consensus Algorithm") and
/// implemented by Hyperledger Besu — as a pure state machine: no CAF, no clock, no network.
/// Inputs are messages, timer expiries and a block to propose; outputs are returned
/// `effects` (messages to broadcast, a timer to set, a decision, equivocation evidence).
///
/// One instance runs one height at a time (`start(height, validators)`). For n validators
/// the quorum is ⌈2n/3⌉ and f = ⌊(n−1)/3⌋; the proposer of (height, round) is
/// validators[(height + round) mod n] in node-id order. Round r's timer lasts
/// min(base · 2^r, max) and restarts from the base at each new height.
///
///  - proposer of (h, 0): PROPOSAL(h, 0, block) once the adapter supplies the block;
///  - on a justified PROPOSAL for the current round: PREPARE(h, r, digest);
///  - on a quorum of PREPAREs for the accepted digest: remember (r, digest) as prepared with
///    its certificate, COMMIT(h, r, digest, seal);
///  - on a quorum of COMMITs for the accepted digest: decide, with the quorum's seals;
///  - on timeout: move to r+1 and send ROUND-CHANGE(h, r+1, prepared round/digest +
///    certificate); on f+1 ROUND-CHANGEs for higher rounds: jump to the smallest of them;
///  - on a ROUND-CHANGE for an earlier round of this height (a validator back from an outage):
///    send our current ROUND-CHANGE again, once per sender and round, so f+1 such answers
///    bring it to our round at once (not when our doubled timers fire);
///  - proposer of (h, r>0) with a justified quorum of ROUND-CHANGEs: re-proposes the highest
///    prepared block, or a new one if none was prepared, with the quorum (and the prepared
///    certificate) as justification.
///
/// Every message is signed over chain id, type, height and round (signature domains of
/// poe/core/domain.hpp). Two different messages of one validator for the same height, round
/// and type are equivocation: both are returned as evidence.

#include "poe/core/domain.hpp"
#include "poe/core/keys.hpp"
#include "poe/core/types.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace poe::chain::qbft {

using duration = std::chrono::nanoseconds;

enum class kind : std::uint8_t { proposal = 1, prepare = 2, commit = 3, round_change = 4 };
std::string_view to_string(kind k);

/// A signed consensus message. Fields not used by a kind stay empty.
struct message {
  kind type = kind::prepare;
  std::uint64_t height = 0;
  std::uint64_t round = 0;
  hash256 digest;      ///< proposal/prepare/commit: block digest (SHA-256 of the block)
  node_id from;        ///< signer
  bytes commit_seal;   ///< commit: signature over (height, round, digest), domain commit_seal
  // round change: what the sender prepared (if anything)
  bool prepared = false;
  std::uint64_t prepared_round = 0;
  hash256 prepared_digest;
  // proposal: the block and its justification; prepared round change: the prepared block
  bytes block;
  std::vector<message> round_changes; ///< proposal (round > 0): a quorum of ROUND-CHANGEs
  std::vector<message> prepares;      ///< proposal / round change: a prepared certificate
  bytes signature;                    ///< over signing_payload()
};

/// Canonical wire encoding (docs/protocol.md): fixed fields, then u32-length-prefixed seal,
/// block, justifications (each an encoded message, at most two levels deep) and signature.
bytes encode(const message& m);
/// Decodes exactly one canonical message of at most `max_bytes`; anything else is an error.
result<message> decode_message(byte_view data, std::size_t max_bytes = 8 << 20);

/// What is signed: kind-specific fields, nested justifications by their own signatures'
/// hashes (they are verified on their own).
bytes signing_payload(const message& m);
msg_type domain_of(kind k);
/// The bytes a commit seal signs: height ‖ round ‖ digest.
bytes seal_payload(std::uint64_t height, std::uint64_t round, const hash256& digest);

class validator_set {
public:
  validator_set() = default;
  explicit validator_set(std::vector<public_key> keys); // sorted by node id, duplicates removed
  std::size_t size() const { return keys_.size(); }
  std::size_t quorum() const { return (2 * keys_.size() + 2) / 3; }
  std::size_t faulty() const { return keys_.empty() ? 0 : (keys_.size() - 1) / 3; }
  const public_key* find(const node_id& id) const;
  const node_id& proposer(std::uint64_t height, std::uint64_t round) const;
  const std::vector<public_key>& keys() const { return keys_; }

private:
  std::vector<public_key> keys_;
};

struct message;

struct config {
  std::string chain_id;
  duration round_timeout = std::chrono::seconds(1);
  duration round_timeout_max = std::chrono::seconds(30);
  std::size_t max_block_bytes = 4 << 20;
  /// Called before this validator signs anything; false withholds the message. The node
  /// backs it with a durable signing record (signing_guard) so that a restarted validator
  /// never signs two different messages for one height, round and kind.
  std::function<bool(const message&)> before_sign;

  static config make(std::string chain_id, duration timeout = std::chrono::seconds(1),
                     duration timeout_max = std::chrono::seconds(30)) {
    config c;
    c.chain_id = std::move(chain_id);
    c.round_timeout = timeout;
    c.round_timeout_max = timeout_max;
    return c;
  }
};

struct decision {
  std::uint64_t height = 0;
  std::uint64_t round = 0;
  hash256 digest;
  bytes block;
  std::vector<std::pair<node_id, bytes>> seals; ///< a quorum of commit seals
};

/// A finalized block as stored and as sent by block sync (no height: the block names it):
/// u64 round ‖ u32 n ‖ (signer id 32 ‖ u32 len ‖ seal)ⁿ ‖ u32 len ‖ block.
bytes encode(const decision& d);
/// Decodes exactly one encoded decision for `height`; the digest is recomputed from the block.
result<decision> decode_decision(byte_view data, std::uint64_t height);

/// Two different signed messages of one validator for the same height, round and kind.
struct equivocation {
  message first;
  message second;
};

/// Why a message was not used. Counted by the adapter.
enum class reject {
  none,
  wrong_height,      ///< another height (older ones are dropped; the adapter buffers newer)
  unknown_sender,    ///< not a validator
  bad_signature,
  bad_seal,
  wrong_proposer,
  bad_block,         ///< does not hash to its digest, too large, or invalid for the app
  unjustified,       ///< a proposal or round change whose justification does not hold
  stale_round,
  duplicate,
};
std::string_view to_string(reject r);

struct effects {
  std::vector<message> broadcast; ///< to every validator, this one included
  bool set_timer = false;
  std::uint64_t timer_round = 0;
  duration timer{0};
  bool need_block = false; ///< we propose (height, round): call propose() with a block
  std::optional<decision> decided;
  std::vector<equivocation> evidence;
  reject rejected = reject::none;
};

/// Checks a finalized block as received from block sync: the block hashes to the digest and
/// a quorum of distinct validators sealed (height, round, digest). This is how a lagging or
/// restarted node takes a height it missed.
bool verify_decision(const validator_set& vals, const std::string& chain_id, const decision& d);

/// Checks a signed commit seal (also used to verify finalized blocks offline).
bool verify_seal(const public_key& key, const std::string& chain_id, std::uint64_t height,
                 std::uint64_t round, const hash256& digest, byte_view seal);

class state {
public:
  /// `valid_block` decides whether a proposed block is acceptable (state root, parent, ...).
  state(config cfg, private_key key, std::function<bool(byte_view block)> valid_block);

  const node_id& id() const { return key_.id(); }
  std::uint64_t height() const { return height_; }
  std::uint64_t round() const { return round_; }
  bool decided() const { return decided_; }

  /// Begins `height` in round 0 with `validators`.
  effects start(std::uint64_t height, validator_set validators);
  /// The block we propose for the current (height, round) (after effects::need_block).
  effects propose(bytes block);
  /// A message from the network (or our own broadcast looped back).
  effects on_message(const message& m);
  /// The timer set for `round` expired.
  effects on_timeout(std::uint64_t round);

  /// Duration of round r's timer.
  duration timeout_of(std::uint64_t round) const;

private:
  message make(kind k, std::uint64_t round, const hash256& digest) const;
  void sign(message& m) const;
  reject verify(const message& m) const;
  bool justified_proposal(const message& m) const;
  bool justified_round_changes(const std::vector<message>& rcs, std::uint64_t round,
                               const std::vector<message>& prepares,
                               std::optional<hash256>* value) const;
  bool valid_certificate(const std::vector<message>& prepares, std::uint64_t round,
                         const hash256& digest) const;
  void record(const message& m, effects& out);
  void enter_round(std::uint64_t r, effects& out);
  void try_progress(effects& out);
  void send(message m, effects& out);

  config cfg_;
  private_key key_;
  std::function<bool(byte_view)> valid_block_;
  validator_set vals_;
  std::uint64_t height_ = 0;
  std::uint64_t round_ = 0;
  bool decided_ = false;
  bool proposed_ = false; // we sent the proposal of the current round
  bool sent_prepare_ = false, sent_commit_ = false;
  // accepted proposal of the current round
  std::optional<hash256> accepted_;
  bytes accepted_block_;
  std::map<hash256, bytes> blocks_; // known blocks of this height by digest
  // prepared state
  bool prepared_ = false;
  std::uint64_t prepared_round_ = 0;
  hash256 prepared_digest_;
  std::vector<message> prepared_cert_;
  // every valid message of this height: (kind, round) -> sender -> message
  std::map<std::pair<kind, std::uint64_t>, std::map<node_id, message>> seen_;
  std::set<std::uint64_t> round_change_sent_;
  std::set<std::pair<node_id, std::uint64_t>> behind_told_; ///< (sender, its round) answered
  std::set<std::uint64_t> proposed_rounds_;
};

} // namespace poe::chain::qbft
