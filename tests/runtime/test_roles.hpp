#pragma once
// Roles used by the runtime tests: `worker` answers pings and throws on request.
#include "poe/runtime/messages.hpp"
#include "poe/runtime/role.hpp"

#include <caf/all.hpp>

#include <stdexcept>

namespace poe::test {

using crash_atom = caf::atom_constant<caf::atom("t_crash")>;

inline runtime::role_info worker_role(std::string name = "worker") {
  return {name, "test role",
          [](caf::event_based_actor*, const runtime::role_context&) -> caf::behavior {
            return {
              [](runtime::ping_atom, std::uint64_t n) { return n + 1; },
              [](crash_atom, const std::string& what) { throw std::runtime_error(what); },
            };
          },
          {}};
}

/// Short heartbeats, timeouts and backoff so simulated runs settle in a few seconds.
inline runtime::net_settings fast_net() {
  using namespace std::chrono_literals;
  runtime::net_settings n;
  n.heartbeat_interval = 200ms;
  n.connection_timeout = 700ms;
  n.reconnect_initial = 100ms;
  n.reconnect_max = 1s;
  n.handshake_timeout = 1s;
  return n;
}

} // namespace poe::test
