// The verifier's job coordinator (actors/verifier/coordinator_state), driven directly: no
// actors, no store, no media. A small simulation plays the executors (answers signed with real
// keys), the store (a map the synced writes go to) and the builders.
//
// Scenarios:
//  1. Inline tasks to one executor leave in one batch at the flush (split at batch_max);
//     storage tasks leave at once; nothing is sent before an executor's stake is known, and
//     waiting tasks start when it is.
//  2. Receipts are written in a flush's synced batch and forwarded in the same flush (never
//     before their write), each to the builder rendezvous hashing picks; one not taken is
//     offered again when builders change and every forward_retry_blocks; a taken one gets its
//     "f/" mark; receipts restored after a restart are offered again.
//  3. Restart: a job record round-trips; resume takes back only jobs with an unfinished task,
//     oldest first, their finished tasks as stored and the rest run again under the same
//     request ids, verified to the same result; a corrupt record is refused with a reason.
//  4. Eviction: beyond max_held_tasks the oldest finished jobs leave memory; a running job
//     stops the sweep.
//  5. An executor that leaves the directory is out of the draw at once and the tasks awaiting
//     it are handed on without waiting for a timeout; late answers from it are refused.
//  6. Answers for a stale attempt are dropped; a malformed answer counts as such and the task
//     is reassigned; sampling re-executes and a lying executor is proven with evidence.
//  7. Two runs from the same inputs give the same effects (replayable).
#include "poe/chain/evidence.hpp"
#include "coordinator_state.hpp"

#include "poe/core/sha256.hpp"
#include "poe/wire/codec.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>

using namespace poe;
using namespace poe::coord;

namespace {

const private_key& key(int i) {
  static std::map<int, private_key> keys;
  auto it = keys.find(i);
  if (it == keys.end()) {
    auto seed = sha256::digest(as_bytes("coordinator-test-key-" + std::to_string(i)));
    it = keys.emplace(i, *private_key::ed25519_from_seed(seed.view())).first;
  }
  return it->second;
}

hash256 h(const std::string& s) { return sha256::digest(as_bytes(s)); }

const node_id verifier_id = key(99).id();

/// A compute job of `n` inline tasks (or transcode tasks with a storage input when `stored`).
std::pair<job, std::vector<job_task>> make_job(const std::string& id, std::size_t n,
                                               bool stored = false, std::uint64_t created = 1) {
  job j;
  j.id = id;
  j.kind = stored ? "transcode" : "compute";
  j.owner = "alice";
  j.created_ms = created;
  std::vector<job_task> ts;
  for (std::size_t k = 0; k < n; ++k) {
    task t;
    t.id = task_id(verifier_id, id, k);
    t.kind = j.kind;
    if (stored) t.inputs = {"seg-" + std::to_string(k)};
    else t.params = {{"data", std::to_string(k)}};
    t.submitter = verifier_id;
    t.created_ms = created;
    ts.push_back({t, 7, stored ? "seg-" + std::to_string(k) : ""});
  }
  return {j, ts};
}

/// The simulated world around one coordinator.
struct world {
  coordinator c;
  std::map<node_id, int> keys;     ///< executor → key index
  std::set<node_id> liars;         ///< they answer a made-up result
  std::set<node_id> silent;        ///< they never answer
  std::set<node_id> builders_take; ///< builders that take receipts
  std::map<bytes, bytes> store;    ///< what the synced writes left
  std::vector<effects::forward> forwarded;
  std::vector<effects::run> runs;       ///< in flight (answered by `pump`)
  std::vector<effects::batch> batches;  ///< in flight
  std::vector<effects::evidence> frauds;
  std::vector<request_id> checks;
  std::vector<node_id> stake_reads;
  std::size_t flushes = 0, receipts = 0;
  std::map<exec::rejection, std::uint32_t> rejected;
  bool flush_due = false;
  std::uint64_t height = 0;

  explicit world(coordinator_config cfg = {}) : c(verifier_id, "poe-test", cfg) {}

