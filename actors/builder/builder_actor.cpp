// The `builder` role: a BPI (seed 004) whose identity is this node's key. It takes verified
// step receipts from verifiers, cuts them into LogBlocks (chain/log_builder.hpp: by size or
// age), signs a PoE header for each and hands the entry (header + LogBlock) to a validator,
// which holds it for inclusion and gossips it. It follows the chain — a validator pushes every
// finalized block (chain_follow.hpp) — to learn where its headers landed, re-offers the ones
// not yet included, and serves receipt proofs.
//
//   (bd_receipt, bytes signed receipt) → submit_reply (accepted: queued; known: a duplicate);
//   (bd_receipts, vector<bytes>) → vector<submit_reply> — from verifiers and gateways. A
//   receipt is an attested_receipt (log_builder.hpp), taken only when the verifier's signature
//   and the executor's PoE v1 check, or an attested_playback (playback.hpp), taken only when
//   the gateway's signature and the viewer's token, commitment and tick check; in both cases
//   only from its signer itself (as proven by the connection) holding stake in its role
//   (verifier, gateway) on chain (asked of a validator, cached: stake_cache.hpp); otherwise
//   rejected (invalid / not_authorized) with the reason. A playback receipt's id is
//   playback_receipt_id(session, sequence);
//   (bd_prove, string request hex) → bytes receipt proof, an error until its block is final;
//   (bd_status) → builder_status;
//   (bd_reveal, u64 height, bytes bundle hash) → the bundle's entries, to the proposer whose
//   auction this builder's bid won.
//
// The PBS auction: at each new height, with headers not yet included, the builder bids for
// the next height with its bundle (those headers in log-book order, up to 64) sealed by its
// hash, sent to every validator. Auto-bid formula (integers): value = builder.bid-base +
// builder.bid-per-header × n + builder.bid-share-ppm × Σ rent of the bundle / 10^6.
// `builder.withhold` (a fault drill for tests) makes it never reveal.
//
// Store (column family "builder"): "book" → the log book as made so far; "lb/" ‖ u64 seq →
// u32 n ‖ blob(entry) ‖ n × blob(receipt) (the witness archive); "rq/" ‖ request → u64 seq ‖
// u32 index; "in/" ‖ u64 seq → u64 height of the block that includes it; "scan" → u64 height
// of the last block taken from the chain (the subscription resumes above it after a restart).
#include "poe/actors/roles.hpp"
#include "poe/chain/genesis.hpp"
#include "poe/chain/log_builder.hpp"
#include "poe/chain/qbft.hpp"
#include "poe/core/byte_io.hpp"
#include "poe/runtime/messages.hpp"
#include "poe/runtime/metrics.hpp"
#include "poe/store/store.hpp"
#include "poe/wire/codec.hpp"
#include "chain_follow.hpp"
#include "stake_cache.hpp"
#include "storage_io.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>

