#pragma once
/// @file
/// Ledger transactions: the plain struct, its canonical binary encoding, signing, and the
/// context-free check (STYLE principle 4: everything that needs no chain state). Contextual
/// checks (nonce, balance, stake) are `ledger::apply`'s.
///
/// Canonical encoding (all integers big-endian, fixed width; byte strings are a u16 length
/// followed by the bytes):
///
///     u8   version              = 1
///     u16  len ‖ chain_id       1..64 printable ASCII, no spaces (check_chain_id)
///     u16  len ‖ sender_key     DER SubjectPublicKeyInfo, 1..1024 bytes
///     u64  nonce
///     u64  fee                  base units
///     u8   body type            1 transfer, 2 stake, 3 unstake, 4 content_publish,
///                               5 channel_open, 6 channel_topup, 7 channel_claim,
///                               8 channel_close, 9 channel_collect, 10 job_fund,
///                               11 job_pay, 12 job_close
///          transfer:            32 bytes `to` (node id) ‖ u64 value
///          stake / unstake:     u8 role (1 validator, 2 executor, 3 storage, 4 builder,
///                               5 verifier) ‖ u64 value
///          content_publish:     u32 len ‖ job_output ‖ u64 price_per_second ‖ split_rule
///          channel_open:        payee (32) ‖ u64 deposit ‖ u64 expiry_height
///          channel_topup:       channel (32) ‖ u64 value
///          channel_claim/close: channel (32) ‖ u16 n ‖ n × (u32 len ‖ lane_claim)
///                               (claim: 1..256 claims; close: 0..256)
///          channel_collect:     channel (32)
///          job_fund:            verifier (32) ‖ u16 len ‖ job (1..64 printable ASCII) ‖
///                               u64 max_fee ‖ u64 price_per_work_unit ‖ u32 verifier_ppm ‖
///                               u64 expiry_height
///          job_pay:             escrow (32) ‖ u16 n ‖ n × (u32 task ‖ executor (32) ‖
///                               u64 work_units)   (1..256 items)
///          job_close:           escrow (32)
///     u16  len ‖ signature      0..512 bytes
///
/// The signing payload is the encoding without its last field (the signature), and
/// `signature = sign_in_domain(sender, chain_id, msg_type::transaction, payload)`.
/// A transaction's id is SHA-256 of the full encoding (signature included).
///
/// Every field has one encoding, so bytes and transactions correspond one to one: the
/// decoder refuses an unknown version, body type or role, a field out of its bounds, a
/// truncated input and trailing bytes.

#include "poe/chain/payments.hpp"
#include "poe/core/amount.hpp"
#include "poe/core/keyed_hash.hpp"
#include "poe/core/keys.hpp"
#include "poe/core/types.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <optional>
#include <set>
#include <unordered_set>
#include <variant>

