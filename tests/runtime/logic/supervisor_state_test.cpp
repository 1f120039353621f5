// Scenarios:
// - restart strategies print and parse ("one-for-one", "one-for-all"); anything else is refused
//   and leaves the output untouched
// - backoff_delay: attempt 0 and 1 give the initial delay; it doubles per attempt up to the cap;
//   huge attempts and huge caps neither overflow nor loop for long; a zero initial delay stays 0
// - children keep their start order; duplicates and unknown names are ignored
// - one-for-one: only the failed child is restarted, the others keep running; the k-th restart
//   in the window waits 100ms, 200ms, 400ms, ... capped at backoff_max
// - the restart reason names the role, the exit reason, the ordinal (1st, 2nd, 3rd, 11th, 21st)
//   and the backoff
// - sliding window: restarts older than `window` are forgotten (the boundary is `window`
//   itself), so failures spaced out never escalate and the backoff starts over
// - the (max_restarts+1)-th failure within the window escalates, whichever children failed:
//   the reason names the role and its exit text, `stop` lists the running children in start
//   order, nothing is started, and every later exit is expected
// - one-for-all: `stop` lists the other running children, `start` lists all in start order,
//   the stopped children's exits are ignored, and every child's restart count grows
// - exits during shutdown and exits of unknown children are ignored and use no restart budget
// - restarts() counts per child

#include "poe/runtime/supervisor_state.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using namespace poe::runtime;
using namespace std::chrono_literals;
using action = restart_decision::action;
using names = std::vector<std::string>;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

restart_policy policy(restart_strategy s = restart_strategy::one_for_one,
                      std::uint32_t max_restarts = 5, duration window = 30s) {
  restart_policy p;
  p.strategy = s;
  p.max_restarts = max_restarts;
  p.window = window;
  p.backoff_initial = 100ms;
  p.backoff_max = 5s;
  return p;
}

/// A supervisor with children a, b, c, all running.
supervisor_state started(restart_policy p) {
  supervisor_state s{p};
  for (auto n : {"a", "b", "c"}) {
    s.add_child(n);
    s.on_started(n);
  }
  return s;
}

} // namespace

TEST_CASE("restart strategies print and parse") {
  CHECK(to_string(restart_strategy::one_for_one) == "one-for-one");
  CHECK(to_string(restart_strategy::one_for_all) == "one-for-all");
  for (auto s : {restart_strategy::one_for_one, restart_strategy::one_for_all}) {
    restart_strategy out = s == restart_strategy::one_for_one ? restart_strategy::one_for_all
                                                              : restart_strategy::one_for_one;
    REQUIRE(parse_restart_strategy(to_string(s), out));
    CHECK(out == s);
  }
  for (auto bad : {"", "one_for_one", "One-For-One", "one-for-one ", "rest-for-one", "all"}) {
    INFO(bad);
    restart_strategy out = restart_strategy::one_for_all;
    CHECK_FALSE(parse_restart_strategy(bad, out));
    CHECK(out == restart_strategy::one_for_all); // untouched on failure
  }
}

TEST_CASE("backoff_delay: attempts 0 and 1 give the initial delay") {
  CHECK(backoff_delay(100ms, 5s, 0) == 100ms);
  CHECK(backoff_delay(100ms, 5s, 1) == 100ms);
  CHECK(backoff_delay(5s, 5s, 1) == 5s);
  // An initial delay above the cap is capped too.
  CHECK(backoff_delay(10s, 5s, 1) == 5s);
  CHECK(backoff_delay(10s, 5s, 3) == 5s);
}

TEST_CASE("backoff_delay doubles per attempt up to the cap") {
  std::vector<duration> expected{100ms, 200ms, 400ms, 800ms, 1600ms, 3200ms, 5s, 5s, 5s};
  for (std::uint32_t k = 1; k <= expected.size(); ++k) {
    INFO("attempt " << k);
    CHECK(backoff_delay(100ms, 5s, k) == expected[k - 1]);
  }
  // A cap that is exactly a power-of-two multiple is reached, not skipped.
  CHECK(backoff_delay(100ms, 800ms, 4) == 800ms);
  CHECK(backoff_delay(100ms, 800ms, 5) == 800ms);
  // A cap between two doublings is returned as is.
  CHECK(backoff_delay(100ms, 300ms, 3) == 300ms);
}

