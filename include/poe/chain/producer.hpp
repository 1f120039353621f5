#pragma once
/// @file
/// Making and checking blocks against the ledger (no CAF include). The proposer builds a
/// block from mempool transactions; every validator re-executes a proposed block and refuses
/// it unless every transaction applies and the resulting state root equals the header's.
///
/// Execution of block h on state S: S.begin_block(h) (unbonding releases), then each
/// evidence item in order (check_evidence, then punish: a slash, and for equivocation the
/// removal from the validator set, effective from block h + 1; a bid settlement pays the
/// proposer, a withheld bid is penalized), then each transaction in order with the block's
/// proposer as fee recipient, then each PoE entry in order (ledger::apply_entry: its rent is
/// collected), then the block's rent is distributed (ledger::distribute_rent); the header's
/// state_root is the root after that. A bid settlement (at most one) requires the root of the
/// block's first k PoE entries to be the bid's bundle hash.

#include "poe/chain/block.hpp"
#include "poe/chain/evidence.hpp"
#include "poe/chain/ledger.hpp"
#include "poe/chain/transaction.hpp"

#include <optional>
#include <vector>

namespace poe::chain {

/// The last finalized block, as the next one needs it.
struct chain_tip {
  std::uint64_t height = 0; ///< 0: genesis
  hash256 id;               ///< block id (zero for genesis)
  std::uint64_t timestamp_ms = 0;
};

/// What the proposer notarizes in a block (all encoded): the winning builder's revealed bundle
/// with its bid settlement (kind 5 evidence with k = bundle size), withheld-bid evidence of
/// earlier winners of this height, and the held PoE entries it must or may include.
struct block_notary {
  std::vector<bytes> bundle;
  std::optional<bytes> settlement;
  std::vector<bytes> withheld;
  std::vector<bytes> held; ///< due ones first; those that do not apply are left out
};

/// Block tip.height + 1 with those of `evidence` and then of `txs` that apply, in order (the
/// others are left out), timestamp max(now_ms, parent + 1). With `notary`: the withheld bids,
/// the settlement and its bundle first among the PoE entries — both left out when an entry of
/// the bundle does not apply — then the held entries that apply (duplicates of the bundle's
/// skipped), at most params.rent.max_block_poes entries in all.
block build_block(const ledger& state, const chain_tip& tip, const std::vector<transaction>& txs,
                  const node_id& proposer, std::uint64_t round, std::uint64_t now_ms,
                  const std::vector<bytes>& evidence = {}, verified_txs* known = nullptr,
                  const block_notary* notary = nullptr);

/// The state after executing `b` on `state`; an error names the first evidence item or
/// transaction that does not decode, verify or apply, or a state root that does not match the
/// header ("bad_state_root").
/// `known` (here and below): signatures already verified by this node (see verified_txs).
result<ledger> execute_block(const ledger& state, const block& b, verified_txs* known = nullptr);

/// check_block (chain, height, parent, timestamps, body roots) and then execute_block; the
/// resulting state goes to `after` when given.
status validate_block(const ledger& state, const chain_tip& tip, const block& b,
                      std::uint64_t now_ms, std::uint64_t max_drift_ms = 2000,
                      verified_txs* known = nullptr, std::optional<ledger>* after = nullptr);

/// The tip after `b`.
chain_tip tip_of(const block& b);

} // namespace poe::chain
