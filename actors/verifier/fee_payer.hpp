#pragma once
// Paid work, the verifier's side: pays the verified tasks of jobs funded to this verifier out
// of their escrow (job_pay) and closes the escrow once the job is finished (job_close), one
// transaction at a time (tx_sender). What to send is job_fees_state.hpp's decision, from the
// escrow as the followed validator has it (escrow_atom) and the job's verified tasks.
//
// A job is looked at after every finalized block while it is funded: it becomes funded when a
// pushed block carries a job_fund naming this verifier, or when a client says so
// (`funded`, vf_funded_atom) and the chain has the escrow; it stops being funded when the
// chain has no escrow for it (closed). Funded jobs are kept in the role's store
// ("pay/" ‖ job id → empty), so a restart resumes paying them.

#include "job_fees_state.hpp"
#include "poe/runtime/messages.hpp"
#include "poe/runtime/metrics.hpp"
#include "poe/runtime/role.hpp"
#include "tx_sender.hpp"

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>

#include <functional>
#include <memory>
#include <set>
#include <string>

namespace poe::actors {

class fee_payer {
public:
  /// What the verifier knows of a job: finished or not, and its verified tasks (with their
  /// receipts stored). An error: no such job.
  struct job_facts {
    bool done = false;
    std::vector<coord::payable_task> verified;
  };
  using facts_fn = std::function<result<job_facts>(const std::string& job)>;
  using validator_fn = std::function<caf::actor()>;

  fee_payer(runtime::role_context ctx, std::string cf, facts_fn facts, validator_fn validator);

  /// The funded jobs from the store (at start).
  void restore();
  void set_min_fee(std::uint64_t fee) { min_fee_ = fee; }
  /// A finalized block: fundings naming this verifier, the outstanding transaction, and each
  /// funded job looked at again.
  void on_block(caf::event_based_actor* self, const runtime::chain_block& b);
  /// A client says `job` is funded: an error when there is no such job.
  result<std::string> funded(caf::event_based_actor* self, const std::string& job);
  std::size_t jobs() const { return funded_.size(); }

private:
  void note(const std::string& job);
  void forget(const std::string& job);
  void pump(caf::event_based_actor* self);

  runtime::role_context ctx_;
  std::string cf_;
  facts_fn facts_;
  validator_fn validator_;
  node_id self_;
  std::uint64_t min_fee_ = 0;
  std::set<std::string> funded_, due_;
  bool reading_ = false; ///< an escrow read in flight
  tx_sender sender_;
  std::shared_ptr<metrics::counter> pays_c_, closes_c_;
};

} // namespace poe::actors
