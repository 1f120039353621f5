#pragma once
// A step receipt as a verifier sends it to a builder: a real task result signed under PoE v1 by
// `executor`, the receipt naming it, signed by `verifier` (chain::attested_receipt).
#include "poe/chain/log_builder.hpp"
#include "poe/chain/playback.hpp"
#include "poe/core/merkle.hpp"
#include "poe/core/poe_v1.hpp"
#include "poe/core/sha256.hpp"
#include "poe/wire/codec.hpp"

#include <memory>

namespace poe::test {

inline chain::attested_receipt attested_receipt(const private_key& verifier, const private_key& executor,
                                                std::string_view chain_id, std::uint8_t n,
                                                std::uint64_t work_units = 5, std::uint64_t verified_ms = 1) {
  task_result res;
  res.id.data[0] = n;
  res.kind = "compute";
  res.facts = {{"digest", "d-" + std::to_string(n)}};
  res.task_hash = sha256::digest(as_bytes("task " + std::to_string(n)));
  auto result = wire::encode(res);
  auto proof = poe_commit(executor, res.id, result);
  step_receipt rc;
  rc.request = res.id;
  rc.kind = res.kind;
  rc.executor = executor.id();
  rc.result_hash = sha256::digest(result);
  rc.poe = proof.poe;
  rc.poe_sig = proof.sig;
  rc.verifier = verifier.id();
  rc.verified_ms = verified_ms;
  rc.work_units = work_units;
  chain::attested_receipt a{wire::encode(rc), {}, {}, result, executor.pub().der()};
  chain::sign(a, verifier, chain_id);
  return a;
}

/// A session's playback receipt as a gateway sends it to a builder: `viewer` signed a token for
/// `gateway` and committed a lane's hash chain of 100 ticks; `paid` ticks were paid and
/// `seconds` of them claimed in a session of `length_ms`, serving two segments.
struct playback_case {
  chain::playback_token token;
  chain::lane_commit commit;
  chain::playback_receipt receipt;
  chain::attested_playback attested;
  std::shared_ptr<chain::tick_chain> ticks;
};
inline playback_case make_playback(const private_key& gateway, const private_key& viewer, std::string_view chain_id,
                                   std::uint32_t paid, std::uint64_t seconds, std::uint64_t length_ms = 60'000,
                                   std::uint32_t lane = 1) {
  playback_case c;
  c.ticks = std::make_shared<chain::tick_chain>(sha256::digest(as_bytes("seed " + std::to_string(lane))), 100);
  hash256 channel = sha256::digest(as_bytes("channel")), content = sha256::digest(as_bytes("content"));
  c.token.gateway = gateway.id();
  c.token.content = content;
  c.token.channel = channel;
  c.token.lane = lane;
  c.token.not_after_ms = 10'000'000;
  chain::sign(c.token, viewer, chain_id);
  c.commit.channel = channel;
  c.commit.lane = lane;
  c.commit.content = content;
  c.commit.top = c.ticks->top();
  c.commit.length = 100;
  c.commit.price_per_tick = amount{1000};
  chain::sign(c.commit, viewer, chain_id);
  auto& r = c.receipt;
  r.session = chain::session_id(channel, lane);
  r.gateway = gateway.id();
  r.viewer = viewer.id();
  r.content = content;
  r.channel = channel;
  r.lane = lane;
  r.seconds = seconds;
  r.tick_index = paid;
  r.tick = c.ticks->at(paid);
  std::vector<bytes> cids{bytes{'c', 'i', 'd', 'a'}, bytes{'c', 'i', 'd', 'b'}};
  r.segments_root = merkle::root_of(cids);
  r.segments = 2;
  r.started_ms = 9'000'000;
  r.ended_ms = r.started_ms + length_ms;
  c.attested = {chain::encode(r), chain::encode(c.token), chain::encode(c.commit), {}, {}};
  chain::sign(c.attested, gateway, chain_id);
  return c;
}

} // namespace poe::test
