// The verifier's job coordinator (see coordinator_state.hpp for its rules).
#include "coordinator_state.hpp"

#include "poe/chain/evidence.hpp"
#include "poe/core/byte_io.hpp"
#include "poe/core/sha256.hpp"
#include "poe/wire/codec.hpp"

#include <algorithm>

namespace poe::coord {

// -- records -------------------------------------------------------------------------------------

namespace records {

bytes key(std::string_view prefix, byte_view rest) {
  bytes k(prefix.begin(), prefix.end());
  append(k, rest);
  return k;
}

bytes job_key(std::string_view job_id) { return key(job, as_bytes(job_id)); }

bytes encode_job(const coord::job& j, const std::vector<job_task>& tasks) {
  bytes out{1};
  for (auto* f : {&j.kind, &j.source, &j.owner, &j.ladder}) append_blob(out, as_bytes(*f));
  append_u64_be(out, j.iterations);
  append_u64_be(out, static_cast<std::uint64_t>(j.duration_ms));
  append_u64_be(out, j.created_ms);
  append_u32_be(out, static_cast<std::uint32_t>(tasks.size()));
  for (auto& t : tasks) {
    append_blob(out, wire::encode(t.t));
    append_u64_be(out, t.work_units);
    append_blob(out, as_bytes(t.input));
  }
  return out;
}

poe::result<std::pair<coord::job, std::vector<job_task>>> decode_job(const std::string& id,
                                                                    byte_view raw) {
  byte_reader r(raw);
  if (r.u8() != 1) return fail(errc::decode_error, "job " + id + ": unknown record version");
  coord::job j;
  j.id = id;
  auto text = [&] {
    auto b = r.blob();
    return std::string(b.begin(), b.end());
  };
  j.kind = text();
  j.source = text();
  j.owner = text();
  j.ladder = text();
  j.iterations = r.u64();
  j.duration_ms = static_cast<std::int64_t>(r.u64());
  j.created_ms = r.u64();
  auto n = r.u32();
  if (!r.ok() || n > r.remaining() / 16) return fail(errc::decode_error, "job " + id + ": truncated");
  std::vector<job_task> tasks;
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
    auto w = r.blob();
    job_task jt;
    jt.work_units = r.u64();
    jt.input = text();
    if (!r.ok()) break;
    auto t = wire::decode_task(w);
    if (!t) return fail(errc::decode_error, "job " + id + ": stored task: " + t.err().message);
    jt.t = std::move(*t);
    tasks.push_back(std::move(jt));
  }
  if (!r.done()) return fail(errc::decode_error, "job " + id + ": corrupt record");
  return std::make_pair(std::move(j), std::move(tasks));
}

stored_outcome outcome_of(const std::optional<bytes>& receipt, const std::optional<bytes>& result,
                          const std::optional<bytes>& failure) {
  stored_outcome o;
  if (receipt) {
    o.phase = exec::phase::verified;
    if (result) take_result(*result, o.outputs, o.digest);
  } else if (failure && !failure->empty()) {
    auto ph = static_cast<exec::phase>((*failure)[0]);
    o.phase = ph == exec::phase::unresolved ? ph : exec::phase::failed;
    o.reason.assign(failure->begin() + 1, failure->end());
  }
  return o;
}

std::optional<reputation_entry> decode_reputation(byte_view k, byte_view v) {
  if (k.size() != reputation.size() + 32 || v.size() != 5) return std::nullopt;
  reputation_entry e;
  std::copy(k.begin() + static_cast<long>(reputation.size()), k.end(), e.who.data.begin());
  e.score = (std::uint32_t{v[0]} << 24) | (std::uint32_t{v[1]} << 16) |
            (std::uint32_t{v[2]} << 8) | v[3];
  e.banned = v[4] != 0;
  return e;
}

std::optional<request_id> request_of(std::string_view prefix, byte_view k) {
  request_id id;
  if (k.size() != prefix.size() + id.data.size()) return std::nullopt;
  std::copy(k.begin() + static_cast<long>(prefix.size()), k.end(), id.data.begin());
  return id;
}

} // namespace records

