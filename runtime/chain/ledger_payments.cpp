// The ledger's content and channel transitions (ledger.hpp, payments.hpp). Like every
// transition, they stage their changes and commit only when all of them succeed.
//
// - content_publish: the statement is signed by its verifier, which holds verifier stake, and
//   names the sender as the job's owner; the split gives the platform and the treasury at least
//   the genesis shares; the content id is new.
// - channel_open: deposit + fee from the payer; expiry > height + channel_challenge_blocks.
// - channel_topup: the payer, while the channel is open and not expired.
// - channel_claim (payee), channel_close by the payee: each lane claim checks (check_claim
//   against the payer's key; the claims of one transaction take at most max_tick_hashes SHA-256
//   steps in all, from their newest checkpoints), names published content and the
//   commitment the lane was first claimed with; what it adds (ticks beyond the lane's paid ones
//   × price) is paid out of escrow — at most what is left — split by the content's rule:
//   creator, operators (the payee), platform (platform_account, or the treasury), treasury.
//   Claims are accepted below the expiry height and, once a payer started closing, below the
//   closing height. A claim no higher than what is paid changes nothing (replays are harmless).
//   The payee's close then returns the escrow to the payer and removes the channel.
// - channel_close by the payer: closing height = height + channel_challenge_blocks.
// - channel_collect: at or after the closing height, or at or after expiry: the escrow goes
//   back to the payer and the channel is removed.
// - job_fund: max_fee + fee from the funder into a new escrow (job_escrow_id); the verifier
//   holds verifier stake; expiry > height.
// - job_pay: by the escrow's verifier, below expiry; each task index once; the executor holds
//   executor stake; each task is paid min(work_units × price, rest) (an overflowing product
//   is capped the same way), floor(pay × verifier_ppm / 1e6) to the verifier, the remainder
//   to the executor. A task paid 0 (escrow exhausted) still counts as paid.
// - job_close: the verifier at any time, the funder at or after expiry: the rest goes back to
//   the funder and the escrow is removed.
#include "poe/chain/ledger.hpp"

#include <limits>
#include <stdexcept>

namespace poe::chain {

namespace {

/// The money a payment transition moves, staged: accounts by id, the treasury, channels.
struct stage {
  const ledger& base;
  std::map<node_id, account> accounts;
  amount treasury_in;
  std::vector<std::tuple<flow_kind, amount, std::optional<node_id>>> flows; ///< counted at commit

