// The supervisor actor: a thin adapter that turns CAF down messages into
// supervisor_state::on_exit calls and carries out the decisions.
#include "poe/runtime/supervisor.hpp"

#include "poe/runtime/messages.hpp"
#include "poe/runtime/metrics.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <map>

namespace poe::runtime {

namespace {

struct child_slot {
  role_info info;
  caf::actor handle;
};

struct supervisor_data {
  explicit supervisor_data(supervisor_args a) : args(std::move(a)), state(args.policy) {}
  supervisor_args args;
  supervisor_state state;
  std::map<std::string, child_slot> children;
  caf::response_promise shutdown_promise;
  std::vector<std::string> shutdown_queue; // names still to stop, last first
};

instant now(caf::event_based_actor* self) {
  return std::chrono::duration_cast<instant>(self->clock().now().time_since_epoch());
}

void start_child(caf::event_based_actor* self, supervisor_data& d, const std::string& name) {
  auto& slot = d.children.at(name);
  auto ctx = d.args.base;
  ctx.role = name;
  ctx.log = child_logger(d.args.log, ctx.node_name, name);
  // Each role draws from its own stream: the node's seed mixed with the role's name.
  ctx.seed = d.args.base.seed ^ (std::hash<std::string>{}(name) * 0x9e3779b97f4a7c15ULL);
  std::shared_ptr<metrics::counter> handled;
  if (d.args.metrics) // non-owning: node_metrics outlives every role
    handled = std::shared_ptr<metrics::counter>(std::shared_ptr<metrics::counter>{},
                                                &d.args.metrics->messages_handled(name));
  slot.handle = spawn_role(self->system(), slot.info, std::move(ctx), std::move(handled));
  self->monitor(slot.handle);
  d.state.on_started(name);
  if (d.args.metrics) d.args.metrics->role_running(name).set(1);
  if (d.args.base.directory)
    self->send(d.args.base.directory, register_atom::value, name, slot.handle);
  d.args.log->debug("started role '{}'", name);
}

void stop_next(caf::event_based_actor* self, supervisor_data& d) {
  while (!d.shutdown_queue.empty()) {
    auto name = d.shutdown_queue.back();
    auto& slot = d.children.at(name);
    if (slot.handle) {
      d.args.log->info("stopping role '{}'", name);
      self->send_exit(slot.handle, caf::exit_reason::user_shutdown);
      return; // continue when its down message arrives
    }
    d.shutdown_queue.pop_back();
  }
  if (d.shutdown_promise.pending()) d.shutdown_promise.deliver(shutdown_atom::value);
}

} // namespace

caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_args args) {
  return sys.spawn([args = std::move(args)](caf::event_based_actor* self) mutable {
    auto d = std::make_shared<supervisor_data>(std::move(args));
    for (auto& r : d->args.roles) {
      if (d->args.metrics) d->args.metrics->role_restarts(r.name); // exported from 0 on
      d->state.add_child(r.name);
      d->children.emplace(r.name, child_slot{r, caf::actor{}});
    }
    for (auto& name : d->state.children())
      start_child(self, *d, name);
    // Children do not outlive their supervisor.
    self->attach_functor([d] {
      for (auto& [_, slot] : d->children)
        if (slot.handle) caf::anon_send_exit(slot.handle, caf::exit_reason::kill);
    });
    self->set_down_handler([self, d](caf::down_msg& dm) {
      std::string name;
      for (auto& [n, slot] : d->children)
        if (slot.handle && slot.handle.address() == dm.source) name = n;
      if (name.empty()) return; // a stale handle from before a restart
      d->children.at(name).handle = nullptr;
      if (d->args.metrics) d->args.metrics->role_running(name).set(0);
      auto why = describe_exit(self->system(), dm.reason);
      auto decision = d->state.on_exit(name, why, now(self));
      using action = restart_decision::action;
      switch (decision.what) {
        case action::ignore:
          if (!d->shutdown_queue.empty() && d->shutdown_queue.back() == name) {
            d->args.log->info("role '{}' stopped ({})", name, why);
            d->shutdown_queue.pop_back();
            stop_next(self, *d);
          }
          return;
        case action::restart:
          d->args.log->warn("restarting: {}", decision.reason);
          for (auto& n : decision.stop)
            if (auto& h = d->children.at(n).handle) self->send_exit(h, caf::exit_reason::kill);
          for (auto& n : decision.start)
            if (d->args.metrics) d->args.metrics->role_restarts(n).inc();
          self->delayed_send(self, decision.delay, restart_atom::value, decision.start);
          return;
        case action::escalate:
          d->args.log->error("giving up: {}", decision.reason);
          for (auto& n : decision.stop)
            if (auto& h = d->children.at(n).handle) self->send_exit(h, caf::exit_reason::kill);
          if (d->args.owner) self->send(d->args.owner, failed_atom::value, decision.reason);
          return;
      }
    });
    return caf::behavior{
      [self, d](restart_atom, const std::vector<std::string>& names) {
        if (d->state.shutting_down()) return;
        for (auto& n : names)
          if (!d->children.at(n).handle) start_child(self, *d, n);
      },
      [self, d](shutdown_atom) -> caf::response_promise {
        d->state.begin_shutdown();
        d->shutdown_promise = self->make_response_promise();
        d->shutdown_queue = d->state.children(); // stopped from the back: reverse order
        stop_next(self, *d);
        return d->shutdown_promise;
      },
      [d](status_atom) {
        std::vector<std::string> running;
        for (auto& n : d->state.children())
          if (d->state.running(n)) running.push_back(n);
        return running;
      },
    };
  });
}

} // namespace poe::runtime