bool take_result(byte_view result, std::vector<task_output>& outputs, std::string& digest) {
  auto r = wire::decode_task_result(result);
  if (!r) return false;
  outputs = r->outputs;
  for (auto& f : r->facts)
    if (f.key == "digest") digest = f.value;
  return true;
}

request_id task_id(const node_id& verifier, const std::string& job, std::size_t k) {
  request_id id;
  auto d = sha256{}
               .update(as_bytes(std::string_view("poe/request/v1")))
               .update(verifier.view())
               .update(as_bytes(job))
               .update(as_bytes(std::to_string(k)))
               .finish();
  std::copy(d.data.begin(), d.data.begin() + id.data.size(), id.data.begin());
  return id;
}

// -- the coordinator -------------------------------------------------------------------------------

struct coordinator::held_task {
  held_task(const task& t, const node_id& self, std::uint64_t work_units,
            const exec::verification_config& cfg)
    : v(t, self, work_units, cfg), task_hash(wire::object_hash(t)) {}
  exec::verification v;
  hash256 task_hash;                ///< what every result for it must name
  std::string job, input;
  std::uint64_t commit_height = 0;  ///< height when the checks passed
  std::map<node_id, bytes> keys;    ///< DER keys of the executors that answered
  std::vector<task_output> outputs; ///< of the verified result
  std::string digest;               ///< of a verified inline compute result
  std::uint64_t epoch = 0;          ///< the attempt answers must name (stale ones are dropped)
  /// Finished before a restart (restored from the store): its phase and reason; `v` is idle.
  std::optional<exec::phase> restored;
  std::string restored_reason;

  exec::phase phase() const { return restored ? *restored : v.current(); }
  std::string reason() const { return restored ? restored_reason : v.reason(); }
};

namespace {
std::string short_id(const node_id& n) { return n.hex().substr(0, 12); }
bool finished(exec::phase p) {
  return p == exec::phase::verified || p == exec::phase::failed || p == exec::phase::unresolved;
}
} // namespace

bool coordinator::for_task(const bytes& result, const held_task& t) {
  auto r = wire::decode_task_result(result);
  return r && r->id == t.v.the_task().id && r->task_hash == t.task_hash;
}

coordinator::coordinator(node_id self, std::string chain_id, coordinator_config cfg)
  : self_(self), chain_id_(std::move(chain_id)), cfg_(cfg) {}

coordinator::~coordinator() = default;

void coordinator::restore_reputation(const records::reputation_entry& e) {
  book_.restore(e.who, e.score, e.banned);
}

void coordinator::restore_unforwarded(const request_id& id, bytes receipt) {
  unforwarded_[id] = std::move(receipt);
}

std::string coordinator::new_job_id(std::uint64_t now_ms) {
  return std::to_string(now_ms) + "-" + std::to_string(next_job_++);
}

std::pair<bytes, bytes> coordinator::job_record(const coord::job& j,
                                                const std::vector<job_task>& tasks) const {
  return {records::job_key(j.id), records::encode_job(j, tasks)};
}

void coordinator::add_task(coord::job& j, const job_task& jt, const stored_outcome* restored) {
  auto t = std::make_unique<held_task>(jt.t, self_, jt.work_units, cfg_.verification);
  t->job = j.id;
  t->input = jt.input;
  if (restored) {
    t->restored = restored->phase;
    t->restored_reason = restored->reason;
    t->outputs = restored->outputs;
    t->digest = restored->digest;
  } else {
    open_.insert(jt.t.id);
  }
  job_tasks_[j.id].push_back(jt.t.id);
  tasks_.insert_or_assign(jt.t.id, std::move(t));
}

void coordinator::start(const request_id& id, effects& out) {
  auto it = tasks_.find(id);
  if (it != tasks_.end() && open_.count(id))
    handle(id, it->second->v.start(executors_, block_), out);
}

effects coordinator::launch(const coord::job& j, std::vector<job_task> tasks) {
  effects out;
  auto job = j;
  job_tasks_[job.id].clear();
  for (auto& jt : tasks) add_task(job, jt, nullptr);
  jobs_[job.id] = job;
  job_order_.push_back(job.id);
  for (auto& jt : tasks) start(jt.t.id, out);
  return out;
}