  account& acct(const node_id& id) {
    auto it = accounts.find(id);
    if (it == accounts.end()) it = accounts.emplace(id, base.account_of(id)).first;
    return it->second;
  }
  tx_status debit(const node_id& id, amount a) {
    auto& x = acct(id);
    auto left = checked_sub(x.balance, a);
    if (!left)
      return reject(reject_reason::insufficient_funds,
                    "balance " + x.balance.to_string() + " does not cover " + a.to_string());
    x.balance = *left;
    return {};
  }
  tx_status credit(const node_id& id, amount a, flow_kind k) {
    if (a == amount{0}) return {};
    auto& x = acct(id);
    auto sum = checked_add(x.balance, a);
    if (!sum) return reject(reject_reason::overflow, sum.err().message);
    x.balance = *sum;
    flows.emplace_back(k, a, id);
    return {};
  }
  tx_status to_treasury(amount a, flow_kind k) {
    auto sum = checked_add(treasury_in, a);
    if (!sum) return reject(reject_reason::overflow, sum.err().message);
    treasury_in = *sum;
    flows.emplace_back(k, a, std::nullopt);
    return {};
  }
};

} // namespace

tx_status ledger::apply_payment(const transaction& tx, const node_id& sender, std::uint64_t height,
                                const node_id& proposer) {
  stage st{*this, {}, {}};
  std::optional<std::pair<hash256, content_record>> new_content;
  std::optional<hash256> changed_channel; ///< its new record is `ch` (erased when `remove`)
  channel_record ch;
  std::optional<public_key> payer; ///< ch's payer key, decoded once per transaction
  bool remove = false;
  std::optional<hash256> changed_escrow; ///< its new record is `je` (erased when `remove`)
  job_escrow_record je;
  const auto& p = params_;
  auto load_escrow = [&](const hash256& id) -> tx_status {
    auto i = job_escrows_.find(id);
    if (i == job_escrows_.end()) return reject(reject_reason::unknown_escrow, "no job escrow " + id.hex());
    je = i->second;
    changed_escrow = id;
    return {};
  };

  // Moves everything `c` adds to its lane out of `ch`'s escrow, split by the content's rule.
  auto settle = [&](const lane_claim& c) -> tx_status {
    if (c.commit.channel != *changed_channel)
      return reject(reject_reason::bad_claim, "a lane claim for another channel");
    if (!payer) {
      auto key = public_key::from_der(ch.payer_key);
      if (!key) return reject(reject_reason::bad_claim, "the payer's key does not decode");
      payer = std::move(*key);
    }
    auto max_hashes = static_cast<std::uint32_t>(std::min<std::uint64_t>(p.max_tick_hashes, UINT32_MAX));
    if (auto e = check_claim(c, *payer, chain_id_, max_hashes); e != claim_error::none)
      return reject(reject_reason::bad_claim, "lane " + std::to_string(c.commit.lane) + ": " +
                                                  std::string(to_string(e)));
    auto content = contents_.find(c.commit.content);
    if (content == contents_.end())
      return reject(reject_reason::unknown_content, "lane " + std::to_string(c.commit.lane) +
                                                        " names unpublished content " +
                                                        c.commit.content.hex());
    auto id = commit_id(c.commit);
    auto lane = ch.lanes.find(c.commit.lane);
    if (lane == ch.lanes.end()) {
      if (ch.lanes.size() >= p.max_channel_lanes)
        return reject(reject_reason::bad_claim, "the channel holds " + std::to_string(ch.lanes.size()) +
                                                    " lanes already (max_channel_lanes)");
      lane = ch.lanes.emplace(c.commit.lane, lane_record{id, c.commit.content, c.commit.price_per_tick, 0}).first;
    } else if (lane->second.commit != id) {
      return reject(reject_reason::bad_claim, "lane " + std::to_string(c.commit.lane) +
                                                  " was settled under another commitment");
    }
    auto& r = lane->second;
    if (c.tick_index <= r.ticks) return {}; // nothing new: a replay or a stale state
    auto value = checked_mul(r.price_per_tick, c.tick_index - r.ticks);
    if (!value) return reject(reject_reason::overflow, value.err().message);
    r.ticks = c.tick_index;
    amount pay = std::min(*value, ch.escrow()); // a payer may have promised more than it put in
    if (pay == amount{0}) return {};
    ch.paid = amount{ch.paid.units() + pay.units()};
    auto shares = split_payment(pay, content->second.split);
    for (auto ok : {st.credit(content->second.creator, shares.creator, flow_kind::content_creator),
                    st.credit(ch.payee, shares.operators, flow_kind::content_operators)})
      if (!ok) return ok;
    if (p.platform_account.is_zero()) {
      if (auto ok = st.to_treasury(shares.platform, flow_kind::content_platform); !ok) return ok;
    } else if (auto ok = st.credit(p.platform_account, shares.platform, flow_kind::content_platform); !ok) {
      return ok;
    }
    return st.to_treasury(shares.treasury, flow_kind::content_treasury);
  };
  auto load = [&](const hash256& id) -> tx_status {
    auto i = channels_.find(id);
    if (i == channels_.end()) return reject(reject_reason::unknown_channel, "no channel " + id.hex());
    ch = i->second;
    changed_channel = id;
    return {};
  };
  auto claims_open = [&]() -> tx_status {
    if (height >= ch.expiry_height)
      return reject(reject_reason::channel_closed, "the channel expired at height " + std::to_string(ch.expiry_height));
    if (ch.closing_height != 0 && height >= ch.closing_height)
      return reject(reject_reason::channel_closed, "the challenge window ended at height " +
                                                       std::to_string(ch.closing_height));
    return {};
  };

  // One transaction's claims may hash at most max_tick_hashes steps in all (each from its
  // newest checkpoint): block execution stays bounded however many claims a block carries.
  auto hash_budget = [&](const std::vector<lane_claim>& claims) -> tx_status {
    std::uint64_t steps = 0;
    for (const auto& x : claims) {
      std::uint32_t base = x.checkpoint ? x.checkpoint->index : 0;
      steps += x.tick_index > base ? x.tick_index - base : 0;
    }
    if (steps > p.max_tick_hashes)
      return reject(reject_reason::bad_claim, "the claims take " + std::to_string(steps) +
                                                  " hash steps (at most max_tick_hashes = " +
                                                  std::to_string(p.max_tick_hashes) + " per transaction)");
    return {};
  };

  if (auto ok = st.debit(sender, tx.fee); !ok) return ok;

  if (auto* b = std::get_if<content_publish>(&tx.body)) {
    const auto& s = b->output;
    if (s.owner != sender)
      return reject(reject_reason::bad_statement, "the job's owner is " + s.owner.hex() + ", not the sender");
    auto vkey = key_of(s.verifier);
    if (!vkey || stake_of(s.verifier, stake_role::verifier) == amount{0})
      return reject(reject_reason::bad_statement, "verifier " + s.verifier.hex() + " holds no verifier stake");
    if (!verify(s, *vkey, chain_id_))
      return reject(reject_reason::bad_statement, "the verifier's signature does not verify");
    if (auto ok = check_split(b->split); !ok) return reject(reject_reason::bad_split, ok.err().message);
    if (b->split.platform < p.split.platform || b->split.treasury < p.split.treasury)
      return reject(reject_reason::bad_split, "the platform and treasury shares may not be below the genesis split " +
                                                  to_string(p.split));
    auto id = content_id(s);
    if (contents_.count(id)) return reject(reject_reason::content_exists, "content " + id.hex() + " is published");
    new_content.emplace(id, content_record{sender, b->price_per_second, b->split, s.verifier,
                                           static_cast<std::uint32_t>(s.outputs.size()), height});
  } else if (auto* o = std::get_if<channel_open>(&tx.body)) {
    if (o->payee == sender) return reject(reject_reason::self_transfer, "a channel to the sender itself");
    std::uint64_t earliest;
    if (__builtin_add_overflow(height, p.channel_challenge_blocks, &earliest) || o->expiry_height <= earliest)
      return reject(reject_reason::bad_expiry, "expiry " + std::to_string(o->expiry_height) +
                                                   " must be after height " + std::to_string(earliest) +
                                                   " (inclusion + channel_challenge_blocks)");
    if (auto ok = st.debit(sender, o->deposit); !ok) return ok;
    changed_channel = channel_id(sender, tx.nonce);
    ch = channel_record{sender, tx.sender_key, o->payee, o->deposit, amount{}, o->expiry_height, 0, {}};
  } else if (auto* t = std::get_if<channel_topup>(&tx.body)) {
    if (auto ok = load(t->channel); !ok) return ok;
    if (ch.payer != sender) return reject(reject_reason::not_channel_party, "only the payer tops up a channel");
    if (ch.closing_height != 0) return reject(reject_reason::channel_closed, "the channel is closing");
    if (height >= ch.expiry_height) return reject(reject_reason::channel_closed, "the channel expired");
    if (auto ok = st.debit(sender, t->value); !ok) return ok;
    auto sum = checked_add(ch.deposit, t->value);
    if (!sum) return reject(reject_reason::overflow, sum.err().message);
    ch.deposit = *sum;
  } else if (auto* c = std::get_if<channel_claim>(&tx.body)) {
    if (auto ok = hash_budget(c->claims); !ok) return ok;
    if (auto ok = load(c->channel); !ok) return ok;
    if (ch.payee != sender) return reject(reject_reason::not_channel_party, "only the payee claims");
    if (auto ok = claims_open(); !ok) return ok;
    for (const auto& x : c->claims)
      if (auto ok = settle(x); !ok) return ok;
  } else if (auto* c = std::get_if<channel_close>(&tx.body)) {
    if (auto ok = hash_budget(c->claims); !ok) return ok;
    if (auto ok = load(c->channel); !ok) return ok;
    if (sender == ch.payee) {
      if (!c->claims.empty()) {
        if (auto ok = claims_open(); !ok) return ok;
        for (const auto& x : c->claims)
          if (auto ok = settle(x); !ok) return ok;
      }
      if (auto ok = st.credit(ch.payer, ch.escrow(), flow_kind::refund); !ok) return ok;
      remove = true;
    } else if (sender == ch.payer) {
      if (!c->claims.empty()) return reject(reject_reason::not_channel_party, "only the payee submits lane claims");
      if (ch.closing_height != 0)
        return reject(reject_reason::channel_closed, "the channel is closing already (until height " +
                                                         std::to_string(ch.closing_height) + ")");
      if (__builtin_add_overflow(height, p.channel_challenge_blocks, &ch.closing_height))
        return reject(reject_reason::overflow, "closing height exceeds 2^64-1");
    } else {
      return reject(reject_reason::not_channel_party, "only the channel's payer or payee closes it");
    }
  } else if (auto* c = std::get_if<channel_collect>(&tx.body)) {
    if (auto ok = load(c->channel); !ok) return ok;
    bool window_over = ch.closing_height != 0 && height >= ch.closing_height;
    if (!window_over && height < ch.expiry_height)
      return reject(reject_reason::not_settled,
                    ch.closing_height != 0
                        ? "the challenge window runs until height " + std::to_string(ch.closing_height)
                        : "the channel is open until height " + std::to_string(ch.expiry_height) +
                              " (the payer closes it first)");
    if (auto ok = st.credit(ch.payer, ch.escrow(), flow_kind::refund); !ok) return ok;
    remove = true;
  } else if (auto* f = std::get_if<job_fund>(&tx.body)) {
    auto id = job_escrow_id(f->verifier, f->job);
    if (job_escrows_.count(id)) return reject(reject_reason::escrow_exists, "job " + f->job + " is funded already");
    if (stake_of(f->verifier, stake_role::verifier) == amount{0})
      return reject(reject_reason::not_escrow_party, "verifier " + f->verifier.hex() + " holds no verifier stake");
    if (f->expiry_height <= height)
      return reject(reject_reason::bad_expiry, "expiry " + std::to_string(f->expiry_height) +
                                                   " must be after the inclusion height " + std::to_string(height));
    if (auto ok = st.debit(sender, f->max_fee); !ok) return ok;
    changed_escrow = id;
    je = job_escrow_record{sender, f->verifier, f->max_fee, amount{}, f->price_per_work_unit,
                           f->verifier_ppm, f->expiry_height, {}};
  } else if (auto* j = std::get_if<job_pay>(&tx.body)) {
    if (auto ok = load_escrow(j->escrow); !ok) return ok;
    if (sender != je.verifier) return reject(reject_reason::not_escrow_party, "only the escrow's verifier pays from it");
    if (height >= je.expiry_height)
      return reject(reject_reason::escrow_expired, "the escrow expired at height " + std::to_string(je.expiry_height));
    for (const auto& t : j->tasks) {
      if (!je.tasks_paid.insert(t.task).second)
        return reject(reject_reason::task_paid, "task " + std::to_string(t.task) + " is paid already");
      if (stake_of(t.executor, stake_role::executor) == amount{0})
        return reject(reject_reason::not_executor, "executor " + t.executor.hex() + " holds no executor stake");
      auto value = checked_mul(je.price_per_work_unit, t.work_units);
      amount pay = value ? std::min(*value, je.rest()) : je.rest();
      if (pay == amount{0}) continue;
      je.paid = amount{je.paid.units() + pay.units()};
      auto to_verifier = static_cast<std::uint64_t>(static_cast<unsigned __int128>(pay.units()) *
                                                    je.verifier_ppm / 1'000'000);
      for (auto ok : {st.credit(je.verifier, amount{to_verifier}, flow_kind::job_verifier),
                      st.credit(t.executor, amount{pay.units() - to_verifier}, flow_kind::job_executor)})
        if (!ok) return ok;
    }
  } else if (auto* c = std::get_if<job_close>(&tx.body)) {
    if (auto ok = load_escrow(c->escrow); !ok) return ok;
    if (sender == je.funder && sender != je.verifier && height < je.expiry_height)
      return reject(reject_reason::not_settled, "the escrow is the verifier's until height " +
                                                    std::to_string(je.expiry_height));
    if (sender != je.funder && sender != je.verifier)
      return reject(reject_reason::not_escrow_party, "only the escrow's verifier or funder closes it");
    if (auto ok = st.credit(je.funder, je.rest(), flow_kind::refund); !ok) return ok;
    remove = true;
  } else {
    throw std::logic_error("apply_payment: not a payment body");
  }

  if (auto ok = st.credit(proposer, tx.fee, flow_kind::fee); !ok) return ok;
  auto treasury = checked_add(treasury_, st.treasury_in);
  if (!treasury) return reject(reject_reason::overflow, treasury.err().message);
  st.acct(sender).nonce = account_of(sender).nonce + 1;

  // Commit: nothing below can fail.
  for (auto& [id, a] : st.accounts) accounts_[id] = a;
  for (auto& [k, a, to] : st.flows) count_flow(k, a, to ? &*to : nullptr);
  treasury_ = *treasury;
  if (new_content) contents_.insert(*new_content);
  if (changed_channel) {
    if (remove)
      channels_.erase(*changed_channel);
    else
      channels_[*changed_channel] = std::move(ch);
  }
  if (changed_escrow) {
    if (remove)
      job_escrows_.erase(*changed_escrow);
    else
      job_escrows_[*changed_escrow] = std::move(je);
  }
  return {};
}

} // namespace poe::chain
