#pragma once
/// @file
/// The ledger: deterministic state transitions over integer money.
///
/// State:
/// - accounts: balance and nonce per node id. An account exists once it has received value
///   or sent a transaction; it is never deleted (its nonce guards against replays).
/// - stake per (account, role); zero stakes are removed.
/// - unbonding entries (account, role, release height, amount); entries with the same
///   account, role and release height are merged.
/// - public keys of every account that has staked (and of the genesis validators): the
///   validator set needs them.
/// - jailed accounts: removed from the validator set for good (`remove_validator`).
/// - the slashing pool: slashed value, kept apart (not burnt) so supply is conserved.
/// - spent evidence: the ids of fraud evidence already punished (storage fraud), so that the
///   same evidence never slashes twice. (Equivocation is kept from repeating by jailing.)
///
/// - content: published content by id (creator, price, split, vouching verifier).
/// - channels: payer, payee, deposit, paid, expiry, closing height, and the settled lanes.
/// - job escrows (paid work): funder, verifier, fee deposited and paid, price per work unit,
///   the verifier's share, expiry, and the task indices paid.
///
/// Supply: genesis mints the balances and the validators' stake (as validator-role stake)
/// out of nothing; nothing mints afterwards. Every transition conserves
/// `total_supply() = Σ balances + Σ stakes + Σ unbonding + slashing pool + treasury
/// + Σ channel escrow + Σ job escrow`, which therefore always equals `minted()` and fits in 64 bits.
///
/// Transitions (`apply` is atomic: a refused transaction changes nothing):
/// - every transaction: nonce must equal the account's (lower: stale_nonce, higher:
///   bad_nonce), fee >= min_fee; the fee goes to the block's proposer; nonce += 1.
/// - transfer: balance -= value + fee; to.balance += value.
/// - stake: balance -= value + fee; stake(sender, role) += value; the sender's key is
///   recorded. Validator stake by a jailed account is refused.
/// - unstake: balance -= fee; stake(sender, role) -= value; an unbonding entry of value is
///   released into the balance by `begin_block(height + unbonding_blocks)`.
/// - slash: a ppm share (floor) of the bonded stake of a role and of each of its unbonding
///   entries moves to the slashing pool: unbonding does not escape a slash.
///
/// State root: the RFC 6962 Merkle root over one leaf per item, leaves sorted by their bytes
/// (every leaf starts with a kind byte followed by its fixed-width key, so this is the order
/// of (kind, key)). Integers big-endian:
///
///     account    0x01 ‖ id (32) ‖ balance u64 ‖ nonce u64                      49 bytes
///     stake      0x02 ‖ id (32) ‖ role u8 ‖ amount u64                          42 bytes
///     unbonding  0x03 ‖ id (32) ‖ role u8 ‖ release_height u64 ‖ amount u64    50 bytes
///     key        0x04 ‖ id (32) ‖ u16 len ‖ DER SPKI
///     jailed     0x05 ‖ id (32)                                                 33 bytes
///     pool       0x06 ‖ pool u8 (1 = slashing, 2 = treasury) ‖ amount u64        10 bytes
///     evidence   0x07 ‖ evidence id (32)                                        33 bytes
///     log book   0x08 ‖ bpi id (32) ‖ log_book::encode() (size, last, subtrees)
///     content    0x09 ‖ content id (32) ‖ creator (32) ‖ price u64 ‖ 4 × split u32 ‖
///                verifier (32) ‖ outputs u32 ‖ height u64                     153 bytes
///     channel    0x0A ‖ channel id (32) ‖ payer (32) ‖ payee (32) ‖ deposit u64 ‖ paid u64 ‖
///                expiry u64 ‖ closing u64 ‖ u32 lanes ‖ lanes × (lane u32 ‖ commit (32) ‖
///                content (32) ‖ price u64 ‖ ticks u32)
///     job escrow 0x0B ‖ escrow id (32) ‖ funder (32) ‖ verifier (32) ‖ deposit u64 ‖ paid u64 ‖
///                price_per_work_unit u64 ‖ verifier_ppm u32 ‖ expiry u64 ‖ u32 n ‖
///                n × task u32 (ascending)
///
/// The two pool leaves are always present; the others exist for each non-empty item.
///
/// Notarization (seed 004; poe/chain/notary.hpp): `apply_entry` takes a PoE entry of a block —
/// the BPI (a builder) holds builder stake, the entry checks (signature, LogBlock id), its
/// LogBlock continues the BPI's log book (sequence, prev) and the header's logbook_root is
/// the book's root with it, rent_payment >= rent_quote, and the BPI's balance pays
/// rent_payment. `distribute_rent` moves a block's collected rent: its storage part to the
/// storage stakers by stake, then the validators' share of the rest to the validators by stake
/// (remainder to the proposer), the rest to the slashing pool and the treasury. `pay_bid` moves a winning builder bid from the builder to the proposer;
/// `penalize_withheld` moves a withheld bid's value from the builder (balance first, then
/// builder stake) to the slashing pool. None of them mints: the supply stays `minted()`.