  void apply(effects fx) {
    for (auto& [k, v] : fx.writes) store[k] = v;
    for (auto& f : fx.forwards) {
      for (auto& id : f.ids) // a receipt leaves only once its write is in the store
        REQUIRE(store.count(records::key(records::receipt, id.view())));
      forwarded.push_back(f);
    }
    for (auto& r : fx.runs) runs.push_back(std::move(r));
    for (auto& b : fx.batches) batches.push_back(std::move(b));
    for (auto& e : fx.frauds) frauds.push_back(std::move(e));
    for (auto& id : fx.checks) checks.push_back(id);
    for (auto& w : fx.read_stakes) stake_reads.push_back(w);
    for (auto& [r, n] : fx.rejected) rejected[r] += n;
    receipts += fx.receipts;
    flush_due |= fx.flush;
  }

  void executor(int k, std::uint64_t stake = 100) {
    keys[key(k).id()] = k;
    std::set<node_id> all;
    for (auto& [id, _] : keys) all.insert(id);
    apply(c.on_executors(all, {key(k).id()}));
    apply(c.on_stake(key(k).id(), stake, 0));
  }
  void leave(int k) {
    keys.erase(key(k).id());
    std::set<node_id> all;
    for (auto& [id, _] : keys) all.insert(id);
    apply(c.on_executors(all, {}));
  }

  bytes result_for(const task& t, const node_id& who) const {
    task_result r;
    r.id = t.id;
    r.kind = t.kind;
    r.task_hash = wire::object_hash(t);
    if (!t.inputs.empty())
      r.outputs = {{"720p/" + t.inputs[0], "cid-of-" + t.id.hex() + (liars.count(who) ? "-lie" : ""), 100}};
    else
      r.facts = {{"digest", (liars.count(who) ? "lie-" : "d-") + t.id.hex()}};
    return wire::encode(r);
  }

  void answer(const node_id& who, const request_id& id, std::uint64_t epoch, const bytes& wire_task) {
    c.on_replied(who, 1);
    if (silent.count(who)) return apply(c.on_no_answer(id, who, epoch, false));
    auto t = wire::decode_task(wire_task);
    REQUIRE(t);
    auto result = result_for(*t, who);
    auto& k = key(keys.at(who));
    exec::commitment cm{who, result, poe_commit(k, id, result)};
    auto check = c.awaits(id, epoch, who) ? poe_check::valid : poe_check::bad_signature;
    apply(c.on_answer(id, epoch, who, cm, k.pub().der(), check, false, height * 1000));
  }

  /// Delivers everything in flight until nothing is left: answers, checks (pass), flushes.
  void pump() {
    for (int rounds = 0; rounds < 1000; ++rounds) {
      if (!runs.empty()) {
        auto r = runs.front();
        runs.erase(runs.begin());
        answer(r.to, r.id, r.epoch, r.wire);
      } else if (!batches.empty()) {
        auto b = batches.front();
        batches.erase(batches.begin());
        for (std::size_t i = 0; i < b.items.size(); ++i) answer(b.to, b.items[i].first, b.items[i].second, b.wires[i]);
      } else if (!checks.empty()) {
        auto id = checks.front();
        checks.erase(checks.begin());
        apply(c.on_checks(id, true, ""));
      } else if (flush_due) {
        flush_due = false;
        ++flushes;
        apply(c.flush());
      } else {
        return;
      }
    }
    FAIL("the simulation did not settle");
  }

  void block(std::uint64_t txs = 0) {
    ++height;
    apply(c.on_block(height, h("block-" + std::to_string(height)), txs, 0, height * 1000));
    pump();
  }

  void launch(const std::pair<job, std::vector<job_task>>& j) {
    auto [k, v] = c.job_record(j.first, j.second);
    store[k] = v; // the adapter writes it synced first
    apply(c.launch(j.first, j.second));
  }

  std::size_t verified(const std::string& job_id) {
    auto held = c.held(job_id);
    REQUIRE(held);
    return std::count_if(held->second.begin(), held->second.end(),
                         [](auto& t) { return t.phase == exec::phase::verified; });
  }

