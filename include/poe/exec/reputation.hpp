#pragma once
/// @file
/// Executor reputation in parts per million, moved both ways by what the verifier sees. Integer
/// arithmetic only; the same events in the same order give the same scores everywhere.
///
///   start             500'000
///   verified          + 1/20 of the distance to 1'000'000 (floor)
///   timed out         − 1/10 (floor of the score / 10)
///   failed a check    − 1/2 (a bad PoE, outputs that fail the cheap checks)
///   proven fraud      0 (and stays 0 until the executor re-registers under a new key)

#include "poe/core/types.hpp"

#include <cstdint>
#include <map>

namespace poe::exec {

enum class rep_event : std::uint8_t { verified = 1, timed_out = 2, failed_check = 3, fraud = 4 };

class reputation_book {
public:
  static constexpr std::uint32_t initial = 500'000;
  static constexpr std::uint32_t max = 1'000'000;

  std::uint32_t of(const node_id& executor) const;
  /// Applies `e` and returns the new score.
  std::uint32_t record(const node_id& executor, rep_event e);
  bool is_banned(const node_id& executor) const { return banned_.count(executor) > 0; }
  /// Restores a persisted entry (`score` 0..max; `banned` after proven fraud).
  void restore(const node_id& executor, std::uint32_t score, bool banned);

private:
  std::map<node_id, std::uint32_t> scores_;
  std::map<node_id, bool> banned_;
};

} // namespace poe::exec
