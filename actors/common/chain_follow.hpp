#pragma once
// A role's subscription to the chain: validators push every finalized block (chain_block) to
// their subscribers; nobody polls. The follower picks a validator from the directory's
// membership pushes (this node's own first), subscribes above the last height the role took,
// and subscribes again — from that height — when its validator leaves the directory, does not
// answer, or a pushed block skips a height.
//
// A role using it:
//   - sends (subscribe_atom, "validator") to its directory at start;
//   - passes (members_atom, "validator", members) to `members`;
//   - calls `take` first in its chain_block handler and handles the block only when it says so;
//   - handles (chain_retry_atom) by calling `subscribe`.

#include "poe/runtime/messages.hpp"
#include "poe/runtime/role.hpp"

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>

#include <cstdint>
#include <functional>
#include <vector>

namespace poe::actors {

using chain_retry_atom = caf::atom_constant<caf::atom("ch_retry")>;

class chain_follower {
public:
  /// `last`: the last height the role has taken (0: from the first block on;
  /// runtime::chain_from_tip: no history, from the current tip on).
  /// `on_status`: the validator's chain_status, at every (re)subscription.
  chain_follower(std::uint64_t last, std::function<void(const runtime::chain_status&)> on_status)
    : last_(last), on_status_(std::move(on_status)) {}

  /// The directory's validators changed: (re)subscribes when ours left or none was chosen.
  void members(caf::event_based_actor* self, const runtime::role_context& ctx,
               const std::vector<runtime::role_entry>& validators);
  /// Whether the role takes `b` now (the next height in order). A duplicate or an old block is
  /// not taken; a skipped height is not taken and subscribes again from the last one taken.
  bool take(caf::event_based_actor* self, const runtime::role_context& ctx,
            const runtime::chain_block& b);
  /// Subscribes to the chosen validator (again) from the last height taken.
  void subscribe(caf::event_based_actor* self, const runtime::role_context& ctx);

  std::uint64_t last() const { return last_; }
  bool subscribed() const { return static_cast<bool>(validator_); }
  /// The validator subscribed to (for the role's own questions: accounts, blocks).
  const caf::actor& validator() const { return validator_; }

private:
  std::uint64_t last_;
  std::function<void(const runtime::chain_status&)> on_status_;
  std::vector<runtime::role_entry> validators_;
  caf::actor validator_;
  std::uint64_t attempt_ = 0; ///< answers to older subscriptions are ignored
};

} // namespace poe::actors
