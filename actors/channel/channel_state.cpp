#include "channel_state.hpp"

#include "poe/core/byte_io.hpp"

#include <algorithm>

namespace poe::actors::channel {

using namespace poe::chain;

lane_best* lane_table::find(std::uint32_t lane) {
  auto it = map_.find(lane);
  return it == map_.end() ? nullptr : &it->second;
}

const lane_best* lane_table::find(std::uint32_t lane) const {
  auto it = map_.find(lane);
  return it == map_.end() ? nullptr : &it->second;
}

std::vector<lane_best*> lane_table::all() {
  std::vector<lane_best*> out;
  out.reserve(map_.size());
  for (auto& [n, l] : map_) out.push_back(&l);
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->commit.lane < b->commit.lane; });
  return out;
}

std::string_view to_string(refusal r) {
  switch (r) {
  case refusal::none: return "none";
  case refusal::unknown_channel: return "unknown_channel";
  case refusal::channel_closed: return "channel_closed";
  case refusal::bad_signature: return "bad_signature";
  case refusal::unknown_content: return "unknown_content";
  case refusal::price_too_low: return "price_too_low";
  case refusal::lane_taken: return "lane_taken";
  case refusal::unknown_lane: return "unknown_lane";
  case refusal::bad_tick: return "bad_tick";
  case refusal::gap_too_large: return "gap_too_large";
  case refusal::over_deposit: return "over_deposit";
  case refusal::needs_voucher: return "needs_voucher";
  case refusal::beyond_length: return "beyond_length";
  case refusal::too_many_lanes: return "too_many_lanes";
  }
  return "unknown";
}

namespace {
outcome no(refusal r) {
  outcome o;
  o.why = r;
  return o;
}
outcome yes(bool fresh, std::uint32_t ticks, amount owed) {
  outcome o;
  o.fresh = fresh;
  o.ticks = ticks;
  o.owed = owed;
  return o;
}
} // namespace

payee_book::payee_book(node_id self, std::string chain_id, payee_params p)
  : self_(self), chain_id_(std::move(chain_id)), p_(p) {}

void payee_book::on_channel(const hash256& id, channel_facts f) {
  auto& c = channels_[id];
  if (!c.payer || c.facts->payer_key != f.payer_key) {
    auto k = public_key::from_der(f.payer_key);
    c.payer.reset();
    if (k) c.payer = *k;
  }
  c.facts = std::move(f);
}

void payee_book::on_channel_gone(const hash256& id) {
  last_ = nullptr;
  channels_.erase(id);
}

void payee_book::on_settled(const hash256& channel, std::uint32_t lane, std::uint32_t ticks) {
  auto c = channels_.find(channel);
  if (c == channels_.end()) return;
  if (auto* l = c->second.lanes.find(lane)) l->settled = std::max(l->settled, ticks);
  bool all = true;
  c->second.lanes.each([&](const lane_best& x) { all = all && x.settled >= x.ticks; });
  if (all) c->second.submitted_at = 0;
}

bool payee_book::open_for_payment(const chan& c) const {
  return c.facts && c.facts->closing_height == 0 && height_ < c.facts->expiry_height;
}

amount payee_book::owed_of(const chan& c) const {
  // Kept up to date as ticks move (tick, add_voucher, restore): a tick costs the same whatever
  // the number of lanes of its channel.
  return amount{c.owed > UINT64_MAX ? UINT64_MAX : static_cast<std::uint64_t>(c.owed)};
}

outcome payee_book::add_lane(const lane_commit& lc) {
  outcome out;
  auto i = channels_.find(lc.channel);
  if (i == channels_.end() || !i->second.facts) return no(refusal::unknown_channel);
  auto& c = i->second;
  if (!open_for_payment(c)) return no(refusal::channel_closed);
  if (auto* l = c.lanes.find(lc.lane)) {
    if (l->commit != lc) return no(refusal::lane_taken);
    return yes(false, l->ticks, owed_of(c)); // the same commitment again
  }
  auto price = prices_.find(lc.content);
  if (price == prices_.end()) return no(refusal::unknown_content);
  if (lc.price_per_tick < price->second) return no(refusal::price_too_low);
  if (c.lanes.size() >= p_.max_lanes) return no(refusal::too_many_lanes);
  if (!c.payer || !verify(lc, *c.payer, chain_id_)) return no(refusal::bad_signature);
  c.lanes.slot(lc.lane) = lane_best{lc, std::nullopt, 0, lc.top, 0};
  if (c.last_claim == 0) c.last_claim = height_; // the claim schedule starts with the first lane
  return yes(true, 0, owed_of(c));
}

