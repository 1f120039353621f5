#pragma once
/// @file
/// The verifier's job coordinator as a pure state machine: no CAF, no RocksDB, no FFmpeg.
/// Inputs are the messages the verifier role receives (executors' answers, directory and chain
/// pushes, the outcome of checks) with time passed in; every output is an `effects` value the
/// adapter (`verifier_actor.cpp`) carries out in one `apply_effects`. Tested directly in
/// `tests/exec/coordinator_test.cpp`.
///
/// Rules:
/// - A job is a set of tasks, each following `exec::verification`. Its record (`job_record`)
///   is written synced by the adapter before `launch`: from then on it survives a restart.
/// - Executors come from the directory's membership (`on_executors`); one enters the draw with
///   the stake the chain reports (`on_stake`) and the task slots it registered (`on_capacity`);
///   one that leaves is out at once and the tasks awaiting it are handed on (as a timeout
///   would be, without waiting for it).
/// - A task with a storage input is sent at once (`effects::runs`); inline tasks are queued per
///   executor and go out at the next `flush` as batches of at most `batch_max`.
/// - Records (receipts, verified results, failures, forwarding marks, reputation) are queued and
///   written in one synced batch by `flush`; a receipt is offered to a builder only in the same
///   `flush`, after its write (`effects::writes` come first in `apply_effects`).
/// - Each receipt goes to one builder, chosen by rendezvous hashing of its request id over the
///   builders known (the same one on a retry); receipts no builder took are offered again when
///   builders change and every `forward_retry_blocks` blocks, and after a restart.
/// - Executor stakes are read again on every block with transactions or evidence, when
///   executors join, and at least every `stake_refresh_blocks` blocks (with them the chain's
///   decider pool, `on_pool`).
/// - A task names the tip it was made at (its anchor); when its result is sampled for
///   re-execution, the re-execution and a deciding run go to the executors the chain draws
///   from that block (chain::drawn_deciders), as validators judging fraud evidence require.
/// - Beyond `max_held_tasks` tasks in memory, the oldest jobs whose tasks all finished leave
///   memory (their records stay in the store; `vf_status` reads them there).
/// - After a restart, `resume` takes back every job with a task not yet finished: its finished
///   tasks as the store has them, the others started again under the same request ids.

#include "poe/chain/evidence.hpp"
#include "poe/chain/log_builder.hpp"
#include "poe/core/error.hpp"
#include "poe/core/objects.hpp"
#include "poe/exec/assignment.hpp"
#include "poe/exec/reputation.hpp"
#include "poe/exec/verification_state.hpp"

#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace poe::coord {

/// A job as started.
struct job {
  std::string id, kind = "transcode", source, owner, ladder;
  std::uint64_t iterations = 0; ///< compute jobs
  std::int64_t duration_ms = 0;
  std::uint64_t created_ms = 0;
};

/// One task of a job, as its record keeps it.
struct job_task {
  task t;
  std::uint64_t work_units = 0;
  std::string input; ///< the segment's CID (transcode); empty for inline work
};

/// What the store says of a task: verified (with the result's outputs and digest), failed or
/// unresolved (with the reason), or `assigned` (nothing recorded: not finished).
struct stored_outcome {
  exec::phase phase = exec::phase::assigned;
  std::string reason;
  std::vector<task_output> outputs;
  std::string digest;
};

/// A task as `vf_status` shows it.
struct task_view {
  request_id id;
  std::string segment;
  exec::phase phase = exec::phase::assigned;
  std::uint32_t attempts = 0;
  std::string reason;
  std::vector<task_output> outputs;
  std::string digest;
};