TEST_CASE("backoff_delay is overflow-safe for large attempts") {
  constexpr auto huge = std::numeric_limits<std::uint32_t>::max();
  CHECK(backoff_delay(100ms, 5s, 64) == 5s);
  CHECK(backoff_delay(100ms, 5s, huge) == 5s);
  // With a cap of the largest duration, the doubling must stop at the cap instead of
  // wrapping around to a negative or zero delay.
  const auto top = duration::max();
  CHECK(backoff_delay(100ms, top, 37) == 100ms * (std::int64_t{1} << 36)); // ~218 years
  CHECK(backoff_delay(100ms, top, 38) == top); // one more doubling would overflow
  CHECK(backoff_delay(100ms, top, 64) == top);
  CHECK(backoff_delay(100ms, top, 1000) == top);
  CHECK(backoff_delay(100ms, top, huge) == top);
  CHECK(backoff_delay(1ns, top, 63) == duration{std::int64_t{1} << 62});
  CHECK(backoff_delay(1ns, top, 64) == top);
  // Never decreasing, never above the cap.
  auto previous = duration::zero();
  for (std::uint32_t k = 1; k <= 200; ++k) {
    auto d = backoff_delay(3ms, top, k);
    INFO("attempt " << k);
    REQUIRE(d >= previous);
    REQUIRE(d <= top);
    previous = d;
  }
  // A zero initial delay stays zero (and does not spin through every attempt).
  CHECK(backoff_delay(0ns, 5s, huge) == 0ns);
  CHECK(backoff_delay(0ns, 0ns, huge) == 0ns);
}

TEST_CASE("children keep their start order, duplicates and unknown names are ignored") {
  supervisor_state s{policy()};
  s.add_child("store");
  s.add_child("probe");
  s.add_child("store");
  CHECK(s.children() == names{"store", "probe"});
  CHECK_FALSE(s.running("store"));
  s.on_started("store");
  CHECK(s.running("store"));
  CHECK_FALSE(s.running("probe"));
  s.on_started("ghost");
  CHECK_FALSE(s.running("ghost"));
  CHECK(s.children() == names{"store", "probe"});
  CHECK(s.restarts("ghost") == 0);
}

TEST_CASE("one-for-one restarts only the failed child, with doubling backoff") {
  auto s = started(policy(restart_strategy::one_for_one, 5));
  std::vector<duration> delays{100ms, 200ms, 400ms, 800ms, 1600ms};
  for (std::size_t k = 0; k < delays.size(); ++k) {
    INFO("failure " << k + 1);
    auto d = s.on_exit("b", "boom", instant{1s * static_cast<int>(k)});
    REQUIRE(d.what == action::restart);
    CHECK(d.start == names{"b"});
    CHECK(d.stop.empty());
    CHECK(d.delay == delays[k]);
    CHECK_FALSE(s.running("b"));
    CHECK(s.running("a"));
    CHECK(s.running("c"));
    CHECK(s.restarts("b") == k + 1);
    s.on_started("b");
    CHECK(s.running("b"));
  }
  CHECK(s.restarts("a") == 0);
  CHECK(s.restarts("c") == 0);
  CHECK_FALSE(s.shutting_down());
}

TEST_CASE("backoff is capped at backoff_max") {
  auto p = policy(restart_strategy::one_for_one, 10);
  p.backoff_max = 500ms;
  auto s = started(p);
  std::vector<duration> delays{100ms, 200ms, 400ms, 500ms, 500ms, 500ms};
  for (std::size_t k = 0; k < delays.size(); ++k) {
    INFO("failure " << k + 1);
    auto d = s.on_exit("a", "boom", instant{100ms * static_cast<int>(k)});
    REQUIRE(d.what == action::restart);
    CHECK(d.delay == delays[k]);
    s.on_started("a");
  }
}

TEST_CASE("the restart reason names the role, the exit, the ordinal and the backoff") {
  auto s = started(policy(restart_strategy::one_for_one, 30, 60s));
  auto first = s.on_exit("b", "std::runtime_error: disk full", instant{0s});
  REQUIRE(first.what == action::restart);
  CHECK(first.reason ==
        "role 'b' exited: std::runtime_error: disk full (1st restart in 60s, backoff 100ms)");
  std::vector<std::string> reasons{first.reason};
  for (int k = 2; k <= 23; ++k) {
    s.on_started("b");
    auto d = s.on_exit("b", "boom", instant{1s * k});
    REQUIRE(d.what == action::restart);
    reasons.push_back(d.reason);
  }
  CHECK(contains(reasons[1], "(2nd restart in 60s, backoff 200ms)"));
  CHECK(contains(reasons[2], "(3rd restart in 60s, backoff 400ms)"));
  CHECK(contains(reasons[3], "(4th restart"));
  CHECK(contains(reasons[10], "(11th restart"));
  CHECK(contains(reasons[11], "(12th restart"));
  CHECK(contains(reasons[12], "(13th restart"));
  CHECK(contains(reasons[20], "(21st restart in 60s, backoff 5s)"));
  CHECK(contains(reasons[21], "(22nd restart"));
  CHECK(contains(reasons[22], "(23rd restart"));
}

