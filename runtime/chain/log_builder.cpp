#include "poe/chain/log_builder.hpp"
#include "poe/chain/playback.hpp"

#include "poe/chain/block.hpp"
#include "poe/chain/ledger.hpp"
#include "poe/chain/qbft.hpp"
#include "poe/core/byte_io.hpp"
#include "poe/core/domain.hpp"
#include "poe/core/poe_v1.hpp"
#include "poe/core/sha256.hpp"
#include "poe/wire/codec.hpp"

#include <algorithm>
#include <cstring>
#include <set>

namespace poe::chain {

log_builder::log_builder(private_key key, std::string chain_id, rent_params rent,
                         builder_config cfg, log_book book)
    : key_(std::move(key)), chain_id_(std::move(chain_id)), rent_(rent), cfg_(cfg),
      book_(std::move(book)) {
  cfg_.max_receipts = std::max<std::uint32_t>(1, cfg_.max_receipts);
}

bool log_builder::add(receipt_in r) {
  if (!seen_.insert(r.request).second) return false;
  pending_.push_back(std::move(r));
  return true;
}

std::optional<sealed_log_block> log_builder::poll(std::uint64_t now_ms) {
  if (pending_.empty()) return std::nullopt;
  if (pending_.size() >= cfg_.max_receipts) return seal(cfg_.max_receipts, now_ms);
  auto oldest = pending_.front().verified_ms;
  if (now_ms >= oldest && now_ms - oldest >= cfg_.max_age_ms) return seal(pending_.size(), now_ms);
  return std::nullopt;
}

std::optional<sealed_log_block> log_builder::flush(std::uint64_t now_ms) {
  if (pending_.empty()) return std::nullopt;
  return seal(std::min<std::size_t>(pending_.size(), cfg_.max_receipts), now_ms);
}

sealed_log_block log_builder::seal(std::size_t n, std::uint64_t now_ms) {
  sealed_log_block out;
  auto& b = out.entry.book_block;
  b.bpi = key_.id();
  b.sequence = book_.size();
  b.prev = book_.last();
  b.first_ms = ~std::uint64_t{0};
  for (std::size_t i = 0; i < n; ++i) {
    auto& r = pending_.front();
    b.first_ms = std::min(b.first_ms, r.verified_ms);
    b.last_ms = std::max(b.last_ms, r.verified_ms);
    // Sums saturate instead of wrapping (a LogBlock of absurd figures is still priced high).
    b.work_units = b.work_units > ~std::uint64_t{0} - r.work_units ? ~std::uint64_t{0}
                                                                   : b.work_units + r.work_units;
    b.result_bytes = b.result_bytes > ~std::uint64_t{0} - r.result_bytes
                       ? ~std::uint64_t{0}
                       : b.result_bytes + r.result_bytes;
    out.receipts.push_back(std::move(r.encoded));
    out.requests.push_back(r.request);
    pending_.pop_front();
  }
  b.receipt_count = static_cast<std::uint32_t>(out.receipts.size());
  b.receipts_root = merkle::root_of(out.receipts);
  auto id = log_block_id(b);
  auto& h = out.entry.header;
  h.logbook_root = book_.root_with(id);
  h.execution_hash = id;
  h.timestamp = std::max(now_ms, b.last_ms);
  auto quote = rent_quote(rent_, b);
  auto rent = quote ? quote->units() : ~std::uint64_t{0};
  h.rent_payment = rent > ~std::uint64_t{0} - cfg_.priority ? ~std::uint64_t{0} : rent + cfg_.priority;
  sign_header(h, key_, chain_id_);
  book_.append(id);
  return out;
}

// ------------------------------------------------------------------------------ proofs

namespace {
constexpr char receipt_magic[] = "poe/receipt/v1";
constexpr std::size_t receipt_magic_len = sizeof(receipt_magic) - 1;
} // namespace

bytes encode(const attested_receipt& a) {
  bytes out(receipt_magic, receipt_magic + receipt_magic_len);
  for (auto* b : {&a.receipt, &a.verifier_key, &a.signature, &a.result, &a.executor_key}) append_blob(out, *b);
  return out;
}

result<attested_receipt> decode_attested_receipt(byte_view in) {
  if (in.size() < receipt_magic_len || std::memcmp(in.data(), receipt_magic, receipt_magic_len) != 0)
    return fail(errc::decode_error, "not a signed receipt (magic \"poe/receipt/v1\" missing)");
  byte_reader r{in.subspan(receipt_magic_len)};
  attested_receipt a;
  for (auto* b : {&a.receipt, &a.verifier_key, &a.signature, &a.result, &a.executor_key}) *b = r.blob();
  if (!r.done()) return fail(errc::decode_error, "signed receipt truncated or with trailing bytes");
  if (a.receipt.size() > 4096 || a.result.size() > 65536 || a.verifier_key.size() > 256 ||
      a.executor_key.size() > 256 || a.signature.size() > 256)
    return fail(errc::decode_error, "signed receipt: a field beyond its bound");
  return a;
}

void sign(attested_receipt& a, const private_key& key, std::string_view chain_id) {
  a.verifier_key = key.pub().der();
  a.signature = sign_in_domain(key, chain_id, msg_type::step_receipt, a.receipt);
}

result<checked_receipt> check_attested_receipt(const attested_receipt& a, std::string_view chain_id) {
  auto broken = [](const std::string& why) { return fail(errc::verify_failed, why); };
  auto r = wire::decode_step_receipt(a.receipt);
  if (!r) return broken("receipt: " + r.err().message);
  auto vkey = public_key::from_der(a.verifier_key);
  if (!vkey) return broken("verifier key: " + vkey.err().message);
  if (vkey->id() != r->verifier) return broken("verifier: the key is not the receipt's verifier");
  if (!verify_in_domain(*vkey, chain_id, msg_type::step_receipt, a.receipt, a.signature))
    return broken("verifier: the signature does not verify (chain '" + std::string(chain_id) + "')");
  auto xkey = public_key::from_der(a.executor_key);
  if (!xkey) return broken("executor key: " + xkey.err().message);
  if (xkey->id() != r->executor) return broken("executor: the key is not the receipt's executor");
  if (sha256::digest(a.result) != r->result_hash) return broken("result: not the receipt's result_hash");
  auto res = wire::decode_task_result(a.result);
  if (!res) return broken("result: " + res.err().message);
  if (res->id != r->request) return broken("result: for another request");
  poe_v1_proof proof{r->request, r->executor, r->poe, r->poe_sig};
  if (auto c = poe_verify(*xkey, r->request, a.result, proof); c != poe_check::valid)
    return broken("executor: PoE v1: " + std::string(to_string(c)));
  return checked_receipt{std::move(*r), vkey->id(), xkey->id()};
}

namespace {
constexpr char proof_magic[] = "poe/receipt-proof/v1";
constexpr std::size_t proof_magic_len = sizeof(proof_magic) - 1;
constexpr std::size_t max_path = 64;
} // namespace

bytes encode(const receipt_proof& p) {
  bytes out(proof_magic, proof_magic + proof_magic_len);
  append_blob(out, p.receipt);
  append_u64_be(out, p.in_log_block.index);
  append_u64_be(out, p.in_log_block.tree_size);
  append_u32_be(out, static_cast<std::uint32_t>(p.in_log_block.path.size()));
  for (auto& h : p.in_log_block.path) append(out, h.view());
  append_blob(out, encode(p.entry));
  append_blob(out, p.bpi_key);
  append_u64_be(out, p.height);
  append_blob(out, p.decision);
  append_u32_be(out, static_cast<std::uint32_t>(p.changes.size()));
  for (auto& c : p.changes) append_blob(out, encode(c));
  return out;
}

namespace {
constexpr std::uint32_t max_changes = 100'000;
constexpr std::uint32_t max_set = 10'000;
} // namespace

bytes encode(const set_change& c) {
  bytes out;
  append_u64_be(out, c.height);
  append_blob(out, c.decision);
  append_u32_be(out, static_cast<std::uint32_t>(c.validators.size()));
  for (auto& [der, stake] : c.validators) {
    append_blob(out, der);
    append_u64_be(out, stake);
  }
  return out;
}

result<set_change> decode_set_change(byte_view in) {
  byte_reader r{in};
  set_change c;
  c.height = r.u64();
  c.decision = r.blob();
  auto n = r.u32();
  if (n > max_set) return fail(errc::decode_error, "a validator set of " + std::to_string(n));
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
    auto der = r.blob();
    auto stake = r.u64();
    c.validators.emplace_back(std::move(der), stake);
  }
  if (!r.done()) return fail(errc::decode_error, "set change truncated or with trailing bytes");
  return c;
}

