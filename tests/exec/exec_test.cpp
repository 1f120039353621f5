// The execution layer's pure logic (poe_exec), driven directly: no actors, no media.
//
// Scenarios:
//  1. Assignment draws follow stake × reputation, skip excluded and weightless executors, and
//     do not depend on the order executors are listed in.
//  2. Sampling re-executes about the configured fraction (5 % of 20,000 request ids).
//  3. An honest network over 600 tasks and many seeds: every task verified, no fraud, about 5 %
//     re-executed, reputations rise.
//  4. A cheating executor (fabricated results that pass the cheap checks) is caught at about
//     the sampling rate when it runs a task first, and every time it re-executes an honest
//     result a third executor decides against it; no honest executor is ever accused.
//  5. A lazy executor (outputs that fail the cheap checks) is caught every time; the task is
//     verified on another executor.
//  6. A commitment with a bad signature or from the wrong executor is refused; a timeout
//     reassigns; a task that runs out of attempts fails; three different results stay
//     unresolved.
//  7. Reputation moves both ways and a proven fraud bans.
#include "poe/core/sha256.hpp"
#include "poe/exec/assignment.hpp"
#include "poe/exec/reputation.hpp"
#include "poe/exec/verification_state.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>

using namespace poe;
using namespace poe::exec;

namespace {

const private_key& key(int i) {
  static std::map<int, private_key> keys;
  auto it = keys.find(i);
  if (it == keys.end()) {
    auto seed = sha256::digest(as_bytes("exec-test-key-" + std::to_string(i)));
    it = keys.emplace(i, *private_key::ed25519_from_seed(seed.view())).first;
  }
  return it->second;
}

hash256 h(const std::string& s) { return sha256::digest(as_bytes(s)); }

request_id req(std::uint64_t n) {
  request_id r;
  auto d = h("request-" + std::to_string(n));
  std::copy(d.data.begin(), d.data.begin() + r.data.size(), r.data.begin());
  return r;
}

enum class behaviour { honest, cheat, lazy, silent, cheat_other };

struct network {
  std::vector<executor_info> infos;
  std::map<node_id, int> index; // executor id → key index
  std::map<node_id, behaviour> how;

  void add(int k, std::uint64_t stake, behaviour b = behaviour::honest) {
    auto id = key(k).id();
    infos.push_back({id, stake, reputation_book::initial});
    index[id] = k;
    how[id] = b;
  }

  bytes result_of(const node_id& who, const task& t) const {
    std::string tag = "R:";
    switch (how.at(who)) {
      case behaviour::cheat: tag = "F:"; break;
      case behaviour::cheat_other: tag = "G:"; break;
      case behaviour::lazy: tag = "L:"; break;
      default: break;
    }
    auto text = tag + t.id.hex(); // fabricated results pass the checks; lazy ones do not
    return bytes(text.begin(), text.end());
  }
};

struct outcome {
  phase end;
  std::optional<step_receipt> receipt;
  std::optional<fraud_case> fraud;
  node_id first; ///< the executor drawn first
  bool reexecuted = false;
  std::vector<std::string> notes;
};

/// Runs one task to its end: dispatches, answers per behaviour, runs the checks (a result
/// passes unless lazy), and feeds a block after the commitment.
outcome drive(network& net, std::uint64_t n, verification_config cfg = {},
              reputation_book* book = nullptr) {
  task t;
  t.id = req(n);
  t.kind = "transcode";
  verification v(t, key(99).id(), 10, cfg);
  auto block = h("block-" + std::to_string(n));
  auto next_block = h("block-after-" + std::to_string(n));
  outcome out{};
  auto fx = v.start(net.infos, block);
  out.first = fx.dispatch_to ? *fx.dispatch_to : node_id{};
  for (int steps = 0; steps < 50; ++steps) {
    if (book)
      for (auto& [who, e] : fx.reputation) book->record(who, e);
    if (!fx.note.empty()) out.notes.push_back(fx.note);
    if (fx.receipt) out.receipt = fx.receipt;
    if (fx.fraud) out.fraud = fx.fraud;
    if (fx.dispatch_to) {
      auto who = *fx.dispatch_to;
      if (net.how[who] == behaviour::silent) {
        fx = v.on_timeout(who, net.infos, block);
        continue;
      }
      auto result = net.result_of(who, t);
      auto proof = poe_commit(key(net.index[who]), t.id, result);
      fx = v.on_commit({who, result, proof}, key(net.index[who]).pub(), net.infos, block, 1000);
      continue;
    }
    if (fx.run_checks) {
      bool lazy = v.primary()->result[0] == 'L';
      fx = v.on_checks(!lazy, lazy ? "resolution 640x360, expected 1280x720" : "", net.infos,
                       block);
      continue;
    }
    if (v.current() == phase::awaiting_block) {
      fx = v.on_block(next_block, net.infos, 2000);
      continue;
    }
    break;
  }
  out.end = v.current();
  out.reexecuted = out.receipt && out.receipt->reexecuted;
  return out;
}

} // namespace

