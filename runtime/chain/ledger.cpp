#include "poe/chain/ledger.hpp"

#include "poe/core/byte_io.hpp"
#include "poe/core/merkle.hpp"

#include <limits>
#include <stdexcept>

namespace poe::chain {

namespace {

constexpr std::uint8_t slashing_pool_id = 1;
constexpr std::uint8_t treasury_pool_id = 2;
constexpr std::uint64_t ppm_denominator = 1'000'000;

/// A credit that the supply invariant rules out from overflowing; if it ever did, the
/// ledger's state would be corrupt, which is a broken invariant, not a peer's fault.
amount must_add(amount a, amount b) {
  auto sum = checked_add(a, b);
  if (!sum) throw std::logic_error("ledger invariant broken: " + sum.err().message);
  return *sum;
}

bytes leaf(state_leaf kind, const node_id& id) {
  bytes out;
  out.reserve(64);
  out.push_back(static_cast<std::uint8_t>(kind));
  append(out, id.view());
  return out;
}

} // namespace

result<ledger> ledger::from_genesis(const genesis& g) {
  if (auto ok = check_genesis(g); !ok) return ok.err();
  ledger l;
  l.chain_id_ = g.chain_id;
  l.params_ = g.params;
  for (const auto& v : g.validators) {
    l.stakes_[{v.id(), stake_role::validator}] = v.stake;
    l.keys_.emplace(v.id(), v.key);
    l.minted_ = must_add(l.minted_, v.stake); // check_genesis proved the sum fits
  }
  for (const auto& b : g.balances) {
    l.accounts_[b.account].balance = b.value;
    l.minted_ = must_add(l.minted_, b.value);
  }
  return l;
}

tx_status ledger::apply(const transaction& tx, std::uint64_t height, const node_id& proposer) {
  // The cheap context-free checks again, so that apply alone never corrupts the state; the
  // size and the signature are check_transaction's.
  if (tx.chain_id != chain_id_)
    return reject(reject_reason::wrong_chain, "signed for chain '" + tx.chain_id + "'");
  auto key = public_key::from_der(tx.sender_key);
  if (!key) return reject(reject_reason::bad_key, "sender_key: " + key.err().message);
  const node_id sender = key->id();
  if (auto value = body_value(tx.body); value && *value == amount{0})
    return reject(reject_reason::zero_amount, "value is 0");
  if (auto* t = std::get_if<transfer>(&tx.body); t && t->to == sender)
    return reject(reject_reason::self_transfer, "transfer to the sender's own account");

  const account from = account_of(sender);
  if (tx.nonce < from.nonce)
    return reject(reject_reason::stale_nonce, "nonce " + std::to_string(tx.nonce) +
                                                  " already used (account nonce " +
                                                  std::to_string(from.nonce) + ")");
  if (tx.nonce > from.nonce)
    return reject(reject_reason::bad_nonce, "nonce " + std::to_string(tx.nonce) +
                                                " is ahead of the account nonce " +
                                                std::to_string(from.nonce));
  if (from.nonce == std::numeric_limits<std::uint64_t>::max())
    return reject(reject_reason::overflow, "account nonce exhausted");
  if (tx.fee < params_.min_fee)
    return reject(reject_reason::fee_too_low,
                  "fee " + tx.fee.to_string() + " below minimum " + params_.min_fee.to_string());
  if (tx.body.index() >= 3) return apply_payment(tx, sender, height, proposer);

  // Stage every change on copies; commit only when all of them succeeded. Accounts are
  // staged by id, so a sender who is also the proposer (or the recipient) is handled.
  std::map<node_id, account> staged;
  auto acct = [&](const node_id& id) -> account& {
    auto it = staged.find(id);
    if (it == staged.end()) it = staged.emplace(id, account_of(id)).first;
    return it->second;
  };
  auto debit = [&](const node_id& id, amount a) -> tx_status {
    auto& x = acct(id);
    auto left = checked_sub(x.balance, a);
    if (!left)
      return reject(reject_reason::insufficient_funds,
                    "balance " + x.balance.to_string() + " does not cover " + a.to_string());
    x.balance = *left;
    return {};
  };
  auto credit = [&](const node_id& id, amount a) -> tx_status {
    auto& x = acct(id);
    auto sum = checked_add(x.balance, a);
    if (!sum) return reject(reject_reason::overflow, sum.err().message);
    x.balance = *sum;
    return {};
  };

  std::optional<std::pair<stake_key, amount>> new_stake;
  std::optional<std::pair<unbonding_key, amount>> new_unbonding;

  if (auto* t = std::get_if<transfer>(&tx.body)) {
    auto cost = checked_add(t->value, tx.fee);
    if (!cost) return reject(reject_reason::overflow, cost.err().message);
    if (auto ok = debit(sender, *cost); !ok) return ok;
    if (auto ok = credit(t->to, t->value); !ok) return ok;
  } else if (auto* s = std::get_if<stake>(&tx.body)) {
    if (s->role == stake_role::validator && is_jailed(sender))
      return reject(reject_reason::jailed, "account was removed from the validator set");
    auto cost = checked_add(s->value, tx.fee);
    if (!cost) return reject(reject_reason::overflow, cost.err().message);
    if (auto ok = debit(sender, *cost); !ok) return ok;
    auto total = checked_add(stake_of(sender, s->role), s->value);
    if (!total) return reject(reject_reason::overflow, total.err().message);
    new_stake.emplace(stake_key{sender, s->role}, *total);
  } else if (auto* up = std::get_if<unstake>(&tx.body)) {
    const auto& u = *up;
    auto left = checked_sub(stake_of(sender, u.role), u.value);
    if (!left)
      return reject(reject_reason::insufficient_stake, std::string{to_string(u.role)} + " stake " +
                                                           stake_of(sender, u.role).to_string() +
                                                           " is less than " + u.value.to_string());
    std::uint64_t release;
    if (__builtin_add_overflow(height, params_.unbonding_blocks, &release))
      return reject(reject_reason::overflow, "release height exceeds 2^64-1");
    if (auto ok = debit(sender, tx.fee); !ok) return ok;
    unbonding_key k{sender, u.role, release};
    auto it = unbonding_.find(k);
    auto pending = checked_add(it == unbonding_.end() ? amount{} : it->second, u.value);
    if (!pending) return reject(reject_reason::overflow, pending.err().message);
    new_stake.emplace(stake_key{sender, u.role}, *left);
    new_unbonding.emplace(k, *pending);
  }
  if (tx.fee > amount{0})
    if (auto ok = credit(proposer, tx.fee); !ok) return ok;
  acct(sender).nonce = from.nonce + 1;

  // Commit: nothing below can fail.
  count_flow(flow_kind::fee, tx.fee, &proposer);
  for (auto& [id, a] : staged)
    accounts_[id] = a;
  if (new_stake) {
    if (new_stake->second == amount{0})
      stakes_.erase(new_stake->first);
    else
      stakes_[new_stake->first] = new_stake->second;
  }
  if (new_unbonding) unbonding_[new_unbonding->first] = new_unbonding->second;
  if (std::holds_alternative<stake>(tx.body)) keys_.emplace(sender, *key);
  if (auto* st = std::get_if<stake>(&tx.body); st && st->role == stake_role::executor)
    executor_since_[sender] = height;
  return {};
}

std::optional<hash256> ledger::block_id(std::uint64_t height) const {
  auto i = recent_ids_.find(height);
  if (i == recent_ids_.end()) return std::nullopt;
  return i->second;
}

std::vector<ledger::drawable_executor> ledger::drawable_executors(std::uint64_t anchor_height) const {
  std::vector<drawable_executor> out;
  for (auto& [k, v] : stakes_) {
    if (k.second != stake_role::executor || v < params_.min_executor_stake) continue;
    auto since = executor_since_.find(k.first);
    auto at = since == executor_since_.end() ? 0 : since->second; // genesis stake: height 0
    if (at >= anchor_height) continue;
    out.push_back({k.first, v, at});
  }
  return out; // stakes_ is ordered by (id, role): sorted by id
}

amount ledger::begin_block(std::uint64_t height, const hash256& parent) {
  block_flows_ = {};
  if (height > 0) {
    recent_ids_[height - 1] = parent;
    while (!recent_ids_.empty() && recent_ids_.begin()->first + recent_blocks < height)
      recent_ids_.erase(recent_ids_.begin());
  }
  amount released;
  for (auto it = unbonding_.begin(); it != unbonding_.end();) {
    const auto& [id, role, release] = it->first;
    if (release <= height) {
      auto& a = accounts_[id];
      a.balance = must_add(a.balance, it->second);
      released = must_add(released, it->second);
      it = unbonding_.erase(it);
    } else {
      ++it;
    }
  }
  return released;
}

result<amount> ledger::slash(const node_id& who, stake_role role, std::uint32_t ppm) {
  if (ppm > ppm_denominator)
    return fail(errc::invalid_argument,
                "slash share " + std::to_string(ppm) + " ppm exceeds 1000000");
  amount total;
  auto take = [&](amount& from) {
    auto share = mul_div(from, ppm, ppm_denominator); // <= from: cannot fail
    from = amount{from.units() - share->units()};
    total = must_add(total, *share);
  };
  if (auto it = stakes_.find({who, role}); it != stakes_.end()) {
    take(it->second);
    if (it->second == amount{0}) stakes_.erase(it);
  }
  for (auto it = unbonding_.lower_bound({who, role, 0});
       it != unbonding_.end() && std::get<0>(it->first) == who && std::get<1>(it->first) == role;) {
    take(it->second);
    if (it->second == amount{0})
      it = unbonding_.erase(it);
    else
      ++it;
  }
  slashing_pool_ = must_add(slashing_pool_, total);
  count_flow(flow_kind::slashed, total);
  return total;
}

bool ledger::remove_validator(const node_id& who) {
  return jailed_.insert(who).second;
}

bool ledger::spend_evidence(const hash256& id) {
  return spent_evidence_.insert(id).second;
}

std::vector<validator_info> ledger::validator_set() const {
  std::vector<validator_info> out;
  for (const auto& [k, value] : stakes_) {
    const auto& [id, role] = k;
    if (role != stake_role::validator || value < params_.min_validator_stake || is_jailed(id))
      continue;
    auto key = keys_.find(id);
    if (key == keys_.end()) continue; // cannot happen: staking records the key
    out.push_back({id, key->second, value});
  }
  return out; // map order: sorted by node id
}

std::vector<bytes> ledger::state_leaves() const {
  // Each map iterates in the byte order of its leaves (fixed-width big-endian keys right
  // after the kind byte), and kinds are emitted in ascending order: the result is sorted.
  std::vector<bytes> out;
  out.reserve(accounts_.size() + stakes_.size() + unbonding_.size() + keys_.size() +
              jailed_.size() + 1 + spent_evidence_.size());
  for (const auto& [id, a] : accounts_) {
    auto l = leaf(state_leaf::account, id);
    append_u64_be(l, a.balance.units());
    append_u64_be(l, a.nonce);
    out.push_back(std::move(l));
  }
  for (const auto& [k, value] : stakes_) {
    auto l = leaf(state_leaf::stake, k.first);
    l.push_back(static_cast<std::uint8_t>(k.second));
    append_u64_be(l, value.units());
    out.push_back(std::move(l));
  }
  for (const auto& [k, value] : unbonding_) {
    const auto& [id, role, release] = k;
    auto l = leaf(state_leaf::unbonding, id);
    l.push_back(static_cast<std::uint8_t>(role));
    append_u64_be(l, release);
    append_u64_be(l, value.units());
    out.push_back(std::move(l));
  }
  for (const auto& [id, key] : keys_) {
    auto l = leaf(state_leaf::key, id);
    const auto& der = key.der();
    l.push_back(static_cast<std::uint8_t>(der.size() >> 8));
    l.push_back(static_cast<std::uint8_t>(der.size()));
    append(l, der);
    out.push_back(std::move(l));
  }
  for (const auto& id : jailed_)
    out.push_back(leaf(state_leaf::jailed, id));
  bytes pool{static_cast<std::uint8_t>(state_leaf::pool), slashing_pool_id};
  append_u64_be(pool, slashing_pool_.units());
  out.push_back(std::move(pool));
  bytes treasury{static_cast<std::uint8_t>(state_leaf::pool), treasury_pool_id};
  append_u64_be(treasury, treasury_.units());
  out.push_back(std::move(treasury));
  for (const auto& id : spent_evidence_) {
    bytes l{static_cast<std::uint8_t>(state_leaf::evidence)};
    append(l, id.view());
    out.push_back(std::move(l));
  }
  for (const auto& [bpi, book] : books_) {
    auto l = leaf(state_leaf::log_book, bpi);
    append(l, book.encode());
    out.push_back(std::move(l));
  }
  for (const auto& [id, c] : contents_) {
    bytes l{static_cast<std::uint8_t>(state_leaf::content)};
    append(l, id.view());
    append(l, c.creator.view());
    append_u64_be(l, c.price_per_second.units());
    for (auto ppm : {c.split.creator, c.split.operators, c.split.platform, c.split.treasury})
      append_u32_be(l, ppm);
    append(l, c.verifier.view());
    append_u32_be(l, c.outputs);
    append_u64_be(l, c.height);
    out.push_back(std::move(l));
  }
  for (const auto& [id, ch] : channels_) {
    bytes l{static_cast<std::uint8_t>(state_leaf::channel)};
    append(l, id.view());
    append(l, ch.payer.view());
    append(l, ch.payee.view());
    append_u64_be(l, ch.deposit.units());
    append_u64_be(l, ch.paid.units());
    append_u64_be(l, ch.expiry_height);
    append_u64_be(l, ch.closing_height);
    append_u32_be(l, static_cast<std::uint32_t>(ch.lanes.size()));
    for (const auto& [lane, r] : ch.lanes) {
      append_u32_be(l, lane);
      append(l, r.commit.view());
      append(l, r.content.view());
      append_u64_be(l, r.price_per_tick.units());
      append_u32_be(l, r.ticks);
    }
    out.push_back(std::move(l));
  }
  for (const auto& [id, e] : job_escrows_) {
    bytes l{static_cast<std::uint8_t>(state_leaf::job_escrow)};
    append(l, id.view());
    append(l, e.funder.view());
    append(l, e.verifier.view());
    append_u64_be(l, e.deposit.units());
    append_u64_be(l, e.paid.units());
    append_u64_be(l, e.price_per_work_unit.units());
    append_u32_be(l, e.verifier_ppm);
    append_u64_be(l, e.expiry_height);
    append_u32_be(l, static_cast<std::uint32_t>(e.tasks_paid.size()));
    for (auto t : e.tasks_paid) append_u32_be(l, t);
    out.push_back(std::move(l));
  }
  return out;
}

hash256 ledger::state_root() const {
  auto leaves = state_leaves();
  return merkle::root_of(leaves);
}

amount ledger::total_supply() const {
  amount sum = must_add(slashing_pool_, treasury_);
  for (const auto& [id, a] : accounts_)
    sum = must_add(sum, a.balance);
  for (const auto& [k, v] : stakes_)
    sum = must_add(sum, v);
  for (const auto& [k, v] : unbonding_)
    sum = must_add(sum, v);
  return must_add(sum, escrowed());
}

amount ledger::escrowed() const {
  amount sum;
  for (const auto& [id, ch] : channels_)
    sum = must_add(sum, ch.escrow());
  for (const auto& [id, e] : job_escrows_)
    sum = must_add(sum, e.rest());
  return sum;
}

std::optional<job_escrow_record> ledger::job_escrow_of(const hash256& id) const {
  auto i = job_escrows_.find(id);
  if (i == job_escrows_.end()) return std::nullopt;
  return i->second;
}

std::optional<content_record> ledger::content_of(const hash256& id) const {
  auto i = contents_.find(id);
  if (i == contents_.end()) return std::nullopt;
  return i->second;
}

std::optional<channel_record> ledger::channel_of(const hash256& id) const {
  auto i = channels_.find(id);
  if (i == channels_.end()) return std::nullopt;
  return i->second;
}

account ledger::account_of(const node_id& id) const {
  auto it = accounts_.find(id);
  return it == accounts_.end() ? account{} : it->second;
}

amount ledger::stake_of(const node_id& id, stake_role role) const {
  auto it = stakes_.find({id, role});
  return it == stakes_.end() ? amount{} : it->second;
}

std::vector<unbonding_entry> ledger::unbonding() const {
  std::vector<unbonding_entry> out;
  out.reserve(unbonding_.size());
  for (const auto& [k, value] : unbonding_) {
    const auto& [id, role, release] = k;
    out.push_back({id, role, value, release});
  }
  return out;
}

bool ledger::is_jailed(const node_id& id) const {
  return jailed_.contains(id);
}

// ---------------------------------------------------------------- notarization

result<amount> ledger::apply_entry(const poe_entry& e) {
  const auto& bpi = e.header.bpi;
  auto key = keys_.find(bpi);
  if (key == keys_.end() || stake_of(bpi, stake_role::builder) < params_.rent.min_builder_stake ||
      stake_of(bpi, stake_role::builder) == amount{0})
    return fail(errc::verify_failed, "not_staked: BPI " + bpi.hex().substr(0, 12) +
                                       " holds no builder stake");
  if (auto st = check_entry(e, key->second, chain_id_); !st)
    return fail(errc::verify_failed, "invalid: " + st.err().message);
  auto book = book_of(bpi);
  const auto& lb = e.book_block;
  if (lb.sequence != book.size() || lb.prev != book.last())
    return fail(errc::verify_failed, "out_of_order: LogBlock " + std::to_string(lb.sequence) +
                                       " of BPI " + bpi.hex().substr(0, 12) + ", the book has " +
                                       std::to_string(book.size()));
  auto id = log_block_id(lb);
  if (e.header.logbook_root != book.root_with(id))
    return fail(errc::verify_failed, "bad_logbook_root: not the book's root with this LogBlock");
  auto quote = rent_quote(params_.rent, lb);
  if (!quote) return fail(errc::verify_failed, "rent_too_low: " + quote.err().message);
  amount paid{e.header.rent_payment};
  if (paid < *quote)
    return fail(errc::verify_failed, "rent_too_low: pays " + paid.to_string() + ", the quote is " +
                                       quote->to_string());
  auto& acct = accounts_[bpi];
  auto left = checked_sub(acct.balance, paid);
  if (!left)
    return fail(errc::verify_failed, "insufficient_funds: BPI balance " +
                                       acct.balance.to_string() + " < rent " + paid.to_string());
  acct.balance = *left;
  book.append(id);
  books_[bpi] = book;
  // The storage part of the rent (its quote's, at most what was paid) goes to storage stakers.
  auto kib = lb.result_bytes / 1024 + (lb.result_bytes % 1024 != 0);
  auto storage = checked_mul(params_.rent.rent_per_kib, kib); // <= the quote: no overflow
  storage_rent_ = must_add(storage_rent_, std::min(*storage, paid));
  return paid;
}

void ledger::distribute_rent(amount total, const node_id& proposer) {
  auto storage = std::min(storage_rent_, total);
  storage_rent_ = amount{};
  if (total == amount{0}) return;
  std::map<node_id, amount> stakers;
  std::optional<std::pair<node_id, amount>> largest;
  for (const auto& [k, v] : stakes_)
    if (k.second == stake_role::storage && v != amount{0}) {
      stakers[k.first] = v;
      if (!largest || v > largest->second) largest.emplace(k.first, v);
    }
  if (!stakers.empty() && storage != amount{0}) {
    for (auto& [id, share] : share_by_weight(stakers, storage, largest->first)) {
      auto& a = accounts_[id];
      a.balance = must_add(a.balance, share);
      count_flow(flow_kind::rent_storage, share, &id);
    }
    total = amount{total.units() - storage.units()};
  }
  auto split = split_rent(params_.rent, total);
  slashing_pool_ = must_add(slashing_pool_, split.slashing);
  treasury_ = must_add(treasury_, split.treasury);
  count_flow(flow_kind::rent_slashing, split.slashing);
  count_flow(flow_kind::rent_treasury, split.treasury);
  std::map<node_id, amount> weights;
  for (auto& v : validator_set()) weights[v.id] = v.stake;
  if (weights.empty()) { // no validator set (cannot happen on a live chain): to the treasury
    treasury_ = must_add(treasury_, split.validators);
    count_flow(flow_kind::rent_treasury, split.validators);
    return;
  }
  auto remainder_to = weights.count(proposer) ? proposer : weights.begin()->first;
  for (auto& [id, share] : share_by_weight(weights, split.validators, remainder_to)) {
    auto& a = accounts_[id];
    a.balance = must_add(a.balance, share);
    count_flow(flow_kind::rent_validators, share, &id);
  }
}

void ledger::count_flow(flow_kind k, amount a, const node_id* to) {
  if (a == amount{0}) return;
  auto add = [&](std::uint64_t& x) { x = x > UINT64_MAX - a.units() ? UINT64_MAX : x + a.units(); };
  add(block_flows_[static_cast<std::size_t>(k)]);
  if (to) add(account_flows_[*to][static_cast<std::size_t>(k)]);
}

flow_totals ledger::flows_of(const node_id& id) const {
  auto i = account_flows_.find(id);
  return i == account_flows_.end() ? flow_totals{} : i->second;
}

std::string_view to_string(flow_kind k) {
  static constexpr std::string_view names[] = {
    "fee",           "rent_validators",   "rent_storage",     "rent_slashing",   "rent_treasury",
    "bid",           "content_creator",   "content_operators", "content_platform", "content_treasury",
    "job_executor",  "job_verifier",      "refund",           "slashed"};
  static_assert(std::size(names) == flow_kinds);
  auto i = static_cast<std::size_t>(k);
  return i < flow_kinds ? names[i] : "unknown";
}

status ledger::pay_bid(const node_id& builder, const node_id& proposer, amount value) {
  auto have = account_of(builder).balance;
  auto left = checked_sub(have, value);
  if (!left)
    return fail(errc::verify_failed, "insufficient_funds: builder balance " + have.to_string() +
                                       " < bid " + value.to_string());
  accounts_[builder].balance = *left;
  auto& p = accounts_[proposer];
  p.balance = must_add(p.balance, value);
  count_flow(flow_kind::bid, value, &proposer);
  return {};
}

amount ledger::penalize_withheld(const node_id& builder, amount value) {
  auto& b = accounts_[builder];
  auto from_balance = std::min(b.balance, value);
  b.balance = amount{b.balance.units() - from_balance.units()};
  auto rest = amount{value.units() - from_balance.units()};
  amount from_stake;
  if (auto it = stakes_.find({builder, stake_role::builder}); it != stakes_.end()) {
    from_stake = std::min(it->second, rest);
    it->second = amount{it->second.units() - from_stake.units()};
    if (it->second == amount{0}) stakes_.erase(it);
  }
  auto taken = must_add(from_balance, from_stake);
  slashing_pool_ = must_add(slashing_pool_, taken);
  count_flow(flow_kind::slashed, taken);
  return taken;
}

std::uint64_t ledger::book_size(const node_id& bpi) const {
  auto it = books_.find(bpi);
  return it == books_.end() ? 0 : it->second.size();
}

log_book ledger::book_of(const node_id& bpi) const {
  auto it = books_.find(bpi);
  return it == books_.end() ? log_book{} : it->second;
}

std::optional<public_key> ledger::key_of(const node_id& id) const {
  auto it = keys_.find(id);
  if (it == keys_.end()) return std::nullopt;
  return it->second;
}

hash256 validators_root(const std::vector<validator_info>& set) {
  std::vector<bytes> leaves;
  for (auto& v : set) {
    bytes leaf(v.id.data.begin(), v.id.data.end());
    append_u64_be(leaf, v.stake.units());
    auto der = v.key.der();
    leaf.push_back(static_cast<std::uint8_t>(der.size() >> 8));
    leaf.push_back(static_cast<std::uint8_t>(der.size()));
    append(leaf, der);
    leaves.push_back(std::move(leaf));
  }
  return merkle::root_of(leaves);
}

} // namespace poe::chain
