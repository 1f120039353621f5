#pragma once
/// @file
/// The validator's signing record: what it signed per (height, round, kind), written durably
/// *before* the signature leaves the process, so that after a crash and restart it can never
/// sign a different message for the same slot (double signing is slashable equivocation).
///
/// Pure (no RocksDB include): persistence goes through a `persist` callback that must return
/// only once the record is durable (the node writes it to its store with sync); `load` takes
/// the records back at start.
///
/// Record: key = height (u64) ‖ round (u64) ‖ kind (1); value = the content that identifies
/// the message: digest (32) ‖ prepared (1) ‖ prepared_round (u64) ‖ prepared_digest (32).

#include "poe/chain/qbft.hpp"

#include <functional>
#include <map>

namespace poe::chain {

class signing_guard {
public:
  using persist_fn = std::function<status(byte_view key, byte_view value)>;

  explicit signing_guard(persist_fn persist);

  /// Loads one stored record (at start). Malformed records are an error.
  status load(byte_view key, byte_view value);

  /// True if `m` may be signed: nothing was signed for its slot yet (then the record is
  /// persisted first), or exactly the same content was. False for a conflicting message or
  /// when persisting failed.
  bool allow(const qbft::message& m);

  /// Records for heights below `height` are no longer needed (finalized).
  void forget_below(std::uint64_t height);
  std::size_t size() const { return records_.size(); }

  static bytes key_of(const qbft::message& m);
  static bytes value_of(const qbft::message& m);

private:
  persist_fn persist_;
  std::map<bytes, bytes> records_;
};

} // namespace poe::chain