  std::optional<bytes> read(const bytes& k) const {
    auto it = store.find(k);
    return it == store.end() ? std::nullopt : std::optional<bytes>(it->second);
  }
  stored_outcome outcome(const request_id& id) const {
    auto r = read(records::key(records::receipt, id.view()));
    return records::outcome_of(r, read(records::key(records::result, id.view())),
                               read(records::key(records::failure, id.view())));
  }
};

/// Runs blocks until the job's tasks are all verified (or `max` blocks passed).
void settle(world& w, const std::string& job_id, std::size_t n, int max = 20) {
  w.pump();
  for (int i = 0; i < max && w.verified(job_id) < n; ++i) w.block();
}

} // namespace

TEST_CASE("inline tasks leave in batches at the flush, storage tasks at once, none before stake") {
  coordinator_config cfg;
  cfg.batch_max = 4;
  cfg.verification.sample_rate_ppm = 0;
  world w(cfg);
  w.apply(w.c.on_tip(1, h("tip"), 0));
  w.launch(make_job("inline", 10));
  // No executor: every task waits, nothing is sent.
  CHECK(w.runs.empty());
  CHECK(w.c.flush().batches.empty());
  w.executor(1);
  // The stake arrived: the ten waiting tasks start and queue for one executor.
  CHECK(w.batches.empty()); // nothing leaves before the flush
  REQUIRE(w.flush_due);
  w.flush_due = false;
  w.apply(w.c.flush());
  REQUIRE(w.batches.size() == 3); // 4 + 4 + 2: batch_max
  CHECK(w.batches[0].items.size() == 4);
  CHECK(w.batches[2].items.size() == 2);
  for (auto& b : w.batches) CHECK(b.to == key(1).id());
  w.launch(make_job("stored", 3, true, 2));
  CHECK(w.runs.size() == 3); // storage-input tasks are sent at once, one ex_run each
  settle(w, "inline", 10);
  settle(w, "stored", 3);
  CHECK(w.verified("inline") == 10);
  CHECK(w.verified("stored") == 3);
  CHECK(w.c.open_tasks() == 0);
  CHECK(w.receipts == 13);
  // Inline digests and stored outputs come back in the status.
  auto held = w.c.held("inline");
  CHECK(held->second[3].digest == "d-" + held->second[3].id.hex());
  auto stored = w.c.held("stored");
  REQUIRE(stored->second[0].outputs.size() == 1);
  CHECK(stored->second[0].segment == "seg-0");
}

TEST_CASE("receipts are forwarded after their write, to one builder, and retried until taken") {
  coordinator_config cfg;
  cfg.verification.sample_rate_ppm = 0;
  cfg.forward_retry_blocks = 4;
  world w(cfg);
  w.apply(w.c.on_tip(1, h("tip"), 0));
  w.executor(1);
  // No builder yet: receipts are kept.
  w.launch(make_job("j", 6));
  settle(w, "j", 6);
  CHECK(w.forwarded.empty());
  CHECK(w.c.unforwarded() == 6);
  // Two builders join: every receipt is offered to exactly one, the rendezvous choice.
  auto b1 = key(50).id(), b2 = key(51).id();
  w.apply(w.c.on_builders({b1, b2}));
  std::map<request_id, node_id> chosen;
  for (auto& f : w.forwarded)
    for (auto& id : f.ids) {
      CHECK_FALSE(chosen.count(id));
      chosen[id] = f.builder;
    }
  CHECK(chosen.size() == 6);
  for (auto& [id, b] : chosen) {
    auto s1 = sha256{}.update(id.view()).update(b1.view()).finish();
    auto s2 = sha256{}.update(id.view()).update(b2.view()).finish();
    CHECK(b == (s2 < s1 ? b1 : b2));
  }
  // b1 takes its receipts, b2 refuses: b1's get their mark, b2's stay for a retry.
  std::size_t taken = 0;
  for (auto& [id, b] : chosen) {
    w.apply(w.c.on_forwarded(id, b == b1));
    taken += b == b1;
  }
  w.pump();
  CHECK(w.c.unforwarded() == 6 - taken);
  for (auto& [id, b] : chosen)
    CHECK(w.store.count(records::key(records::forwarded, id.view())) == (b == b1 ? 1u : 0u));
  // Retried every forward_retry_blocks blocks, to the same builder.
  w.forwarded.clear();
  while (w.height % 4 != 3) w.block();
  CHECK(w.forwarded.empty());
  w.block();
  std::size_t offered = 0;
  for (auto& f : w.forwarded) {
    CHECK(f.builder == b2);
    offered += f.ids.size();
  }
  CHECK(offered == 6 - taken);
  // After a restart, receipts without a mark are offered again once builders are known.
  world again(cfg);
  for (auto& [k, v] : w.store)
    if (auto id = records::request_of(records::receipt, k);
        id && !w.store.count(records::key(records::forwarded, id->view())))
      again.c.restore_unforwarded(*id, v);
  CHECK(again.c.unforwarded() == 6 - taken);
  again.store = w.store;
  again.apply(again.c.on_builders({b2}));
  std::size_t n = 0;
  for (auto& f : again.forwarded) n += f.ids.size();
  CHECK(n == 6 - taken);
}