// -- durable records (the verifier's column family) ------------------------------------------
//   "j/" ‖ job id  → the job as started: u8 1 ‖ blob kind ‖ blob source ‖ blob owner ‖
//                    blob ladder ‖ u64 iterations ‖ u64 duration_ms ‖ u64 created_ms ‖ u32 n ‖
//                    n × (blob task (wire) ‖ u64 work units ‖ blob input CID)
//   "r/" ‖ request → step receipt (wire); "o/" ‖ request → the verified result (canonical
//                    task_result bytes); "x/" ‖ request → u8 phase ‖ reason (failed, unresolved)
//   "k/" ‖ request → the DER key of the executor the receipt names (its PoE v1 checks offline)
//   "f/" ‖ request → empty: a builder took the receipt
//   "rep/" ‖ node id → u32 score (big-endian) ‖ u8 banned: the reputation book, kept across
//                    restarts so an executor cannot shed a bad record by waiting for a restart.
namespace records {
inline constexpr std::string_view job = "j/", receipt = "r/", result = "o/", failure = "x/",
                                  forwarded = "f/", reputation = "rep/", executor_key = "k/";
/// `prefix` ‖ `rest`.
bytes key(std::string_view prefix, byte_view rest);
bytes job_key(std::string_view job_id);
bytes encode_job(const coord::job& j, const std::vector<job_task>& tasks);
poe::result<std::pair<coord::job, std::vector<job_task>>> decode_job(const std::string& id,
                                                                    byte_view raw);
/// The outcome from a task's receipt, result and failure records (absent: nullopt).
stored_outcome outcome_of(const std::optional<bytes>& receipt, const std::optional<bytes>& result,
                          const std::optional<bytes>& failure);
/// A reputation record: nullopt when key or value is malformed (skipped).
struct reputation_entry {
  node_id who;
  std::uint32_t score = 0;
  bool banned = false;
};
std::optional<reputation_entry> decode_reputation(byte_view key, byte_view value);
/// The request id in a "r/" or "f/" key, or nullopt.
std::optional<request_id> request_of(std::string_view prefix, byte_view key);
} // namespace records

/// The outputs and digest (its `digest` fact) of a verified result; false when it does not
/// decode (nothing is set then).
bool take_result(byte_view result, std::vector<task_output>& outputs, std::string& digest);

/// The request id of a job's k-th task: SHA-256("poe/request/v1" ‖ verifier ‖ job ‖ k).
request_id task_id(const node_id& verifier, const std::string& job, std::size_t k);

struct coordinator_config {
  exec::verification_config verification;
  std::size_t max_held_tasks = 10'000; // ~5 KiB each: ~50 MiB once older jobs finished
  std::uint64_t stake_refresh_blocks = 8;
  std::uint64_t forward_retry_blocks = 16;
  std::size_t batch_max = 2000;         ///< inline tasks per batch message
  std::size_t forward_retry_max = 1000; ///< receipts offered again per retry
};

/// What the adapter must do after an input, in this order: write `writes` in one synced batch;
/// then send (runs, batches, forwards, evidence, stake reads, capacity asks) and start the
/// checks; then schedule a `flush` when asked; then count and log.
struct effects {
  /// Send task `id` (attempt `epoch`, encoded `wire`) to executor `to` (ex_run).
  struct run {
    node_id to;
    request_id id;
    std::uint64_t epoch = 0;
    bytes wire;
  };
  /// Inline tasks for one executor, in one ex_batch message.
  struct batch {
    node_id to;
    std::vector<std::pair<request_id, std::uint64_t>> items; ///< (request, epoch)
    std::vector<bytes> wires;
  };
  /// Receipts for one builder (encoded chain::attested_receipt: receipt, result and executor
  /// key; the adapter signs each before it sends them); answer with `on_forwarded`.
  struct forward {
    node_id builder;
    std::vector<request_id> ids;
    std::vector<bytes> receipts;
  };
  /// Executor fraud evidence for the chain, and what it says. Its task grant holds the task
  /// only: the adapter signs it (a batch of one) before it encodes and submits the evidence.
  struct evidence {
    chain::executor_fraud_evidence ev;
    std::string what;
  };
  enum class level : std::uint8_t { debug, info, warn, error };
  struct log_line {
    level at;
    std::string text;
  };

  std::vector<std::pair<bytes, bytes>> writes; ///< (key, value): one synced batch, first
  std::vector<run> runs;
  std::vector<batch> batches;
  std::vector<forward> forwards;
  std::vector<evidence> frauds;
  std::vector<request_id> checks;        ///< run the cheap checks of these tasks' outputs
  std::vector<node_id> read_stakes;      ///< read these executors' stake from the chain
  std::vector<node_id> ask_capacity;     ///< ask these executors for their task slots
  bool flush = false;                    ///< call `flush` once this mailbox turn ends
  std::uint32_t receipts = 0, reexecuted = 0, failed = 0;
  std::map<exec::rejection, std::uint32_t> rejected;
  std::vector<log_line> logs;
};

