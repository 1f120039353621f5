#pragma once
/// @file
/// The deterministic harness: several simulated poe nodes in one actor system on CAF's
/// `test_coordinator`, connected through a seam that a seeded fault injector controls.
/// docs/testing.md is the guide; tests/runtime/harness_test.cpp shows every feature.
///
///     poe::testing::harness h{seed};              // or harness{} : POE_TEST_SEED or 1
///     auto a = h.add_node({"a", {my_role()}});      // roles as for poe-node
///     auto b = h.add_node({"b", {my_role()}, {a}}); // b dials a
///     h.start_all();
///     h.advance(std::chrono::seconds(2));           // simulated time; no sleeping
///     REQUIRE(h.members(b, "my-role").size() == 2);
///     h.faults({.drop = 0.1, .duplicate = 0.05, .delay = 0.2});
///     h.partition({a}, {b}); ... h.heal();
///     h.crash(a); h.start(a);
///
/// Everything that decides a run — message order (the coordinator is FIFO), fault rolls,
/// delays, the nodes' keys (hence their ids and every order keyed by id) — comes from the seed, so a failing seed replays the same run: the harness's
/// `describe()` names it; put `INFO(h.describe())` in a test so Catch2 prints it on failure.
///
/// The seam: node X sees node Y's actors only through proxies. A proxy forwards one-way
/// messages after the fault injector decides (drop, duplicate, delay, or partitioned); handles
/// inside forwarded messages are rewritten to proxies in the other direction, so replies cross
/// the seam too. Requests are forwarded with their sender and id (drop and partitions apply;
/// the response returns directly). Later issues register rewriters for their own message
/// types that carry handles (`add_rewriter`).

#include "poe/core/keys.hpp"
#include "poe/runtime/messages.hpp"
#include "poe/runtime/peer_registry.hpp"
#include "poe/runtime/role.hpp"
#include "poe/runtime/settings.hpp"
#include "poe/runtime/supervisor_state.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <tuple>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace poe::store {
class db;
}

namespace poe::testing {

using node_index = std::size_t;

/// One simulated node.
struct node_spec {
  std::string name;
  std::vector<runtime::role_info> roles; ///< started in order under the node's supervisor
  std::vector<node_index> peers;         ///< nodes this one dials
  runtime::restart_policy supervisor{};
  runtime::net_settings net{};
  bool allowed = true; ///< false: no other node accepts this one (its key is not allowed)
  bool store = false;  ///< give the roles a RocksDB store (a temp dir; survives crash/start)
  /// The node whose key the TLS certificate it presents carries (what the transport proves on
  /// its connections, as tls_bind.cpp does in poe-node); default itself.
  std::optional<node_index> certificate_of = std::nullopt;
};

/// Probabilities per forwarded message; delays are uniform in [0, max_delay].
struct fault_plan {
  double drop = 0;
  double duplicate = 0;
  double delay = 0; ///< delayed messages overtake others: this is the reordering
  runtime::duration max_delay = std::chrono::milliseconds(300);
};

/// Rewrites handles inside message element `i` of `msg` (if it has a type it knows) with
/// `wrap`; returns true if it handled the element.
using rewriter = std::function<bool(caf::message& msg, std::size_t i,
                                    const std::function<caf::actor(const caf::actor&)>& wrap)>;

class harness {
public:
  /// `seed` 0 means: POE_TEST_SEED from the environment, or 1.
  explicit harness(std::uint64_t seed = 0);
  ~harness();
  harness(const harness&) = delete;
  harness& operator=(const harness&) = delete;

  std::uint64_t seed() const { return seed_; }
  /// "harness seed N (replay: POE_TEST_SEED=N)" plus the fault plan.
  std::string describe() const;

  caf::actor_system& system() { return *sys_; }
  caf::scheduler::test_coordinator& scheduler() { return *sched_; }

  // -- nodes ---------------------------------------------------------------------------------

