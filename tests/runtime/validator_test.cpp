// The validator role under the deterministic harness: 4 nodes, each a validator with its own
// RocksDB store, connected through the seam.
//
// Scenarios:
//  1. Four validators commit blocks; every node has the same block at every height.
//  2. One validator crashes; the other three go on (3 of 4 is a quorum). Restarted, it replays
//     its stored blocks and catches up through block sync; hashes match.
//  3. Two of four crashed: no block is committed (no quorum); nothing unsafe. Restarted, progress
//     resumes.
#include "poe/actors/roles.hpp"
#include "poe/chain/genesis.hpp"
#include "poe/testing/harness.hpp"
#include "test_roles.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <unistd.h>

using namespace poe;
using namespace poe::runtime;
using poe::testing::harness;
using poe::testing::node_index;
using namespace std::chrono_literals;

namespace {


struct chain_fixture {
  harness h{11};
  std::string genesis_path = "/tmp/poe-genesis-" + std::to_string(::getpid()) + ".json";
  std::vector<node_index> ns;

  chain_fixture() {
    for (std::size_t i = 0; i < 4; ++i) {
      testing::node_spec spec{"v" + std::to_string(i), {actors::validator_role()}, {}};
      for (std::size_t j = 0; j < i; ++j)
        spec.peers.push_back(j);
      spec.net = test::fast_net();
      spec.store = true;
      ns.push_back(h.add_node(spec));
    }
    chain::genesis g;
    g.chain_id = "poe-sim";
    for (auto n : ns)
      g.validators.push_back({h.key(n).pub(), amount{1000}});
    std::sort(g.validators.begin(), g.validators.end(),
              [](auto& a, auto& b) { return a.id() < b.id(); });
    g.params.block_interval_ms = 50;
    std::ofstream(genesis_path) << chain::to_json(g);
    h.set("validator.genesis", genesis_path);
  }
  ~chain_fixture() { std::remove(genesis_path.c_str()); }

  caf::actor validator(node_index n) {
    auto m = h.members(n, "validator");
    for (auto& e : m)
      if (e.node == h.node_id(n)) return e.handle;
    return {};
  }

  std::uint64_t height(node_index n) {
    auto v = validator(n);
    if (!v) return 0;
    auto r = h.ask<std::uint64_t>(v, caf::make_message(status_atom::value));
    return r ? *r : 0;
  }

  std::string block_at(node_index n, std::uint64_t height) {
    auto r = h.ask<std::string>(validator(n), caf::make_message(status_atom::value, height));
    return r ? *r : std::string{};
  }

  bool all_at_least(const std::vector<node_index>& which, std::uint64_t height) {
    for (auto n : which)
      if (this->height(n) < height) return false;
    return true;
  }

  void same_chain(const std::vector<node_index>& which, std::uint64_t upto) {
    for (std::uint64_t k = 1; k <= upto; ++k) {
      auto first = block_at(which.front(), k);
      REQUIRE(!first.empty());
      for (auto n : which)
        CHECK(block_at(n, k) == first);
    }
  }
};

} // namespace

TEST_CASE("four validators commit the same blocks") {
  chain_fixture f;
  f.h.start_all();
  REQUIRE(f.h.advance_until([&] { return f.all_at_least(f.ns, 5); }, 30s, 20ms));
  f.same_chain(f.ns, 5);
}

TEST_CASE("a crashed validator is not missed and catches up after a restart") {
  chain_fixture f;
  f.h.start_all();
  REQUIRE(f.h.advance_until([&] { return f.all_at_least(f.ns, 3); }, 30s, 20ms));
  f.h.crash(3);
  std::vector<node_index> rest{0, 1, 2};
  auto before = f.height(0);
  REQUIRE(f.h.advance_until([&] { return f.all_at_least(rest, before + 5); }, 60s, 20ms));
  f.h.start(3);
  auto target = f.height(0) + 2;
  REQUIRE(f.h.advance_until([&] { return f.all_at_least(f.ns, target); }, 60s, 20ms));
  f.same_chain(f.ns, target);
}

TEST_CASE("without a quorum nothing is committed and progress resumes after restarts") {
  chain_fixture f;
  f.h.start_all();
  REQUIRE(f.h.advance_until([&] { return f.all_at_least(f.ns, 2); }, 30s, 20ms));
  f.h.crash(2);
  f.h.crash(3);
  f.h.advance(1s, 20ms);
  auto stalled = f.height(0);
  f.h.advance(10s, 20ms);
  CHECK(f.height(0) <= stalled + 1); // at most the height already in flight
  CHECK(f.height(1) <= stalled + 1);
  f.h.start(2);
  f.h.start(3);
  REQUIRE(f.h.advance_until([&] { return f.all_at_least(f.ns, stalled + 3); }, 90s, 20ms));
  f.same_chain(f.ns, stalled + 3);
}
