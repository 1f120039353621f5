#pragma once
// Stakes as the chain reports them, for roles that act on another node's signature only when
// that node has stake at risk (executors on a verifier's tasks, builders on its receipts).
//
// `check(self, who, role, then)` calls `then` with the stake `who` holds in `role`: from the
// cache when read within `ttl_ms` (role clock), otherwise asked of a validator (found through
// the directory, this node's own first). Concurrent checks of one node share one question; a
// failed question is not cached (the next check asks again). Stake leaves only after the
// unbonding period, so an answer a few seconds old still names stake that can be slashed.

#include "poe/chain/transaction.hpp"
#include "poe/core/error.hpp"
#include "poe/runtime/role.hpp"

#include <caf/event_based_actor.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace poe::actors {

class stake_cache {
public:
  using callback = std::function<void(result<std::uint64_t>)>;

  explicit stake_cache(std::uint64_t ttl_ms = 10'000) : ttl_ms_(ttl_ms) {}

  void check(caf::event_based_actor* self, const runtime::role_context& ctx, const node_id& who,
             chain::stake_role role, callback then);

private:
  struct entry {
    std::uint64_t units = 0;
    std::uint64_t read_ms = 0;
  };
  using key = std::pair<node_id, chain::stake_role>;
  std::uint64_t ttl_ms_;
  std::map<key, entry> known_;
  std::map<key, std::vector<callback>> asking_;
};

} // namespace poe::actors
