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
//   (vf_status, job id) → job_status; (vf_receipt, request id hex) → the step receipt (wire).
//
// The coordinator's decisions are a pure state machine (coordinator_state.hpp, tested without
// actors or media); this file is its adapter: it turns messages into the state machine's
// inputs, runs the I/O and the CPU-heavy checks (storage reads, media probing and splitting,
// PoE checks, output checks: on worker threads) and carries out the returned effects in one
// `apply_effects`.
#include "coordinator_state.hpp"
#include "offload.hpp"
#include "poe/actors/roles.hpp"
#include "poe/chain/payments.hpp"
#include "poe/core/poe_v1.hpp"
#include "poe/media/media.hpp"
#include "poe/runtime/messages.hpp"
#include "poe/runtime/metrics.hpp"
#include "poe/storage/cid.hpp"
#include "poe/core/client_request.hpp"
#include "poe/store/store.hpp"
#include "poe/wire/codec.hpp"
#include "chain_follow.hpp"
#include "fee_payer.hpp"
#include "owner.hpp"
#include "storage_io.hpp"
#include "task_kind.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <map>
#include <memory>
#include <optional>
#include <set>

namespace poe::actors {

using namespace poe::runtime;
using coord::coordinator;
using coord::effects;
using coord::job_task;
namespace records = coord::records;

namespace {

using bytes_t = std::vector<std::uint8_t>;
using collect_atom = caf::atom_constant<caf::atom("vf_poll")>;
using flush_atom = caf::atom_constant<caf::atom("vf_flush")>;
constexpr std::size_t max_compute_inputs = 10'000;
constexpr auto poll_interval = std::chrono::milliseconds(20);
constexpr const char* cf = "verifier";

caf::error failure(const std::string& why) {
  return caf::make_error(caf::sec::runtime_error, why);
}

struct vfstate {
  role_context ctx;
  std::unique_ptr<coordinator> c;
  std::chrono::milliseconds task_timeout{120'000};
  std::int64_t segment_ms = 2000;
  std::vector<param> pinned; ///< transcode settings (without the ladder)
  std::string ladder;
  std::unique_ptr<chain_follower> chain;  ///< finalized blocks, pushed by a validator
  std::map<node_id, caf::actor> handles;  ///< execution roles in the directory
  std::map<node_id, caf::actor> builders; ///< builder roles in the directory
  std::unique_ptr<offload> work;          ///< media probing, splitting and all checks
  bool polling = false;                   ///< a collect_atom timer is pending
  bool flushing = false;                  ///< a flush_atom is queued
  std::shared_ptr<metrics::counter> receipts_c, frauds_c, rejected_c, reexec_c;
  std::map<exec::rejection, std::shared_ptr<metrics::counter>> rejections;
  std::shared_ptr<metrics::gauge> tasks_g;
  std::mt19937_64 rng; ///< nonces for clients' signed jobs (role_context::rng)
  nonce_book nonces;   ///< handed out by vf_nonce
  std::unique_ptr<fee_payer> fees; ///< paid work: jobs funded to this verifier
};
using state_ptr = std::shared_ptr<vfstate>;

/// Runs `w` on a worker thread; its continuation runs on the actor (collect_atom timer).
void off_actor(caf::event_based_actor* self, const state_ptr& s, offload::work w) {
  s->work->post(std::move(w));
  if (!s->polling) {
    s->polling = true;
    self->delayed_send(self, poll_interval, collect_atom::value);
  }
}

void collect(caf::event_based_actor* self, const state_ptr& s) {
  s->work->collect();
  s->polling = !s->work->idle();
  if (s->polling) self->delayed_send(self, poll_interval, collect_atom::value);
}

void apply_effects(caf::event_based_actor* self, const state_ptr& s, effects fx);

// -- answers ---------------------------------------------------------------------------------

/// An executor's answer to a task, its PoE checked on a worker thread.
struct checked_answer {
  request_id id;
  std::uint64_t epoch = 0;
  exec::commitment c;
  bytes der;
  poe_check check = poe_check::valid;
  bool malformed = false; ///< the DER is not a key, or not the executor's
};

/// Verifies `answers` (all from `who`) on the calling worker thread, with PoE checkers kept
/// per thread and key.
void check_answers(std::vector<checked_answer>& answers, const node_id& who) {
  thread_local std::map<bytes, std::optional<poe_verifier>> checkers;
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

void give(caf::event_based_actor* self, const state_ptr& s, const node_id& who, checked_answer& a) {
  apply_effects(self, s, s->c->on_answer(a.id, a.epoch, who, a.c, a.der, a.check, a.malformed,
                                         s->ctx.clock.now_ms()));
}

/// Answers from `who` (single or batched): those a task awaits are PoE-checked on the worker
/// threads (verifier.check-threads) in chunks, so the actor keeps dispatching and recording
/// meanwhile; one no task awaits goes to the coordinator at once, which refuses it.
void take_answers(caf::event_based_actor* self, const state_ptr& s, const node_id& who,
                  std::vector<checked_answer> answers) {
  std::vector<checked_answer> heard;
  for (auto& a : answers) {
    if (s->c->awaits(a.id, a.epoch, who))
      heard.push_back(std::move(a));
    else
      give(self, s, who, a);
  }
  for (std::size_t at = 0; at < heard.size(); at += 64) {
    auto chunk = std::make_shared<std::vector<checked_answer>>(
      std::make_move_iterator(heard.begin() + static_cast<long>(at)),
      std::make_move_iterator(heard.begin() + static_cast<long>(std::min(heard.size(), at + 64))));
    off_actor(self, s, [=]() -> offload::continuation {
      check_answers(*chunk, who);
      return [=] {
        for (auto& a : *chunk) give(self, s, who, a);
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

void no_answer(caf::event_based_actor* self, const state_ptr& s, const request_id& id,
               const node_id& to, std::uint64_t epoch, bool malformed) {
  apply_effects(self, s, s->c->on_no_answer(id, to, epoch, malformed));
}

/// One storage-input task to its executor (ex_run).
void send_run(caf::event_based_actor* self, const state_ptr& s, effects::run r) {
  auto h = s->handles.find(r.to);
  if (h == s->handles.end()) return no_answer(self, s, r.id, r.to, r.epoch, false);
  auto [to, id, epoch] = std::tuple(r.to, r.id, r.epoch);
  auto auth = wire::encode(authorize_tasks(*s->ctx.key, s->ctx.chain_id, {r.wire}));
  self->request(h->second, s->task_timeout, ex_run_atom::value, bytes_t(r.wire.begin(), r.wire.end()),
                bytes_t(auth.begin(), auth.end()))
    .then(
      [=](bytes_t& result, bytes_t& poe, bytes_t& sig, bytes_t& der) {
        s->c->on_replied(to, 1);
        if (auto a = answer_of(id, epoch, to, result, poe, sig, der))
          take_answers(self, s, to, {std::move(*a)});
        else
          no_answer(self, s, id, to, epoch, true); // not an answer we can use
      },
      [=](caf::error& e) {
        s->c->on_replied(to, 1);
        s->ctx.log->info("task {}: executor {} gave no result: {}", id.hex(),
                         to.hex().substr(0, 12), self->system().render(e));
        no_answer(self, s, id, to, epoch, false);
      });
}

/// Inline tasks for one executor, one ex_batch message.
void send_batch(caf::event_based_actor* self, const state_ptr& s, effects::batch b) {
  auto who = b.to;
  auto part = std::make_shared<std::vector<std::pair<request_id, std::uint64_t>>>(std::move(b.items));
  auto h = s->handles.find(who);
  if (h == s->handles.end()) {
    for (auto& [id, epoch] : *part) no_answer(self, s, id, who, epoch, false);
    return;
  }
  auto auth = wire::encode(authorize_tasks(*s->ctx.key, s->ctx.chain_id, b.wires));
  std::vector<bytes_t> wires;
  for (auto& w : b.wires) wires.emplace_back(w.begin(), w.end());
  auto n = static_cast<std::uint32_t>(part->size());
  self->request(h->second, s->task_timeout, ex_batch_atom::value, std::move(wires),
                bytes_t(auth.begin(), auth.end()))
    .then(
      [=](const std::vector<bytes_t>& results, const std::vector<bytes_t>& poes,
          const std::vector<bytes_t>& sigs, const std::vector<std::string>& errors,
          const bytes_t& der) {
        s->c->on_replied(who, n);
        bool whole = results.size() == n && poes.size() == n && sigs.size() == n &&
                     errors.size() == n;
        std::vector<checked_answer> answers;
        for (std::size_t i = 0; i < n; ++i) {
          auto& [id, epoch] = (*part)[i];
          if (whole && !errors[i].empty()) {
            s->ctx.log->info("task {}: executor {} gave no result: {}", id.hex(),
                             who.hex().substr(0, 12), errors[i]);
            no_answer(self, s, id, who, epoch, false);
          } else if (auto a = whole ? answer_of(id, epoch, who, results[i], poes[i], sigs[i], der)
                                    : std::nullopt) {
            answers.push_back(std::move(*a));
          } else {
            no_answer(self, s, id, who, epoch, true); // not an answer we can use
          }
        }
        take_answers(self, s, who, std::move(answers));
      },
      [=](caf::error& e) {
        s->c->on_replied(who, n);
        s->ctx.log->info("{} task(s): executor {} gave no result: {}", n,
                         who.hex().substr(0, 12), self->system().render(e));
        for (auto& [id, epoch] : *part) no_answer(self, s, id, who, epoch, false);
      });
}

// -- receipts, evidence, stakes --------------------------------------------------------------

/// Receipts to the builder the coordinator chose; the answers go back to it.
void send_forward(caf::event_based_actor* self, const state_ptr& s, effects::forward f) {
  auto b = s->builders.find(f.builder);
  if (b == s->builders.end()) return; // left meanwhile: offered again at the next retry
  auto ids = std::move(f.ids);
  std::vector<bytes_t> wires;
  for (auto& w : f.receipts) {
    auto a = chain::decode_attested_receipt(w);
    if (!a) continue; // made by the coordinator: cannot happen
    chain::sign(*a, *s->ctx.key, s->ctx.chain_id); // builders take only receipts a staked verifier signed
    auto signed_w = chain::encode(*a);
    wires.emplace_back(signed_w.begin(), signed_w.end());
  }
  self->request(b->second, std::chrono::seconds(10), bd_receipts_atom::value, std::move(wires))
    .then(
      [=](const std::vector<submit_reply>& answers) {
        for (std::size_t i = 0; i < ids.size() && i < answers.size(); ++i) {
          if (!answers[i].taken())
            s->ctx.log->info("receipt {}: not taken by a builder yet: {}", ids[i].hex(),
                             answers[i].text());
          apply_effects(self, s, s->c->on_forwarded(ids[i], answers[i].taken()));
        }
      },
      [=](caf::error& e) {
        s->ctx.log->info("{} receipt(s): not taken by a builder yet: {}", ids.size(),
                         self->system().render(e));
      });
}

/// Signs the fraud's task (a batch of one: validators check this verifier's signature and
/// stake) and submits the evidence.
void submit_evidence(caf::event_based_actor* self, const state_ptr& s, effects::evidence ev) {
  auto what = ev.what;
  std::vector<bytes> one{ev.ev.task.task};
  ev.ev.task = *grant_of(authorize_tasks(*s->ctx.key, s->ctx.chain_id, one), one, 0);
  auto raw = chain::encode(ev.ev);
  find_role(
    self, s->ctx.directory, "validator", s->ctx.node_id,
    [=](caf::actor v) {
      self->request(v, std::chrono::seconds(30), evidence_atom::value, raw)
        .then([=](const submit_reply& r) { s->ctx.log->warn("{}: evidence {}", what, r.text()); },
              [=](caf::error& e) {
                s->ctx.log->warn("{}: evidence not submitted: {}", what, self->system().render(e));
              });
    },
    [=](const std::string& why) { s->ctx.log->warn("{}: evidence not submitted: {}", what, why); });
}

/// The executor stake of `who` (a typed account view from the validator we follow).
void read_stake(caf::event_based_actor* self, const state_ptr& s, const node_id& who) {
  auto v = s->chain->validator();
  if (!v) return;
  self->request(v, std::chrono::seconds(5), account_atom::value, who.hex())
    .then(
      [=](const account_view& a) {
        apply_effects(self, s, s->c->on_stake(who, a.stake_of(chain::stake_role::executor),
                                              s->ctx.clock.now_ms()));
      },
      [=](caf::error& e) {
        s->ctx.log->info("executor {}: stake not read: {}", who.hex().substr(0, 12),
                         self->system().render(e));
      });
}

/// The executors the chain's decider draw ranks (from the validator we follow).
void read_pool(caf::event_based_actor* self, const state_ptr& s) {
  auto v = s->chain->validator();
  if (!v) return;
  self->request(v, std::chrono::seconds(5), pool_atom::value)
    .then(
      [=](const decider_pool& p) {
        std::vector<chain::ledger::drawable_executor> pool;
        for (auto& x : p.executors) {
          auto id = node_id::from_view(byte_view{x.id.data(), x.id.size()});
          if (id) pool.push_back({*id, amount{x.stake}, x.since});
        }
        s->c->on_pool(std::move(pool));
      },
      [=](caf::error& e) {
        s->ctx.log->info("decider pool not read: {}", self->system().render(e));
      });
}

/// The task slots `who` registers (its worker threads).
void ask_capacity(caf::event_based_actor* self, const state_ptr& s, const node_id& who) {
  auto h = s->handles.find(who);
  if (h == s->handles.end()) return;
  self->request(h->second, std::chrono::seconds(5), ex_info_atom::value)
    .then([=](const executor_status& st) { s->c->on_capacity(who, st.workers); },
          [=](caf::error& e) {
            s->ctx.log->info("executor {}: capacity not read (1 slot assumed): {}",
                             who.hex().substr(0, 12), self->system().render(e));
          });
}

/// The cheap checks of the primary's outputs: fetch the input and the outputs, ask the kind
/// (on a worker thread); the verdict goes to the coordinator.
void run_checks(caf::event_based_actor* self, const state_ptr& s, const request_id& id) {
  auto* v = s->c->task_state(id);
  if (!v || !v->primary()) return;
  auto claimed = wire::decode_task_result(v->primary()->result);
  auto verdict = [=](bool ok, const std::string& why) {
    apply_effects(self, s, s->c->on_checks(id, ok, why));
  };
  if (!claimed) return verdict(false, "the result does not decode: " + claimed.err().message);
  if (claimed->id != id || claimed->kind != v->the_task().kind)
    return verdict(false, "the result names another request or kind");
  auto t = v->the_task();
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
          if ((*files)[k + 1].size() != claimed->outputs[k].size)
            return verdict(false, "output " + claimed->outputs[k].name + " is not the size claimed");
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

/// Carries out what the coordinator decided, in a fixed order: the synced store batch first
/// (receipts are durable before they are forwarded), then the sends and checks, then the
/// flush is scheduled, then metrics and logs.
void apply_effects(caf::event_based_actor* self, const state_ptr& s, effects fx) {
  if (!fx.writes.empty()) {
    store::batch b;
    for (auto& [k, v] : fx.writes) b.put(cf, k, v);
    if (auto st = s->ctx.store->write(b, store::write_mode::sync); !st)
      s->ctx.log->error("{} receipt(s) and records could not be stored: {}", fx.writes.size(),
                        st.err().message);
  }
  for (auto& r : fx.runs) send_run(self, s, std::move(r));
  for (auto& b : fx.batches) send_batch(self, s, std::move(b));
  for (auto& f : fx.forwards) send_forward(self, s, std::move(f));
  for (auto& e : fx.frauds) submit_evidence(self, s, std::move(e));
  for (auto& who : fx.read_stakes) read_stake(self, s, who);
  if (!fx.read_stakes.empty()) read_pool(self, s);
  for (auto& who : fx.ask_capacity) ask_capacity(self, s, who);
  for (auto& id : fx.checks) run_checks(self, s, id);
  if (fx.flush && !s->flushing) { // once the messages already in the mailbox are handled
    s->flushing = true;
    self->send(self, flush_atom::value);
  }
  if (fx.receipts) s->receipts_c->inc(fx.receipts);
  if (fx.reexecuted) s->reexec_c->inc(fx.reexecuted);
  if (!fx.frauds.empty()) s->frauds_c->inc(static_cast<double>(fx.frauds.size()));
  if (fx.failed) s->rejected_c->inc(fx.failed);
  for (auto& [why, n] : fx.rejected) {
    auto& c = s->rejections[why];
    if (!c)
      c = s->ctx.metrics->make_counter(
        "poe_verifier_rejected_total",
        "Executor answers not taken, by reason (PoE checks, cheap checks, timeouts).",
        {{"reason", std::string(exec::to_string(why))}});
    c->inc(n);
  }
  s->tasks_g->set(static_cast<double>(s->c->open_tasks()));
  static constexpr spdlog::level::level_enum levels[] = {spdlog::level::debug, spdlog::level::info,
                                                         spdlog::level::warn, spdlog::level::err};
  for (auto& l : fx.logs) s->ctx.log->log(levels[static_cast<int>(l.at)], "{}", l.text);
}

// -- the directory ---------------------------------------------------------------------------

/// The directory's execution roles changed: new ones (or new handles) are asked for their
/// capacity; those that left are out of the pool at once.
void on_executors(caf::event_based_actor* self, const state_ptr& s,
                  const std::vector<role_entry>& members) {
  std::map<node_id, caf::actor> now;
  for (auto& e : members)
    if (auto nid = node_id::from_hex(e.node)) now[*nid] = e.handle;
  std::set<node_id> all, fresh;
  for (auto& [nid, h] : now) {
    all.insert(nid);
    if (auto old = s->handles.find(nid); old == s->handles.end() || old->second != h)
      fresh.insert(nid);
  }
  s->handles = std::move(now);
  apply_effects(self, s, s->c->on_executors(all, fresh));
}

void on_builders(caf::event_based_actor* self, const state_ptr& s,
                 const std::vector<role_entry>& members) {
  s->builders.clear();
  std::set<node_id> all;
  for (auto& e : members)
    if (auto nid = node_id::from_hex(e.node)) {
      s->builders[*nid] = e.handle;
      all.insert(*nid);
    }
  apply_effects(self, s, s->c->on_builders(all));
}

// -- jobs ------------------------------------------------------------------------------------

std::vector<param> task_params(const state_ptr& s, const std::string& ladder) {
  auto ps = s->pinned;
  ps.push_back({"ladder", ladder});
  std::sort(ps.begin(), ps.end(), [](auto& a, auto& b) { return a.key < b.key; });
  return ps;
}

/// Writes the job's record (synced: from here on the job survives a restart), then hands the
/// job to the coordinator. Nothing starts when the record cannot be written.
status launch_job(caf::event_based_actor* self, const state_ptr& s, const coord::job& job,
                  std::vector<job_task> tasks) {
  auto [key, value] = s->c->job_record(job, tasks);
  if (auto st = s->ctx.store->put(cf, key, value, store::write_mode::sync); !st)
    return fail(errc::io_error, "the job could not be stored: " + st.err().message);
  apply_effects(self, s, s->c->launch(job, std::move(tasks)));
  return {};
}

void store_segments(caf::event_based_actor* self, const state_ptr& s, caf::actor storage,
                    coord::job job, std::shared_ptr<std::vector<media::segment>> segs,
                    caf::response_promise rp);

/// A job: source → probe → segments → stored → one verified task per segment.
void start_job(caf::event_based_actor* self, const state_ptr& s, coord::job job,
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
            job.duration_ms = facts->duration_ms;
            // The ladder fitted to this source (aspect kept, never upscaled): what every task
            // pins, so executors and verifiers encode and check the same sizes.
            if (auto l = media::parse_ladder(job.ladder))
              job.ladder = media::ladder_spec(media::fit_ladder(*l, facts->width, facts->height,
                                                                facts->sar_num, facts->sar_den));
            store_segments(self, s, storage, std::move(job),
                           std::make_shared<std::vector<media::segment>>(std::move(*segs)), rp);
          });
        });
      });
    },
    [=](const std::string& why) mutable { rp.deliver(failure(why)); });
}

/// Stores a job's segments, then creates and starts one task per segment.
void store_segments(caf::event_based_actor* self, const state_ptr& s, caf::actor storage,
                    coord::job job, std::shared_ptr<std::vector<media::segment>> segs,
                    caf::response_promise rp) {
  auto cids = std::make_shared<std::vector<std::string>>(segs->size());
  auto left = std::make_shared<std::size_t>(segs->size());
  auto failed = std::make_shared<bool>(false);
  for (std::size_t i = 0; i < segs->size(); ++i)
    store_file(self, storage, (*segs)[i].data, "video/mp2t",
               [=](result<std::string> id) mutable {
                 if (*failed) return;
                 if (!id) {
                   *failed = true;
                   return rp.deliver(failure("storing a segment: " + id.err().message));
                 }
                 (*cids)[i] = std::move(*id);
                 if (--*left > 0) return;
                 std::vector<job_task> tasks;
                 for (std::size_t k = 0; k < cids->size(); ++k) {
                   task t;
                   t.id = coord::task_id(s->ctx.key->id(), job.id, k);
                   t.kind = "transcode";
                   t.params = task_params(s, job.ladder);
                   t.inputs = {(*cids)[k]};
                   t.submitter = s->ctx.key->id();
                   t.created_ms = job.created_ms;
    t.anchor_height = s->c->height(); // its deciders are drawn from this block
                   tasks.push_back({std::move(t), static_cast<std::uint64_t>((*segs)[k].frames), (*cids)[k]});
                 }
                 s->ctx.log->info("job {}: {} segments of {} ({} ms) from {}", job.id,
                                  tasks.size(), job.source, job.duration_ms, job.owner);
                 if (auto st = launch_job(self, s, job, std::move(tasks)); !st)
                   return rp.deliver(failure(st.err().message));
                 rp.deliver(job.id);
               });
}

/// A compute job: one task per inline input, checked by the kind before anything starts.
caf::result<std::string> start_compute(caf::event_based_actor* self, const state_ptr& s,
                                       const coord::job& job,
                                       const std::vector<bytes_t>& inputs) {
  if (inputs.empty() || inputs.size() > max_compute_inputs)
    return failure("a compute job has 1.." + std::to_string(max_compute_inputs) +
                   " inputs, got " + std::to_string(inputs.size()));
  auto* kind = execution::find_kind("compute");
  std::vector<job_task> tasks;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    task t;
    t.id = coord::task_id(s->ctx.key->id(), job.id, k);
    t.kind = "compute";
    t.params = {{"data", to_hex(inputs[k])}, {"iterations", std::to_string(job.iterations)}};
    t.submitter = s->ctx.key->id();
    t.created_ms = job.created_ms;
    t.anchor_height = s->c->height(); // its deciders are drawn from this block
    if (auto st = kind->check(t); !st)
      return failure("input " + std::to_string(k) + ": " + st.err().message);
    tasks.push_back({std::move(t), job.iterations, {}});
  }
  s->ctx.log->info("job {}: {} compute task(s) of {} iteration(s) from {}", job.id,
                   tasks.size(), job.iterations, job.owner);
  if (auto st = launch_job(self, s, job, std::move(tasks)); !st) return failure(st.err().message);
  return job.id;
}

// -- the store -------------------------------------------------------------------------------

std::optional<bytes> read(const state_ptr& s, const bytes& key) {
  auto r = s->ctx.store->get(cf, key);
  if (!r || !*r) return std::nullopt;
  return std::move(**r);
}

/// What the store says of a task (verified, failed, unresolved, or nothing yet).
coord::stored_outcome stored(const state_ptr& s, const request_id& id) {
  auto receipt = read(s, records::key(records::receipt, id.view()));
  return records::outcome_of(receipt,
                             receipt ? read(s, records::key(records::result, id.view())) : std::nullopt,
                             receipt ? std::nullopt : read(s, records::key(records::failure, id.view())));
}

/// `archived`: read from the store (finished, and no longer held in memory).
job_status status_of(const coord::job& job, const std::vector<coord::task_view>& views,
                     bool archived) {
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

/// A job's status: from memory, or (finished and evicted, or finished before a restart) from
/// its record and its tasks' records.
result<job_status> load_job_status(const state_ptr& s, const std::string& job_id) {
  if (auto held = s->c->held(job_id)) return status_of(held->first, held->second, false);
  auto raw = read(s, records::job_key(job_id));
  if (!raw) return fail(errc::invalid_argument, "no job " + job_id);
  auto rec = records::decode_job(job_id, *raw);
  if (!rec) return rec.err();
  std::vector<coord::task_view> views;
  for (auto& jt : rec->second) {
    auto o = stored(s, jt.t.id);
    views.push_back({jt.t.id, jt.input, o.phase, 0, o.reason, o.outputs, o.digest});
  }
  return status_of(rec->first, views, true);
}

caf::result<job_status> job_status_of(const state_ptr& s, const std::string& job_id) {
  auto st = load_job_status(s, job_id);
  if (!st) return failure(st.err().message);
  return std::move(*st);
}

/// A finished job's verified outputs as the statement its owner publishes: every output of every
/// task, named "s<task index, 5 digits>/<output name>" (unique, and sorted in task order).
result<chain::job_output> output_statement(const job_status& js) {
  if (!js.done || js.failed > 0 || js.verified == 0)
    return fail(errc::invalid_argument, "job " + js.job + " is not finished with every task verified (" +
                                            std::to_string(js.verified) + " verified, " +
                                            std::to_string(js.failed) + " failed of " +
                                            std::to_string(js.tasks.size()) + ")");
  auto owner = node_id::from_hex(js.owner);
  if (!owner) return fail(errc::invalid_argument, "job " + js.job + " has no node id as owner");
  chain::job_output out;
  out.job = js.job;
  out.owner = *owner;
  for (std::size_t k = 0; k < js.tasks.size(); ++k) {
    auto idx = std::to_string(k);
    idx.insert(0, idx.size() < 5 ? 5 - idx.size() : 0, '0');
    for (auto& o : js.tasks[k].outputs) out.outputs.push_back({"s" + idx + "/" + o.name, o.cid, o.size});
  }
  std::sort(out.outputs.begin(), out.outputs.end(), [](auto& a, auto& b) { return a.name < b.name; });
  if (auto ok = chain::check_shape(out); !ok) return ok.err();
  return out;
}

/// A job as paid work sees it: finished or not, and its verified tasks with the executor and
/// work units their stored receipts name (a task verified but not yet written is left for the
/// next look).
result<fee_payer::job_facts> fee_facts(const state_ptr& s, const std::string& job_id) {
  auto st = load_job_status(s, job_id);
  if (!st) return st.err();
  fee_payer::job_facts out;
  out.done = st->done;
  for (std::size_t k = 0; k < st->tasks.size(); ++k) {
    auto& t = st->tasks[k];
    auto id = coord::task_id(s->ctx.key->id(), job_id, k);
    if (t.phase != exec::to_string(exec::phase::verified) || !std::equal(t.request.begin(), t.request.end(), id.data.begin(), id.data.end()))
      continue;
    auto receipt = read(s, records::key(records::receipt, id.view()));
    auto r = receipt ? wire::decode_step_receipt(*receipt) : result<step_receipt>(fail(errc::invalid_argument, "no receipt"));
    if (!r) {
      out.done = false; // not every verified receipt is written yet
      continue;
    }
    out.verified.push_back({static_cast<std::uint32_t>(k), r->executor, r->work_units});
  }
  return out;
}

/// After a restart: the reputation book, the receipts no builder took, and the unfinished jobs
/// come back from the store (the coordinator starts their open tasks again).
void restore(caf::event_based_actor* self, const state_ptr& s) {
  auto& st = *s->ctx.store;
  std::size_t reputations = 0;
  auto check = [](const status& r, const char* what) {
    if (!r) throw std::runtime_error(std::string("reading ") + what + ": " + r.err().message);
  };
  check(st.for_each(cf, as_bytes(records::reputation),
                    [&](byte_view k, byte_view v) {
                      if (auto e = records::decode_reputation(k, v)) {
                        s->c->restore_reputation(*e);
                        ++reputations;
                      }
                      return true;
                    }),
        "the reputation book");
  // Receipts persisted but not yet taken by a builder (a restart lost the retry queue).
  std::set<request_id> taken;
  check(st.for_each(cf, as_bytes(records::forwarded),
                    [&](byte_view k, byte_view) {
                      if (auto id = records::request_of(records::forwarded, k)) taken.insert(*id);
                      return true;
                    }),
        "the receipts");
  check(st.for_each(cf, as_bytes(records::receipt),
                    [&](byte_view k, byte_view v) {
                      auto id = records::request_of(records::receipt, k);
                      if (!id || taken.count(*id)) return true;
                      // With the result and the executor's key, as it is forwarded.
                      auto result = st.get(cf, records::key(records::result, id->view()));
                      auto key = st.get(cf, records::key(records::executor_key, id->view()));
                      if (!result || !*result || !key || !*key) {
                        s->ctx.log->warn("receipt {}: its result or executor key is not stored; not forwarded",
                                         id->hex());
                        return true;
                      }
                      s->c->restore_unforwarded(*id, chain::encode(chain::attested_receipt{
                                                       bytes(v.begin(), v.end()), {}, {}, **result, **key}));
                      return true;
                    }),
        "the receipts");
  std::vector<coordinator::stored_job> jobs;
  check(st.for_each(cf, as_bytes(records::job),
                    [&](byte_view k, byte_view v) {
                      std::string id(k.begin() + static_cast<long>(records::job.size()), k.end());
                      auto rec = records::decode_job(id, v);
                      if (!rec) {
                        s->ctx.log->error("{} (left in the store, not resumed)", rec.err().message);
                        return true;
                      }
                      jobs.push_back({std::move(rec->first), std::move(rec->second), {}});
                      return true;
                    }),
        "the jobs");
  for (auto& j : jobs)
    for (auto& jt : j.tasks) j.outcomes.push_back(stored(s, jt.t.id));
  std::size_t resumed = 0, rerun = 0;
  auto fx = s->c->resume(std::move(jobs), resumed, rerun);
  s->ctx.log->info("verifier: {} executor reputation(s) restored, {} unfinished job(s) resumed "
                   "({} task(s) to run again)",
                   reputations, resumed, rerun);
  apply_effects(self, s, std::move(fx));
}

} // namespace

/// The owner a client's signed job request (`auth`, an encoded Envelope) acts as: its signer,
/// or whoever this node's own key names. Uses the request's nonce up.
result<std::string> client_owner(const state_ptr& s, const bytes_t& auth, request_op op,
                                 const std::string& subject, const std::string& claimed) {
  auto env = wire::decode_envelope(auth);
  if (!env) return fail(errc::verify_failed, "not_authorized: signed request: " + env.err().message);
  auto who = signer_of(s->nonces, s->ctx.clock.now_ms(), s->ctx.chain_id, *env, op, subject);
  if (!who) return who.err();
  // The signer acts as itself; this node's operator (its key) for whoever it names.
  return owner_for(who->hex(), s->ctx.node_id, claimed);
}

caf::result<std::string> submit_compute(caf::event_based_actor* self, const state_ptr& s, const std::string& owner,
                                        std::uint64_t iterations, const std::vector<bytes_t>& inputs) {
  coord::job job;
  job.created_ms = s->ctx.clock.now_ms();
  job.id = s->c->new_job_id(job.created_ms);
  job.kind = "compute";
  job.owner = owner;
  job.iterations = iterations;
  return start_compute(self, s, job, inputs);
}

caf::result<std::string> submit_job(caf::event_based_actor* self, const state_ptr& s, const std::string& source,
                                    const std::string& ladder, const std::string& owner) {
  if (!storage::cid::parse(source)) return failure("source: not a CID: " + source);
  coord::job job;
  job.created_ms = s->ctx.clock.now_ms();
  job.id = s->c->new_job_id(job.created_ms);
  job.source = source;
  job.owner = owner;
  job.ladder = s->ladder;
  if (!ladder.empty()) {
    auto l = media::parse_ladder(ladder);
    if (!l) return failure("ladder: " + l.err().message);
    job.ladder = media::ladder_spec(*l);
  }
  auto rp = self->make_response_promise();
  start_job(self, s, job, rp);
  return caf::delegated<std::string>{};
}

runtime::role_info verifier_role() {
  return {
    "verifier",
    "coordinates jobs, checks PoE v1, re-runs a sample, reports fraud",
    [](caf::event_based_actor* self, const role_context& ctx) -> caf::behavior {
      if (!ctx.store) throw std::runtime_error("the verifier role needs the node's store");
      if (!ctx.key) throw std::runtime_error("the verifier role needs the node key");
      auto s = std::make_shared<vfstate>();
      s->ctx = ctx;
      s->rng = ctx.rng();
      auto& opts = ctx.options().verifier; // checked at start (role_options.hpp)
      coord::coordinator_config cfg;
      cfg.verification.sample_rate_ppm = static_cast<std::uint32_t>(opts.sample_rate_ppm);
      cfg.max_held_tasks = opts.max_held_tasks;
      s->c = std::make_unique<coordinator>(ctx.key->id(), ctx.chain_id, cfg);
      s->task_timeout = std::chrono::milliseconds(opts.task_timeout_ms);
      s->segment_ms = static_cast<std::int64_t>(opts.segment_ms);
      if (auto l = media::parse_ladder(opts.ladder); !l)
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
      s->reexec_c = f.make_counter("poe_verifier_reexecuted_total", "Receipts of sampled re-executions.");
      s->frauds_c = f.make_counter("poe_verifier_frauds_total", "Executor frauds proven and reported.");
      s->rejected_c = f.make_counter("poe_verifier_tasks_failed_total",
                                     "Tasks that failed or stayed unresolved.");
      s->tasks_g = f.make_gauge("poe_verifier_open_tasks", "Tasks not yet verified or failed.");
      s->work = std::make_unique<offload>(std::max<std::size_t>(1, opts.check_threads));
      // Queued checks and their continuations hold `s`: dropped when the role ends.
      self->attach_functor([s] { s->work->stop(); });
      ctx.log->info("verifier: sample {} ppm, ladder {}", cfg.verification.sample_rate_ppm, s->ladder);
      restore(self, s);
      // Weak references: the payer lives in `s`, which must not hold itself.
      std::weak_ptr<vfstate> weak = s;
      s->fees = std::make_unique<fee_payer>(
        ctx, cf,
        [weak](const std::string& job) -> result<fee_payer::job_facts> {
          if (auto sp = weak.lock()) return fee_facts(sp, job);
          return fail(errc::unavailable, "the verifier is stopping");
        },
        [weak]() -> caf::actor {
          auto sp = weak.lock();
          return sp && sp->chain ? sp->chain->validator() : caf::actor{};
        });
      s->fees->restore();
      // No history: sampling needs the latest block only.
      s->chain = std::make_unique<chain_follower>(chain_from_tip, [self, s](const chain_status& st) {
        s->fees->set_min_fee(st.payments.min_fee);
        if (auto id = hash256::from_view(st.block))
          apply_effects(self, s, s->c->on_tip(st.height, *id, s->ctx.clock.now_ms()));
      });
      for (auto role : {"validator", "execution", "builder"})
        self->send(ctx.directory, subscribe_atom::value, std::string(role));
      return {
        [self, s](members_atom, const std::string& role, const std::vector<role_entry>& xs) {
          if (role == "validator") s->chain->members(self, s->ctx, xs);
          else if (role == "execution") on_executors(self, s, xs);
          else if (role == "builder") on_builders(self, s, xs);
        },
        [self, s](const chain_block& b) {
          if (!s->chain->take(self, s->ctx, b)) return;
          if (auto id = hash256::from_view(b.id))
            apply_effects(self, s, s->c->on_block(b.height, *id, b.transactions, b.evidence,
                                                  s->ctx.clock.now_ms()));
          s->fees->on_block(self, b);
        },
        [self, s](vf_funded_atom, const std::string& job) -> caf::result<std::string> {
          auto r = s->fees->funded(self, job);
          if (!r) return failure(r.err().message);
          return std::move(*r);
        },
        [self, s](chain_retry_atom) { s->chain->subscribe(self, s->ctx); },
        [self, s](collect_atom) { collect(self, s); },
        [self, s](flush_atom) {
          s->flushing = false;
          apply_effects(self, s, s->c->flush());
        },
        [self, s](vf_compute_atom, const std::string& claimed, std::uint64_t iterations,
                  const std::vector<bytes_t>& inputs) -> caf::result<std::string> {
          auto owner = owner_for(s->ctx.sender_node(self->current_sender()), s->ctx.node_id, claimed);
          if (!owner) return failure(owner.err().message + "; a client signs the job (vf_nonce)");
          return submit_compute(self, s, *owner, iterations, inputs);
        },
        [self, s](vf_compute_atom, const std::string& claimed, std::uint64_t iterations,
                  const std::vector<bytes_t>& inputs, const bytes_t& auth) -> caf::result<std::string> {
          auto owner = client_owner(s, auth, request_op::compute, compute_subject(iterations, inputs), claimed);
          if (!owner) return failure(owner.err().message);
          return submit_compute(self, s, *owner, iterations, inputs);
        },
        [self, s](vf_job_atom, const std::string& source, const std::string& ladder,
                  const std::string& claimed) -> caf::result<std::string> {
          auto owner = owner_for(s->ctx.sender_node(self->current_sender()), s->ctx.node_id, claimed);
          if (!owner) return failure(owner.err().message + "; a client signs the job (vf_nonce)");
          return submit_job(self, s, source, ladder, *owner);
        },
        [self, s](vf_job_atom, const std::string& source, const std::string& ladder,
                  const std::string& claimed, const bytes_t& auth) -> caf::result<std::string> {
          auto owner = client_owner(s, auth, request_op::job, job_subject(source, ladder), claimed);
          if (!owner) return failure(owner.err().message);
          return submit_job(self, s, source, ladder, *owner);
        },
        [s](vf_nonce_atom) {
          auto n = s->nonces.issue_from(s->rng, s->ctx.clock.now_ms());
          return std::make_tuple(s->ctx.chain_id, bytes_t(n.data.begin(), n.data.end()));
        },
        [s](vf_status_atom, const std::string& job_id) -> caf::result<job_status> {
          return job_status_of(s, job_id);
        },
        [s](vf_output_atom, const std::string& job_id) -> caf::result<bytes_t> {
          auto js = load_job_status(s, job_id);
          if (!js) return failure(js.err().message);
          auto out = output_statement(*js);
          if (!out) return failure(out.err().message);
          chain::sign(*out, *s->ctx.key, s->ctx.chain_id);
          auto w = chain::encode(*out);
          return bytes_t(w.begin(), w.end());
        },
        [s](vf_receipt_atom, const std::string& hex) -> caf::result<bytes_t> {
          auto id = request_id::from_hex(hex);
          if (!id) return failure("request id: " + id.err().message);
          auto raw = read(s, records::key(records::receipt, id->view()));
          if (!raw) return failure("no receipt for request " + hex);
          return bytes_t(raw->begin(), raw->end()); // the step receipt (wire)
        },
      };
    },
    {}};
}

} // namespace poe::actors
