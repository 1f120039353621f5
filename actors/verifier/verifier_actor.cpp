// The `verifier` role, with the job coordinator inside it. The coordinator lives here because
// a job is nothing but the set of its tasks' verifications: the verifier allocates the request
// ids, dispatches, checks and re-runs, so keeping the job's progress next to that state avoids
// a second owner of the task lifecycle and a hop per task. Several verifiers can run; each
// coordinates the jobs submitted to it.
//
//   (vf_job, source CID, ladder, owner) → job id: the source file is fetched from storage,
//       probed (non-media, corrupt or unsupported input is refused), split into GOP-aligned
//       segments by remuxing, the segments stored, and one transcode task per segment created
//       with every byte-affecting setting pinned (verifier.* options).
//   Each task follows poe_exec's verification state machine: executors are drawn by stake
//       (the chain's executor stake, read from a validator) × reputation from the latest block
//       hash (finalized blocks are pushed by a validator: chain_follow.hpp); executors and
//       builders come from the directory's membership pushes, and an executor that leaves is
//       out of the assignment pool at once (its awaited tasks are reassigned); the answer's PoE v1 is checked; the outputs pass the kind's cheap checks; the
//       first block after the commitment decides the sample; a sampled task is re-run on a
//       second executor, a third decides a mismatch; the liar's signed result and the two
//       agreeing ones go to the chain as executor fraud evidence.
//   Verified results become step receipts, persisted in column family `verifier`.
//   (vf_compute, owner, iterations, inputs) → job id: one compute task per input (inline data,
//       at most 4 KiB each, 1..10,000 inputs), the Proof-of-Compute path; no storage involved,
//       the digest comes back in the signed result.
//   Receipts, reputation changes and forwarding records are written in one synced batch per
//   turn of the mailbox (a flush message to self), and receipts go to a builder once durable.
//   Jobs are durable: a job's record is written (synced) before its id is answered, each
//   task's verified result or failure with its receipt, so a restarted verifier answers
//   `vf_status` for every job it ever started and runs the unfinished tasks again.
//   (vf_status, job id) → JSON progress; (vf_receipt, request id hex) → JSON receipt.
#include "offload.hpp"
#include "poe/actors/roles.hpp"
#include "poe/chain/evidence.hpp"
#include "poe/core/byte_io.hpp"
#include "poe/core/poe_v1.hpp"
#include "poe/exec/verification_state.hpp"
#include "poe/media/media.hpp"
#include "poe/runtime/messages.hpp"
#include "poe/runtime/metrics.hpp"
#include "poe/storage/cid.hpp"
#include "poe/store/store.hpp"
#include "poe/wire/codec.hpp"
#include "chain_follow.hpp"
#include "storage_io.hpp"
#include "task_kind.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <map>
#include <deque>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <cstring>
#include <memory>

namespace poe::actors {

using namespace poe::runtime;

namespace {

using bytes_t = std::vector<std::uint8_t>;
using collect_atom = caf::atom_constant<caf::atom("vf_poll")>;
using flush_atom = caf::atom_constant<caf::atom("vf_flush")>;
constexpr std::size_t max_compute_inputs = 10'000;
constexpr auto poll_interval = std::chrono::milliseconds(20);
constexpr const char* cf = "verifier";
/// Executor stakes are read again with every block that has transactions or evidence, when
/// executors change, and at least every this many blocks.
constexpr std::uint64_t stake_refresh_blocks = 8;
/// Receipts no builder took are offered again every this many blocks (and when builders change).
constexpr std::uint64_t forward_retry_blocks = 16;

caf::error failure(const std::string& why) {
  return caf::make_error(caf::sec::runtime_error, why);
}

/// A store key: `prefix` ‖ `rest` (the records are listed below, at vjob).
bytes record_key(std::string_view prefix, byte_view rest) {
  bytes k(prefix.begin(), prefix.end());
  append(k, rest);
  return k;
}

bytes receipt_key(const request_id& id) { return record_key("r/", id.view()); }

/// "rep/" ‖ node id → u32 score (big-endian) ‖ u8 banned: the reputation book, kept across
/// restarts so an executor cannot shed a bad record by waiting for the verifier to restart.
constexpr std::string_view rep_prefix = "rep/";
bytes reputation_key(const node_id& who) { return record_key(rep_prefix, who.view()); }

/// Request ids are SHA-256 prefixes: their first 8 bytes hash them well enough.
struct id_hash {
  std::size_t operator()(const request_id& id) const {
    std::uint64_t h;
    std::memcpy(&h, id.data.data(), sizeof h);
    return static_cast<std::size_t>(h);
  }
};

struct vtask {
  std::unique_ptr<exec::verification> v;
  std::string job;
  std::string input;                ///< the segment's CID
  std::uint64_t commit_height = 0;  ///< height when the checks passed
  std::map<node_id, bytes> keys;    ///< DER keys of the executors that answered
  std::vector<task_output> outputs; ///< of the verified result
  std::string digest;               ///< of a verified inline compute result (its `digest` fact)
  std::uint64_t dispatch_epoch = 0; ///< guards against stale timeouts
  /// Finished before a restart (restored from the store): its phase and reason; `v` is idle.
  std::optional<exec::phase> restored;
  std::string restored_reason;

