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

} // namespace poe::test
