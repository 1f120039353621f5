#pragma once
/// @file
/// The typed requests, replies and events that cross between roles (and between a role and
/// the command-line tools). Each is a plain struct with `inspect()`, registered in
/// `register_messages` and covered by the round-trip test; signed protocol objects stay
/// canonical bytes inside them. No role parses JSON or matches reply text: JSON is made only
/// at the edge (tools/support renders these structs for poe-cli).
///
/// No CAF header is needed here beyond `caf/meta/type_name.hpp` (inspect's type name).

#include "poe/chain/transaction.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace poe::chain {
struct rent_params;
}

namespace poe::runtime {

// -- submissions ----------------------------------------------------------------------------

/// The outcome of one submission.
enum class verdict : std::uint8_t {
  accepted = 0, ///< taken (held, queued, pending inclusion)
  known = 1,    ///< taken before: nothing changes
  rejected = 2, ///< refused; `reason` names the rule
  busy = 3,     ///< refused for now (a full mempool): resubmit after the next block
};
/// "accepted", "known", "rejected", "busy".
std::string_view to_string(verdict v);

/// A validator's or builder's answer to one submission: a transaction, evidence, a PoE entry,
/// a builder bid or a step receipt. `reason` is the stable name of the rule that refused it
/// (a chain::reject_reason, "not_staked", "rent_too_low", ...): a label for logs, metrics and
/// people, never something to branch on — `outcome` is.
struct submit_reply {
  verdict outcome = verdict::rejected;
  std::string reason;           ///< rejected: the rule's name
  std::string detail;           ///< for people
  std::vector<std::uint8_t> id; ///< what it names: transaction or header id, offender id

  bool taken() const { return outcome == verdict::accepted || outcome == verdict::known; }
  bool busy() const { return outcome == verdict::busy; }
  /// "accepted <id hex>", "known <id hex>", "rejected: <reason>: <detail>",
  /// "busy: <reason>: <detail>" (the CLI's text).
  std::string text() const;
  friend bool operator==(const submit_reply&, const submit_reply&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, submit_reply& x) {
  return f(caf::meta::type_name("poe.submit_reply"), x.outcome, x.reason, x.detail, x.id);
}
submit_reply accepted_reply(std::vector<std::uint8_t> id = {}, std::string detail = {});
submit_reply known_reply(std::vector<std::uint8_t> id = {});
submit_reply rejected_reply(std::string reason, std::string detail);
submit_reply busy_reply(std::string reason, std::string detail);

// -- chain views ----------------------------------------------------------------------------

/// One bonded stake.
struct stake_entry {
  chain::stake_role role = chain::stake_role::validator;
  std::uint64_t units = 0;
  friend bool operator==(const stake_entry&, const stake_entry&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stake_entry& x) {
  return f(caf::meta::type_name("poe.stake_entry"), x.role, x.units);
}

/// Stake on its way out: released at `release_height`.
struct unbonding_view {
  chain::stake_role role = chain::stake_role::validator;
  std::uint64_t units = 0;
  std::uint64_t release_height = 0;
  friend bool operator==(const unbonding_view&, const unbonding_view&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unbonding_view& x) {
  return f(caf::meta::type_name("poe.unbonding_view"), x.role, x.units, x.release_height);
}

/// (account_atom, std::string node id hex) → account_view: one account at the validator's tip.
/// One kind of money flow (chain::flow_kind's name) and its amount.
struct flow_entry {
  std::string kind;
  std::uint64_t amount = 0;
  friend bool operator==(const flow_entry&, const flow_entry&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, flow_entry& x) {
  return f(caf::meta::type_name("poe.flow_entry"), x.kind, x.amount);
}

struct account_view {
  std::vector<std::uint8_t> account; ///< node id (32 bytes)
  std::uint64_t balance = 0;
  std::uint64_t nonce = 0;
  std::uint64_t height = 0; ///< the tip it was read at
  bool jailed = false;
  std::vector<stake_entry> stakes; ///< non-zero stakes only
  std::vector<unbonding_view> unbonding;
  std::vector<flow_entry> flows; ///< what the account received, by kind (non-zero kinds)
  /// The nonce its next transaction should carry: `nonce` past the consecutive ones pending in
  /// the answering validator's mempool (what a client uses without an explicit nonce).
  std::uint64_t next_nonce = 0;

