#include "poe/chain/inclusion.hpp"

#include <algorithm>

namespace poe::chain {

std::vector<hash256> missing_owed(const inclusion_tracker& held, const ledger& parent,
                                  const rent_params& rent, const block& proposal) {
  if (proposal.poe_headers.size() >= rent.max_block_poes) return {};
  auto size_of = [&](const node_id& bpi) { return parent.book_size(bpi); };
  auto due = held.due(proposal.header.height, rent.inclusion_blocks, size_of);
  if (due.empty()) return {};
  // Only what would apply on the parent state is owed.
  ledger probe = parent;
  std::set<hash256> applies;
  for (auto& e : held.includable(size_of, rent.max_block_poes))
    if (probe.apply_entry(e)) applies.insert(entry_id(e));
  std::set<hash256> in_block;
  for (auto& raw : proposal.poe_headers)
    if (auto e = decode_poe_entry(raw)) in_block.insert(entry_id(*e));
  std::vector<hash256> missing;
  for (auto& id : due)
    if (applies.count(id) && !in_block.count(id)) missing.push_back(id);
  std::sort(missing.begin(), missing.end());
  if (missing.size() > 256) missing.resize(256);
  return missing;
}

complaint_book::outcome complaint_book::take(const exclusion_complaint& c, const node_id& signer,
                                             std::uint64_t next_height, std::size_t faulty,
                                             const std::optional<bytes>& offender_key) {
  outcome out;
  if (c.height + horizon < next_height) return out;
  proposal key{c.height, c.round, c.proposer, c.digest};
  auto& got = by_proposal_[key];
  if (!got.emplace(signer, c).second) return out;
  out.counted = true;
  if (got.size() < faulty + 1 || !offender_key || punished_.count(key)) return out;
  punished_.insert(key);
  censorship_evidence e{c.chain_id, *offender_key, {}};
  for (auto& [id, x] : got) e.complaints.push_back(x);
  out.evidence = std::move(e);
  return out;
}

void complaint_book::forget_below(std::uint64_t next_height) {
  for (auto it = by_proposal_.begin(); it != by_proposal_.end();)
    it = std::get<0>(it->first) + horizon < next_height ? by_proposal_.erase(it) : std::next(it);
  for (auto it = punished_.begin(); it != punished_.end();)
    it = std::get<0>(*it) + horizon < next_height ? punished_.erase(it) : std::next(it);
}

std::optional<builder_bid> proposer_auction::next(
  const auction* bids, const std::function<bool(const node_id&)>& reachable) {
  current_.reset();
  if (!bids || bids->height() != height_) return std::nullopt;
  while (auto best = bids->best(tried_)) {
    auto key = public_key::from_der(best->builder_key); // offer() verified the bid
    if (!key) return std::nullopt; // cannot happen for an offered bid; never loop on it
    auto builder = key->id();
    if (!reachable(builder)) {
      tried_.insert(builder);
      continue;
    }
    builder_ = builder;
    current_ = *best;
    return current_;
  }
  return std::nullopt;
}

status proposer_auction::revealed(const std::vector<bytes>& bundle) {
  if (!current_) return fail(errc::invalid_argument, "no bid is waiting for its bundle");
  auto st = auction::check_reveal(*current_, bundle);
  if (!st) tried_.insert(builder_);
  return st;
}

bytes proposer_auction::withheld(const std::string& chain_id) {
  if (!current_) return {};
  tried_.insert(builder_);
  return encode(withheld_bid_evidence{chain_id, current_->builder_key, *current_});
}

} // namespace poe::chain