result<receipt_proof> decode_receipt_proof(byte_view in) {
  if (in.size() < proof_magic_len || std::memcmp(in.data(), proof_magic, proof_magic_len) != 0)
    return fail(errc::decode_error, "not a receipt proof (magic \"poe/receipt-proof/v1\" missing)");
  byte_reader r{in.subspan(proof_magic_len)};
  receipt_proof p;
  p.receipt = r.blob();
  p.in_log_block.index = r.u64();
  p.in_log_block.tree_size = r.u64();
  auto n = r.u32();
  if (n > max_path) return fail(errc::decode_error, "a receipt path of " + std::to_string(n) + " hashes");
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) p.in_log_block.path.push_back(r.fixed<hash256>());
  auto entry = r.blob();
  p.bpi_key = r.blob();
  p.height = r.u64();
  p.decision = r.blob();
  auto m = r.u32();
  if (m > max_changes) return fail(errc::decode_error, std::to_string(m) + " validator set changes");
  for (std::uint32_t i = 0; i < m && r.ok(); ++i) {
    auto raw = r.blob();
    if (!r.ok()) break;
    auto c = decode_set_change(raw);
    if (!c) return fail(errc::decode_error, "set change " + std::to_string(i) + ": " + c.err().message);
    p.changes.push_back(std::move(*c));
  }
  if (!r.done()) return fail(errc::decode_error, "receipt proof truncated or with trailing bytes");
  auto e = decode_poe_entry(entry);
  if (!e) return fail(errc::decode_error, "PoE entry: " + e.err().message);
  p.entry = std::move(*e);
  return p;
}

