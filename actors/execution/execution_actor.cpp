// The `execution` role: runs tasks (task_kind.hpp) on dedicated worker threads, so the node
// stays responsive while it encodes. For each (ex_run, task, authorization):
//   1. decode and check the task (unknown kind, missing or bad parameters: refused at once);
//   2. check who asks (`not_authorized` otherwise): the authorization is a verifier's signed
//      envelope over the tasks (objects.hpp, task authorizations) for this chain; the tasks
//      name its signer as submitter; it came on the signer's own connection (or from this
//      node's process); and the signer holds verifier stake on chain (stake_cache.hpp) —
//      unless it is this node's own key;
//   3. fetch every input from the storage role (a file: its manifest, then its chunks);
//   4. queue it for a worker thread (`execution.workers`, default 1) that runs the kind;
//   5. store every output in the storage role as a file (chunks, then the manifest);
//   6. answer (canonical task_result bytes — they carry the task's hash, so PoE v1 binds the
//      exact task run —, PoE v1 commitment, signature, the node's public key: the verifier
//      checks the PoE against it and its SHA-256 is the node id).
// (ex_batch, [task], authorization) runs inline tasks (no input or output files: compute on
// `data`) as one job: one signature check for the batch, a worker thread runs and signs them
// one after another and the batch is answered at once, so thousands of small tasks a second
// cost a message each way per batch, not per task.
// Workers never call into CAF: the actor collects finished jobs on a short timer, which works
// the same under the deterministic test scheduler.
#include "offload.hpp"
#include "poe/actors/roles.hpp"
#include "poe/core/poe_v1.hpp"
#include "poe/runtime/messages.hpp"
#include "poe/runtime/metrics.hpp"
#include "poe/storage/cid.hpp"
#include "poe/storage/manifest.hpp"
#include "poe/wire/codec.hpp"
#include "stake_cache.hpp"
#include "storage_io.hpp"
#include "task_kind.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