class coordinator {
public:
  /// `self`: this verifier's node id (it is in every request id and receipt); `chain_id` goes
  /// into fraud evidence.
  coordinator(node_id self, std::string chain_id, coordinator_config cfg = {});
  ~coordinator();
  coordinator(const coordinator&) = delete;
  coordinator& operator=(const coordinator&) = delete;

  // -- restoring (before the first input) ---------------------------------------------------
  /// A persisted reputation entry.
  void restore_reputation(const records::reputation_entry& e);
  /// A receipt persisted and not yet taken by a builder, as `forward` carries it (an unsigned
  /// chain::attested_receipt): offered at the next forwarding.
  void restore_unforwarded(const request_id& id, bytes receipt);
  /// A job read back from the store, with each task's stored outcome (same order).
  struct stored_job {
    coord::job job;
    std::vector<job_task> tasks;
    std::vector<stored_outcome> outcomes;
  };
  /// Takes back the jobs with a task not finished (oldest first) and starts those tasks.
  /// `jobs_resumed` and `tasks_rerun` say how many.
  effects resume(std::vector<stored_job> jobs, std::size_t& jobs_resumed, std::size_t& tasks_rerun);

  // -- jobs -----------------------------------------------------------------------------------
  /// A fresh job id: `now_ms` ‖ "-" ‖ a counter.
  std::string new_job_id(std::uint64_t now_ms);
  /// The job's record (key, value): write it synced, then `launch`.
  std::pair<bytes, bytes> job_record(const coord::job& j, const std::vector<job_task>& tasks) const;
  /// Takes the job's tasks into memory and starts them.
  effects launch(const coord::job& j, std::vector<job_task> tasks);

  // -- executors and builders -----------------------------------------------------------------
  /// The directory's execution roles: `members` all of them, `fresh` those new or with a new
  /// handle (asked for their capacity; every member's stake is read then).
  effects on_executors(const std::set<node_id>& members, const std::set<node_id>& fresh);
  /// The task slots an executor registered (clamped to 1..1024).
  void on_capacity(const node_id& who, std::uint32_t slots);
  /// An executor's stake as the chain reports it; a new one enters the draw.
  effects on_stake(const node_id& who, std::uint64_t stake, std::uint64_t now_ms);
  /// The directory's builders: receipts no builder took are offered again.
  effects on_builders(const std::set<node_id>& members);
  /// Whether builder `builder` took the receipt of `id`.
  effects on_forwarded(const request_id& id, bool taken);

  // -- the chain --------------------------------------------------------------------------------
  /// A finalized block (`transactions`, `evidence`: how many it holds).
  effects on_block(std::uint64_t height, const hash256& id, std::uint64_t transactions,
                   std::uint64_t evidence, std::uint64_t now_ms);
  /// The chain's tip at (re)subscription.
  effects on_tip(std::uint64_t height, const hash256& id, std::uint64_t now_ms);
  /// The executors the chain's decider draw ranks, as a validator reported them: a task
  /// sampled for re-execution goes to the deciders drawn from its anchor block
  /// (chain::drawn_deciders), so fraud evidence about it counts on chain.
  void on_pool(std::vector<chain::ledger::drawable_executor> pool) { pool_ = std::move(pool); }

  // -- answers ----------------------------------------------------------------------------------
  /// `who` answered (or failed to answer) `n` dispatched tasks: its load falls.
  void on_replied(const node_id& who, std::uint32_t n);
  /// Whether an answer for (`id`, `epoch`) from `who` is awaited: only those are worth a PoE
  /// check; others go to `on_answer` unchecked (and are refused there).
  bool awaits(const request_id& id, std::uint64_t epoch, const node_id& who) const;
  /// An answer: the commitment `c`, the executor's DER key, the PoE `check` (when awaited).
  /// `malformed`: the key is not a key, or not `who`'s (handled as no answer, counted so).
  effects on_answer(const request_id& id, std::uint64_t epoch, const node_id& who,
                    const exec::commitment& c, const bytes& der, poe_check check, bool malformed,
                    std::uint64_t now_ms);
  /// No usable answer for (`id`, `epoch`) from `to`: an error, a timeout, or (`malformed`) an
  /// answer that cannot be used.
  effects on_no_answer(const request_id& id, const node_id& to, std::uint64_t epoch, bool malformed);
  /// The cheap checks of a task's primary outputs passed or failed.
  effects on_checks(const request_id& id, bool passed, const std::string& why);

