#pragma once
/// @file
/// The gateway's playback sessions, pure (no CAF, no clock: time is an input). A session is
/// one lane of a channel (chain::session_id): opened by the first paid request under a
/// viewer's token, it gathers the viewer's lane commitment, the highest tick the channel role
/// acknowledged and the segments served (CIDs, in the order first served). Playback receipts
/// fall due when a session has been idle for `idle_ms` (its end) and every `every_ms` of a
/// long one; each is cumulative (sequence 0, 1, ...) and claims
///
///     seconds = min(ticks paid, whole seconds from the session's first to its last request)
///
/// so it never exceeds what was paid nor the session's wall-clock length (what
/// chain::check_attested_playback checks). A session is kept after its end (a viewer may
/// resume: its receipts go on numbering) until its token expires.
#include "poe/chain/playback.hpp"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace poe::gateway {

struct session_config {
  std::uint64_t idle_ms = 30'000;   ///< a session with no request for this long has ended
  std::uint64_t every_ms = 300'000; ///< a receipt at least this often while it goes on
};

struct session {
  hash256 id;
  chain::playback_token token;
  node_id viewer;
  bytes commit; ///< the viewer's lane commitment (encoded); empty until one came through us
  std::uint32_t tick_index = 0;
  hash256 tick;
  std::vector<std::string> segments; ///< CIDs, in the order first served
  std::set<std::string> seen;
  std::uint64_t started_ms = 0, last_ms = 0, last_receipt_ms = 0;
  std::uint32_t next_sequence = 0;
  std::uint32_t receipted_ticks = 0;     ///< progress at the last receipt
  std::size_t receipted_segments = 0;
  bool ended = false;
};

/// A receipt due: the unsigned receipt and the viewer's objects that are its evidence.
struct due_receipt {
  chain::playback_receipt receipt;
  bytes token, commit;
  bool final = false; ///< the session ended (else a long session's interim receipt)
};

class playback_sessions {
public:
  explicit playback_sessions(session_config cfg = {}) : cfg_(cfg) {}
  /// The session of a request under `token` (signed by `viewer`) at `now_ms`, opened (at
  /// receipt `first_sequence`, for a session a previous run already numbered) or resumed.
  session& touch(const chain::playback_token& token, const node_id& viewer, std::uint64_t now_ms,
                 std::uint32_t first_sequence = 0);
  /// The lane commitment the channel role took for the session.
  void committed(const hash256& session, bytes commit);
  /// A tick the channel role acknowledged: kept when it is the highest.
  void paid(const hash256& session, std::uint32_t index, const hash256& w);
  /// A segment served (paid for); a CID already served is not counted again.
  void served(const hash256& session, const std::string& cid);
  /// The receipts due at `now_ms` (each marked made); forgets ended sessions whose token
  /// expired.
  std::vector<due_receipt> due(std::uint64_t now_ms);
  const std::map<hash256, session>& all() const { return sessions_; }
  const session* find(const hash256& id) const;

private:
  due_receipt make(session& s, std::uint64_t ended_ms, bool final);
  session_config cfg_;
  std::map<hash256, session> sessions_;
};

} // namespace poe::gateway
