#include "poe/core/merkle.hpp"

#include "poe/core/sha256.hpp"

namespace poe::merkle {

namespace {

constexpr std::uint8_t leaf_prefix = 0x00;
constexpr std::uint8_t node_prefix = 0x01;

hash256 node_with(sha256& h, const hash256& l, const hash256& r) {
  return h.update(node_prefix).update(l.view()).update(r.view()).finish();
}

// Replaces `level` by its parent level. An odd last node is promoted unchanged, which
// yields exactly RFC 6962's split at the largest power of two below n.
void reduce(sha256& h, std::vector<hash256>& level) {
  std::size_t out = 0;
  std::size_t i = 0;
  for (; i + 1 < level.size(); i += 2) level[out++] = node_with(h, level[i], level[i + 1]);
  if (i < level.size()) level[out++] = level[i];
  level.resize(out);
}

} // namespace

hash256 leaf_hash(byte_view data) {
  static constexpr std::uint8_t prefix[] = {leaf_prefix};
  return sha256::digest({byte_view{prefix}, data});
}

hash256 node_hash(const hash256& left, const hash256& right) {
  static constexpr std::uint8_t prefix[] = {node_prefix};
  return sha256::digest({byte_view{prefix}, left.view(), right.view()});
}

hash256 empty_root() { return sha256::digest(byte_view{}); }

hash256 root(std::span<const hash256> leaf_hashes) {
  if (leaf_hashes.empty()) return empty_root();
  sha256 h;
  std::vector<hash256> level(leaf_hashes.begin(), leaf_hashes.end());
  while (level.size() > 1) reduce(h, level);
  return level.front();
}

hash256 root_of(std::span<const bytes> leaves) {
  std::vector<hash256> hashes;
  hashes.reserve(leaves.size());
  for (const auto& d : leaves) hashes.push_back(leaf_hash(d));
  return root(hashes);
}

result<inclusion_proof> prove(std::span<const hash256> leaf_hashes, std::uint64_t index) {
  if (index >= leaf_hashes.size())
    return fail(errc::invalid_argument, "leaf index " + std::to_string(index) +
                                            " out of range for " +
                                            std::to_string(leaf_hashes.size()) + " leaves");
  inclusion_proof proof;
  proof.index = index;
  proof.tree_size = leaf_hashes.size();
  sha256 h;
  std::vector<hash256> level(leaf_hashes.begin(), leaf_hashes.end());
  auto pos = index;
  while (level.size() > 1) {
    auto sibling = pos ^ 1;
    if (sibling < level.size()) proof.path.push_back(level[sibling]);
    reduce(h, level);
    pos >>= 1;
  }
  return proof;
}

std::optional<hash256> root_from(const inclusion_proof& proof, const hash256& leaf) {
  if (proof.index >= proof.tree_size) return std::nullopt;
  if (proof.path.size() > 64) return std::nullopt;
  auto fn = proof.index;
  auto sn = proof.tree_size - 1;
  auto r = leaf;
  sha256 h;
  for (const auto& p : proof.path) {
    if (sn == 0) return std::nullopt;
    if ((fn & 1) != 0 || fn == sn) {
      r = node_with(h, p, r);
      if ((fn & 1) == 0)
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      r = node_with(h, r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return std::nullopt;
  return r;
}

bool verify(const inclusion_proof& proof, const hash256& leaf, const hash256& root) {
  auto r = root_from(proof, leaf);
  return r && *r == root;
}

} // namespace poe::merkle
