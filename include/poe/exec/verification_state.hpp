#pragma once
/// @file
/// The verifier's state machine for one task: assignment, commitment, cheap checks, sampled
/// re-execution on a second executor, a third executor on mismatch, and the verdict. Pure:
/// time, chain data and the outcome of media checks are inputs; the actor carries out the
/// effects (dispatching the task, running the cheap checks, persisting the receipt, sending
/// fraud evidence to the chain).
///
///   assigned ──commit (PoE ok)──▶ checking ──checks ok──▶ awaiting_block ──block──▶ verified
///      ▲  │                          │                        │ sampled
///      │  └─bad PoE / timeout────────┤ checks fail            ▼
///      └──── reassigned (next attempt, the executor excluded)  reexecuting ──same──▶ verified
///                                                                   │ differs
///                                                                   ▼
///                                        deciding ──third agrees with one──▶ verified + fraud
///                                                 └─three different results──▶ unresolved
///
/// A task that runs out of attempts (max_attempts assignments) ends `failed` with the reason.
/// Re-executions and the decider reuse the same rules for a bad PoE or a timeout: another
/// executor is drawn for that step. A step that finds no executor it has not tried yet (a
/// sampled task while only its primary is registered, say at start-up) waits, as a first
/// assignment does: `resume` draws again as executors come and go, and only after
/// `max_wait_ms` of waiting does the task end `failed` ("no executor left to draw").

#include "poe/core/objects.hpp"
#include "poe/core/poe_v1.hpp"
#include "poe/exec/assignment.hpp"
#include "poe/exec/reputation.hpp"

#include <optional>
#include <string>
#include <vector>

namespace poe::exec {

/// What an executor sends back: the result's canonical bytes and its PoE v1 proof.
struct commitment {
  node_id executor;
  bytes result; ///< canonical task_result bytes (what PoE v1 hashes)
  poe_v1_proof proof;
};

/// A proven lie: `lie` differs from the result two other executors (`a`, `b`) agree on.
struct fraud_case {
  node_id liar;
  commitment lie, a, b;
};

enum class phase : std::uint8_t {
  assigned = 1,
  checking,
  awaiting_block,
  reexecuting,
  deciding,
  verified,
  unresolved,
  failed,
};
std::string_view to_string(phase p);

struct verification_config {
  std::uint32_t sample_rate_ppm = 50'000; ///< 5 %
  std::uint32_t max_attempts = 5;         ///< assignments of any step, in all
  std::uint64_t max_wait_ms = 120'000;     ///< how long a step waits for an untried executor
};

/// Why an executor's answer was not taken (the verifier counts them per reason).
enum class rejection : std::uint8_t {
  key_mismatch = 1,    ///< the key is not the executor's, or the proof names another node
  commitment_mismatch, ///< PoE v1 ≠ SHA-256(request ‖ result ‖ node)
  bad_signature,       ///< the signature over result ‖ poe does not verify
  failed_checks,       ///< the outputs fail the kind's cheap checks
  timed_out,           ///< no answer in time
  not_awaited,         ///< from an executor not awaited (late, duplicate or unsolicited)
  malformed,           ///< the answer does not decode (set by the actor, which parses it)
};
/// "key_mismatch", "commitment_mismatch", "bad_signature", "failed_checks", "timed_out",
/// "not_awaited", "malformed": the metric label.
std::string_view to_string(rejection r);

/// What the actor must do after an input.
struct verification_effects {
  std::optional<node_id> dispatch_to;      ///< send the task to this executor
  bool run_checks = false;                 ///< run the cheap checks on the committed outputs
  std::optional<step_receipt> receipt;     ///< the verdict: persist and forward
  std::optional<fraud_case> fraud;         ///< send as evidence to the chain
  std::vector<std::pair<node_id, rep_event>> reputation;
  std::optional<rejection> rejected;        ///< an answer (or its absence) was not taken
  std::string note; ///< why (a rejected commitment, a reassignment, a failure)
};

class verification {
public:
  /// `verifier`: this node's id (it signs the receipt); `work_units` and the task's kind go
  /// into the receipt.
  verification(task t, node_id verifier, std::uint64_t work_units, verification_config cfg = {});

