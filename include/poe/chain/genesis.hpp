#pragma once
/// @file
/// The genesis file: chain id, initial validators with their keys and stake, initial
/// balances and the protocol parameters. JSON form:
///
///     {
///       "chain_id": "poe-devnet",
///       "validators": [ {"public_key": "<hex of DER SPKI>", "stake": "1000000"}, ... ],
///       "balances":   [ {"account": "<node id, 64 hex>", "amount": 5000}, ... ],
///       "params": { "unbonding_blocks": 100, "slash_share_ppm": 50000,
///                   "min_validator_stake": "1000", "max_tx_bytes": 4096,
///                   "block_interval_ms": 1000, "max_block_txs": 10000, "min_fee": "0",
///                   "base_rent": "100", "rent_per_work_unit": "1", "rent_per_kib": "1",
///                   "rent_validators_ppm": 700000, "rent_slashing_ppm": 100000,
///                   "rent_treasury_ppm": 200000, "inclusion_blocks": 3,
///                   "max_block_poes": 1000, "min_builder_stake": "1",
///                   "min_executor_stake": "1", "split_creator_ppm": 700000,
///                   "split_operators_ppm": 100000, "split_platform_ppm": 150000,
///                   "split_treasury_ppm": 50000, "platform_account": "<node id, 64 hex>",
///                   "channel_challenge_blocks": 20, "max_tick_hashes": 4096,
///                   "max_channel_lanes": 1024 }
///     }
///
/// The rent parameters are seed 004's rent structure (poe/chain/notary.hpp, rent_params); the
/// three rent shares must add up to 1,000,000 ppm, and so must the four split shares
/// (payments.hpp: creator, operators, platform, treasury).
///
/// Amounts (stake, amount, min_validator_stake, min_fee, the rents, min_builder_stake,
/// min_executor_stake) are
/// non-negative integers or
/// decimal strings of base units (strings carry the full u64 range); floats, negatives,
/// signs and booleans are refused. Other parameters are non-negative JSON integers. Every
/// parameter is optional (defaults in `chain_params`); unknown keys, duplicate JSON keys,
/// duplicate validator keys and duplicate balance accounts are refused. At least one
/// validator is required, each staking at least `min_validator_stake`; balances are
/// positive; the total minted supply fits in 64 bits. Every error names the
/// field ("validators[1].stake: ...").
///
/// The parsed genesis keeps validators sorted by node id and balances by account, so the
/// order in the file does not matter; `genesis_hash` is over a canonical binary encoding,
/// not the JSON text.

#include "poe/chain/notary.hpp"
#include "poe/chain/payments.hpp"
#include "poe/core/amount.hpp"
#include "poe/core/keys.hpp"
#include "poe/core/types.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace poe::chain {

/// Protocol parameters fixed at genesis.
struct chain_params {
  /// Blocks between an unstake and the release of its value (1..2^32-1).
  std::uint64_t unbonding_blocks = 100;
  /// Share of stake a slashed validator loses, in parts per million (0..1'000'000).
  std::uint32_t slash_share_ppm = 50'000;
  /// Least validator stake that puts an account into the validator set (>= 1).
  amount min_validator_stake{1};
  /// Largest encoded transaction (256..1'048'576 bytes).
  std::uint64_t max_tx_bytes = 65536;
  /// Target block interval (50..60'000 ms).
  std::uint64_t block_interval_ms = 1000;
  /// Most transactions per block (1..1'000'000).
  std::uint64_t max_block_txs = 10'000;
  /// Least fee of a transaction.
  amount min_fee{0};
  /// Rent, its shares and forced inclusion (notary.hpp).
  rent_params rent;
  /// Least executor stake for an executor to be punished for fraud or to witness one (>= 1):
  /// a fraud case needs three executors with at least this much at risk.
  amount min_executor_stake{1};
  /// Content and channels (payments.hpp). The split every published content gets unless its
  /// creator names another; any other split must give the platform and the treasury at least
  /// these shares.
  split_rule split;
  /// Receives the platform's share; all zero: the treasury keeps it.
  node_id platform_account;
  /// Blocks the payee has to claim after a payer starts closing a channel (1..1'000'000).
  std::uint64_t channel_challenge_blocks = 20;
  /// Most SHA-256 steps a lane claim may take from its newest checkpoint (1..1'000'000).
  std::uint64_t max_tick_hashes = 4096;
  /// Most lanes a channel holds (1..65536).
  std::uint64_t max_channel_lanes = 1024;
  friend bool operator==(const chain_params&, const chain_params&) = default;
};

struct genesis_validator {
  public_key key;
  amount stake;
  node_id id() const { return key.id(); }
};

struct genesis_balance {
  node_id account;
  amount value;
  friend bool operator==(const genesis_balance&, const genesis_balance&) = default;
};

struct genesis {
  std::string chain_id;
  std::vector<genesis_validator> validators; ///< sorted by node id, unique
  std::vector<genesis_balance> balances;     ///< sorted by account, unique
  chain_params params;
};

/// Parses and validates genesis JSON text. Errors are errc::invalid_argument (errc::key_error
/// for a bad key) with a message starting with the field path.
result<genesis> parse_genesis(std::string_view json_text);
/// Reads and parses a genesis file; the error names the file.
/// The rent parameters as a JSON object (the names of the genesis params; amounts as decimal
/// strings), e.g. for a validator's chain status; and back, checked like genesis params.
std::string rent_params_json(const rent_params& p);
result<rent_params> parse_rent_params(std::string_view json_text);
/// Checks rent parameters received from a peer the way genesis parameters are checked.
status check_rent_params(const rent_params& p);

result<genesis> load_genesis(const std::filesystem::path& file);

/// Checks a genesis built in code (what `parse_genesis` checks after parsing): chain id,
/// parameter ranges, at least one validator, minimum stakes, uniqueness, sort order, and that
/// the total minted supply fits in 64 bits.
status check_genesis(const genesis& g);

/// The genesis as JSON text (amounts as decimal strings), parseable by `parse_genesis`.
std::string to_json(const genesis& g);

/// Canonical binary encoding (big-endian, u16-length-prefixed byte strings):
///
///     "poe/genesis/v1" (14 ASCII bytes) ‖ u16 len ‖ chain_id
///     ‖ u64 unbonding_blocks ‖ u64 slash_share_ppm ‖ u64 min_validator_stake
///     ‖ u64 max_tx_bytes ‖ u64 block_interval_ms ‖ u64 max_block_txs ‖ u64 min_fee
///     ‖ the rent parameters (rent_params, in declaration order) ‖ u64 min_executor_stake
///     ‖ u32 validator count ‖ (u16 len ‖ DER SPKI ‖ u64 stake)*   sorted by node id
///     ‖ u32 balance count   ‖ (32-byte account ‖ u64 amount)*     sorted by account
bytes encode(const genesis& g);
/// SHA-256 of `encode(g)`: the chain's identity next to its chain id.
hash256 genesis_hash(const genesis& g);

} // namespace poe::chain
