#pragma once
/// @file
/// Blocks: header, body and their canonical encoding (no CAF include). QBFT decides on the
/// encoded block; its SHA-256 is the block's id, which the next header names as its parent.
///
/// Encoding (all integers big-endian):
///
///     header  = u8 len ‖ chain_id ‖ u64 height ‖ parent (32) ‖ u64 timestamp_ms ‖
///               proposer (32) ‖ u64 round ‖ state_root (32) ‖ tx_root (32) ‖
///               poe_root (32) ‖ evidence_root (32) ‖ validators_root (32)
///     block   = header ‖ list(transactions) ‖ list(poe_headers) ‖ list(evidence)
///     list(x) = u32 count ‖ (u32 len ‖ bytes) per item
///
/// Each root is the RFC 6962 Merkle root over that list's items (the empty root for none);
/// `validators_root` commits to the validator set that seals the next block, as executing this
/// one leaves it (ledger.hpp, `validators_root`), so a light client follows set changes from
/// sealed headers alone.
/// `decode_block` accepts only canonical bytes within the limits: nothing trailing, counts and
/// lengths bounded before anything is allocated.

#include "poe/core/error.hpp"
#include "poe/core/types.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace poe::chain {

struct block_header {
  std::string chain_id;
  std::uint64_t height = 0;
  hash256 parent;
  std::uint64_t timestamp_ms = 0;
  node_id proposer;
  std::uint64_t round = 0;
  hash256 state_root;
  hash256 tx_root;
  hash256 poe_root;
  hash256 evidence_root;
  hash256 validators_root; ///< the next height's validator set (ledger.hpp, validators_root)
  friend bool operator==(const block_header&, const block_header&) = default;
};

struct block {
  block_header header;
  std::vector<bytes> transactions;
  std::vector<bytes> poe_headers;
  std::vector<bytes> evidence;
  friend bool operator==(const block&, const block&) = default;
};

struct block_limits {
  std::size_t max_bytes = 4 << 20;
  std::size_t max_items = 100'000; ///< per list
};

bytes encode(const block& b);
result<block> decode_block(byte_view data, const block_limits& limits = {});
/// SHA-256 of the encoded block: its id, QBFT's digest, the next block's parent.
hash256 block_id(const block& b);
/// Fills the three body roots of `b.header` from its lists.
void seal_roots(block& b);

/// What a block is checked against (contextual validation).
struct block_context {
  std::string chain_id;
  std::uint64_t height = 0;        ///< the height expected
  hash256 parent;                  ///< id of the last finalized block
  std::uint64_t parent_timestamp_ms = 0;
  std::uint64_t now_ms = 0;        ///< the validator's clock (an input)
  std::uint64_t max_drift_ms = 2000;
};

enum class block_reject {
  none,
  wrong_chain,
  wrong_height,
  wrong_parent,
  timestamp_not_increasing,
  timestamp_in_future,
  bad_tx_root,
  bad_poe_root,
  bad_evidence_root,
};
std::string_view to_string(block_reject r);

/// Checks header against context and the body roots against the body. The state root is
/// checked by whoever executes the transactions (the ledger).
block_reject check_block(const block& b, const block_context& ctx);

} // namespace poe::chain
