#include "session_state.hpp"

#include "poe/core/merkle.hpp"

#include <algorithm>

namespace poe::gateway {

session& playback_sessions::touch(const chain::playback_token& token, const node_id& viewer, std::uint64_t now_ms,
                                  std::uint32_t first_sequence) {
  auto id = chain::session_id(token.channel, token.lane);
  auto [it, fresh] = sessions_.try_emplace(id);
  auto& s = it->second;
  if (fresh) {
    s.id = id;
    s.token = token;
    s.viewer = viewer;
    s.started_ms = now_ms;
    s.last_receipt_ms = now_ms;
    s.next_sequence = first_sequence;
  } else if (token.not_after_ms > s.token.not_after_ms && viewer == s.viewer) {
    s.token = token; // a fresher token of the same viewer for the same lane
  }
  s.ended = false;
  s.last_ms = std::max(s.last_ms, now_ms);
  return s;
}

void playback_sessions::committed(const hash256& session, bytes commit) {
  if (auto it = sessions_.find(session); it != sessions_.end()) it->second.commit = std::move(commit);
}

void playback_sessions::paid(const hash256& session, std::uint32_t index, const hash256& w) {
  auto it = sessions_.find(session);
  if (it == sessions_.end() || index <= it->second.tick_index) return;
  it->second.tick_index = index;
  it->second.tick = w;
}

void playback_sessions::served(const hash256& session, const std::string& cid) {
  auto it = sessions_.find(session);
  if (it == sessions_.end() || !it->second.seen.insert(cid).second) return;
  it->second.segments.push_back(cid);
}

const session* playback_sessions::find(const hash256& id) const {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : &it->second;
}

due_receipt playback_sessions::make(session& s, std::uint64_t ended_ms, bool final) {
  due_receipt out;
  auto& r = out.receipt;
  r.session = s.id;
  r.sequence = s.next_sequence++;
  r.gateway = s.token.gateway;
  r.viewer = s.viewer;
  r.content = s.token.content;
  r.channel = s.token.channel;
  r.lane = s.token.lane;
  r.tick_index = s.tick_index;
  r.tick = s.tick;
  r.started_ms = s.started_ms;
  r.ended_ms = std::min(std::max(ended_ms, s.started_ms), s.token.not_after_ms);
  r.seconds = std::min<std::uint64_t>(s.tick_index, (r.ended_ms - r.started_ms) / 1000);
  std::vector<bytes> leaves;
  for (auto& cid : s.segments) leaves.emplace_back(cid.begin(), cid.end());
  r.segments_root = merkle::root_of(leaves);
  r.segments = static_cast<std::uint32_t>(s.segments.size());
  out.token = chain::encode(s.token);
  out.commit = s.commit;
  out.final = final;
  s.receipted_ticks = s.tick_index;
  s.receipted_segments = s.segments.size();
  s.last_receipt_ms = ended_ms;
  return out;
}

std::vector<due_receipt> playback_sessions::due(std::uint64_t now_ms) {
  std::vector<due_receipt> out;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    auto& s = it->second;
    bool idle = now_ms >= s.last_ms + cfg_.idle_ms;
    bool progress = s.tick_index > s.receipted_ticks || s.segments.size() > s.receipted_segments;
    // Evidence needs the viewer's commitment and a paid tick.
    bool provable = !s.commit.empty() && s.tick_index > 0;
    if (!s.ended && provable && progress) {
      if (idle) out.push_back(make(s, s.last_ms, true));
      else if (now_ms >= s.last_receipt_ms + cfg_.every_ms) out.push_back(make(s, now_ms, false));
    }
    if (idle) s.ended = true;
    if (s.ended && now_ms > s.token.not_after_ms) it = sessions_.erase(it);
    else ++it;
  }
  return out;
}

} // namespace poe::gateway