  /// Draws the first executor from `executors` (seeded by `block_hash`). With none to draw
  /// the task stays `assigned` with nobody awaited (`waiting()`): call start again later.
  verification_effects start(const std::vector<executor_info>& executors,
                             const hash256& block_hash);

  /// A commitment from `c.executor`, whose key is `key`. Only the executor currently awaited
  /// is heard; others are ignored (note says so).
  verification_effects on_commit(const commitment& c, const public_key& key,
                                 const std::vector<executor_info>& executors,
                                 const hash256& block_hash, std::uint64_t now_ms);
  /// The same with a PoE v1 checker bound to the executor's key and kept by the caller (its
  /// OpenSSL contexts are reused across tasks: the verifier's hot path).
  verification_effects on_commit(const commitment& c, poe_verifier& checker,
                                 const std::vector<executor_info>& executors,
                                 const hash256& block_hash, std::uint64_t now_ms);
  /// The same when the caller checked the PoE already (on a worker thread): `check` is what
  /// verifying `c` against the key whose id is `key_id` gave.
  verification_effects on_commit(const commitment& c, const node_id& key_id, poe_check check,
                                 const std::vector<executor_info>& executors,
                                 const hash256& block_hash, std::uint64_t now_ms);

  /// The cheap checks of the primary's outputs passed or failed (with the reason).
  verification_effects on_checks(bool passed, const std::string& reason,
                                 const std::vector<executor_info>& executors,
                                 const hash256& block_hash);

  /// The first block finalized after the primary's commitment: decides the sample.
  verification_effects on_block(const hash256& block_hash,
                                const std::vector<executor_info>& executors,
                                std::uint64_t now_ms);

  /// The awaited executor did not answer in time.
  verification_effects on_timeout(const node_id& executor,
                                  const std::vector<executor_info>& executors,
                                  const hash256& block_hash);

  /// The executors the chain draws to decide this task (chain::drawn_deciders, best first):
  /// a re-execution and a deciding run go to the first of them not tried yet that
  /// `executors` lists (with stake and slots, busy or not); with none of them left, to the usual draw (the task
  /// can still be verified, but fraud evidence would then not count on chain).
  void set_deciders(std::vector<node_id> ranked) { deciders_ = std::move(ranked); }
  bool has_deciders() const { return !deciders_.empty(); }

  /// A step that had no untried executor to draw (`stalled()`): draws again; after
  /// `max_wait_ms` since the first `resume` found nobody, the task fails with the reason.
  verification_effects resume(const std::vector<executor_info>& executors,
                              const hash256& block_hash, std::uint64_t now_ms);
  bool stalled() const {
    return !awaited_ && !tried_.empty() &&
           (phase_ == phase::assigned || phase_ == phase::reexecuting || phase_ == phase::deciding);
  }

  phase current() const { return phase_; }
  /// Assigned but nobody drawn yet: no executor was available.
  bool waiting() const { return phase_ == phase::assigned && !awaited_ && tried_.empty(); }
  /// Whether a commitment from `executor` would be heard now (it is the one awaited).
  bool hears(const node_id& executor) const;
  const task& the_task() const { return task_; }
  /// The executor whose answer is awaited (assigned, reexecuting, deciding).
  std::optional<node_id> awaited() const { return awaited_; }
  const std::optional<commitment>& primary() const { return primary_; }
  /// Why the task failed or stayed unresolved.
  const std::string& reason() const { return reason_; }
  std::uint32_t attempts() const { return attempts_; }

private:
  verification_effects assign(const std::vector<executor_info>& executors,
                              const hash256& block_hash, verification_effects fx);
  step_receipt make_receipt(const commitment& c, bool reexecuted, std::uint64_t now_ms) const;

  task task_;
  node_id verifier_;
  std::uint64_t work_units_;
  verification_config cfg_;
  phase phase_ = phase::assigned;
  std::optional<node_id> awaited_;
  std::vector<node_id> tried_; ///< every executor drawn so far (never drawn again)
  std::vector<node_id> deciders_; ///< the chain's draw for re-execution and decision
  std::optional<std::uint64_t> stalled_since_ms_; ///< when `resume` first found nobody
  std::uint32_t attempts_ = 0;
  std::optional<commitment> primary_, second_;
  std::string reason_;
};

} // namespace poe::exec