namespace poe::chain {

/// The role a stake backs. Values are part of the protocol; never renumber.
/// `verifier`: a node that signs tasks for executors and StepReceipts for builders (its stake
/// is what executors and builders require before they act on its signature).
enum class stake_role : std::uint8_t {
  validator = 1,
  executor = 2,
  storage = 3,
  builder = 4,
  verifier = 5,
  gateway = 6, ///< serves content to viewers; signs playback receipts builders notarize
};

/// Every role, in wire-value order.
inline constexpr stake_role all_stake_roles[] = {stake_role::validator, stake_role::executor,
                                                 stake_role::storage, stake_role::builder,
                                                 stake_role::verifier, stake_role::gateway};

/// "validator", "executor", "storage", "builder", "verifier", "gateway".
std::string_view to_string(stake_role r);
/// Parses a role name; the error lists the valid names.
result<stake_role> parse_stake_role(std::string_view text);
/// Maps a wire value to a role; unknown values are an error.
result<stake_role> to_stake_role(std::uint8_t raw);

/// Moves `value` from the sender's balance to the account `to`.
struct transfer {
  node_id to;
  amount value;
  friend bool operator==(const transfer&, const transfer&) = default;
};

/// Bonds `value` of the sender's balance as stake of `role`.
struct stake {
  stake_role role = stake_role::validator;
  amount value;
  friend bool operator==(const stake&, const stake&) = default;
};

/// Starts unbonding `value` of the sender's stake of `role`; it returns to the balance
/// `unbonding_blocks` after the block that includes the transaction.
struct unstake {
  stake_role role = stake_role::validator;
  amount value;
  friend bool operator==(const unstake&, const unstake&) = default;
};

/// Registers a finished job's verified outputs as content (payments.hpp): `output` is signed
/// by a verifier with verifier stake and names the sender as the job's owner; the content id is
/// content_id(output). `split` must give the platform and the treasury at least the genesis
/// split's shares.
struct content_publish {
  job_output output;
  amount price_per_second; ///< 0: free
  split_rule split;
  friend bool operator==(const content_publish&, const content_publish&) = default;
};

/// Opens a channel from the sender (payer) to `payee`: `deposit` leaves the sender's balance
/// into the channel's escrow. The channel id is channel_id(sender, tx nonce). It expires at
/// `expiry_height` (> inclusion height + channel_challenge_blocks).
struct channel_open {
  node_id payee;
  amount deposit;
  std::uint64_t expiry_height = 0;
  friend bool operator==(const channel_open&, const channel_open&) = default;
};

/// The payer adds `value` to an open channel's escrow.
struct channel_topup {
  hash256 channel;
  amount value;
  friend bool operator==(const channel_topup&, const channel_topup&) = default;
};

/// The payee settles lanes (1..max_claims) with the best states it holds; what they add is paid
/// out of escrow at once by each lane's content split. The channel stays open.
struct channel_claim {
  hash256 channel;
  std::vector<lane_claim> claims;
  friend bool operator==(const channel_claim&, const channel_claim&) = default;
};

/// The payee closes at once, settling `claims` first (0..max_claims); the rest of the escrow
/// goes back to the payer. The payer (no claims) starts the challenge window instead: the
/// payee may claim for channel_challenge_blocks more blocks, then anyone may collect.
struct channel_close {
  hash256 channel;
  std::vector<lane_claim> claims;
  friend bool operator==(const channel_close&, const channel_close&) = default;
};

/// After a payer's close window, or at expiry: the rest of the escrow goes back to the payer
/// and the channel is gone. Anyone may send it.
struct channel_collect {
  hash256 channel;
  friend bool operator==(const channel_collect&, const channel_collect&) = default;
};

/// Claims one transaction may carry.
constexpr std::size_t max_claims = 256;

/// Escrows a job's fee (paid work): `max_fee` leaves the sender's (the funder's) balance into
/// the escrow of job `job` coordinated by `verifier` (escrow id job_escrow_id(verifier, job)).
/// The verifier pays it out per verified task (job_pay) until `expiry_height`; the rest goes
/// back to the funder (job_close).
struct job_fund {
  node_id verifier;
  std::string job; ///< the verifier's job id: 1..64 printable ASCII
  amount max_fee;
  amount price_per_work_unit;      ///< a task of w work units is paid w × this (> 0)
  std::uint32_t verifier_ppm = 0;  ///< the verifier's share of each payment (<= 1'000'000)
  std::uint64_t expiry_height = 0; ///< > inclusion height
  friend bool operator==(const job_fund&, const job_fund&) = default;
};

/// One verified task a job_pay pays: the task's index in its job, its executor (who ran the
/// verified result) and its work units.
struct task_payment {
  std::uint32_t task = 0;
  node_id executor;
  std::uint64_t work_units = 0;
  friend bool operator==(const task_payment&, const task_payment&) = default;
};

/// The escrow's verifier pays verified tasks (1..max_task_payments; each task index once per
/// escrow): min(work_units × price, what is left) each, the verifier_ppm share (floor) to the
/// verifier, the rest to the executor, which must hold executor stake.
struct job_pay {
  hash256 escrow;
  std::vector<task_payment> tasks;
  friend bool operator==(const job_pay&, const job_pay&) = default;
};

/// Ends an escrow: the rest goes back to the funder. The verifier may close at any time (its
/// job is done), the funder from the expiry height on, anyone else never.
struct job_close {
  hash256 escrow;
  friend bool operator==(const job_close&, const job_close&) = default;
};

/// Task payments one job_pay may carry.
constexpr std::size_t max_task_payments = 256;

/// SHA-256("poe/job/v1" ‖ verifier (32) ‖ job).
hash256 job_escrow_id(const node_id& verifier, std::string_view job);
/// A job id a job_fund may name: 1..64 printable ASCII, no spaces.
status check_job_name(std::string_view job);

/// SHA-256("poe/channel/v1" ‖ payer (32) ‖ u64 nonce of the opening transaction).
hash256 channel_id(const node_id& payer, std::uint64_t nonce);

/// What a transaction does. The index + 1 is the wire body type.
using tx_body = std::variant<transfer, stake, unstake, content_publish, channel_open, channel_topup,
                             channel_claim, channel_close, channel_collect, job_fund, job_pay,
                             job_close>;

/// "transfer", "stake", "unstake", "content_publish", "channel_open", "channel_topup",
/// "channel_claim", "channel_close", "channel_collect", "job_fund", "job_pay", "job_close".
std::string_view kind_name(const tx_body& body);

/// The amount a body moves where a zero one is refused (transfer, stake, unstake, the channel
/// deposit and top-up, the job fee); nullopt for the others.
std::optional<amount> body_value(const tx_body& body);

/// A signed ledger transaction. The sender is the node id of `sender_key`.
struct transaction {
  std::string chain_id;
  bytes sender_key; ///< DER SubjectPublicKeyInfo (RSA-2048 or Ed25519)
  std::uint64_t nonce = 0;
  amount fee;
  tx_body body;
  bytes signature;
  friend bool operator==(const transaction&, const transaction&) = default;
};

/// Bounds of the encoding.
constexpr std::uint8_t tx_version = 1;
constexpr std::size_t max_sender_key_size = 1024;
constexpr std::size_t max_signature_size = 512;

/// The canonical encoding above. Byte strings longer than 65535 bytes cannot be encoded
/// (throws std::invalid_argument: a caller's bug; decoded and checked transactions are far
/// below). Other bounds are not enforced here (`check_transaction` does).
bytes encode(const transaction& tx);
/// The signed bytes: the encoding without the signature field.
bytes signing_payload(const transaction& tx);
/// Decodes untrusted bytes; the error names the field that is wrong.
result<transaction> decode_transaction(byte_view in);
/// SHA-256 of the full encoding.
hash256 tx_id(const transaction& tx);
/// Sets `tx.sender_key` to `key`'s public key and `tx.signature` to its domain-separated
/// signature over `signing_payload(tx)`. `tx.chain_id` must be a valid chain id.
void sign(transaction& tx, const private_key& key);

/// Why a transaction was refused. Context-free reasons come from `check_transaction`,
/// contextual ones from `ledger::apply`. Values are stable (metrics labels, peer replies).
enum class reject_reason : std::uint8_t {
  // context-free
  bad_encoding = 1, ///< does not decode, a field is out of bounds or an unknown role
  wrong_chain,      ///< signed for another chain
  bad_key,          ///< sender key is not a canonical RSA-2048 / Ed25519 SPKI
  bad_signature,    ///< signature does not verify (or has the wrong length)
  oversized,        ///< encoding longer than the chain's max_tx_bytes
  zero_amount,      ///< transfer / stake / unstake of 0
  self_transfer,    ///< transfer to the sender's own account
  // contextual (ledger)
  stale_nonce,        ///< nonce below the account's: a replay
  bad_nonce,          ///< nonce above the account's (a gap)
  fee_too_low,        ///< fee below the chain's min_fee
  insufficient_funds, ///< balance does not cover value + fee
  insufficient_stake, ///< unstake of more than is bonded for that role
  jailed,             ///< validator stake by an account removed from the validator set
  overflow,           ///< an amount or height would exceed 2^64-1
  // mempool
  duplicate,    ///< the same transaction is already pending
  mempool_full, ///< the pool is at its bound and this transaction does not pay more
  // content and channels (contextual unless noted)
  bad_split,         ///< (context-free) shares not summing to 10^6, or below the genesis minimums
  bad_statement,     ///< a job output not signed by a staked verifier, or not the sender's job
  content_exists,    ///< the content id is published already
  unknown_content,   ///< a lane names content that is not published
  unknown_channel,   ///< no such channel
  not_channel_party, ///< the sender is not the channel's payer (payee) where it must be
  channel_closed,    ///< the channel is closing, closed for claims, or expired
  not_settled,       ///< collect before the challenge window ended (or before expiry)
  bad_claim,         ///< a lane claim that does not check (payments.hpp claim_error) or conflicts
  bad_expiry,        ///< expiry not after the challenge window
  // paid work (contextual unless noted)
  unknown_escrow,    ///< no such job escrow
  escrow_exists,     ///< the job is funded already
  not_escrow_party,  ///< not the escrow's verifier (or funder, where it may act)
  escrow_expired,    ///< a payment at or after the escrow's expiry
  task_paid,         ///< a task index paid before (or twice in one transaction)
  not_executor,      ///< a payment to an account without executor stake
};

/// Stable lower-case name ("stale_nonce", ...).
std::string_view to_string(reject_reason r);

/// A refusal: the reason (for metrics and peers) and a message for people.
struct rejection {
  reject_reason reason;
  std::string message;
};

/// Accepted, or a rejection. Converts to true when accepted.
class [[nodiscard]] tx_status {
public:
  tx_status() = default;
  tx_status(rejection r) : rejected_(true), rejection_(std::move(r)) {}

