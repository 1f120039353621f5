#include "poe/chain/qbft.hpp"

#include "poe/core/byte_io.hpp"
#include "poe/core/domain.hpp"
#include "poe/core/sha256.hpp"

#include <algorithm>

namespace poe::chain::qbft {

std::string_view to_string(kind k) {
  switch (k) {
    case kind::proposal: return "proposal";
    case kind::prepare: return "prepare";
    case kind::commit: return "commit";
    case kind::round_change: return "round_change";
  }
  return "unknown";
}

std::string_view to_string(reject r) {
  switch (r) {
    case reject::none: return "none";
    case reject::wrong_height: return "wrong_height";
    case reject::unknown_sender: return "unknown_sender";
    case reject::bad_signature: return "bad_signature";
    case reject::bad_seal: return "bad_seal";
    case reject::wrong_proposer: return "wrong_proposer";
    case reject::bad_block: return "bad_block";
    case reject::unjustified: return "unjustified";
    case reject::stale_round: return "stale_round";
    case reject::duplicate: return "duplicate";
  }
  return "unknown";
}

msg_type domain_of(kind k) {
  switch (k) {
    case kind::proposal: return msg_type::proposal;
    case kind::prepare: return msg_type::prepare;
    case kind::commit: return msg_type::commit;
    case kind::round_change: return msg_type::round_change;
  }
  return msg_type::prepare;
}

namespace {

hash256 digest_of(byte_view data) {
  return sha256::digest(data);
}

/// Nested justifications are bound by the hash of their own signed bytes.
hash256 bind(const message& m) {
  auto b = signing_payload(m);
  append(b, m.signature);
  return digest_of(b);
}

} // namespace

bytes signing_payload(const message& m) {
  bytes out;
  out.push_back(static_cast<std::uint8_t>(m.type));
  append_u64_be(out, m.height);
  append_u64_be(out, m.round);
  append(out, m.digest.view());
  append(out, m.from.view());
  switch (m.type) {
    case kind::commit:
      append_u64_be(out, m.commit_seal.size());
      append(out, m.commit_seal);
      break;
    case kind::round_change:
      out.push_back(m.prepared ? 1 : 0);
      append_u64_be(out, m.prepared_round);
      append(out, m.prepared_digest.view());
      append_u64_be(out, m.prepares.size());
      for (auto& p : m.prepares)
        append(out, bind(p).view());
      break;
    case kind::proposal:
      // The block is bound through `digest` (its SHA-256, checked on receipt).
      append_u64_be(out, m.round_changes.size());
      for (auto& rc : m.round_changes)
        append(out, bind(rc).view());
      append_u64_be(out, m.prepares.size());
      for (auto& p : m.prepares)
        append(out, bind(p).view());
      break;
    case kind::prepare:
      break;
  }
  return out;
}

namespace {

void encode_into(bytes& out, const message& m) {
  out.push_back(static_cast<std::uint8_t>(m.type));
  append_u64_be(out, m.height);
  append_u64_be(out, m.round);
  append(out, m.digest.view());
  append(out, m.from.view());
  out.push_back(m.prepared ? 1 : 0);
  append_u64_be(out, m.prepared_round);
  append(out, m.prepared_digest.view());
  append_blob(out, m.commit_seal);
  append_blob(out, m.block);
  for (auto* list : {&m.round_changes, &m.prepares}) {
    append_u32_be(out, static_cast<std::uint32_t>(list->size()));
    for (auto& x : *list)
      append_blob(out, encode(x));
  }
  append_blob(out, m.signature);
}

bool decode_from(byte_reader& c, message& m, int depth) {
  auto k = c.u8();
  if (k < 1 || k > 4) return false;
  m.type = static_cast<kind>(k);
  m.height = c.u64();
  m.round = c.u64();
  m.digest = c.fixed<hash256>();
  m.from = c.fixed<node_id>();
  auto prepared = c.u8();
  if (prepared > 1) return false;
  m.prepared = prepared == 1;
  m.prepared_round = c.u64();
  m.prepared_digest = c.fixed<hash256>();
  m.commit_seal = c.blob();
  m.block = c.blob();
  for (auto* list : {&m.round_changes, &m.prepares}) {
    auto n = c.u32();
    if (!c.ok()) return false;
    if (n > 0 && depth >= 2) return false; // justifications nest at most two levels
    if (n > c.remaining() / 4) return false;
    for (std::uint32_t i = 0; i < n && c.ok(); ++i) {
      auto inner = c.blob();
      byte_reader ic{inner};
      message x;
      if (!c.ok() || !decode_from(ic, x, depth + 1) || !ic.done()) return false;
      list->push_back(std::move(x));
    }
  }
  m.signature = c.blob();
  return c.ok();
}

} // namespace

bytes encode(const message& m) {
  bytes out;
  encode_into(out, m);
  return out;
}

result<message> decode_message(byte_view data, std::size_t max_bytes) {
  if (data.size() > max_bytes)
    return fail(errc::decode_error, "consensus message of " + std::to_string(data.size()) +
                                      " bytes exceeds " + std::to_string(max_bytes));
  byte_reader c{data};
  message m;
  if (!decode_from(c, m, 0)) return fail(errc::decode_error, "malformed consensus message");
  if (!c.done())
    return fail(errc::decode_error, "trailing bytes after the consensus message");
  return m;
}

bytes seal_payload(std::uint64_t height, std::uint64_t round, const hash256& digest) {
  bytes out;
  append_u64_be(out, height);
  append_u64_be(out, round);
  append(out, digest.view());
  return out;
}

bool verify_seal(const public_key& key, const std::string& chain_id, std::uint64_t height,
                 std::uint64_t round, const hash256& digest, byte_view seal) {
  return verify_in_domain(key, chain_id, msg_type::commit_seal,
                          seal_payload(height, round, digest), seal);
}

bool verify_decision(const validator_set& vals, const std::string& chain_id, const decision& d) {
  if (digest_of(d.block) != d.digest) return false;
  std::set<node_id> signers;
  for (auto& [who, seal] : d.seals) {
    auto* key = vals.find(who);
    if (key && verify_seal(*key, chain_id, d.height, d.round, d.digest, seal)) signers.insert(who);
  }
  return signers.size() >= vals.quorum();
}

validator_set::validator_set(std::vector<public_key> keys) : keys_(std::move(keys)) {
  std::sort(keys_.begin(), keys_.end(),
            [](const public_key& a, const public_key& b) { return a.id() < b.id(); });
  keys_.erase(std::unique(keys_.begin(), keys_.end(),
                          [](const public_key& a, const public_key& b) { return a.id() == b.id(); }),
              keys_.end());
}

const public_key* validator_set::find(const node_id& id) const {
  auto i = std::lower_bound(keys_.begin(), keys_.end(), id,
                            [](const public_key& k, const node_id& x) { return k.id() < x; });
  return i != keys_.end() && i->id() == id ? &*i : nullptr;
}

const node_id& validator_set::proposer(std::uint64_t height, std::uint64_t round) const {
  return keys_[(height + round) % keys_.size()].id();
}

state::state(config cfg, private_key key, std::function<bool(byte_view)> valid_block)
  : cfg_(std::move(cfg)), key_(std::move(key)), valid_block_(std::move(valid_block)) {}

duration state::timeout_of(std::uint64_t round) const {
  auto d = cfg_.round_timeout;
  for (std::uint64_t i = 0; i < round && d < cfg_.round_timeout_max; ++i)
    d *= 2;
  return std::min(d, cfg_.round_timeout_max);
}

message state::make(kind k, std::uint64_t round, const hash256& digest) const {
  message m;
  m.type = k;
  m.height = height_;
  m.round = round;
  m.digest = digest;
  m.from = key_.id();
  return m;
}

void state::sign(message& m) const {
  if (m.type == kind::commit)
    m.commit_seal = sign_in_domain(key_, cfg_.chain_id, msg_type::commit_seal,
                                   seal_payload(m.height, m.round, m.digest));
  m.signature = sign_in_domain(key_, cfg_.chain_id, domain_of(m.type), signing_payload(m));
}

void state::send(message m, effects& out) {
  if (!vals_.find(id())) return; // not (or no longer) a validator: follow, never sign
  if (cfg_.before_sign && !cfg_.before_sign(m)) return; // the signing record says no
  sign(m);
  effects local;
  record(m, local); // our own message counts at once
  out.broadcast.push_back(std::move(m));
}

// -- verification -----------------------------------------------------------------------------

namespace {

/// A nested message (justification) is checked on its own: signer, signature, kind, height.
bool nested_ok(const validator_set& vals, const std::string& chain, const message& m, kind k,
               std::uint64_t height) {
  if (m.type != k || m.height != height) return false;
  auto* key = vals.find(m.from);
  if (!key) return false;
  return verify_in_domain(*key, chain, domain_of(k), signing_payload(m), m.signature);
}

} // namespace

bool state::valid_certificate(const std::vector<message>& prepares, std::uint64_t round,
                              const hash256& digest) const {
  std::set<node_id> from;
  for (auto& p : prepares)
    if (p.round == round && p.digest == digest &&
        nested_ok(vals_, cfg_.chain_id, p, kind::prepare, height_))
      from.insert(p.from);
  return from.size() >= vals_.quorum();
}

bool state::justified_round_changes(const std::vector<message>& rcs, std::uint64_t round,
                                    const std::vector<message>& prepares,
                                    std::optional<hash256>* value) const {
  std::set<node_id> from;
  const message* highest = nullptr;
  for (auto& rc : rcs) {
    if (rc.round != round || !nested_ok(vals_, cfg_.chain_id, rc, kind::round_change, height_))
      continue;
    if (!from.insert(rc.from).second) continue;
    if (rc.prepared && (!highest || rc.prepared_round > highest->prepared_round)) highest = &rc;
  }
  if (from.size() < vals_.quorum()) return false;
  if (!highest) {
    *value = std::nullopt;
    return true;
  }
  *value = highest->prepared_digest;
  return valid_certificate(prepares, highest->prepared_round, highest->prepared_digest);
}

bool state::justified_proposal(const message& m) const {
  if (m.round == 0) return true;
  std::optional<hash256> value;
  if (!justified_round_changes(m.round_changes, m.round, m.prepares, &value)) return false;
  return !value || *value == m.digest;
}

reject state::verify(const message& m) const {
  if (m.height != height_) return reject::wrong_height;
  auto* key = vals_.find(m.from);
  if (!key) return reject::unknown_sender;
  if (!verify_in_domain(*key, cfg_.chain_id, domain_of(m.type), signing_payload(m), m.signature))
    return reject::bad_signature;
  switch (m.type) {
    case kind::commit:
      if (!verify_seal(*key, cfg_.chain_id, m.height, m.round, m.digest, m.commit_seal))
        return reject::bad_seal;
      break;
    case kind::proposal:
      if (m.from != vals_.proposer(m.height, m.round)) return reject::wrong_proposer;
      if (m.block.size() > cfg_.max_block_bytes || digest_of(m.block) != m.digest ||
          !valid_block_(m.block))
        return reject::bad_block;
      if (!justified_proposal(m)) return reject::unjustified;
      break;
    case kind::round_change:
      if (m.prepared && (m.prepared_round >= m.round ||
                         !valid_certificate(m.prepares, m.prepared_round, m.prepared_digest)))
        return reject::unjustified;
      // A prepared round change carries the prepared block, so the next proposer can
      // re-propose it even if it never saw the original proposal.
      if (m.prepared && (m.block.size() > cfg_.max_block_bytes ||
                         digest_of(m.block) != m.prepared_digest))
        return reject::bad_block;
      break;
    case kind::prepare:
      break;
  }
  return reject::none;
}

// -- state transitions --------------------------------------------------------------------------

void state::record(const message& m, effects& out) {
  auto& slot = seen_[{m.type, m.round}];
  auto i = slot.find(m.from);
  if (i == slot.end()) {
    slot.emplace(m.from, m);
    if (m.type == kind::proposal) blocks_.emplace(m.digest, m.block);
    if (m.type == kind::round_change && m.prepared) blocks_.emplace(m.prepared_digest, m.block);
    return;
  }
  auto& first = i->second;
  bool same = first.digest == m.digest && first.prepared == m.prepared &&
              first.prepared_round == m.prepared_round &&
              first.prepared_digest == m.prepared_digest;
  if (same) {
    out.rejected = reject::duplicate;
    return;
  }
  out.evidence.push_back(equivocation{first, m});
}

effects state::start(std::uint64_t height, validator_set validators) {
  vals_ = std::move(validators);
  height_ = height;
  round_ = 0;
  decided_ = false;
  proposed_ = sent_prepare_ = sent_commit_ = false;
  accepted_.reset();
  accepted_block_.clear();
  blocks_.clear();
  prepared_ = false;
  prepared_cert_.clear();
  seen_.clear();
  round_change_sent_.clear();
  behind_told_.clear();
  proposed_rounds_.clear();
  effects out;
  out.set_timer = true;
  out.timer_round = 0;
  out.timer = timeout_of(0);
  out.need_block = vals_.proposer(height_, 0) == id();
  return out;
}

void state::enter_round(std::uint64_t r, effects& out) {
  round_ = r;
  accepted_.reset();
  accepted_block_.clear();
  proposed_ = sent_prepare_ = sent_commit_ = false;
  out.set_timer = true;
  out.timer_round = r;
  out.timer = timeout_of(r);
  if (round_change_sent_.insert(r).second) {
    auto m = make(kind::round_change, r, hash256{});
    if (prepared_) {
      m.prepared = true;
      m.prepared_round = prepared_round_;
      m.prepared_digest = prepared_digest_;
      m.prepares = prepared_cert_;
      m.block = blocks_[prepared_digest_];
    }
    send(std::move(m), out);
  }
}

effects state::on_timeout(std::uint64_t round) {
  effects out;
  if (decided_ || round != round_) return out;
  enter_round(round_ + 1, out);
  try_progress(out);
  return out;
}

effects state::propose(bytes block) {
  effects out;
  if (decided_ || proposed_ || vals_.proposer(height_, round_) != id()) return out;
  if (block.size() > cfg_.max_block_bytes) return out;
  auto m = make(kind::proposal, round_, digest_of(block));
  if (round_ > 0) {
    // Justify with the round changes of this round; only valid when none carries a prepared
    // value (otherwise try_progress re-proposes that block itself).
    for (auto& [_, rc] : seen_[{kind::round_change, round_}])
      m.round_changes.push_back(rc);
    std::optional<hash256> value;
    if (!justified_round_changes(m.round_changes, round_, {}, &value) || value) return out;
  }
  m.block = std::move(block);
  proposed_ = true;
  proposed_rounds_.insert(round_);
  send(std::move(m), out);
  try_progress(out);
  return out;
}

effects state::on_message(const message& m) {
  effects out;
  if (m.height != height_) {
    out.rejected = reject::wrong_height;
    return out;
  }
  if (auto r = verify(m); r != reject::none) {
    out.rejected = r;
    return out;
  }
  record(m, out);
  // A validator in an earlier round of this height (back after an outage, its round timers
  // fresh while ours doubled): our ROUND-CHANGE again, once per sender and round, so that f+1
  // of them make it jump to our round now instead of when our long timer fires.
  if (m.type == kind::round_change && m.round < round_ && !decided_ &&
      behind_told_.insert({m.from, m.round}).second) {
    auto& mine = seen_[{kind::round_change, round_}];
    if (auto i = mine.find(id()); i != mine.end()) out.broadcast.push_back(i->second);
  }
  // A justified proposal proves its round changes: they count towards round jumps too.
  if (m.type == kind::proposal)
    for (auto& rc : m.round_changes) {
      effects ignored;
      record(rc, ignored);
    }
  if (!decided_) try_progress(out);
  return out;
}

void state::try_progress(effects& out) {
  for (bool changed = true; changed && !decided_;) {
    changed = false;
    // 1. f+1 round changes for higher rounds: jump to the smallest of those rounds.
    {
      std::map<node_id, std::uint64_t> min_round;
      for (auto& [key, msgs] : seen_)
        if (key.first == kind::round_change && key.second > round_)
          for (auto& [from, _] : msgs) {
            auto [it, fresh] = min_round.emplace(from, key.second);
            if (!fresh) it->second = std::min(it->second, key.second);
          }
      if (min_round.size() >= vals_.faulty() + 1) {
        std::uint64_t r = UINT64_MAX;
        for (auto& [_, x] : min_round)
          r = std::min(r, x);
        enter_round(r, out);
        changed = true;
        continue;
      }
    }
    // 2. The proposal of the current round: accept it and prepare.
    if (!accepted_) {
      auto& props = seen_[{kind::proposal, round_}];
      auto i = props.find(vals_.proposer(height_, round_));
      if (i != props.end()) {
        accepted_ = i->second.digest;
        accepted_block_ = i->second.block;
        if (!sent_prepare_) {
          sent_prepare_ = true;
          send(make(kind::prepare, round_, *accepted_), out);
        }
        changed = true;
      }
    }
    // 3. A quorum of prepares for the accepted block: prepared; commit.
    if (accepted_ && !sent_commit_) {
      std::vector<message> cert;
      for (auto& [_, p] : seen_[{kind::prepare, round_}])
        if (p.digest == *accepted_) cert.push_back(p);
      if (cert.size() >= vals_.quorum()) {
        prepared_ = true;
        prepared_round_ = round_;
        prepared_digest_ = *accepted_;
        prepared_cert_ = std::move(cert);
        sent_commit_ = true;
        send(make(kind::commit, round_, *accepted_), out);
        changed = true;
      }
    }
    // 4. A quorum of commits in any round for a block we know: decide.
    for (auto& [key, msgs] : seen_) {
      if (key.first != kind::commit) continue;
      std::map<hash256, std::vector<const message*>> by_digest;
      for (auto& [_, c] : msgs)
        by_digest[c.digest].push_back(&c);
      for (auto& [digest, cs] : by_digest) {
        auto b = blocks_.find(digest);
        if (cs.size() < vals_.quorum() || b == blocks_.end()) continue;
        decision d{height_, key.second, digest, b->second, {}};
        for (auto* c : cs)
          d.seals.emplace_back(c->from, c->commit_seal);
        decided_ = true;
        out.decided = std::move(d);
        out.set_timer = false;
        return;
      }
    }
    // 5. Proposer of a later round with a quorum of round changes: re-propose.
    if (round_ > 0 && !proposed_ && vals_.proposer(height_, round_) == id()) {
      std::vector<message> rcs;
      for (auto& [_, rc] : seen_[{kind::round_change, round_}])
        rcs.push_back(rc);
      const message* highest = nullptr;
      for (auto& rc : rcs)
        if (rc.prepared && (!highest || rc.prepared_round > highest->prepared_round))
          highest = &rc;
      if (rcs.size() >= vals_.quorum()) {
        if (!highest) {
          out.need_block = true; // a fresh block: propose() justifies it
        } else if (auto b = blocks_.find(highest->prepared_digest); b != blocks_.end()) {
          auto m = make(kind::proposal, round_, highest->prepared_digest);
          m.block = b->second;
          m.prepares = highest->prepares;
          m.round_changes = rcs;
          proposed_ = true;
          send(std::move(m), out);
          changed = true;
        }
      }
    }
  }
}

bytes encode(const decision& d) {
  bytes out;
  append_u64_be(out, d.round);
  append_u32_be(out, static_cast<std::uint32_t>(d.seals.size()));
  for (auto& [who, seal] : d.seals) {
    append(out, who.view());
    append_blob(out, seal);
  }
  append_blob(out, d.block);
  return out;
}

result<decision> decode_decision(byte_view in, std::uint64_t height) {
  byte_reader r{in};
  decision d;
  d.height = height;
  d.round = r.u64();
  auto n = r.u32();
  if (!r.ok() || n > r.remaining() / 36)
    return fail(errc::decode_error, "finalized block: bad seal count");
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
    auto who = r.fixed<node_id>();
    d.seals.emplace_back(who, r.blob());
  }
  d.block = r.blob();
  if (!r.ok()) return fail(errc::decode_error, "finalized block: truncated");
  if (!r.done()) return fail(errc::decode_error, "finalized block: trailing bytes");
  d.digest = sha256::digest(d.block);
  return d;
}

} // namespace poe::chain::qbft
