#pragma once
/// @file
/// Which proven node each connection belongs to (no CAF include). The directory binds a
/// connection to a node id when the identity handshake (peer_auth.hpp) completes on it, and
/// unbinds it when the peer is lost; every message a node receives is attributed through it to
/// the node proven on the connection it came on, never to an id written in the message.
///
/// A connection is named by a key the transport gives (`connection_of` in directory_args and
/// role_context): CAF's node id of the remote process behind the TLS connection in poe-node
/// (CAF keeps one connection per remote node), the sending node's index in the test harness;
/// "local" for this process's own actors and "" for a message nobody can be held to (an
/// anonymous send). Thread-safe: the directory writes, roles read.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace poe::runtime {

/// The connection key of this process's own actors.
inline constexpr std::string_view local_connection = "local";

/// Why a peer's message was refused (`poe_peer_rejected_total{reason}`).
enum class peer_reject : std::uint8_t {
  unattributed,    ///< it came on no authenticated connection (or anonymously)
  claims_other_id, ///< it names a node other than the one proven on its connection
  foreign_handle,  ///< it announces a role handle that lives on another node
  wrong_connection ///< a handshake step arrived on another connection than the one it began on
};
std::string_view to_string(peer_reject r);

class peer_registry {
public:
  explicit peer_registry(std::string self) : self_(std::move(self)) {}

  /// `connection` now belongs to `node` (hex id).
  void bind(const std::string& connection, const std::string& node);
  /// Forgets every connection of `node`.
  void unbind_node(const std::string& node);
  /// The node proven on `connection`: this node for local senders, nullopt when none is.
  std::optional<std::string> node_of(const std::string& connection) const;

  void count(peer_reject why);
  std::uint64_t rejected(peer_reject why) const;

private:
  std::string self_;
  mutable std::mutex mtx_;
  std::map<std::string, std::string> nodes_; ///< connection → node id (hex)
  std::map<peer_reject, std::uint64_t> rejected_;
};

} // namespace poe::runtime