#include "poe/chain/genesis.hpp"
#include "poe/chain/notary.hpp"
#include "poe/chain/transaction.hpp"

#include <array>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <vector>

namespace poe::chain {

struct account {
  amount balance;
  std::uint64_t nonce = 0;
  friend bool operator==(const account&, const account&) = default;
};

struct unbonding_entry {
  node_id account;
  stake_role role = stake_role::validator;
  amount value;
  std::uint64_t release_height = 0;
  friend bool operator==(const unbonding_entry&, const unbonding_entry&) = default;
};

/// A member of the validator set.
struct validator_info {
  node_id id;
  public_key key;
  amount stake;
};

/// Leaf kinds of the state root (see the file comment). Values are part of the protocol.
enum class state_leaf : std::uint8_t {
  account = 1,
  stake = 2,
  unbonding = 3,
  key = 4,
  jailed = 5,
  pool = 6,
  evidence = 7,
  log_book = 8,
  content = 9,
  channel = 10,
  job_escrow = 11,
};

/// Published content (payments.hpp).
struct content_record {
  node_id creator;
  amount price_per_second;
  split_rule split;
  node_id verifier;         ///< who vouched for the outputs
  std::uint32_t outputs = 0; ///< how many outputs the content names
  std::uint64_t height = 0;  ///< block that published it
  friend bool operator==(const content_record&, const content_record&) = default;
};

/// A lane as settled so far: bound to the first commitment claimed on it.
struct lane_record {
  hash256 commit; ///< commit_id of its lane_commit
  hash256 content;
  amount price_per_tick;
  std::uint32_t ticks = 0; ///< ticks paid out
  friend bool operator==(const lane_record&, const lane_record&) = default;
};

struct channel_record {
  node_id payer;
  bytes payer_key; ///< DER SPKI: lane commitments and vouchers are checked against it
  node_id payee;
  amount deposit; ///< everything the payer put in
  amount paid;    ///< everything paid out of it by claims (<= deposit)
  std::uint64_t expiry_height = 0;
  std::uint64_t closing_height = 0; ///< 0: open; else the payee may claim below this height
  std::map<std::uint32_t, lane_record> lanes;
  amount escrow() const { return amount{deposit.units() - paid.units()}; }
  friend bool operator==(const channel_record&, const channel_record&) = default;
};

/// Where money went, by kind: the ledger counts every credit by its kind, per block and per
/// receiving account (pools: per block only). Not part of the state root: the counts follow
/// from the blocks, like `block_id`. Values are stable (they name metrics and report rows).
enum class flow_kind : std::uint8_t {
  fee = 0,           ///< transaction fees, to the proposer
  rent_validators,   ///< the validators' share of a block's rent, by stake
  rent_storage,      ///< the storage part of a block's rent, to storage stakers by stake
  rent_slashing,     ///< rent into the slashing pool
  rent_treasury,     ///< rent into the treasury
  bid,               ///< a winning builder bid, to the proposer
  content_creator,   ///< playback payments: the creator's share
  content_operators, ///< playback payments: the payee node's share
  content_platform,  ///< playback payments: the platform's share (the treasury when none)
  content_treasury,  ///< playback payments: the treasury's share
  job_executor,      ///< paid work: the executor's part of a task's payment
  job_verifier,      ///< paid work: the verifier's share
  refund,            ///< a channel's or job escrow's rest back to its payer / funder
  slashed,           ///< stake (or a withheld bid's value) into the slashing pool
};
inline constexpr std::size_t flow_kinds = 14;
/// "fee", "rent_validators", ...
std::string_view to_string(flow_kind k);
using flow_totals = std::array<std::uint64_t, flow_kinds>;

/// A job's fee in escrow (transaction.hpp, job_fund).
struct job_escrow_record {
  node_id funder;
  node_id verifier;
  amount deposit; ///< the max fee put in
  amount paid;    ///< paid out so far (<= deposit)
  amount price_per_work_unit;
  std::uint32_t verifier_ppm = 0;
  std::uint64_t expiry_height = 0;
  std::set<std::uint32_t> tasks_paid;
  amount rest() const { return amount{deposit.units() - paid.units()}; }
  friend bool operator==(const job_escrow_record&, const job_escrow_record&) = default;
};

/// The commitment to a validator set (block_header::validators_root): the RFC 6962 root over
/// one leaf per validator in `validator_set` order (by id): id (32) ‖ u64 stake ‖ u16 len ‖
/// DER SPKI.
hash256 validators_root(const std::vector<validator_info>& set);

class ledger {
public:
  /// The state after genesis: balances credited, validators' stake bonded in the validator
  /// role and their keys recorded. Checks the genesis (`check_genesis`).
  static result<ledger> from_genesis(const genesis& g);