TEST_CASE("a restarted coordinator resumes unfinished jobs only, oldest first, same request ids") {
  coordinator_config cfg;
  cfg.verification.sample_rate_ppm = 0;
  world w(cfg);
  w.apply(w.c.on_tip(1, h("tip"), 0));
  w.executor(1);
  w.launch(make_job("done", 3, true, 5));
  settle(w, "done", 3);
  // A second job half done: its first task verified, the executor left before the rest.
  auto running = make_job("running", 4, true, 3);
  w.launch(running);
  auto first = w.runs.front();
  w.runs.clear(); // the other three stay in flight, never answered
  w.answer(first.to, first.id, first.epoch, first.wire);
  w.pump();
  w.block();
  CHECK(w.outcome(running.second[0].t.id).phase == exec::phase::verified);
  // The store as the restart finds it.
  std::vector<coordinator::stored_job> jobs;
  for (auto& [k, v] : w.store) {
    if (k.size() < 2 || k[0] != 'j' || k[1] != '/') continue;
    std::string id(k.begin() + 2, k.end());
    auto rec = records::decode_job(id, v);
    REQUIRE(rec);
    coordinator::stored_job sj{rec->first, rec->second, {}};
    for (auto& jt : rec->second) sj.outcomes.push_back(w.outcome(jt.t.id));
    jobs.push_back(std::move(sj));
  }
  REQUIRE(jobs.size() == 2);
  CHECK(jobs[1].job.id == "running");
  CHECK(jobs[1].tasks[2].t == running.second[2].t); // the record round-trips
  CHECK(jobs[1].tasks[2].work_units == 7);
  world back(cfg);
  back.store = w.store;
  back.apply(back.c.on_tip(w.height, h("tip-2"), 0));
  std::size_t resumed = 0, rerun = 0;
  back.apply(back.c.resume(jobs, resumed, rerun));
  CHECK(resumed == 1); // "done" finished: the store answers for it, not memory
  CHECK_FALSE(back.c.held("done"));
  auto held = back.c.held("running");
  REQUIRE(held);
  CHECK(held->second[0].phase == exec::phase::verified);
  CHECK(held->second[0].outputs.size() == 1);
  CHECK(rerun == 3);
  // The open tasks wait for an executor, then run again under their old request ids.
  back.executor(2);
  settle(back, "running", 4);
  for (std::size_t k = 1; k < 4; ++k) {
    auto o = back.outcome(running.second[k].t.id);
    CHECK(o.phase == exec::phase::verified);
    CHECK(o.outputs.at(0).cid == "cid-of-" + running.second[k].t.id.hex());
  }
  // A corrupt record is refused with a reason, not taken.
  auto rec = w.store.at(records::job_key("running"));
  rec.resize(rec.size() - 3);
  auto bad = records::decode_job("running", rec);
  REQUIRE_FALSE(bad);
  CHECK(bad.err().message.find("job running") != std::string::npos);
}

