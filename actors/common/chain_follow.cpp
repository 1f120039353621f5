#include "chain_follow.hpp"

#include <caf/all.hpp>

namespace poe::actors {

using namespace poe::runtime;

namespace {
constexpr auto subscribe_timeout = std::chrono::seconds(5);
constexpr auto retry_delay = std::chrono::seconds(1);
} // namespace

void chain_follower::members(caf::event_based_actor* self, const role_context& ctx,
                             const std::vector<role_entry>& validators) {
  validators_ = validators;
  for (auto& v : validators_)
    if (v.handle == validator_) return; // ours is still there
  validator_ = {};
  subscribe(self, ctx);
}

bool chain_follower::take(caf::event_based_actor* self, const role_context& ctx,
                          const chain_block& b) {
  if (last_ == chain_from_tip || b.height == last_ + 1) {
    last_ = b.height;
    return true;
  }
  if (b.height > last_ + 1) {
    ctx.log->info("chain: block {} arrived after {}: subscribing again from {}", b.height, last_,
                  last_);
    validator_ = {};
    subscribe(self, ctx);
  }
  return false;
}

void chain_follower::subscribe(caf::event_based_actor* self, const role_context& ctx) {
  if (!validator_) {
    for (auto& v : validators_)
      if (v.node == ctx.node_id) validator_ = v.handle;
    if (!validator_ && !validators_.empty()) validator_ = validators_.front().handle;
  }
  if (!validator_) return; // the next membership push brings one
  auto attempt = ++attempt_;
  auto v = validator_;
  self->request(v, subscribe_timeout, chain_sub_atom::value, last_,
                caf::actor_cast<caf::actor>(self))
    .then(
      [this, attempt](const chain_status& st) {
        if (attempt == attempt_) on_status_(st);
      },
      [this, self, ctx, attempt, v](caf::error& e) {
        if (attempt != attempt_) return;
        ctx.log->info("chain: no subscription yet ({}); trying again", self->system().render(e));
        // Another validator next time, if the directory lists one.
        if (validators_.size() > 1)
          for (auto& x : validators_)
            if (x.handle != v) {
              validator_ = x.handle;
              break;
            }
        self->delayed_send(self, retry_delay, chain_retry_atom::value);
      });
}

} // namespace poe::actors