  const std::string& chain_id() const { return chain_id_; }
  const chain_params& params() const { return params_; }

  /// Applies one transaction included at `height` in a block proposed by `proposer`.
  /// Runs the contextual checks, and repeats the cheap context-free ones (chain, key, zero
  /// amount, self transfer) so that apply alone never corrupts the state; the size and the
  /// signature are not checked here: run `check_transaction` first. A rejected transaction
  /// changes nothing.
  tx_status apply(const transaction& tx, std::uint64_t height, const node_id& proposer);

  /// Start of block `height` (whose parent is `parent`, the block id of height - 1, recorded
  /// for `block_id`): releases every unbonding entry with release_height <= height into its
  /// account's balance. Returns the released total. (Scans all entries: fine while unbonding
  /// is rare; index by release height if it is not.)
  amount begin_block(std::uint64_t height, const hash256& parent = {});

  /// How many recent block ids `block_id` answers for (the decider draw's anchors).
  static constexpr std::uint64_t recent_blocks = 1024;
  /// The id of block `height` when it is among the last `recent_blocks` before the current
  /// one (learnt from each block's parent link); nullopt otherwise. Not part of the state
  /// root: every node that executed the chain knows the same ids.
  std::optional<hash256> block_id(std::uint64_t height) const;

  /// One executor the decider draw ranks (evidence.hpp, `drawn_deciders`).
  struct drawable_executor {
    node_id id;
    amount stake;
    std::uint64_t since = 0; ///< height of the block whose stake transaction last raised it
  };
  /// Accounts with executor stake >= min_executor_stake whose last executor stake
  /// transaction was in a block before `anchor_height`, sorted by id. (Like `block_id`, the
  /// heights are not in the state root: they follow from the blocks themselves.)
  std::vector<drawable_executor> drawable_executors(std::uint64_t anchor_height) const;

  /// Moves floor(x * ppm / 1e6) of `who`'s bonded stake of `role` and of each of its
  /// unbonding entries of `role` to the slashing pool; returns the total slashed.
  /// ppm > 1'000'000 is errc::invalid_argument.
  result<amount> slash(const node_id& who, stake_role role, std::uint32_t ppm);

  /// Jails `who`: it leaves the validator set for good (its stake stays bonded, slashable and
  /// unstakeable). Idempotent; returns true when `who` was not jailed before.
  bool remove_validator(const node_id& who);

  /// Accounts with validator stake >= min_validator_stake, not jailed, and with a known key,
  /// sorted by node id.
  std::vector<validator_info> validator_set() const;

  /// The state commitment (file comment).
  hash256 state_root() const;
  /// The leaves of the state root, in order (for proofs and the reference test).
  std::vector<bytes> state_leaves() const;

  /// Σ balances + Σ stakes + Σ unbonding + slashing pool + treasury + Σ channel and job escrow.
  amount total_supply() const;
  /// What genesis minted; equals total_supply() after every transition.
  amount minted() const { return minted_; }

  /// A missing account reads as {0, 0}.
  account account_of(const node_id& id) const;
  amount stake_of(const node_id& id, stake_role role) const;
  /// Unbonding entries, ordered by (account, role, release height).
  std::vector<unbonding_entry> unbonding() const;
  amount slashing_pool() const { return slashing_pool_; }
  bool is_jailed(const node_id& id) const;
  // -- notarization -------------------------------------------------------------------------