  explicit operator bool() const { return !rejected_; }
  bool ok() const { return !rejected_; }
  /// Only when rejected.
  reject_reason reason() const { return rejection_.reason; }
  const std::string& message() const { return rejection_.message; }
  /// "reason: message", for logs and CLI output.
  std::string text() const;

private:
  bool rejected_ = false;
  rejection rejection_{reject_reason::bad_encoding, {}};
};

/// Shorthand: `return reject(reject_reason::bad_key, "...")`.
inline rejection reject(reject_reason r, std::string message) {
  return rejection{r, std::move(message)};
}

/// The context-free check, cheapest first: bad_encoding (a byte string over its bound),
/// oversized (encoding > max_size), wrong_chain, bad_encoding (invalid chain id, unknown
/// role), bad_key, zero_amount, self_transfer, bad_signature (length, then verification).
/// Signatures a node has already verified, by transaction id (which covers the signature), so
/// that each transaction's signature is checked once per node — at admission — and not again
/// when the block is built, validated and executed. Bounded: it forgets everything once it
/// holds `capacity` ids.
class verified_txs {
public:
  explicit verified_txs(std::size_t capacity = 1 << 20) : capacity_(capacity) {}
  bool contains(const hash256& id) const { return ids_.count(id) > 0; }
  void insert(const hash256& id) {
    if (ids_.size() >= capacity_) ids_.clear();
    ids_.insert(id);
  }
  std::size_t size() const { return ids_.size(); }

private:
  std::size_t capacity_;
  std::unordered_set<hash256, keyed_bytes_hash> ids_; // keyed: ids a peer may have ground
};

tx_status check_transaction(const transaction& tx, std::string_view chain_id, std::size_t max_size,
                            verified_txs* known = nullptr);

/// The sender's node id, or bad_key.
result<node_id> sender_of(const transaction& tx);

} // namespace poe::chain
