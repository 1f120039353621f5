// The gateway's playback sessions (actors/gateway/session_state.hpp), driven directly with
// time as an input: a session gathers the viewer's commitment, ticks and segments; receipts
// fall due at its end and every so often while it goes on; each claims no more seconds than
// were paid nor than the session lasted, and passes chain::check_attested_playback once signed.
#include "session_state.hpp"

#include "poe/core/merkle.hpp"
#include "poe/core/sha256.hpp"

#include <catch2/catch.hpp>

using namespace poe;
using namespace poe::gateway;

namespace {
constexpr const char* chain_id = "session-test";

private_key key(std::uint8_t n) {
  bytes seed(32, n);
  return *private_key::ed25519_from_seed(seed);
}

struct viewer_lane {
  chain::playback_token token;
  chain::lane_commit commit;
  chain::tick_chain ticks{sha256::digest(bytes{1, 2, 3}), 100};
  viewer_lane(const private_key& gateway, const private_key& viewer, std::uint32_t lane) {
    token.gateway = gateway.id();
    token.content = sha256::digest(bytes{'c'});
    token.channel = sha256::digest(bytes{'h'});
    token.lane = lane;
    token.not_after_ms = 1'000'000;
    chain::sign(token, viewer, chain_id);
    commit = {token.channel, lane, token.content, ticks.top(), 100, amount{7}, {}};
    chain::sign(commit, viewer, chain_id);
  }
};

/// Signs a due receipt as the gateway does and checks it as a builder would.
result<chain::checked_playback> attest(const due_receipt& d, const private_key& gateway) {
  chain::attested_playback a{chain::encode(d.receipt), d.token, d.commit, {}, {}};
  chain::sign(a, gateway, chain_id);
  return chain::check_attested_playback(a, chain_id);
}
} // namespace

TEST_CASE("a session's receipts fall due at its end and while it goes on, each provable") {
  auto gw = key(1), viewer = key(2);
  viewer_lane v(gw, viewer, 3);
  playback_sessions book(session_config{5'000, 20'000});
  auto& s = book.touch(v.token, viewer.id(), 10'000);
  CHECK(s.id == chain::session_id(v.token.channel, 3));
  // Nothing provable yet: no commitment, no tick.
  book.served(s.id, "seg-0");
  CHECK(book.due(16'000).empty());
  book.touch(v.token, viewer.id(), 16'000);
  book.committed(s.id, chain::encode(v.commit));
  for (std::uint32_t i = 1; i <= 12; ++i) {
    book.touch(v.token, viewer.id(), 16'000 + i * 1'000);
    book.paid(s.id, i, v.ticks.at(i));
    if (i % 4 == 0) book.served(s.id, "seg-" + std::to_string(i / 4));
  }
  book.paid(s.id, 5, v.ticks.at(5)); // a late, lower tick changes nothing
  book.served(s.id, "seg-1");        // a segment served again is counted once
  CHECK(book.find(s.id)->tick_index == 12);
  CHECK(book.find(s.id)->segments.size() == 4);
  // 20 s after it started: an interim receipt, cumulative so far.
  auto interim = book.due(30'000);
  REQUIRE(interim.size() == 1);
  CHECK_FALSE(interim[0].final);
  CHECK(interim[0].receipt.sequence == 0);
  CHECK(interim[0].receipt.tick_index == 12);
  CHECK(interim[0].receipt.seconds == 12); // paid 12, lasted 20 s
  CHECK(interim[0].receipt.segments == 4);
  std::vector<bytes> cids;
  for (auto c : {"seg-0", "seg-1", "seg-2", "seg-3"}) cids.emplace_back(c, c + 5);
  CHECK(interim[0].receipt.segments_root == merkle::root_of(cids));
  auto checked = attest(interim[0], gw);
  INFO((checked ? "" : checked.err().message));
  REQUIRE(checked);
  CHECK(checked->price_per_tick == amount{7});
  CHECK(book.due(31'000).empty()); // no progress since
  // The viewer pays ahead: 40 ticks within 2 s, then stops. The final receipt claims the
  // session's wall-clock length (10 s .. 30.5 s: 20 s), not the 40 ticks paid.
  book.touch(v.token, viewer.id(), 30'500);
  book.paid(s.id, 40, v.ticks.at(40));
  CHECK(book.due(35'000).empty()); // idle 4.5 s: not ended yet
  auto last = book.due(35'500);
  REQUIRE(last.size() == 1);
  CHECK(last[0].final);
  CHECK(last[0].receipt.sequence == 1);
  CHECK(last[0].receipt.seconds == 20);
  CHECK(last[0].receipt.tick_index == 40);
  CHECK(last[0].receipt.ended_ms == 30'500);
  REQUIRE(attest(last[0], gw));
  CHECK(book.due(60'000).empty());
  // Resumed, the session numbers on; once ended and its token expired it is forgotten.
  book.touch(v.token, viewer.id(), 70'000);
  book.paid(s.id, 41, v.ticks.at(41));
  auto resumed = book.due(80'000);
  REQUIRE(resumed.size() == 1);
  CHECK(resumed[0].receipt.sequence == 2);
  CHECK(resumed[0].receipt.seconds == 41);
  REQUIRE(attest(resumed[0], gw));
  CHECK(book.all().size() == 1);
  book.due(1'000'001);
  CHECK(book.all().empty());
}

TEST_CASE("a receipt never claims past its token's life, and a gateway cannot inflate one") {
  auto gw = key(1), viewer = key(2);
  viewer_lane v(gw, viewer, 4);
  playback_sessions book(session_config{5'000, 100'000});
  auto& s = book.touch(v.token, viewer.id(), 990'000, 9);
  book.committed(s.id, chain::encode(v.commit));
  book.paid(s.id, 30, v.ticks.at(30));
  book.touch(v.token, viewer.id(), 1'000'000);
  auto due = book.due(1'006'000);
  REQUIRE(due.size() == 1);
  CHECK(due[0].receipt.sequence == 9); // a previous run numbered this session up to 8
  CHECK(due[0].receipt.ended_ms == 1'000'000);
  CHECK(due[0].receipt.seconds == 10);
  REQUIRE(attest(due[0], gw));
  auto inflated = due[0];
  inflated.receipt.seconds = 11;
  auto r = attest(inflated, gw);
  REQUIRE_FALSE(r);
  CHECK(r.err().message.find("11 s claimed in a session of 10000 ms") != std::string::npos);
  inflated = due[0];
  inflated.receipt.ended_ms = 1'000'001;
  inflated.receipt.seconds = 10;
  CHECK_FALSE(attest(inflated, gw));
}
