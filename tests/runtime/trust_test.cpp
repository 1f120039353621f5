// Trust boundaries under the deterministic harness: a misbehaving peer with a valid key and
// its own connection (harness::send_as) tries what issue 16 lists; each test failed before the
// fix it names.
//
// Scenarios:
//  1. Identity is bound to the connection: a peer announcing roles under another node's id is
//     dropped and counted (claims_other_id); the other node's entries stay as they were.
//  2. Heartbeats naming another node do not keep it alive: a partitioned node is dropped after
//     net.connection-timeout although a third node sends heartbeats in its name.
//  3. A peer announcing a role handle that lives on another node is dropped (foreign_handle).
//  4. A node that never completed the handshake cannot announce anything (unattributed).
//  5. An executor runs tasks only from a node running a verifier role that names itself as the
//     task's submitter: a peer without one, or a verifier passing off another's task, is
//     refused (not_authorized); the verifier's own task runs.
#include "poe/actors/roles.hpp"
#include "poe/core/sha256.hpp"
#include "poe/testing/harness.hpp"
#include "poe/wire/codec.hpp"
#include "test_roles.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <thread>

using namespace poe;
using namespace poe::runtime;
using poe::testing::harness;
using poe::testing::node_index;
using namespace std::chrono_literals;

namespace {

/// a, b (dials a) and a peer that misbehaves (dials a and b); all run a worker.
struct trio {
  harness h;
  node_index a, b, evil;
  explicit trio(bool evil_allowed = true) {
    a = h.add_node({"a", {test::worker_role()}, {}, {}, test::fast_net()});
    b = h.add_node({"b", {test::worker_role()}, {a}, {}, test::fast_net()});
    evil = h.add_node({"evil", {test::worker_role()}, {a, b}, {}, test::fast_net(), evil_allowed});
    h.start_all();
    h.advance(2s);
  }
  /// Node `n`'s worker entries, by node id.
  std::map<std::string, caf::actor> workers(node_index n) {
    std::map<std::string, caf::actor> out;
    for (auto& e : h.members(n, "worker")) out[e.node] = e.handle;
    return out;
  }
  bool peer_of(node_index at, node_index who) {
    auto ps = h.peers(at);
    return std::any_of(ps.begin(), ps.end(), [&](auto& p) { return p.node == h.node_id(who); });
  }
};

} // namespace

TEST_CASE("a peer announcing roles under another node's id is dropped and counted") {
  trio t;
  INFO(t.h.describe());
  auto before = t.workers(t.a);
  REQUIRE(before.size() == 3);
  // evil claims to be b (a newer incarnation) and points b's worker at its own actor.
  role_announcement forged{t.h.node_id(t.b), ~0ull, ~0ull,
                           {role_entry{"worker", t.h.node_id(t.b), t.h.local(t.evil, "worker")}}};
  t.h.send_as(t.evil, t.a, t.h.directory(t.a), caf::make_message(announce_atom::value, forged));
  t.h.advance(100ms);
  CHECK(t.workers(t.a) == before);
  CHECK(t.h.registry(t.a).rejected(peer_reject::claims_other_id) == 1);
  // b's own announcements still count.
  CHECK(t.h.ask<std::uint64_t>(t.workers(t.a).at(t.h.node_id(t.b)), caf::make_message(ping_atom::value, std::uint64_t{41})) == 42u);
}

TEST_CASE("heartbeats naming another node do not keep it alive") {
  trio t;
  INFO(t.h.describe());
  REQUIRE(t.peer_of(t.a, t.b));
  t.h.partition({t.a}, {t.b});
  for (int i = 0; i < 10; ++i) { // 2 s of heartbeats in b's name, connection timeout 700 ms
    t.h.send_as(t.evil, t.a, t.h.directory(t.a),
                caf::make_message(heartbeat_atom::value, t.h.node_id(t.b)));
    t.h.advance(200ms);
  }
  CHECK_FALSE(t.peer_of(t.a, t.b));
  CHECK(t.peer_of(t.a, t.evil)); // evil's own heartbeats still count
  CHECK(t.h.registry(t.a).rejected(peer_reject::claims_other_id) >= 10);
}

