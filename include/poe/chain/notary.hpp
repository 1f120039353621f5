#pragma once
/// @file
/// The notarization layer's protocol objects and rules (seed 004), pure: no CAF, no clock, no
/// store. Builders turn step receipts into LogBlocks and PoE headers; validators check the
/// headers against the chain, charge rent, run the proposer-builder auction and enforce forced
/// inclusion. What lives here:
///
/// - `log_book`: a BPI's chain of LogBlocks as a compact RFC 6962 range (the roots of its
///   perfect subtrees), so the ledger keeps O(log n) per BPI and checks logbook_root exactly.
/// - `poe_entry`: what a block carries per notarized header — the binary header and the binary
///   LogBlock it notarizes (execution_hash = the LogBlock's id), so validators can price it.
/// - rent: `rent_quote` (base + complexity + storage bytes) and `split_rent` (validators,
///   slashing pool, treasury) from genesis parameters, in integers.
/// - the PBS auction: signed sealed `builder_bid`s for one height, the highest wins
///   (deterministic tie rule), the bundle is revealed against its hash.
/// - forced inclusion: `inclusion_tracker` (which held headers a proposal must include) and
///   signed `exclusion_complaint`s, f+1 of which against one proposal are evidence.
#include "poe/core/amount.hpp"
#include "poe/core/keys.hpp"
#include "poe/core/objects.hpp"
#include "poe/core/poe_header.hpp"
#include "poe/core/types.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace poe::chain {

// ------------------------------------------------------------------------------ log book

/// A BPI's log book: the RFC 6962 Merkle tree over its LogBlock ids (leaf i = leaf_hash of
/// the 32 id bytes of LogBlock i), kept as the roots of its perfect subtrees from left to
/// right (one per set bit of size(), largest first). Appending is a binary-counter carry;
/// the root folds the subtree roots from the right, which is RFC 6962's MTH.
class log_book {
public:
  std::uint64_t size() const { return size_; }
  /// Id of the last LogBlock appended (zero while empty).
  const hash256& last() const { return last_; }
  /// RFC 6962 root over every id appended (the empty root while empty).
  hash256 root() const;
  void append(const hash256& log_block_id);
  /// The root size() + 1 LogBlocks would have, without changing the book.
  hash256 root_with(const hash256& log_block_id) const;
  /// u64 size ‖ last (32) ‖ u8 n ‖ n subtree roots (32 each).
  bytes encode() const;
  static result<log_book> decode(byte_view in);
  friend bool operator==(const log_book&, const log_book&) = default;

private:
  std::uint64_t size_ = 0;
  hash256 last_;
  std::vector<hash256> subtrees_; ///< perfect subtree roots, largest (leftmost) first
};

// ------------------------------------------------------------------------------ entries

/// A notarized header as a block carries it.
struct poe_entry {
  poe_header header;
  log_block book_block; ///< the LogBlock the header notarizes
  friend bool operator==(const poe_entry&, const poe_entry&) = default;
};

/// u16 header length ‖ binary header (176 or 368) ‖ binary LogBlock (140).
bytes encode(const poe_entry& e);
result<poe_entry> decode_poe_entry(byte_view in);
/// The header's id (SHA-256 of its binary form).
hash256 entry_id(const poe_entry& e);

/// The checks that need no chain state: the header's signature against `bpi_key` (whose node
/// id must be bpi_id), the LogBlock names the same BPI, execution_hash is the LogBlock's id,
/// at least one receipt, first_ms <= last_ms <= timestamp.
status check_entry(const poe_entry& e, const public_key& bpi_key, std::string_view chain_id);

// ------------------------------------------------------------------------------ rent

/// Seed 004's rent structure, genesis parameters (integers throughout).
struct rent_params {
  amount base_rent{100};         ///< per PoE header
  amount rent_per_work_unit{1};  ///< complexity: × the LogBlock's work units
  amount rent_per_kib{1};        ///< storage: × ceil(result_bytes / 1024)
  /// Where each block's rent goes, in ppm (sum 1'000'000): validators (by stake), the slashing
  /// pool, the treasury.
  std::uint32_t validators_ppm = 700'000;
  std::uint32_t slashing_ppm = 100'000;
  std::uint32_t treasury_ppm = 200'000;
  /// N: a valid header a validator has held for N blocks must be in the next proposal.
  std::uint64_t inclusion_blocks = 3;
  /// Most PoE entries in one block.
  std::uint64_t max_block_poes = 1000;
  /// Least builder stake that lets a BPI have its headers included.
  amount min_builder_stake{1};
  friend bool operator==(const rent_params&, const rent_params&) = default;
};

/// base_rent + rent_per_work_unit × work_units + rent_per_kib × ⌈result_bytes / 1024⌉; an
/// overflow is an error. A header's rent_payment must be at least this; the surplus is its
/// inclusion priority.
result<amount> rent_quote(const rent_params& p, const log_block& b);

struct rent_split {
  amount validators, slashing, treasury;
  friend bool operator==(const rent_split&, const rent_split&) = default;
};
/// slashing = ⌊total × slashing_ppm / 1e6⌋, treasury = ⌊total × treasury_ppm / 1e6⌋,
/// validators = the rest (so the three always add up to `total`).
rent_split split_rent(const rent_params& p, amount total);

/// Shares of `total` by weight (floor), the remainder to `remainder_to` (which must be one of
/// the keys). Weights must not all be zero.
std::map<node_id, amount> share_by_weight(const std::map<node_id, amount>& weights, amount total,
                                          const node_id& remainder_to);

// ------------------------------------------------------------------------------ auction