TEST_CASE("failures spaced out beyond the window never escalate") {
  auto s = started(policy(restart_strategy::one_for_one, 2, 30s));
  for (int k = 0; k < 20; ++k) {
    INFO("failure " << k + 1);
    auto d = s.on_exit("c", "boom", instant{31s * k});
    REQUIRE(d.what == action::restart);
    CHECK(d.delay == 100ms); // the window forgot the previous restart: backoff starts over
    CHECK(contains(d.reason, "(1st restart"));
    s.on_started("c");
  }
  CHECK(s.restarts("c") == 20);
  CHECK_FALSE(s.shutting_down());
}

TEST_CASE("the sliding window forgets only the restarts older than the window") {
  auto s = started(policy(restart_strategy::one_for_one, 3, 30s));
  for (auto t : {0s, 10s, 20s}) {
    REQUIRE(s.on_exit("a", "boom", instant{t}).what == action::restart);
    s.on_started("a");
  }
  // At 31s the restart at 0s has left the window: two remain, so this is the 3rd.
  auto d = s.on_exit("a", "boom", instant{31s});
  REQUIRE(d.what == action::restart);
  CHECK(d.delay == 400ms);
  s.on_started("a");
  // At 32s the restarts at 10s, 20s and 31s are all inside: the limit of 3 is reached.
  CHECK(s.on_exit("a", "boom", instant{32s}).what == action::escalate);
}

TEST_CASE("the window boundary: a restart exactly `window` ago is forgotten") {
  SECTION("one nanosecond inside the window escalates") {
    auto s = started(policy(restart_strategy::one_for_one, 1, 30s));
    REQUIRE(s.on_exit("a", "boom", instant{0s}).what == action::restart);
    s.on_started("a");
    CHECK(s.on_exit("a", "boom", instant{30s - 1ns}).what == action::escalate);
  }
  SECTION("exactly the window later restarts") {
    auto s = started(policy(restart_strategy::one_for_one, 1, 30s));
    REQUIRE(s.on_exit("a", "boom", instant{0s}).what == action::restart);
    s.on_started("a");
    auto d = s.on_exit("a", "boom", instant{30s});
    CHECK(d.what == action::restart);
    CHECK(d.delay == 100ms);
  }
}

TEST_CASE("the (max_restarts+1)-th failure within the window escalates") {
  auto s = started(policy(restart_strategy::one_for_one, 3, 30s));
  for (int k = 1; k <= 3; ++k) {
    auto d = s.on_exit("b", "boom " + std::to_string(k), instant{1s * k});
    REQUIRE(d.what == action::restart);
    s.on_started("b");
  }
  auto d = s.on_exit("b", "std::logic_error: invariant broken", instant{4s});
  REQUIRE(d.what == action::escalate);
  CHECK(contains(d.reason, "role 'b'"));
  CHECK(contains(d.reason, "std::logic_error: invariant broken"));
  CHECK(contains(d.reason, "3 restarts in 30s"));
  CHECK(d.stop == names{"a", "c"}); // the running children, in start order; b is down
  CHECK(d.start.empty());
  CHECK(s.shutting_down());
  CHECK(s.restarts("b") == 3); // the escalating failure is not a restart
  // The children stopped by the escalation exit as expected.
  CHECK(s.on_exit("a", "stopped", instant{5s}).what == action::ignore);
  CHECK(s.on_exit("c", "stopped", instant{5s}).what == action::ignore);
  CHECK_FALSE(s.running("a"));
  CHECK_FALSE(s.running("c"));
}

TEST_CASE("the restart budget is shared by all children") {
  auto s = started(policy(restart_strategy::one_for_one, 3, 30s));
  auto d1 = s.on_exit("a", "boom", instant{1s});
  auto d2 = s.on_exit("b", "boom", instant{2s});
  auto d3 = s.on_exit("c", "boom", instant{3s});
  REQUIRE(d1.what == action::restart);
  REQUIRE(d2.what == action::restart);
  REQUIRE(d3.what == action::restart);
  CHECK(d1.delay == 100ms);
  CHECK(d2.delay == 200ms);
  CHECK(d3.delay == 400ms);
  s.on_started("a");
  s.on_started("c");
  // b is still waiting for its delayed start: it is not listed as running.
  auto d4 = s.on_exit("a", "last straw", instant{4s});
  REQUIRE(d4.what == action::escalate);
  CHECK(contains(d4.reason, "role 'a'"));
  CHECK(contains(d4.reason, "last straw"));
  CHECK(d4.stop == names{"c"});
}