TEST_CASE("finished jobs leave memory beyond max-held-tasks but a running job stops the sweep") {
  coordinator_config cfg;
  cfg.verification.sample_rate_ppm = 0;
  cfg.max_held_tasks = 5;
  world w(cfg);
  w.apply(w.c.on_tip(1, h("tip"), 0));
  w.executor(1);
  for (int i = 0; i < 3; ++i) {
    w.launch(make_job("a" + std::to_string(i), 3, false, i));
    settle(w, "a" + std::to_string(i), 3);
  }
  w.block();
  CHECK(w.c.held_tasks() <= 5);
  CHECK_FALSE(w.c.held("a0"));
  CHECK(w.c.held("a2"));
  CHECK(w.c.dropped_jobs() == 2);
  // A running job (its executor silent) is never dropped, and holds back younger finished ones.
  w.silent.insert(key(1).id());
  w.launch(make_job("slow", 3, true, 10));
  w.runs.clear(); // in flight, unanswered
  w.silent.clear();
  w.launch(make_job("b", 3, false, 11));
  settle(w, "b", 3);
  w.block();
  CHECK(w.c.held("slow"));
  CHECK(w.c.held("b"));
  CHECK(w.c.held_tasks() > 5);
}

TEST_CASE("an executor that leaves is out of the draw at once and its tasks are handed on") {
  coordinator_config cfg;
  cfg.verification.sample_rate_ppm = 0;
  world w(cfg);
  w.apply(w.c.on_tip(1, h("tip"), 0));
  w.executor(1);
  w.executor(2);
  w.launch(make_job("j", 8, true));
  std::vector<effects::run> first = w.runs;
  w.runs.clear();
  std::size_t on1 = std::count_if(first.begin(), first.end(), [](auto& r) { return r.to == key(1).id(); });
  REQUIRE(on1 > 0);
  w.leave(1);
  // Every task awaiting executor 1 went to executor 2 at once, no timeout needed.
  CHECK(w.runs.size() == on1);
  for (auto& r : w.runs) CHECK(r.to == key(2).id());
  CHECK(w.rejected[exec::rejection::timed_out] == on1);
  CHECK(w.c.executors().size() == 1);
  // A late answer from the executor that left is for a stale attempt: dropped.
  for (auto& r : first)
    if (r.to == key(1).id()) {
      auto before = w.runs.size();
      w.keys[key(1).id()] = 1;
      w.answer(r.to, r.id, r.epoch, r.wire);
      w.keys.erase(key(1).id());
      CHECK(w.runs.size() == before);
    }
  for (auto& r : first)
    if (r.to == key(2).id()) w.runs.push_back(r);
  settle(w, "j", 8);
  CHECK(w.verified("j") == 8);
}

TEST_CASE("malformed answers are counted and reassigned and a sampled liar is proven with evidence") {
  coordinator_config cfg;
  cfg.verification.sample_rate_ppm = 1'000'000; // every result re-executed
  world w(cfg);
  w.apply(w.c.on_tip(1, h("tip"), 0));
  w.executor(1);
  w.executor(2);
  w.executor(3);
  w.launch(make_job("j", 1, true));
  REQUIRE(w.runs.size() == 1);
  auto r = w.runs.front();
  w.runs.clear();
  // An answer whose key is not the executor's: malformed, the task goes to another executor.
  auto result = w.result_for(*wire::decode_task(r.wire), r.to);
  w.apply(w.c.on_answer(r.id, r.epoch, r.to, {r.to, result, poe_commit(key(w.keys[r.to]), r.id, result)},
                        key(7).pub().der(), poe_check::valid, true, 0));
  CHECK(w.rejected[exec::rejection::malformed] == 1);
  REQUIRE(w.runs.size() == 1);
  CHECK(w.runs.front().to != r.to);
  // The second executor answers, its checks pass, the next block samples it: a third
  // executor re-runs it, agrees, and the receipt says so.
  for (int i = 0; i < 4 && w.verified("j") == 0; ++i) w.block();
  CHECK(w.verified("j") == 1);
  auto receipt = wire::decode_step_receipt(*w.read(records::key(records::receipt, r.id.view())));
  REQUIRE(receipt);
  CHECK(receipt->reexecuted);
  CHECK(receipt->executor != r.to);
  CHECK(receipt->result_bytes == 100); // what the outputs occupy in storage
  CHECK(w.frauds.empty());

  // A lying primary: the re-executor disagrees, the decider agrees with it: evidence against
  // the primary, and the task verified with the honest result.
  world l(cfg);
  l.apply(l.c.on_tip(1, h("tip"), 0));
  for (int k = 1; k <= 3; ++k) l.executor(k);
  l.launch(make_job("k", 1, true));
  auto liar = l.runs.front().to;
  l.liars.insert(liar);
  l.pump();
  for (int i = 0; i < 4 && l.frauds.empty(); ++i) l.block();
  REQUIRE(l.frauds.size() == 1);
  CHECK(l.frauds[0].what == "executor " + liar.hex().substr(0, 12) + " lied");
  CHECK(l.verified("k") == 1);
  auto id = make_job("k", 1, true).second[0].t.id;
  CHECK(l.outcome(id).outputs.at(0).cid == "cid-of-" + id.hex()); // the honest result
  CHECK(l.c.reputation().is_banned(liar));
}