effects coordinator::resume(std::vector<stored_job> jobs, std::size_t& jobs_resumed,
                            std::size_t& tasks_rerun) {
  effects out;
  jobs_resumed = tasks_rerun = 0;
  std::stable_sort(jobs.begin(), jobs.end(),
                   [](auto& a, auto& b) { return a.job.created_ms < b.job.created_ms; });
  std::vector<std::string> resumed;
  for (auto& sj : jobs) {
    if (sj.outcomes.size() != sj.tasks.size()) continue;
    bool open = std::any_of(sj.outcomes.begin(), sj.outcomes.end(),
                            [](auto& o) { return o.phase == exec::phase::assigned; });
    if (!open || jobs_.count(sj.job.id)) continue; // finished: the store answers for it
    job_tasks_[sj.job.id].clear();
    for (std::size_t k = 0; k < sj.tasks.size(); ++k) {
      bool again = sj.outcomes[k].phase == exec::phase::assigned;
      add_task(sj.job, sj.tasks[k], again ? nullptr : &sj.outcomes[k]);
      tasks_rerun += again;
    }
    jobs_[sj.job.id] = sj.job;
    job_order_.push_back(sj.job.id);
    resumed.push_back(sj.job.id);
  }
  jobs_resumed = resumed.size();
  for (auto& id : resumed)
    for (auto& t : job_tasks_[id]) start(t, out);
  return out;
}

void coordinator::set_load(const node_id& who, std::uint32_t n) {
  load_[who] = n;
  for (auto& x : executors_)
    if (x.id == who) x.load = n;
}

void coordinator::put(bytes key, bytes value, effects& out) {
  pending_.emplace_back(std::move(key), std::move(value));
  out.flush = true;
}

void coordinator::handle(const request_id& id, exec::verification_effects fx, effects& out) {
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return;
  auto& t = *it->second;
  for (auto& [who, e] : fx.reputation) {
    auto score = book_.record(who, e);
    for (auto& x : executors_)
      if (x.id == who) x.reputation_ppm = score;
    reputation_changed_.insert(who); // written once per flush, not once per task
    out.flush = true;
  }
  if (fx.rejected) ++out.rejected[*fx.rejected];
  if (!fx.note.empty()) out.logs.push_back({effects::level::info, "task " + id.hex() + ": " + fx.note});
  if (fx.fraud) {
    auto& f = *fx.fraud;
    auto signed_of = [&](const exec::commitment& c) {
      return chain::signed_result{t.keys[c.executor], c.result, c.proof.poe, c.proof.sig};
    };
    chain::executor_fraud_evidence ev{chain_id_,       t.keys[f.liar], id, {},
                                      signed_of(f.lie), signed_of(f.a), signed_of(f.b)};
    ev.task.task = wire::encode(t.v.the_task());
    out.frauds.push_back({std::move(ev), "executor " + short_id(f.liar) + " lied"});
  }
  if (fx.receipt) {
    const auto& verified = fx.fraud ? fx.fraud->a.result : t.v.primary()->result;
    if (take_result(verified, t.outputs, t.digest)) {
      // Storage rent charges what the outputs occupy in storage (the storage accounting's
      // bytes), not the size of the result record that lists them.
      std::uint64_t stored = 0;
      for (auto& o : t.outputs) stored += o.size;
      fx.receipt->result_bytes = stored;
    }
    auto w = wire::encode(*fx.receipt);
    const auto& executor_key = t.keys[fx.receipt->executor];
    put(records::key(records::receipt, id.view()), w, out);
    put(records::key(records::result, id.view()), verified, out); // for job status
    put(records::key(records::executor_key, id.view()), executor_key, out);
    // Once the receipt is durable; the adapter signs it as it sends it.
    to_forward_.emplace_back(id, chain::encode(chain::attested_receipt{w, {}, {}, verified, executor_key}));
    ++out.receipts;
    out.reexecuted += fx.receipt->reexecuted;
    // Inline work is verified by the thousand per second: logged at debug.
    out.logs.push_back({t.v.the_task().inputs.empty() ? effects::level::debug : effects::level::info,
                        "task " + id.hex() + " verified: executor " +
                            short_id(fx.receipt->executor) +
                            (fx.receipt->reexecuted ? " (re-executed)" : "")});
  }
  auto ph = t.v.current();
  if (finished(ph)) open_.erase(id);
  if (ph == exec::phase::failed || ph == exec::phase::unresolved) {
    ++out.failed;
    out.logs.push_back({effects::level::warn, "task " + id.hex() + " " +
                                                  std::string(exec::to_string(ph)) + ": " +
                                                  t.v.reason()});
    bytes v{static_cast<std::uint8_t>(ph)};
    append(v, as_bytes(t.v.reason()));
    put(records::key(records::failure, id.view()), std::move(v), out);
  }
  if (fx.dispatch_to) dispatch(id, *fx.dispatch_to, out);
  if (fx.run_checks) out.checks.push_back(id);
}

