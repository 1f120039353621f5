// The probe role: ping (round trips), echo (any registered message, for the type round-trip
// test), sink/count (one-way throughput). Stateless apart from a counter.
#include "poe/actors/roles.hpp"
#include "poe/runtime/messages.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <stdexcept>

namespace poe::actors {

using namespace poe::runtime;

runtime::role_info probe_role() {
  return {"probe", "diagnostics: ping, echo, one-way sink (devnet status, benchmarks)",
          [](caf::event_based_actor* self, const role_context& ctx) -> caf::behavior {
            if (caf::get_or(self->system().config(), "probe.crash-on-start", false))
              throw std::runtime_error("probe.crash-on-start is set (fault drill)");
            auto received = std::make_shared<std::uint64_t>(0);
            auto bytes = std::make_shared<std::uint64_t>(0);
            ctx.log->debug("probe ready");
            return {
              [](ping_atom, std::uint64_t n) { return n; },
              // The echo is wrapped (echo_atom, message) so a client can match it whole.
              [](echo_atom, caf::message& m) {
                return caf::make_message(echo_atom::value, std::move(m));
              },
              [received, bytes](sink_atom, const std::vector<std::uint8_t>& payload) {
                ++*received;
                *bytes += payload.size();
              },
              [received, bytes](sink_atom,
                                const std::vector<std::vector<std::uint8_t>>& batch) {
                *received += batch.size();
                for (auto& p : batch)
                  *bytes += p.size();
              },
              [received](count_atom) { return *received; },
            };
          },
          {}};
}

runtime::role_registry builtin_roles() {
  runtime::role_registry r;
  r.add(probe_role());
  r.add(validator_role());
  r.add(storage_role());
  r.add(execution_role());
  r.add(verifier_role());
  r.add(builder_role());
  r.add(rent_role());
  r.add(channel_role());
  r.add(gateway_role());
  return r;
}

} // namespace poe::actors
