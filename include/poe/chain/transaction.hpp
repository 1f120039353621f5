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
///     u8   body type            1 transfer, 2 stake, 3 unstake
///          transfer:            32 bytes `to` (node id) ‖ u64 value
///          stake / unstake:     u8 role (1 validator, 2 executor, 3 storage, 4 builder)
///                               ‖ u64 value
///     u16  len ‖ signature      0..512 bytes
///
/// The signing payload is the encoding without its last field (the signature), and
/// `signature = sign_in_domain(sender, chain_id, msg_type::transaction, payload)`.
/// A transaction's id is SHA-256 of the full encoding (signature included).
///
/// Every field has one encoding, so bytes and transactions correspond one to one: the
/// decoder refuses an unknown version, body type or role, a field out of its bounds, a
/// truncated input and trailing bytes.

#include "poe/core/amount.hpp"
#include "poe/core/keys.hpp"
#include "poe/core/types.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <set>
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
};

/// Every role, in wire-value order.
inline constexpr stake_role all_stake_roles[] = {stake_role::validator, stake_role::executor,
                                                 stake_role::storage, stake_role::builder,
                                                 stake_role::verifier};

/// "validator", "executor", "storage", "builder", "verifier".
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

/// What a transaction does. The index + 1 is the wire body type.
using tx_body = std::variant<transfer, stake, unstake>;

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
  std::set<hash256> ids_;
};

tx_status check_transaction(const transaction& tx, std::string_view chain_id, std::size_t max_size,
                            verified_txs* known = nullptr);

/// The sender's node id, or bad_key.
result<node_id> sender_of(const transaction& tx);

} // namespace poe::chain
