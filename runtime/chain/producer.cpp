#include "poe/chain/producer.hpp"

namespace poe::chain {

block build_block(const ledger& state, const chain_tip& tip, const std::vector<transaction>& txs,
                  const node_id& proposer, std::uint64_t round, std::uint64_t now_ms,
                  const std::vector<bytes>& evidence, verified_txs* known) {
  block b;
  auto& h = b.header;
  h.chain_id = state.chain_id();
  h.height = tip.height + 1;
  h.parent = tip.id;
  h.timestamp_ms = std::max(now_ms, tip.timestamp_ms + 1);
  h.proposer = proposer;
  h.round = round;
  ledger next = state;
  next.begin_block(h.height);
  for (auto& ev : evidence) {
    if (b.evidence.size() >= state.params().max_block_txs) break;
    if (auto e = check_evidence(next, ev, h.height)) {
      punish(next, *e);
      b.evidence.push_back(ev);
    }
  }
  for (auto& tx : txs) {
    if (!check_transaction(tx, state.chain_id(), state.params().max_tx_bytes, known)) continue;
    if (next.apply(tx, h.height, proposer)) b.transactions.push_back(encode(tx));
  }
  h.state_root = next.state_root();
  seal_roots(b);
  return b;
}

result<ledger> execute_block(const ledger& state, const block& b, verified_txs* known) {
  ledger next = state;
  auto& h = b.header;
  if (!b.poe_headers.empty())
    return fail(errc::verify_failed, "poe_headers: this chain version takes no PoE headers yet");
  next.begin_block(h.height);
  for (std::size_t i = 0; i < b.evidence.size(); ++i) {
    auto e = check_evidence(next, b.evidence[i], h.height);
    if (!e) return fail(errc::verify_failed, "evidence " + std::to_string(i) + ": " +
                                               e.err().message);
    punish(next, *e);
  }
  for (std::size_t i = 0; i < b.transactions.size(); ++i) {
    auto where = "transaction " + std::to_string(i) + ": ";
    auto tx = decode_transaction(b.transactions[i]);
    if (!tx) return fail(errc::verify_failed, where + "bad_encoding: " + tx.err().message);
    if (auto st = check_transaction(*tx, state.chain_id(), state.params().max_tx_bytes, known);
        !st)
      return fail(errc::verify_failed, where + st.text());
    if (auto st = next.apply(*tx, h.height, h.proposer); !st)
      return fail(errc::verify_failed, where + st.text());
  }
  if (next.state_root() != h.state_root)
    return fail(errc::verify_failed, "bad_state_root: the header says " + h.state_root.hex() +
                                       ", execution gives " + next.state_root().hex());
  return next;
}

status validate_block(const ledger& state, const chain_tip& tip, const block& b,
                      std::uint64_t now_ms, std::uint64_t max_drift_ms, verified_txs* known,
                      std::optional<ledger>* after) {
  block_context ctx{state.chain_id(), tip.height + 1, tip.id, tip.timestamp_ms, now_ms,
                    max_drift_ms};
  if (auto r = check_block(b, ctx); r != block_reject::none)
    return fail(errc::verify_failed, std::string(to_string(r)));
  auto next = execute_block(state, b, known);
  if (!next) return next.err();
  if (after) *after = std::move(*next);
  return {};
}

chain_tip tip_of(const block& b) {
  return chain_tip{b.header.height, block_id(b), b.header.timestamp_ms};
}

} // namespace poe::chain
