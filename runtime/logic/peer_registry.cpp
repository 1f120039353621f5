// Connections bound to proven node ids (see peer_registry.hpp).
#include "poe/runtime/peer_registry.hpp"

namespace poe::runtime {

std::string_view to_string(peer_reject r) {
  switch (r) {
    case peer_reject::unattributed: return "unattributed";
    case peer_reject::claims_other_id: return "claims_other_id";
    case peer_reject::foreign_handle: return "foreign_handle";
    case peer_reject::wrong_connection: return "wrong_connection";
  }
  return "unknown";
}

void peer_registry::bind(const std::string& connection, const std::string& node) {
  if (connection.empty() || connection == local_connection) return;
  std::lock_guard<std::mutex> lock(mtx_);
  nodes_[connection] = node;
}

void peer_registry::unbind_node(const std::string& node) {
  std::lock_guard<std::mutex> lock(mtx_);
  for (auto i = nodes_.begin(); i != nodes_.end();)
    i = i->second == node ? nodes_.erase(i) : std::next(i);
}

std::optional<std::string> peer_registry::node_of(const std::string& connection) const {
  if (connection == local_connection) return self_;
  if (connection.empty()) return std::nullopt;
  std::lock_guard<std::mutex> lock(mtx_);
  auto i = nodes_.find(connection);
  if (i == nodes_.end()) return std::nullopt;
  return i->second;
}

void peer_registry::count(peer_reject why) {
  std::lock_guard<std::mutex> lock(mtx_);
  ++rejected_[why];
}

std::uint64_t peer_registry::rejected(peer_reject why) const {
  std::lock_guard<std::mutex> lock(mtx_);
  auto i = rejected_.find(why);
  return i == rejected_.end() ? 0 : i->second;
}

} // namespace poe::runtime
