#pragma once
/// @file
/// Roles: what a node can run. A role is a name plus a behavior function; the supervisor
/// spawns it as a `role_actor`, which counts the messages it handles and turns an exception
/// into an exit reason that keeps the exception's message.
///
/// Writing a role (see actors/probe/ for a complete one):
///
///     role_info my_role() {
///       return {"storage", "content-addressed media store",
///               [](caf::event_based_actor* self, const role_context& ctx) -> caf::behavior {
///                 auto st = std::make_shared<my_state>(ctx);   // state lives in the closure
///                 self->send(ctx.directory, register_atom::value, ...); // not needed: the
///                 // supervisor registers every role with the directory itself
///                 return { [st](some_atom, int x) { ... } };
///               }};
///     }
///
/// On shutdown a role receives an exit message with reason `user_shutdown`; a role with
/// something to flush sets an exit handler (`self->set_exit_handler`) and quits after it.

#include "poe/runtime/log.hpp"
#include "poe/runtime/peer_registry.hpp"
#include "poe/runtime/settings.hpp"

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace poe {
class private_key;
namespace metrics {
class factory;
struct counter;
} // namespace metrics
namespace store {
class db;
} // namespace store
} // namespace poe

namespace poe::runtime {

/// Time for roles, which never read a clock themselves (a test checks actors/ for it): poe-node
/// hands them the system clock, the deterministic harness the test scheduler's simulated time,
/// so a harness run replays from its seed. Copyable; safe to call from any thread.
class role_clock {
public:
  using wall_fn = std::function<std::uint64_t()>;
  using mono_fn = std::function<std::chrono::nanoseconds()>;
  /// The system clock (wall) and std::chrono::steady_clock (monotonic).
  role_clock();
  role_clock(wall_fn wall_ms, mono_fn monotonic)
    : wall_(std::move(wall_ms)), mono_(std::move(monotonic)) {}
  /// Milliseconds since the Unix epoch: block timestamps, receipts, stored-at times.
  std::uint64_t now_ms() const { return wall_(); }
  /// A monotonic reading (arbitrary origin): latencies and ages.
  std::chrono::nanoseconds monotonic() const { return mono_(); }
  /// Seconds from `since` (a monotonic reading) to now.
  double seconds_since(std::chrono::nanoseconds since) const {
    return std::chrono::duration<double>(monotonic() - since).count();
  }

private:
  wall_fn wall_;
  mono_fn mono_;
};

/// What a role gets from its node. Copyable; every pointer outlives the role.
struct role_context {
  std::string role;      ///< this role's name
  std::string node_name; ///< operator label (node.name)
  std::string node_id;   ///< hex node id
  std::string chain_id;
  std::shared_ptr<const private_key> key; ///< the node key (signing)
  caf::actor directory;                   ///< lookups and subscriptions (directory.hpp)
  /// Connections bound to proven node ids (the directory's; peer_registry.hpp) and how to
  /// name the connection a message came on: see `sender_node`.
  std::shared_ptr<const peer_registry> peers;
  std::function<std::string(const caf::strong_actor_ptr&)> connection_of;
  logger log;                             ///< named "<node>/<role>"
  metrics::factory* metrics = nullptr;    ///< never null: a no-op factory by default
  store::db* store = nullptr; ///< the node's store; the role's column family is its name
  std::shared_ptr<const node_settings> settings;
  role_clock clock;       ///< the only time a role reads
  std::uint64_t seed = 0; ///< seeds the role's random source (per node and role; see rng())

  /// The node proven on the connection `sender` (e.g. `self->current_sender()`) came on: this
  /// node's id for its own actors, nullopt for a sender no connection proves. Roles authorize
  /// by this, never by an id written in a message.
  std::optional<std::string> sender_node(const caf::strong_actor_ptr& sender) const {
    if (!peers || !connection_of) return std::nullopt;
    return peers->node_of(connection_of(sender));
  }

  /// A random source seeded for this role: poe-node seeds each node from the OS at start, the
  /// harness from its seed, so a harness run draws the same numbers every time.
  std::mt19937_64 rng() const { return std::mt19937_64{seed}; }

  /// The roles' options, typed and checked once at start (role_options.hpp); the defaults
  /// without settings.
  const role_options& options() const {
    static const role_options defaults;
    return settings ? settings->options : defaults;
  }
};

using role_body = std::function<caf::behavior(caf::event_based_actor*, const role_context&)>;

struct role_info {
  std::string name;
  std::string summary;
  role_body body;              ///< empty: known but not in this build
  std::string unavailable_why; ///< when `body` is empty, says when it arrives
};

/// Name → role. A node validates `node.roles` against it; tests build their own.
class role_registry {
public:
  void add(role_info info);
  const role_info* find(const std::string& name) const;
  /// Every known name, in registration order.
  std::vector<std::string> names() const;

private:
  std::vector<role_info> roles_;
};

/// The actor type every role runs as.
class role_actor : public caf::event_based_actor {
public:
  role_actor(caf::actor_config& cfg, role_body body, role_context ctx,
             std::shared_ptr<metrics::counter> handled);
  caf::behavior make_behavior() override;
  caf::invoke_message_result consume(caf::mailbox_element& x) override;
  const char* name() const override { return name_.c_str(); }

private:
  role_body body_;
  role_context ctx_;
  std::shared_ptr<metrics::counter> handled_;
  std::string name_;
};

/// Spawns `info` as a role actor (not yet monitored).
caf::actor spawn_role(caf::actor_system& sys, const role_info& info, role_context ctx,
                      std::shared_ptr<metrics::counter> handled);

/// Renders an exit reason for logs: an exception's message when there is one, CAF's
/// rendering otherwise.
std::string describe_exit(caf::actor_system& sys, const caf::error& reason);

} // namespace poe::runtime