  node_index add_node(node_spec spec);
  void start(node_index n);
  void start_all();
  /// Kills every actor of `n` at once (as a process crash would); peers see its connection
  /// drop. `start(n)` brings it back with a fresh incarnation and the same key.
  void crash(node_index n);
  bool running(node_index n) const;
  /// Set when `n`'s supervisor gave up (restart limit): the reason it reported.
  std::optional<std::string> failure(node_index n) const;

  const std::string& node_id(node_index n) const;
  /// The chain id every simulated node runs with ("poe-sim"; a genesis must name it).
  static std::string chain_id() { return "poe-sim"; }
  const private_key& key(node_index n) const;
  /// Sets a role option ("validator.genesis", ...) every node's roles see in
  /// `ctx.options()` from their next start on; a bad key or value throws (its message names it).
  void set(const std::string& key, const std::string& value);
  caf::actor directory(node_index n) const;
  /// The node's RocksDB store (node_spec::store), null without one or before its first start;
  /// tests use it to inspect or damage what a role wrote.
  store::db* store_of(node_index n) const;
  caf::actor supervisor(node_index n) const;

  // -- the seam ------------------------------------------------------------------------------

  void faults(fault_plan plan) { plan_ = plan; }
  const fault_plan& faults() const { return plan_; }
  /// Messages between the two groups are dropped until `heal()`.
  void partition(const std::set<node_index>& a, const std::set<node_index>& b);
  void heal();
  void add_rewriter(rewriter r) { rewriters_.push_back(std::move(r)); }
  /// Sends `msg` to `target`, an actor of node `to` (e.g. `directory(to)`), as node `from`
  /// would: through the seam, on `from`'s connection (a misbehaving peer in attack tests).
  /// Handles in `msg` that are not proxies count as `from`'s own actors.
  void send_as(node_index from, node_index to, const caf::actor& target, caf::message msg);
  /// Requests `a` (an actor the test spawned) makes count as node `from`'s, on its connection,
  /// and the answers come straight back: an attack test reads what a peer would be told.
  void speak_as(node_index from, const caf::actor& a) { origin_.emplace(a.address(), from); }
  /// The connections node `n`'s directory bound to proven ids, and what it dropped (by reason).
  const runtime::peer_registry& registry(node_index n) const;

  /// While on, every message that crosses the seam is written down (simulated time, from, to,
  /// the message rendered by CAF): two runs of one seed must give the same trace.
  void record(bool on) { recording_ = on; }
  const std::vector<std::string>& recorded() const { return trace_; }

  struct counters {
    std::uint64_t forwarded = 0, dropped = 0, duplicated = 0, delayed = 0, partitioned = 0;
  };
  const counters& seam_counters() const { return counters_; }

  /// What crossed the seam, in messages and in the bytes CAF's binary serialization gives
  /// them — the payload BASP carries on a real connection (plus its 32-byte header and TLS's
  /// record overhead, which these figures leave out). Counted only while `measure(true)`:
  /// each forwarded message is serialized once.
  struct traffic {
    std::uint64_t messages = 0, bytes = 0;
  };
  void measure(bool on) { measuring_ = on; }
  /// By kind: the message's leading atom ("v_cons", "heartbeat", ...), or "(other)".
  const std::map<std::string, traffic>& traffic_by_kind() const { return by_kind_; }
  /// Sent and received by each node.
  traffic sent_by(node_index n) const;
  traffic received_by(node_index n) const;
  void reset_traffic();

  // -- time ----------------------------------------------------------------------------------

  /// Runs every ready job without moving the clock.
  void run();
  /// Moves simulated time forward by `d` in `step`s, running ready jobs at each step.
  void advance(runtime::duration d, runtime::duration step = std::chrono::milliseconds(10));
  /// Advances until `pred()` holds or `limit` elapsed; returns whether it held.
  bool advance_until(const std::function<bool()>& pred, runtime::duration limit,
                     runtime::duration step = std::chrono::milliseconds(10));

  // -- queries (run the system until answered) -----------------------------------------------

