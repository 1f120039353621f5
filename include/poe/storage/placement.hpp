#pragma once
/// @file
/// Where replicas live, storage challenges and storage accounting (pure, deterministic).
///
/// Placement is rendezvous (highest-random-weight) hashing: node n's weight for a CID c is
/// SHA-256(c.to_bytes() ‖ n) read as a big-endian number; the k heaviest nodes hold c. Adding
/// or removing a node moves only the CIDs that node wins or held.
///
/// A storage challenge is (CID, nonce); the answer is SHA-256(nonce ‖ chunk), so only a node
/// holding the bytes can answer, and a fresh nonce defeats a precomputed table.

#include "poe/storage/cid.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace poe::storage {

/// The `k` members that hold `id`, heaviest first (all of them when fewer than k).
std::vector<node_id> place(const cid& id, const std::vector<node_id>& members, std::size_t k);

/// SHA-256(nonce ‖ chunk).
hash256 challenge_answer(const hash256& nonce, byte_view chunk);

enum class challenge_outcome : std::uint8_t { passed = 1, wrong_answer = 2, missed_deadline = 3 };
std::string_view to_string(challenge_outcome o);

/// Outcomes per challenged node: the reputation input (slashing evidence once the chain takes
/// storage evidence).
class challenge_record {
public:
  struct tally {
    std::uint64_t passed = 0, wrong = 0, missed = 0;
    friend bool operator==(const tally&, const tally&) = default;
  };
  void record(const node_id& node, challenge_outcome o);
  tally of(const node_id& node) const;
  /// Parts per million of challenges passed (1'000'000 with none yet).
  std::uint32_t score_ppm(const node_id& node) const;

private:
  std::map<node_id, tally> tallies_;
};

/// Bytes × time stored per owner, for rent: byte-milliseconds accumulate while bytes are held.
/// Time is an input (milliseconds, non-decreasing per owner); integers only (128-bit sums).
class usage_ledger {
public:
  using byte_ms = unsigned __int128;
  /// `owner` now stores `bytes` more (from `now_ms` on).
  void add(const std::string& owner, std::uint64_t bytes, std::uint64_t now_ms);
  /// `owner` stores `bytes` less; errc::invalid_argument if that is more than it holds.
  status remove(const std::string& owner, std::uint64_t bytes, std::uint64_t now_ms);
  std::uint64_t stored(const std::string& owner) const;
  /// Byte-milliseconds accumulated by `owner` up to `now_ms`.
  byte_ms usage(const std::string& owner, std::uint64_t now_ms) const;
  static std::string to_string(byte_ms v);

private:
  struct entry {
    std::uint64_t bytes = 0;
    std::uint64_t since_ms = 0;
    byte_ms accumulated = 0;
  };
  void advance(entry& e, std::uint64_t now_ms) const;
  std::map<std::string, entry> owners_;
};

} // namespace poe::storage