  /// Applies one PoE entry of block `height` (class comment): returns the rent it paid, or
  /// the rule it broke ("not_staked", "invalid", "out_of_order", "bad_logbook_root",
  /// "rent_too_low", "insufficient_funds"); a refused entry changes nothing.
  result<amount> apply_entry(const poe_entry& e);
  /// The block's rent: first its storage part (Σ over the applied entries of
  /// min(rent_per_kib × ⌈result_bytes / 1024⌉, rent paid)) to the accounts holding storage
  /// stake, by stake (floor, remainder to the largest stake, smaller id on ties); with no
  /// storage staker it joins the rest. The rest by split_rent: validators by stake (floor,
  /// remainder to `proposer`, or to the first validator when the proposer is not in the set),
  /// the slashing pool, the treasury. Debits nothing: the rent was taken from the BPIs by
  /// apply_entry.
  void distribute_rent(amount total, const node_id& proposer);
  /// `value` from `builder`'s balance to `proposer`'s; insufficient_funds when it cannot pay.
  status pay_bid(const node_id& builder, const node_id& proposer, amount value);
  /// Up to `value` from `builder`'s balance, the rest (as far as it goes) from its builder
  /// stake, into the slashing pool. Returns what was taken.
  amount penalize_withheld(const node_id& builder, amount value);
  /// The BPI's log book (empty when it has none).
  log_book book_of(const node_id& bpi) const;
  /// Its size: the sequence the BPI's next LogBlock must have (no copy of the book).
  std::uint64_t book_size(const node_id& bpi) const;
  amount treasury() const { return treasury_; }

  // -- content and channels -----------------------------------------------------------------

  std::optional<content_record> content_of(const hash256& id) const;
  std::optional<channel_record> channel_of(const hash256& id) const;
  const std::map<hash256, channel_record>& channels() const { return channels_; }
  /// Σ escrow of every channel and every job escrow.
  amount escrowed() const;
  std::optional<job_escrow_record> job_escrow_of(const hash256& id) const;
  const std::map<hash256, job_escrow_record>& job_escrows() const { return job_escrows_; }

  // -- flows (not part of the state root) ----------------------------------------------------

  /// Credits by kind since the last begin_block.
  const flow_totals& block_flows() const { return block_flows_; }
  /// Credits an account received by kind, over the chain's history (all zero when none).
  flow_totals flows_of(const node_id& id) const;

  /// Records punished fraud evidence by its id; false when it was recorded before.
  bool spend_evidence(const hash256& id);
  bool evidence_spent(const hash256& id) const { return spent_evidence_.contains(id); }
  /// The recorded key of `id`, if it has staked or is a genesis validator.
  std::optional<public_key> key_of(const node_id& id) const;
  std::size_t account_count() const { return accounts_.size(); }

private:
  using stake_key = std::pair<node_id, stake_role>;
  using unbonding_key = std::tuple<node_id, stake_role, std::uint64_t>; // release height

  std::string chain_id_;
  chain_params params_;
  std::map<node_id, account> accounts_;
  std::map<stake_key, amount> stakes_;
  std::map<unbonding_key, amount> unbonding_;
  std::map<node_id, public_key> keys_;
  std::set<node_id> jailed_;
  std::set<hash256> spent_evidence_;
  amount slashing_pool_;
  amount treasury_;
  std::map<node_id, log_book> books_;
  amount minted_;
  std::map<std::uint64_t, hash256> recent_ids_;          ///< height → block id, the last recent_blocks
  std::map<node_id, std::uint64_t> executor_since_;      ///< height of the last executor stake tx
  std::map<hash256, content_record> contents_;
  std::map<hash256, channel_record> channels_;
  std::map<hash256, job_escrow_record> job_escrows_;
  flow_totals block_flows_{};
  std::map<node_id, flow_totals> account_flows_;
  /// Storage parts of the rent the entries applied since the last distribute_rent paid.
  amount storage_rent_;

  /// Counts a credit of `a` of kind `k` (to `to`, when an account received it).
  void count_flow(flow_kind k, amount a, const node_id* to = nullptr);

  /// apply() for content, channel and job escrow bodies, after the common checks (ledger_payments.cpp).
  tx_status apply_payment(const transaction& tx, const node_id& sender, std::uint64_t height,
                          const node_id& proposer);
};

} // namespace poe::chain
