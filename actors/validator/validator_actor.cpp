// The validator role: a thin CAF adapter around the chain's pure pieces — qbft::state
// (consensus), ledger + producer (blocks), mempool, signing_guard (durable signing record) —
// with blocks persisted in the node's store (column family "validator").
//
// Between validators: (vcons, bytes) carries an encoded consensus message; (vblock, bytes,
// seals) carries a finalized block to a validator that is behind (block sync: the receiver
// checks the commit seals with qbft::verify_decision before taking it).
#include "poe/actors/roles.hpp"
#include "poe/chain/consensus_inbox.hpp"
#include "poe/chain/evidence.hpp"
#include "poe/chain/genesis.hpp"
#include "poe/chain/inclusion.hpp"
#include "poe/chain/ledger.hpp"
#include "poe/chain/log_builder.hpp"
#include "poe/chain/mempool.hpp"
#include "poe/chain/producer.hpp"
#include "poe/chain/qbft.hpp"
#include "poe/chain/signing_guard.hpp"
#include "poe/core/sha256.hpp"
#include "poe/runtime/messages.hpp"
#include "poe/runtime/metrics.hpp"
#include "poe/store/store.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>

namespace poe::actors {

using namespace poe::runtime;
using namespace poe::chain;

namespace {

using cons_atom = caf::atom_constant<caf::atom("v_cons")>;
using vtimer_atom = caf::atom_constant<caf::atom("v_timer")>;
using vnext_atom = caf::atom_constant<caf::atom("v_next")>;
using vblock_atom = caf::atom_constant<caf::atom("v_block")>;
using vneed_atom = caf::atom_constant<caf::atom("v_need")>;
using vflush_atom = caf::atom_constant<caf::atom("v_flush")>;
using vfeed_atom = caf::atom_constant<caf::atom("v_feed")>;

/// Blocks sent to a subscriber catching up, per turn of the mailbox.
constexpr std::uint64_t feed_batch = 256;

/// A role following the chain (chain_sub_atom): the next height it is owed. While
/// `next` <= the tip it is catching up (a vfeed_atom continues it); at tip + 1 it gets each
/// new block as it commits.
struct subscriber {
  caf::actor handle;
  std::uint64_t next = 1;
  std::uint64_t generation = 0; ///< a re-subscription restarts the catch-up
};

// Consensus traffic (messages, timers, block sync) goes ahead of the transaction backlog in
// every validator's mailbox: a flood of submissions must not delay a commit.
constexpr auto high = caf::message_priority::high;
constexpr auto gossip_delay = std::chrono::milliseconds(5);

constexpr const char* cf = "validator";

bytes block_key(std::uint64_t height) {
  bytes k(10, 0);
  k[0] = 'b';
  k[1] = '/';
  for (int i = 0; i < 8; ++i)
    k[2 + i] = static_cast<std::uint8_t>(height >> (56 - 8 * i));
  return k;
}

struct vstate {
  role_context ctx;
  genesis gen;
  ledger state;
  /// Heights after which the validator set changed, with the set each gave (rebuilt as the
  /// blocks replay at start): what a receipt proof carries (sets_atom).
  std::map<std::uint64_t, std::vector<validator_info>> set_changes;
  /// validators_root of the current set: the last header's (execution checked it), genesis's first.
  hash256 set_root;
  chain_tip tip;
  mempool pool;
  signing_guard guard;
  std::unique_ptr<qbft::state> cons;
  std::map<std::string, caf::actor> peers;          // node id hex → validator role handle
  qbft::inbox inbox;                                 // messages of heights not started yet
  std::map<hash256, bytes> evidence;                 // pending evidence by its SHA-256
  verified_txs verified;                             // signatures checked once per node
  hash256 validated_digest;                          // the last block validated, and the
  std::optional<ledger> validated;                   // state after it (finalize reuses it)
  std::uint64_t transactions = 0;                    // in the chain, since genesis
  std::vector<std::vector<std::uint8_t>> outbox;     // accepted, not yet gossiped
  // Notarization: valid PoE entries held for inclusion (forced after N blocks), when each was
  // first seen (for the inclusion latency), complaints received per proposal, and the
  // complaints this validator owes for a proposal it refused.
  inclusion_tracker held;
  std::map<hash256, std::chrono::nanoseconds> seen_at; // monotonic readings
  complaint_book complaints; // forced inclusion: complaints per proposal (inclusion.hpp)
  std::vector<exclusion_complaint> owed;
  std::shared_ptr<metrics::gauge> held_g, treasury_g, slashing_pool_g, builders_g;
  std::shared_ptr<metrics::counter> poe_included, poe_rejected, poe_admitted, rent_c, complaints_c;
  std::shared_ptr<metrics::histogram> inclusion_blocks, inclusion_seconds;
  std::map<node_id, std::uint64_t> builder_last_height; // BPI → last height it had an entry in
  // The PBS auction for the next height: sealed bids and where to ask for the bundle.
  std::optional<auction> bids;
  std::map<node_id, caf::actor> bidders;
  std::vector<bytes> withheld; // withheld-bid evidence for the block we are building
  bool censor = false;         // fault drill (validator.censor): propose without PoE entries
  std::shared_ptr<metrics::counter> bids_c, winning_c, withheld_c;
  std::shared_ptr<metrics::gauge> height_g, round_g, mempool_g;
  std::shared_ptr<metrics::counter> round_changes, evidence_c, commits, slashes;
  std::shared_ptr<metrics::histogram> commit_latency;
  std::map<caf::actor_addr, subscriber> subscribers; ///< roles following the chain
  std::optional<chain_block> latest; ///< the event of the block just finalized (publish)
  std::map<std::uint64_t, std::vector<flow_entry>> recent_flows; ///< the last 1024 blocks' flows
  std::uint64_t generations = 0;
  std::chrono::nanoseconds height_started{}; // monotonic reading
  double t_prepare = 0, t_commit = 0; // ms from the height's start to our PREPARE / COMMIT

