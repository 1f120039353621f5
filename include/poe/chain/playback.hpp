#pragma once
/// @file
/// Playback receipts: a gateway's signed account of one viewing session, with the viewer's own
/// signed objects as evidence, so anyone can check offline that the seconds it claims were
/// paid and fit in the session's wall-clock length (no CAF, no store).
///
/// A session is one lane of a channel (a lane is committed once, to one content):
/// session id = SHA-256("poe/session/v1" ‖ channel ‖ u32 lane). A long session gets a receipt
/// every few minutes and one at its end; each is cumulative (sequence 0, 1, ...: the newest
/// states everything so far).
///
///     playback_receipt  session (32) ‖ u32 sequence ‖ gateway (32) ‖ viewer (32) ‖
///                       content (32) ‖ channel (32) ‖ u32 lane ‖ u64 seconds ‖
///                       u32 tick_index ‖ tick (32) ‖ segments_root (32) ‖ u32 segments ‖
///                       u64 started_ms ‖ u64 ended_ms
///
/// `seconds`: the seconds of playback the gateway claims; `tick_index`/`tick`: the viewer's
/// last paid state (w(tick_index) of the lane's hash chain: ticks 1..tick_index are paid, one
/// second each); `segments_root`: RFC 6962 root over the CIDs of the segments served, in the
/// order first served (empty root when none); started/ended: the gateway's clock (Unix ms).
///
/// As a LogBlock leaf (builders notarize it beside step receipts; the magic tells them apart):
///
///     "poe/playback/v1" ‖ blob(playback_receipt) ‖ blob(playback token) ‖
///     blob(lane_commit) ‖ blob(gateway key, DER) ‖ blob(gateway signature)
///
/// signed by the gateway in domain playback_receipt (100) over the receipt's encoding.
#include "poe/chain/payments.hpp"

#include <cstdint>
#include <string_view>

namespace poe::chain {

struct playback_receipt {
  hash256 session;
  std::uint32_t sequence = 0;
  node_id gateway;
  node_id viewer;
  hash256 content;
  hash256 channel;
  std::uint32_t lane = 0;
  std::uint64_t seconds = 0;
  std::uint32_t tick_index = 0;
  hash256 tick;
  hash256 segments_root;
  std::uint32_t segments = 0;
  std::uint64_t started_ms = 0;
  std::uint64_t ended_ms = 0;
  friend bool operator==(const playback_receipt&, const playback_receipt&) = default;
};
bytes encode(const playback_receipt& r);
result<playback_receipt> decode_playback_receipt(byte_view in);

/// SHA-256("poe/session/v1" ‖ channel ‖ u32 lane).
hash256 session_id(const hash256& channel, std::uint32_t lane);
/// The receipt's id, as builders index it and `poe-cli receipt prove` names it: the first 16
/// bytes of SHA-256("poe/playback-id/v1" ‖ session ‖ u32 sequence).
request_id playback_receipt_id(const hash256& session, std::uint32_t sequence);

/// The most hashes a receipt's tick may need to reach its lane's top (a day of ticks fits).
constexpr std::uint32_t max_playback_ticks = 1u << 20;

/// A playback receipt as a LogBlock leaf (see the file comment).
struct attested_playback {
  bytes receipt;     ///< encode(playback_receipt)
  bytes token;       ///< the viewer's playback token (its key is the viewer's)
  bytes commit;      ///< the viewer's lane commitment
  bytes gateway_key; ///< DER SPKI; its node id is the receipt's gateway
  bytes signature;   ///< the gateway's, domain playback_receipt, over `receipt`
  friend bool operator==(const attested_playback&, const attested_playback&) = default;
};
bytes encode(const attested_playback& a);
result<attested_playback> decode_attested_playback(byte_view in);
/// True when `leaf` starts with the playback magic (else it is a step receipt's leaf).
bool is_playback_leaf(byte_view leaf);
/// Sets the gateway key to `gateway`'s and signs the receipt.
void sign(attested_playback& a, const private_key& gateway, std::string_view chain_id);

/// What a checked playback receipt says.
struct checked_playback {
  playback_receipt receipt;
  amount price_per_tick; ///< from the viewer's commitment: the paid amount is tick_index × it
  std::uint64_t token_not_after_ms = 0;
};
/// Checks, each failure naming its link: the receipt decodes, its session id is its channel
/// and lane's, and its id fields agree with the token and the commitment; the gateway key is
/// the receipt's gateway and its signature verifies (chain_id, playback_receipt); the token
/// verifies (its key is the viewer's) and names this gateway, content, channel and lane; the
/// commitment verifies under the viewer's key and names this channel, lane and content; the
/// tick is w(tick_index) of the committed chain (tick_index ≤ its length and ≤
/// max_playback_ticks); seconds ≤ tick_index (paid) and seconds × 1000 ≤ ended − started
/// (wall clock); the session lies in the token's life (ended ≤ not_after, started ≥ not_after
/// minus a day); segments_root is the empty root when no segment was served.
result<checked_playback> check_attested_playback(const attested_playback& a, std::string_view chain_id);

} // namespace poe::chain
