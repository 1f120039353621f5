#include "poe/storage/placement.hpp"

#include "poe/core/sha256.hpp"

#include <algorithm>

namespace poe::storage {

std::vector<node_id> place(const cid& id, const std::vector<node_id>& members, std::size_t k) {
  auto key = id.to_bytes();
  std::vector<std::pair<hash256, node_id>> scored;
  scored.reserve(members.size());
  for (auto& n : members) {
    bytes in = key;
    append(in, n.view());
    scored.emplace_back(sha256::digest(in), n);
  }
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  scored.erase(std::unique(scored.begin(), scored.end(),
                           [](const auto& a, const auto& b) { return a.second == b.second; }),
               scored.end());
  std::vector<node_id> out;
  for (std::size_t i = 0; i < scored.size() && i < k; ++i)
    out.push_back(scored[i].second);
  return out;
}

hash256 challenge_answer(const hash256& nonce, byte_view chunk) {
  sha256 h;
  h.update(nonce.view());
  h.update(chunk);
  return h.finish();
}

std::string_view to_string(challenge_outcome o) {
  switch (o) {
    case challenge_outcome::passed: return "passed";
    case challenge_outcome::wrong_answer: return "wrong_answer";
    case challenge_outcome::missed_deadline: return "missed_deadline";
  }
  return "unknown";
}

void challenge_record::record(const node_id& node, challenge_outcome o) {
  auto& t = tallies_[node];
  (o == challenge_outcome::passed ? t.passed
   : o == challenge_outcome::wrong_answer ? t.wrong
                                          : t.missed) += 1;
}

challenge_record::tally challenge_record::of(const node_id& node) const {
  auto it = tallies_.find(node);
  return it == tallies_.end() ? tally{} : it->second;
}

std::uint32_t challenge_record::score_ppm(const node_id& node) const {
  auto t = of(node);
  auto total = t.passed + t.wrong + t.missed;
  if (total == 0) return 1'000'000;
  return static_cast<std::uint32_t>((static_cast<unsigned __int128>(t.passed) * 1'000'000) / total);
}

void usage_ledger::advance(entry& e, std::uint64_t now_ms) const {
  if (now_ms > e.since_ms) e.accumulated += static_cast<byte_ms>(e.bytes) * (now_ms - e.since_ms);
  e.since_ms = std::max(e.since_ms, now_ms);
}

void usage_ledger::add(const std::string& owner, std::uint64_t bytes, std::uint64_t now_ms) {
  auto [it, fresh] = owners_.try_emplace(owner);
  if (fresh) it->second.since_ms = now_ms;
  advance(it->second, now_ms);
  it->second.bytes += bytes;
}

status usage_ledger::remove(const std::string& owner, std::uint64_t bytes, std::uint64_t now_ms) {
  auto it = owners_.find(owner);
  if (it == owners_.end() || it->second.bytes < bytes)
    return fail(errc::invalid_argument, "owner '" + owner + "' does not store " +
                                          std::to_string(bytes) + " bytes");
  advance(it->second, now_ms);
  it->second.bytes -= bytes;
  return {};
}

std::uint64_t usage_ledger::stored(const std::string& owner) const {
  auto it = owners_.find(owner);
  return it == owners_.end() ? 0 : it->second.bytes;
}

usage_ledger::byte_ms usage_ledger::usage(const std::string& owner, std::uint64_t now_ms) const {
  auto it = owners_.find(owner);
  if (it == owners_.end()) return 0;
  auto e = it->second;
  advance(e, now_ms);
  return e.accumulated;
}

std::string usage_ledger::to_string(byte_ms v) {
  if (v == 0) return "0";
  std::string s;
  while (v > 0) {
    s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  return s;
}

} // namespace poe::storage
