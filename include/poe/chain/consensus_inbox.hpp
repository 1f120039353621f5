#pragma once
/// @file
/// Where a validator's incoming consensus message goes before `qbft::state` sees it: delivered
/// now, held for a height about to start, or dropped; and whether it shows that this validator
/// is behind (ask the sender for the block) or the sender is (send it ours). Pure: no CAF, no
/// store; the adapter carries out the decision.
///
/// Rules:
/// - A message of the height in progress goes to `qbft::state`, which checks it fully.
/// - Any other message is checked before it is kept or acted on: its sender is in the
///   validator set and its signature verifies. An unsigned or forged message fills no buffer
///   and makes this validator send nothing to anyone; the sender named in it is proven.
/// - Messages of the next height that arrive between a commit and that height's start, and of
///   up to `max_ahead` heights later, are held; each sender holds at most `max_held_per_sender`
///   messages and `max_bytes_per_sender` bytes (beyond, its new ones are dropped: a share is
///   far above what honest rounds need): one validator cannot crowd out the others or grow
///   memory without bound.
/// - A message of a later height means this validator is behind: it asks that (proven) sender
///   for the missing block, once per height.
/// - A ROUND-CHANGE of the height just decided, or any message of an earlier height, means its
///   sender is behind: it is sent the finalized block of that height (the adapter reads it from
///   the store), once per sender, height and round. A late PROPOSAL, PREPARE or COMMIT of the
///   height just decided is dropped unchecked: its sender has most likely decided too (a node
///   that has not times out into a ROUND-CHANGE, and asks once it sees the next height).
/// - `take(height)` hands over the held messages of a height when it starts and forgets those
///   of earlier heights.
///
/// The set a held message is checked against is the current one (the one of the next height);
/// a validator that joins at a later height has its messages for that height dropped here and
/// re-sent by its round changes.

#include "poe/chain/qbft.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

namespace poe::chain::qbft {

struct inbox_config {
  std::uint64_t max_ahead = 4;
  std::size_t max_held_per_sender = 2'000;
  std::size_t max_bytes_per_sender = 64u << 20;
};

class inbox {
public:
  enum class action : std::uint8_t {
    deliver, ///< to qbft::state now
    held,    ///< kept for its height
    dropped, ///< see `why`
  };
  struct decision {
    action what = action::dropped;
    std::string_view why; ///< when dropped: "unknown_sender", "bad_signature", "too_far_ahead", "sender_full", "old"
    std::optional<std::uint64_t> ask_block;  ///< ask the sender for the block of this height
    std::optional<std::uint64_t> send_block; ///< send the sender our block of this height
  };

  explicit inbox(inbox_config cfg = {}) : cfg_(cfg) {}

  /// `m` (its encoded size `bytes`) arrived. `next`: the height after the tip; `running`:
  /// whether consensus on `next` has started; `vals`: the current validator set.
  decision on_message(const message& m, std::size_t bytes, std::uint64_t next, bool running,
                      const validator_set& vals, const std::string& chain_id);

  /// The messages held for `height` (in arrival order); those of earlier heights are dropped.
  std::vector<message> take(std::uint64_t height);

  std::size_t size() const { return held_.size(); }

private:
  struct entry {
    message m;
    std::size_t bytes = 0;
  };
  bool hold(const message& m, std::size_t bytes);
  void forget(std::multimap<std::uint64_t, entry>::iterator it);

  inbox_config cfg_;
  std::multimap<std::uint64_t, entry> held_; ///< by height
  /// The (height, round) each sender behind was last sent a block for (one entry per validator).
  std::map<node_id, std::pair<std::uint64_t, std::uint64_t>> pushed_;
  std::map<node_id, std::pair<std::size_t, std::size_t>> per_sender_; ///< (messages, bytes)
  std::uint64_t asked_ = 0; ///< the last height asked for
};

} // namespace poe::chain::qbft