  exec::phase phase() const { return restored ? *restored : v->current(); }
  std::string reason() const { return restored ? restored_reason : v->reason(); }
};

struct vjob {
  std::string id, source, owner, ladder;
  std::string kind = "transcode";
  std::uint64_t iterations = 0; ///< compute jobs
  std::vector<request_id> tasks;
  std::int64_t duration_ms = 0;
  std::uint64_t created_ms = 0;
};

// -- durable records (column family "verifier") ---------------------------------------------
//   "j/" ‖ job id  → the job as started: u8 1 ‖ blob kind ‖ blob source ‖ blob owner ‖
//                    blob ladder ‖ u64 iterations ‖ u64 duration_ms ‖ u64 created_ms ‖ u32 n ‖
//                    n × (blob task (wire) ‖ u64 work units ‖ blob input CID)
//   "r/" ‖ request → step receipt (wire); "o/" ‖ request → the verified result (canonical
//                    task_result bytes); "x/" ‖ request → u8 phase ‖ reason (failed, unresolved)
//   "f/" ‖ request → a builder took the receipt; "rep/" ‖ node id → reputation.


/// One task of a job record.
struct job_task {
  bytes wire; ///< wire::encode(task)
  std::uint64_t work_units = 0;
  std::string input;
};

bytes encode_job(const vjob& j, const std::vector<job_task>& tasks) {
  bytes out{1};
  for (auto* f : {&j.kind, &j.source, &j.owner, &j.ladder}) append_blob(out, as_bytes(*f));
  append_u64_be(out, j.iterations);
  append_u64_be(out, static_cast<std::uint64_t>(j.duration_ms));
  append_u64_be(out, j.created_ms);
  append_u32_be(out, static_cast<std::uint32_t>(tasks.size()));
  for (auto& t : tasks) {
    append_blob(out, t.wire);
    append_u64_be(out, t.work_units);
    append_blob(out, as_bytes(t.input));
  }
  return out;
}

result<std::pair<vjob, std::vector<job_task>>> decode_job(const std::string& id, byte_view raw) {
  byte_reader r(raw);
  if (r.u8() != 1) return fail(errc::decode_error, "job " + id + ": unknown record version");
  vjob j;
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
    job_task t;
    t.wire = r.blob();
    t.work_units = r.u64();
    t.input = text();
    tasks.push_back(std::move(t));
  }
  if (!r.done()) return fail(errc::decode_error, "job " + id + ": corrupt record");
  return std::make_pair(std::move(j), std::move(tasks));
}

struct vfstate {
  role_context ctx;
  exec::verification_config cfg;
  std::chrono::milliseconds task_timeout{120'000};
  std::int64_t segment_ms = 2000;
  std::vector<param> pinned; ///< transcode settings (without the ladder)
  std::string ladder;
  exec::reputation_book book;
  std::unordered_map<request_id, vtask, id_hash> tasks;
  std::unordered_set<request_id, id_hash> open; ///< tasks not yet verified, failed or unresolved
  std::map<std::string, vjob> jobs;
  std::deque<std::string> job_order;  ///< job ids, oldest first
  std::size_t max_held_tasks = 200'000; ///< beyond, the oldest finished jobs leave memory
  std::uint64_t dropped_jobs = 0;
  std::uint64_t next_job = 1;
  std::uint64_t height = 0;
  hash256 block;
  std::unique_ptr<chain_follower> chain; ///< finalized blocks, pushed by a validator
  std::vector<exec::executor_info> executors;
  std::map<node_id, caf::actor> handles;
  /// Inline tasks to send per executor at the next flush: its handle, (request, epoch)s.
  std::map<node_id, std::pair<caf::actor, std::vector<std::pair<request_id, std::uint64_t>>>> outbox;
  std::map<node_id, std::uint32_t> load;     ///< tasks dispatched there, not yet answered
  std::map<node_id, std::uint32_t> capacity; ///< task slots each executor registered
  std::map<node_id, caf::actor> builders;     ///< builder roles in the directory
  std::map<request_id, bytes> unforwarded;    ///< receipts no builder has taken yet
  std::unique_ptr<offload> work;             ///< media probing, splitting and output checks
  bool polling = false;                      ///< a collect_atom timer is pending
  store::batch writes;                       ///< written (synced) at the next flush
  std::set<node_id> reputation_changed;      ///< their scores go into the next flush
  std::vector<std::pair<request_id, bytes>> to_forward; ///< receipts in `writes`
  bool flushing = false;                     ///< a flush_atom is queued
  std::shared_ptr<metrics::counter> receipts_c, frauds_c, rejected_c, reexec_c;
  std::map<exec::rejection, std::shared_ptr<metrics::counter>> rejections;
  std::shared_ptr<metrics::gauge> tasks_g;

  void set_load(const node_id& who, std::uint32_t n) {
    load[who] = n;
    for (auto& x : executors)
      if (x.id == who) x.load = n;
  }
};

/// Runs `w` on a worker thread; its continuation runs on the actor (collect_atom timer).
void off_actor(caf::event_based_actor* self, const std::shared_ptr<vfstate>& s, offload::work w) {
  s->work->post(std::move(w));
  if (!s->polling) {
    s->polling = true;
    self->delayed_send(self, poll_interval, collect_atom::value);
  }
}

void collect(caf::event_based_actor* self, const std::shared_ptr<vfstate>& s) {
  s->work->collect();
  s->polling = !s->work->idle();
  if (s->polling) self->delayed_send(self, poll_interval, collect_atom::value);
}

void handle(caf::event_based_actor* self, const std::shared_ptr<vfstate>& s, const request_id& id,
            exec::verification_effects fx);

/// Runs `flush` once the messages already in the mailbox are handled: a burst of answers costs
/// one synced write, one message per executor and one per builder, not one each.
void schedule_flush(caf::event_based_actor* self, const std::shared_ptr<vfstate>& s) {
  if (!s->flushing) {
    s->flushing = true;
    self->send(self, flush_atom::value);
  }
}

/// Queues a write for the next flush.
void write_later(caf::event_based_actor* self, const std::shared_ptr<vfstate>& s,
                 const bytes& key, const bytes& value) {
  s->writes.put(cf, key, value);
  schedule_flush(self, s);
}

/// "f/" ‖ request id → empty: a builder took the receipt. Receipts without it are sent again
/// after a restart.
bytes forwarded_key(const request_id& id) { return record_key("f/", id.view()); }

/// Sends receipts to builders, each to one builder chosen by rendezvous hashing of its request
/// id over the builders known (so each receipt goes to one BPI, and the same one on a retry),
/// one message per builder; kept for a retry at the next refresh when none takes them, and
/// recorded once one did.
void forward_receipts(caf::event_based_actor* self, const std::shared_ptr<vfstate>& s,
                      const std::vector<std::pair<request_id, bytes>>& receipts) {
  std::map<node_id, std::pair<std::vector<request_id>, std::vector<bytes_t>>> by_builder;
  for (auto& [id, wire] : receipts) {
    s->unforwarded[id] = wire;
    const node_id* best = nullptr;
    hash256 top;
    for (auto& [node, h] : s->builders) {
      auto score = sha256{}.update(id.view()).update(node.view()).finish();
      if (!best || top < score) best = &node, top = score;
    }
    if (!best) continue;
    auto& [ids, wires] = by_builder[*best];
    ids.push_back(id);
    wires.emplace_back(wire.begin(), wire.end());
  }
  for (auto& [node, batch] : by_builder) {
    auto ids = std::move(batch.first);
    self->request(s->builders[node], std::chrono::seconds(10), bd_receipts_atom::value,
                  std::move(batch.second))
      .then(
        [=](const std::vector<submit_reply>& answers) {
          for (std::size_t i = 0; i < ids.size() && i < answers.size(); ++i) {
            if (!answers[i].taken()) {
              s->ctx.log->info("receipt {}: not taken by a builder yet: {}", ids[i].hex(),
                               answers[i].text());
              continue;
            }
            s->unforwarded.erase(ids[i]);
            write_later(self, s, forwarded_key(ids[i]), bytes{});
          }
        },
        [=](caf::error& e) {
          s->ctx.log->info("{} receipt(s): not taken by a builder yet: {}", ids.size(),
                           self->system().render(e));
        });
  }
}

/// No usable answer for task `id` from `to` (an error, a timeout, or — `malformed` — an answer
/// that cannot be used: counted as such, handled as a timeout).
void on_no_answer(caf::event_based_actor* self, const std::shared_ptr<vfstate>& s,
                  const request_id& id, const node_id& to, std::uint64_t epoch, bool malformed) {
  auto t = s->tasks.find(id);
  if (t == s->tasks.end() || t->second.dispatch_epoch != epoch) return;
  auto fx = t->second.v->on_timeout(to, s->executors, s->block);
  if (malformed && fx.rejected) fx.rejected = exec::rejection::malformed;
  handle(self, s, id, std::move(fx));
}

void answered(const std::shared_ptr<vfstate>& s, const node_id& to, std::uint32_t n = 1) {
  s->set_load(to, s->load[to] > n ? s->load[to] - n : 0);
}

/// An executor's answer to a task, its PoE checked on a worker thread.
struct checked_answer {
  request_id id;
  std::uint64_t epoch = 0;
  exec::commitment c;
  bytes_t der;
  poe_check check = poe_check::valid;
  bool malformed = false; ///< the DER is not a key, or not the executor's
};

/// Verifies `answers` (all from `who`) on the calling worker thread, with PoE checkers kept
/// per thread and key.
void check_answers(std::vector<checked_answer>& answers, const node_id& who) {
  thread_local std::map<bytes_t, std::optional<poe_verifier>> checkers;
  if (checkers.size() > 1024) checkers.clear(); // bounded: keys are few, junk DER is not kept
  for (auto& a : answers) {
    auto it = checkers.find(a.der);
    if (it == checkers.end()) {
      auto key = public_key::from_der(a.der);
      it = checkers.emplace(a.der, key ? std::optional<poe_verifier>(std::in_place, *key) : std::nullopt).first;
    }
    if (!it->second || it->second->key().id() != who) {
      a.malformed = true;
      continue;
    }
    a.check = it->second->verify(a.id, a.c.result, a.c.proof);
  }
}

/// An answer whose PoE was checked: into the task's state machine.
void on_checked(caf::event_based_actor* self, const std::shared_ptr<vfstate>& s,
                const node_id& who, checked_answer& a) {
  auto t = s->tasks.find(a.id);
  if (t == s->tasks.end() || t->second.dispatch_epoch != a.epoch) return;
  if (a.malformed) return on_no_answer(self, s, a.id, who, a.epoch, true);
  t->second.keys[who] = a.der; // its SHA-256 is `who` (checked)
  handle(self, s, a.id,
         t->second.v->on_commit(a.c, who, a.check, s->executors, s->block, s->ctx.clock.now_ms()));
}

/// Answers from `who` (single or batched): those a task awaits are PoE-checked on the worker
/// threads (verifier.check-threads) in chunks, so the actor keeps dispatching and recording
/// meanwhile; one no task awaits goes to its state machine at once, which refuses it.
void take_answers(caf::event_based_actor* self, const std::shared_ptr<vfstate>& s,
                  const node_id& who, std::vector<checked_answer> answers) {
  std::vector<checked_answer> heard;
  for (auto& a : answers) {
    auto t = s->tasks.find(a.id);
    if (t == s->tasks.end() || t->second.dispatch_epoch != a.epoch) continue;
    if (t->second.v->hears(who))
      heard.push_back(std::move(a));
    else // `check` is not looked at: the commitment was not awaited
      handle(self, s, a.id, t->second.v->on_commit(a.c, who, a.check, s->executors, s->block, s->ctx.clock.now_ms()));
  }
  for (std::size_t at = 0; at < heard.size(); at += 64) {
    auto chunk = std::make_shared<std::vector<checked_answer>>(
      std::make_move_iterator(heard.begin() + static_cast<long>(at)),
      std::make_move_iterator(heard.begin() + static_cast<long>(std::min(heard.size(), at + 64))));
    off_actor(self, s, [=]() -> offload::continuation {
      check_answers(*chunk, who);
      return [=] {
        for (auto& a : *chunk) on_checked(self, s, who, a);
      };
    });
  }
}

/// An answer as sent (result, PoE, signature, the executor's DER key), or nullopt when the PoE
/// is not 32 bytes.
std::optional<checked_answer> answer_of(const request_id& id, std::uint64_t epoch,
                                        const node_id& who, const bytes_t& result,
                                        const bytes_t& poe, const bytes_t& sig, const bytes_t& der) {
  auto p = hash256::from_view(poe);
  if (!p) return std::nullopt;
  checked_answer a;
  a.id = id;
  a.epoch = epoch;
  a.c = {who, result, {id, who, *p, sig}};
  a.der = der;
  return a;
}

/// Sends the inline tasks queued per executor, one ex_batch message each (at most 2000 tasks).
void send_batches(caf::event_based_actor* self, const std::shared_ptr<vfstate>& s) {
  auto outbox = std::move(s->outbox);
  s->outbox.clear();
  for (auto& [to, queued] : outbox) {
    auto& [handle_of, items] = queued;
    for (std::size_t at = 0; at < items.size(); at += 2000) {
      std::vector<std::pair<request_id, std::uint64_t>> part(
        items.begin() + static_cast<long>(at),
        items.begin() + static_cast<long>(std::min(items.size(), at + 2000)));
      std::vector<bytes_t> wires;
      for (auto& [id, epoch] : part) {
        auto w = wire::encode(s->tasks.at(id).v->the_task());
        wires.emplace_back(w.begin(), w.end());
      }
      auto who = to;
      self->request(handle_of, s->task_timeout, ex_batch_atom::value, std::move(wires))
        .then(
          [=](const std::vector<bytes_t>& results, const std::vector<bytes_t>& poes,
              const std::vector<bytes_t>& sigs, const std::vector<std::string>& errors,
              const bytes_t& der) {
            answered(s, who, static_cast<std::uint32_t>(part.size()));
            bool whole = results.size() == part.size() && poes.size() == part.size() &&
                         sigs.size() == part.size() && errors.size() == part.size();
            std::vector<checked_answer> answers;
            for (std::size_t i = 0; i < part.size(); ++i) {
              auto& [id, epoch] = part[i];
              if (whole && !errors[i].empty()) {
                s->ctx.log->info("task {}: executor {} gave no result: {}", id.hex(),
                                 who.hex().substr(0, 12), errors[i]);
                on_no_answer(self, s, id, who, epoch, false);
              } else if (auto a = whole ? answer_of(id, epoch, who, results[i], poes[i], sigs[i], der)
                                        : std::nullopt) {
                answers.push_back(std::move(*a));
              } else {
                on_no_answer(self, s, id, who, epoch, true); // not an answer we can use
              }
            }
            take_answers(self, s, who, std::move(answers));
          },
          [=](caf::error& e) {
            answered(s, who, static_cast<std::uint32_t>(part.size()));
            s->ctx.log->info("{} task(s): executor {} gave no result: {}", part.size(),
                             who.hex().substr(0, 12), self->system().render(e));
            for (auto& [id, epoch] : part) on_no_answer(self, s, id, who, epoch, false);
          });
    }
  }
}

void flush(caf::event_based_actor* self, const std::shared_ptr<vfstate>& s) {
  s->flushing = false;
  for (auto& who : s->reputation_changed) {
    auto score = s->book.of(who);
    bytes v{static_cast<std::uint8_t>(score >> 24), static_cast<std::uint8_t>(score >> 16),
            static_cast<std::uint8_t>(score >> 8), static_cast<std::uint8_t>(score),
            static_cast<std::uint8_t>(s->book.is_banned(who))};
    s->writes.put(cf, reputation_key(who), v);
  }
  s->reputation_changed.clear();
  if (!s->writes.empty()) {
    if (auto st = s->ctx.store->write(s->writes, store::write_mode::sync); !st)
      s->ctx.log->error("{} receipt(s) and records could not be stored: {}", s->writes.size(),
                        st.err().message);
    s->writes.clear();
  }
  auto ready = std::move(s->to_forward);
  s->to_forward.clear();
  if (!ready.empty()) forward_receipts(self, s, ready);
  send_batches(self, s);
}

void submit_evidence(caf::event_based_actor* self, const std::shared_ptr<vfstate>& s, bytes raw,
                     std::string what) {
  find_role(
      self, s->ctx.directory, "validator", s->ctx.node_id,
      [=](caf::actor v) {
        self->request(v, std::chrono::seconds(30), evidence_atom::value, raw)
            .then([=](const submit_reply& r) { s->ctx.log->warn("{}: evidence {}", what, r.text()); },
                  [=](caf::error& e) {
                    s->ctx.log->warn("{}: evidence not submitted: {}", what,
                                     self->system().render(e));
                  });
      },
      [=](const std::string& why) {
        s->ctx.log->warn("{}: evidence not submitted: {}", what, why);
      });
}

void dispatch(caf::event_based_actor* self, const std::shared_ptr<vfstate>& s, const request_id& id,
              const node_id& to) {
  auto it = s->tasks.find(id);
  if (it == s->tasks.end()) return;
  auto h = s->handles.find(to);
  auto epoch = ++it->second.dispatch_epoch;
  if (h == s->handles.end()) return on_no_answer(self, s, id, to, epoch, false); // left the directory
  s->set_load(to, s->load[to] + 1);
  if (it->second.v->the_task().inputs.empty()) { // inline: batched per executor at the flush
    auto& q = s->outbox[to];
    q.first = h->second;
    q.second.emplace_back(id, epoch);
    return schedule_flush(self, s);
  }
  auto wire = wire::encode(it->second.v->the_task());
  self->request(h->second, s->task_timeout, ex_run_atom::value, bytes_t(wire.begin(), wire.end()))
      .then(
          [=](bytes_t& result, bytes_t& poe, bytes_t& sig, bytes_t& der) {
            answered(s, to);
            if (auto a = answer_of(id, epoch, to, result, poe, sig, der))
              take_answers(self, s, to, {std::move(*a)});
            else
              on_no_answer(self, s, id, to, epoch, true); // not an answer we can use
          },
          [=](caf::error& e) {
            answered(s, to);
            s->ctx.log->info("task {}: executor {} gave no result: {}", id.hex(),
                             to.hex().substr(0, 12), self->system().render(e));
            on_no_answer(self, s, id, to, epoch, false);
          });
}

/// The cheap checks of the primary's outputs: fetch the input and the outputs, ask the kind.
void run_checks(caf::event_based_actor* self, const std::shared_ptr<vfstate>& s,
                const request_id& id) {
  auto it = s->tasks.find(id);
  if (it == s->tasks.end() || !it->second.v->primary()) return;
  auto claimed = wire::decode_task_result(it->second.v->primary()->result);
  auto verdict = [=](bool ok, const std::string& why) {
    auto t = s->tasks.find(id);
    if (t == s->tasks.end()) return;
    t->second.commit_height = s->height;
    handle(self, s, id, t->second.v->on_checks(ok, why, s->executors, s->block));
  };
  if (!claimed) return verdict(false, "the result does not decode: " + claimed.err().message);
  if (claimed->id != id || claimed->kind != it->second.v->the_task().kind)
    return verdict(false, "the result names another request or kind");
  auto t = it->second.v->the_task();
  if (t.inputs.empty() && claimed->outputs.empty()) {
    // Inline work (compute on `data`): nothing to fetch, the checks are a glance at the facts.
    auto* kind = execution::find_kind(t.kind);
    auto st = kind ? kind->check_outputs(t, {}, {}, claimed->facts)
                   : status(fail(errc::invalid_argument, "unknown kind " + t.kind));
    return verdict(bool(st), st ? "" : st.err().message);
  }
  find_role(
      self, s->ctx.directory, "storage", s->ctx.node_id,
      [=](caf::actor storage) {
        auto files = std::make_shared<std::vector<bytes>>(claimed->outputs.size() + 1);
        auto left = std::make_shared<std::size_t>(files->size());
        auto failed = std::make_shared<bool>(false);
        auto got = [=](std::size_t i, result<bytes> data) {
          if (*failed) return;
          if (!data) {
            *failed = true;
            return verdict(false, "an output cannot be read: " + data.err().message);
          }
          (*files)[i] = std::move(*data);
          if (--*left > 0) return;
          std::vector<execution::kind_output> outs;
          for (std::size_t k = 0; k < claimed->outputs.size(); ++k) {
            if ((*files)[k + 1].size() != claimed->outputs[k].size) {
              return verdict(false,
                             "output " + claimed->outputs[k].name + " is not the size claimed");
            }
            outs.push_back({claimed->outputs[k].name, std::move((*files)[k + 1])});
          }
          // Decoding the outputs takes a while: on a worker thread, the verdict on the actor.
          off_actor(self, s, [=, input = std::move((*files)[0]), outs = std::move(outs)] {
            auto* kind = execution::find_kind(t.kind);
            status st = fail(errc::invalid_argument, "unknown kind " + t.kind);
            try {
              if (kind) st = kind->check_outputs(t, {input}, outs, claimed->facts);
            } catch (const std::exception& e) {
              st = fail(errc::io_error, std::string("the checks threw: ") + e.what());
            }
            return [=] { verdict(bool(st), st ? "" : st.err().message); };
          });
        };
        fetch_file(self, storage, t.inputs.at(0), [=](result<bytes> d) { got(0, std::move(d)); });
        for (std::size_t k = 0; k < claimed->outputs.size(); ++k)
          fetch_file(self, storage, claimed->outputs[k].cid,
                     [=](result<bytes> d) { got(k + 1, std::move(d)); });
      },
      [=](const std::string& why) { verdict(false, why); });
}

/// The outputs and digest of a verified result (canonical task_result bytes); false when it
/// does not decode (nothing is set then).
bool take_result(byte_view result, std::vector<task_output>& outputs, std::string& digest) {
  auto r = wire::decode_task_result(result);
  if (!r) return false;
  outputs = r->outputs;
  for (auto& f : r->facts)
    if (f.key == "digest") digest = f.value;
  return true;
}

void handle(caf::event_based_actor* self, const std::shared_ptr<vfstate>& s, const request_id& id,
            exec::verification_effects fx) {
  auto it = s->tasks.find(id);
  if (it == s->tasks.end()) return;
  auto& t = it->second;
  for (auto& [who, e] : fx.reputation) {
    auto score = s->book.record(who, e);
    for (auto& x : s->executors)
      if (x.id == who) x.reputation_ppm = score;
    s->reputation_changed.insert(who); // written once per flush, not once per task
    schedule_flush(self, s);
  }
  if (fx.rejected) {
    auto& c = s->rejections[*fx.rejected];
    if (!c)
      c = s->ctx.metrics->make_counter(
          "poe_verifier_rejected_total",
          "Executor answers not taken, by reason (PoE checks, cheap checks, timeouts).",
          {{"reason", std::string(exec::to_string(*fx.rejected))}});
    c->inc();
  }
  if (!fx.note.empty()) s->ctx.log->info("task {}: {}", id.hex(), fx.note);
  if (fx.fraud) {
    auto& f = *fx.fraud;
    auto signed_of = [&](const exec::commitment& c) {
      return chain::signed_result{t.keys[c.executor], c.result, c.proof.poe, c.proof.sig};
    };
    chain::executor_fraud_evidence ev{s->ctx.chain_id,  t.keys[f.liar], id,
                                      signed_of(f.lie), signed_of(f.a), signed_of(f.b)};
    if (s->frauds_c) s->frauds_c->inc();
    submit_evidence(self, s, chain::encode(ev), "executor " + f.liar.hex().substr(0, 12) + " lied");
  }
  if (fx.receipt) {
    const auto& verified = fx.fraud ? fx.fraud->a.result : t.v->primary()->result;
    if (take_result(verified, t.outputs, t.digest)) {
      // Storage rent charges what the outputs occupy in storage (the storage accounting's
      // bytes), not the size of the result record that lists them.
      std::uint64_t stored = 0;
      for (auto& o : t.outputs) stored += o.size;
      fx.receipt->result_bytes = stored;
    }
    auto w = wire::encode(*fx.receipt);
    write_later(self, s, receipt_key(id), w);
    write_later(self, s, record_key("o/", id.view()), verified); // for job status
    s->to_forward.emplace_back(id, w); // once the receipt is durable
    if (s->receipts_c) s->receipts_c->inc();
    if (fx.receipt->reexecuted && s->reexec_c) s->reexec_c->inc();
    // Inline work is verified by the thousand per second: logged at debug.
    s->ctx.log->log(t.v->the_task().inputs.empty() ? spdlog::level::debug : spdlog::level::info,
                    "task {} verified: executor {}{}", id.hex(),
                    fx.receipt->executor.hex().substr(0, 12),
                    fx.receipt->reexecuted ? " (re-executed)" : "");
  }
  auto ph = t.v->current();
  if (ph == exec::phase::verified || ph == exec::phase::failed || ph == exec::phase::unresolved)
    s->open.erase(id);
  if (ph == exec::phase::failed || ph == exec::phase::unresolved) {
    if (s->rejected_c) s->rejected_c->inc();
    s->ctx.log->warn("task {} {}: {}", id.hex(), exec::to_string(t.v->current()), t.v->reason());
    bytes v{static_cast<std::uint8_t>(ph)};
    append(v, as_bytes(t.v->reason()));
    write_later(self, s, record_key("x/", id.view()), v);
  }
  if (fx.dispatch_to) dispatch(self, s, id, *fx.dispatch_to);
  if (fx.run_checks) run_checks(self, s, id);
}

/// Keeps at most `max_held_tasks` tasks in memory (for job status): beyond, the oldest jobs
/// leave once every task of theirs is finished (their receipts stay in the store). A job
/// still running stops the sweep: memory may exceed the bound while old jobs are open.
void drop_finished_jobs(const std::shared_ptr<vfstate>& s) {
  while (s->tasks.size() > s->max_held_tasks && !s->job_order.empty()) {
    auto j = s->jobs.find(s->job_order.front());
    if (j != s->jobs.end()) {
      for (auto& id : j->second.tasks)
        if (s->open.count(id)) return;
      for (auto& id : j->second.tasks) s->tasks.erase(id);
      s->jobs.erase(j);
      ++s->dropped_jobs;
    }
    s->job_order.pop_front();
  }
}

/// Feeds the chain's latest block to the open tasks: the first block after a commitment
/// decides the sample; tasks no executor could take yet are started again.
void feed_tasks(caf::event_based_actor* self, const std::shared_ptr<vfstate>& s) {
  // Only the open tasks (handle() drops the ones that end from `open`).
  std::vector<request_id> ids(s->open.begin(), s->open.end());
  for (auto& id : ids) {
    auto& t = s->tasks.at(id);
    if (t.v->current() == exec::phase::awaiting_block && s->height > t.commit_height)
      handle(self, s, id, t.v->on_block(s->block, s->executors, s->ctx.clock.now_ms()));
    else if (t.v->waiting()) // no executor had stake yet
      handle(self, s, id, t.v->start(s->executors, s->block));
  }
  if (s->tasks_g) s->tasks_g->set(static_cast<double>(s->open.size()));
}

/// Reads the executor stake of every executor the directory lists (a typed account view from
/// the validator we follow); an executor enters the assignment pool with its stake.
void refresh_stakes(caf::event_based_actor* self, const std::shared_ptr<vfstate>& s) {
  auto v = s->chain->validator();
  if (!v) return;
  for (auto& [nid, h] : s->handles) {
    auto who = nid;
    self->request(v, std::chrono::seconds(5), account_atom::value, who.hex())
      .then(
        [=](const account_view& a) {
          if (!s->handles.count(who)) return; // left meanwhile
          auto stake = a.stake_of(chain::stake_role::executor);
          auto cap = s->capacity.count(who) ? s->capacity[who] : 1;
          for (auto& x : s->executors)
            if (x.id == who) {
              x.stake = stake;
              x.reputation_ppm = s->book.of(who);
              x.capacity = cap;
              return;
            }
          s->executors.push_back({who, stake, s->book.of(who), cap, s->load[who]});
          feed_tasks(self, s); // waiting tasks may start now
        },
        [=](caf::error& e) {
          s->ctx.log->info("executor {}: stake not read: {}", who.hex().substr(0, 12),
                           self->system().render(e));
        });
  }
}

/// The directory's execution roles changed. One that left is out of the pool at once, and the
/// tasks awaiting it are handed on (as a timeout would, without waiting for it); a new one is
/// asked for its capacity and its stake is read.
void on_executors(caf::event_based_actor* self, const std::shared_ptr<vfstate>& s,
                  const std::vector<role_entry>& members) {
  std::map<node_id, caf::actor> now;
  for (auto& e : members)
    if (auto nid = node_id::from_hex(e.node)) now[*nid] = e.handle;
  std::set<node_id> gone;
  for (auto& [nid, h] : s->handles)
    if (!now.count(nid)) gone.insert(nid);
  std::vector<std::pair<node_id, caf::actor>> added;
  for (auto& [nid, h] : now)
    if (!s->handles.count(nid) || s->handles[nid] != h) added.emplace_back(nid, h);
  s->handles = std::move(now);
  if (!gone.empty()) {
    s->executors.erase(std::remove_if(s->executors.begin(), s->executors.end(),
                                      [&](const exec::executor_info& x) { return gone.count(x.id); }),
                       s->executors.end());
    for (auto& who : gone) {
      s->ctx.log->info("executor {} left the directory: out of the assignment pool",
                       who.hex().substr(0, 12));
      s->outbox.erase(who);
      s->capacity.erase(who);
      s->load.erase(who);
    }
    std::vector<std::pair<request_id, std::pair<node_id, std::uint64_t>>> stranded;
    for (auto& id : s->open) {
      auto& t = s->tasks.at(id);
      if (auto a = t.v->awaited(); a && gone.count(*a))
        stranded.push_back({id, {*a, t.dispatch_epoch}});
    }
    for (auto& [id, who] : stranded) on_no_answer(self, s, id, who.first, who.second, false);
  }
  for (auto& [nid, h] : added) {
    auto who = nid;
    // The capacity the executor registers: its worker threads.
    self->request(h, std::chrono::seconds(5), ex_info_atom::value)
      .then(
        [=](const executor_status& st) {
          auto slots = std::clamp<std::uint32_t>(st.workers, 1, 1024);
          s->capacity[who] = slots;
          for (auto& x : s->executors)
            if (x.id == who) x.capacity = slots;
        },
        [](caf::error&) {});
  }
  if (!added.empty()) refresh_stakes(self, s);
}

/// The directory's builders changed: receipts no builder took yet are offered again.
void retry_forwarding(caf::event_based_actor* self, const std::shared_ptr<vfstate>& s) {
  std::vector<std::pair<request_id, bytes>> retry;
  for (auto& [id, wire] : s->unforwarded) {
    if (retry.size() >= 1000) break;
    retry.emplace_back(id, wire);
  }
  if (!retry.empty()) forward_receipts(self, s, retry);
}

void on_builders(caf::event_based_actor* self, const std::shared_ptr<vfstate>& s,
                 const std::vector<role_entry>& members) {
  s->builders.clear();
  for (auto& e : members)
    if (auto nid = node_id::from_hex(e.node)) s->builders[*nid] = e.handle;
  retry_forwarding(self, s);
}

/// A finalized block, pushed: the chain view moves (height, block hash), the open tasks see it.
void on_block(caf::event_based_actor* self, const std::shared_ptr<vfstate>& s,
              const chain_block& b) {
  auto id = hash256::from_view(b.id);
  if (!id) return;
  s->height = b.height;
  s->block = *id;
  feed_tasks(self, s);
  // Stakes change only through transactions and evidence (slashing).
  if (b.transactions > 0 || b.evidence > 0 || b.height % stake_refresh_blocks == 0)
    refresh_stakes(self, s);
  if (b.height % forward_retry_blocks == 0) retry_forwarding(self, s);
  drop_finished_jobs(s);
}

/// The chain's status at (re)subscription: the tip before the next block arrives.
void on_chain_status(caf::event_based_actor* self, const std::shared_ptr<vfstate>& s,
                     const chain_status& st) {
  auto id = hash256::from_view(st.block);
  if (!id || st.height < s->height) return;
  s->height = st.height;
  s->block = *id;
  refresh_stakes(self, s);
  feed_tasks(self, s);
}

/// The request id of a job's k-th task: SHA-256("poe/request/v1" ‖ verifier ‖ job ‖ k).
request_id task_id(const std::shared_ptr<vfstate>& s, const std::string& job, std::size_t k) {
  request_id id;
  auto d = sha256{}
               .update(as_bytes(std::string_view("poe/request/v1")))
               .update(s->ctx.key->id().view())
               .update(as_bytes(job))
               .update(as_bytes(std::to_string(k)))
               .finish();
  std::copy(d.data.begin(), d.data.begin() + id.data.size(), id.data.begin());
  return id;
}

std::vector<param> task_params(const std::shared_ptr<vfstate>& s, const std::string& ladder) {
  auto ps = s->pinned;
  ps.push_back({"ladder", ladder});
  std::sort(ps.begin(), ps.end(), [](auto& a, auto& b) { return a.key < b.key; });
  return ps;
}

void store_segments(caf::event_based_actor* self, const std::shared_ptr<vfstate>& s,
                    caf::actor storage, vjob job, std::int64_t duration_ms,
                    std::shared_ptr<std::vector<media::segment>> segs, caf::response_promise rp);

/// Takes task `t` of `job` into memory: finished before a restart when `restored` is set,
/// otherwise open (started by the caller).
void add_task(const std::shared_ptr<vfstate>& s, vjob& job, const task& t, const job_task& jt,
              std::optional<exec::phase> restored = std::nullopt, std::string reason = {}) {
  job.tasks.push_back(t.id);
  vtask vt;
  vt.v = std::make_unique<exec::verification>(t, s->ctx.key->id(), jt.work_units, s->cfg);
  vt.job = job.id;
  vt.input = jt.input;
  vt.restored = restored;
  vt.restored_reason = std::move(reason);
  s->tasks.insert_or_assign(t.id, std::move(vt));
  if (!restored) s->open.insert(t.id);
}

/// Writes the job's record (synced: from here on the job survives a restart), takes its tasks
/// into memory and starts them. Nothing starts when the record cannot be written.
status launch_job(caf::event_based_actor* self, const std::shared_ptr<vfstate>& s, vjob job,
                  std::vector<std::pair<task, job_task>> tasks) {
  std::vector<job_task> records;
  for (auto& [t, jt] : tasks) {
    jt.wire = wire::encode(t);
    records.push_back(jt);
  }
  if (auto st = s->ctx.store->put(cf, record_key("j/", as_bytes(job.id)), encode_job(job, records),
                                  store::write_mode::sync);
      !st)
    return fail(errc::io_error, "the job could not be stored: " + st.err().message);
  for (auto& [t, jt] : tasks) add_task(s, job, t, jt);
  s->jobs[job.id] = job;
  s->job_order.push_back(job.id);
  for (auto& id : job.tasks) handle(self, s, id, s->tasks[id].v->start(s->executors, s->block));
  return {};
}

/// A job: source → probe → segments → stored → one verified task per segment.
void start_job(caf::event_based_actor* self, const std::shared_ptr<vfstate>& s, vjob job,
               caf::response_promise rp) {
  find_role(
      self, s->ctx.directory, "storage", s->ctx.node_id,
      [=](caf::actor storage) mutable {
        fetch_file(self, storage, job.source, [=](result<bytes> src) mutable {
          if (!src) return rp.deliver(failure("source: " + src.err().message));
          // Probing and splitting read the whole file: on a worker thread.
          off_actor(self, s, [=, src = std::move(*src), segment_ms = s->segment_ms]() mutable {
            auto facts = media::probe(src);
            auto segs = facts ? media::split(src, segment_ms)
                              : result<std::vector<media::segment>>(facts.err());
            return offload::continuation([=, facts = std::move(facts),
                                          segs = std::move(segs)]() mutable {
              if (!facts) return rp.deliver(failure("source refused: " + facts.err().message));
              if (!segs) return rp.deliver(failure("source refused: " + segs.err().message));
              store_segments(self, s, storage, std::move(job), facts->duration_ms,
                             std::make_shared<std::vector<media::segment>>(std::move(*segs)), rp);
            });
          });
        });
      },
      [=](const std::string& why) mutable { rp.deliver(failure(why)); });
}

/// Stores a job's segments, then creates and starts one task per segment.
void store_segments(caf::event_based_actor* self, const std::shared_ptr<vfstate>& s,
                    caf::actor storage, vjob job, std::int64_t duration_ms,
                    std::shared_ptr<std::vector<media::segment>> segs, caf::response_promise rp) {
  job.duration_ms = duration_ms;
  auto cids = std::make_shared<std::vector<std::string>>(segs->size());
  auto left = std::make_shared<std::size_t>(segs->size());
  auto failed = std::make_shared<bool>(false);
  for (std::size_t i = 0; i < segs->size(); ++i)
    store_file(self, storage, (*segs)[i].data, "video/mp2t", job.owner,
               [=](result<std::string> id) mutable {
                 if (*failed) return;
                 if (!id) {
                   *failed = true;
                   return rp.deliver(failure("storing a segment: " + id.err().message));
                 }
                 (*cids)[i] = std::move(*id);
                 if (--*left > 0) return;
                 std::vector<std::pair<task, job_task>> tasks;
                 for (std::size_t k = 0; k < cids->size(); ++k) {
                   task t;
                   t.id = task_id(s, job.id, k);
                   t.kind = "transcode";
                   t.params = task_params(s, job.ladder);
                   t.inputs = {(*cids)[k]};
                   t.submitter = s->ctx.key->id();
                   t.created_ms = job.created_ms;
                   tasks.push_back({std::move(t), job_task{{}, (*segs)[k].frames, (*cids)[k]}});
                 }
                 s->ctx.log->info("job {}: {} segments of {} ({} ms) from {}", job.id,
                                  tasks.size(), job.source, job.duration_ms, job.owner);
                 if (auto st = launch_job(self, s, job, std::move(tasks)); !st)
                   return rp.deliver(failure(st.err().message));
                 rp.deliver(job.id);
               });
}

/// A compute job: one task per inline input, checked by the kind before anything starts.
caf::result<std::string> start_compute(caf::event_based_actor* self,
                                       const std::shared_ptr<vfstate>& s, vjob job,
                                       const std::vector<bytes_t>& inputs) {
  if (inputs.empty() || inputs.size() > max_compute_inputs)
    return failure("a compute job has 1.." + std::to_string(max_compute_inputs) +
                   " inputs, got " + std::to_string(inputs.size()));
  auto* kind = execution::find_kind("compute");
  std::vector<task> tasks;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    task t;
    t.id = task_id(s, job.id, k);
    t.kind = "compute";
    t.params = {{"data", to_hex(inputs[k])}, {"iterations", std::to_string(job.iterations)}};
    t.submitter = s->ctx.key->id();
    t.created_ms = job.created_ms;
    if (auto st = kind->check(t); !st)
      return failure("input " + std::to_string(k) + ": " + st.err().message);
    tasks.push_back(std::move(t));
  }
  std::vector<std::pair<task, job_task>> made;
  for (auto& t : tasks) made.push_back({std::move(t), job_task{{}, job.iterations, {}}});
  s->ctx.log->info("job {}: {} compute task(s) of {} iteration(s) from {}", job.id,
                   made.size(), job.iterations, job.owner);
  if (auto st = launch_job(self, s, job, std::move(made)); !st) return failure(st.err().message);
  return job.id;
}

/// A task as `vf_status` shows it.
struct task_view {
  request_id id;
  std::string segment;
  exec::phase phase = exec::phase::assigned;
  std::uint32_t attempts = 0;
  std::string reason;
  std::vector<task_output> outputs;
  std::string digest;
};

/// What the store says of a task: verified (a receipt and the result), failed or unresolved
/// (with the reason), or nothing yet (assigned).
task_view stored_view(const std::shared_ptr<vfstate>& s, const request_id& id) {
  task_view v;
  v.id = id;
  if (auto r = s->ctx.store->get(cf, receipt_key(id)); r && *r) {
    v.phase = exec::phase::verified;
    if (auto o = s->ctx.store->get(cf, record_key("o/", id.view())); o && *o)
      take_result(**o, v.outputs, v.digest);
  } else if (auto x = s->ctx.store->get(cf, record_key("x/", id.view())); x && *x && !(*x)->empty()) {
    auto ph = static_cast<exec::phase>((**x)[0]);
    v.phase = ph == exec::phase::unresolved ? ph : exec::phase::failed;
    v.reason.assign((**x).begin() + 1, (**x).end());
  }
  return v;
}

/// `archived`: read from the store (finished, and no longer held in memory).
job_status status_of(const vjob& job, const std::vector<task_view>& views, bool archived) {
  job_status out;
  out.job = job.id;
  out.kind = job.kind;
  out.owner = job.owner;
  if (job.kind == "compute") {
    out.iterations = job.iterations;
  } else {
    out.source = job.source;
    out.ladder = job.ladder;
    out.duration_ms = job.duration_ms;
  }
  out.archived = archived;
  for (auto& t : views) {
    out.verified += t.phase == exec::phase::verified;
    out.failed += t.phase == exec::phase::failed || t.phase == exec::phase::unresolved;
    task_status ts;
    ts.request.assign(t.id.data.begin(), t.id.data.end());
    ts.segment = t.segment;
    ts.phase = std::string(exec::to_string(t.phase));
    ts.attempts = t.attempts;
    ts.reason = t.reason;
    for (auto& o : t.outputs) ts.outputs.push_back({o.name, o.cid, o.size});
    ts.digest = t.digest;
    out.tasks.push_back(std::move(ts));
  }
  out.done = out.verified + out.failed == views.size();
  return out;
}

/// After a restart: every job with a task not yet finished comes back into memory — its
/// finished tasks as the store has them, the others started again (same request ids, so an
/// honest executor gives the same result). Jobs whose tasks all finished stay in the store
/// (`vf_status` reads them there). Returns (jobs resumed, tasks to run again).
std::pair<std::size_t, std::size_t> resume_jobs(caf::event_based_actor* self,
                                                const std::shared_ptr<vfstate>& s) {
  std::vector<std::pair<std::string, bytes>> records;
  auto st = s->ctx.store->for_each(cf, as_bytes(std::string_view("j/")), [&](byte_view k, byte_view v) {
    records.emplace_back(std::string(k.begin() + 2, k.end()), bytes(v.begin(), v.end()));
    return true;
  });
  if (!st) throw std::runtime_error("reading the jobs: " + st.err().message);
  std::vector<std::pair<std::uint64_t, vjob>> resumed;
  std::size_t rerun = 0;
  for (auto& [id, raw] : records) {
    auto rec = decode_job(id, raw);
    if (!rec) {
      s->ctx.log->error("{} (left in the store, not resumed)", rec.err().message);
      continue;
    }
    std::vector<std::pair<task, task_view>> tasks;
    bool open = false;
    for (auto& jt : rec->second) {
      auto t = wire::decode_task(jt.wire);
      if (!t) break;
      auto v = stored_view(s, t->id);
      open |= v.phase == exec::phase::assigned;
      tasks.push_back({std::move(*t), std::move(v)});
    }
    if (tasks.size() != rec->second.size()) {
      s->ctx.log->error("job {}: a stored task does not decode (left in the store)", id);
      continue;
    }
    if (!open) continue;
    auto job = rec->first;
    for (std::size_t k = 0; k < tasks.size(); ++k) {
      auto& [t, v] = tasks[k];
      if (v.phase == exec::phase::assigned) {
        add_task(s, job, t, rec->second[k]);
        ++rerun;
      } else {
        add_task(s, job, t, rec->second[k], v.phase, v.reason);
        auto& vt = s->tasks.at(t.id);
        vt.outputs = v.outputs;
        vt.digest = v.digest;
      }
    }
    resumed.emplace_back(job.created_ms, job);
  }
  std::sort(resumed.begin(), resumed.end(), [](auto& a, auto& b) { return a.first < b.first; });
  for (auto& [at, job] : resumed) {
    s->jobs[job.id] = job;
    s->job_order.push_back(job.id);
    for (auto& id : job.tasks)
      if (s->open.count(id)) handle(self, s, id, s->tasks.at(id).v->start(s->executors, s->block));
  }
  return {resumed.size(), rerun};
}


} // namespace