  /// The queued writes (records and reputation changes), the receipts to forward and the
  /// queued inline batches.
  effects flush();

  // -- queries ----------------------------------------------------------------------------------
  /// A job held in memory and its tasks as they stand; nullopt when not held.
  std::optional<std::pair<coord::job, std::vector<task_view>>> held(const std::string& id) const;
  /// The task's state machine, when held (the adapter reads the task and its primary result).
  const exec::verification* task_state(const request_id& id) const;
  std::size_t open_tasks() const { return open_.size(); }
  std::size_t held_tasks() const { return tasks_.size(); }
  std::size_t held_jobs() const { return jobs_.size(); }
  std::uint64_t dropped_jobs() const { return dropped_jobs_; }
  std::size_t unforwarded() const { return unforwarded_.size(); }
  std::uint64_t height() const { return height_; }
  const std::vector<exec::executor_info>& executors() const { return executors_; }
  const exec::reputation_book& reputation() const { return book_; }

private:
  struct held_task;
  /// Whether `result` decodes and names `t`'s request and task hash (what PoE v1 then binds).
  static bool for_task(const bytes& result, const held_task& t);

  void add_task(coord::job& j, const job_task& jt, const stored_outcome* restored);
  void start(const request_id& id, effects& out);
  void handle(const request_id& id, exec::verification_effects fx, effects& out);
  void dispatch(const request_id& id, const node_id& to, effects& out);
  void no_answer(const request_id& id, const node_id& to, std::uint64_t epoch, bool malformed,
                 effects& out);
  void feed(std::uint64_t now_ms, effects& out);
  void draw_deciders(held_task& t);
  void remember_block(std::uint64_t height, const hash256& id);
  void forward(const std::vector<std::pair<request_id, bytes>>& receipts, effects& out);
  void retry_forwarding(effects& out);
  void set_load(const node_id& who, std::uint32_t n);
  void put(bytes key, bytes value, effects& out);
  void evict();

  node_id self_;
  std::string chain_id_;
  coordinator_config cfg_;
  exec::reputation_book book_;
  std::unordered_map<request_id, std::unique_ptr<held_task>, fixed_bytes_hash> tasks_; // ids are SHA-256 prefixes
  std::set<request_id> open_; ///< not yet verified, failed or unresolved (ordered: replayable)
  std::map<std::string, coord::job> jobs_;
  std::map<std::string, std::vector<request_id>> job_tasks_;
  std::deque<std::string> job_order_; ///< job ids, oldest first
  std::uint64_t dropped_jobs_ = 0;
  std::uint64_t next_job_ = 1;
  std::uint64_t height_ = 0;
  hash256 block_;
  std::map<std::uint64_t, hash256> recent_ids_;          ///< the last ledger::recent_blocks block ids
  std::vector<chain::ledger::drawable_executor> pool_;   ///< what the decider draw ranks
  std::set<node_id> members_;                    ///< execution roles in the directory
  std::vector<exec::executor_info> executors_;   ///< those whose stake was read: the draw
  std::map<node_id, std::uint32_t> load_;        ///< tasks dispatched there, not yet answered
  std::map<node_id, std::uint32_t> capacity_;    ///< task slots each executor registered
  std::set<node_id> builders_;
  std::map<request_id, bytes> unforwarded_;      ///< receipts no builder has taken yet
  std::map<node_id, std::vector<std::pair<request_id, std::uint64_t>>> outbox_;
  std::vector<std::pair<bytes, bytes>> pending_; ///< written at the next flush
  std::set<node_id> reputation_changed_;         ///< their scores go into the next flush
  std::vector<std::pair<request_id, bytes>> to_forward_; ///< receipts in `pending_`
};

} // namespace poe::coord
