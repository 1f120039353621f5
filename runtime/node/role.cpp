#include "poe/runtime/role.hpp"

#include "poe/runtime/metrics.hpp"

#include <caf/actor_system.hpp>
#include <caf/invoke_message_result.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/sec.hpp>

#include <exception>

namespace poe::runtime {

role_clock::role_clock()
  : wall_([] {
      return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
    }),
    mono_([] { return std::chrono::steady_clock::now().time_since_epoch(); }) {}

void role_registry::add(role_info info) {
  for (auto& r : roles_)
    if (r.name == info.name) {
      r = std::move(info);
      return;
    }
  roles_.push_back(std::move(info));
}

const role_info* role_registry::find(const std::string& name) const {
  for (auto& r : roles_)
    if (r.name == name) return &r;
  return nullptr;
}

std::vector<std::string> role_registry::names() const {
  std::vector<std::string> out;
  for (auto& r : roles_)
    out.push_back(r.name);
  return out;
}

role_actor::role_actor(caf::actor_config& cfg, role_body body, role_context ctx,
                       std::shared_ptr<metrics::counter> handled)
  : caf::event_based_actor(cfg),
    body_(std::move(body)),
    ctx_(std::move(ctx)),
    handled_(std::move(handled)),
    name_("poe." + ctx_.role) {
  // Keep the exception's message: CAF's default handler reduces it to `runtime_error`.
  set_exception_handler([](caf::scheduled_actor*, std::exception_ptr& eptr) -> caf::error {
    try {
      std::rethrow_exception(eptr);
    } catch (const std::exception& e) {
      return caf::make_error(caf::sec::runtime_error, std::string{e.what()});
    } catch (...) {
      return caf::make_error(caf::sec::runtime_error, std::string{"unknown exception"});
    }
  });
}

caf::behavior role_actor::make_behavior() {
  return body_(this, ctx_);
}

caf::invoke_message_result role_actor::consume(caf::mailbox_element& x) {
  auto res = caf::event_based_actor::consume(x);
  if (res == caf::invoke_message_result::consumed && handled_) handled_->inc();
  return res;
}

caf::actor spawn_role(caf::actor_system& sys, const role_info& info, role_context ctx,
                      std::shared_ptr<metrics::counter> handled) {
  return sys.spawn<role_actor>(info.body, std::move(ctx), std::move(handled));
}

std::string describe_exit(caf::actor_system& sys, const caf::error& reason) {
  if (!reason) return "normal exit";
  auto& ctx = reason.context();
  if (reason.category() == caf::atom("system") &&
      reason.code() == static_cast<uint8_t>(caf::sec::runtime_error) &&
      ctx.match_elements<std::string>())
    return "exception: " + ctx.get_as<std::string>(0);
  if (reason == caf::exit_reason::user_shutdown) return "shut down";
  if (reason == caf::exit_reason::kill) return "killed";
  return sys.render(reason);
}

} // namespace poe::runtime
