// The storage role: a thin CAF adapter around chunk_store (the engine) and the pure placement
// of poe/storage. A node that receives a put coordinates it: it keeps a copy and sends the
// chunk to the `storage.replicas` nodes that rendezvous hashing picks among the storage
// members the directory knows, and answers once `storage.acks` of them hold it. A get that
// misses here, or finds the chunk corrupt, fetches it from a replica, checks it against the
// CID and repairs the local copy. When a storage member goes away, the chunks and manifests
// whose placement gained a node are sent there once (by the first remaining old holder), a few
// at a time so that bulk copies never crowd out heartbeats and consensus on the connections.
#include "chunk_store.hpp"
#include "owner.hpp"
#include "poe/actors/roles.hpp"
#include "poe/chain/evidence.hpp"
#include "poe/core/client_request.hpp"
#include "poe/core/domain.hpp"
#include "poe/storage/placement.hpp"
#include "poe/wire/codec.hpp"
#include "poe/runtime/messages.hpp"
#include "poe/runtime/metrics.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <deque>
#include <set>

namespace poe::actors {

using namespace poe::runtime;
using storage::cid;

namespace {

using bytes_t = std::vector<std::uint8_t>;
using chal_tick_atom = caf::atom_constant<caf::atom("st_tick")>;
constexpr auto peer_timeout = std::chrono::seconds(30);
constexpr auto challenge_deadline = std::chrono::seconds(5);
/// Re-replication copies unanswered at once (each up to a 256 KiB chunk), per node.
constexpr std::size_t max_repair_in_flight = 4;

caf::error failure(const std::string& why) {
  return caf::make_error(caf::sec::runtime_error, why);
}

/// Whether `from` may delete, pin or unpin `c`: this node's own roles (and its operator's key)
/// always; anyone else only a file (manifest) whose recorded owner it is — a peer as the
/// connection proves it, a client by signing the request.
status may_change(const std::optional<std::string>& from, const std::string& self_id,
                  const chunk_store& cs, const cid& c, std::string_view what) {
  if (!from) return fail(errc::verify_failed, "not_authorized: the sender is not a proven peer; sign the request with the owner's key");
  if (*from == self_id) return {};
  auto st = cs.stat(c);
  if (!st) return st.err();
  if (!st->manifest)
    return fail(errc::verify_failed, "not_authorized: a chunk has no owner; only this node's operator may " +
                                       std::string(what) + " it");
  if (st->owner != *from)
    return fail(errc::verify_failed, "not_authorized: only the file's owner (" + st->owner.substr(0, 16) +
                                       ") may " + std::string(what) + " it, not node " + from->substr(0, 12));
  return {};
}

/// Copies still to send to restore replication: (chunk or manifest, node), sent a few at a time.
struct repair_queue {
  std::deque<std::pair<cid, node_id>> todo;
  std::set<std::pair<std::string, node_id>> queued; // (cid text, node): each once
  std::size_t in_flight = 0;
};

struct sstate {
  role_context ctx;
  std::unique_ptr<chunk_store> cs;
  std::size_t replicas = 2, acks = 2;
  std::map<node_id, caf::actor> members; // storage roles by node (this one included)
  node_id self_id;
  std::shared_ptr<metrics::gauge> bytes_g, chunks_g;
  std::shared_ptr<metrics::counter> puts, gets, repairs, rereplicated, refused, challenges;
  std::shared_ptr<metrics::counter> chal_passed, chal_failed, fraud_evidence;
  std::shared_ptr<metrics::gauge> under_replicated;
  std::shared_ptr<repair_queue> repairs_q = std::make_shared<repair_queue>();
  storage::challenge_record record;
  std::chrono::milliseconds challenge_interval{30'000};
  std::mt19937_64 rng; // nonces and picks: seeded by the node (role_context::rng)
  nonce_book nonces; // handed out for signed requests (st_nonce)

  std::vector<node_id> member_ids() const {
    std::vector<node_id> out;
    for (auto& [id, _] : members)
      out.push_back(id);
    return out;
  }
  std::vector<node_id> targets(const cid& c) const {
    auto ids = member_ids();
    if (ids.empty()) ids.push_back(self_id);
    return storage::place(c, ids, replicas);
  }
  void update_gauges() {
    if (bytes_g) bytes_g->set(static_cast<double>(cs->bytes_stored()));
    if (chunks_g) chunks_g->set(static_cast<double>(cs->chunks_stored()));
  }
};

/// Sends a copy of `c` (with a manifest's owner and storage time, so every holder accounts
/// for it alike) to every target but this node; delivers `ok` to `rp` once `need` copies
/// exist (the local one counts when this node is a target).
void replicate(caf::event_based_actor* self, const std::shared_ptr<sstate>& s, const cid& c,
               const bytes_t& data, caf::response_promise rp, bool local_counts,
               const std::string& owner = {}, std::uint64_t stored_at_ms = 0) {
  auto targets = s->targets(c);
  auto need = std::min(s->acks, targets.size());
  auto acked = std::make_shared<std::size_t>(0), failed = std::make_shared<std::size_t>(0);
  auto remote = std::make_shared<std::size_t>(0);
  auto done = std::make_shared<bool>(false);
  auto text = c.str();
  for (auto& t : targets)
    if (t == s->self_id && local_counts) ++*acked;
  auto finish_if = [=]() mutable {
    if (*done) return;
    if (*acked >= need) {
      *done = true;
      rp.deliver(text);
    } else if (*acked + (*remote - *failed) < need) {
      *done = true;
      rp.deliver(failure("only " + std::to_string(*acked) + " of " + std::to_string(need) +
                         " copies of " + text + " could be stored"));
    }
  };
  for (auto& t : targets) {
    if (t == s->self_id) continue;
    auto h = s->members.find(t);
    if (h == s->members.end()) continue;
    ++*remote;
    self->request(h->second, peer_timeout, st_rep_atom::value, data, owner, stored_at_ms)
      .then([=](const std::string&) mutable { ++*acked; finish_if(); },
            [=](caf::error& e) mutable {
              s->ctx.log->warn("replica of {} on {} failed: {}", text, t.hex().substr(0, 12),
                               self->system().render(e));
              ++*failed;
              finish_if();
            });
  }
  finish_if();
}

using fetched = std::function<void(result<bytes_t>)>;

/// Fetches `c` from the other holders in placement order, checks it, stores the local copy
/// (replacing a corrupt one: a repair) and hands it to `done`.
void fetch_remote(caf::event_based_actor* self, const std::shared_ptr<sstate>& s, const cid& c,
                  std::vector<node_id> holders, fetched done, std::string why,
                  bool corrupt_here) {
  while (!holders.empty() && (holders.front() == s->self_id || !s->members.count(holders.front())))
    holders.erase(holders.begin());
  if (holders.empty()) {
    done(fail(errc::invalid_argument, why.empty() ? "not stored: " + c.str() : why));
    return;
  }
  auto next = holders.front();
  holders.erase(holders.begin());
  self->request(s->members[next], peer_timeout, st_fetch_atom::value, c.str())
    .then(
      [=](bytes_t& data) mutable {
        if (!c.matches(data)) {
          fetch_remote(self, s, c, holders, done, "every replica of " + c.str() + " is corrupt",
                       corrupt_here);
          return;
        }
        if (c.is_manifest()) {
          (void)s->cs->put_manifest(data, "", s->ctx.clock.now_ms(), false);
        } else if (auto st = s->cs->repair_chunk(c, data); st && corrupt_here) {
          if (s->repairs) s->repairs->inc();
          s->ctx.log->warn("chunk {} was corrupt here: repaired from {}", c.str(),
                           next.hex().substr(0, 12));
        }
        s->update_gauges();
        done(std::move(data));
      },
      [=](caf::error&) mutable { fetch_remote(self, s, c, holders, done, why, corrupt_here); });
}

/// Delivers a fetch result to a response promise.
fetched deliver_to(caf::response_promise rp) {
  return [rp](result<bytes_t> r) mutable {
    if (r)
      rp.deliver(std::move(*r));
    else
      rp.deliver(failure(r.err().message));
  };
}

/// Sends queued copies while fewer than `max_repair_in_flight` are unanswered: a few chunks
/// at a time share each peer connection with heartbeats and consensus instead of hundreds of
/// megabytes queued in front of them (which once stalled a 4-node chain for 15 s after one
/// node died). Each copy is read from the store when it is sent, not before.
void pump_repairs(caf::event_based_actor* self, const std::shared_ptr<sstate>& s) {
  auto& q = *s->repairs_q;
  while (q.in_flight < max_repair_in_flight && !q.todo.empty()) {
    auto [c, t] = q.todo.front();
    q.todo.pop_front();
    q.queued.erase({c.str(), t});
    auto h = s->members.find(t);
    if (h == s->members.end()) continue; // it left meanwhile
    bytes_t data;
    std::string owner;
    std::uint64_t stored_at_ms = 0;
    if (c.is_manifest()) {
      auto m = s->cs->get_manifest(c);
      if (!m) continue;
      data = storage::encode(*m);
      if (auto st = s->cs->stat(c)) owner = st->owner, stored_at_ms = st->stored_at_ms;
    } else {
      auto d = s->cs->get_chunk(c);
      if (!d) continue;
      data = std::move(*d);
    }
    ++q.in_flight;
    auto settle = [self, s] {
      --s->repairs_q->in_flight;
      pump_repairs(self, s); // sends the next ones and updates the gauge
    };
    self->request(h->second, peer_timeout, st_rep_atom::value, std::move(data), owner, stored_at_ms)
      .then([s, settle](const std::string&) {
              if (s->rereplicated) s->rereplicated->inc();
              settle();
            },
            [settle](caf::error&) { settle(); });
  }
  if (s->under_replicated) s->under_replicated->set(static_cast<double>(q.todo.size() + q.in_flight));
}

/// After storage members left (`before`: the member ids until now): every chunk and manifest
/// held here whose placement gained a node gets one copy sent there — by the first node of
/// its new placement that was also in the old one, so it is sent once, and only where it is
/// missing (placement is rendezvous hashing: only the departed nodes' chunks move).
void rereplicate(caf::event_based_actor* self, const std::shared_ptr<sstate>& s,
                 const std::vector<node_id>& before) {
  auto all = s->cs->all();
  if (!all) return;
  std::size_t queued = 0;
  for (auto& c : *all) {
    auto now = s->targets(c);
    auto was = storage::place(c, before, s->replicas);
    auto kept = std::find_if(now.begin(), now.end(), [&](const node_id& n) {
      return std::find(was.begin(), was.end(), n) != was.end();
    });
    if (kept == now.end() || *kept != s->self_id) continue; // not this node's duty
    for (auto& t : now) {
      if (t == s->self_id || std::find(was.begin(), was.end(), t) != was.end()) continue;
      if (!s->repairs_q->queued.insert({c.str(), t}).second) continue;
      s->repairs_q->todo.emplace_back(c, t);
      ++queued;
    }
  }
  s->ctx.log->info("a storage member left: {} copies to send to restore {} replicas ({} at a time)",
                   queued, s->replicas, max_repair_in_flight);
  pump_repairs(self, s);
}

/// A wrong answer that `who` signed is evidence (chain::storage_fraud_evidence): it goes to a
/// validator known to the directory (this node's own first), which includes it in a block
/// where the liar's storage stake is slashed. An unsigned or mis-signed answer proves nothing
/// (it costs reputation only).
void report_fraud(caf::event_based_actor* self, const std::shared_ptr<sstate>& s,
                  const node_id& who, const hash256& nonce, const bytes_t& answer,
                  const bytes_t& sig, const bytes_t& key, const bytes_t& chunk) {
  auto a = hash256::from_view(answer);
  if (!a) return;
  chain::storage_fraud_evidence ev{s->ctx.chain_id, key, nonce, *a, sig, chunk};
  if (chain::offender_of(ev) != who || !chain::verify_evidence(ev)) return;
  auto raw = chain::encode(ev);
  if (s->fraud_evidence) s->fraud_evidence->inc();
  s->ctx.log->warn("storage node {} signed a wrong challenge answer: evidence sent to the chain",
                   who.hex().substr(0, 12));
  self->request(s->ctx.directory, peer_timeout, lookup_atom::value, std::string("validator"))
    .then(
      [=](const std::vector<role_entry>& vs) {
        if (vs.empty())
          return s->ctx.log->warn("no validator known: the evidence against {} is not submitted",
                                  who.hex().substr(0, 12));
        self->request(vs.front().handle, peer_timeout, evidence_atom::value, raw)
          .then([=](const submit_reply& r) { s->ctx.log->info("evidence against {}: {}",
                                                               who.hex().substr(0, 12), r.text()); },
                [=](caf::error& e) {
                  s->ctx.log->warn("evidence against {} not submitted: {}",
                                   who.hex().substr(0, 12), self->system().render(e));
                });
      },
      [=](caf::error& e) {
        s->ctx.log->warn("evidence against {} not submitted: no validator list: {}",
                         who.hex().substr(0, 12), self->system().render(e));
      });
}

/// One storage challenge: a random chunk held here, a random other node that should hold it,
/// a fresh nonce; the answer must equal SHA-256(nonce ‖ chunk) within the deadline.
void challenge_round(caf::event_based_actor* self, const std::shared_ptr<sstate>& s) {
  if (s->members.size() < 2) return;
  hash256 point;
  for (auto& b : point.data) b = static_cast<std::uint8_t>(s->rng());
  auto picked = s->cs->chunk_near(point); // one seek, not a scan of the store
  if (!picked) return;
  auto c = *picked;
  std::vector<node_id> others;
  for (auto& t : s->targets(c))
    if (t != s->self_id && s->members.count(t)) others.push_back(t);
  if (others.empty()) return;
  auto who = others[s->rng() % others.size()];
  auto data = s->cs->get_chunk(c);
  if (!data) return;
  hash256 nonce;
  for (auto& b : nonce.data) b = static_cast<std::uint8_t>(s->rng());
  auto expected = storage::challenge_answer(nonce, *data);
  auto outcome = [s, who, c](storage::challenge_outcome o) {
    s->record.record(who, o);
    if (o == storage::challenge_outcome::passed) {
      if (s->chal_passed) s->chal_passed->inc();
    } else {
      if (s->chal_failed) s->chal_failed->inc();
      s->ctx.log->warn("storage challenge of {} for {}: {}", who.hex().substr(0, 12), c.str(),
                       storage::to_string(o));
    }
  };
  self
    ->request(s->members[who], challenge_deadline, st_chal_atom::value, c.str(),
              bytes_t(nonce.data.begin(), nonce.data.end()))
    .then(
      [=](const bytes_t& answer, const bytes_t& sig, const bytes_t& key) {
        if (bytes_t(expected.data.begin(), expected.data.end()) == answer)
          return outcome(storage::challenge_outcome::passed);
        outcome(storage::challenge_outcome::wrong_answer);
        report_fraud(self, s, who, nonce, answer, sig, key, *data);
      },
      [=](caf::error& e) {
        outcome(e == caf::sec::request_timeout ? storage::challenge_outcome::missed_deadline
                                               : storage::challenge_outcome::wrong_answer);
      });
}

object_stat stat_of(const std::shared_ptr<sstate>& s, const cid& c,
                    const chunk_store::stat_info& st) {
  object_stat out;
  out.cid = c.str();
  out.file = st.manifest;
  out.size = st.size;
  out.pinned = st.pinned;
  if (st.manifest) {
    out.chunks = st.chunks;
    out.chunks_here = st.present;
    out.media_type = st.media_type;
    out.owner = st.owner;
    out.stored_at_ms = st.stored_at_ms;
  } else {
    out.references = st.references;
  }
  for (auto& t : s->targets(c)) out.placement.push_back(t.hex());
  return out;
}

/// Who signed `auth` (an encoded Envelope) for `op` on `subject`, using up its nonce: the
/// owner it acts as. Errors (not_authorized: …) say which check failed.
result<std::string> signer_of(const std::shared_ptr<sstate>& s, const bytes_t& auth, request_op op,
                              const std::string& subject) {
  auto env = wire::decode_envelope(auth);
  if (!env) return fail(errc::verify_failed, "not_authorized: signed request: " + env.err().message);
  auto who = poe::signer_of(s->nonces, s->ctx.clock.now_ms(), s->ctx.chain_id, *env, op, subject);
  if (!who) return who.err();
  return who->hex();
}

/// Stores a file's manifest for `owner` and replicates it (the answer once enough copies hold).
caf::result<std::string> put_file(caf::event_based_actor* self, const std::shared_ptr<sstate>& s,
                                  const bytes_t& data, const std::string& owner) {
  auto at = s->ctx.clock.now_ms();
  auto c = s->cs->put_manifest(data, owner, at);
  if (!c) {
    if (s->refused) s->refused->inc();
    return failure(c.err().message);
  }
  if (s->puts) s->puts->inc();
  auto rp = self->make_response_promise();
  replicate(self, s, *c, data, rp, true, owner, at);
  return caf::delegated<std::string>{};
}

/// Pins or unpins `text` for `who` (may_change decides).
caf::result<std::string> pin_file(const std::shared_ptr<sstate>& s, const std::optional<std::string>& who,
                                  const std::string& text, bool pin) {
  auto c = cid::parse(text);
  if (!c) return failure(c.err().message);
  if (auto ok = may_change(who, s->ctx.node_id, *s->cs, *c, pin ? "pin" : "unpin"); !ok)
    return failure(ok.err().message);
  auto st = pin ? s->cs->pin(*c) : s->cs->unpin(*c);
  if (!st) return failure(st.err().message);
  return std::string("ok");
}

/// Deletes `text` for `who` (may_change decides).
caf::result<std::string> delete_file(const std::shared_ptr<sstate>& s, const std::optional<std::string>& who,
                                     const std::string& text) {
  auto c = cid::parse(text);
  if (!c) return failure(c.err().message);
  if (auto ok = may_change(who, s->ctx.node_id, *s->cs, *c, "delete"); !ok) return failure(ok.err().message);
  auto st = s->cs->remove(*c, s->ctx.clock.now_ms());
  if (!st) return failure(st.err().message);
  s->update_gauges();
  return std::string("ok");
}

} // namespace

runtime::role_info storage_role() {
  return {
    "storage", "content-addressed replicated media store",
    [](caf::event_based_actor* self, const role_context& ctx) -> caf::behavior {
      if (!ctx.store) throw std::runtime_error("the storage role needs the node's store");
      if (!ctx.key) throw std::runtime_error("the storage role needs the node key (it signs)");
      auto s = std::make_shared<sstate>();
      s->ctx = ctx;
      s->rng = ctx.rng();
      auto& opts = ctx.options().storage;
      s->replicas = opts.replicas;
      s->acks = std::min(s->replicas, opts.put_acks());
      auto max_object = opts.max_object_mib << 20;
      s->cs = std::make_unique<chunk_store>(*ctx.store, max_object);
      auto id = node_id::from_hex(ctx.node_id);
      if (!id) throw std::runtime_error("node id: " + id.err().message);
      s->self_id = *id;
      auto& f = *ctx.metrics;
      s->bytes_g = f.make_gauge("poe_storage_bytes", "Bytes of chunks stored on this node.");
      s->chunks_g = f.make_gauge("poe_storage_chunks", "Chunks stored on this node.");
      s->puts = f.make_counter("poe_storage_puts_total", "Chunks and manifests put here.");
      s->gets = f.make_counter("poe_storage_gets_total", "Chunks and manifests read here.");
      s->repairs = f.make_counter("poe_storage_repairs_total",
                                  "Chunks fetched from a replica (missing or corrupt here).");
      s->rereplicated = f.make_counter("poe_storage_rereplicated_total",
                                       "Copies sent to restore replication after a node left.");
      s->refused = f.make_counter("poe_storage_refused_total",
                                  "Puts and replicas refused (bad bytes, limits, full disk, a sender that is not a storage member).");
      s->challenges = f.make_counter("poe_storage_challenges_answered_total",
                                     "Storage challenges answered by this node.");
      s->chal_passed = f.make_counter("poe_storage_challenges_passed_total",
                                      "Challenges this node sent that were answered correctly.");
      s->chal_failed = f.make_counter(
        "poe_storage_challenges_failed_total",
        "Challenges this node sent that got a wrong answer, an error or no answer in time.");
      s->fraud_evidence = f.make_counter(
        "poe_storage_fraud_evidence_total",
        "Signed wrong challenge answers sent to a validator as slashing evidence.");
      s->under_replicated = f.make_gauge(
        "poe_storage_under_replicated", "Copies still being sent to restore replication.");
      s->challenge_interval =
        std::chrono::milliseconds(opts.challenge_interval_ms);
      if (s->challenge_interval.count() > 0)
        self->delayed_send(self, s->challenge_interval, chal_tick_atom::value);
      s->update_gauges();
      ctx.log->info("storage: {} chunks, {} bytes; {} replicas, put waits for {}",
                    s->cs->chunks_stored(), s->cs->bytes_stored(), s->replicas, s->acks);
      self->send(ctx.directory, subscribe_atom::value, std::string("storage"));
      return {
        [self, s](members_atom, const std::string&, const std::vector<role_entry>& ms) {
          std::map<node_id, caf::actor> next;
          for (auto& e : ms)
            if (auto id = node_id::from_hex(e.node)) next[*id] = e.handle;
          bool lost = false;
          for (auto& [id, _] : s->members)
            if (!next.count(id)) lost = true;
          auto before = s->member_ids();
          s->members = std::move(next);
          if (lost) rereplicate(self, s, before);
        },
        [self, s](st_put_atom, const bytes_t& data) -> caf::result<std::string> {
          auto c = s->cs->put_chunk(data);
          if (!c) {
            if (s->refused) s->refused->inc();
            return failure(c.err().message);
          }
          if (s->puts) s->puts->inc();
          s->update_gauges();
          auto rp = self->make_response_promise();
          replicate(self, s, *c, data, rp, true);
          return caf::delegated<std::string>{};
        },
        [self, s](st_putm_atom, const bytes_t& data,
                  const std::string& claimed) -> caf::result<std::string> {
          auto owner = owner_for(s->ctx.sender_node(self->current_sender()), s->ctx.node_id, claimed);
          if (!owner) {
            if (s->refused) s->refused->inc();
            return failure(owner.err().message + "; a client signs the put with the owner's key");
          }
          return put_file(self, s, data, *owner);
        },
        [self, s](st_putm_atom, const bytes_t& data, const std::string& claimed,
                  const bytes_t& auth) -> caf::result<std::string> {
          // Signed by the owner: the request names the manifest's CID.
          auto m = storage::decode_manifest(data);
          if (!m) return failure("not a file manifest: " + m.err().message);
          auto signer = signer_of(s, auth, request_op::put, storage::manifest_cid(*m).str());
          // The signer acts as itself; this node's operator (its key) for whoever it names.
          auto owner = signer ? owner_for(*signer, s->ctx.node_id, claimed) : signer;
          if (!owner) {
            if (s->refused) s->refused->inc();
            return failure(owner.err().message);
          }
          return put_file(self, s, data, *owner);
        },
        [s](st_nonce_atom) {
          auto n = s->nonces.issue_from(s->rng, s->ctx.clock.now_ms());
          return std::make_tuple(s->ctx.chain_id, bytes_t(n.data.begin(), n.data.end()));
        },
        [self, s](st_rep_atom, const bytes_t& data, const std::string& owner,
                  std::uint64_t stored_at_ms) -> caf::result<std::string> {
          // A replica: a chunk, or a manifest (recognized by its magic) with its owner and
          // the time it was first stored (usage accrues from then on every holder). Taken only
          // from a storage member, as proven by the connection it came on.
          auto from = s->ctx.sender_node(self->current_sender());
          auto member = [&](const std::string& hex) {
            auto id = node_id::from_hex(hex);
            return id && (*id == s->self_id || s->members.count(*id) > 0);
          };
          if (!from || !member(*from)) {
            if (s->refused) s->refused->inc();
            s->ctx.log->warn("refused a replica from {}: not a storage member",
                             from ? from->substr(0, 12) : std::string("an unauthenticated sender"));
            return failure("replica refused: the sender is not a storage member of this cluster");
          }
          status st;
          if (storage::decode_manifest(data)) {
            auto c = s->cs->put_manifest(data, owner, stored_at_ms ? stored_at_ms : s->ctx.clock.now_ms(),
                                         false);
            if (!c) st = c.err();
          } else {
            auto c = s->cs->put_chunk(data);
            if (!c) st = c.err();
          }
          if (!st) return failure(st.err().message);
          s->update_gauges();
          return std::string("ok");
        },
        [self, s](st_get_atom, const std::string& text) -> caf::result<bytes_t> {
          auto c = cid::parse(text);
          if (!c) return failure(c.err().message);
          if (s->gets) s->gets->inc();
          bool corrupt = false;
          if (c->is_manifest()) {
            if (auto m = s->cs->get_manifest(*c)) return storage::encode(*m);
          } else if (auto d = s->cs->get_chunk(*c)) {
            return std::move(*d);
          } else if (d.err().code == errc::verify_failed) {
            corrupt = true;
            s->ctx.log->warn("{}: fetching it from a replica", d.err().message);
          }
          auto rp = self->make_response_promise();
          fetch_remote(self, s, *c, s->targets(*c), deliver_to(rp), {}, corrupt);
          return caf::delegated<bytes_t>{};
        },
        [s](st_fetch_atom, const std::string& text) -> caf::result<bytes_t> {
          auto c = cid::parse(text);
          if (!c) return failure(c.err().message);
          if (c->is_manifest()) {
            auto m = s->cs->get_manifest(*c);
            if (!m) return failure(m.err().message);
            return storage::encode(*m);
          }
          auto d = s->cs->get_chunk(*c);
          if (!d) return failure(d.err().message);
          return std::move(*d);
        },
        [s](st_has_atom, const std::string& text) -> caf::result<bool> {
          auto c = cid::parse(text);
          if (!c) return failure(c.err().message);
          return s->cs->has(*c);
        },
        [self, s](st_stat_atom, const std::string& text) -> caf::result<object_stat> {
          auto c = cid::parse(text);
          if (!c) return failure(c.err().message);
          if (auto st = s->cs->stat(*c)) return stat_of(s, *c, *st);
          // Not here: ask the nodes that should hold it (a file's manifest is kept here then).
          auto rp = self->make_response_promise();
          auto id = *c;
          fetch_remote(self, s, id, s->targets(id),
                       [s, rp, id](result<bytes_t> r) mutable {
                         if (!r) return rp.deliver(failure(r.err().message)), void();
                         chunk_store::stat_info st;
                         if (auto local = s->cs->stat(id)) st = *local;
                         else st.size = r->size();
                         rp.deliver(stat_of(s, id, st));
                       },
                       {}, false);
          return caf::delegated<object_stat>{};
        },
        [self, s](st_pin_atom, const std::string& text, bool pin) -> caf::result<std::string> {
          return pin_file(s, s->ctx.sender_node(self->current_sender()), text, pin);
        },
        [s](st_pin_atom, const std::string& text, bool pin, const bytes_t& auth) -> caf::result<std::string> {
          auto who = signer_of(s, auth, pin ? request_op::pin : request_op::unpin, text);
          if (!who) return failure(who.err().message);
          return pin_file(s, who.value(), text, pin);
        },
        [self, s](st_del_atom, const std::string& text) -> caf::result<std::string> {
          return delete_file(s, s->ctx.sender_node(self->current_sender()), text);
        },
        [s](st_del_atom, const std::string& text, const bytes_t& auth) -> caf::result<std::string> {
          auto who = signer_of(s, auth, request_op::remove, text);
          if (!who) return failure(who.err().message);
          return delete_file(s, who.value(), text);
        },
        [self, s](chal_tick_atom) {
          challenge_round(self, s);
          self->delayed_send(self, s->challenge_interval, chal_tick_atom::value);
        },
        [s](st_usage_atom, const std::string& owner) {
          auto now = s->ctx.clock.now_ms();
          return storage_usage{owner, s->cs->usage().stored(owner),
                               storage::usage_ledger::to_string(s->cs->usage().usage(owner, now)),
                               now};
        },
        [s](st_rept_atom) {
          std::vector<challenge_record> out;
          for (auto& [id, _] : s->members) {
            auto t = s->record.of(id);
            if (t.passed + t.wrong + t.missed == 0) continue;
            out.push_back({id.hex(), t.passed, t.wrong, t.missed, s->record.score_ppm(id)});
          }
          return out;
        },
        [s](st_list_atom) -> caf::result<std::vector<stored_object>> {
          auto l = s->cs->list();
          if (!l) return failure(l.err().message);
          std::vector<stored_object> out;
          for (auto& e : *l) out.push_back({e.id.str(), e.size, e.pinned});
          return out;
        },
        [s](st_chal_atom, const std::string& text,
            const bytes_t& nonce) -> caf::result<bytes_t, bytes_t, bytes_t> {
          auto c = cid::parse(text);
          if (!c) return failure(c.err().message);
          auto n = hash256::from_view(nonce);
          if (!n) return failure("nonce: " + n.err().message);
          auto d = s->cs->get_chunk(*c);
          if (!d) return failure(d.err().message);
          if (s->challenges) s->challenges->inc();
          auto a = storage::challenge_answer(*n, *d);
          // Signed, with the key to check it: a wrong answer is evidence against this node.
          auto sig = sign_in_domain(*s->ctx.key, s->ctx.chain_id, msg_type::storage_proof,
                                    chain::storage_proof_payload(c->digest(), *n, a));
          return {bytes_t(a.data.begin(), a.data.end()), std::move(sig), s->ctx.key->pub().der()};
        },
      };
    },
    {}};
}

} // namespace poe::actors
