// Scenarios:
// - hash flooding (found in review): byte strings an attacker computed offline to share one
//   bucket under std::hash (fixed seed) do share it there, and spread under keyed_bytes_hash,
//   the hash of the parsed-key cache, the verified-signature cache and the mempool's ids
// - equal bytes hash equally (fixed_bytes and string_view alike); transparent lookup

#include "poe/core/keyed_hash.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <unordered_set>

using namespace poe;

namespace {

/// The largest bucket of `set`.
template <class Set>
std::size_t largest_bucket(const Set& set) {
  std::size_t most = 0;
  for (std::size_t b = 0; b < set.bucket_count(); ++b) most = std::max(most, set.bucket_size(b));
  return most;
}

} // namespace

TEST_CASE("keys computed to share a bucket under std::hash spread under the keyed hash") {
  // The attacker's side: the table's bucket count is predictable (here: reserved for 2048),
  // and std::hash<std::string_view> is the same function in every process.
  std::unordered_set<std::string> probe;
  probe.reserve(2048);
  const auto buckets = probe.bucket_count();
  std::vector<std::string> chosen;
  std::string key(44, 'k'); // an SPKI DER's length
  for (std::uint64_t i = 0; chosen.size() < 300; ++i) {
    std::memcpy(key.data(), &i, sizeof i);
    if (std::hash<std::string_view>{}(key) % buckets == 0) chosen.push_back(key);
  }
  std::unordered_set<std::string> fixed_seed;
  fixed_seed.reserve(2048);
  std::unordered_set<std::string, keyed_bytes_hash, std::equal_to<>> keyed;
  keyed.reserve(2048);
  REQUIRE(keyed.bucket_count() == buckets);
  for (auto& k : chosen) {
    fixed_seed.insert(k);
    keyed.insert(k);
  }
  CHECK(largest_bucket(fixed_seed) == chosen.size()); // every lookup walks all 300
  CHECK(largest_bucket(keyed) < 12);                  // ~0.15 per bucket on average
  CHECK(keyed.size() == chosen.size());
}

TEST_CASE("the keyed hash is a function of the bytes within a process") {
  hash256 a, b;
  a.data[0] = 1;
  b.data[0] = 1;
  CHECK(keyed_bytes_hash{}(a) == keyed_bytes_hash{}(b));
  b.data[31] = 1;
  CHECK(keyed_bytes_hash{}(a) != keyed_bytes_hash{}(b));
  std::string s = "some bytes";
  CHECK(keyed_bytes_hash{}(s) == keyed_bytes_hash{}(std::string_view(s)));
  CHECK(keyed_bytes_hash{}(a) == keyed_hash(a.data.data(), a.size));
  std::unordered_set<std::string, keyed_bytes_hash, std::equal_to<>> set{s};
  CHECK(set.find(std::string_view("some bytes")) != set.end()); // transparent
}
