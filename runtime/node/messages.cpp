#include "poe/runtime/messages.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>

namespace poe::runtime {

void register_messages(caf::actor_system_config& cfg) {
  // Runtime (this issue).
  cfg.add_message_type<role_entry>("poe.role_entry");
  cfg.add_message_type<std::vector<role_entry>>("std::vector<poe.role_entry>");
  cfg.add_message_type<peer_hello>("poe.peer_hello");
  cfg.add_message_type<peer_welcome>("poe.peer_welcome");
  cfg.add_message_type<peer_proof>("poe.peer_proof");
  cfg.add_message_type<peer_refusal>("poe.peer_refusal");
  cfg.add_message_type<role_announcement>("poe.role_announcement");
  cfg.add_message_type<peer_info>("poe.peer_info");
  cfg.add_message_type<std::vector<peer_info>>("std::vector<poe.peer_info>");
  cfg.add_message_type<std::vector<std::uint8_t>>("std::vector<uint8_t>");
  cfg.add_message_type<std::vector<std::vector<std::uint8_t>>>(
    "std::vector<std::vector<uint8_t>>");
  // std::vector<std::string> is one of CAF's builtin types (@strvec).
}

std::vector<caf::message> message_samples() {
  std::vector<std::uint8_t> b{1, 2, 3, 255};
  role_entry e{"storage", "ab12", caf::actor{}};
  role_announcement ann{"ab12", 7, 3, {e, role_entry{"validator", "cd34", caf::actor{}}}};
  return {
    caf::make_message(e),
    caf::make_message(std::vector<role_entry>{e, e}),
    caf::make_message(peer_hello{"poe-devnet", b, b, caf::actor{}}),
    caf::make_message(peer_welcome{"poe-devnet", b, b, b, b, caf::actor{}}),
    caf::make_message(peer_proof{b, b, ann}),
    caf::make_message(peer_refusal{b, "not_allowed: reason"}),
    caf::make_message(ann),
    caf::make_message(peer_info{"ab12", "127.0.0.1:7100", true, 3}),
    caf::make_message(std::vector<peer_info>{peer_info{"ab12", "inbound", false, 1}}),
    caf::make_message(b),
    caf::make_message(std::vector<std::vector<std::uint8_t>>{b, b}),
    caf::make_message(std::vector<std::string>{"a", "b"}),
  };
}

} // namespace poe::runtime