namespace poe::actors {

using namespace poe::runtime;
using namespace poe::chain;

namespace {

using bytes_t = std::vector<std::uint8_t>;
using btick_atom = caf::atom_constant<caf::atom("bd_tick")>;
constexpr const char* cf = "builder";
constexpr auto tick_interval = std::chrono::milliseconds(100);
constexpr std::uint64_t reoffer_ms = 2000;

caf::error failure(const std::string& why) {
  return caf::make_error(caf::sec::runtime_error, why);
}

bytes key_of(std::string_view prefix, byte_view rest) {
  bytes k(prefix.begin(), prefix.end());
  append(k, rest);
  return k;
}
bytes key_of(std::string_view prefix, std::uint64_t n) {
  bytes be;
  append_u64_be(be, n);
  return key_of(prefix, be);
}

struct offered {
  bytes entry;
  std::uint64_t last_offer_ms = 0;
};

struct bstate {
  role_context ctx;
  std::unique_ptr<log_builder> builder;
  std::map<std::uint64_t, offered> unincluded; ///< sealed, not yet in a finalized block
  std::uint64_t scanned = 0;                   ///< chain height scanned for our entries
  std::uint64_t included = 0, sealed = 0, receipts = 0, receipts_included = 0;
  std::unique_ptr<chain_follower> chain;  ///< finalized blocks, pushed
  std::optional<rent_params> rent;        ///< from the chain (a validator's status)
  builder_config cfg;
  log_book stored_book;
  std::vector<receipt_in> early;          ///< receipts taken before the rent was known
  std::uint64_t chain_height = 0;         ///< the last height a validator reported
  std::uint64_t bid_height = 0;           ///< the height of our last bid
  std::map<std::uint64_t, std::pair<hash256, std::vector<bytes>>> bids; ///< by height
  std::uint64_t bid_base = 10, bid_per_header = 5, bid_share_ppm = 100'000;
  bool withhold = false;
  std::shared_ptr<metrics::counter> bids_c;
  std::shared_ptr<metrics::counter> receipts_c, sealed_c, included_c;
  std::shared_ptr<metrics::gauge> pending_g;
  stake_cache stakes; ///< verifier stakes, as the chain reports them
};

void with_validator(caf::event_based_actor* self, const std::shared_ptr<bstate>& s,
                    std::function<void(caf::actor)> then) {
  find_role(self, s->ctx.directory, "validator", s->ctx.node_id, std::move(then),
            [](const std::string&) {});
}

void offer(caf::event_based_actor* self, const std::shared_ptr<bstate>& s, std::uint64_t seq) {
  auto it = s->unincluded.find(seq);
  if (it == s->unincluded.end()) return;
  it->second.last_offer_ms = s->ctx.clock.now_ms();
  auto raw = it->second.entry;
  with_validator(self, s, [=](caf::actor v) {
    self->request(v, std::chrono::seconds(10), poe_atom::value, bytes_t(raw.begin(), raw.end()))
      .then(
        [=](const submit_reply& answer) {
          if (!answer.taken()) s->ctx.log->warn("LogBlock {}: header refused: {}", seq, answer.text());
        },
        [=](caf::error& e) {
          s->ctx.log->info("LogBlock {}: no validator took the header yet: {}", seq,
                           self->system().render(e));
        });
  });
}

void persist_sealed(const std::shared_ptr<bstate>& s, const sealed_log_block& b) {
  auto seq = b.entry.book_block.sequence;
  bytes v;
  append_u32_be(v, static_cast<std::uint32_t>(b.receipts.size()));
  append_blob(v, encode(b.entry));
  for (auto& r : b.receipts) append_blob(v, r);
  store::batch ops;
  ops.put(cf, key_of("lb/", seq), v);
  for (std::size_t i = 0; i < b.requests.size(); ++i) {
    bytes where;
    append_u64_be(where, seq);
    append_u32_be(where, static_cast<std::uint32_t>(i));
    ops.put(cf, key_of("rq/", b.requests[i].view()), where);
  }
  ops.put(cf, as_bytes(std::string_view("book")), s->builder->book().encode());
  if (auto st = s->ctx.store->write(ops, store::write_mode::sync); !st)
    s->ctx.log->error("LogBlock {} not persisted: {}", seq, st.err().message);
}

void bid(caf::event_based_actor* self, const std::shared_ptr<bstate>& s);

/// A finalized block pushed by the chain: records where our entries landed.
void on_block(caf::event_based_actor* self, const std::shared_ptr<bstate>& s, const chain_block& ev) {
  s->chain_height = std::max(s->chain_height, ev.height);
  auto d = qbft::decode_decision(ev.decision, ev.height);
  auto b = d ? decode_block(d->block) : result<block>(d.err());
  if (!b) {
    s->ctx.log->warn("block {}: {}", ev.height, b.err().message);
    return;
  }
  store::batch ops;
  if (s->builder)
    for (auto& item : b->poe_headers) {
      auto e = decode_poe_entry(item);
      if (!e || e->header.bpi != s->builder->bpi()) continue;
      auto seq = e->book_block.sequence;
      bytes h;
      append_u64_be(h, ev.height);
      ops.put(cf, key_of("in/", seq), h);
      if (s->unincluded.erase(seq)) s->receipts_included += e->book_block.receipt_count;
      ++s->included;
      if (s->included_c) s->included_c->inc();
    }
  s->scanned = ev.height;
  bytes sc;
  append_u64_be(sc, ev.height);
  ops.put(cf, as_bytes(std::string_view("scan")), sc);
  if (auto st = s->ctx.store->write(ops); !st)
    s->ctx.log->error("scan of block {} not persisted: {}", ev.height, st.err().message);
  bid(self, s);
}

/// The chain's status at (re)subscription: its height, and the rent parameters (genesis) the
/// log builder needs before it can price a header.
void on_status(const std::shared_ptr<bstate>& s, const chain_status& st) {
  s->chain_height = std::max(s->chain_height, st.height);
  if (s->builder) return;
  auto p = to_params(st.rent);
  if (auto ok = check_rent_params(p); !ok) {
    s->ctx.log->error("builder: the chain's rent parameters: {}", ok.err().message);
    return;
  }
  s->rent = p;
  s->builder = std::make_unique<log_builder>(*s->ctx.key, s->ctx.chain_id, p, s->cfg, s->stored_book);
  for (auto& r : s->early) s->builder->add(std::move(r));
  s->early.clear();
  s->ctx.log->info("builder: rent from chain {} (base {}, per work unit {}, per KiB {})",
                   st.chain_id, p.base_rent.to_string(), p.rent_per_work_unit.to_string(),
                   p.rent_per_kib.to_string());
}

/// A sealed bid for the next height with every header not yet included (auto-bid formula).
void bid(caf::event_based_actor* self, const std::shared_ptr<bstate>& s) {
  auto height = s->chain_height + 1;
  if (s->unincluded.empty() || height == s->bid_height || !s->rent) return;
  s->bid_height = height;
  std::vector<bytes> bundle;
  unsigned __int128 rent = 0;
  for (auto& [seq, o] : s->unincluded) {
    if (bundle.size() >= 64) break;
    bundle.push_back(o.entry);
    if (auto e = decode_poe_entry(o.entry)) rent += e->header.rent_payment;
  }
  builder_bid b;
  b.chain_id = s->ctx.chain_id;
  b.height = height;
  b.bundle_hash = bundle_hash(bundle);
  auto value = static_cast<unsigned __int128>(s->bid_base) + s->bid_per_header * bundle.size() +
               rent * s->bid_share_ppm / 1'000'000;
  b.value = amount{static_cast<std::uint64_t>(std::min<unsigned __int128>(value, ~std::uint64_t{0}))};
  chain::sign(b, *s->ctx.key);
  s->bids[height] = {b.bundle_hash, bundle};
  while (s->bids.size() > 8) s->bids.erase(s->bids.begin());
  auto raw = encode(b);
  if (s->bids_c) s->bids_c->inc();
  self->request(s->ctx.directory, std::chrono::seconds(5), lookup_atom::value, std::string("validator"))
    .then(
      [=](const std::vector<role_entry>& xs) {
        for (auto& v : xs)
          self->request(v.handle, std::chrono::seconds(5), bid_atom::value, bytes_t(raw.begin(), raw.end()))
            .then(
              [=](const submit_reply& r) {
                if (!r.taken())
                  s->ctx.log->info("bid for height {}: not taken by validator {}: {}", height,
                                   v.node.substr(0, 12), r.text());
              },
              [=](caf::error& e) {
                s->ctx.log->info("bid for height {}: validator {} did not answer: {}", height,
                                 v.node.substr(0, 12), self->system().render(e));
              });
      },
      [=](caf::error& e) {
        s->ctx.log->warn("bid for height {} not sent: no validator list: {}", height,
                         self->system().render(e));
      });
}

/// Seals LogBlocks by size or age and re-offers headers not yet included (a timer of the
/// builder's own; the chain itself is pushed, not polled).
void tick(caf::event_based_actor* self, const std::shared_ptr<bstate>& s) {
  if (!s->builder) {
    self->delayed_send(self, tick_interval, btick_atom::value, false);
    return;
  }
  while (auto b = s->builder->poll(s->ctx.clock.now_ms())) {
    persist_sealed(s, *b);
    auto seq = b->entry.book_block.sequence;
    s->unincluded[seq] = offered{encode(b->entry), 0};
    ++s->sealed;
    if (s->sealed_c) s->sealed_c->inc();
    s->ctx.log->info("LogBlock {}: {} receipts, rent {}", seq, b->receipts.size(),
                     b->entry.header.rent_payment);
    offer(self, s, seq);
  }
  auto now = s->ctx.clock.now_ms();
  for (auto& [seq, o] : s->unincluded)
    if (now - o.last_offer_ms >= reoffer_ms) offer(self, s, seq);
  if (s->pending_g) s->pending_g->set(static_cast<double>(s->builder->pending()));
  bid(self, s);
  self->delayed_send(self, tick_interval, btick_atom::value, false);
}

/// A stored LogBlock: its entry and receipts.
result<sealed_log_block> load_sealed(const std::shared_ptr<bstate>& s, std::uint64_t seq) {
  auto raw = s->ctx.store->get(cf, key_of("lb/", seq));
  if (!raw || !*raw) return fail(errc::io_error, "LogBlock " + std::to_string(seq) + " not stored");
  byte_reader r(**raw);
  auto n = r.u32();
  auto entry = decode_poe_entry(r.blob());
  if (!entry) return entry.err();
  sealed_log_block b;
  b.entry = std::move(*entry);
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) b.receipts.push_back(r.blob());
  if (!r.done()) return fail(errc::decode_error, "LogBlock " + std::to_string(seq) + " corrupt");
  return b;
}

/// A leaf checked offline (check_attested_receipt / check_attested_playback): what to queue
/// and who must hold stake for it (the verifier of a step receipt, the gateway of a playback
/// receipt), or the reply that refuses it.
struct checked_in {
  std::optional<receipt_in> in;
  node_id signer;
  stake_role role = stake_role::verifier;
  submit_reply refused;
};

checked_in check_receipt(const std::shared_ptr<bstate>& s, const bytes_t& raw,
                         const std::optional<std::string>& from) {
  checked_in out;
  auto refuse = [&](const char* reason, const std::string& why) {
    out.refused = rejected_reply(reason, why);
    return out;
  };
  std::string who;
  if (is_playback_leaf(raw)) {
    auto a = decode_attested_playback(raw);
    if (!a) return refuse("invalid", a.err().message);
    auto c = check_attested_playback(*a, s->ctx.chain_id);
    if (!c) return refuse("invalid", c.err().message);
    auto& r = c->receipt;
    out.signer = r.gateway;
    out.role = stake_role::gateway;
    who = "gateway";
    out.in = receipt_in{playback_receipt_id(r.session, r.sequence), bytes(raw.begin(), raw.end()), 0, 0, r.ended_ms};
  } else {
    auto a = decode_attested_receipt(raw);
    if (!a) return refuse("invalid", "receipt: " + a.err().message);
    auto c = check_attested_receipt(*a, s->ctx.chain_id);
    if (!c) return refuse("invalid", "receipt: " + c.err().message);
    auto& r = c->receipt;
    out.signer = c->verifier;
    out.role = stake_role::verifier;
    who = "verifier";
    out.in = receipt_in{r.request, bytes(raw.begin(), raw.end()), r.work_units, r.result_bytes, r.verified_ms};
  }
  // Its signer itself must hand it over (this node's own process may relay).
  if (!from || (*from != s->ctx.node_id && *from != out.signer.hex())) {
    out.in.reset();
    return refuse("not_authorized", "receipt signed by " + who + " " + out.signer.hex().substr(0, 12) + " came from " +
                                      (from ? from->substr(0, 12) : std::string("an unproven sender")));
  }
  return out;
}

/// Queues a checked receipt whose verifier holds stake.
submit_reply take_receipt(const std::shared_ptr<bstate>& s, receipt_in in) {
  bytes id(in.request.data.begin(), in.request.data.end());
  if (auto known = s->ctx.store->get(cf, key_of("rq/", in.request.view())); known && *known)
    return known_reply(std::move(id));
  if (!s->builder) {
    if (s->early.size() >= 100'000)
      return rejected_reply("unavailable", "builder not ready: the chain's rent is unknown");
    s->early.push_back(std::move(in));
  } else if (!s->builder->add(std::move(in))) {
    return known_reply(std::move(id));
  }
  ++s->receipts;
  if (s->receipts_c) s->receipts_c->inc();
  return accepted_reply(std::move(id));
}

/// Takes signed receipts from `from`: each is checked offline, then its signer's stake is
/// asked of the chain (one question per signer and role, cached); receipts of a signer without
/// stake in its role (verifier, gateway) are refused (not_authorized). `then` gets one reply
/// per receipt, in order.
void take_receipts(caf::event_based_actor* self, const std::shared_ptr<bstate>& s,
                   const std::vector<bytes_t>& raws, const std::optional<std::string>& from,
                   std::function<void(std::vector<submit_reply>)> then) {
  using signer = std::pair<node_id, stake_role>;
  auto checked = std::make_shared<std::vector<checked_in>>();
  checked->reserve(raws.size());
  std::set<signer> signers;
  for (auto& raw : raws) {
    checked->push_back(check_receipt(s, raw, from));
    if (checked->back().in) signers.insert({checked->back().signer, checked->back().role});
  }
  auto staked = std::make_shared<std::map<signer, std::string>>(); // → refusal ("" ok)
  auto left = std::make_shared<std::size_t>(signers.size());
  auto finish = [s, checked, staked, then] {
    std::vector<submit_reply> out;
    out.reserve(checked->size());
    for (auto& c : *checked) {
      if (!c.in) out.push_back(c.refused);
      else if (auto why = staked->at({c.signer, c.role}); !why.empty()) out.push_back(rejected_reply("not_authorized", why));
      else out.push_back(take_receipt(s, std::move(*c.in)));
    }
    then(std::move(out));
  };
  if (signers.empty()) return finish();
  for (auto& [v, role] : signers)
    s->stakes.check(self, s->ctx, v, role, [=, v = v, role = role](result<std::uint64_t> units) {
      auto name = std::string(to_string(role));
      (*staked)[{v, role}] = !units       ? name + " stake unknown: " + units.err().message
                             : *units == 0 ? name + " " + v.hex().substr(0, 12) + " holds no " + name + " stake"
                                           : std::string();
      if (--*left == 0) finish();
    });
}

} // namespace

runtime::role_info builder_role() {
  return {
    "builder", "receipts to LogBlocks to PoE headers (a BPI), receipt proofs",
    [](caf::event_based_actor* self, const role_context& ctx) -> caf::behavior {
      if (!ctx.store) throw std::runtime_error("the builder role needs the node's store");
      if (!ctx.key) throw std::runtime_error("the builder role needs the node key (it signs)");
      auto s = std::make_shared<bstate>();
      s->ctx = ctx;
      auto& cfg = s->cfg;
      auto& opts = ctx.options().builder; // checked at start (role_options.hpp)
      cfg.max_receipts = static_cast<std::uint32_t>(opts.max_receipts);
      cfg.max_age_ms = opts.max_age_ms;
      cfg.priority = opts.priority;
      s->bid_base = opts.bid_base;
      s->bid_per_header = opts.bid_per_header;
      s->bid_share_ppm = opts.bid_share_ppm;
      s->withhold = opts.withhold;
      log_book book;
      if (auto raw = ctx.store->get(cf, as_bytes(std::string_view("book"))); raw && *raw) {
        auto b = log_book::decode(**raw);
        if (!b) throw std::runtime_error("stored log book: " + b.err().message);
        book = std::move(*b);
      }
      if (auto raw = ctx.store->get(cf, as_bytes(std::string_view("scan"))); raw && *raw &&
                                                                             (*raw)->size() == 8)
        s->scanned = get_u64_be((*raw)->data());
      // LogBlocks made but not seen in a scanned block are offered again.
      for (std::uint64_t seq = 0; seq < book.size(); ++seq) {
        auto in = ctx.store->get(cf, key_of("in/", seq));
        if (in && *in) continue;
        auto raw = ctx.store->get(cf, key_of("lb/", seq));
        if (!raw || !*raw) continue;
        byte_reader r(**raw);
        r.u32();
        s->unincluded[seq] = offered{r.blob(), 0};
      }
      s->stored_book = book; // the log_builder starts once the chain's rent is known
      auto& f = *ctx.metrics;
      s->receipts_c = f.make_counter("poe_builder_receipts_total", "Step receipts taken.");
      s->sealed_c = f.make_counter("poe_builder_log_blocks_total", "LogBlocks sealed (headers signed).");
      s->included_c = f.make_counter("poe_builder_headers_included_total",
                                     "Own PoE headers seen in finalized blocks.");
      s->pending_g = f.make_gauge("poe_builder_pending_receipts", "Receipts not yet in a LogBlock.");
      s->bids_c = f.make_counter("poe_builder_bids_total", "Sealed bids sent to validators.");
      ctx.log->info("builder (BPI {}): LogBlocks of up to {} receipts or {} ms; book at {}, {} "
                    "not yet included",
                    ctx.node_id.substr(0, 12), cfg.max_receipts, cfg.max_age_ms, book.size(),
                    s->unincluded.size());
      s->chain = std::make_unique<chain_follower>(
        s->scanned, [s](const chain_status& st) { on_status(s, st); });
      self->send(ctx.directory, subscribe_atom::value, std::string("validator"));
      self->send(self, btick_atom::value, false);
      return {
        [self, s](btick_atom, bool) { tick(self, s); },
        [self, s](bd_receipt_atom, const bytes_t& raw) -> caf::result<submit_reply> {
          // Before the response promise: making it takes the sender out of the message.
          auto from = s->ctx.sender_node(self->current_sender());
          auto rp = self->make_response_promise<submit_reply>();
          take_receipts(self, s, {raw}, from, [rp](std::vector<submit_reply> out) mutable {
            rp.deliver(std::move(out.front()));
          });
          return rp;
        },
        [self, s](bd_receipts_atom, const std::vector<bytes_t>& raws) -> caf::result<std::vector<submit_reply>> {
          if (raws.size() > 10'000) return failure("at most 10000 receipts a message, got " + std::to_string(raws.size()));
          auto from = s->ctx.sender_node(self->current_sender());
          auto rp = self->make_response_promise<std::vector<submit_reply>>();
          take_receipts(self, s, raws, from, [rp](std::vector<submit_reply> out) mutable { rp.deliver(std::move(out)); });
          return rp;
        },
        [self, s](members_atom, const std::string& role, const std::vector<role_entry>& xs) {
          if (role == "validator") s->chain->members(self, s->ctx, xs);
        },
        [self, s](const chain_block& b) {
          if (s->chain->take(self, s->ctx, b)) on_block(self, s, b);
        },
        [self, s](chain_retry_atom) { s->chain->subscribe(self, s->ctx); },
        [self, s](bd_prove_atom, const std::string& hex) -> caf::result<bytes_t> {
          auto id = request_id::from_hex(hex);
          if (!id) return failure("request id: " + id.err().message);
          auto where = s->ctx.store->get(cf, key_of("rq/", id->view()));
          if (!where || !*where || (*where)->size() != 12)
            return failure("no receipt of request " + hex + " in this builder's LogBlocks (yet)");
          auto seq = get_u64_be((*where)->data());
          auto index = get_u32_be((*where)->data() + 8);
          auto in = s->ctx.store->get(cf, key_of("in/", seq));
          if (!in || !*in || (*in)->size() != 8)
            return failure("the PoE header of LogBlock " + std::to_string(seq) +
                           " is not in a finalized block yet");
          auto height = get_u64_be((*in)->data());
          auto sealed = load_sealed(s, seq);
          if (!sealed) return failure(sealed.err().message);
          std::vector<hash256> leaves;
          for (auto& r : sealed->receipts) leaves.push_back(merkle::leaf_hash(r));
          auto path = merkle::prove(leaves, index);
          if (!path) return failure(path.err().message);
          receipt_proof p;
          p.receipt = sealed->receipts.at(index);
          p.in_log_block = *path;
          p.entry = sealed->entry;
          p.bpi_key = s->ctx.key->pub().der();
          p.height = height;
          auto rp = self->make_response_promise<bytes_t>();
          find_role(
            self, s->ctx.directory, "validator", s->ctx.node_id,
            [=](caf::actor v) mutable {
              self->request(v, std::chrono::seconds(10), block_atom::value, height)
                .then(
                  [=](const bytes_t& raw) mutable {
                    if (raw.empty()) {
                      rp.deliver(failure("block " + std::to_string(height) + " unknown"));
                      return;
                    }
                    auto q = p;
                    q.decision = bytes(raw.begin(), raw.end());
                    // With every change of the validator set up to it, so the proof is
                    // checked against the set at its height.
                    self->request(v, std::chrono::seconds(10), sets_atom::value, height)
                      .then(
                        [=](const std::vector<bytes_t>& changes) mutable {
                          auto r = q;
                          for (auto& c : changes) {
                            auto sc = decode_set_change(c);
                            if (!sc) {
                              rp.deliver(failure("a validator set change: " + sc.err().message));
                              return;
                            }
                            r.changes.push_back(std::move(*sc));
                          }
                          auto out = encode(r);
                          rp.deliver(bytes_t(out.begin(), out.end()));
                        },
                        [=](caf::error& e) mutable { rp.deliver(e); });
                  },
                  [=](caf::error& e) mutable { rp.deliver(e); });
            },
            [=](const std::string& why) mutable { rp.deliver(failure(why)); });
          return rp;
        },
        [s](bd_reveal_atom, std::uint64_t height, const bytes_t& hash)
          -> caf::result<std::vector<std::vector<std::uint8_t>>> {
          if (s->withhold) return failure("withheld (builder.withhold)");
          auto it = s->bids.find(height);
          if (it == s->bids.end() || !std::equal(hash.begin(), hash.end(), it->second.first.data.begin(),
                                                 it->second.first.data.end()))
            return failure("no bid of this builder for height " + std::to_string(height) +
                           " with that bundle hash");
          std::vector<std::vector<std::uint8_t>> out;
          for (auto& e : it->second.second) out.emplace_back(e.begin(), e.end());
          return out;
        },
        [s](bd_status_atom) {
          builder_status out;
          out.bpi = s->ctx.node_id;
          out.scanned_height = s->scanned;
          if (!s->builder) {
            out.pending_receipts = s->early.size();
            return out;
          }
          out.ready = true;
          out.book_size = s->builder->book().size();
          auto root = s->builder->book().root();
          out.book_root.assign(root.data.begin(), root.data.end());
          out.pending_receipts = s->builder->pending();
          out.receipts = s->receipts;
          out.log_blocks_sealed = s->sealed;
          out.headers_included = s->included;
          out.receipts_included = s->receipts_included;
          out.not_yet_included = s->unincluded.size();
          return out;
        },
      };
    },
    {}};
}

} // namespace poe::actors
