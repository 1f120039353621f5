#include "poe/chain/block.hpp"

#include "poe/core/byte_io.hpp"
#include "poe/core/merkle.hpp"
#include "poe/core/sha256.hpp"

namespace poe::chain {

namespace {

void encode_header(bytes& out, const block_header& h) {
  out.push_back(static_cast<std::uint8_t>(h.chain_id.size()));
  append(out, as_bytes(h.chain_id));
  append_u64_be(out, h.height);
  append(out, h.parent.view());
  append_u64_be(out, h.timestamp_ms);
  append(out, h.proposer.view());
  append_u64_be(out, h.round);
  append(out, h.state_root.view());
  append(out, h.tx_root.view());
  append(out, h.poe_root.view());
  append(out, h.evidence_root.view());
  append(out, h.validators_root.view());
}

void encode_list(bytes& out, const std::vector<bytes>& xs) {
  append_u32_be(out, static_cast<std::uint32_t>(xs.size()));
  for (auto& x : xs)
    append_blob(out, x);
}

hash256 list_root(const std::vector<bytes>& xs) { return merkle::root_of(xs); }

} // namespace

bytes encode(const block& b) {
  bytes out;
  encode_header(out, b.header);
  encode_list(out, b.transactions);
  encode_list(out, b.poe_headers);
  encode_list(out, b.evidence);
  return out;
}

result<block> decode_block(byte_view data, const block_limits& limits) {
  if (data.size() > limits.max_bytes)
    return fail(errc::decode_error, "block of " + std::to_string(data.size()) +
                                      " bytes exceeds the limit of " +
                                      std::to_string(limits.max_bytes));
  byte_reader r{data};
  block b;
  auto& h = b.header;
  auto id = r.take(r.u8());
  h.chain_id.assign(id.begin(), id.end());
  h.height = r.u64();
  h.parent = r.fixed<hash256>();
  h.timestamp_ms = r.u64();
  h.proposer = r.fixed<node_id>();
  h.round = r.u64();
  h.state_root = r.fixed<hash256>();
  h.tx_root = r.fixed<hash256>();
  h.poe_root = r.fixed<hash256>();
  h.evidence_root = r.fixed<hash256>();
  h.validators_root = r.fixed<hash256>();
  for (auto* list : {&b.transactions, &b.poe_headers, &b.evidence}) {
    auto count = r.u32();
    if (!r.ok()) break;
    // Each item needs at least its 4-byte length: bound the count before allocating.
    if (count > limits.max_items || count > r.remaining() / 4)
      return fail(errc::decode_error, "block list of " + std::to_string(count) +
                                        " items does not fit");
    list->reserve(count);
    for (std::uint32_t i = 0; i < count && r.ok(); ++i)
      list->push_back(r.blob());
  }
  if (!r.ok()) return fail(errc::decode_error, "block truncated");
  if (!r.done())
    return fail(errc::decode_error,
                std::to_string(r.remaining()) + " trailing bytes after the block");
  return b;
}

hash256 block_id(const block& b) { return sha256::digest(encode(b)); }

void seal_roots(block& b) {
  b.header.tx_root = list_root(b.transactions);
  b.header.poe_root = list_root(b.poe_headers);
  b.header.evidence_root = list_root(b.evidence);
}

std::string_view to_string(block_reject r) {
  switch (r) {
    case block_reject::none: return "none";
    case block_reject::wrong_chain: return "wrong_chain";
    case block_reject::wrong_height: return "wrong_height";
    case block_reject::wrong_parent: return "wrong_parent";
    case block_reject::timestamp_not_increasing: return "timestamp_not_increasing";
    case block_reject::timestamp_in_future: return "timestamp_in_future";
    case block_reject::bad_tx_root: return "bad_tx_root";
    case block_reject::bad_poe_root: return "bad_poe_root";
    case block_reject::bad_evidence_root: return "bad_evidence_root";
  }
  return "unknown";
}

block_reject check_block(const block& b, const block_context& ctx) {
  auto& h = b.header;
  if (h.chain_id != ctx.chain_id) return block_reject::wrong_chain;
  if (h.height != ctx.height) return block_reject::wrong_height;
  if (h.parent != ctx.parent) return block_reject::wrong_parent;
  if (h.timestamp_ms <= ctx.parent_timestamp_ms) return block_reject::timestamp_not_increasing;
  if (h.timestamp_ms > ctx.now_ms + ctx.max_drift_ms) return block_reject::timestamp_in_future;
  if (h.tx_root != list_root(b.transactions)) return block_reject::bad_tx_root;
  if (h.poe_root != list_root(b.poe_headers)) return block_reject::bad_poe_root;
  if (h.evidence_root != list_root(b.evidence)) return block_reject::bad_evidence_root;
  return block_reject::none;
}

} // namespace poe::chain
