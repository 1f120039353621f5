// Where an incoming consensus message goes (see consensus_inbox.hpp for the rules).
#include "poe/chain/consensus_inbox.hpp"

#include "poe/core/domain.hpp"

namespace poe::chain::qbft {

inbox::decision inbox::on_message(const message& m, std::size_t bytes, std::uint64_t next, bool running,
                                  const validator_set& vals, const std::string& chain_id) {
  decision d;
  if (m.height == next && running) {
    d.what = action::deliver; // qbft::state checks it in full
    return d;
  }
  // A late PROPOSAL, PREPARE or COMMIT of the height just decided is the ordinary tail of a
  // quorum race: its sender has most likely decided too. Answering each with the block sent
  // n blocks per block per node (two thirds of a node's bytes at 50 validators, poe-bench
  // scale); its signature is not even checked.
  if (m.height + 1 == next && m.type != kind::round_change) {
    d.why = "old";
    return d;
  }
  // Nothing below acts on a message whose sender is not proven.
  auto* key = vals.find(m.from);
  if (!key) {
    d.why = "unknown_sender";
    return d;
  }
  if (!verify_in_domain(*key, chain_id, domain_of(m.type), signing_payload(m), m.signature)) {
    d.why = "bad_signature";
    return d;
  }
  if (m.height < next) {
    // Its sender is stuck (a round change of a decided height, or a message of an older one):
    // it gets the finalized block, once per height and round it is in.
    d.why = "old";
    auto [it, fresh] = pushed_.try_emplace(m.from, m.height, m.round);
    if (fresh || it->second != std::pair{m.height, m.round}) {
      it->second = {m.height, m.round};
      d.send_block = m.height;
    }
    return d;
  }
  if (m.height > next + cfg_.max_ahead) {
    d.why = "too_far_ahead";
  } else {
    d.what = action::held;
  }
  if (m.height > next && asked_ != next) { // we are behind: ask the sender, once per height
    asked_ = next;
    d.ask_block = next;
  }
  if (d.what == action::held && !hold(m, bytes)) {
    d.what = action::dropped;
    d.why = "sender_full";
  }
  return d;
}

bool inbox::hold(const message& m, std::size_t bytes) {
  auto& [count, size] = per_sender_[m.from];
  if (count + 1 > cfg_.max_held_per_sender || size + bytes > cfg_.max_bytes_per_sender) {
    if (count == 0) per_sender_.erase(m.from);
    return false;
  }
  ++count;
  size += bytes;
  held_.emplace(m.height, entry{m, bytes});
  return true;
}

void inbox::forget(std::multimap<std::uint64_t, entry>::iterator it) {
  auto ps = per_sender_.find(it->second.m.from);
  if (ps != per_sender_.end()) {
    ps->second.first -= 1;
    ps->second.second -= it->second.bytes;
    if (ps->second.first == 0) per_sender_.erase(ps);
  }
  held_.erase(it);
}

std::vector<message> inbox::take(std::uint64_t height) {
  std::vector<message> out;
  while (!held_.empty() && held_.begin()->first <= height) {
    auto it = held_.begin();
    if (it->first == height) out.push_back(it->second.m); // multimap keeps arrival order
    forget(it);
  }
  return out;
}

} // namespace poe::chain::qbft
