// Directories and the seam under the deterministic harness.
//
// Scenarios:
//  1. Three nodes (1 and 2 dial 0, 2 dials 1) find each other's roles; every directory lists
//     all three workers and the other two nodes as peers.
//  2. A subscriber hears of a role joining and leaving (node crash) and rejoining (restart).
//  3. A crashed node is dropped by its peers at once; restarted, it is found again.
//  4. A partition: after net.connection-timeout each side sees only itself; healed, the
//     dialling side reconnects with backoff and everyone sees everyone again.
//  5. Lossy network (drops, duplicates, delays) over many seeds: the mesh still forms.
//  6. A node whose key is not allowed is refused by everyone; the others still mesh.
//  7. The same seed replays the same run (seam counters identical); another seed differs.
//  8. A role's handle received from a remote directory works across the seam (request).
#include "poe/testing/harness.hpp"
#include "test_roles.hpp"

#include <catch2/catch.hpp>

using namespace poe;
using namespace poe::runtime;
using poe::testing::harness;
using poe::testing::node_index;
using namespace std::chrono_literals;

namespace {


/// Three nodes: 0; 1 dials 0; 2 dials 0 and 1.
std::vector<node_index> triangle(harness& h) {
  std::vector<node_index> ns;
  ns.push_back(h.add_node({"n0", {test::worker_role()}, {}, {}, test::fast_net()}));
  ns.push_back(h.add_node({"n1", {test::worker_role()}, {0}, {}, test::fast_net()}));
  ns.push_back(h.add_node({"n2", {test::worker_role()}, {0, 1}, {}, test::fast_net()}));
  return ns;
}

bool meshed(harness& h, const std::vector<node_index>& ns, std::size_t workers) {
  for (auto n : ns)
    if (h.running(n) &&
        (h.members(n, "worker").size() != workers || h.peers(n).size() != workers - 1))
      return false;
  return true;
}

/// Collects (members_atom, role, members) notifications.
struct watcher {
  std::shared_ptr<std::vector<std::size_t>> sizes = std::make_shared<std::vector<std::size_t>>();
  caf::actor actor;
  watcher(harness& h, node_index n, const std::string& role) {
    auto sizes_ = sizes;
    auto dir = h.directory(n);
    actor = h.system().spawn([sizes_, dir, role](caf::event_based_actor* self) -> caf::behavior {
      self->send(dir, subscribe_atom::value, role);
      return {[sizes_](members_atom, const std::string&, const std::vector<role_entry>& m) {
        sizes_->push_back(m.size());
      }};
    });
    h.run();
  }
};

} // namespace

TEST_CASE("three nodes find each other's roles") {
  harness h;
  INFO(h.describe());
  auto ns = triangle(h);
  h.start_all();
  REQUIRE(h.advance_until([&] { return meshed(h, ns, 3); }, 5s));
  for (auto n : ns) {
    auto m = h.members(n, "worker");
    std::set<std::string> nodes;
    for (auto& e : m)
      nodes.insert(e.node);
    CHECK(nodes == std::set<std::string>{h.node_id(0), h.node_id(1), h.node_id(2)});
    CHECK(m.front().node == h.node_id(n)); // local first
  }
}

TEST_CASE("a subscriber hears roles join, leave and rejoin") {
  harness h;
  INFO(h.describe());
  auto ns = triangle(h);
  h.start_all();
  REQUIRE(h.advance_until([&] { return meshed(h, ns, 3); }, 5s));
  watcher w(h, 0, "worker");
  REQUIRE(!w.sizes->empty());
  CHECK(w.sizes->back() == 3);
  h.crash(2);
  h.run();
  CHECK(w.sizes->back() == 2); // noticed at once (the connection broke)
  h.start(2);
  REQUIRE(h.advance_until([&] { return meshed(h, ns, 3); }, 5s));
  CHECK(w.sizes->back() == 3);
}

TEST_CASE("a partition is detected by heartbeats and heals") {
  harness h;
  INFO(h.describe());
  auto ns = triangle(h);
  h.start_all();
  REQUIRE(h.advance_until([&] { return meshed(h, ns, 3); }, 5s));
  h.partition({0}, {1, 2});
  // Within connection-timeout plus one heartbeat each side sees only itself.
  h.advance(1s);
  CHECK(h.members(0, "worker").size() == 1);
  CHECK(h.peers(0).empty());
  CHECK(h.members(1, "worker").size() == 2);
  CHECK(h.members(2, "worker").size() == 2);
  h.advance(3s); // still partitioned: redials fail
  CHECK(h.members(0, "worker").size() == 1);
  h.heal();
  REQUIRE(h.advance_until([&] { return meshed(h, ns, 3); }, 5s));
  CHECK(h.seam_counters().partitioned > 0);
}

TEST_CASE("the mesh forms over a lossy network, for many seeds") {
  std::uint64_t dropped = 0;
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    harness h{seed};
    h.faults({0.15, 0.1, 0.3, 300ms});
    INFO(h.describe());
    auto ns = triangle(h);
    h.start_all();
    // Losses cost heartbeats and handshakes; the directories retry until meshed and stable.
    REQUIRE(h.advance_until([&] { return meshed(h, ns, 3); }, 30s));
    dropped += h.seam_counters().dropped;
  }
  CHECK(dropped > 0); // the faults did happen
}

