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

#include "poe/chain/block.hpp"
#include "poe/chain/evidence.hpp"
#include "poe/chain/ledger.hpp"
#include "poe/chain/notary.hpp"

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

} // namespace poe::chain
