#pragma once
// What the gateway's HTTP threads (gateway_http.cpp) and its actor (gateway_actor.cpp) share:
// the messages the threads send the actor, and the state they read without asking it.
//
// Messages (HTTP thread → actor; the actor refuses them from any other node):
//   (gw_prep, path) → "" once the body is in the cache, else "<status> <why>";
//   (gw_token, channel, viewer) → "" when the viewer pays that channel to this node, else
//     "<status> <reason> <why>";
//   (gw_paid, path, token) → "" when the token's lane paid through the segment's end (less the
//     credit; the segment is then counted as served in the session), else "402 <problem JSON>"
//     or "<status> <why>";
//   (gw_lane, token, commitment) → channel_ack, from the channel role;
//   (gw_ticks, token, indices, hashes) → vector<channel_ack>, from the channel role (ticks of
//     concurrent requests go in one ch_ticks message: while one is out, the next gathers).
#include "poe/core/types.hpp"
#include "poe/runtime/metrics.hpp"
#include "poe/runtime/role.hpp"
#include "body_cache.hpp"
#include "hls_state.hpp"

#include <caf/atom.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace poe::actors::gw {

using prepare_atom = caf::atom_constant<caf::atom("gw_prep")>;
using token_atom = caf::atom_constant<caf::atom("gw_token")>;
using paid_atom = caf::atom_constant<caf::atom("gw_paid")>;
using lane_atom = caf::atom_constant<caf::atom("gw_lane")>;
using ticks_atom = caf::atom_constant<caf::atom("gw_ticks")>;

/// A playback receipt as the session's viewer may read it.
struct receipt_note {
  std::string id; ///< hex, what `poe-cli receipt prove` takes
  std::uint32_t sequence = 0;
  std::uint64_t seconds = 0;
  std::uint32_t ticks = 0, segments = 0;
  std::string status; ///< "submitted", "accepted", "refused: <why>"
};
struct session_note {
  std::string id;
  std::uint32_t ticks = 0;
  std::size_t segments = 0;
  std::uint64_t started_ms = 0, last_ms = 0;
  bool ended = false;
  std::vector<receipt_note> receipts;
};

/// A published content as applications list it (GET /api/v1/content).
struct content_note {
  std::string job;
  node_id owner, verifier;
  std::uint64_t price = 0;
  std::size_t outputs = 0, segments = 0;
  std::vector<std::string> renditions;
  std::vector<gateway::variant> variants; ///< known once its master playlist was made
  std::int64_t duration_ms = 0;           ///< likewise
};

struct edge {
  runtime::role_clock clock;
  std::string chain_id;
  node_id gateway; ///< this node
  std::shared_ptr<gateway::body_cache> cache;
  std::string web_dir; ///< the player page's files (gateway.web-dir)

  std::mutex m; ///< guards what follows
  std::map<hash256, std::uint64_t> price; ///< per second; 0: free (no token needed)
  /// Tokens whose signature and channel were checked: token → (its content, not_after_ms).
  std::map<std::string, std::pair<hash256, std::uint64_t>> tokens;
  std::map<std::string, session_note> sessions; ///< by session id (hex)
  std::map<hash256, content_note> contents;

  std::map<std::string, std::shared_ptr<metrics::counter>> refused; ///< by reason
  std::shared_ptr<metrics::counter> requests_ok, requests_partial, requests_payment, requests_client_error,
    requests_not_found, requests_unavailable, bytes_sent, cache_misses;
};

} // namespace poe::actors::gw