outcome payee_book::tick(const hash256& channel, std::uint32_t lane, std::uint32_t index,
                         const hash256& w) {
  if (!last_ || last_id_ != channel) {
    auto i = channels_.find(channel);
    if (i == channels_.end()) return no(refusal::unknown_channel);
    last_id_ = channel;
    last_ = &i->second;
  }
  auto& c = *last_;
  if (!c.facts) return no(refusal::unknown_channel);
  auto* l = c.lanes.find(lane);
  if (!l) return no(refusal::unknown_lane);
  auto& b = *l;
  if (index <= b.ticks) return yes(false, b.ticks, owed_of(c)); // paid already
  if (!open_for_payment(c)) return no(refusal::channel_closed);
  if (index > b.commit.length) return no(refusal::beyond_length);
  if (index - b.ticks > p_.max_gap) return no(refusal::gap_too_large);
  std::uint32_t base = b.checkpoint ? b.checkpoint->index : 0;
  if (index - base > p_.max_tick_hashes) return no(refusal::needs_voucher);
  auto more = static_cast<unsigned __int128>(index - b.ticks) * b.commit.price_per_tick.units();
  if (static_cast<unsigned __int128>(owed_of(c).units()) + more > c.facts->deposit.units())
    return no(refusal::over_deposit);
  // The next tick (the common case) is one hash; a jump hashes down to the held tick.
  bool reaches = index == b.ticks + 1 ? tick_parent(w) == b.tick : chain_reaches(w, index, b.ticks, b.tick);
  if (!reaches) return no(refusal::bad_tick);
  c.owed += more;
  b.ticks = index;
  b.tick = w;
  return yes(true, b.ticks, owed_of(c));
}

outcome payee_book::add_voucher(const voucher& v) {
  auto i = channels_.find(v.channel);
  if (i == channels_.end() || !i->second.facts) return no(refusal::unknown_channel);
  auto& c = i->second;
  auto* l = c.lanes.find(v.lane);
  if (!l) return no(refusal::unknown_lane);
  auto& b = *l;
  if (b.checkpoint && v.index <= b.checkpoint->index) return yes(false, b.ticks, owed_of(c));
  if (v.index > b.commit.length) return no(refusal::beyond_length);
  if (!c.payer || !verify(v, *c.payer, chain_id_)) return no(refusal::bad_signature);
  if (v.index > b.ticks) {
    // The voucher pays ticks the node has not seen: within the deposit, while open.
    if (!open_for_payment(c)) return no(refusal::channel_closed);
    auto more = static_cast<unsigned __int128>(v.index - b.ticks) * b.commit.price_per_tick.units();
    if (static_cast<unsigned __int128>(owed_of(c).units()) + more > c.facts->deposit.units())
      return no(refusal::over_deposit);
    c.owed += more;
    b.ticks = v.index;
    b.tick = v.hash;
  } else if (!chain_reaches(b.tick, b.ticks, v.index, v.hash)) {
    // A checkpoint below what is held must lie on the same chain, or claims from it would
    // not reach the held tick.
    return no(refusal::bad_tick);
  }
  b.checkpoint = v;
  return yes(true, b.ticks, owed_of(c));
}

std::vector<claim_plan> payee_book::due() {
  std::vector<claim_plan> out;
  for (auto& [id, c] : channels_) {
    if (!c.facts) continue;
    bool unsettled = false;
    c.lanes.each([&](const lane_best& l) { unsettled = unsettled || l.ticks > l.settled; });
    if (!unsettled) continue;
    auto& f = *c.facts;
    bool closed = height_ >= f.expiry_height || (f.closing_height != 0 && height_ >= f.closing_height);
    if (closed) continue; // too late: the chain refuses claims now
    if (c.submitted_at != 0 && height_ < c.submitted_at + p_.resubmit_after) continue;
    bool closing = f.closing_height != 0;
    bool expiring = height_ + p_.expiry_margin >= f.expiry_height;
    bool scheduled = height_ >= c.last_claim + p_.claim_every;
    if (!closing && !expiring && !scheduled && c.submitted_at == 0) continue;
    // A plan holds at most max_claims lanes, max_tick_hashes hash steps and what fits in
    // max_tx_bytes (the ledger's bounds per transaction); every lane alone is within them
    // (ticks need a voucher before).
    claim_plan plan{id, {}};
    std::uint64_t steps = 0, size = 0;
    std::uint64_t room = p_.max_tx_bytes > claim_tx_overhead ? p_.max_tx_bytes - claim_tx_overhead : 0;
    for (auto* lp : c.lanes.all()) { // in lane order: plans are deterministic
      auto& l = *lp;
      if (l.ticks <= l.settled) continue;
      std::uint64_t need = l.ticks - (l.checkpoint ? l.checkpoint->index : 0);
      lane_claim claim{l.commit, l.checkpoint, l.ticks, l.tick};
      std::uint64_t bytes = chain::encode(claim).size() + 4; // and its length prefix
      if (!plan.claims.empty() && (plan.claims.size() == p_.max_claims || steps + need > p_.max_tick_hashes ||
                                   size + bytes > room)) {
        out.push_back(std::move(plan));
        plan = claim_plan{id, {}};
        steps = size = 0;
      }
      plan.claims.push_back(std::move(claim));
      steps += need;
      size += bytes;
    }
    if (!plan.claims.empty()) out.push_back(std::move(plan));
    c.last_claim = height_;
    c.submitted_at = std::max<std::uint64_t>(height_, 1);
  }
  return out;
}

