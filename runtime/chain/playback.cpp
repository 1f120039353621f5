#include "poe/chain/playback.hpp"

#include "poe/core/byte_io.hpp"
#include "poe/core/domain.hpp"
#include "poe/core/merkle.hpp"
#include "poe/core/sha256.hpp"

#include <cstring>

namespace poe::chain {

namespace {
constexpr char magic[] = "poe/playback/v1";
constexpr std::size_t magic_len = sizeof(magic) - 1;
constexpr std::size_t receipt_size = 32 + 4 + 32 + 32 + 32 + 32 + 4 + 8 + 4 + 32 + 32 + 4 + 8 + 8;

hash256 tagged(std::string_view tag, const bytes& rest) {
  bytes in(tag.begin(), tag.end());
  append(in, rest);
  return sha256::digest(in);
}
} // namespace

bytes encode(const playback_receipt& r) {
  bytes out;
  out.reserve(receipt_size);
  append(out, r.session.view());
  append_u32_be(out, r.sequence);
  append(out, r.gateway.view());
  append(out, r.viewer.view());
  append(out, r.content.view());
  append(out, r.channel.view());
  append_u32_be(out, r.lane);
  append_u64_be(out, r.seconds);
  append_u32_be(out, r.tick_index);
  append(out, r.tick.view());
  append(out, r.segments_root.view());
  append_u32_be(out, r.segments);
  append_u64_be(out, r.started_ms);
  append_u64_be(out, r.ended_ms);
  return out;
}

result<playback_receipt> decode_playback_receipt(byte_view in) {
  if (in.size() != receipt_size)
    return fail(errc::decode_error, "playback receipt: " + std::to_string(in.size()) + " bytes, expected " +
                                      std::to_string(receipt_size));
  byte_reader rd{in};
  playback_receipt r;
  r.session = rd.fixed<hash256>();
  r.sequence = rd.u32();
  r.gateway = rd.fixed<node_id>();
  r.viewer = rd.fixed<node_id>();
  r.content = rd.fixed<hash256>();
  r.channel = rd.fixed<hash256>();
  r.lane = rd.u32();
  r.seconds = rd.u64();
  r.tick_index = rd.u32();
  r.tick = rd.fixed<hash256>();
  r.segments_root = rd.fixed<hash256>();
  r.segments = rd.u32();
  r.started_ms = rd.u64();
  r.ended_ms = rd.u64();
  if (!rd.done()) return fail(errc::decode_error, "playback receipt: truncated");
  return r;
}

hash256 session_id(const hash256& channel, std::uint32_t lane) {
  bytes rest(channel.data.begin(), channel.data.end());
  append_u32_be(rest, lane);
  return tagged("poe/session/v1", rest);
}

request_id playback_receipt_id(const hash256& session, std::uint32_t sequence) {
  bytes rest(session.data.begin(), session.data.end());
  append_u32_be(rest, sequence);
  auto h = tagged("poe/playback-id/v1", rest);
  request_id id;
  std::copy(h.data.begin(), h.data.begin() + request_id::size, id.data.begin());
  return id;
}

bytes encode(const attested_playback& a) {
  bytes out(magic, magic + magic_len);
  for (auto* b : {&a.receipt, &a.token, &a.commit, &a.gateway_key, &a.signature}) append_blob(out, *b);
  return out;
}

bool is_playback_leaf(byte_view leaf) {
  return leaf.size() >= magic_len && std::memcmp(leaf.data(), magic, magic_len) == 0;
}

result<attested_playback> decode_attested_playback(byte_view in) {
  if (!is_playback_leaf(in)) return fail(errc::decode_error, "not a playback receipt (magic \"poe/playback/v1\" missing)");
  byte_reader r{in.subspan(magic_len)};
  attested_playback a;
  for (auto* b : {&a.receipt, &a.token, &a.commit, &a.gateway_key, &a.signature}) *b = r.blob();
  if (!r.done()) return fail(errc::decode_error, "playback receipt: truncated or with trailing bytes");
  if (a.receipt.size() != receipt_size || a.token.size() > 4096 || a.commit.size() > 1024 ||
      a.gateway_key.size() > 256 || a.signature.size() > 512)
    return fail(errc::decode_error, "playback receipt: a field beyond its bound");
  return a;
}

void sign(attested_playback& a, const private_key& gateway, std::string_view chain_id) {
  a.gateway_key = gateway.pub().der();
  a.signature = sign_in_domain(gateway, chain_id, msg_type::playback_receipt, a.receipt);
}

result<checked_playback> check_attested_playback(const attested_playback& a, std::string_view chain_id) {
  auto broken = [](const std::string& why) { return fail(errc::verify_failed, "playback receipt: " + why); };
  auto r = decode_playback_receipt(a.receipt);
  if (!r) return broken(r.err().message);
  if (r->session != session_id(r->channel, r->lane)) return broken("the session id is not its channel and lane's");
  // The gateway vouches for it.
  auto gkey = public_key::from_der(a.gateway_key);
  if (!gkey) return broken("gateway key: " + gkey.err().message);
  if (gkey->id() != r->gateway) return broken("gateway: the key is not the receipt's gateway");
  if (!verify_in_domain(*gkey, chain_id, msg_type::playback_receipt, a.receipt, a.signature))
    return broken("gateway: the signature does not verify (chain '" + std::string(chain_id) + "')");
  // The viewer asked this gateway for this content on this lane ...
  auto token = decode_playback_token(a.token);
  if (!token) return broken("token: " + token.err().message);
  auto viewer = verify(*token, chain_id);
  if (!viewer) return broken("token: " + viewer.err().message);
  if (*viewer != r->viewer) return broken("token: signed by another viewer");
  if (token->gateway != r->gateway || token->content != r->content || token->channel != r->channel ||
      token->lane != r->lane)
    return broken("token: for another gateway, content, channel or lane");
  // ... committed the lane's hash chain ...
  auto commit = decode_lane_commit(a.commit);
  if (!commit) return broken("lane commitment: " + commit.err().message);
  auto vkey = public_key::from_der(token->viewer_key);
  if (!vkey || !verify(*commit, *vkey, chain_id)) return broken("lane commitment: not signed by the viewer");
  if (commit->channel != r->channel || commit->lane != r->lane || commit->content != r->content)
    return broken("lane commitment: for another channel, lane or content");
  // ... and paid through tick_index.
  if (r->tick_index > commit->length || r->tick_index > max_playback_ticks)
    return broken("tick " + std::to_string(r->tick_index) + " is beyond the lane's chain");
  if (!chain_reaches(r->tick, r->tick_index, 0, commit->top))
    return broken("tick: not w(" + std::to_string(r->tick_index) + ") of the committed chain");
  if (r->seconds > r->tick_index)
    return broken(std::to_string(r->seconds) + " s claimed, " + std::to_string(r->tick_index) + " paid");
  if (r->ended_ms < r->started_ms || r->seconds > (r->ended_ms - r->started_ms) / 1000)
    return broken(std::to_string(r->seconds) + " s claimed in a session of " +
                  std::to_string(r->ended_ms >= r->started_ms ? r->ended_ms - r->started_ms : 0) + " ms");
  if (r->ended_ms > token->not_after_ms || r->started_ms + max_token_life_ms < token->not_after_ms)
    return broken("the session lies outside its token's life");
  if (r->segments == 0 && r->segments_root != merkle::empty_root())
    return broken("no segment served, yet a segments root");
  return checked_playback{std::move(*r), commit->price_per_tick, token->not_after_ms};
}

} // namespace poe::chain
