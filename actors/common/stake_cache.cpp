#include "stake_cache.hpp"

#include "poe/runtime/messages.hpp"
#include "poe/runtime/role_messages.hpp"
#include "storage_io.hpp"

#include <caf/all.hpp>

namespace poe::actors {

void stake_cache::check(caf::event_based_actor* self, const runtime::role_context& ctx,
                        const node_id& who, chain::stake_role role, callback then) {
  auto k = key{who, role};
  auto now = ctx.clock.now_ms();
  if (auto it = known_.find(k); it != known_.end() && now - it->second.read_ms < ttl_ms_)
    return then(it->second.units);
  auto& waiting = asking_[k];
  waiting.push_back(std::move(then));
  if (waiting.size() > 1) return; // asked already
  auto answer = [this, k, clock = ctx.clock](result<std::uint64_t> r) {
    auto node = asking_.extract(k);
    if (r) known_[k] = {*r, clock.now_ms()};
    if (known_.size() > 4096) known_.clear(); // bounded: stakers are few, junk ids are not kept
    if (node)
      for (auto& cb : node.mapped()) cb(r);
  };
  find_role(
    self, ctx.directory, "validator", ctx.node_id,
    [self, who, role, answer](caf::actor v) {
      self->request(v, std::chrono::seconds(5), runtime::account_atom::value, who.hex())
        .then([answer, role](const runtime::account_view& a) { answer(a.stake_of(role)); },
              [self, answer](caf::error& e) {
                answer(fail(errc::unavailable, "no stake read from the chain: " + self->system().render(e)));
              });
    },
    [answer](const std::string& why) {
      answer(fail(errc::unavailable, "no stake read from the chain: " + why));
    });
}

} // namespace poe::actors
