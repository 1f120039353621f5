#pragma once
/// @file
/// The directory: the one actor each node publishes. It knows which roles run where, local
/// and remote, and connects the node to its peers.
///
/// For roles (all asynchronous; `ctx.directory` is the handle):
///
///     request(dir, t, lookup_atom, "storage")      -> std::vector<role_entry>
///     send(dir, subscribe_atom, "validator")        -> now and on every change:
///         (members_atom, std::string role, std::vector<role_entry> members)
///     request(dir, t, peers_atom)                   -> std::vector<peer_info>
///     send(dir, register_atom, role, handle)        (the supervisor does this for roles)
///
/// Between nodes the directory runs the identity handshake of peer_auth.hpp, announces its
/// local roles to every authenticated peer on each change, sends a heartbeat every
/// `net.heartbeat-interval` and drops a peer silent for `net.connection-timeout` (or whose
/// connection CAF reports down), then redials it with capped exponential backoff. Messages
/// between directories are one-way and carry their reply-to handles, so they work the same
/// through CAF's network and through the test harness's fault-injecting seam.
///
/// Identity is bound to the connection: a handshake completes only when its steps arrive on
/// the connection it began on, which is then bound to the proven node id (`registry`); an
/// announcement or heartbeat counts only for the node proven on the connection it came on,
/// and only with role handles that live on that node. Anything else is dropped and counted
/// (`peer_reject`, `poe_peer_rejected_total{reason}`).

#include "poe/core/keys.hpp"
#include "poe/runtime/log.hpp"
#include "poe/runtime/peer_auth.hpp"
#include "poe/runtime/peer_registry.hpp"
#include "poe/runtime/settings.hpp"

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>

#include <functional>
#include <memory>
#include <optional>

namespace poe::metrics {
struct node_metrics;
}

namespace poe::runtime {

/// The connection a message came on, from its sender (peer_registry.hpp): "local", "" (no
/// sender), or a key naming the remote end.
using connection_key = std::function<std::string(const caf::strong_actor_ptr& sender)>;

/// The real transport's key: CAF's id of the sender's node (one connection per remote node).
connection_key caf_connection_key(caf::actor_system& sys);

/// The node id (hex) the transport proved for the connection a sender's message came on — the
/// TLS peer certificate's key — or nullopt when it proved none.
using transport_proof =
  std::function<std::optional<std::string>(const caf::strong_actor_ptr& sender)>;

/// poe-node's over TLS: the certificate that holds the sender's CAF node id
/// (runtime/node/tls_bind.cpp binds each CAF node id to the certificate of its TLS session).
transport_proof caf_tls_proof(caf::actor_system& sys);

/// Dials `to` and calls `done` (in the directory's context) with the remote directory
/// handle or an error. The node's connector goes through CAF's middleman (TLS or plain);
/// the test harness's goes through its seam.
using connector = std::function<void(caf::event_based_actor* self, const endpoint& to,
                                     std::function<void(caf::actor, caf::error)> done)>;

struct directory_args {
  std::string node_id; ///< hex
  std::string node_name;
  std::shared_ptr<const private_key> key;
  std::string chain_id;
  peer_policy policy;
  std::vector<endpoint> peers; ///< dialled at start and redialled when lost
  net_settings net;
  std::uint64_t incarnation = 0; ///< random per process start
  connector connect;
  logger log;
  metrics::node_metrics* metrics = nullptr; ///< may be null
  /// Handshake nonces: random_nonce() (the OS's entropy) unless set; the harness sets a source
  /// seeded from its seed so that a run replays.
  std::function<bytes()> nonces;
  /// Connections bound to proven node ids (shared with the node's roles); required.
  std::shared_ptr<peer_registry> registry;
  /// Names the connection a message came on; required.
  connection_key connection_of;
  /// When set (poe-node over TLS), an identity handshake completes only if the node it proves
  /// is the one the transport proved on its connection: the handshake is bound to the TLS
  /// session (auth_reject::tls_mismatch otherwise).
  transport_proof transport;
};

caf::actor spawn_directory(caf::actor_system& sys, directory_args args);

} // namespace poe::runtime