void coordinator::dispatch(const request_id& id, const node_id& to, effects& out) {
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return;
  auto epoch = ++it->second->epoch;
  if (!members_.count(to)) return no_answer(id, to, epoch, false, out); // left the directory
  set_load(to, load_[to] + 1);
  const auto& t = it->second->v.the_task();
  if (t.inputs.empty()) { // inline: batched per executor at the flush
    outbox_[to].emplace_back(id, epoch);
    out.flush = true;
    return;
  }
  out.runs.push_back({to, id, epoch, wire::encode(t)});
}

void coordinator::no_answer(const request_id& id, const node_id& to, std::uint64_t epoch,
                            bool malformed, effects& out) {
  auto it = tasks_.find(id);
  if (it == tasks_.end() || it->second->epoch != epoch || !open_.count(id)) return;
  auto fx = it->second->v.on_timeout(to, executors_, block_);
  if (malformed && fx.rejected) fx.rejected = exec::rejection::malformed;
  handle(id, std::move(fx), out);
}

effects coordinator::on_no_answer(const request_id& id, const node_id& to, std::uint64_t epoch,
                                  bool malformed) {
  effects out;
  no_answer(id, to, epoch, malformed, out);
  return out;
}

void coordinator::on_replied(const node_id& who, std::uint32_t n) {
  auto it = load_.find(who);
  if (it == load_.end()) return; // left the directory meanwhile
  set_load(who, it->second > n ? it->second - n : 0);
}

bool coordinator::awaits(const request_id& id, std::uint64_t epoch, const node_id& who) const {
  auto it = tasks_.find(id);
  return it != tasks_.end() && it->second->epoch == epoch && it->second->v.hears(who);
}

effects coordinator::on_answer(const request_id& id, std::uint64_t epoch, const node_id& who,
                               const exec::commitment& c, const bytes& der, poe_check check,
                               bool malformed, std::uint64_t now_ms) {
  effects out;
  auto it = tasks_.find(id);
  if (it == tasks_.end() || it->second->epoch != epoch) return out;
  auto& t = *it->second;
  if (t.v.hears(who)) {
    if (malformed || !for_task(c.result, t)) {
      if (!malformed)
        out.logs.push_back({effects::level::info, "task " + id.hex() + ": executor " + short_id(who) +
                                                      " answered with a result for another task"});
      no_answer(id, who, epoch, true, out);
      return out;
    }
    t.keys[who] = der; // its SHA-256 is `who` (checked by the caller)
  } // else: not awaited; `check` is not looked at, the state machine refuses it
  handle(id, t.v.on_commit(c, who, check, executors_, block_, now_ms), out);
  return out;
}

effects coordinator::on_checks(const request_id& id, bool passed, const std::string& why) {
  effects out;
  auto it = tasks_.find(id);
  if (it == tasks_.end() || it->second->v.current() != exec::phase::checking) return out;
  it->second->commit_height = height_;
  handle(id, it->second->v.on_checks(passed, why, executors_, block_), out);
  return out;
}

void coordinator::remember_block(std::uint64_t height, const hash256& id) {
  recent_ids_[height] = id;
  while (!recent_ids_.empty() && recent_ids_.begin()->first + chain::ledger::recent_blocks < height)
    recent_ids_.erase(recent_ids_.begin());
}