runtime::role_info verifier_role() {
  return {
      "verifier",
      "coordinates jobs, checks PoE v1, re-runs a sample, reports fraud",
      [](caf::event_based_actor* self, const role_context& ctx) -> caf::behavior {
        if (!ctx.store) throw std::runtime_error("the verifier role needs the node's store");
        if (!ctx.key) throw std::runtime_error("the verifier role needs the node key");
        auto s = std::make_shared<vfstate>();
        s->ctx = ctx;
        auto& opts = ctx.options().verifier; // checked at start (role_options.hpp)
        s->cfg.sample_rate_ppm = static_cast<std::uint32_t>(opts.sample_rate_ppm);
        s->task_timeout = std::chrono::milliseconds(opts.task_timeout_ms);
        s->segment_ms = static_cast<std::int64_t>(opts.segment_ms);
        s->max_held_tasks = opts.max_held_tasks;
        s->ladder = opts.ladder;
        if (auto l = media::parse_ladder(s->ladder); !l)
          throw std::runtime_error("verifier.ladder: " + l.err().message);
        else
          s->ladder = media::ladder_spec(*l);
        s->pinned = {{"audio_rate", std::to_string(opts.audio_rate)},
                     {"cpu", opts.cpu},
                     {"gop", std::to_string(opts.gop)},
                     {"preset", opts.preset},
                     {"threads", std::to_string(opts.threads)}};
        task probe_task;
        probe_task.kind = "transcode";
        probe_task.params = task_params(s, s->ladder);
        probe_task.inputs = {"x"};
        if (auto st = execution::find_kind("transcode")->check(probe_task); !st)
          throw std::runtime_error("verifier settings: " + st.err().message);
        auto& f = *ctx.metrics;
        s->receipts_c = f.make_counter("poe_verifier_receipts_total", "Tasks verified (receipts).");
        s->reexec_c =
            f.make_counter("poe_verifier_reexecuted_total", "Receipts of sampled re-executions.");
        s->frauds_c =
            f.make_counter("poe_verifier_frauds_total", "Executor frauds proven and reported.");
        s->rejected_c = f.make_counter("poe_verifier_tasks_failed_total",
                                       "Tasks that failed or stayed unresolved.");
        s->tasks_g = f.make_gauge("poe_verifier_open_tasks", "Tasks not yet verified or failed.");
        s->work = std::make_unique<offload>(std::max<std::size_t>(1, opts.check_threads));
        // Queued checks and their continuations hold `s`: dropped when the role ends.
        self->attach_functor([s] { s->work->stop(); });
        std::size_t restored = 0;
        auto rs = ctx.store->for_each(cf, as_bytes(rep_prefix), [&](byte_view k, byte_view v) {
          if (k.size() != rep_prefix.size() + 32 || v.size() != 5) return true;
          node_id who;
          std::copy(k.begin() + rep_prefix.size(), k.end(), who.data.begin());
          s->book.restore(who,
                          (std::uint32_t{v[0]} << 24) | (std::uint32_t{v[1]} << 16) |
                              (std::uint32_t{v[2]} << 8) | v[3],
                          v[4] != 0);
          ++restored;
          return true;
        });
        if (!rs) throw std::runtime_error("reading the reputation book: " + rs.err().message);
      // Receipts persisted but not yet taken by a builder (a restart lost the retry queue).
      std::set<request_id> taken;
      auto fs = ctx.store->for_each(cf, as_bytes(std::string_view("f/")), [&](byte_view k, byte_view) {
        request_id id;
        if (k.size() == 2 + id.data.size()) {
          std::copy(k.begin() + 2, k.end(), id.data.begin());
          taken.insert(id);
        }
        return true;
      });
      auto us = ctx.store->for_each(cf, as_bytes(std::string_view("r/")), [&](byte_view k, byte_view v) {
        request_id id;
        if (k.size() != 2 + id.data.size()) return true;
        std::copy(k.begin() + 2, k.end(), id.data.begin());
        if (!taken.count(id)) s->unforwarded[id] = bytes(v.begin(), v.end());
        return true;
      });
      if (!fs || !us) throw std::runtime_error("reading the receipts: " + (fs ? us : fs).err().message);
        auto [jobs, rerun] = resume_jobs(self, s);
        ctx.log->info("verifier: sample {} ppm, ladder {}, {} executor reputation(s) restored, {} "
                      "unfinished job(s) resumed ({} task(s) to run again)",
                      s->cfg.sample_rate_ppm, s->ladder, restored, jobs, rerun);
        // No history: sampling needs the latest block only.
        s->chain = std::make_unique<chain_follower>(
            chain_from_tip, [self, s](const chain_status& st) { on_chain_status(self, s, st); });
        for (auto role : {"validator", "execution", "builder"})
          self->send(ctx.directory, subscribe_atom::value, std::string(role));
        return {
            [self, s](members_atom, const std::string& role, const std::vector<role_entry>& xs) {
              if (role == "validator") s->chain->members(self, s->ctx, xs);
              else if (role == "execution") on_executors(self, s, xs);
              else if (role == "builder") on_builders(self, s, xs);
            },
            [self, s](const chain_block& b) {
              if (s->chain->take(self, s->ctx, b)) on_block(self, s, b);
            },
            [self, s](chain_retry_atom) { s->chain->subscribe(self, s->ctx); },
            [self, s](collect_atom) { collect(self, s); },
            [self, s](flush_atom) { flush(self, s); },
            [self, s](vf_compute_atom, const std::string& owner, std::uint64_t iterations,
                      const std::vector<bytes_t>& inputs) -> caf::result<std::string> {
              vjob job;
              job.id = std::to_string(s->ctx.clock.now_ms()) + "-" + std::to_string(s->next_job++);
              job.kind = "compute";
              job.owner = owner;
              job.iterations = iterations;
              job.created_ms = s->ctx.clock.now_ms();
              return start_compute(self, s, std::move(job), inputs);
            },
            [self, s](vf_job_atom, const std::string& source, const std::string& ladder,
                      const std::string& owner) -> caf::result<std::string> {
              if (!storage::cid::parse(source)) return failure("source: not a CID: " + source);
              vjob job;
              job.id = std::to_string(s->ctx.clock.now_ms()) + "-" + std::to_string(s->next_job++);
              job.source = source;
              job.owner = owner;
              job.created_ms = s->ctx.clock.now_ms();
              job.ladder = s->ladder;
              if (!ladder.empty()) {
                auto l = media::parse_ladder(ladder);
                if (!l) return failure("ladder: " + l.err().message);
                job.ladder = media::ladder_spec(*l);
              }
              auto rp = self->make_response_promise();
              start_job(self, s, job, rp);
              return caf::delegated<std::string>{};
            },
            [s](vf_status_atom, const std::string& job_id) -> caf::result<job_status> {
              if (auto j = s->jobs.find(job_id); j != s->jobs.end()) {
                std::vector<task_view> views;
                for (auto& id : j->second.tasks) {
                  auto& t = s->tasks.at(id);
                  views.push_back({id, t.input, t.phase(), t.restored ? 0 : t.v->attempts(),
                                   t.reason(), t.outputs, t.digest});
                }
                return status_of(j->second, views, false);
              }
              // Not in memory (finished and evicted, or finished before a restart): the store.
              auto raw = s->ctx.store->get(cf, record_key("j/", as_bytes(job_id)));
              if (!raw || !*raw) return failure("no job " + job_id);
              auto rec = decode_job(job_id, **raw);
              if (!rec) return failure(rec.err().message);
              std::vector<task_view> views;
              for (auto& jt : rec->second) {
                auto t = wire::decode_task(jt.wire);
                if (!t) return failure("job " + job_id + ": stored task: " + t.err().message);
                auto v = stored_view(s, t->id);
                v.segment = jt.input;
                views.push_back(std::move(v));
              }
              return status_of(rec->first, views, true);
            },
            [s](vf_receipt_atom, const std::string& hex) -> caf::result<bytes_t> {
              auto id = request_id::from_hex(hex);
              if (!id) return failure("request id: " + id.err().message);
              auto raw = s->ctx.store->get(cf, receipt_key(*id));
              if (!raw || !*raw) return failure("no receipt for request " + hex);
              return bytes_t((*raw)->begin(), (*raw)->end()); // the step receipt (wire)
            },
        };
      },
      {}};
}

} // namespace poe::actors
