#pragma once
// Who owns what a peer stores or submits: owners are node ids, proven by the connection.

#include "poe/core/error.hpp"

#include <optional>
#include <string>

namespace poe::actors {

/// The owner recorded when `from` (the node proven on the connection; this node's own id for
/// its own roles and its operator's key) names `claimed` ("" for none): this node's roles act
/// for whoever they name (an executor stores outputs for the task's verifier); a peer only as
/// itself. "" from a peer means itself.
inline result<std::string> owner_for(const std::optional<std::string>& from, const std::string& self_id,
                                     const std::string& claimed) {
  if (!from) return fail(errc::verify_failed, "not_authorized: the sender is not a proven peer");
  if (*from == self_id) return claimed.empty() ? *from : claimed;
  if (claimed.empty() || claimed == *from) return *from;
  return fail(errc::verify_failed, "not_authorized: node " + from->substr(0, 12) +
                                     " may act only as itself (owner = its node id), not as '" + claimed + "'");
}

} // namespace poe::actors