  /// Asks `target` with `msg` and returns the answer: of type `R`, or a tuple (R, Rs...) for
  /// a multi-value answer (nullopt on an error or no answer within `limit` of simulated time).
  template <class R, class... Rs>
  auto ask(const caf::actor& target, caf::message msg,
           runtime::duration limit = std::chrono::seconds(5)) {
    using answer = std::conditional_t<sizeof...(Rs) == 0, R, std::tuple<R, Rs...>>;
    auto out = std::make_shared<std::optional<answer>>();
    auto done = std::make_shared<bool>(false);
    system().spawn([=](caf::event_based_actor* self) {
      self->request(target, caf::timespan{limit.count()}, msg)
        .then(
          [=](R& r, Rs&... rs) {
            if constexpr (sizeof...(Rs) == 0)
              *out = std::move(r);
            else
              *out = std::make_tuple(std::move(r), std::move(rs)...);
            *done = true;
          },
          [=](caf::error&) { *done = true; });
    });
    advance_until([&] { return *done; }, limit + std::chrono::milliseconds(100));
    return std::move(*out);
  }
  std::vector<runtime::role_entry> members(node_index n, const std::string& role);
  /// Node n's own actor of `role` as its directory lists it (invalid if it has none).
  caf::actor local(node_index n, const std::string& role);
  std::vector<runtime::peer_info> peers(node_index n);

  /// The seeded random source the harness uses (tests may draw from it too).
  std::mt19937_64& rng() { return rng_; }
  /// The roles' clock (role_context::clock): simulated time, starting at `epoch_ms`.
  runtime::role_clock clock() const;
  static constexpr std::uint64_t epoch_ms = 1'700'000'000'000;

private:
  struct node;
  struct proxy_info {
    node_index from;     // the node that holds the proxy
    node_index to;       // the node of the target
    caf::actor target;
  };
  friend struct harness_access;

  caf::actor proxy_for(node_index from, node_index to, const caf::actor& target);
  caf::actor wrap_for(node_index from_node, node_index to_node, const caf::actor& h);
  std::optional<node_index> owner_of(const caf::actor& h) const;
  void forward(node_index from, node_index to, const caf::actor& target, caf::message msg,
               bool allow_delay, const caf::strong_actor_ptr& sender);
  /// The connection a message from `sender` came on, as node `at` sees it: "local", "" or
  /// "sim:<node index>" (peer_registry.hpp).
  std::string connection_key(node_index at, const caf::strong_actor_ptr& sender) const;
  bool blocked(node_index a, node_index b) const;
  void rewrite(caf::message& msg, node_index from, node_index to);

  std::uint64_t seed_;
  std::mt19937_64 rng_;
  /// Simulated nanoseconds since the start, for the roles' clock (read from worker threads too).
  std::shared_ptr<std::atomic<std::int64_t>> sim_ns_ = std::make_shared<std::atomic<std::int64_t>>(0);
  void tick_clock();
  void note(node_index from, node_index to, const caf::message& msg);
  bool recording_ = false;
  bool measuring_ = false;
  void count(node_index from, node_index to, const caf::message& msg);
  std::map<std::string, traffic> by_kind_;
  std::map<node_index, traffic> sent_, received_;
  std::vector<std::string> trace_;
  std::unique_ptr<caf::actor_system_config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  caf::scheduler::test_coordinator* sched_ = nullptr;
  std::vector<std::unique_ptr<node>> nodes_;
  fault_plan plan_;
  std::vector<std::pair<std::set<node_index>, std::set<node_index>>> partitions_;
  std::vector<rewriter> rewriters_;
  std::map<caf::actor_addr, proxy_info> proxies_;               // proxy → what it stands for
  std::map<caf::actor_addr, node_index> origin_; // actors seen sending across the seam → node
  std::map<std::tuple<node_index, caf::actor_addr>, caf::actor> proxy_cache_; // (from, target)
  counters counters_;
  runtime::role_options role_options_;
};

} // namespace poe::testing
