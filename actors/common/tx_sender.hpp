#pragma once
// A role's own transactions (signed with the node key), sent to the validator it follows one
// at a time. The account nonce is asked of that validator before the first send, and again
// after a nonce refusal, a failed send, or an outstanding transaction that no block took
// within `give_up_blocks`. A transaction is outstanding from the validator's acceptance until
// a pushed block includes it (`on_block`): the role decides its next transaction from the
// chain state that includes the last, so it never sends the same payment twice.
//
// The roles of one node share its account: two roles sending at once may race for a nonce;
// the loser is refused (bad or stale nonce), asks again and resends on its next turn.

#include "poe/chain/transaction.hpp"
#include "poe/runtime/role.hpp"

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace poe::actors {

class tx_sender {
public:
  /// `taken`: the validator accepted it (or knew it); `text`: its answer or the failure.
  using done_fn = std::function<void(bool taken, const std::string& text)>;

  explicit tx_sender(std::uint64_t give_up_blocks = 20) : give_up_blocks_(give_up_blocks) {}

  /// A send in flight, or a transaction accepted and not yet in a block.
  bool busy() const { return in_flight_ || outstanding_.has_value(); }

  /// Signs `body` (fee `fee`) with the node key and sends it to `validator`; `done` runs on
  /// the actor with the answer. Only when not busy().
  void send(caf::event_based_actor* self, const runtime::role_context& ctx, const caf::actor& validator,
            chain::tx_body body, amount fee, done_fn done);

  /// A finalized block at `height` with these encoded transactions: the outstanding one is
  /// done when among them; given up after give_up_blocks blocks.
  void on_block(std::uint64_t height, const std::vector<bytes>& transactions);

private:
  void sign_and_send(caf::event_based_actor* self, const runtime::role_context& ctx,
                     const caf::actor& validator, chain::tx_body body, amount fee, done_fn done);

  std::uint64_t give_up_blocks_;
  std::optional<std::uint64_t> nonce_;
  bool in_flight_ = false;
  std::optional<hash256> outstanding_;
  std::uint64_t outstanding_since_ = 0;
  std::uint64_t height_ = 0;
};

} // namespace poe::actors
