#pragma once
/// @file
/// The mempool (no CAF include): signed transactions waiting for a block. Bounded; every
/// refusal is a `reject_reason` with a message: a bad encoding, signature or chain, an
/// oversized transaction, a replay (`stale_nonce`), a nonce gap too far ahead (`bad_nonce`),
/// insufficient funds for value + fee, a duplicate, a full pool.
///
/// Admission backpressure: while the pool holds `admission_blocks` blocks' worth
/// (× the chain's `max_block_txs`) it refuses new transactions as `mempool_full` *before*
/// verifying their signatures, so a saturated validator spends its cores on consensus, not on
/// admitting what it could not include for seconds; a block that drains the pool opens it again.
/// The submitter is told the pool is busy and resubmits after a block.
///
/// Selection for a block takes, per sender, consecutive nonces from the account's current one,
/// highest fee first across senders (ties by tx id), and keeps only what executes on a copy of
/// the ledger.

#include "poe/chain/ledger.hpp"
#include "poe/chain/transaction.hpp"

#include <map>
#include <unordered_map>
#include <vector>

namespace poe::chain {

struct mempool_limits {
  std::size_t max_txs = 50'000;
  std::size_t max_per_sender = 64;
  std::uint64_t max_nonce_gap = 64; ///< nonce may be at most this far above the account's
  std::uint64_t admission_blocks = 4; ///< refuse while holding this many full blocks' worth
};

class mempool {
public:
  mempool(std::string chain_id, mempool_limits limits = {});

  /// Checks `tx` (context-free, then against `state`) and keeps it.
  /// `known`: signatures already verified (the node's cache; verified ones are added).
  tx_status add(const transaction& tx, const ledger& state, verified_txs* known = nullptr);
  std::size_t size() const { return by_id_.size(); }
  bool contains(const hash256& id) const { return by_id_.count(id) > 0; }

  /// Up to `max` transactions that apply in order on `state` at `height` (not modified).
  std::vector<transaction> select(const ledger& state, std::uint64_t height,
                                  const node_id& proposer, std::size_t max) const;

  /// The nonce `sender`'s next transaction should carry: the account's nonce in `state`, past
  /// every consecutive one already pending here.
  std::uint64_t next_nonce(const node_id& sender, const ledger& state) const;

  /// After a block: drops what it included and what `state` made stale.
  void prune(const ledger& state);

private:
  struct entry {
    transaction tx;
    node_id sender;
    hash256 id;
  };
  std::string chain_id_;
  mempool_limits limits_;
  std::unordered_map<hash256, entry, keyed_bytes_hash> by_id_; // never iterated: order-free
  std::map<node_id, std::map<std::uint64_t, hash256>> by_sender_; // nonce → id
};

} // namespace poe::chain