namespace poe::actors {

using namespace poe::runtime;

namespace {

using bytes_t = std::vector<std::uint8_t>;
using collect_atom = caf::atom_constant<caf::atom("ex_poll")>;
constexpr auto poll_interval = std::chrono::milliseconds(20);

caf::error failure(const std::string& why) {
  return caf::make_error(caf::sec::runtime_error, why);
}

/// One answer of a batch: the canonical result and its PoE v1, or why there is none.
struct batch_answer {
  bytes result;
  poe_v1_proof proof;
  std::string error;
};

/// A job for the worker threads, and what comes back. A batch job (`batch` not empty) runs
/// inline tasks and signs their results with `key` on the worker thread.
struct job {
  std::uint64_t id = 0;
  task t;
  std::vector<bytes> inputs;
  const execution::task_kind* kind = nullptr;
  std::vector<task> batch;
  std::shared_ptr<const private_key> key;
};
struct finished {
  std::uint64_t id = 0;
  result<execution::kind_result> out = fail(errc::unavailable, "not run");
  std::vector<batch_answer> answers;
  double seconds = 0;
};

/// Runs and signs a batch of inline tasks (checked by the actor already).
std::vector<batch_answer> run_batch(const std::vector<task>& tasks, const private_key& key) {
  std::vector<batch_answer> out(tasks.size());
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    auto& t = tasks[i];
    try {
      auto r = execution::find_kind(t.kind)->run(t, {});
      if (!r) {
        out[i].error = r.err().message;
        continue;
      }
      if (!r->outputs.empty()) {
        out[i].error = "not an inline task: it makes output files";
        continue;
      }
      task_result tr{t.id, t.kind, {}, std::move(r->facts), wire::object_hash(t)};
      out[i].result = wire::encode(tr);
      out[i].proof = poe_commit(key, t.id, out[i].result);
    } catch (const std::exception& e) {
      out[i].error = std::string("the task threw: ") + e.what();
    }
  }
  return out;
}

/// Runs `j` on the calling worker thread (never throws): its result and how long it took.
finished run_job(const job& j, const runtime::role_clock& clock) {
  finished f;
  f.id = j.id;
  auto t0 = clock.monotonic();
  if (!j.batch.empty()) {
    f.answers = run_batch(j.batch, *j.key);
  } else {
    try {
      f.out = j.kind->run(j.t, j.inputs);
    } catch (const std::exception& e) {
      f.out = fail(errc::io_error, std::string("the task threw: ") + e.what());
    }
  }
  f.seconds = clock.seconds_since(t0);
  return f;
}

struct pending {
  task t;
  caf::response_promise rp;
  std::vector<std::string> refused; ///< a batch: per task, why it was not run ("" = it ran)
  bool batch = false;
  std::size_t tasks = 1; ///< tasks it holds (counted against execution.max-pending)
};

using batch_reply = caf::result<std::vector<bytes_t>, std::vector<bytes_t>, std::vector<bytes_t>,
                                std::vector<std::string>, bytes_t>;
using batch_delegated = caf::delegated<std::vector<bytes_t>, std::vector<bytes_t>,
                                       std::vector<bytes_t>, std::vector<std::string>, bytes_t>;

struct xstate {
  role_context ctx;
  std::unique_ptr<offload> workers; ///< the worker pool every role uses (offload.hpp)
  std::size_t worker_count = 1;
  std::uint64_t next_id = 1;
  std::map<std::uint64_t, pending> jobs; // queued or running
  std::size_t pending_tasks = 0;         // tasks in `jobs` (a batch counts its tasks)
  std::size_t max_pending = 100'000;     // execution.max-pending
  stake_cache stakes;                    // verifier stakes, as the chain reports them
  bool polling = false;
  std::uint64_t completed = 0, failed = 0;
  std::shared_ptr<metrics::counter> tasks_c, failed_c;
  std::shared_ptr<metrics::gauge> busy_g, fps_g, realtime_g;
};

void with_storage(caf::event_based_actor* self, const std::shared_ptr<xstate>& s,
                  std::function<void(caf::actor)> then, std::function<void(std::string)> or_else) {
  find_role(self, s->ctx.directory, "storage", s->ctx.node_id, std::move(then), std::move(or_else));
}

void complete(caf::event_based_actor* self, const std::shared_ptr<xstate>& s, finished f);

/// Takes `p` as job `id`, counted against execution.max-pending.
void hold(const std::shared_ptr<xstate>& s, std::uint64_t id, pending p) {
  s->pending_tasks += p.tasks;
  s->jobs[id] = std::move(p);
}

/// Takes job `it` out (answered or failed).
pending release(const std::shared_ptr<xstate>& s, std::map<std::uint64_t, pending>::iterator it) {
  auto p = std::move(it->second);
  s->pending_tasks -= std::min(s->pending_tasks, p.tasks);
  s->jobs.erase(it);
  return p;
}

/// Room for `n` more tasks under execution.max-pending.
std::size_t room(const std::shared_ptr<xstate>& s) {
  return s->max_pending > s->pending_tasks ? s->max_pending - s->pending_tasks : 0;
}

/// Checks who asks for `wires` (see the file comment, step 2) and calls `then` with the
/// verifier that signed them, or why they may not run here (`not_authorized: ...`). A peer
/// cannot make this node sign results for tasks no staked verifier asked for, nor pass off its
/// tasks as another's.
void admit(caf::event_based_actor* self, const std::shared_ptr<xstate>& s,
           const std::optional<std::string>& from, const bytes_t& auth,
           const std::vector<bytes>& wires, std::function<void(result<node_id>)> then) {
  auto refuse = [&](const std::string& why) { then(fail(errc::verify_failed, "not_authorized: " + why)); };
  if (!from) return refuse("the sender is not a proven peer");
  auto env = wire::decode_envelope(auth);
  if (!env) return refuse("bad task authorization: " + env.err().message);
  auto key = check_task_auth(*env, s->ctx.chain_id, wires);
  if (!key) return refuse(key.err().message);
  auto signer = key->id();
  if (*from != s->ctx.node_id && signer.hex() != *from)
    return refuse("tasks signed by " + signer.hex().substr(0, 12) + " came from " + from->substr(0, 12));
  if (signer.hex() == s->ctx.node_id) return then(signer); // this node's own verifier
  s->stakes.check(self, s->ctx, signer, chain::stake_role::verifier,
                  [then, signer](result<std::uint64_t> units) {
                    if (!units) return then(fail(errc::unavailable, "not_authorized: " + units.err().message));
                    if (*units == 0)
                      return then(fail(errc::verify_failed, "not_authorized: node " + signer.hex().substr(0, 12) +
                                                                " holds no verifier stake"));
                    then(signer);
                  });
}

/// A task names the verifier that signed it as its submitter.
status submitted_by(const task& t, const node_id& signer) {
  if (t.submitter == signer) return {};
  return fail(errc::verify_failed, "not_authorized: the task names submitter " + t.submitter.hex().substr(0, 12) +
                                       ", not its signer " + signer.hex().substr(0, 12));
}

std::string queue_full(const std::shared_ptr<xstate>& s) {
  return "queue_full: " + std::to_string(s->pending_tasks) + " task(s) pending (execution.max-pending=" +
         std::to_string(s->max_pending) + ")";
}

/// Queues `j` for the worker threads and makes sure the actor collects what they finish (the
/// continuation completes it on the actor).
void enqueue(caf::event_based_actor* self, const std::shared_ptr<xstate>& s, job j) {
  s->workers->post([self, s, j = std::move(j), clock = s->ctx.clock]() -> offload::continuation {
    auto f = std::make_shared<finished>(run_job(j, clock));
    return [self, s, f] { complete(self, s, std::move(*f)); };
  });
  if (!s->polling) {
    s->polling = true;
    self->delayed_send(self, poll_interval, collect_atom::value);
  }
}

/// Why a task of a batch cannot run (nothing: it can): it must decode, be of a known kind,
/// have no input files and pass the kind's check.
status batch_check(const result<task>& t) {
  if (!t) return fail(errc::invalid_argument, "bad task: " + t.err().message);
  auto* kind = execution::find_kind(t->kind);
  if (!kind) return fail(errc::invalid_argument, "unknown task kind '" + t->kind + "'");
  if (!t->inputs.empty()) return fail(errc::invalid_argument, "not an inline task: it has input files");
  return kind->check(*t);
}

/// A finished batch: every task's answer (results, PoE commitments, signatures, errors — an
/// error for a task that was refused or failed — and the node's public key), in task order.
void complete_batch(const std::shared_ptr<xstate>& s, pending p, finished f) {
  std::vector<bytes_t> results(p.refused.size()), poes(p.refused.size()), sigs(p.refused.size());
  auto errors = p.refused;
  std::size_t k = 0;
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (!errors[i].empty()) continue;
    auto& a = f.answers.at(k++);
    if (!a.error.empty()) {
      errors[i] = a.error;
      continue;
    }
    results[i].assign(a.result.begin(), a.result.end());
    poes[i].assign(a.proof.poe.data.begin(), a.proof.poe.data.end());
    sigs[i] = std::move(a.proof.sig);
  }
  for (auto& e : errors) {
    if (e.empty()) {
      ++s->completed;
      if (s->tasks_c) s->tasks_c->inc();
    } else {
      ++s->failed;
      if (s->failed_c) s->failed_c->inc();
    }
  }
  p.rp.deliver(std::move(results), std::move(poes), std::move(sigs), std::move(errors),
               s->ctx.key->pub().der());
}

