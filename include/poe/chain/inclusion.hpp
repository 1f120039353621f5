#pragma once
/// @file
/// The validator's forced-inclusion decisions, pure (no CAF; the validator role's adapter
/// calls them and carries out the result):
///
/// - A proposal at height h *owes* a held PoE header when the validator has held it since
///   h − N or earlier (N = rent.inclusion_blocks), it is includable (its BPI's next in log-book
///   order) and it would apply on the parent state (its BPI can pay the rent and holds builder
///   stake): an entry nobody can include must not stop every proposal.
/// - A proposal that leaves out an owed header is refused (no PREPARE) and complained about,
///   unless it already carries max_block_poes entries. One complaint names at most 256 ids.
/// - Complaints count per proposal (height, round, proposer, block digest), one per validator
///   of the set; the (f+1)-th makes censorship evidence, once per proposal. Complaints about
///   proposals more than `complaint_book::horizon` blocks old are refused and forgotten.
/// - The proposer's auction (proposer_auction): the best bid not yet tried whose builder can
///   be asked wins; its builder must reveal a bundle that hashes to the bid's bundle hash in
///   time; a wrong bundle makes the next best win, no bundle in time makes withheld-bid
///   evidence for the block and the next best win; with no bid left the proposal has no
///   bundle.

#include "poe/chain/block.hpp"
#include "poe/chain/evidence.hpp"
#include "poe/chain/ledger.hpp"
#include "poe/chain/notary.hpp"

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <vector>

namespace poe::chain {

/// The owed headers (above) that `proposal` leaves out, ascending, at most 256; empty when it
/// includes them all or is full of PoE entries. `parent`: the state the proposal builds on.
std::vector<hash256> missing_owed(const inclusion_tracker& held, const ledger& parent,
                                  const rent_params& rent, const block& proposal);

class complaint_book {
public:
  static constexpr std::uint64_t horizon = 16;

  /// What taking a complaint did.
  struct outcome {
    bool counted = false; ///< new: from a validator not yet heard about this proposal
    std::optional<censorship_evidence> evidence; ///< the (f+1)-th: evidence, once per proposal
  };

  /// `signer`: the complainer (verify_complaint checked its signature and the caller that it
  /// is a validator of the set); `next_height`: the height being decided; `faulty`: f of the
  /// set; `offender_key`: the proposer's key (DER), nullopt when the ledger does not know it.
  outcome take(const exclusion_complaint& c, const node_id& signer, std::uint64_t next_height,
               std::size_t faulty, const std::optional<bytes>& offender_key);
  /// Forgets proposals more than `horizon` blocks below `next_height`.
  void forget_below(std::uint64_t next_height);
  std::size_t size() const { return by_proposal_.size(); }

private:
  using proposal = std::tuple<std::uint64_t, std::uint64_t, node_id, hash256>;
  std::map<proposal, std::map<node_id, exclusion_complaint>> by_proposal_;
  std::set<proposal> punished_;
};

/// The proposer's auction for one (height, round); the adapter asks the builders and waits.
class proposer_auction {
public:
  proposer_auction(std::uint64_t height, std::uint64_t round) : height_(height), round_(round) {}
  std::uint64_t height() const { return height_; }
  std::uint64_t round() const { return round_; }

  /// The bid whose builder is asked for its bundle next: the best of `bids` (for this height)
  /// not yet tried whose builder is `reachable` (the others count as tried). nullopt: propose
  /// without a bundle.
  std::optional<builder_bid> next(const auction* bids,
                                  const std::function<bool(const node_id&)>& reachable);
  /// The builder of the current bid (after `next`).
  const node_id& builder() const { return builder_; }
  /// Its revealed bundle: ok → propose with it; an error (the reason) → the builder counts as
  /// tried, call `next`.
  status revealed(const std::vector<bytes>& bundle);
  /// It did not reveal in time: the withheld-bid evidence for our block (encoded); the builder
  /// counts as tried, call `next`.
  bytes withheld(const std::string& chain_id);

private:
  std::uint64_t height_, round_;
  std::set<node_id> tried_;
  std::optional<builder_bid> current_;
  node_id builder_;
};

} // namespace poe::chain
