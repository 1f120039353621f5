// The `channel` role: the payee side of payment channels (channel_state.hpp holds the rules).
// It follows the chain's pushed blocks (chain_follow.hpp) for the channels opened to this node,
// their top-ups and closes, claims settled and content prices; takes lane commitments, ticks and
// vouchers from payers; acknowledges each only after the lane's new state is written, synced
// (group commit: everything that arrived before the write waits for it); and submits its best
// lane states as channel_claim transactions (signed with the node key) when they are due — at
// once when a payer starts closing, near expiry, and on schedule.
//
//   (ch_lane_atom, bytes lane_commit) → channel_ack
//   (ch_tick_atom, bytes channel, u32 lane, u32 index, bytes w) → channel_ack
//   (ch_ticks_atom, vector<bytes> ticks: channel ‖ u32 lane ‖ u32 index ‖ w) → vector<channel_ack>
//   (ch_vouch_atom, bytes voucher) → channel_ack
//   (ch_status_atom) → channel_report
//   (ch_paid_atom, channel, lane, content) → channel_ack: the seconds a lane has paid
//
// Store (column family "channel"): "l/" ‖ channel ‖ u32 lane → lane record; "j/" ‖ u64 seq →
// tick journal (n × (channel ‖ u32 lane ‖ u32 index ‖ w)), replayed over the lane records; "c/" ‖ channel →
// payer ‖ u16 len ‖ payer key ‖ u64 deposit ‖ u64 expiry ‖ u64 closing; "p/" ‖ content → u64
// price per second; "scan" → u64 last block taken; "claims" → u64 claims submitted.
#include "poe/actors/roles.hpp"
#include "poe/chain/block.hpp"
#include "poe/chain/qbft.hpp"
#include "poe/chain/transaction.hpp"
#include "poe/core/byte_io.hpp"
#include "poe/runtime/messages.hpp"
#include "poe/runtime/metrics.hpp"
#include "poe/store/store.hpp"
#include "chain_follow.hpp"
#include "channel_state.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <deque>