  /// The stake bonded for `r` (0 when none).
  std::uint64_t stake_of(chain::stake_role r) const;
  friend bool operator==(const account_view&, const account_view&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, account_view& x) {
  return f(caf::meta::type_name("poe.account_view"), x.account, x.balance, x.nonce, x.height,
           x.jailed, x.stakes, x.unbonding, x.flows, x.next_nonce);
}

/// An executor the decider draw may rank: executor stake >= min_executor_stake, and the
/// height of the block whose stake transaction last raised it (ledger::drawable_executors).
struct drawable_view {
  std::vector<std::uint8_t> id; ///< node id (32 bytes)
  std::uint64_t stake = 0;
  std::uint64_t since = 0;
  friend bool operator==(const drawable_view&, const drawable_view&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drawable_view& x) {
  return f(caf::meta::type_name("poe.drawable_view"), x.id, x.stake, x.since);
}
/// The validator's answer to (pool_atom): at its tip `height`.
struct decider_pool {
  std::uint64_t height = 0;
  std::vector<drawable_view> executors;
  friend bool operator==(const decider_pool&, const decider_pool&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, decider_pool& x) {
  return f(caf::meta::type_name("poe.decider_pool"), x.height, x.executors);
}

/// The chain's rent parameters (chain::rent_params) in base units.
struct rent_terms {
  std::uint64_t base_rent = 0, rent_per_work_unit = 0, rent_per_kib = 0;
  std::uint32_t validators_ppm = 0, slashing_ppm = 0, treasury_ppm = 0;
  std::uint64_t inclusion_blocks = 0, max_block_poes = 0, min_builder_stake = 0;
  friend bool operator==(const rent_terms&, const rent_terms&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rent_terms& x) {
  return f(caf::meta::type_name("poe.rent_terms"), x.base_rent, x.rent_per_work_unit,
           x.rent_per_kib, x.validators_ppm, x.slashing_ppm, x.treasury_ppm, x.inclusion_blocks,
           x.max_block_poes, x.min_builder_stake);
}
rent_terms to_terms(const chain::rent_params& p);
chain::rent_params to_params(const rent_terms& t);

/// A validator in the set, with its stake.
struct validator_view {
  std::vector<std::uint8_t> id;
  std::uint64_t stake = 0;
  friend bool operator==(const validator_view&, const validator_view&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, validator_view& x) {
  return f(caf::meta::type_name("poe.validator_view"), x.id, x.stake);
}

/// (chain_atom) → chain_status: what a validator knows of the chain.
/// The chain's channel parameters (genesis; the channel role needs them).
struct payment_terms {
  std::uint64_t challenge_blocks = 0, max_tick_hashes = 0, max_channel_lanes = 0, min_fee = 0;
  std::uint64_t max_tx_bytes = 0; ///< a claim transaction must fit
  friend bool operator==(const payment_terms&, const payment_terms&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, payment_terms& x) {
  return f(caf::meta::type_name("poe.payment_terms"), x.challenge_blocks, x.max_tick_hashes,
           x.max_channel_lanes, x.min_fee, x.max_tx_bytes);
}

struct chain_status {
  std::string chain_id;
  std::string node; ///< the answering validator's node id (hex)
  std::uint64_t height = 0;
  std::vector<std::uint8_t> block; ///< id of the block at `height` (32 bytes)
  std::uint64_t timestamp_ms = 0;
  std::uint64_t round = 0;
  std::uint64_t block_interval_ms = 0;
  std::uint64_t mempool = 0, transactions = 0, pending_evidence = 0, poe_held = 0;
  std::vector<std::uint8_t> state_root;
  std::uint64_t slashing_pool = 0, treasury = 0, total_supply = 0;
  rent_terms rent;
  std::vector<validator_view> validators;
  payment_terms payments;
  friend bool operator==(const chain_status&, const chain_status&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_status& x) {
  return f(caf::meta::type_name("poe.chain_status"), x.chain_id, x.node, x.height, x.block,
           x.timestamp_ms, x.round, x.block_interval_ms, x.mempool, x.transactions,
           x.pending_evidence, x.poe_held, x.state_root, x.slashing_pool, x.treasury,
           x.total_supply, x.rent, x.validators, x.payments);
}

// -- chain events ---------------------------------------------------------------------------

/// Pushed by a validator to each subscriber for every finalized block, in height order: a
/// typed summary and the block itself (qbft::encode(decision): the block with its commit
/// seals). Subscribe with (chain_sub_atom, u64 after, caf::actor subscriber) → chain_status;
/// the validator then sends every finalized block above `after` (catching up from its store)
/// and each new one as it commits. `after` = chain_from_tip: from the current tip on.
struct chain_block {
  std::uint64_t height = 0;
  std::vector<std::uint8_t> id;     ///< block id (32 bytes)
  std::vector<std::uint8_t> parent; ///< parent block id (32 bytes)
  std::uint64_t timestamp_ms = 0;
  std::uint32_t transactions = 0, poe_headers = 0, evidence = 0;
  std::vector<std::uint8_t> decision; ///< qbft::encode(decision)
  /// The block's money flows by kind as the validator's ledger counted them executing it
  /// (non-zero kinds); empty for blocks older than the validator's last 1024.
  std::vector<flow_entry> flows;
  friend bool operator==(const chain_block&, const chain_block&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chain_block& x) {
  return f(caf::meta::type_name("poe.chain_block"), x.height, x.id, x.parent, x.timestamp_ms,
           x.transactions, x.poe_headers, x.evidence, x.decision, x.flows);
}

/// `after` of a subscription that wants no history: the current tip block, then new ones.
inline constexpr std::uint64_t chain_from_tip = ~std::uint64_t{0};

// -- executors ------------------------------------------------------------------------------

/// (ex_info_atom) → executor_info: what an execution role offers and how busy it is.
struct executor_status {
  std::uint32_t workers = 0; ///< the capacity it registers (task slots)
  std::uint64_t busy = 0, queued = 0, in_flight = 0, completed = 0, failed = 0;
  std::vector<std::string> kinds;
  friend bool operator==(const executor_status&, const executor_status&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, executor_status& x) {
  return f(caf::meta::type_name("poe.executor_status"), x.workers, x.busy, x.queued,
           x.in_flight, x.completed, x.failed, x.kinds);
}

// -- storage --------------------------------------------------------------------------------

/// (st_stat_atom, string cid) → object_stat: a chunk or a file (manifest) and where it belongs.
struct object_stat {
  std::string cid;
  bool file = false; ///< a manifest (else a chunk)
  std::uint64_t size = 0;
  bool pinned = false;
  std::uint64_t chunks = 0, chunks_here = 0; ///< files
  std::string media_type, owner;            ///< files
  std::uint64_t stored_at_ms = 0;           ///< files
  std::uint64_t references = 0;             ///< chunks: manifests naming it
  std::vector<std::string> placement;       ///< node ids (hex) that should hold it
  friend bool operator==(const object_stat&, const object_stat&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, object_stat& x) {
  return f(caf::meta::type_name("poe.object_stat"), x.cid, x.file, x.size, x.pinned, x.chunks,
           x.chunks_here, x.media_type, x.owner, x.stored_at_ms, x.references, x.placement);
}

/// One stored object of (st_list_atom) → std::vector<stored_object>.
struct stored_object {
  std::string cid;
  std::uint64_t size = 0;
  bool pinned = false;
  friend bool operator==(const stored_object&, const stored_object&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stored_object& x) {
  return f(caf::meta::type_name("poe.stored_object"), x.cid, x.size, x.pinned);
}

/// (st_usage_atom, string owner) → storage_usage: what an owner keeps here, for rent.
struct storage_usage {
  std::string owner;
  std::uint64_t bytes = 0;
  std::string byte_ms; ///< byte-milliseconds so far (decimal: may exceed 2^64)
  std::uint64_t at_ms = 0;
  friend bool operator==(const storage_usage&, const storage_usage&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, storage_usage& x) {
  return f(caf::meta::type_name("poe.storage_usage"), x.owner, x.bytes, x.byte_ms, x.at_ms);
}

/// One challenged node of (st_rept_atom) → std::vector<challenge_record>.
struct challenge_record {
  std::string node; ///< node id (hex)
  std::uint64_t passed = 0, wrong_answer = 0, missed_deadline = 0, score_ppm = 0;
  friend bool operator==(const challenge_record&, const challenge_record&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, challenge_record& x) {
  return f(caf::meta::type_name("poe.challenge_record"), x.node, x.passed, x.wrong_answer,
           x.missed_deadline, x.score_ppm);
}

// -- builders and rent ----------------------------------------------------------------------

/// (bd_status_atom) → builder_status: a BPI's log book and queues.
struct builder_status {
  std::string bpi; ///< node id (hex)
  bool ready = false; ///< the chain's rent parameters are known (the log builder runs)
  std::uint64_t book_size = 0;
  std::vector<std::uint8_t> book_root;
  std::uint64_t pending_receipts = 0, receipts = 0, log_blocks_sealed = 0, headers_included = 0,
                receipts_included = 0, not_yet_included = 0, scanned_height = 0;
  friend bool operator==(const builder_status&, const builder_status&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, builder_status& x) {
  return f(caf::meta::type_name("poe.builder_status"), x.bpi, x.ready, x.book_size, x.book_root,
           x.pending_receipts, x.receipts, x.log_blocks_sealed, x.headers_included,
           x.receipts_included, x.not_yet_included, x.scanned_height);
}

/// (rent_quote_atom, u64 work units, u64 result bytes, u64 priority) → rent_quote_view.
struct rent_quote_view {
  std::uint64_t quote = 0, rent_payment = 0, base = 0, complexity = 0, storage = 0, priority = 0;
  std::uint32_t validators_ppm = 0, slashing_ppm = 0, treasury_ppm = 0;
  friend bool operator==(const rent_quote_view&, const rent_quote_view&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rent_quote_view& x) {
  return f(caf::meta::type_name("poe.rent_quote_view"), x.quote, x.rent_payment, x.base,
           x.complexity, x.storage, x.priority, x.validators_ppm, x.slashing_ppm, x.treasury_ppm);
}

/// One block's rent flows (or their totals: height 0).
struct rent_flow {
  std::uint64_t height = 0, headers = 0, collected = 0, validators = 0, slashing = 0, treasury = 0;
  /// Every money flow of the block (or the totals) by kind: rent, fees, playback payments,
  /// paid work, refunds, slashing (chain::flow_kind).
  std::vector<flow_entry> flows;
  friend bool operator==(const rent_flow&, const rent_flow&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rent_flow& x) {
  return f(caf::meta::type_name("poe.rent_flow"), x.height, x.headers, x.collected, x.validators,
           x.slashing, x.treasury, x.flows);
}

/// (rent_flows_atom, u64 last n) → rent_flows: totals and the last n blocks with rent.
struct rent_flows {
  std::uint64_t scanned_height = 0;
  rent_flow totals;
  std::vector<rent_flow> blocks;
  friend bool operator==(const rent_flows&, const rent_flows&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rent_flows& x) {
  return f(caf::meta::type_name("poe.rent_flows"), x.scanned_height, x.totals, x.blocks);
}

// -- channels -------------------------------------------------------------------------------

/// The channel role's answer to a lane commitment, tick or voucher.
struct channel_ack {
  bool ok = false;
  std::string reason;      ///< refused: channel_state.hpp's refusal name
  std::uint32_t ticks = 0; ///< the lane's ticks held
  std::uint64_t owed = 0;  ///< the channel's total owed
  friend bool operator==(const channel_ack&, const channel_ack&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, channel_ack& x) {
  return f(caf::meta::type_name("poe.channel_ack"), x.ok, x.reason, x.ticks, x.owed);
}

/// One channel paying this node.
struct channel_entry {
  std::vector<std::uint8_t> id, payer;
  std::uint64_t deposit = 0, owed = 0, settled = 0, expiry_height = 0, closing_height = 0;
  std::uint32_t lanes = 0;
  friend bool operator==(const channel_entry&, const channel_entry&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, channel_entry& x) {
  return f(caf::meta::type_name("poe.channel_entry"), x.id, x.payer, x.deposit, x.owed, x.settled,
           x.expiry_height, x.closing_height, x.lanes);
}

/// (ch_status_atom) → channel_report.
struct channel_report {
  std::uint64_t height = 0; ///< the last block the role took
  std::uint64_t pending = 0; ///< owed and not settled yet, over every channel
  std::uint64_t claims_submitted = 0;
  std::vector<channel_entry> channels;
  friend bool operator==(const channel_report&, const channel_report&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, channel_report& x) {
  return f(caf::meta::type_name("poe.channel_report"), x.height, x.pending, x.claims_submitted,
           x.channels);
}

/// (content_atom, bytes content id) → content_view: published content at the validator's tip.
struct content_view {
  bool found = false;
  std::vector<std::uint8_t> id, creator, verifier; ///< 32 bytes each (when found)
  std::uint64_t price_per_second = 0;
  std::uint32_t creator_ppm = 0, operators_ppm = 0, platform_ppm = 0, treasury_ppm = 0;
  std::uint32_t outputs = 0;
  std::uint64_t published = 0; ///< the block that published it
  std::uint64_t height = 0;    ///< the tip it was read at
  friend bool operator==(const content_view&, const content_view&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, content_view& x) {
  return f(caf::meta::type_name("poe.content_view"), x.found, x.id, x.creator, x.verifier,
           x.price_per_second, x.creator_ppm, x.operators_ppm, x.platform_ppm, x.treasury_ppm,
           x.outputs, x.published, x.height);
}

/// A lane as the chain has settled it.
struct lane_view {
  std::uint32_t lane = 0;
  std::vector<std::uint8_t> content;
  std::uint64_t price_per_tick = 0;
  std::uint32_t ticks = 0; ///< ticks paid out
  friend bool operator==(const lane_view&, const lane_view&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lane_view& x) {
  return f(caf::meta::type_name("poe.lane_view"), x.lane, x.content, x.price_per_tick, x.ticks);
}

/// (chan_atom, bytes channel id) → channel_view: a channel at the validator's tip (`found` is
/// false for a channel never opened, and for one closed and collected).
struct channel_view {
  bool found = false;
  std::vector<std::uint8_t> id, payer, payee;
  std::uint64_t deposit = 0, paid = 0, expiry_height = 0, closing_height = 0;
  std::uint64_t height = 0; ///< the tip it was read at
  std::vector<lane_view> lanes;
  friend bool operator==(const channel_view&, const channel_view&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, channel_view& x) {
  return f(caf::meta::type_name("poe.channel_view"), x.found, x.id, x.payer, x.payee, x.deposit,
           x.paid, x.expiry_height, x.closing_height, x.height, x.lanes);
}

/// (escrow_atom, bytes escrow id) → job_escrow_view: a job's fee escrow at the validator's tip
/// (`found` is false for one never funded, and for one closed).
struct job_escrow_view {
  bool found = false;
  std::vector<std::uint8_t> id, funder, verifier;
  std::uint64_t deposit = 0, paid = 0, price_per_work_unit = 0;
  std::uint32_t verifier_ppm = 0;
  std::uint64_t expiry_height = 0;
  std::uint64_t height = 0; ///< the tip it was read at
  std::vector<std::uint32_t> tasks_paid;
  friend bool operator==(const job_escrow_view&, const job_escrow_view&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_escrow_view& x) {
  return f(caf::meta::type_name("poe.job_escrow_view"), x.found, x.id, x.funder, x.verifier,
           x.deposit, x.paid, x.price_per_work_unit, x.verifier_ppm, x.expiry_height, x.height,
           x.tasks_paid);
}

// -- jobs -----------------------------------------------------------------------------------

/// One output of a verified task: its name, where it is stored, its size.
struct output_view {
  std::string name, cid;
  std::uint64_t size = 0;
  friend bool operator==(const output_view&, const output_view&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, output_view& x) {
  return f(caf::meta::type_name("poe.output_view"), x.name, x.cid, x.size);
}

/// A task of a job as the verifier reports it.
struct task_status {
  std::vector<std::uint8_t> request; ///< request id (16 bytes)
  std::string segment;               ///< the input segment's CID (transcode)
  std::string phase;                 ///< exec::phase's name: assigned … verified, failed
  std::uint32_t attempts = 0;
  std::string reason; ///< why it failed or stayed unresolved
  std::vector<output_view> outputs;
  std::string digest; ///< a verified compute task's digest
  friend bool operator==(const task_status&, const task_status&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_status& x) {
  return f(caf::meta::type_name("poe.task_status"), x.request, x.segment, x.phase, x.attempts,
           x.reason, x.outputs, x.digest);
}

/// (vf_status_atom, job id) → job_status: a job's progress (also after a restart, and after it
/// left the verifier's memory: `archived`, read from the store).
struct job_status {
  std::string job, kind, owner;
  std::string source, ladder; ///< transcode jobs
  std::uint64_t iterations = 0; ///< compute jobs
  std::int64_t duration_ms = 0;
  bool archived = false;
  std::vector<task_status> tasks;
  std::uint64_t verified = 0, failed = 0;
  bool done = false;
  friend bool operator==(const job_status&, const job_status&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_status& x) {
  return f(caf::meta::type_name("poe.job_status"), x.job, x.kind, x.owner, x.source, x.ladder,
           x.iterations, x.duration_ms, x.archived, x.tasks, x.verified, x.failed, x.done);
}

} // namespace poe::runtime