void payee_book::restore(const hash256& channel, const lane_best& l) {
  auto worth = [](const lane_best& x) {
    return static_cast<unsigned __int128>(x.ticks) * x.commit.price_per_tick.units();
  };
  auto& c = channels_[channel];
  auto& slot = c.lanes.slot(l.commit.lane);
  c.owed = c.owed - worth(slot) + worth(l); // slot is empty (worth 0) unless restored twice
  slot = l;
}

void payee_book::restore_tick(const hash256& channel, std::uint32_t lane, std::uint32_t index,
                              const hash256& w) {
  auto c = channels_.find(channel);
  if (c == channels_.end()) return;
  auto* l = c->second.lanes.find(lane);
  if (!l || index <= l->ticks) return;
  c->second.owed += static_cast<unsigned __int128>(index - l->ticks) * l->commit.price_per_tick.units();
  l->ticks = index;
  l->tick = w;
}

const lane_best* payee_book::lane(const hash256& channel, std::uint32_t lane) const {
  auto c = channels_.find(channel);
  if (c == channels_.end()) return nullptr;
  return c->second.lanes.find(lane);
}

std::optional<channel_facts> payee_book::facts(const hash256& channel) const {
  auto c = channels_.find(channel);
  if (c == channels_.end()) return std::nullopt;
  return c->second.facts;
}

amount payee_book::owed(const hash256& channel) const {
  auto c = channels_.find(channel);
  return c == channels_.end() ? amount{} : owed_of(c->second);
}

amount payee_book::settled(const hash256& channel) const {
  auto c = channels_.find(channel);
  if (c == channels_.end()) return amount{};
  unsigned __int128 sum = 0;
  c->second.lanes.each([&](const lane_best& l) {
    sum += static_cast<unsigned __int128>(l.settled) * l.commit.price_per_tick.units();
  });
  return amount{sum > UINT64_MAX ? UINT64_MAX : static_cast<std::uint64_t>(sum)};
}

std::size_t payee_book::lanes_of(const hash256& channel) const {
  auto c = channels_.find(channel);
  return c == channels_.end() ? 0 : c->second.lanes.size();
}

std::map<hash256, channel_facts> payee_book::all_facts() const {
  std::map<hash256, channel_facts> out;
  for (auto& [id, c] : channels_)
    if (c.facts) out.emplace(id, *c.facts);
  return out;
}

amount payee_book::pending() const {
  unsigned __int128 sum = 0;
  for (auto& [id, c] : channels_)
    c.lanes.each([&](const lane_best& l) {
      if (l.ticks > l.settled)
        sum += static_cast<unsigned __int128>(l.ticks - l.settled) * l.commit.price_per_tick.units();
    });
  return amount{sum > UINT64_MAX ? UINT64_MAX : static_cast<std::uint64_t>(sum)};
}

std::size_t payee_book::lane_count() const {
  std::size_t n = 0;
  for (auto& [id, c] : channels_) n += c.lanes.size();
  return n;
}

bytes payee_book::encode(const lane_best& l) {
  // A lane claim holds commit, voucher, ticks and tick; the settled count follows.
  auto out = chain::encode(lane_claim{l.commit, l.checkpoint, l.ticks, l.tick});
  append_u32_be(out, l.settled);
  return out;
}

result<lane_best> payee_book::decode(byte_view in) {
  if (in.size() < 4) return fail(errc::decode_error, "lane record too short");
  auto claim = decode_lane_claim(in.first(in.size() - 4));
  if (!claim) return claim.err();
  byte_reader r{in.last(4)};
  return lane_best{claim->commit, claim->checkpoint, claim->tick_index, claim->tick, r.u32()};
}

} // namespace poe::actors::channel
