// The verifier's paid-work decision (job_fees_state.hpp), directly: what to send next for a
// funded job from the escrow and the job's verified tasks.
#include "job_fees_state.hpp"

#include <catch2/catch.hpp>

using namespace poe;
using namespace poe::coord;
using action = fee_step::action;

namespace {

node_id who(std::uint8_t b) {
  node_id n;
  n.data.fill(b);
  return n;
}

std::vector<payable_task> verified(std::uint32_t n, std::uint32_t from = 0) {
  std::vector<payable_task> out;
  for (std::uint32_t i = from; i < from + n; ++i) out.push_back({i, who(static_cast<std::uint8_t>(i % 3)), 10 + i});
  return out;
}

} // namespace

TEST_CASE("job fees: verified tasks are paid as they come, once, in index order") {
  auto s = next_fee_step(true, 1000, {}, {{2, who(1), 5}, {0, who(2), 7}}, false);
  REQUIRE(s.what == action::pay);
  REQUIRE(s.tasks.size() == 2);
  CHECK(s.tasks[0] == chain::task_payment{0, who(2), 7});
  CHECK(s.tasks[1] == chain::task_payment{2, who(1), 5});
  // Paid ones are not paid again; nothing new while tasks still run: wait.
  CHECK(next_fee_step(true, 988, {0, 2}, {{2, who(1), 5}, {0, who(2), 7}}, false).what == action::wait);
}

TEST_CASE("job fees: at most max_task_payments per transaction, the rest next time") {
  auto s = next_fee_step(true, 1'000'000, {}, verified(600), true);
  REQUIRE(s.what == action::pay);
  CHECK(s.tasks.size() == chain::max_task_payments);
  CHECK(s.tasks.back().task == chain::max_task_payments - 1);
  std::set<std::uint32_t> paid;
  for (std::uint32_t i = 0; i < 256; ++i) paid.insert(i);
  auto next = next_fee_step(true, 1'000'000, paid, verified(600), true);
  REQUIRE(next.what == action::pay);
  CHECK(next.tasks.front().task == 256);
}

TEST_CASE("job fees: a finished job closes its escrow, an empty escrow closes too, without an escrow the job is forgotten") {
  std::set<std::uint32_t> all{0, 1, 2};
  CHECK(next_fee_step(true, 40, all, verified(3), true).what == action::close);
  CHECK(next_fee_step(true, 40, all, verified(3), false).what == action::wait);
  // The fee is used up: the unpaid tasks cannot be paid; close once the job is done.
  CHECK(next_fee_step(true, 0, {}, verified(3), false).what == action::wait);
  CHECK(next_fee_step(true, 0, {}, verified(3), true).what == action::close);
  CHECK(next_fee_step(false, 0, {}, verified(3), true).what == action::forget);
  // A job whose tasks all failed: nothing to pay, the whole fee goes back.
  CHECK(next_fee_step(true, 500, {}, {}, true).what == action::close);
}