/// A finished job: store its outputs, build and sign the result, answer.
void complete(caf::event_based_actor* self, const std::shared_ptr<xstate>& s, finished f) {
  auto it = s->jobs.find(f.id);
  if (it == s->jobs.end()) return;
  auto p = release(s, it);
  if (p.batch) return complete_batch(s, std::move(p), std::move(f));
  auto fail_task = [self, s, rp = p.rp, t = p.t](const std::string& why) mutable {
    ++s->failed;
    if (s->failed_c) s->failed_c->inc();
    s->ctx.log->warn("task {} ({}) failed: {}", t.id.hex(), t.kind, why);
    rp.deliver(failure(why));
  };
  if (!f.out) return fail_task(f.out.err().message);
  auto out = std::make_shared<execution::kind_result>(std::move(*f.out));
  // Per-task speed: frames per second and the realtime factor for media work.
  for (auto& fact : out->facts)
    if (fact.key == "source.duration_ms" && f.seconds > 0) {
      auto media_s = std::stod(fact.value) / 1000.0;
      if (s->realtime_g) s->realtime_g->set(media_s / f.seconds);
    }
  if (s->fps_g && f.seconds > 0) s->fps_g->set(static_cast<double>(out->work_units) / f.seconds);
  auto seconds = f.seconds;
  auto cids = std::make_shared<std::vector<std::string>>(out->outputs.size());
  auto finish = [=]() mutable {
    task_result r;
    r.id = p.t.id;
    r.kind = p.t.kind;
    for (std::size_t i = 0; i < out->outputs.size(); ++i)
      r.outputs.push_back({out->outputs[i].name, (*cids)[i], out->outputs[i].data.size()});
    r.facts = out->facts;
    r.task_hash = wire::object_hash(p.t);
    auto wire = wire::encode(r);
    auto proof = poe_commit(*s->ctx.key, p.t.id, wire);
    ++s->completed;
    if (s->tasks_c) s->tasks_c->inc();
    // Inline tasks (no output files) come by the thousand per second: logged at debug.
    s->ctx.log->log(out->outputs.empty() ? spdlog::level::debug : spdlog::level::info, "task {} ({}) done in {:.3f} s: {} outputs, {} work units", p.t.id.hex(),
                    p.t.kind, seconds, out->outputs.size(), out->work_units);
    p.rp.deliver(bytes_t(wire.begin(), wire.end()),
                 bytes_t(proof.poe.data.begin(), proof.poe.data.end()), proof.sig,
                 s->ctx.key->pub().der());
  };
  if (out->outputs.empty()) return finish(); // inline results: no storage needed
  with_storage(
    self, s,
    [=](caf::actor storage) mutable {
      auto left = std::make_shared<std::size_t>(out->outputs.size());
      auto failed = std::make_shared<bool>(false);
      for (std::size_t i = 0; i < out->outputs.size(); ++i) {
        auto media_type = out->outputs[i].name.ends_with(".ts") ? "video/mp2t"
                                                                 : "application/octet-stream";
        store_file(self, storage, out->outputs[i].data, media_type,
                   [=](result<std::string> id) mutable {
                     if (*failed) return;
                     if (!id) {
                       *failed = true;
                       return fail_task(id.err().message);
                     }
                     (*cids)[i] = std::move(*id);
                     if (--*left == 0) finish();
                   });
      }
    },
    fail_task);
}