void coordinator::draw_deciders(held_task& t) {
  auto& task = t.v.the_task();
  auto anchor = recent_ids_.find(task.anchor_height);
  if (t.v.has_deciders() || !t.v.primary() || task.anchor_height == 0 || anchor == recent_ids_.end())
    return; // no anchor known here (e.g. made before a restart): the usual draw
  std::vector<chain::ledger::drawable_executor> eligible;
  for (auto& x : pool_)
    if (x.since < task.anchor_height) eligible.push_back(x);
  t.v.set_deciders(chain::drawn_deciders(eligible, anchor->second, task.id, t.v.primary()->executor));
}

void coordinator::feed(std::uint64_t now_ms, effects& out) {
  std::vector<request_id> ids(open_.begin(), open_.end()); // handle() erases finished ones
  for (auto& id : ids) {
    auto& t = *tasks_.at(id);
    if (t.v.current() == exec::phase::awaiting_block && height_ > t.commit_height) {
      draw_deciders(t);
      handle(id, t.v.on_block(block_, executors_, now_ms), out);
    }
    else if (t.v.waiting()) // no executor had stake yet
      handle(id, t.v.start(executors_, block_), out);
    else if (t.v.stalled()) // every listed executor ran it already: another may have come
      handle(id, t.v.resume(executors_, block_, now_ms), out);
  }
}

effects coordinator::on_executors(const std::set<node_id>& members, const std::set<node_id>& fresh) {
  effects out;
  std::set<node_id> gone;
  for (auto& n : members_)
    if (!members.count(n)) gone.insert(n);
  members_ = members;
  if (!gone.empty()) {
    executors_.erase(std::remove_if(executors_.begin(), executors_.end(),
                                    [&](const exec::executor_info& x) { return gone.count(x.id); }),
                     executors_.end());
    for (auto& who : gone) {
      out.logs.push_back({effects::level::info,
                          "executor " + short_id(who) + " left the directory: out of the assignment pool"});
      outbox_.erase(who); // those tasks' epochs are handed on below
      capacity_.erase(who);
      load_.erase(who);
    }
    std::vector<std::tuple<request_id, node_id, std::uint64_t>> stranded;
    for (auto& id : open_) {
      auto& t = *tasks_.at(id);
      if (auto a = t.v.awaited(); a && gone.count(*a)) stranded.emplace_back(id, *a, t.epoch);
    }
    for (auto& [id, who, epoch] : stranded) no_answer(id, who, epoch, false, out);
  }
  for (auto& n : fresh)
    if (members_.count(n)) out.ask_capacity.push_back(n);
  if (!out.ask_capacity.empty()) out.read_stakes.assign(members_.begin(), members_.end());
  return out;
}

void coordinator::on_capacity(const node_id& who, std::uint32_t slots) {
  if (!members_.count(who)) return;
  slots = std::clamp<std::uint32_t>(slots, 1, 1024);
  capacity_[who] = slots;
  for (auto& x : executors_)
    if (x.id == who) x.capacity = slots;
}

effects coordinator::on_stake(const node_id& who, std::uint64_t stake, std::uint64_t now_ms) {
  effects out;
  if (!members_.count(who)) return out; // left meanwhile
  auto cap = capacity_.count(who) ? capacity_[who] : 1;
  for (auto& x : executors_)
    if (x.id == who) {
      x.stake = stake;
      x.reputation_ppm = book_.of(who);
      x.capacity = cap;
      return out;
    }
  executors_.push_back({who, stake, book_.of(who), cap, load_[who]});
  feed(now_ms, out); // waiting tasks may start now
  return out;
}

void coordinator::forward(const std::vector<std::pair<request_id, bytes>>& receipts, effects& out) {
  std::map<node_id, effects::forward> by_builder;
  for (auto& [id, wire] : receipts) {
    unforwarded_[id] = wire;
    const node_id* best = nullptr;
    hash256 top;
    for (auto& b : builders_) {
      auto score = sha256{}.update(id.view()).update(b.view()).finish();
      if (!best || top < score) best = &b, top = score;
    }
    if (!best) continue;
    auto& f = by_builder[*best];
    f.builder = *best;
    f.ids.push_back(id);
    f.receipts.push_back(wire);
  }
  for (auto& [b, f] : by_builder) out.forwards.push_back(std::move(f));
}