result<proof_facts> verify_receipt_proof(const receipt_proof& p, std::string_view chain_id,
                                         const std::vector<public_key>& validators) {
  auto broken = [](const std::string& why) { return fail(errc::verify_failed, why); };
  // The leaf: a step receipt or a playback receipt (its magic says which).
  proof_facts facts;
  if (is_playback_leaf(p.receipt)) {
    auto attested = decode_attested_playback(p.receipt);
    if (!attested) return broken(attested.err().message);
    auto checked = check_attested_playback(*attested, chain_id);
    if (!checked) return broken(checked.err().message);
    facts.playback = std::move(*checked);
  } else {
    auto attested = decode_attested_receipt(p.receipt);
    if (!attested) return broken("receipt: " + attested.err().message);
    auto checked = check_attested_receipt(*attested, chain_id);
    if (!checked) return broken(checked.err().message);
    facts.receipt = std::move(*checked);
  }
  auto& lb = p.entry.book_block;
  if (p.in_log_block.tree_size != lb.receipt_count)
    return broken("receipt: the path is for " + std::to_string(p.in_log_block.tree_size) +
                  " receipts, the LogBlock holds " + std::to_string(lb.receipt_count));
  if (!merkle::verify(p.in_log_block, merkle::leaf_hash(p.receipt), lb.receipts_root))
    return broken("receipt: its path does not lead to the LogBlock's receipts_root");
  auto key = public_key::from_der(p.bpi_key);
  if (!key) return broken("BPI key: " + key.err().message);
  if (auto st = check_entry(p.entry, *key, chain_id); !st)
    return broken("PoE header: " + st.err().message);
  // The validator set at `height`: genesis, then each change in order.
  auto quorum_of = [](std::size_t n) { return (2 * n + 2) / 3; };
  auto sealed_by = [&](const qbft::decision& d, std::uint64_t at, const std::vector<public_key>& set) {
    std::set<node_id> ok;
    for (auto& [who, seal] : d.seals)
      for (auto& v : set)
        if (v.id() == who && qbft::verify_seal(v, std::string(chain_id), at, d.round, d.digest, seal))
          ok.insert(who);
    return ok.size();
  };
  std::vector<public_key> current = validators;
  std::vector<std::uint64_t> changed;
  for (auto& c : p.changes) {
    auto where = "validator set change at block " + std::to_string(c.height) + ": ";
    if ((!changed.empty() && c.height <= changed.back()) || c.height == 0 || c.height >= p.height)
      return broken(where + "changes must be in height order, before block " + std::to_string(p.height));
    auto cd = qbft::decode_decision(c.decision, c.height);
    if (!cd) return broken(where + cd.err().message);
    auto cb = decode_block(cd->block);
    if (!cb) return broken(where + cb.err().message);
    if (cb->header.chain_id != chain_id || cb->header.height != c.height || block_id(*cb) != cd->digest)
      return broken(where + "not that block of chain '" + std::string(chain_id) + "'");
    auto n = sealed_by(*cd, c.height, current);
    if (current.empty() || n < quorum_of(current.size()))
      return broken(where + std::to_string(n) + " valid commit seals of the " + std::to_string(current.size()) +
                    " validators before it, " + std::to_string(quorum_of(current.size())) + " needed");
    std::vector<validator_info> set;
    for (auto& [der, stake] : c.validators) {
      auto key = public_key::from_der(der);
      if (!key) return broken(where + "a validator key: " + key.err().message);
      set.push_back({key->id(), *key, amount{stake}});
    }
    for (std::size_t i = 1; i < set.size(); ++i)
      if (!(set[i - 1].id < set[i].id)) return broken(where + "the set is not in node id order");
    if (set.empty() || validators_root(set) != cb->header.validators_root)
      return broken(where + "the set given is not the one the block commits to (validators_root)");
    current.clear();
    for (auto& v : set) current.push_back(v.key);
    changed.push_back(c.height);
  }
  auto d = qbft::decode_decision(p.decision, p.height);
  if (!d) return broken("block: " + d.err().message);
  auto b = decode_block(d->block);
  if (!b) return broken("block: " + b.err().message);
  if (b->header.chain_id != chain_id || b->header.height != p.height)
    return broken("block: not block " + std::to_string(p.height) + " of chain '" +
                  std::string(chain_id) + "'");
  auto check = *b;
  seal_roots(check);
  if (check.header.poe_root != b->header.poe_root)
    return broken("block: its poe_root is not the root of its PoE entries");
  auto raw = encode(p.entry);
  auto at = std::find(b->poe_headers.begin(), b->poe_headers.end(), raw);
  if (at == b->poe_headers.end()) return broken("block: the PoE entry is not in the block");
  auto& f = facts;
  f.block_id = d->digest;
  f.height = p.height;
  f.entry_index = static_cast<std::size_t>(at - b->poe_headers.begin());
  f.seals_valid = sealed_by(*d, p.height, current);
  f.validators = current.size();
  f.set_changes = changed;
  auto quorum = quorum_of(current.size());
  if (current.empty() || f.seals_valid < quorum)
    return broken("block: " + std::to_string(f.seals_valid) + " valid commit seals of the " +
                  std::to_string(current.size()) + " validators " +
                  (changed.empty() ? std::string("given") : "at height " + std::to_string(p.height)) + ", " +
                  std::to_string(quorum) + " needed");
  return f;
}

} // namespace poe::chain