void poll(caf::event_based_actor* self, const std::shared_ptr<xstate>& s) {
  s->workers->collect();
  if (s->busy_g) s->busy_g->set(static_cast<double>(s->workers->busy()));
  s->polling = !s->jobs.empty();
  if (s->polling) self->delayed_send(self, poll_interval, collect_atom::value);
}

} // namespace

runtime::role_info execution_role() {
  return {
    "execution", "runs tasks (transcoding, compute) on worker threads under PoE v1",
    [](caf::event_based_actor* self, const role_context& ctx) -> caf::behavior {
      if (!ctx.key) throw std::runtime_error("the execution role needs the node key (it signs)");
      auto s = std::make_shared<xstate>();
      s->ctx = ctx;
      s->worker_count = std::max<std::size_t>(1, ctx.options().execution.workers);
      s->max_pending = ctx.options().execution.max_pending;
      s->workers = std::make_unique<offload>(s->worker_count);
      // Queued work and uncollected continuations hold `s`: dropped when the role ends (a
      // running encode finishes first, its result is dropped).
      self->attach_functor([s] { s->workers->stop(); });
      auto& f = *ctx.metrics;
      s->tasks_c = f.make_counter("poe_execution_tasks_total", "Tasks run and answered.");
      s->failed_c = f.make_counter("poe_execution_failed_total",
                                   "Tasks refused or failed (bad input, encoder errors).");
      s->busy_g = f.make_gauge("poe_execution_busy_workers", "Worker threads running a task.");
      s->fps_g = f.make_gauge("poe_execution_work_units_per_second",
                              "Work units (frames x renditions) per second of the last task.");
      s->realtime_g = f.make_gauge("poe_execution_realtime_factor",
                                   "Media seconds per wall second of the last transcode.");
      ctx.log->info("execution: {} worker thread(s); kinds: {}", s->worker_count,
                    fmt::join(execution::kind_names(), ", "));
      self->send(ctx.directory, subscribe_atom::value, std::string("storage"));
      return {
        [](members_atom, const std::string&, const std::vector<role_entry>&) {},
        [self, s](ex_run_atom, const bytes_t& wire,
                  const bytes_t& auth) -> caf::result<bytes_t, bytes_t, bytes_t, bytes_t> {
          auto refused = [&](const std::string& why) {
            ++s->failed;
            if (s->failed_c) s->failed_c->inc();
            return failure(why);
          };
          // Before the response promise: making it takes the sender out of the message.
          auto from = s->ctx.sender_node(self->current_sender());
          auto t = wire::decode_task(wire);
          if (!t) return refused("bad task: " + t.err().message);
          auto* kind = execution::find_kind(t->kind);
          if (!kind) return refused("unknown task kind '" + t->kind + "'");
          if (auto st = kind->check(*t); !st) return refused(st.err().message);
          if (room(s) == 0) return refused(queue_full(s));
          auto rp = self->make_response_promise();
          auto id = s->next_id++;
          pending p;
          p.t = *t;
          p.rp = rp;
          hold(s, id, std::move(p)); // its slot is taken while the authorization is checked
          auto refuse = [self, s, id](const std::string& why) {
            auto it = s->jobs.find(id);
            if (it == s->jobs.end()) return;
            ++s->failed;
            if (s->failed_c) s->failed_c->inc();
            s->ctx.log->info("task refused: {}", why);
            release(s, it).rp.deliver(failure(why));
          };
          auto fetch_and_run = [self, s, id, kind, refuse, task = *t] {
            auto inputs = std::make_shared<std::vector<bytes>>(task.inputs.size());
            auto left = std::make_shared<std::size_t>(task.inputs.size());
            auto failed = std::make_shared<bool>(false);
            auto run = [self, s, id, kind, inputs, task] {
              job j;
              j.id = id;
              j.t = task;
              j.inputs = std::move(*inputs);
              j.kind = kind;
              enqueue(self, s, std::move(j));
            };
            if (*left == 0) return run();
            with_storage(
              self, s,
              [=](caf::actor storage) {
                for (std::size_t i = 0; i < task.inputs.size(); ++i)
                  fetch_file(self, storage, task.inputs[i], [=](result<bytes> data) {
                    if (*failed) return;
                    if (!data) {
                      *failed = true;
                      return refuse(data.err().message);
                    }
                    (*inputs)[i] = std::move(*data);
                    if (--*left == 0) run();
                  });
              },
              refuse);
          };
          admit(self, s, from, auth, {bytes(wire.begin(), wire.end())},
                [refuse, fetch_and_run, task = *t](result<node_id> signer) {
                  if (!signer) return refuse(signer.err().message);
                  if (auto st = submitted_by(task, *signer); !st) return refuse(st.err().message);
                  fetch_and_run();
                });
          return caf::delegated<bytes_t, bytes_t, bytes_t, bytes_t>{};
        },
        [self, s](ex_batch_atom, const std::vector<bytes_t>& wires, const bytes_t& auth) -> batch_reply {
          if (wires.empty() || wires.size() > 10'000)
            return failure("a batch holds 1..10000 tasks, got " + std::to_string(wires.size()));
          // Before the response promise: making it takes the sender out of the message.
          auto from = s->ctx.sender_node(self->current_sender());
          auto rp = self->make_response_promise();
          std::vector<bytes> raw;
          raw.reserve(wires.size());
          for (auto& w : wires) raw.emplace_back(w.begin(), w.end());
          admit(self, s, from, auth, raw, [self, s, rp, raw](result<node_id> signer) mutable {
            pending p;
            p.batch = true;
            p.rp = std::move(rp);
            job j;
            auto free_slots = room(s);
            for (auto& w : raw) {
              auto t = wire::decode_task(w);
              status st = signer ? batch_check(t) : status(signer.err());
              if (st) st = submitted_by(*t, *signer);
              if (st && j.batch.size() >= free_slots) st = fail(errc::unavailable, queue_full(s));
              p.refused.push_back(st ? std::string{} : st.err().message);
              if (st) j.batch.push_back(std::move(*t));
            }
            if (!signer) s->ctx.log->info("batch of {} task(s) refused: {}", raw.size(), signer.err().message);
            p.tasks = j.batch.size();
            if (j.batch.empty()) return complete_batch(s, std::move(p), finished{});
            j.id = s->next_id++;
            j.key = s->ctx.key;
            hold(s, j.id, std::move(p));
            enqueue(self, s, std::move(j));
          });
          return batch_delegated{};
        },
        [self, s](collect_atom) { poll(self, s); },
        [s](ex_info_atom) {
          executor_status out;
          out.busy = s->workers->busy();
          out.queued = s->workers->queued();
          out.workers = static_cast<std::uint32_t>(s->worker_count);
          out.in_flight = s->jobs.size();
          out.completed = s->completed;
          out.failed = s->failed;
          out.kinds = execution::kind_names();
          return out;
        },
      };
    },
    {}};
}

} // namespace poe::actors