namespace poe::actors {

using namespace poe::runtime;
using namespace poe::chain;
using channel::payee_book;

namespace {

using bytes_t = std::vector<std::uint8_t>;
using flush_atom = caf::atom_constant<caf::atom("ch_flush")>;
constexpr const char* cf = "channel";

bytes key_of(char kind, const hash256& id, std::optional<std::uint32_t> lane = std::nullopt) {
  bytes k{static_cast<std::uint8_t>(kind), '/'};
  append(k, id.view());
  if (lane) append_u32_be(k, *lane);
  return k;
}

bytes encode_facts(const channel::channel_facts& f) {
  bytes out;
  append(out, f.payer.view());
  out.push_back(static_cast<std::uint8_t>(f.payer_key.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(f.payer_key.size()));
  append(out, f.payer_key);
  for (auto v : {f.deposit.units(), f.expiry_height, f.closing_height}) append_u64_be(out, v);
  return out;
}

std::optional<channel::channel_facts> decode_facts(byte_view in) {
  byte_reader r{in};
  channel::channel_facts f;
  f.payer = r.fixed<node_id>();
  std::size_t n = std::size_t{r.u8()} << 8;
  n |= r.u8();
  f.payer_key = r.take(n);
  f.deposit = amount{r.u64()};
  f.expiry_height = r.u64();
  f.closing_height = r.u64();
  if (!r.done()) return std::nullopt;
  return f;
}

struct cstate {
  role_context ctx;
  node_id self;
  std::unique_ptr<payee_book> book;
  std::unique_ptr<chain_follower> chain;
  std::optional<payment_terms> terms;
  std::uint64_t scanned = 0;
  std::uint64_t claims = 0;
  // Group commit: writes and the acknowledgements waiting for them.
  store::batch writes;
  std::vector<std::pair<caf::typed_response_promise<channel_ack>, channel_ack>> waiting;
  std::vector<std::pair<caf::typed_response_promise<std::vector<channel_ack>>, std::vector<channel_ack>>>
    waiting_batches;
  bool flush_scheduled = false;
  // The tick journal: a tick changes only its lane's count and hash, so the ticks of a commit
  // window are written as one record ("j/" ‖ u64 seq: n × (channel ‖ u32 lane ‖ u32 index ‖
  // w)) instead of a lane record each; every compact_every blocks (when there is a journal)
  // every lane's record is rewritten and the journal up to then erased, in one batch.
  bytes journal;
  std::uint64_t journal_seq = 0;   ///< the next journal record's number
  std::uint64_t journal_first = 0; ///< the oldest journal record not yet compacted
  std::uint64_t compacted_at = 0;  ///< block of the last compaction
  // Claim submission, one transaction at a time.
  std::deque<channel::claim_plan> outbox;
  bool in_flight = false;
  std::optional<std::uint64_t> nonce;
  std::shared_ptr<metrics::counter> ticks_c, vouchers_c, refused_c, claims_c, challenge_c, settled_c;
  std::shared_ptr<metrics::gauge> channels_g, lanes_g, pending_g;
};
using state_ptr = std::shared_ptr<cstate>;

void update_gauges(const state_ptr& s) {
  s->channels_g->set(static_cast<double>(s->book->channel_count()));
  s->lanes_g->set(static_cast<double>(s->book->lane_count()));
  s->pending_g->set(static_cast<double>(s->book->pending().units()));
}

constexpr auto commit_window = std::chrono::milliseconds(20);
/// Blocks between compactions of the tick journal (a restart replays at most this much).
constexpr std::uint64_t compact_every = 60;

void schedule_flush(caf::event_based_actor* self, const state_ptr& s) {
  if (s->flush_scheduled) return;
  s->flush_scheduled = true;
  // Group commit over a short window: every payment that arrives within it shares one synced
  // write (a payee of many viewers would otherwise sync once per message).
  self->delayed_send(self, commit_window, flush_atom::value);
}

bytes journal_key(std::uint64_t seq) {
  bytes k{'j', '/'};
  append_u64_be(k, seq);
  return k;
}

/// A payment's acknowledgement; its lane's new state (if any) joins the next write: a tick
/// (`tick_w`) as a journal entry, anything else as the lane's record.
channel_ack record(const state_ptr& s, const hash256& ch, std::uint32_t lane, const channel::outcome& o,
                   const hash256* tick_w = nullptr) {
  if (!o.ok()) s->refused_c->inc();
  if (o.fresh && tick_w) {
    append(s->journal, ch.view());
    append_u32_be(s->journal, lane);
    append_u32_be(s->journal, o.ticks);
    append(s->journal, tick_w->view());
  } else if (o.fresh) {
    if (auto* l = s->book->lane(ch, lane)) s->writes.put(cf, key_of('l', ch, lane), payee_book::encode(*l));
  }
  return channel_ack{o.ok(), o.ok() ? std::string{} : std::string(channel::to_string(o.why)), o.ticks,
                     o.owed.units()};
}

/// Answers a payment: at once when nothing waits for a write, else after the write.
caf::result<channel_ack> answer(caf::event_based_actor* self, const state_ptr& s,
                                const hash256& ch, std::uint32_t lane, const channel::outcome& o,
                                const hash256* tick_w = nullptr) {
  auto ack = record(s, ch, lane, o, tick_w);
  if (!o.fresh && !s->flush_scheduled) return ack;
  auto rp = self->make_response_promise<channel_ack>();
  s->waiting.emplace_back(rp, std::move(ack));
  schedule_flush(self, s);
  return rp;
}

void flush(const state_ptr& s) {
  s->flush_scheduled = false;
  if (!s->journal.empty()) {
    s->writes.put(cf, journal_key(s->journal_seq++), s->journal);
    s->journal.clear();
  }
  if (!s->writes.empty()) {
    if (auto st = s->ctx.store->write(s->writes, store::write_mode::sync); !st)
      // The book holds state that is not durable: start again from what is.
      throw std::runtime_error("channel: lane records not written: " + st.err().message);
    s->writes = store::batch{};
  }
  for (auto& [rp, ack] : s->waiting) rp.deliver(std::move(ack));
  s->waiting.clear();
  for (auto& [rp, acks] : s->waiting_batches) rp.deliver(std::move(acks));
  s->waiting_batches.clear();
}

/// Many ticks in one message (a gateway's viewers): answered together, after their write.
caf::result<std::vector<channel_ack>> take_ticks(caf::event_based_actor* self, const state_ptr& s,
                                                 const std::vector<bytes_t>& ticks) {
  std::vector<channel_ack> acks;
  acks.reserve(ticks.size());
  bool fresh = false;
  for (auto& t : ticks) {
    if (t.size() != 72) {
      acks.push_back(channel_ack{false, "bad_encoding", 0, 0});
      continue;
    }
    byte_view v(t);
    auto id = *hash256::from_view(v.subspan(0, 32));
    auto lane = get_u32_be(t.data() + 32);
    auto w = *hash256::from_view(v.subspan(40, 32));
    auto o = s->book->tick(id, lane, get_u32_be(t.data() + 36), w);
    if (o.fresh) s->ticks_c->inc();
    fresh = fresh || o.fresh;
    acks.push_back(record(s, id, lane, o, &w));
  }
  if (!fresh && !s->flush_scheduled) return acks;
  auto rp = self->make_response_promise<std::vector<channel_ack>>();
  s->waiting_batches.emplace_back(rp, std::move(acks));
  schedule_flush(self, s);
  return rp;
}

void pump(caf::event_based_actor* self, const state_ptr& s);

void submit(caf::event_based_actor* self, const state_ptr& s, channel::claim_plan plan) {
  transaction tx;
  tx.chain_id = s->ctx.chain_id;
  tx.nonce = *s->nonce;
  tx.fee = amount{s->terms->min_fee};
  bool closing = false;
  if (auto f = s->book->facts(plan.channel)) closing = f->closing_height != 0;
  tx.body = channel_claim{plan.channel, plan.claims};
  sign(tx, *s->ctx.key);
  auto wire = encode(tx);
  s->in_flight = true;
  self->request(s->chain->validator(), std::chrono::seconds(10), tx_atom::value, bytes_t(wire.begin(), wire.end()))
    .then(
      [self, s, closing, n = plan.claims.size()](const submit_reply& r) {
        s->in_flight = false;
        if (r.taken()) {
          ++*s->nonce;
          ++s->claims;
          s->claims_c->inc();
          if (closing) s->challenge_c->inc();
          bytes v;
          append_u64_be(v, s->claims);
          s->writes.put(cf, as_bytes(std::string_view("claims")), v);
          s->ctx.log->info("claimed {} lane(s): {}", n, r.text());
        } else {
          s->ctx.log->warn("a lane claim was refused: {}", r.text());
          if (r.reason == "stale_nonce" || r.reason == "bad_nonce") s->nonce.reset();
        }
        pump(self, s);
      },
      [self, s](caf::error& e) {
        s->in_flight = false;
        s->nonce.reset();
        s->ctx.log->warn("a lane claim was not submitted: {} (retried when due again)", self->system().render(e));
      });
}

/// Sends the next due claim: after learning the account's nonce from the validator.
void pump(caf::event_based_actor* self, const state_ptr& s) {
  if (s->in_flight || s->outbox.empty() || !s->chain->subscribed() || !s->terms) return;
  if (!s->nonce) {
    s->in_flight = true;
    self->request(s->chain->validator(), std::chrono::seconds(10), account_atom::value, s->self.hex())
      .then(
        [self, s](const account_view& a) {
          s->in_flight = false;
          s->nonce = a.nonce;
          pump(self, s);
        },
        [self, s](caf::error& e) {
          s->in_flight = false;
          s->ctx.log->warn("the node's account nonce is unknown: {}", self->system().render(e));
        });
    return;
  }
  auto plan = std::move(s->outbox.front());
  s->outbox.pop_front();
  submit(self, s, std::move(plan));
}

/// One finalized block: channels to this node, their top-ups, closes and settled claims, and
/// content prices; then the claims due.
void on_block(caf::event_based_actor* self, const state_ptr& s, const chain_block& ev) {
  auto d = qbft::decode_decision(ev.decision, ev.height);
  auto b = d ? decode_block(d->block) : result<block>(d.err());
  if (!b) {
    s->ctx.log->warn("block {}: {}", ev.height, b.err().message);
    return;
  }
  auto& book = *s->book;
  auto forget = [&](const hash256& id) {
    (void)s->ctx.store->for_each(cf, key_of('l', id), [&](byte_view k, byte_view) {
      s->writes.erase(cf, k);
      return true;
    });
    s->writes.erase(cf, key_of('c', id));
    book.on_channel_gone(id);
  };
  auto keep = [&](const hash256& id, channel::channel_facts f) {
    s->writes.put(cf, key_of('c', id), encode_facts(f));
    book.on_channel(id, std::move(f));
  };
  for (auto& raw : b->transactions) {
    auto tx = decode_transaction(raw);
    auto sender = tx ? sender_of(*tx) : result<node_id>(fail(errc::decode_error, "undecodable"));
    if (!sender) continue; // every transaction of a finalized block applied: not expected
    if (auto* p = std::get_if<content_publish>(&tx->body)) {
      auto id = content_id(p->output);
      book.on_content(id, p->price_per_second);
      bytes v;
      append_u64_be(v, p->price_per_second.units());
      s->writes.put(cf, key_of('p', id), v);
    } else if (auto* o = std::get_if<channel_open>(&tx->body)) {
      if (o->payee == s->self)
        keep(channel_id(*sender, tx->nonce),
             channel::channel_facts{*sender, tx->sender_key, o->deposit, o->expiry_height, 0});
    } else if (auto* t = std::get_if<channel_topup>(&tx->body)) {
      if (auto f = book.facts(t->channel)) {
        f->deposit = amount{f->deposit.units() + t->value.units()};
        keep(t->channel, *f);
      }
    } else if (auto* c = std::get_if<channel_claim>(&tx->body)) {
      if (book.facts(c->channel)) {
        auto before = book.settled(c->channel);
        for (auto& x : c->claims) {
          book.on_settled(c->channel, x.commit.lane, x.tick_index);
          if (auto* l = book.lane(c->channel, x.commit.lane))
            s->writes.put(cf, key_of('l', c->channel, x.commit.lane), payee_book::encode(*l));
        }
        s->settled_c->inc(static_cast<double>(book.settled(c->channel).units() - before.units()));
      }
    } else if (auto* c = std::get_if<channel_close>(&tx->body)) {
      if (auto f = book.facts(c->channel)) {
        if (*sender == f->payer) {
          f->closing_height = ev.height + s->terms->challenge_blocks;
          s->ctx.log->info("payer {} closes channel {}: claiming before height {}",
                           f->payer.hex().substr(0, 12), c->channel.hex().substr(0, 12), f->closing_height);
          keep(c->channel, *f);
        } else {
          forget(c->channel);
        }
      }
    } else if (auto* c = std::get_if<channel_collect>(&tx->body)) {
      if (book.facts(c->channel)) forget(c->channel);
    }
  }
  book.on_block(ev.height);
  if (ev.height >= s->compacted_at + compact_every && s->journal_seq > s->journal_first) {
    // Compaction: every lane's record now, the journal before this window erased.
    book.each_lane([&](const hash256& ch, const channel::lane_best& l) {
      s->writes.put(cf, key_of('l', ch, l.commit.lane), payee_book::encode(l));
    });
    for (auto seq = s->journal_first; seq < s->journal_seq; ++seq) s->writes.erase(cf, journal_key(seq));
    s->journal_first = s->journal_seq;
    s->compacted_at = ev.height;
  }
  bytes sc;
  append_u64_be(sc, ev.height);
  s->writes.put(cf, as_bytes(std::string_view("scan")), sc);
  s->scanned = ev.height;
  flush(s); // the chain's facts with the height they hold at
  update_gauges(s); // once a block: pending sums every lane
  for (auto& plan : book.due()) s->outbox.push_back(std::move(plan));
  pump(self, s);
}

void restore(const state_ptr& s) {
  auto& st = *s->ctx.store;
  if (auto raw = st.get(cf, as_bytes(std::string_view("scan"))); raw && *raw && (*raw)->size() == 8)
    s->scanned = get_u64_be((*raw)->data());
  if (auto raw = st.get(cf, as_bytes(std::string_view("claims"))); raw && *raw && (*raw)->size() == 8)
    s->claims = get_u64_be((*raw)->data());
  auto ok = st.for_each(cf, as_bytes(std::string_view("p/")), [&](byte_view k, byte_view v) {
    if (k.size() == 34 && v.size() == 8)
      s->book->on_content(*hash256::from_view(k.subspan(2)), amount{get_u64_be(v.data())});
    return true;
  });
  ok = ok ? st.for_each(cf, as_bytes(std::string_view("c/")), [&](byte_view k, byte_view v) {
    if (auto f = decode_facts(v); f && k.size() == 34) s->book->on_channel(*hash256::from_view(k.subspan(2)), *f);
    return true;
  }) : ok;
  ok = ok ? st.for_each(cf, as_bytes(std::string_view("l/")), [&](byte_view k, byte_view v) {
    auto l = payee_book::decode(v);
    if (!l || k.size() != 38) throw std::runtime_error("channel: an unreadable lane record");
    s->book->restore(*hash256::from_view(k.subspan(2, 32)), *l);
    return true;
  }) : ok;
  // The tick journal over the lane records, oldest first (big-endian numbers sort in order).
  bool first = true;
  ok = ok ? st.for_each(cf, as_bytes(std::string_view("j/")), [&](byte_view k, byte_view v) {
    if (k.size() != 10 || v.size() % 72 != 0) throw std::runtime_error("channel: an unreadable tick journal record");
    auto seq = get_u64_be(k.data() + 2);
    if (first) s->journal_first = seq;
    first = false;
    s->journal_seq = seq + 1;
    for (std::size_t at = 0; at < v.size(); at += 72) {
      auto ch = *hash256::from_view(v.subspan(at, 32));
      auto lane = get_u32_be(v.data() + at + 32);
      s->book->restore_tick(ch, lane, get_u32_be(v.data() + at + 36), *hash256::from_view(v.subspan(at + 40, 32)));
    }
    return true;
  }) : ok;
  if (!ok) throw std::runtime_error("channel: " + ok.err().message);
  s->book->on_block(s->scanned);
  s->compacted_at = s->scanned;
}

channel_report report(const state_ptr& s) {
  channel_report out;
  out.height = s->scanned;
  out.pending = s->book->pending().units();
  out.claims_submitted = s->claims;
  for (auto& [id, f] : s->book->all_facts()) {
    channel_entry e;
    e.id.assign(id.data.begin(), id.data.end());
    e.payer.assign(f.payer.data.begin(), f.payer.data.end());
    e.deposit = f.deposit.units();
    e.owed = s->book->owed(id).units();
    e.settled = s->book->settled(id).units();
    e.expiry_height = f.expiry_height;
    e.closing_height = f.closing_height;
    e.lanes = static_cast<std::uint32_t>(s->book->lanes_of(id));
    out.channels.push_back(std::move(e));
  }
  return out;
}

} // namespace

runtime::role_info channel_role() {
  return {
    "channel", "the payee side of viewer payment channels: ticks, vouchers, claims",
    [](caf::event_based_actor* self, const role_context& ctx) -> caf::behavior {
      if (!ctx.store) throw std::runtime_error("the channel role needs the node's store");
      if (!ctx.key) throw std::runtime_error("the channel role needs the node key (it signs claims)");
      auto s = std::make_shared<cstate>();
      s->ctx = ctx;
      s->self = ctx.key->id();
      s->book = std::make_unique<payee_book>(s->self, ctx.chain_id);
      restore(s);
      auto& f = *ctx.metrics;
      s->ticks_c = f.make_counter("poe_channel_ticks_total", "Ticks taken (new ones, verified).");
      s->vouchers_c = f.make_counter("poe_channel_vouchers_total", "Vouchers taken.");
      s->refused_c = f.make_counter("poe_channel_refused_total", "Lane commitments, ticks and vouchers refused.");
      s->claims_c = f.make_counter("poe_channel_claims_total", "channel_claim transactions the validators took.");
      s->challenge_c = f.make_counter("poe_channel_challenge_claims_total",
                                      "Claims submitted while a payer was closing the channel.");
      s->settled_c = f.make_counter("poe_channel_settled_total", "Amount settled on chain to this node's channels.");
      s->channels_g = f.make_gauge("poe_channel_open", "Channels open to this node.");
      s->lanes_g = f.make_gauge("poe_channel_lanes", "Lanes of the channels open to this node.");
      s->pending_g = f.make_gauge("poe_channel_pending_amount", "Owed to this node and not settled yet.");
      update_gauges(s);
      s->chain = std::make_unique<chain_follower>(s->scanned, [s](const chain_status& st) {
        if (!s->terms) {
          s->terms = st.payments;
          auto bound = [](std::uint64_t x) { return static_cast<std::uint32_t>(std::min<std::uint64_t>(x, UINT32_MAX)); };
          s->book->set_chain_bounds(bound(st.payments.max_tick_hashes), bound(st.payments.max_channel_lanes),
                                    st.payments.max_tx_bytes);
        }
      });
      self->send(ctx.directory, subscribe_atom::value, std::string("validator"));
      return {
        [self, s](members_atom, const std::string& role, const std::vector<role_entry>& xs) {
          if (role == "validator") s->chain->members(self, s->ctx, xs);
        },
        [self, s](const chain_block& b) {
          if (s->terms && s->chain->take(self, s->ctx, b)) on_block(self, s, b);
        },
        [self, s](chain_retry_atom) { s->chain->subscribe(self, s->ctx); },
        [s](flush_atom) { flush(s); },
        [self, s](ch_lane_atom, const bytes_t& raw) -> caf::result<channel_ack> {
          auto c = decode_lane_commit(raw);
          if (!c) return channel_ack{false, "bad_encoding", 0, 0};
          return answer(self, s, c->channel, c->lane, s->book->add_lane(*c));
        },
        [self, s](ch_tick_atom, const bytes_t& ch, std::uint32_t lane, std::uint32_t index,
                  const bytes_t& w) -> caf::result<channel_ack> {
          auto id = hash256::from_view(ch);
          auto tick = hash256::from_view(w);
          if (!id || !tick) return channel_ack{false, "bad_encoding", 0, 0};
          auto o = s->book->tick(*id, lane, index, *tick);
          if (o.fresh) s->ticks_c->inc();
          return answer(self, s, *id, lane, o, &*tick);
        },
        [self, s](ch_ticks_atom, const std::vector<bytes_t>& ticks) { return take_ticks(self, s, ticks); },
        [self, s](ch_vouch_atom, const bytes_t& raw) -> caf::result<channel_ack> {
          auto v = decode_voucher(raw);
          if (!v) return channel_ack{false, "bad_encoding", 0, 0};
          auto o = s->book->add_voucher(*v);
          if (o.fresh) s->vouchers_c->inc();
          return answer(self, s, v->channel, v->lane, o);
        },
        [s](ch_status_atom) { return report(s); },
        [s](ch_paid_atom, const bytes_t& ch, std::uint32_t lane, const bytes_t& content) {
          auto id = hash256::from_view(ch);
          auto c = hash256::from_view(content);
          if (!id || !c) return channel_ack{false, "bad_encoding", 0, 0};
          auto* l = s->book->lane(*id, lane);
          if (!l) return channel_ack{false, "unknown_lane", 0, 0};
          if (l->commit.content != *c) return channel_ack{false, "other_content", l->ticks, 0};
          return channel_ack{true, "", l->ticks, s->book->owed(*id).units()};
        },
      };
    },
    {}};
}

} // namespace poe::actors