TEST_CASE("one-for-all stops the other running children and restarts all in start order") {
  auto s = started(policy(restart_strategy::one_for_all, 5));
  auto d = s.on_exit("b", "boom", instant{1s});
  REQUIRE(d.what == action::restart);
  CHECK(d.stop == names{"a", "c"});
  CHECK(d.start == names{"a", "b", "c"});
  CHECK(d.delay == 100ms);
  CHECK(contains(d.reason, "role 'b' exited: boom"));
  // The children we stop exit; those exits are expected and use no restart budget.
  CHECK(s.on_exit("c", "stopped by supervisor", instant{1s}).what == action::ignore);
  CHECK(s.on_exit("a", "stopped by supervisor", instant{1s}).what == action::ignore);
  CHECK_FALSE(s.running("a"));
  CHECK_FALSE(s.running("c"));
  for (auto n : {"a", "b", "c"}) {
    CHECK(s.restarts(n) == 1);
    s.on_started(n);
  }
  // After the restart, a failure of a is a real failure again: 2nd restart in the window.
  auto again = s.on_exit("a", "boom", instant{2s});
  REQUIRE(again.what == action::restart);
  CHECK(again.stop == names{"b", "c"});
  CHECK(again.start == names{"a", "b", "c"});
  CHECK(again.delay == 200ms);
  for (auto n : {"a", "b", "c"})
    CHECK(s.restarts(n) == 2);
}

TEST_CASE("one-for-all starts children that were not running but does not stop them") {
  supervisor_state s{policy(restart_strategy::one_for_all, 5)};
  for (auto n : {"a", "b", "c"})
    s.add_child(n);
  s.on_started("a");
  s.on_started("b"); // c never came up
  auto d = s.on_exit("a", "boom", instant{0s});
  REQUIRE(d.what == action::restart);
  CHECK(d.stop == names{"b"});
  CHECK(d.start == names{"a", "b", "c"});
}

TEST_CASE("one-for-all escalation stops every running child") {
  auto s = started(policy(restart_strategy::one_for_all, 1));
  auto first = s.on_exit("a", "boom", instant{0s});
  REQUIRE(first.what == action::restart);
  s.on_exit("b", "stopped", instant{0s});
  s.on_exit("c", "stopped", instant{0s});
  for (auto n : {"a", "b", "c"})
    s.on_started(n);
  auto d = s.on_exit("c", "boom again", instant{1s});
  REQUIRE(d.what == action::escalate);
  CHECK(d.stop == names{"a", "b"});
  CHECK(d.start.empty());
  CHECK(contains(d.reason, "role 'c'"));
  CHECK(contains(d.reason, "boom again"));
}

TEST_CASE("exits during shutdown are expected") {
  auto s = started(policy(restart_strategy::one_for_one, 1));
  CHECK_FALSE(s.shutting_down());
  s.begin_shutdown();
  CHECK(s.shutting_down());
  for (auto n : {"a", "b", "c"}) {
    auto d = s.on_exit(n, "shutdown", instant{0s});
    CHECK(d.what == action::ignore);
    CHECK(d.stop.empty());
    CHECK(d.start.empty());
    CHECK_FALSE(s.running(n));
    CHECK(s.restarts(n) == 0);
  }
  // Even a burst far beyond the limit never escalates while shutting down.
  for (int k = 0; k < 10; ++k)
    CHECK(s.on_exit("a", "boom", instant{0s}).what == action::ignore);
}

TEST_CASE("exits of unknown children are ignored and use no restart budget") {
  auto s = started(policy(restart_strategy::one_for_one, 1));
  for (int k = 0; k < 5; ++k) {
    auto d = s.on_exit("ghost", "boom", instant{0s});
    CHECK(d.what == action::ignore);
    CHECK(d.stop.empty());
    CHECK(d.start.empty());
  }
  CHECK(s.children() == names{"a", "b", "c"});
  CHECK(s.restarts("ghost") == 0);
  auto d = s.on_exit("a", "boom", instant{0s});
  REQUIRE(d.what == action::restart);
  CHECK(d.delay == 100ms);
  CHECK(contains(d.reason, "(1st restart"));
}

TEST_CASE("restarts() counts per child") {
  auto s = started(policy(restart_strategy::one_for_one, 100, 30s));
  for (int k = 0; k < 3; ++k) {
    s.on_exit("a", "boom", instant{1s});
    s.on_started("a");
  }
  s.on_exit("c", "boom", instant{1s});
  s.on_started("c");
  CHECK(s.restarts("a") == 3);
  CHECK(s.restarts("b") == 0);
  CHECK(s.restarts("c") == 1);
  // An expected exit is not a restart.
  s.begin_shutdown();
  s.on_exit("a", "shutdown", instant{2s});
  CHECK(s.restarts("a") == 3);
}
