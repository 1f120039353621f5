// Supervisor actor under the deterministic harness.
//
// Scenarios:
//  1. A role that throws is restarted after the backoff; the new instance is registered with
//     the directory in place of the old one and answers.
//  2. The exception's message survives as the exit reason (reported on escalation).
//  3. Past max-restarts within the window the supervisor gives up: every role is stopped and
//     the node's host gets (failed, reason).
//  4. Failures spaced wider than the window never escalate.
//  5. one-for-all: a failing role takes its siblings down and all come back.
//  6. Orderly shutdown stops roles in reverse start order and answers.
#include "poe/testing/harness.hpp"
#include "test_roles.hpp"

#include <catch2/catch.hpp>

using namespace poe;
using namespace poe::runtime;
using poe::testing::harness;
using namespace std::chrono_literals;

namespace {

caf::actor only_member(harness& h, testing::node_index n, const std::string& role) {
  auto m = h.members(n, role);
  return m.size() == 1 ? m[0].handle : caf::actor{};
}

restart_policy policy(std::uint32_t max, duration window) {
  restart_policy p;
  p.max_restarts = max;
  p.window = window;
  p.backoff_initial = 100ms;
  p.backoff_max = 1s;
  return p;
}

} // namespace

TEST_CASE("a throwing role is restarted and re-registered") {
  harness h;
  INFO(h.describe());
  auto n = h.add_node({"a", {test::worker_role()}, {}, policy(3, 30s)});
  h.start(n);
  auto first = only_member(h, n, "worker");
  REQUIRE(first);
  REQUIRE(h.ask<std::uint64_t>(first, caf::make_message(ping_atom::value, std::uint64_t{1})) ==
          2u);
  caf::anon_send(first, test::crash_atom::value, std::string("disk on fire"));
  h.run();
  // Gone, and not back before the 100 ms backoff.
  CHECK(h.members(n, "worker").empty());
  h.advance(50ms);
  CHECK(h.members(n, "worker").empty());
  h.advance(100ms);
  auto second = only_member(h, n, "worker");
  REQUIRE(second);
  CHECK(second != first);
  CHECK(h.ask<std::uint64_t>(second, caf::make_message(ping_atom::value, std::uint64_t{5})) ==
        6u);
  CHECK_FALSE(h.failure(n));
}

TEST_CASE("exceeding the restart limit stops the node with the exception's message") {
  harness h;
  auto n = h.add_node({"a", {test::worker_role(), test::worker_role("other")}, {},
                       policy(2, 30s)});
  h.start(n);
  for (int i = 0; i < 3; ++i) {
    auto w = only_member(h, n, "worker");
    REQUIRE(w);
    caf::anon_send(w, test::crash_atom::value, "boom " + std::to_string(i));
    h.advance(2s);
  }
  auto f = h.failure(n);
  REQUIRE(f);
  CHECK(f->find("role 'worker'") != std::string::npos);
  CHECK(f->find("boom 2") != std::string::npos);
  CHECK(f->find("restart limit") != std::string::npos);
  // Every role was stopped, the sibling too.
  CHECK(h.members(n, "worker").empty());
  CHECK(h.members(n, "other").empty());
}

TEST_CASE("failures spaced wider than the window never escalate") {
  harness h;
  auto n = h.add_node({"a", {test::worker_role()}, {}, policy(2, 5s)});
  h.start(n);
  for (int i = 0; i < 6; ++i) {
    auto w = only_member(h, n, "worker");
    REQUIRE(w);
    caf::anon_send(w, test::crash_atom::value, std::string("flaky"));
    h.advance(6s);
  }
  CHECK_FALSE(h.failure(n));
  CHECK(only_member(h, n, "worker"));
}

TEST_CASE("one-for-all restarts the siblings of a failed role") {
  harness h;
  auto p = policy(3, 30s);
  p.strategy = restart_strategy::one_for_all;
  auto n = h.add_node({"a", {test::worker_role(), test::worker_role("other")}, {}, p});
  h.start(n);
  auto w = only_member(h, n, "worker");
  auto o = only_member(h, n, "other");
  REQUIRE(w);
  REQUIRE(o);
  caf::anon_send(w, test::crash_atom::value, std::string("x"));
  h.advance(500ms);
  auto w2 = only_member(h, n, "worker");
  auto o2 = only_member(h, n, "other");
  REQUIRE(w2);
  REQUIRE(o2);
  CHECK(w2 != w);
  CHECK(o2 != o);
  CHECK_FALSE(h.failure(n));
}

TEST_CASE("orderly shutdown stops every role and answers") {
  harness h;
  auto n = h.add_node({"a", {test::worker_role(), test::worker_role("other")}, {}});
  h.start(n);
  REQUIRE(h.members(n, "worker").size() == 1);
  auto done = h.ask<shutdown_atom>(h.supervisor(n), caf::make_message(shutdown_atom::value));
  CHECK(done);
  CHECK(h.members(n, "worker").empty());
  CHECK(h.members(n, "other").empty());
  CHECK_FALSE(h.failure(n));
}