TEST_CASE("a node whose id is not allowed is refused") {
  harness h;
  INFO(h.describe());
  auto a = h.add_node({"a", {test::worker_role()}, {}, {}, test::fast_net()});
  auto b = h.add_node({"b", {test::worker_role()}, {a}, {}, test::fast_net()});
  auto rogue = h.add_node({"rogue", {test::worker_role()}, {a, b}, {}, test::fast_net(), false});
  h.start_all();
  h.advance(3s);
  CHECK(h.members(a, "worker").size() == 2);
  CHECK(h.members(b, "worker").size() == 2);
  CHECK(h.members(rogue, "worker").size() == 1);
  CHECK(h.peers(rogue).empty());
}

// The identity handshake is bound to the transport: a node that proves its key on a connection
// whose TLS certificate carries another node's key is refused (tls_mismatch), in both
// directions, and the honest nodes still mesh.
TEST_CASE("a node proving a key its connection's certificate does not carry is refused") {
  harness h;
  INFO(h.describe());
  auto a = h.add_node({"a", {test::worker_role()}, {}, {}, test::fast_net()});
  auto b = h.add_node({"b", {test::worker_role()}, {a}, {}, test::fast_net()});
  poe::testing::node_spec spec{"c", {test::worker_role()}, {a}, {}, test::fast_net()};
  spec.certificate_of = b; // c's connections carry b's certificate
  auto c = h.add_node(spec);
  auto d = h.add_node({"d", {test::worker_role()}, {a, b, c}, {}, test::fast_net()});
  h.start_all();
  h.advance(3s);
  CHECK(h.members(a, "worker").size() == 3); // a, b, d
  CHECK(h.members(b, "worker").size() == 3);
  CHECK(h.members(d, "worker").size() == 3);
  CHECK(h.members(c, "worker").size() == 1); // refused when it dials a, and when d dials it
  CHECK(h.peers(c).empty());
  for (node_index n : std::vector<node_index>{a, b, d})
    for (auto& p : h.peers(n)) CHECK(p.node != h.node_id(c));
}

TEST_CASE("a seed replays the same run") {
  auto run = [](std::uint64_t seed) {
    harness h{seed};
    h.faults({0.2, 0.1, 0.3, 300ms});
    auto ns = triangle(h);
    h.start_all();
    h.advance(5s);
    auto c = h.seam_counters();
    return std::vector<std::uint64_t>{c.forwarded, c.dropped, c.duplicated, c.delayed};
  };
  CHECK(run(42) == run(42));
  CHECK(run(42) != run(43));
  // Node keys come from the seed too.
  harness a{7}, b{7}, c{8};
  for (auto* h : {&a, &b, &c})
    h->add_node({"x", {}, {}});
  CHECK(a.node_id(0) == b.node_id(0));
  CHECK(a.node_id(0) != c.node_id(0));
}

TEST_CASE("a remote role's handle works across the seam") {
  harness h;
  auto ns = triangle(h);
  h.start_all();
  REQUIRE(h.advance_until([&] { return meshed(h, ns, 3); }, 5s));
  for (auto& e : h.members(0, "worker"))
    CHECK(h.ask<std::uint64_t>(e.handle, caf::make_message(ping_atom::value, std::uint64_t{9})) ==
          10u);
  CHECK(h.seam_counters().forwarded > 0);
}

TEST_CASE("the seam counts what crosses it in messages and serialized bytes by kind and node") {
  harness h;
  auto ns = triangle(h);
  h.start_all();
  REQUIRE(h.advance_until([&] { return meshed(h, ns, 3); }, 5s));
  CHECK(h.traffic_by_kind().empty()); // nothing counted until asked
  h.measure(true);
  h.advance(3s);
  h.measure(false);
  auto kinds = h.traffic_by_kind();
  REQUIRE(kinds.count("p_beat"));
  auto beats = kinds["p_beat"];
  // Each node beats to its two peers about once a second (fast_net: every 200 ms).
  CHECK(beats.messages >= 6 * 3);
  CHECK(beats.bytes >= beats.messages * 16); // an atom, a node id and a counter at least
  std::uint64_t msgs = 0, bytes = 0, sent = 0, received = 0;
  for (auto& [k, t] : kinds) {
    msgs += t.messages;
    bytes += t.bytes;
  }
  for (auto n : ns) {
    CHECK(h.sent_by(n).messages > 0);
    sent += h.sent_by(n).bytes;
    received += h.received_by(n).bytes;
  }
  CHECK(sent == bytes);
  CHECK(received == bytes);
  CHECK(msgs <= h.seam_counters().forwarded);
  h.advance(1s); // off again: nothing more is counted
  CHECK(h.traffic_by_kind().at("p_beat").messages == beats.messages);
  h.reset_traffic();
  CHECK(h.traffic_by_kind().empty());
  CHECK(h.sent_by(ns[0]).bytes == 0);
}
