#include "job_fees_state.hpp"

#include <algorithm>

namespace poe::coord {

fee_step next_fee_step(bool escrow_found, std::uint64_t escrow_rest, const std::set<std::uint32_t>& paid,
                       const std::vector<payable_task>& verified, bool job_done) {
  fee_step out;
  if (!escrow_found) {
    out.what = fee_step::action::forget;
    out.why = "no escrow (never funded, or closed)";
    return out;
  }
  if (escrow_rest > 0) {
    std::vector<payable_task> due;
    for (auto& t : verified)
      if (!paid.contains(t.index)) due.push_back(t);
    std::sort(due.begin(), due.end(), [](auto& a, auto& b) { return a.index < b.index; });
    due.erase(std::unique(due.begin(), due.end(), [](auto& a, auto& b) { return a.index == b.index; }), due.end());
    if (due.size() > chain::max_task_payments) due.resize(chain::max_task_payments);
    if (!due.empty()) {
      out.what = fee_step::action::pay;
      for (auto& t : due) out.tasks.push_back({t.index, t.executor, t.work_units});
      out.why = std::to_string(due.size()) + " verified task(s) to pay";
      return out;
    }
  }
  if (job_done) {
    out.what = fee_step::action::close;
    out.why = escrow_rest > 0 ? "the job is finished: the rest goes back to the funder" : "the fee is used up";
    return out;
  }
  out.why = "tasks still running";
  return out;
}

} // namespace poe::coord
