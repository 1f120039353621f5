#pragma once
/// @file
/// The node's supervisor actor: runs each role under `supervisor_state`'s policy.
///
/// - On start it spawns every role in order, monitors it and registers it with the directory.
/// - When a role exits it logs the reason, counts the restart (`poe_role_restarts_total`),
///   and restarts after the backoff; past the limit it stops every role and sends
///   `(failed_atom, reason)` to its owner.
/// - `(shutdown_atom)` (a request) stops the roles in reverse start order, each one finishing
///   (flushing) before the next is told, and then answers `(shutdown_atom)`.

#include "poe/runtime/log.hpp"
#include "poe/runtime/role.hpp"
#include "poe/runtime/supervisor_state.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <vector>

namespace poe::metrics {
struct node_metrics;
}

namespace poe::runtime {

struct supervisor_args {
  restart_policy policy;
  std::vector<role_info> roles; ///< in start order
  role_context base;            ///< copied per role, `role` and `log` filled in
  caf::actor owner;             ///< receives (failed_atom, std::string reason)
  logger log;
  metrics::node_metrics* metrics = nullptr; ///< may be null
};

caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_args args);

} // namespace poe::runtime