TEST_CASE("a sampled task is re-executed and decided by the executors the chain draws from its anchor") {
  coordinator_config cfg;
  cfg.verification.sample_rate_ppm = 1'000'000;
  int framed_by_draw = 0;
  for (int round = 0; round < 8; ++round) {
    world w(cfg);
    w.apply(w.c.on_tip(5, h("tip"), 0));
    w.height = 5; // the next block is 6
    std::vector<chain::ledger::drawable_executor> pool;
    for (int k = 1; k <= 7; ++k) {
      w.executor(k);
      pool.push_back({key(k).id(), amount{100}, 1}); // staked in block 1, before the anchor
    }
    std::sort(pool.begin(), pool.end(), [](auto& a, auto& b) { return a.id < b.id; });
    w.c.on_pool(pool);
    auto j = make_job("d" + std::to_string(round), 1, true);
    j.second[0].t.anchor_height = 5; // the tip when it was made (the adapter sets it)
    w.launch(j);
    REQUIRE(w.runs.size() == 1);
    auto primary = w.runs.front().to;
    w.liars.insert(primary);
    auto id = j.second[0].t.id;
    auto drawn = chain::drawn_deciders(pool, h("tip"), id, primary);
    // Every run after the primary's goes to a drawn decider, and the evidence's witnesses
    // are the ones a validator will accept.
    w.pump();
    for (int i = 0; i < 6 && w.frauds.empty(); ++i) w.block();
    REQUIRE(w.frauds.size() == 1);
    auto& ev = w.frauds[0].ev;
    for (auto* x : {&ev.a, &ev.b}) {
      auto who = public_key::from_der(x->executor_key)->id();
      CHECK(std::find(drawn.begin(), drawn.end(), who) != drawn.end());
    }
    CHECK(wire::decode_task(ev.task.task)->anchor_height == 5);
    ++framed_by_draw;
  }
  CHECK(framed_by_draw == 8);
}

TEST_CASE("the same inputs give the same effects twice") {
  auto run = [] {
    coordinator_config cfg;
    cfg.verification.sample_rate_ppm = 300'000;
    world w(cfg);
    w.apply(w.c.on_tip(1, h("tip"), 0));
    for (int k = 1; k <= 4; ++k) w.executor(k);
    w.liars.insert(key(3).id());
    w.launch(make_job("j", 20, true));
    w.launch(make_job("c", 30, false, 2));
    for (int i = 0; i < 10; ++i) w.block(i % 3);
    std::vector<std::string> trace;
    for (auto& [k, v] : w.store) trace.push_back(to_hex(k) + "=" + to_hex(v));
    for (auto& f : w.frauds) trace.push_back(f.what + to_hex(chain::encode(f.ev)));
    return trace;
  };
  auto a = run(), b = run();
  CHECK(a.size() > 50);
  CHECK(a == b);
}