TEST_CASE("assignment follows stake x reputation and excludes") {
  std::vector<executor_info> xs{{key(1).id(), 100, 500'000},
                                {key(2).id(), 200, 500'000},
                                {key(3).id(), 300, 500'000},
                                {key(4).id(), 0, 500'000},    // no stake
                                {key(5).id(), 1000, 0}};      // no reputation
  std::map<node_id, int> count;
  const int n = 30'000;
  for (int i = 0; i < n; ++i)
    ++count[*pick_executor(xs, draw_seed("assign", h("b"), req(static_cast<std::uint64_t>(i)), 0), {})];
  CHECK(count.size() == 3);
  CHECK(count[key(1).id()] == Approx(n / 6.0).epsilon(0.05));
  CHECK(count[key(2).id()] == Approx(n / 3.0).epsilon(0.05));
  CHECK(count[key(3).id()] == Approx(n / 2.0).epsilon(0.05));
  // Reputation weighs like stake: doubling one's reputation doubles its share.
  xs[0].reputation_ppm = 1'000'000;
  int first = 0;
  for (int i = 0; i < n; ++i)
    first += *pick_executor(xs, draw_seed("assign", h("b"), req(static_cast<std::uint64_t>(i)), 0), {}) ==
             key(1).id();
  CHECK(first == Approx(n * 200.0 / 700.0).epsilon(0.05));
  // The listed order does not matter; excluded executors are never drawn.
  auto seed = draw_seed("assign", h("x"), req(7), 0);
  auto reversed = xs;
  std::reverse(reversed.begin(), reversed.end());
  CHECK(pick_executor(xs, seed, {}) == pick_executor(reversed, seed, {}));
  for (int i = 0; i < 200; ++i) {
    auto who = pick_executor(xs, draw_seed("assign", h("y"), req(static_cast<std::uint64_t>(i)), 0),
                             {key(3).id()});
    REQUIRE(who);
    CHECK(*who != key(3).id());
  }
  CHECK_FALSE(pick_executor(xs, seed, {key(1).id(), key(2).id(), key(3).id()}));
}

TEST_CASE("assignment goes to registered capacity: free slots first, none to capacity 0") {
  std::vector<executor_info> xs{{key(1).id(), 100, 500'000, 2, 0},
                                {key(2).id(), 100, 500'000, 1, 1},  // full
                                {key(3).id(), 900, 500'000, 0, 0}}; // registered no slots
  for (int i = 0; i < 500; ++i) {
    auto who = pick_executor(xs, draw_seed("assign", h("c"), req(static_cast<std::uint64_t>(i)), 0), {});
    REQUIRE(who);
    CHECK(*who == key(1).id()); // the only one with a free slot
  }
  // Everyone full: the draw is among all with capacity, by weight (the task queues there).
  xs[0].load = 2;
  std::map<node_id, int> count;
  for (int i = 0; i < 2000; ++i)
    ++count[*pick_executor(xs, draw_seed("assign", h("c"), req(static_cast<std::uint64_t>(i)), 0), {})];
  CHECK(count.size() == 2);
  CHECK(count[key(1).id()] == Approx(1000).epsilon(0.1));
  CHECK(count.count(key(3).id()) == 0);
}

TEST_CASE("reputation: a restored book continues where it left off") {
  reputation_book a;
  a.record(key(1).id(), rep_event::verified);
  a.record(key(1).id(), rep_event::verified);
  a.record(key(2).id(), rep_event::fraud);
  reputation_book b;
  b.restore(key(1).id(), a.of(key(1).id()), a.is_banned(key(1).id()));
  b.restore(key(2).id(), a.of(key(2).id()), a.is_banned(key(2).id()));
  CHECK(b.of(key(1).id()) == a.of(key(1).id()));
  CHECK(b.record(key(1).id(), rep_event::verified) == a.record(key(1).id(), rep_event::verified));
  CHECK(b.is_banned(key(2).id()));
  CHECK(b.record(key(2).id(), rep_event::verified) == 0);
}

TEST_CASE("a task waits while no executor has stake, then starts") {
  task t;
  t.id = req(9);
  t.kind = "compute";
  verification v(t, key(99).id(), 1);
  auto fx = v.start({}, h("b"));
  CHECK_FALSE(fx.dispatch_to);
  CHECK(v.waiting());
  CHECK(v.current() == phase::assigned);
  fx = v.start({{key(1).id(), 10, 500'000}}, h("b"));
  REQUIRE(fx.dispatch_to);
  CHECK(*fx.dispatch_to == key(1).id());
  CHECK_FALSE(v.waiting());
}

TEST_CASE("sampling re-executes about the configured fraction") {
  int hits = 0;
  const int n = 20'000;
  for (int i = 0; i < n; ++i) hits += sampled(h("block"), req(static_cast<std::uint64_t>(i)), 50'000);
  CHECK(hits == Approx(n * 0.05).epsilon(0.1));
  CHECK_FALSE(sampled(h("block"), req(1), 0));
  CHECK(sampled(h("block"), req(1), 1'000'000));
  // The same request under another block may go either way: the executor cannot know.
  int differ = 0;
  for (int i = 0; i < 1000; ++i)
    differ += sampled(h("block-a"), req(static_cast<std::uint64_t>(i)), 500'000) !=
              sampled(h("block-b"), req(static_cast<std::uint64_t>(i)), 500'000);
  CHECK(differ == Approx(500).epsilon(0.15));
}

TEST_CASE("an honest network verifies every task and accuses nobody") {
  network net;
  for (int k = 1; k <= 5; ++k) net.add(k, 1000 * static_cast<std::uint64_t>(k));
  reputation_book book;
  int reexecuted = 0;
  const int n = 600;
  for (int i = 0; i < n; ++i) {
    auto o = drive(net, static_cast<std::uint64_t>(i), {}, &book);
    INFO("task " << i);
    REQUIRE(o.end == phase::verified);
    REQUIRE(o.receipt);
    CHECK(o.receipt->executor == o.first);
    CHECK_FALSE(o.fraud);
    reexecuted += o.reexecuted;
  }
  CHECK(reexecuted == Approx(n * 0.05).margin(15));
  for (int k = 1; k <= 5; ++k) CHECK(book.of(key(k).id()) > reputation_book::initial);
}

TEST_CASE("a cheating executor is caught at about the sampling rate and only it is accused") {
  network net;
  for (int k = 1; k <= 4; ++k) net.add(k, 1000);
  net.add(5, 1000, behaviour::cheat);
  auto cheater = key(5).id();
  int cheated = 0, caught_first = 0, caught_as_reexecutor = 0;
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    auto o = drive(net, static_cast<std::uint64_t>(i));
    INFO("task " << i);
    REQUIRE(o.end == phase::verified);
    if (o.fraud) {
      CHECK(o.fraud->liar == cheater); // nobody honest is ever accused
      CHECK(o.receipt->executor != cheater);
      // The evidence: the lie and two agreeing, signed results of other executors.
      CHECK(o.fraud->a.result == o.fraud->b.result);
      CHECK(o.fraud->lie.result != o.fraud->a.result);
      CHECK(o.fraud->a.executor != o.fraud->b.executor);
    }
    if (o.first == cheater) {
      ++cheated;
      if (o.fraud) ++caught_first;
      else CHECK(o.receipt->executor == cheater); // unsampled: the lie went through
    } else if (o.fraud) {
      ++caught_as_reexecutor; // it re-executed an honest result and the decider disagreed
    }
  }
  INFO("cheated " << cheated << ", caught " << caught_first);
  CHECK(cheated == Approx(n / 5.0).epsilon(0.1));
  CHECK(static_cast<double>(caught_first) / cheated == Approx(0.05).margin(0.025));
  CHECK(caught_as_reexecutor > 0);
}

TEST_CASE("a lazy executor is caught by the cheap checks every time") {
  network net;
  for (int k = 1; k <= 3; ++k) net.add(k, 1000);
  net.add(4, 3000, behaviour::lazy);
  auto lazy = key(4).id();
  int lazy_first = 0;
  for (int i = 0; i < 500; ++i) {
    auto o = drive(net, static_cast<std::uint64_t>(i));
    REQUIRE(o.end == phase::verified);
    CHECK(o.receipt->executor != lazy);
    if (o.first == lazy) {
      ++lazy_first;
      CHECK(std::any_of(o.notes.begin(), o.notes.end(), [](auto& s) {
        return s.find("fail the checks: resolution") != std::string::npos;
      }));
    }
  }
  CHECK(lazy_first > 150); // half the weight: it was drawn first often, and caught each time
}

TEST_CASE("bad commitments, timeouts, exhaustion and three-way disagreement") {
  task t;
  t.id = req(1);
  t.kind = "transcode";
  std::vector<executor_info> xs{{key(1).id(), 10, 500'000}, {key(2).id(), 10, 500'000}};
  auto block = h("b");

  SECTION("a commitment signed by another key, or from an executor not awaited, is refused") {
    verification v(t, key(99).id(), 1);
    auto fx = v.start(xs, block);
    auto who = *fx.dispatch_to;
    auto other = who == key(1).id() ? 2 : 1;
    bytes result{'R'};
    auto forged = poe_commit(key(other), t.id, result); // the other executor's signature
    auto r = v.on_commit({who, result, forged}, key(other).pub(), xs, block, 1);
    CHECK(r.note.find("rejected") != std::string::npos);
    REQUIRE(r.rejected);
    CHECK(*r.rejected == rejection::key_mismatch);
    REQUIRE(r.dispatch_to); // reassigned to the other executor
    CHECK(*r.dispatch_to == key(other).id());
    auto ignored = v.on_commit({who, result, poe_commit(key(other == 1 ? 2 : 1), t.id, result)},
                               key(other == 1 ? 2 : 1).pub(), xs, block, 1);
    CHECK(ignored.note.find("ignored") == 0);
    CHECK(ignored.rejected == rejection::not_awaited);
  }
  SECTION("a wrong commitment and a wrong signature are refused with their reasons") {
    verification v(t, key(99).id(), 1);
    auto who = *v.start(xs, block).dispatch_to;
    auto& k = who == key(1).id() ? key(1) : key(2);
    bytes result{'R'};
    auto p = poe_commit(k, t.id, result);
    auto wrong_poe = p;
    wrong_poe.poe = h("not the commitment");
    auto r = v.on_commit({who, result, wrong_poe}, k.pub(), xs, block, 1);
    CHECK(r.rejected == rejection::commitment_mismatch);
    auto next = *r.dispatch_to;
    auto& k2 = next == key(1).id() ? key(1) : key(2);
    auto p2 = poe_commit(k2, t.id, result);
    p2.sig.back() ^= 1;
    CHECK(v.on_commit({next, result, p2}, k2.pub(), xs, block, 1).rejected ==
          rejection::bad_signature);
    CHECK(to_string(rejection::bad_signature) == "bad_signature");
  }
  SECTION("timeouts reassign until no executor is left") {
    verification v(t, key(99).id(), 1);
    auto fx = v.start(xs, block);
    fx = v.on_timeout(*fx.dispatch_to, xs, block);
    REQUIRE(fx.dispatch_to);
    CHECK(fx.reputation.size() == 1);
    CHECK(fx.rejected == rejection::timed_out);
    fx = v.on_timeout(*fx.dispatch_to, xs, block);
    CHECK_FALSE(fx.dispatch_to);
    // Both listed executors tried: the task waits for another, and fails only once it waited
    // max_wait_ms (120 s by default) with nobody new.
    CHECK(v.stalled());
    CHECK(v.current() == phase::assigned);
    CHECK(fx.note.find("waiting for an executor that has not run this task (2 tried)") == 0);
    CHECK_FALSE(v.resume(xs, block, 1'000).dispatch_to);
    CHECK_FALSE(v.resume(xs, block, 100'000).dispatch_to);
    CHECK(v.stalled());
    fx = v.resume(xs, block, 121'000);
    CHECK(v.current() == phase::failed);
    CHECK(v.reason().find("no executor left to draw (2 tried, waited 120 s") == 0);
    CHECK(fx.note == v.reason());
  }
  SECTION("a sampled task whose only executor ran it waits for a second, then is verified") {
    // The poe-bench notary hang: at start-up one executor was registered; the sampled
    // re-execution found nobody else, failed for good and the job never finished.
    verification v(t, key(99).id(), 1, verification_config{1'000'000, 5}); // every task sampled
    std::vector<executor_info> one{xs[0]};
    auto fx = v.start(one, block);
    REQUIRE(fx.dispatch_to == key(1).id());
    bytes result{'R'};
    fx = v.on_commit({key(1).id(), result, poe_commit(key(1), t.id, result)}, key(1).pub(), one, block, 1);
    REQUIRE(fx.run_checks);
    fx = v.on_checks(true, "", one, block);
    fx = v.on_block(h("b2"), one, 2);
    CHECK_FALSE(fx.dispatch_to);
    CHECK(v.current() == phase::reexecuting);
    CHECK(v.stalled());
    CHECK_FALSE(v.resume(one, block, 3).dispatch_to); // still alone
    fx = v.resume(xs, block, 60'000);                  // the second executor registered
    REQUIRE(fx.dispatch_to == key(2).id());
    CHECK_FALSE(v.stalled());
    fx = v.on_commit({key(2).id(), result, poe_commit(key(2), t.id, result)}, key(2).pub(), xs, block, 60'001);
    CHECK(v.current() == phase::verified);
    REQUIRE(fx.receipt);
    CHECK(fx.receipt->reexecuted);
  }
  SECTION("max_attempts bounds the assignments") {
    network net;
    for (int k = 1; k <= 6; ++k) net.add(k, 10, behaviour::silent);
    auto o = drive(net, 3, verification_config{50'000, 3});
    CHECK(o.end == phase::failed);
  }
  SECTION("three different results stay unresolved, nobody slashed") {
    network net;
    net.add(1, 10, behaviour::cheat);
    net.add(2, 10, behaviour::cheat_other);
    net.add(3, 10, behaviour::honest);
    int unresolved = 0;
    for (int i = 0; i < 300; ++i) {
      auto o = drive(net, static_cast<std::uint64_t>(i), verification_config{1'000'000, 5});
      if (o.end == phase::unresolved) {
        ++unresolved;
        CHECK_FALSE(o.fraud);
        CHECK_FALSE(o.receipt);
      }
    }
    CHECK(unresolved > 0);
  }
}

TEST_CASE("reputation moves both ways and fraud bans") {
  reputation_book b;
  auto a = key(1).id();
  CHECK(b.of(a) == 500'000);
  CHECK(b.record(a, rep_event::verified) == 525'000);
  CHECK(b.record(a, rep_event::timed_out) == 472'500);
  CHECK(b.record(a, rep_event::failed_check) == 236'250);
  for (int i = 0; i < 200; ++i) b.record(a, rep_event::verified);
  CHECK(b.of(a) > 990'000);
  CHECK(b.of(a) <= reputation_book::max);
  CHECK(b.record(a, rep_event::fraud) == 0);
  CHECK(b.record(a, rep_event::verified) == 0);
  CHECK(b.is_banned(a));
}

TEST_CASE("a commitment checked by the caller (on a worker thread) counts as checked there") {
  task t;
  t.id = req(11);
  t.kind = "compute";
  std::vector<executor_info> xs{{key(1).id(), 10, 500'000}, {key(2).id(), 10, 500'000}};
  bytes result{1, 2, 3};
  auto run = [&](poe_check check, const node_id& key_id) {
    verification v(t, key(99).id(), 1);
    auto fx = v.start(xs, h("b"));
    REQUIRE(fx.dispatch_to);
    auto who = *fx.dispatch_to;
    CHECK(v.hears(who));
    auto other = who == key(1).id() ? key(2).id() : key(1).id();
    CHECK_FALSE(v.hears(other));
    auto& k = who == key(1).id() ? key(1) : key(2);
    auto r = v.on_commit({who, result, poe_commit(k, t.id, result)}, key_id == node_id{} ? who : key_id,
                         check, xs, h("b"), 1);
    return std::pair{r, v.current()};
  };
  auto [ok, ph] = run(poe_check::valid, {});
  CHECK_FALSE(ok.rejected);
  CHECK(ok.run_checks);
  CHECK(ph == phase::checking);
  auto [bad, ph2] = run(poe_check::bad_signature, {});
  CHECK(bad.rejected == rejection::bad_signature);
  CHECK(ph2 == phase::assigned); // reassigned to the other executor
  // A "valid" check against another key is still a key mismatch.
  auto [wrong, ph3] = run(poe_check::valid, key(3).id());
  CHECK(wrong.rejected == rejection::key_mismatch);
}
