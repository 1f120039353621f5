#include "poe/chain/producer.hpp"

#include <set>

namespace poe::chain {

namespace {

/// `entries` applied in order, then the rent distributed. With `kept` (building), entries that
/// fail are left out and the others collected there; without, the first failure is the error.
status apply_entries(ledger& next, const std::vector<bytes>& entries, const node_id& proposer,
                     std::vector<bytes>* kept) {
  amount rent;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto e = decode_poe_entry(entries[i]);
    result<amount> paid = e ? next.apply_entry(*e) : result<amount>(e.err());
    if (!paid) {
      if (kept) continue;
      return fail(errc::verify_failed, "poe entry " + std::to_string(i) + ": " + paid.err().message);
    }
    rent = *checked_add(rent, *paid); // Σ rent <= Σ balances: cannot overflow
    if (kept) kept->push_back(entries[i]);
  }
  next.distribute_rent(rent, proposer);
  return {};
}

} // namespace

block build_block(const ledger& state, const chain_tip& tip, const std::vector<transaction>& txs,
                  const node_id& proposer, std::uint64_t round, std::uint64_t now_ms,
                  const std::vector<bytes>& evidence, verified_txs* known,
                  const block_notary* notary) {
  auto attempt = [&](bool with_bundle, bool& bundle_ok) {
    block b;
    auto& h = b.header;
    h.chain_id = state.chain_id();
    h.height = tip.height + 1;
    h.parent = tip.id;
    h.timestamp_ms = std::max(now_ms, tip.timestamp_ms + 1);
    h.proposer = proposer;
    h.round = round;
    ledger next = state;
    next.begin_block(h.height, h.parent);
    std::vector<bytes> items = evidence;
    if (notary) {
      items.insert(items.end(), notary->withheld.begin(), notary->withheld.end());
      if (with_bundle && notary->settlement) items.push_back(*notary->settlement);
    }
    for (auto& ev : items) {
      if (b.evidence.size() >= state.params().max_block_txs) break;
      if (auto e = check_evidence(next, ev, h.height)) {
        punish(next, *e, proposer);
        b.evidence.push_back(ev);
      }
    }
    for (auto& tx : txs) {
      if (!check_transaction(tx, state.chain_id(), state.params().max_tx_bytes, known)) continue;
      if (next.apply(tx, h.height, proposer)) b.transactions.push_back(encode(tx));
    }
    bundle_ok = true;
    if (notary) {
      const auto limit = state.params().rent.max_block_poes;
      std::set<bytes> in_block;
      if (with_bundle && notary->settlement) {
        // The bundle must apply whole: it is what the builder's bid paid for.
        ledger probe = next;
        for (auto& raw : notary->bundle) {
          auto e = decode_poe_entry(raw);
          if (!e || !probe.apply_entry(*e) || in_block.size() >= limit) {
            bundle_ok = false;
            break;
          }
          in_block.insert(raw);
        }
        if (bundle_ok) b.poe_headers = notary->bundle;
      }
      for (auto& raw : notary->held) {
        if (b.poe_headers.size() >= limit) break;
        if (in_block.insert(raw).second) b.poe_headers.push_back(raw);
      }
      if (!bundle_ok) b.poe_headers.clear();
      // Entries that do not apply (after the bundle, which does) are left out here.
      std::vector<bytes> kept;
      (void)apply_entries(next, b.poe_headers, proposer, &kept);
      b.poe_headers = std::move(kept);
    }
    h.state_root = next.state_root();
    h.validators_root = validators_root(next.validator_set());
    seal_roots(b);
    return b;
  };
  bool bundle_ok = true;
  auto b = attempt(true, bundle_ok);
  if (!bundle_ok) b = attempt(false, bundle_ok); // without the bid settlement and its bundle
  return b;
}

result<ledger> execute_block(const ledger& state, const block& b, verified_txs* known) {
  ledger next = state;
  auto& h = b.header;
  if (b.poe_headers.size() > state.params().rent.max_block_poes)
    return fail(errc::verify_failed, "too_many_poes: " + std::to_string(b.poe_headers.size()) +
                                       " PoE entries, at most " +
                                       std::to_string(state.params().rent.max_block_poes));
  next.begin_block(h.height, h.parent);
  bool settled = false;
  for (std::size_t i = 0; i < b.evidence.size(); ++i) {
    auto e = check_evidence(next, b.evidence[i], h.height);
    if (!e) return fail(errc::verify_failed, "evidence " + std::to_string(i) + ": " +
                                               e.err().message);
    if (auto* s = std::get_if<bid_settlement>(&*e)) {
      if (settled) return fail(errc::verify_failed, "evidence " + std::to_string(i) +
                                                      ": a second bid settlement");
      settled = true;
      if (s->bundle_entries > b.poe_headers.size() ||
          bundle_hash({b.poe_headers.begin(), b.poe_headers.begin() + s->bundle_entries}) !=
            s->bid.bundle_hash)
        return fail(errc::verify_failed, "evidence " + std::to_string(i) +
                                           ": bad_bundle: the block's first " +
                                           std::to_string(s->bundle_entries) +
                                           " PoE entries are not the bid's bundle");
    }
    punish(next, *e, h.proposer);
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
  if (auto st = apply_entries(next, b.poe_headers, h.proposer, nullptr); !st) return st.err();
  if (next.state_root() != h.state_root)
    return fail(errc::verify_failed, "bad_state_root: the header says " + h.state_root.hex() +
                                       ", execution gives " + next.state_root().hex());
  if (auto vr = validators_root(next.validator_set()); vr != h.validators_root)
    return fail(errc::verify_failed, "bad_validators_root: the header says " + h.validators_root.hex() +
                                       ", execution gives " + vr.hex());
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
