#pragma once
/// @file
/// Paid work, the verifier's side, as a pure decision (no CAF, no RocksDB): what to send next
/// for one funded job, from the escrow as the chain has it and the job's verified tasks as the
/// verifier's store has them. The adapter (verifier_actor.cpp) asks it after every block for
/// each job funded to this verifier, and sends at most one transaction at a time.
///
/// Rules:
/// - no escrow (never funded, or closed): forget the job;
/// - verified tasks the escrow has not paid (ascending index, at most max_task_payments) are
///   paid while the escrow holds anything: each at its work units (the ledger caps the last);
/// - once the job is finished and nothing is left to pay (or the escrow is empty), close the
///   escrow: its rest goes back to the funder;
/// - otherwise wait (tasks still running).
/// Failed and unresolved tasks are never paid: their work was not verified.

#include "poe/chain/transaction.hpp"

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace poe::coord {

/// A verified task as its receipt names it.
struct payable_task {
  std::uint32_t index = 0; ///< its place in the job (task_id(verifier, job, index))
  node_id executor;
  std::uint64_t work_units = 0;
};

struct fee_step {
  enum class action { wait, pay, close, forget };
  action what = action::wait;
  std::vector<chain::task_payment> tasks; ///< pay: the payments, ascending index
  std::string why;                        ///< for the log
};

fee_step next_fee_step(bool escrow_found, std::uint64_t escrow_rest, const std::set<std::uint32_t>& paid,
                       const std::vector<payable_task>& verified, bool job_done);

} // namespace poe::coord