/// A builder's sealed bid for the inclusion of its bundle at `height`:
///
///     u8 version = 1 ‖ u16 len ‖ chain_id ‖ u64 height ‖ bundle_hash (32) ‖ u64 value ‖
///     u16 len ‖ builder key (DER SPKI) ‖ u16 len ‖ signature
///
/// signed in domain builder_bid over everything before the signature. The bundle hash is the
/// RFC 6962 root over the bundle's encoded entries (`bundle_hash`).
struct builder_bid {
  std::string chain_id;
  std::uint64_t height = 0;
  hash256 bundle_hash;
  amount value;
  bytes builder_key; ///< DER SPKI
  bytes signature;
  friend bool operator==(const builder_bid&, const builder_bid&) = default;
};
bytes encode(const builder_bid& b);
result<builder_bid> decode_builder_bid(byte_view in);
bytes bid_signing_payload(const builder_bid& b);
void sign(builder_bid& b, const private_key& key);
/// Key, signature, chain, value > 0. Returns the builder's node id.
result<node_id> verify_bid(const builder_bid& b, std::string_view chain_id);
hash256 bid_id(const builder_bid& b);
hash256 bundle_hash(const std::vector<bytes>& entries);

/// The proposer's auction for one height. Bids for another height (a replay of an old bid or
/// one for the future), of another chain, badly signed, of value 0, and repeats of a bid
/// already offered are refused. A builder may raise its bid; a lower or equal one is refused.
class auction {
public:
  auction(std::string chain_id, std::uint64_t height);
  std::uint64_t height() const { return height_; }
  status offer(const builder_bid& b);
  /// The highest bid not from `excluded` builders: the largest value; equal values go to the
  /// smaller bundle hash, then the smaller builder id.
  std::optional<builder_bid> best(const std::set<node_id>& excluded = {}) const;
  /// Checks a revealed bundle against the winner's bundle hash.
  static status check_reveal(const builder_bid& winner, const std::vector<bytes>& entries);
  std::size_t size() const { return bids_.size(); }

private:
  std::string chain_id_;
  std::uint64_t height_;
  std::map<node_id, builder_bid> bids_; ///< each builder's current bid
  std::set<hash256> seen_;              ///< ids of every bid offered
};

// ------------------------------------------------------------------------------ inclusion

/// A validator's complaint that a proposal left out headers it has held for N blocks:
///
///     u8 version = 1 ‖ u16 len ‖ chain_id ‖ u64 height ‖ u64 round ‖ proposer (32) ‖
///     digest (32) ‖ u16 n ‖ n header ids (32 each, ascending) ‖ u16 len ‖ complainer key ‖
///     u16 len ‖ signature
///
/// signed in domain exclusion_complaint over everything before the signature.
struct exclusion_complaint {
  std::string chain_id;
  std::uint64_t height = 0;
  std::uint64_t round = 0;
  node_id proposer;
  hash256 digest;               ///< the proposed block's id
  std::vector<hash256> missing; ///< header ids, ascending, 1..256
  bytes complainer_key;
  bytes signature;
  friend bool operator==(const exclusion_complaint&, const exclusion_complaint&) = default;
};
bytes encode(const exclusion_complaint& c);
result<exclusion_complaint> decode_exclusion_complaint(byte_view in);
void sign(exclusion_complaint& c, const private_key& key);
/// Key, signature, chain, a non-empty ascending list. Returns the complainer's node id.
result<node_id> verify_complaint(const exclusion_complaint& c, std::string_view chain_id);

/// Headers a validator holds and since which height, and what a proposal must include.
/// Entries of one BPI can only be included in log-book order, so a held entry is *due* only
/// when it is includable: its sequence is the BPI's next one on chain, or it follows a due
/// entry of the same BPI. `book_size` gives the on-chain size of a BPI's book.
class inclusion_tracker {
public:
  /// Records `e` (already checked valid) as seen at `height`; false when already held.
  bool hold(const poe_entry& e, std::uint64_t height);
  /// Forgets headers that were included (or became invalid).
  void release(const hash256& id);
  bool holds(const hash256& id) const { return held_.count(id) > 0; }
  /// The height since which `id` is held (nullopt when it is not).
  std::optional<std::uint64_t> since(const hash256& id) const {
    auto it = held_.find(id);
    return it == held_.end() ? std::nullopt : std::optional<std::uint64_t>(it->second.since);
  }
  std::size_t size() const { return held_.size(); }
  /// How many entries of `bpi` are held.
  std::size_t count_of(const node_id& bpi) const {
    auto it = per_bpi_.find(bpi);
    return it == per_bpi_.end() ? 0 : it->second;
  }
  /// Every held entry, includable ones first in log-book order per BPI (for the proposer:
  /// at most `limit`).
  std::vector<poe_entry> includable(const std::function<std::uint64_t(const node_id&)>& book_size,
                                    std::size_t limit) const;
  /// The ids of includable entries held since `height - n` or earlier, ascending.
  std::vector<hash256> due(std::uint64_t height, std::uint64_t n,
                           const std::function<std::uint64_t(const node_id&)>& book_size) const;
  /// Drops held entries whose sequence is below their BPI's on-chain book size (superseded),
  /// and, with `max_age`, those held since more than `max_age` blocks before `height` (a gap
  /// in their BPI's book that never closed).
  void prune(const std::function<std::uint64_t(const node_id&)>& book_size,
             std::uint64_t height = 0, std::uint64_t max_age = 0);

private:
  struct held {
    poe_entry entry;
    std::uint64_t since = 0;
  };
  std::map<hash256, held> held_;
  std::map<node_id, std::size_t> per_bpi_;
  void forget(std::map<hash256, held>::iterator it);
};

} // namespace poe::chain
