#pragma once
/// @file
/// Merkle trees as RFC 6962 (Certificate Transparency) defines them:
///
///     MTH({})       = SHA-256()
///     leaf hash     = SHA-256(0x00 ‖ d)
///     interior hash = SHA-256(0x01 ‖ left ‖ right)
///     MTH(D[n])     = node(MTH(D[0:k]), MTH(D[k:n])), k = largest power of two < n
///
/// Inclusion proofs are RFC 6962 audit paths (leaf to root); verification follows
/// RFC 9162 §2.1.3.2.

#include "poe/core/types.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace poe::merkle {

/// SHA-256(0x00 ‖ data).
hash256 leaf_hash(byte_view data);
/// SHA-256(0x01 ‖ left ‖ right).
hash256 node_hash(const hash256& left, const hash256& right);
/// The root of the empty tree, SHA-256 of nothing.
hash256 empty_root();

/// Root over already-hashed leaves (each `leaf_hash(d)`).
hash256 root(std::span<const hash256> leaf_hashes);
/// Root over raw leaf data.
hash256 root_of(std::span<const bytes> leaves);

/// An audit path: the sibling hashes from the leaf up to the root.
struct inclusion_proof {
  std::uint64_t index = 0;
  std::uint64_t tree_size = 0;
  std::vector<hash256> path;
};

/// The audit path of leaf `index`; index >= size is an error.
result<inclusion_proof> prove(std::span<const hash256> leaf_hashes, std::uint64_t index);

/// The root an audit path leads to from `leaf`; nullopt when the path does not fit the tree
/// size (too long, too short, index out of range).
std::optional<hash256> root_from(const inclusion_proof& proof, const hash256& leaf);
/// True when `leaf` sits at `proof.index` of a tree of `proof.tree_size` leaves with `root`.
bool verify(const inclusion_proof& proof, const hash256& leaf, const hash256& root);

} // namespace poe::merkle