void coordinator::retry_forwarding(effects& out) {
  std::vector<std::pair<request_id, bytes>> retry;
  for (auto& [id, wire] : unforwarded_) {
    if (retry.size() >= cfg_.forward_retry_max) break;
    retry.emplace_back(id, wire);
  }
  if (!retry.empty()) forward(retry, out);
}

effects coordinator::on_builders(const std::set<node_id>& members) {
  effects out;
  builders_ = members;
  retry_forwarding(out);
  return out;
}

effects coordinator::on_forwarded(const request_id& id, bool taken) {
  effects out;
  if (!taken || !unforwarded_.erase(id)) return out;
  put(records::key(records::forwarded, id.view()), {}, out);
  return out;
}

effects coordinator::on_block(std::uint64_t height, const hash256& id, std::uint64_t transactions,
                              std::uint64_t evidence, std::uint64_t now_ms) {
  effects out;
  height_ = height;
  block_ = id;
  remember_block(height, id);
  feed(now_ms, out);
  // Stakes change only through transactions and evidence (slashing).
  if (transactions > 0 || evidence > 0 || height % cfg_.stake_refresh_blocks == 0)
    out.read_stakes.assign(members_.begin(), members_.end());
  if (height % cfg_.forward_retry_blocks == 0) retry_forwarding(out);
  evict();
  return out;
}

effects coordinator::on_tip(std::uint64_t height, const hash256& id, std::uint64_t now_ms) {
  effects out;
  if (height < height_) return out;
  height_ = height;
  block_ = id;
  remember_block(height, id);
  out.read_stakes.assign(members_.begin(), members_.end());
  feed(now_ms, out);
  return out;
}

effects coordinator::flush() {
  effects out;
  for (auto& who : reputation_changed_) {
    auto score = book_.of(who);
    bytes v{static_cast<std::uint8_t>(score >> 24), static_cast<std::uint8_t>(score >> 16),
            static_cast<std::uint8_t>(score >> 8), static_cast<std::uint8_t>(score),
            static_cast<std::uint8_t>(book_.is_banned(who))};
    pending_.emplace_back(records::key(records::reputation, who.view()), std::move(v));
  }
  reputation_changed_.clear();
  out.writes = std::move(pending_);
  pending_.clear();
  auto ready = std::move(to_forward_);
  to_forward_.clear();
  if (!ready.empty()) forward(ready, out);
  auto outbox = std::move(outbox_);
  outbox_.clear();
  for (auto& [to, items] : outbox) {
    for (std::size_t at = 0; at < items.size(); at += cfg_.batch_max) {
      effects::batch b;
      b.to = to;
      for (std::size_t i = at; i < std::min(items.size(), at + cfg_.batch_max); ++i) {
        auto it = tasks_.find(items[i].first);
        if (it == tasks_.end()) continue;
        b.items.push_back(items[i]);
        b.wires.push_back(wire::encode(it->second->v.the_task()));
      }
      if (!b.items.empty()) out.batches.push_back(std::move(b));
    }
  }
  return out;
}

void coordinator::evict() {
  while (tasks_.size() > cfg_.max_held_tasks && !job_order_.empty()) {
    auto j = jobs_.find(job_order_.front());
    if (j != jobs_.end()) {
      auto& ids = job_tasks_[j->first];
      for (auto& id : ids)
        if (open_.count(id)) return; // a job still running stops the sweep
      for (auto& id : ids) tasks_.erase(id);
      job_tasks_.erase(j->first);
      jobs_.erase(j);
      ++dropped_jobs_;
    }
    job_order_.pop_front();
  }
}

std::optional<std::pair<coord::job, std::vector<task_view>>>
coordinator::held(const std::string& id) const {
  auto j = jobs_.find(id);
  if (j == jobs_.end()) return std::nullopt;
  std::vector<task_view> views;
  for (auto& tid : job_tasks_.at(id)) {
    auto& t = *tasks_.at(tid);
    views.push_back({tid, t.input, t.phase(), t.restored ? 0 : t.v.attempts(), t.reason(),
                     t.outputs, t.digest});
  }
  return std::make_pair(j->second, std::move(views));
}

const exec::verification* coordinator::task_state(const request_id& id) const {
  auto it = tasks_.find(id);
  return it == tasks_.end() ? nullptr : &it->second->v;
}

} // namespace poe::coord