TEST_CASE("a peer announcing a handle that lives on another node is dropped") {
  trio t;
  INFO(t.h.describe());
  auto before = t.workers(t.a);
  REQUIRE(before.size() == 3);
  // evil announces, under its own id, b's worker (as a sees it) as its "worker".
  role_announcement forged{t.h.node_id(t.evil), ~0ull, ~0ull,
                           {role_entry{"worker", t.h.node_id(t.evil), before.at(t.h.node_id(t.b))}}};
  t.h.send_as(t.evil, t.a, t.h.directory(t.a), caf::make_message(announce_atom::value, forged));
  t.h.advance(100ms);
  CHECK(t.workers(t.a) == before);
  CHECK(t.h.registry(t.a).rejected(peer_reject::foreign_handle) == 1);
}

TEST_CASE("a node that never completed the handshake cannot announce") {
  trio t(false); // evil's key is not allowed: every handshake refused
  INFO(t.h.describe());
  REQUIRE(t.workers(t.a).size() == 2);
  role_announcement forged{t.h.node_id(t.evil), 1, 1,
                           {role_entry{"worker", t.h.node_id(t.evil), t.h.local(t.evil, "worker")}}};
  t.h.send_as(t.evil, t.a, t.h.directory(t.a), caf::make_message(announce_atom::value, forged));
  t.h.advance(100ms);
  CHECK(t.workers(t.a).size() == 2);
  CHECK(t.h.registry(t.a).rejected(peer_reject::unattributed) == 1);
}

TEST_CASE("an executor runs tasks only from a verifier that submitted them") {
  harness h;
  INFO(h.describe());
  auto x = h.add_node({"x", {actors::execution_role()}, {}, {}, test::fast_net()});
  auto v = h.add_node({"v", {test::worker_role("verifier")}, {x}, {}, test::fast_net()});
  auto evil = h.add_node({"evil", {test::worker_role()}, {x}, {}, test::fast_net()});
  h.start_all();
  REQUIRE(h.advance_until([&] { return h.peers(x).size() == 2; }, 10s));
  h.advance(500ms);
  auto executor = h.local(x, "execution");
  auto task_from = [&](node_index submitter, int n) {
    task t;
    auto d = sha256::digest(as_bytes("trust-task-" + std::to_string(n)));
    std::copy(d.data.begin(), d.data.begin() + t.id.data.size(), t.id.data.begin());
    t.kind = "compute";
    t.params = {{"data", "00ff"}, {"iterations", "1"}};
    t.submitter = *node_id::from_hex(h.node_id(submitter));
    t.created_ms = 1;
    auto w = wire::encode(t);
    return std::vector<std::uint8_t>(w.begin(), w.end());
  };
  auto status = [&] {
    auto st = h.ask<executor_status>(executor, caf::make_message(ex_info_atom::value));
    REQUIRE(st);
    return *st;
  };
  auto send = [&](node_index from, std::vector<std::uint8_t> wire) {
    h.send_as(from, x, executor, caf::make_message(ex_run_atom::value, std::move(wire)));
    for (int i = 0; i < 100 && status().in_flight > 0; ++i) { // the worker thread runs in real time
      h.advance(20ms);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    h.advance(100ms);
  };
  // A peer without a verifier role: refused, nothing runs.
  send(evil, task_from(evil, 1));
  CHECK(status().failed == 1);
  CHECK(status().completed == 0);
  // A verifier passing off a task as evil's: refused.
  send(v, task_from(evil, 2));
  CHECK(status().failed == 2);
  CHECK(status().completed == 0);
  // The verifier's own task runs.
  send(v, task_from(v, 3));
  for (int i = 0; i < 200 && status().completed == 0; ++i) {
    h.advance(20ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(status().completed == 1);
  CHECK(status().failed == 2);
}
