#pragma once
// The gateway role's state and what its files share (internal to actors/gateway):
// gateway_actor.cpp (content, playlists, segments, the behavior) and gateway_sessions.cpp
// (playback sessions: the seconds paid, ticks to the channel role, playback receipts).
#include "poe/chain/playback.hpp"
#include "poe/runtime/messages.hpp"
#include "poe/runtime/metrics.hpp"
#include "poe/runtime/role.hpp"
#include "body_cache.hpp"
#include "chain_follow.hpp"
#include "gateway_api.hpp"
#include "gateway_edge.hpp"
#include "hls_state.hpp"
#include "http_server.hpp"
#include "offload.hpp"
#include "session_state.hpp"

#include <caf/all.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace poe::actors::gw_role {

using namespace poe::runtime;

using gw_collect_atom = caf::atom_constant<caf::atom("gw_poll")>;
using gw_clock_atom = caf::atom_constant<caf::atom("gw_clock")>;
using bytes_t = std::vector<std::uint8_t>;
inline constexpr const char* cf = "gateway";
inline constexpr auto session_tick = std::chrono::seconds(1);

inline bytes key_of(char kind, byte_view rest) {
  bytes k{static_cast<std::uint8_t>(kind), '/'};
  k.insert(k.end(), rest.begin(), rest.end());
  return k;
}

/// Viewers' ticks waiting for the channel role: while one ch_ticks is out, the next batch
/// gathers (group commit), so a busy gateway sends few large messages and an idle one at once.
struct tick_batch {
  std::vector<bytes_t> records;                 ///< channel ‖ u32 lane ‖ u32 index ‖ w
  struct tick_of {
    hash256 session;
    std::uint32_t index = 0;
    hash256 w;
  };
  std::vector<tick_of> of; ///< what each record pays, for its session
  std::vector<std::pair<caf::response_promise, std::size_t>> waiting; ///< (promise, records)
};

struct gstate {
  role_context ctx;
  std::shared_ptr<gw::edge> edge = std::make_shared<gw::edge>();
  std::map<std::pair<hash256, node_id>, bool> payers; ///< (channel, viewer): checked on chain
  std::unique_ptr<chain_follower> chain;
  std::map<hash256, chain::job_output> contents;
  std::map<std::string, gateway::segment_facts> facts; ///< by segment CID
  std::shared_ptr<gateway::body_cache> cache;
  std::map<std::string, std::vector<caf::response_promise>> waiting; ///< by path
  caf::actor channel; ///< this node's channel role (ticks and the seconds paid)
  std::uint64_t credit_seconds = 4;
  std::unique_ptr<offload> work;
  bool polling = false;
  gw::api_ptr api; ///< the application API's uploads and jobs (gateway_api.hpp)
  std::shared_ptr<gw::http_server> http;
  // Sessions and their playback receipts.
  gateway::playback_sessions sessions;
  tick_batch ticks;
  bool ticks_out = false; ///< a ch_ticks message is out
  std::map<std::string, bytes> queued; ///< receipts (id hex → attested) not yet taken by a builder
  bool submitting = false;
  std::uint64_t next_submit_ms = 0;
  std::shared_ptr<metrics::counter> ticks_relayed, ticks_batches, receipts_made, receipts_taken, corrupt;
};
using state_ptr = std::shared_ptr<gstate>;

// -- gateway_sessions.cpp ------------------------------------------------------------------

/// The session of a request under `token_text` (checked by the HTTP edge before it asked).
gateway::session* session_of(const state_ptr& s, const std::string& token_text);
/// The viewer-visible summary of `x` in the edge (GET /t/<token>/session), with a receipt
/// just made.
void note(const state_ptr& s, const gateway::session& x, const gateway::due_receipt* made = nullptr,
          const std::string& status = "submitted");
/// Makes the receipts due (signed, stored, queued) and offers the queue to a builder.
void make_receipts(caf::event_based_actor* self, const state_ptr& s);
/// (gw_paid, path, token): "" when the token's lane paid through the segment's end (less the
/// credit; the segment then counts as served in the session), else "402 <problem JSON>" or
/// "<status> <why>".
caf::result<std::string> paid(caf::event_based_actor* self, const state_ptr& s, const std::string& key,
                              const std::string& token_text);
/// (gw_lane, token, commitment): the channel role's answer, the session committed when it took it.
caf::result<channel_ack> commit_lane(caf::event_based_actor* self, const state_ptr& s, const std::string& token_text,
                                     const bytes_t& raw);
/// (gw_ticks, token, indices, hashes): gathered for the next ch_ticks batch; the acks.
caf::result<std::vector<channel_ack>> take_ticks(caf::event_based_actor* self, const state_ptr& s,
                                                 const std::string& token_text,
                                                 const std::vector<std::uint32_t>& indices,
                                                 const std::vector<bytes_t>& hashes);

} // namespace poe::actors::gw_role
