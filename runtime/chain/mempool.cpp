#include "poe/chain/mempool.hpp"

#include <algorithm>

namespace poe::chain {

mempool::mempool(std::string chain_id, mempool_limits limits)
  : chain_id_(std::move(chain_id)), limits_(limits) {}

namespace {

/// What the sender spends besides the fee (the transfer's value, a stake, a deposit, ...).
amount value_of(const transaction& tx) {
  if (auto* t = std::get_if<transfer>(&tx.body)) return t->value;
  if (auto* s = std::get_if<stake>(&tx.body)) return s->value;
  if (auto* o = std::get_if<channel_open>(&tx.body)) return o->deposit;
  if (auto* u = std::get_if<channel_topup>(&tx.body)) return u->value;
  if (auto* f = std::get_if<job_fund>(&tx.body)) return f->max_fee;
  return amount{0};
}

} // namespace

tx_status mempool::add(const transaction& tx, const ledger& state, verified_txs* known) {
  auto id = tx_id(tx);
  // Duplicates first: gossip brings every transaction again; no need to verify it twice.
  if (by_id_.count(id)) return reject(reject_reason::duplicate, "already pending: " + id.hex());
  // Backpressure before the signature check (the costly part): a few blocks' worth is enough.
  auto admit_cap = limits_.admission_blocks * state.params().max_block_txs;
  if (by_id_.size() >= admit_cap)
    return reject(reject_reason::mempool_full,
                  "the mempool holds " + std::to_string(by_id_.size()) + " transactions (" +
                    std::to_string(limits_.admission_blocks) +
                    " blocks' worth): resubmit after the next block");
  if (auto st = check_transaction(tx, chain_id_, state.params().max_tx_bytes, known); !st)
    return st;
  auto sender = *sender_of(tx);
  auto acct = state.account_of(sender);
  if (tx.nonce < acct.nonce)
    return reject(reject_reason::stale_nonce, "nonce " + std::to_string(tx.nonce) +
                                                " is below the account's " +
                                                std::to_string(acct.nonce) + " (a replay)");
  if (tx.nonce > acct.nonce + limits_.max_nonce_gap)
    return reject(reject_reason::bad_nonce, "nonce " + std::to_string(tx.nonce) +
                                              " is too far ahead of the account's " +
                                              std::to_string(acct.nonce));
  if (tx.fee < state.params().min_fee)
    return reject(reject_reason::fee_too_low, "fee " + tx.fee.to_string() + " is below " +
                                                state.params().min_fee.to_string());
  auto value = value_of(tx);
  auto spend = checked_add(value, tx.fee);
  if (!spend || *spend > acct.balance)
    return reject(reject_reason::insufficient_funds,
                  "balance " + acct.balance.to_string() + " does not cover value " +
                    value.to_string() + " + fee " + tx.fee.to_string() +
                    (spend ? " = " + spend->to_string() : std::string(" (more than 2^64 - 1)")));
  auto& mine = by_sender_[sender];
  if (mine.count(tx.nonce))
    return reject(reject_reason::duplicate,
                  "a transaction with nonce " + std::to_string(tx.nonce) + " is pending");
  if (mine.size() >= limits_.max_per_sender)
    return reject(reject_reason::mempool_full,
                  "the mempool holds " + std::to_string(mine.size()) +
                    " transactions of this sender (its bound): resubmit after the next block");
  if (by_id_.size() >= limits_.max_txs)
    return reject(reject_reason::mempool_full, "the mempool holds " +
                                                 std::to_string(by_id_.size()) +
                                                 " transactions (its bound)");
  mine.emplace(tx.nonce, id);
  by_id_.emplace(id, entry{tx, sender, id});
  return {};
}

std::vector<transaction> mempool::select(const ledger& state, std::uint64_t height,
                                         const node_id& proposer, std::size_t max) const {
  // Candidates: per sender, the run of consecutive nonces from the account's.
  struct cand {
    const entry* e;
  };
  std::vector<std::vector<const entry*>> runs;
  for (auto& [sender, nonces] : by_sender_) {
    std::vector<const entry*> run;
    auto next = state.account_of(sender).nonce;
    for (auto& [nonce, id] : nonces) {
      if (nonce < next) continue;
      if (nonce != next) break;
      run.push_back(&by_id_.at(id));
      ++next;
    }
    if (!run.empty()) runs.push_back(std::move(run));
  }
  // Merge: repeatedly take the best head (highest fee, then smallest id).
  std::vector<std::size_t> pos(runs.size(), 0);
  ledger scratch = state;
  std::vector<transaction> out;
  while (out.size() < max) {
    const entry* best = nullptr;
    std::size_t best_run = 0;
    for (std::size_t r = 0; r < runs.size(); ++r) {
      if (pos[r] >= runs[r].size()) continue;
      auto* e = runs[r][pos[r]];
      if (!best || e->tx.fee > best->tx.fee || (e->tx.fee == best->tx.fee && e->id < best->id)) {
        best = e;
        best_run = r;
      }
    }
    if (!best) break;
    if (scratch.apply(best->tx, height, proposer)) {
      out.push_back(best->tx);
      ++pos[best_run];
    } else {
      pos[best_run] = runs[best_run].size(); // the rest of this sender's run cannot apply
    }
  }
  return out;
}

std::uint64_t mempool::next_nonce(const node_id& sender, const ledger& state) const {
  auto next = state.account_of(sender).nonce;
  auto s = by_sender_.find(sender);
  if (s == by_sender_.end()) return next;
  for (auto i = s->second.lower_bound(next); i != s->second.end() && i->first == next; ++i)
    ++next;
  return next;
}

void mempool::prune(const ledger& state) {
  for (auto s = by_sender_.begin(); s != by_sender_.end();) {
    auto next = state.account_of(s->first).nonce;
    auto& nonces = s->second;
    for (auto i = nonces.begin(); i != nonces.end() && i->first < next;) {
      by_id_.erase(i->second);
      i = nonces.erase(i);
    }
    s = nonces.empty() ? by_sender_.erase(s) : std::next(s);
  }
}

} // namespace poe::chain