  vstate(role_context c, genesis g, ledger l)
    : ctx(std::move(c)), gen(std::move(g)), state(std::move(l)), pool(gen.chain_id),
      guard([this](byte_view k, byte_view v) {
        return ctx.store->put(cf, bytes_concat("s/", k), v, store::write_mode::sync);
      }) {}

  static bytes bytes_concat(const char* prefix, byte_view k) {
    bytes out(prefix, prefix + std::strlen(prefix));
    append(out, k);
    return out;
  }

  std::uint64_t book_size(const node_id& bpi) const { return state.book_size(bpi); }

  qbft::validator_set validators() const {
    std::vector<public_key> keys;
    for (auto& v : state.validator_set())
      keys.push_back(v.key);
    return qbft::validator_set(std::move(keys));
  }
};

void apply_effects(caf::event_based_actor* self, vstate& s, qbft::effects fx);

void broadcast(caf::event_based_actor* self, vstate& s, const qbft::message& m) {
  auto wire = qbft::encode(m);
  for (auto& [node, h] : s.peers)
    if (node != s.ctx.node_id) self->send<high>(h, cons_atom::value, wire);
}

void start_height(caf::event_based_actor* self, vstate& s) {
  s.height_started = s.ctx.clock.monotonic();
  if (!s.bids || s.bids->height() != s.tip.height + 1) {
    s.bids.emplace(s.gen.chain_id, s.tip.height + 1);
    s.bidders.clear();
  }
  apply_effects(self, s, s.cons->start(s.tip.height + 1, s.validators()));
  if (s.height_g) s.height_g->set(static_cast<double>(s.tip.height));
  // Messages that arrived early for this height.
  for (auto& m : s.inbox.take(s.tip.height + 1))
    if (!s.cons->decided()) apply_effects(self, s, s.cons->on_message(m));
}

chain_block make_event(std::uint64_t height, bytes decision, const block& b);

/// The non-zero kinds of `f`, by name.
std::vector<flow_entry> flows_of(const flow_totals& f) {
  std::vector<flow_entry> out;
  for (std::size_t k = 0; k < flow_kinds; ++k)
    if (f[k] != 0) out.push_back({std::string(to_string(static_cast<flow_kind>(k))), f[k]});
  return out;
}

/// Takes a finalized block: execute, persist (unless replaying it from the store), move the
/// tip. False if it does not fit.
bool finalize(vstate& s, const qbft::decision& d, bool persist = true) {
  auto b = decode_block(d.block);
  std::string why;
  if (!b)
    why = "does not decode: " + b.err().message;
  else if (b->header.height != s.tip.height + 1)
    why = "has height " + std::to_string(b->header.height);
  else if (b->header.parent != s.tip.id)
    why = "names another parent (" + b->header.parent.hex().substr(0, 16) + ")";
  if (!why.empty()) {
    s.ctx.log->error("finalized block {} {}", d.height, why);
    return false;
  }
  auto next = s.validated && s.validated_digest == d.digest
                ? result<ledger>(std::move(*s.validated))
                : execute_block(s.state, *b, &s.verified);
  s.validated.reset();
  if (!next) {
    s.ctx.log->error("finalized block {} does not execute: {}", d.height, next.err().message);
    return false;
  }
  auto encoded = persist ? qbft::encode(d) : bytes{};
  if (auto st = persist ? s.ctx.store->put(cf, block_key(d.height), encoded, store::write_mode::sync)
                        : status{};
      !st) {
    s.ctx.log->error("cannot persist block {}: {}", d.height, st.err().message);
    return false;
  }
  s.recent_flows[d.height] = flows_of(next->block_flows());
  while (s.recent_flows.size() > ledger::recent_blocks) s.recent_flows.erase(s.recent_flows.begin());
  if (persist) {
    s.latest = make_event(d.height, std::move(encoded), *b);
    s.latest->flows = s.recent_flows[d.height];
  }
  for (auto& raw : b->evidence)
    if (auto e = decode_evidence(raw)) {
      auto who = offender_of(*e);
      auto role = role_of(*e);
      if (std::holds_alternative<bid_settlement>(*e) || std::holds_alternative<withheld_bid_evidence>(*e)) {
        s.ctx.log->log(persist ? spdlog::level::info : spdlog::level::debug, "height {}: {}",
                       d.height, describe(*e));
        continue;
      }
      if (s.slashes) s.slashes->inc();
      s.ctx.log->log(persist ? spdlog::level::warn : spdlog::level::debug,
                     "height {}: {} stake slashed ({} left): {}", d.height, to_string(role),
                     next->stake_of(who, role).to_string(), describe(*e));
    }
  if (b->header.validators_root != s.set_root) { // executing the block checked the header's root
    s.set_changes[d.height] = next->validator_set();
    s.set_root = b->header.validators_root;
  }
  s.state = std::move(*next);
  s.tip = tip_of(*b);
  s.withheld.clear();
  s.pool.prune(s.state);
  for (auto& raw : b->poe_headers)
    if (auto e = decode_poe_entry(raw)) {
      auto id = entry_id(*e);
      s.builder_last_height[e->header.bpi] = d.height;
      if (s.poe_included) s.poe_included->inc();
      if (s.rent_c) s.rent_c->inc(static_cast<double>(e->header.rent_payment));
      if (auto since = s.held.since(id); since && s.inclusion_blocks)
        s.inclusion_blocks->observe(static_cast<double>(d.height - *since));
      if (auto it = s.seen_at.find(id); it != s.seen_at.end()) {
        if (s.inclusion_seconds)
          s.inclusion_seconds->observe(
            s.ctx.clock.seconds_since(it->second));
        s.seen_at.erase(it);
      }
    }
  // Superseded entries go; so do entries stuck behind a gap in their book for 1000 blocks.
  s.held.prune([&s](const node_id& bpi) { return s.book_size(bpi); }, s.tip.height, 1000);
  s.complaints.forget_below(s.tip.height + 1);
  for (auto it = s.seen_at.begin(); it != s.seen_at.end();)
    it = s.held.holds(it->first) ? std::next(it) : s.seen_at.erase(it);
  if (s.held_g) s.held_g->set(static_cast<double>(s.held.size()));
  if (s.treasury_g) s.treasury_g->set(static_cast<double>(s.state.treasury().units()));
  if (s.slashing_pool_g) s.slashing_pool_g->set(static_cast<double>(s.state.slashing_pool().units()));
  if (s.builders_g) {
    std::size_t active = 0;
    for (auto& [bpi, h] : s.builder_last_height) active += h + 100 >= d.height;
    s.builders_g->set(static_cast<double>(active));
  }
  // Pending evidence the new state no longer takes (punished in this block) is dropped.
  for (auto it = s.evidence.begin(); it != s.evidence.end();)
    it = check_evidence(s.state, it->second, s.tip.height + 1) ? std::next(it)
                                                                : s.evidence.erase(it);
  s.guard.forget_below(s.tip.height + 1);
  if (s.commits) s.commits->inc();
  s.transactions += b->transactions.size();
  auto latency =
    s.ctx.clock.seconds_since(s.height_started);
  if (s.commit_latency) s.commit_latency->observe(latency);
  if (s.height_g) s.height_g->set(static_cast<double>(s.tip.height));
  if (s.mempool_g) s.mempool_g->set(static_cast<double>(s.pool.size()));
  s.ctx.log->log(persist ? spdlog::level::info : spdlog::level::debug,
                 "committed height {} round {} block {} ({} txs, {:.1f} ms; prepared at {:.1f}, "
                 "committed at {:.1f})",
                 d.height, d.round, s.tip.id.hex().substr(0, 16), b->transactions.size(),
                 latency * 1000, s.t_prepare, s.t_commit);
  s.t_prepare = s.t_commit = 0;
  return true;
}

/// The chain_block event of block `b` finalized by `decision` (qbft::encode of it).
chain_block make_event(std::uint64_t height, bytes decision, const block& b) {
  chain_block ev;
  ev.height = height;
  auto id = block_id(b);
  ev.id.assign(id.data.begin(), id.data.end());
  ev.parent.assign(b.header.parent.data.begin(), b.header.parent.data.end());
  ev.timestamp_ms = b.header.timestamp_ms;
  ev.transactions = static_cast<std::uint32_t>(b.transactions.size());
  ev.poe_headers = static_cast<std::uint32_t>(b.poe_headers.size());
  ev.evidence = static_cast<std::uint32_t>(b.evidence.size());
  ev.decision = std::move(decision);
  return ev;
}

/// The chain_block event of stored block `height` (empty `decision` when it is not stored).
chain_block block_event(vstate& s, std::uint64_t height) {
  auto raw = s.ctx.store->get(cf, block_key(height));
  if (!raw || !*raw) return chain_block{height, {}, {}, 0, 0, 0, 0, {}, {}};
  auto d = qbft::decode_decision(**raw, height);
  auto b = d ? decode_block(d->block) : result<block>(d.err());
  if (!b) return chain_block{height, {}, {}, 0, 0, 0, 0, {}, {}};
  auto ev = make_event(height, std::move(**raw), *b);
  if (auto f = s.recent_flows.find(height); f != s.recent_flows.end()) ev.flows = f->second;
  return ev;
}

/// Sends a subscriber catching up the next stored blocks, at most feed_batch per turn.
void feed(caf::event_based_actor* self, vstate& s, const caf::actor_addr& who,
          std::uint64_t generation) {
  auto it = s.subscribers.find(who);
  if (it == s.subscribers.end() || it->second.generation != generation) return;
  auto& sub = it->second;
  for (std::uint64_t n = 0; n < feed_batch && sub.next <= s.tip.height; ++n, ++sub.next) {
    auto ev = block_event(s, sub.next);
    if (ev.decision.empty()) break;
    self->send(sub.handle, std::move(ev));
  }
  if (sub.next <= s.tip.height) self->send(self, vfeed_atom::value, who, generation);
}

/// Pushes the block just finalized (its event made by finalize, no store read) to every
/// subscriber that has caught up.
void publish(caf::event_based_actor* self, vstate& s) {
  auto ev = std::move(s.latest);
  s.latest.reset();
  if (!ev || ev->height != s.tip.height) return;
  for (auto& [addr, sub] : s.subscribers)
    if (sub.next == s.tip.height) {
      self->send(sub.handle, *ev);
      ++sub.next;
    }
}

chain_status status_of(const vstate& s) {
  chain_status out;
  out.chain_id = s.gen.chain_id;
  out.node = s.ctx.node_id;
  out.height = s.tip.height;
  out.block.assign(s.tip.id.data.begin(), s.tip.id.data.end());
  out.timestamp_ms = s.tip.timestamp_ms;
  out.round = s.cons ? s.cons->round() : 0;
  out.block_interval_ms = s.gen.params.block_interval_ms;
  out.mempool = s.pool.size();
  out.transactions = s.transactions;
  out.pending_evidence = s.evidence.size();
  out.poe_held = s.held.size();
  auto root = s.state.state_root();
  out.state_root.assign(root.data.begin(), root.data.end());
  out.slashing_pool = s.state.slashing_pool().units();
  out.treasury = s.state.treasury().units();
  out.total_supply = s.state.total_supply().units();
  out.rent = to_terms(s.gen.params.rent);
  out.payments = payment_terms{s.gen.params.channel_challenge_blocks, s.gen.params.max_tick_hashes,
                               s.gen.params.max_channel_lanes, s.gen.params.min_fee.units(),
                               s.gen.params.max_tx_bytes};
  for (auto& v : s.state.validator_set())
    out.validators.push_back({bytes(v.id.data.begin(), v.id.data.end()), v.stake.units()});
  return out;
}

/// Takes evidence into the pending set (for the next block we propose) and gossips it once
/// to the other validators. Accepted (naming the offender), known, or the rule it breaks.
submit_reply add_evidence(caf::event_based_actor* self, vstate& s, const bytes& raw) {
  auto e = check_evidence(s.state, raw, s.tip.height + 1);
  if (!e) return rejected_reply(std::string(to_string(e.err().code)), e.err().message);
  auto who = offender_of(*e);
  bytes id(who.data.begin(), who.data.end());
  if (!s.evidence.emplace(sha256::digest(raw), raw).second) return known_reply(std::move(id));
  if (s.evidence_c) s.evidence_c->inc();
  s.ctx.log->warn("evidence: {}; pending inclusion", describe(*e));
  for (auto& [node, h] : s.peers)
    if (node != s.ctx.node_id) self->send(h, evgossip_atom::value, raw);
  return accepted_reply(std::move(id));
}

void take_complaint(caf::event_based_actor* self, vstate& s, const exclusion_complaint& c);

/// Builds and proposes our block for (height, round): the auction's bundle (if revealed), the
/// held PoE entries, pending evidence and mempool transactions.
void propose_now(caf::event_based_actor* self, vstate& s, std::uint64_t height, std::uint64_t round,
                 std::vector<bytes> bundle, std::optional<builder_bid> won) {
  if (s.cons->height() != height || s.cons->round() != round || s.cons->decided()) return;
  auto txs = s.pool.select(s.state, s.tip.height + 1, s.cons->id(), s.gen.params.max_block_txs);
  std::vector<bytes> evidence;
  for (auto& [who, raw] : s.evidence)
    evidence.push_back(raw);
  block_notary notary;
  auto size_of = [&s](const node_id& bpi) { return s.book_size(bpi); };
  if (!s.censor)
    for (auto& e : s.held.includable(size_of, s.gen.params.rent.max_block_poes))
      notary.held.push_back(encode(e));
  if (won && !bundle.empty() && !s.censor) {
    notary.bundle = std::move(bundle);
    notary.settlement = encode(bid_settlement{s.gen.chain_id, won->builder_key, *won,
                                              static_cast<std::uint32_t>(notary.bundle.size())});
  }
  notary.withheld = s.withheld;
  auto b = build_block(s.state, s.tip, txs, s.cons->id(), s.cons->round(), s.ctx.clock.now_ms(), evidence,
                       &s.verified, &notary);
  if (won && !b.evidence.empty())
    for (auto& raw : b.evidence)
      if (notary.settlement && raw == *notary.settlement) {
        if (s.winning_c) s.winning_c->inc(static_cast<double>(won->value.units()));
        s.ctx.log->info("height {}: builder {} won the auction with {} ({} entries)", height,
                        verify_bid(*won, s.gen.chain_id)->hex().substr(0, 12),
                        won->value.to_string(), notary.bundle.size());
      }
  apply_effects(self, s, s.cons->propose(encode(b)));
}

/// The proposer's auction (proposer_auction, inclusion.hpp): asks the winning bid's builder
/// for its bundle, and proposes with it, or goes on to the next best when it reveals a wrong
/// bundle or none in time (withheld-bid evidence for our block).
void run_auction(caf::event_based_actor* self, vstate& s, std::shared_ptr<proposer_auction> a) {
  auto best = a->next(s.bids ? &*s.bids : nullptr,
                      [&s](const node_id& b) { return s.bidders.count(b) > 0; });
  if (!best) return propose_now(self, s, a->height(), a->round(), {}, std::nullopt);
  auto builder = a->builder();
  auto wait = std::chrono::milliseconds(std::max<std::uint64_t>(100, s.gen.params.block_interval_ms / 2));
  auto hash = bytes(best->bundle_hash.data.begin(), best->bundle_hash.data.end());
  auto* sp = &s;
  self->request(s.bidders.at(builder), wait, bd_reveal_atom::value, a->height(), hash)
    .then(
      [=](const std::vector<std::vector<std::uint8_t>>& entries) {
        std::vector<bytes> bundle(entries.begin(), entries.end());
        if (auto st = a->revealed(bundle); !st) {
          sp->ctx.log->warn("height {}: builder {} revealed a wrong bundle: {}", a->height(),
                            builder.hex().substr(0, 12), st.err().message);
          return run_auction(self, *sp, a);
        }
        propose_now(self, *sp, a->height(), a->round(), std::move(bundle), best);
      },
      [=](caf::error& e) {
        sp->ctx.log->warn("height {}: builder {} won with {} but did not reveal its bundle ({}): "
                          "withheld-bid evidence",
                          a->height(), builder.hex().substr(0, 12), best->value.to_string(),
                          self->system().render(e));
        if (sp->withheld_c) sp->withheld_c->inc();
        sp->withheld.push_back(a->withheld(sp->gen.chain_id));
        run_auction(self, *sp, a);
      });
}

void apply_effects(caf::event_based_actor* self, vstate& s, qbft::effects fx) {
  // Complaints owed for a proposal refused for leaving out due headers (valid_block set them).
  auto owed = std::move(s.owed);
  s.owed.clear();
  for (auto& c : owed) {
    auto wire = encode(c);
    for (auto& [node, h] : s.peers)
      if (node != s.ctx.node_id) self->send<high>(h, complaint_atom::value, wire);
    take_complaint(self, s, c);
  }
  for (auto& m : fx.broadcast) {
    if (m.type == qbft::kind::prepare || m.type == qbft::kind::commit) {
      auto ms = s.ctx.clock.seconds_since(s.height_started) * 1000;
      (m.type == qbft::kind::prepare ? s.t_prepare : s.t_commit) = ms;
    }
    broadcast(self, s, m);
  }
  for (auto& eq : fx.evidence)
    if (auto key = s.state.key_of(eq.first.from))
      add_evidence(self, s, encode(make_evidence(s.gen.chain_id, *key, eq)));
  if (fx.set_timer) {
    if (s.round_g) s.round_g->set(static_cast<double>(fx.timer_round));
    if (fx.timer_round > 0 && s.round_changes) s.round_changes->inc();
    self->delayed_send<high>(self, fx.timer, vtimer_atom::value, s.cons->height(),
                             fx.timer_round);
  }
  if (fx.need_block)
    run_auction(self, s, std::make_shared<proposer_auction>(s.cons->height(), s.cons->round()));
  if (fx.decided && finalize(s, *fx.decided)) {
    publish(self, s);
    // h + 1 starts one block interval after h started (at once if deciding h took longer).
    auto wait = std::chrono::milliseconds(s.gen.params.block_interval_ms) -
                (s.ctx.clock.monotonic() - s.height_started);
    if (wait > wait.zero())
      self->delayed_send<high>(self, wait, vnext_atom::value);
    else
      self->send<high>(self, vnext_atom::value); // at once, not through CAF's clock thread
  }
}

/// Collects complaints per proposal (complaint_book); f+1 from distinct validators of the set
/// become censorship evidence.
void take_complaint(caf::event_based_actor* self, vstate& s, const exclusion_complaint& c) {
  auto who = verify_complaint(c, s.gen.chain_id);
  auto set = s.validators();
  if (!who || !set.find(*who)) return;
  auto offender = s.state.key_of(c.proposer);
  auto got = s.complaints.take(c, *who, s.tip.height + 1, set.faulty(),
                               offender ? std::optional<bytes>(offender->der()) : std::nullopt);
  if (got.counted && s.complaints_c) s.complaints_c->inc();
  if (!got.evidence) return;
  s.ctx.log->warn("height {} round {}: {} validators complain that proposer {} left out due PoE "
                  "headers: evidence",
                  c.height, c.round, got.evidence->complaints.size(), c.proposer.hex().substr(0, 12));
  add_evidence(self, s, encode(*got.evidence));
}

/// Takes a PoE entry from a builder (or a validator's gossip): checked against the state as
/// far as it can be before its predecessors land, held for inclusion, gossiped once.
submit_reply admit_entry(caf::event_based_actor* self, vstate& s, const bytes& raw, bool gossip) {
  auto reject = [&](const char* rule, const std::string& why) {
    if (s.poe_rejected) s.poe_rejected->inc();
    return rejected_reply(rule, why);
  };
  auto e = decode_poe_entry(raw);
  if (!e) return reject("invalid", e.err().message);
  auto id = entry_id(*e);
  if (s.held.holds(id)) return known_reply(bytes(id.data.begin(), id.data.end()));
  const auto& bpi = e->header.bpi;
  auto key = s.state.key_of(bpi);
  if (!key || s.state.stake_of(bpi, stake_role::builder) < s.gen.params.rent.min_builder_stake ||
      s.state.stake_of(bpi, stake_role::builder) == amount{0})
    return reject("not_staked", "BPI " + bpi.hex().substr(0, 12) + " holds no builder stake");
  if (auto st = check_entry(*e, *key, s.gen.chain_id); !st) return reject("invalid", st.err().message);
  if (e->book_block.sequence < s.book_size(bpi))
    return reject("out_of_order", "LogBlock " + std::to_string(e->book_block.sequence) +
                                    " is already in the book");
  auto quote = rent_quote(s.gen.params.rent, e->book_block);
  if (!quote || amount{e->header.rent_payment} < *quote)
    return reject("rent_too_low", "the quote is " + (quote ? quote->to_string() : "over 2^64"));
  if (s.held.size() >= 100'000) return reject("full", "too many PoE headers held");
  // Per BPI: one BPI offering entries far ahead of its book must not crowd out the others.
  if (s.held.count_of(bpi) >= 4096)
    return reject("full", "4096 headers of BPI " + bpi.hex().substr(0, 12) + " held already");
  s.held.hold(*e, s.tip.height);
  s.seen_at.emplace(id, s.ctx.clock.monotonic());
  if (s.poe_admitted) s.poe_admitted->inc();
  if (s.held_g) s.held_g->set(static_cast<double>(s.held.size()));
  if (gossip)
    for (auto& [node, h] : s.peers)
      if (node != s.ctx.node_id) self->send(h, poegossip_atom::value, raw);
  return accepted_reply(bytes(id.data.begin(), id.data.end()));
}

/// Admits a submitted transaction to the mempool; accepted ones are gossiped in batches.
submit_reply admit(caf::event_based_actor* self, vstate& s, const std::vector<std::uint8_t>& wire) {
  auto tx = decode_transaction(wire);
  if (!tx) return rejected_reply(std::string(to_string(reject_reason::bad_encoding)), tx.err().message);
  if (auto st = s.pool.add(*tx, s.state, &s.verified); !st)
    return st.reason() == reject_reason::mempool_full // backpressure: resubmit after a block
             ? busy_reply(std::string(to_string(st.reason())), st.message())
             : rejected_reply(std::string(to_string(st.reason())), st.message());
  if (s.mempool_g) s.mempool_g->set(static_cast<double>(s.pool.size()));
  if (s.outbox.empty()) self->delayed_send(self, gossip_delay, vflush_atom::value);
  s.outbox.push_back(wire);
  auto id = tx_id(*tx);
  return accepted_reply(bytes(id.data.begin(), id.data.end()));
}

} // namespace

/// Recovery: the signing record, then every stored block in order (replayed, not persisted).
void recover(vstate& s) {
  auto& ctx = s.ctx;
  auto st = ctx.store->for_each(cf, as_bytes("s/"), [&](byte_view k, byte_view v) {
    return bool(s.guard.load(k.subspan(2), v));
  });
  if (!st) throw std::runtime_error("signing record: " + st.err().message);
  for (std::uint64_t h = 1;; ++h) {
    auto raw = ctx.store->get(cf, block_key(h));
    if (!raw || !*raw) break;
    auto d = qbft::decode_decision(**raw, h);
    if (!d)
      throw std::runtime_error("stored block " + std::to_string(h) + ": " + d.err().message);
    if (!finalize(s, *d, false))
      throw std::runtime_error("stored block " + std::to_string(h) +
                               " does not replay on this genesis (see the log above; a store "
                               "from another chain? remove the node's data directory)");
  }
}

/// Whether a proposed block may get our PREPARE: it validates on our tip, and it includes the
/// PoE headers it owes (forced inclusion, inclusion.hpp); one that leaves them out gets a
/// signed complaint instead.
bool valid_proposal(vstate& s, byte_view block) {
  auto b = decode_block(block);
  if (!b) return false;
  std::optional<ledger> after;
  if (!validate_block(s.state, s.tip, *b, s.ctx.clock.now_ms(), 2000, &s.verified, &after))
    return false;
  if (auto missing = missing_owed(s.held, s.state, s.gen.params.rent, *b); !missing.empty()) {
    exclusion_complaint c;
    c.chain_id = s.gen.chain_id;
    c.height = b->header.height;
    c.round = b->header.round;
    c.proposer = b->header.proposer;
    c.digest = sha256::digest(block);
    c.missing = std::move(missing);
    chain::sign(c, *s.ctx.key);
    s.ctx.log->warn("height {} round {}: the proposal of {} leaves out {} PoE header(s) "
                     "held for {}+ blocks: no PREPARE, complaint sent",
                     c.height, c.round, c.proposer.hex().substr(0, 12), c.missing.size(),
                     s.gen.params.rent.inclusion_blocks);
    s.owed.push_back(std::move(c));
    return false;
  }
  s.validated_digest = sha256::digest(block);
  s.validated = std::move(after);
  return true;
}

/// The validator's metrics.
void make_metrics(vstate& s, metrics::factory& f) {
  s.height_g = f.make_gauge("poe_chain_height", "Height of the last finalized block.");
  s.round_g = f.make_gauge("poe_consensus_round", "Current QBFT round.");
  s.mempool_g = f.make_gauge("poe_mempool_transactions", "Transactions in the mempool.");
  s.round_changes =
    f.make_counter("poe_consensus_round_changes_total", "Rounds entered after round 0.");
  s.evidence_c = f.make_counter("poe_consensus_evidence_total",
                                 "Evidence taken (equivocation detected or received; storage fraud submitted).");
  s.slashes = f.make_counter("poe_chain_slashes_total",
                              "Slashes applied by evidence in a committed block.");
  s.commits = f.make_counter("poe_chain_blocks_committed_total", "Blocks finalized.");
  s.held_g = f.make_gauge("poe_notary_headers_held", "Valid PoE headers held for inclusion.");
  s.treasury_g = f.make_gauge("poe_rent_treasury", "Treasury pool (base units).");
  s.slashing_pool_g = f.make_gauge("poe_rent_slashing_pool", "Slashing pool (base units).");
  s.builders_g = f.make_gauge("poe_notary_active_builders",
                               "BPIs with a header in the last 100 blocks.");
  s.poe_included = f.make_counter("poe_notary_headers_included_total",
                                   "PoE headers in finalized blocks.");
  s.poe_admitted = f.make_counter("poe_notary_headers_admitted_total",
                                   "Valid PoE headers admitted here (from builders or gossip).");
  s.poe_rejected = f.make_counter("poe_notary_headers_rejected_total",
                                   "PoE headers refused at admission.");
  s.complaints_c = f.make_counter("poe_notary_complaints_total",
                                   "Exclusion complaints taken (own and received).");
  s.bids_c = f.make_counter("poe_pbs_bids_total", "Builder bids taken into an auction.");
  s.winning_c = f.make_counter("poe_pbs_winning_bids_total",
                                "Value of the winning bids of our proposals (base units).");
  s.withheld_c = f.make_counter("poe_pbs_withheld_total",
                                 "Winning builders that did not reveal their bundle.");
  s.rent_c = f.make_counter("poe_rent_collected_total",
                             "Rent paid by PoE headers in finalized blocks (base units).");
  s.inclusion_blocks = f.make_histogram(
    "poe_notary_inclusion_blocks", "Blocks from a header's admission here to its inclusion.",
    {1, 2, 3, 4, 5, 6, 8, 10, 20});
  s.inclusion_seconds = f.make_histogram(
    "poe_notary_inclusion_seconds", "From a header's admission here to its finalized block.",
    {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});
  s.commit_latency = f.make_histogram(
    "poe_chain_commit_seconds", "Time from the start of a height to its commit.",
    {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
}

/// A sealed bid for the next height's auction, from a builder with builder stake; its sender
/// is asked for the bundle if it wins.
submit_reply take_bid(caf::event_based_actor* self, vstate& s, const bytes& raw) {
  auto bid = decode_builder_bid(raw);
  if (!bid) return rejected_reply("invalid", bid.err().message);
  if (!s.bids || s.bids->height() != s.tip.height + 1) {
    s.bids.emplace(s.gen.chain_id, s.tip.height + 1);
    s.bidders.clear();
  }
  auto who = verify_bid(*bid, s.gen.chain_id);
  if (!who) return rejected_reply("invalid", who.err().message);
  if (s.state.stake_of(*who, stake_role::builder) == amount{})
    return rejected_reply("not_staked", "the bidder holds no builder stake");
  if (auto st = s.bids->offer(*bid); !st)
    return rejected_reply(std::string(to_string(st.err().code)), st.err().message);
  if (auto h = caf::actor_cast<caf::actor>(self->current_sender())) s.bidders[*who] = h;
  if (s.bids_c) s.bids_c->inc();
  return accepted_reply(bytes(who->data.begin(), who->data.end()));
}

/// An account as the ledger has it at the tip (typed: account_view).
account_view account_of(const vstate& s, const node_id& id) {
  auto a = s.state.account_of(id);
  account_view out;
  out.account.assign(id.data.begin(), id.data.end());
  out.balance = a.balance.units();
  out.nonce = a.nonce;
  out.next_nonce = s.pool.next_nonce(id, s.state);
  out.height = s.tip.height;
  out.jailed = s.state.is_jailed(id);
  for (auto r : all_stake_roles)
    if (auto v = s.state.stake_of(id, r); v != amount{0}) out.stakes.push_back({r, v.units()});
  for (auto& u : s.state.unbonding())
    if (u.account == id) out.unbonding.push_back({u.role, u.value.units(), u.release_height});
  out.flows = flows_of(s.state.flows_of(id));
  return out;
}

using bytes_t = std::vector<std::uint8_t>;
bytes_t to_vec(byte_view v) { return bytes_t(v.begin(), v.end()); }

content_view content_of(const vstate& s, const hash256& id) {
  content_view out;
  out.height = s.tip.height;
  out.id = to_vec(id.view());
  auto c = s.state.content_of(id);
  if (!c) return out;
  out.found = true;
  out.creator = to_vec(c->creator.view());
  out.verifier = to_vec(c->verifier.view());
  out.price_per_second = c->price_per_second.units();
  out.creator_ppm = c->split.creator;
  out.operators_ppm = c->split.operators;
  out.platform_ppm = c->split.platform;
  out.treasury_ppm = c->split.treasury;
  out.outputs = c->outputs;
  out.published = c->height;
  return out;
}

job_escrow_view escrow_of(const vstate& s, const hash256& id) {
  job_escrow_view out;
  out.height = s.tip.height;
  out.id = to_vec(id.view());
  auto e = s.state.job_escrow_of(id);
  if (!e) return out;
  out.found = true;
  out.funder = to_vec(e->funder.view());
  out.verifier = to_vec(e->verifier.view());
  out.deposit = e->deposit.units();
  out.paid = e->paid.units();
  out.price_per_work_unit = e->price_per_work_unit.units();
  out.verifier_ppm = e->verifier_ppm;
  out.expiry_height = e->expiry_height;
  out.tasks_paid.assign(e->tasks_paid.begin(), e->tasks_paid.end());
  return out;
}

channel_view channel_of(const vstate& s, const hash256& id) {
  channel_view out;
  out.height = s.tip.height;
  out.id = to_vec(id.view());
  auto c = s.state.channel_of(id);
  if (!c) return out;
  out.found = true;
  out.payer = to_vec(c->payer.view());
  out.payee = to_vec(c->payee.view());
  out.deposit = c->deposit.units();
  out.paid = c->paid.units();
  out.expiry_height = c->expiry_height;
  out.closing_height = c->closing_height;
  for (auto& [lane, r] : c->lanes)
    out.lanes.push_back({lane, to_vec(r.content.view()), r.price_per_tick.units(), r.ticks});
  return out;
}

/// A consensus message: to the state machine, held for its height, or dropped (inbox rules,
/// consensus_inbox.hpp); a proven sender ahead of us is asked for the block we miss, one
/// behind us is sent the finalized block it is working on.
void on_consensus(caf::event_based_actor* self, vstate& s, const qbft::message& m,
                  std::size_t bytes) {
  auto next = s.tip.height + 1;
  auto d = s.inbox.on_message(m, bytes, next, s.cons->height() == next, s.validators(),
                              s.gen.chain_id);
  if (d.what == qbft::inbox::action::deliver) {
    if (!s.cons->decided()) apply_effects(self, s, s.cons->on_message(m));
    return;
  }
  auto peer = s.peers.find(m.from.hex());
  if (peer == s.peers.end()) return;
  if (d.ask_block)
    self->send<high>(peer->second, vneed_atom::value, *d.ask_block, caf::actor_cast<caf::actor>(self));
  if (d.send_block)
    if (auto raw = s.ctx.store->get(cf, block_key(*d.send_block)); raw && *raw)
      self->send<high>(peer->second, vblock_atom::value, *d.send_block, **raw);
}

runtime::role_info validator_role() {
  return {
    "validator", "QBFT consensus over blocks of transactions and PoE headers; the ledger",
    [](caf::event_based_actor* self, const role_context& ctx) -> caf::behavior {
      auto path = ctx.options().validator.genesis;
      if (path.empty()) throw std::runtime_error("validator.genesis is not set");
      auto g = load_genesis(path);
      if (!g) throw std::runtime_error("validator.genesis: " + g.err().message);
      if (!ctx.store) throw std::runtime_error("the validator role needs the node's store");
      auto l = ledger::from_genesis(*g);
      if (!l) throw std::runtime_error("genesis: " + l.err().message);
      auto s = std::make_shared<vstate>(ctx, *g, std::move(*l));
      s->set_root = validators_root(s->state.validator_set());
      if (ctx.options().validator.censor) {
        s->censor = true;
        ctx.log->warn("fault drill: this validator proposes blocks without PoE headers");
      }
      recover(*s);
      qbft::config qc;
      qc.chain_id = g->chain_id;
      // Round 0 must leave time to validate a full block (signatures not yet seen included):
      // at least 1 s, or two block intervals.
      qc.round_timeout =
        std::chrono::milliseconds(std::max<std::uint64_t>(1000, 2 * g->params.block_interval_ms));
      qc.round_timeout_max = std::chrono::seconds(10);
      qc.before_sign = [s](const qbft::message& m) { return s->guard.allow(m); };
      s->cons = std::make_unique<qbft::state>(qc, *ctx.key,
                                              [s](byte_view block) { return valid_proposal(*s, block); });
      make_metrics(*s, *ctx.metrics);
      ctx.log->info("validator at height {} ({} validators, chain {})", s->tip.height,
                    s->validators().size(), g->chain_id);
      self->send(ctx.directory, subscribe_atom::value, std::string("validator"));
      start_height(self, *s);
      self->set_down_handler([s](caf::down_msg& m) { s->subscribers.erase(m.source); });
      return {
        [s](members_atom, const std::string&, const std::vector<role_entry>& members) {
          s->peers.clear();
          for (auto& e : members)
            s->peers[e.node] = e.handle;
        },
        [self, s](cons_atom, const std::vector<std::uint8_t>& wire) {
          auto m = qbft::decode_message(wire);
          if (!m) return;
          on_consensus(self, *s, *m, wire.size());
        },
        [self, s](vneed_atom, std::uint64_t height, const caf::actor& reply_to) {
          // Messages between nodes name their reply-to handle (they also cross the test seam).
          auto raw = s->ctx.store->get(cf, block_key(height));
          if (raw && *raw && reply_to)
            self->send<high>(reply_to, vblock_atom::value, height, **raw);
        },
        [self, s](vblock_atom, std::uint64_t height, const std::vector<std::uint8_t>& raw) {
          if (height != s->tip.height + 1) return;
          auto d = qbft::decode_decision(raw, height);
          if (!d || !qbft::verify_decision(s->validators(), s->gen.chain_id, *d)) {
            s->ctx.log->warn("refused a synced block {} (seals do not verify)", height);
            return;
          }
          if (finalize(*s, *d)) {
            publish(self, *s);
            start_height(self, *s);
          }
        },
        [self, s](vtimer_atom, std::uint64_t height, std::uint64_t round) {
          if (height == s->cons->height() && !s->cons->decided())
            apply_effects(self, *s, s->cons->on_timeout(round));
        },
        [self, s](vnext_atom) {
          if (s->cons->decided()) start_height(self, *s);
        },
        [self, s](tx_atom, const std::vector<std::uint8_t>& wire) {
          return admit(self, *s, wire);
        },
        [self, s](tx_atom, const std::vector<std::vector<std::uint8_t>>& batch) {
          std::vector<submit_reply> out;
          out.reserve(batch.size());
          for (auto& wire : batch)
            out.push_back(admit(self, *s, wire));
          return out;
        },
        [self, s](vflush_atom) {
          auto batch = std::move(s->outbox);
          s->outbox.clear();
          for (auto& [node, h] : s->peers) // gossip once to the other validators
            if (node != s->ctx.node_id) self->send(h, txgossip_atom::value, batch);
        },
        [s](txgossip_atom, const std::vector<std::vector<std::uint8_t>>& batch) {
          for (auto& wire : batch)
            if (auto tx = decode_transaction(wire)) {
              auto st = s->pool.add(*tx, s->state, &s->verified); // refusals are normal here
              (void)st;
            }
          if (s->mempool_g) s->mempool_g->set(static_cast<double>(s->pool.size()));
        },
        [self, s](bid_atom, const std::vector<std::uint8_t>& raw) {
          return take_bid(self, *s, raw);
        },
        [self, s](poe_atom, const std::vector<std::uint8_t>& raw) {
          return admit_entry(self, *s, raw, true);
        },
        [self, s](poegossip_atom, const std::vector<std::uint8_t>& raw) {
          (void)admit_entry(self, *s, raw, false);
        },
        [self, s](complaint_atom, const std::vector<std::uint8_t>& raw) {
          if (auto c = decode_exclusion_complaint(raw)) take_complaint(self, *s, *c);
        },
        [self, s](evidence_atom, const std::vector<std::uint8_t>& raw) {
          return add_evidence(self, *s, raw);
        },
        [self, s](evgossip_atom, const std::vector<std::uint8_t>& raw) {
          (void)add_evidence(self, *s, raw); // a refusal here is normal (already known)
        },
        [s](account_atom, const std::string& id_hex) -> caf::result<account_view> {
          auto id = node_id::from_hex(id_hex);
          if (!id) return caf::make_error(caf::sec::runtime_error, "account: " + id.err().message);
          return account_of(*s, *id);
        },
        [s](content_atom, const std::vector<std::uint8_t>& raw) -> caf::result<content_view> {
          auto id = hash256::from_view(raw);
          if (!id) return caf::make_error(caf::sec::runtime_error, "content id: " + id.err().message);
          return content_of(*s, *id);
        },
        [s](chan_atom, const std::vector<std::uint8_t>& raw) -> caf::result<channel_view> {
          auto id = hash256::from_view(raw);
          if (!id) return caf::make_error(caf::sec::runtime_error, "channel id: " + id.err().message);
          return channel_of(*s, *id);
        },
        [s](escrow_atom, const std::vector<std::uint8_t>& raw) -> caf::result<job_escrow_view> {
          auto id = hash256::from_view(raw);
          if (!id) return caf::make_error(caf::sec::runtime_error, "escrow id: " + id.err().message);
          return escrow_of(*s, *id);
        },
        [s](pool_atom) {
          decider_pool out;
          out.height = s->tip.height;
          for (auto& x : s->state.drawable_executors(UINT64_MAX))
            out.executors.push_back({std::vector<std::uint8_t>(x.id.data.begin(), x.id.data.end()), x.stake.units(), x.since});
          return out;
        },
        [s](chain_atom) { return status_of(*s); },
        [self, s](chain_sub_atom, std::uint64_t after, const caf::actor& who) -> chain_status {
          // The catch-up starts on the next turn, after this reply: a subscriber learns the
          // chain's parameters before its first block.
          if (who) {
            auto& sub = s->subscribers[who.address()];
            bool fresh = !sub.handle;
            sub.handle = who;
            sub.next = after == chain_from_tip ? std::max<std::uint64_t>(s->tip.height, 1)
                                               : after + 1;
            sub.generation = ++s->generations;
            if (fresh) self->monitor(who);
            self->send(self, vfeed_atom::value, who.address(), sub.generation);
          }
          return status_of(*s);
        },
        [self, s](vfeed_atom, const caf::actor_addr& who, std::uint64_t generation) {
          feed(self, *s, who, generation);
        },
        [s](block_atom, std::uint64_t height) -> std::vector<std::uint8_t> {
          auto raw = s->ctx.store->get(cf, block_key(height));
          if (!raw || !*raw) return {};
          return **raw;
        },
        [s](sets_atom, std::uint64_t below) {
          std::vector<std::vector<std::uint8_t>> out;
          for (auto& [height, set] : s->set_changes) {
            if (height >= below) break;
            auto raw = s->ctx.store->get(cf, block_key(height));
            if (!raw || !*raw) continue; // not stored (cannot happen after its finalization)
            set_change c;
            c.height = height;
            c.decision = **raw;
            for (auto& v : set) c.validators.emplace_back(v.key.der(), v.stake.units());
            auto e = encode(c);
            out.emplace_back(e.begin(), e.end());
          }
          return out;
        },
        [s](status_atom) { return s->tip.height; },
        [s](status_atom, std::uint64_t height) -> std::string {
          auto raw = s->ctx.store->get(cf, block_key(height));
          if (!raw || !*raw) return {};
          auto d = qbft::decode_decision(**raw, height);
          return d ? d->digest.hex() : std::string{};
        },
      };
    },
    {}};
}

} // namespace poe::actors
