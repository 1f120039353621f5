#include "poe/chain/notary.hpp"

#include "poe/core/byte_io.hpp"
#include "poe/core/domain.hpp"
#include "poe/core/merkle.hpp"
#include "poe/core/sha256.hpp"

#include <algorithm>

namespace poe::chain {

namespace {

constexpr std::uint8_t object_version = 1;

void put_u16(bytes& out, std::size_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

/// u16 length ‖ bytes (the lengths here are bounded far below 65536).
void put_short_blob(bytes& out, byte_view b) {
  put_u16(out, b.size());
  append(out, b);
}

std::size_t read_u16(byte_reader& r) {
  std::size_t hi = r.u8();
  return (hi << 8) | r.u8();
}

bytes read_short_blob(byte_reader& r) { return r.take(read_u16(r)); }

error bad(const std::string& what) { return fail(errc::decode_error, what); }

} // namespace

// ------------------------------------------------------------------------------ log book

hash256 log_book::root() const {
  if (subtrees_.empty()) return merkle::empty_root();
  auto r = subtrees_.back();
  for (auto i = subtrees_.size() - 1; i-- > 0;)
    r = merkle::node_hash(subtrees_[i], r);
  return r;
}

void log_book::append(const hash256& id) {
  // A binary counter: the new leaf is a subtree of size 1; equal neighbours merge, exactly
  // where the bits of size_ carry.
  subtrees_.push_back(merkle::leaf_hash(id.view()));
  for (auto n = size_; n & 1; n >>= 1) {
    auto right = subtrees_.back();
    subtrees_.pop_back();
    subtrees_.back() = merkle::node_hash(subtrees_.back(), right);
  }
  ++size_;
  last_ = id;
}

hash256 log_book::root_with(const hash256& id) const {
  auto copy = *this;
  copy.append(id);
  return copy.root();
}

bytes log_book::encode() const {
  bytes out;
  append_u64_be(out, size_);
  poe::append(out, last_.view());
  out.push_back(static_cast<std::uint8_t>(subtrees_.size()));
  for (auto& h : subtrees_) poe::append(out, h.view());
  return out;
}

result<log_book> log_book::decode(byte_view in) {
  byte_reader r(in);
  log_book b;
  b.size_ = r.u64();
  b.last_ = r.fixed<hash256>();
  auto n = r.u8();
  for (std::uint8_t i = 0; i < n; ++i) b.subtrees_.push_back(r.fixed<hash256>());
  if (!r.done()) return bad("log book: truncated or trailing bytes");
  if (static_cast<std::size_t>(std::popcount(b.size_)) != b.subtrees_.size())
    return bad("log book: " + std::to_string(n) + " subtrees for size " + std::to_string(b.size_));
  return b;
}

// ------------------------------------------------------------------------------ entries

bytes encode(const poe_entry& e) {
  auto h = encode_binary(e.header);
  if (!h) throw std::invalid_argument("poe_entry: " + h.err().message);
  bytes out;
  put_short_blob(out, *h);
  append(out, encode_binary(e.book_block));
  return out;
}

result<poe_entry> decode_poe_entry(byte_view in) {
  byte_reader r(in);
  auto h = read_short_blob(r);
  auto lb = r.take(log_block_binary_size);
  if (!r.done()) return bad("PoE entry: truncated or trailing bytes");
  auto header = decode_binary_header(h);
  if (!header) return header.err();
  auto book_block = decode_binary_log_block(lb);
  if (!book_block) return book_block.err();
  return poe_entry{std::move(*header), *book_block};
}

hash256 entry_id(const poe_entry& e) { return header_id(e.header); }

status check_entry(const poe_entry& e, const public_key& bpi_key, std::string_view chain_id) {
  auto& h = e.header;
  auto& b = e.book_block;
  if (b.bpi != h.bpi) return fail(errc::verify_failed, "the LogBlock names another BPI");
  if (h.execution_hash != log_block_id(b))
    return fail(errc::verify_failed, "execution_hash is not the LogBlock's id");
  if (b.receipt_count == 0) return fail(errc::verify_failed, "a LogBlock without receipts");
  if (b.first_ms > b.last_ms || b.last_ms > h.timestamp)
    return fail(errc::verify_failed, "LogBlock times out of order (first <= last <= timestamp)");
  return verify_header(h, bpi_key, chain_id);
}

// ------------------------------------------------------------------------------ rent

result<amount> rent_quote(const rent_params& p, const log_block& b) {
  auto complexity = checked_mul(p.rent_per_work_unit, b.work_units);
  if (!complexity) return complexity.err();
  auto kib = b.result_bytes / 1024 + (b.result_bytes % 1024 != 0);
  auto storage = checked_mul(p.rent_per_kib, kib);
  if (!storage) return storage.err();
  auto sum = checked_add(p.base_rent, *complexity);
  if (!sum) return sum.err();
  return checked_add(*sum, *storage);
}

rent_split split_rent(const rent_params& p, amount total) {
  rent_split s;
  s.slashing = *mul_div(total, p.slashing_ppm, 1'000'000); // <= total: never overflows
  s.treasury = *mul_div(total, p.treasury_ppm, 1'000'000);
  s.validators = amount{total.units() - s.slashing.units() - s.treasury.units()};
  return s;
}

std::map<node_id, amount> share_by_weight(const std::map<node_id, amount>& weights, amount total,
                                          const node_id& remainder_to) {
  unsigned __int128 sum = 0;
  for (auto& [id, w] : weights) sum += w.units();
  std::map<node_id, amount> out;
  if (sum == 0) {
    out[remainder_to] = total;
    return out;
  }
  std::uint64_t given = 0;
  for (auto& [id, w] : weights) {
    auto share = static_cast<std::uint64_t>(static_cast<unsigned __int128>(total.units()) *
                                            w.units() / sum);
    out[id] = amount{share};
    given += share;
  }
  out[remainder_to] = amount{out[remainder_to].units() + (total.units() - given)};
  return out;
}

// ------------------------------------------------------------------------------ auction

bytes bid_signing_payload(const builder_bid& b) {
  bytes out;
  out.push_back(object_version);
  put_short_blob(out, as_bytes(b.chain_id));
  append_u64_be(out, b.height);
  append(out, b.bundle_hash.view());
  append_u64_be(out, b.value.units());
  put_short_blob(out, b.builder_key);
  return out;
}

bytes encode(const builder_bid& b) {
  auto out = bid_signing_payload(b);
  put_short_blob(out, b.signature);
  return out;
}

result<builder_bid> decode_builder_bid(byte_view in) {
  byte_reader r(in);
  builder_bid b;
  if (r.u8() != object_version) return bad("bid: unknown version");
  auto chain = read_short_blob(r);
  b.chain_id.assign(chain.begin(), chain.end());
  b.height = r.u64();
  b.bundle_hash = r.fixed<hash256>();
  b.value = amount{r.u64()};
  b.builder_key = read_short_blob(r);
  b.signature = read_short_blob(r);
  if (!r.done()) return bad("bid: truncated or trailing bytes");
  return b;
}

void sign(builder_bid& b, const private_key& key) {
  b.builder_key = key.pub().der();
  b.signature = sign_in_domain(key, b.chain_id, msg_type::builder_bid, bid_signing_payload(b));
}

result<node_id> verify_bid(const builder_bid& b, std::string_view chain_id) {
  if (b.chain_id != chain_id)
    return fail(errc::verify_failed, "bid for chain '" + b.chain_id + "', not '" +
                                         std::string(chain_id) + "'");
  if (b.value.units() == 0) return fail(errc::verify_failed, "bid of 0");
  auto key = public_key::from_der(b.builder_key);
  if (!key) return fail(errc::verify_failed, "bid: builder key: " + key.err().message);
  if (!verify_in_domain(*key, chain_id, msg_type::builder_bid, bid_signing_payload(b),
                        b.signature))
    return fail(errc::verify_failed, "bid: bad signature");
  return key->id();
}

hash256 bid_id(const builder_bid& b) { return sha256::digest(encode(b)); }

hash256 bundle_hash(const std::vector<bytes>& entries) { return merkle::root_of(entries); }

auction::auction(std::string chain_id, std::uint64_t height)
    : chain_id_(std::move(chain_id)), height_(height) {}

status auction::offer(const builder_bid& b) {
  if (b.height != height_)
    return fail(errc::verify_failed, "bid for height " + std::to_string(b.height) +
                                         ", the auction is for " + std::to_string(height_));
  auto id = bid_id(b);
  if (seen_.count(id)) return fail(errc::verify_failed, "bid already offered (a replay)");
  auto builder = verify_bid(b, chain_id_);
  if (!builder) return builder.err();
  auto it = bids_.find(*builder);
  if (it != bids_.end() && it->second.value >= b.value)
    return fail(errc::verify_failed, "a builder may only raise its bid (" +
                                         it->second.value.to_string() + " offered before)");
  seen_.insert(id);
  bids_[*builder] = b;
  return {};
}

std::optional<builder_bid> auction::best(const std::set<node_id>& excluded) const {
  const builder_bid* top = nullptr;
  const node_id* top_id = nullptr;
  for (auto& [id, b] : bids_) {
    if (excluded.count(id)) continue;
    bool better = !top || b.value > top->value ||
                  (b.value == top->value &&
                   (b.bundle_hash < top->bundle_hash ||
                    (b.bundle_hash == top->bundle_hash && id < *top_id)));
    if (better) top = &b, top_id = &id;
  }
  if (!top) return std::nullopt;
  return *top;
}

status auction::check_reveal(const builder_bid& winner, const std::vector<bytes>& entries) {
  if (entries.empty()) return fail(errc::verify_failed, "an empty bundle");
  if (bundle_hash(entries) != winner.bundle_hash)
    return fail(errc::verify_failed, "the revealed bundle does not hash to the bid's bundle hash");
  return {};
}

// ------------------------------------------------------------------------------ complaints

namespace {

bytes complaint_payload(const exclusion_complaint& c) {
  bytes out;
  out.push_back(object_version);
  put_short_blob(out, as_bytes(c.chain_id));
  append_u64_be(out, c.height);
  append_u64_be(out, c.round);
  append(out, c.proposer.view());
  append(out, c.digest.view());
  put_u16(out, c.missing.size());
  for (auto& h : c.missing) append(out, h.view());
  put_short_blob(out, c.complainer_key);
  return out;
}

} // namespace

bytes encode(const exclusion_complaint& c) {
  auto out = complaint_payload(c);
  put_short_blob(out, c.signature);
  return out;
}

result<exclusion_complaint> decode_exclusion_complaint(byte_view in) {
  byte_reader r(in);
  exclusion_complaint c;
  if (r.u8() != object_version) return bad("complaint: unknown version");
  auto chain = read_short_blob(r);
  c.chain_id.assign(chain.begin(), chain.end());
  c.height = r.u64();
  c.round = r.u64();
  c.proposer = r.fixed<node_id>();
  c.digest = r.fixed<hash256>();
  auto n = read_u16(r);
  if (n > 256) return bad("complaint: more than 256 header ids");
  for (std::size_t i = 0; i < n && r.ok(); ++i) c.missing.push_back(r.fixed<hash256>());
  c.complainer_key = read_short_blob(r);
  c.signature = read_short_blob(r);
  if (!r.done()) return bad("complaint: truncated or trailing bytes");
  return c;
}

void sign(exclusion_complaint& c, const private_key& key) {
  c.complainer_key = key.pub().der();
  c.signature =
    sign_in_domain(key, c.chain_id, msg_type::exclusion_complaint, complaint_payload(c));
}

result<node_id> verify_complaint(const exclusion_complaint& c, std::string_view chain_id) {
  if (c.chain_id != chain_id) return fail(errc::verify_failed, "complaint for another chain");
  if (c.missing.empty() || c.missing.size() > 256)
    return fail(errc::verify_failed, "complaint: 1..256 missing header ids expected");
  if (!std::is_sorted(c.missing.begin(), c.missing.end()) ||
      std::adjacent_find(c.missing.begin(), c.missing.end()) != c.missing.end())
    return fail(errc::verify_failed, "complaint: header ids not strictly ascending");
  auto key = public_key::from_der(c.complainer_key);
  if (!key) return fail(errc::verify_failed, "complaint: key: " + key.err().message);
  if (!verify_in_domain(*key, chain_id, msg_type::exclusion_complaint, complaint_payload(c),
                        c.signature))
    return fail(errc::verify_failed, "complaint: bad signature");
  return key->id();
}

// ------------------------------------------------------------------------------ inclusion

bool inclusion_tracker::hold(const poe_entry& e, std::uint64_t height) {
  if (!held_.emplace(entry_id(e), held{e, height}).second) return false;
  ++per_bpi_[e.header.bpi];
  return true;
}

void inclusion_tracker::forget(std::map<hash256, held>::iterator it) {
  auto c = per_bpi_.find(it->second.entry.header.bpi);
  if (c != per_bpi_.end() && --c->second == 0) per_bpi_.erase(c);
  held_.erase(it);
}

void inclusion_tracker::release(const hash256& id) {
  if (auto it = held_.find(id); it != held_.end()) forget(it);
}

namespace {

/// Per BPI, the held entries by sequence.
template <class Held>
std::map<node_id, std::map<std::uint64_t, std::pair<hash256, const Held*>>>
by_bpi(const std::map<hash256, Held>& held) {
  std::map<node_id, std::map<std::uint64_t, std::pair<hash256, const Held*>>> out;
  for (auto& [id, h] : held) out[h.entry.header.bpi].emplace(h.entry.book_block.sequence, std::pair{id, &h});
  return out;
}

} // namespace

std::vector<poe_entry>
inclusion_tracker::includable(const std::function<std::uint64_t(const node_id&)>& book_size,
                              std::size_t limit) const {
  std::vector<poe_entry> out;
  for (auto& [bpi, seqs] : by_bpi(held_)) {
    auto next = book_size(bpi);
    for (auto it = seqs.find(next); it != seqs.end() && it->first == next; ++it, ++next) {
      if (out.size() >= limit) return out;
      out.push_back(it->second.second->entry);
    }
  }
  return out;
}

std::vector<hash256>
inclusion_tracker::due(std::uint64_t height, std::uint64_t n,
                       const std::function<std::uint64_t(const node_id&)>& book_size) const {
  std::vector<hash256> out;
  for (auto& [bpi, seqs] : by_bpi(held_)) {
    auto next = book_size(bpi);
    for (auto it = seqs.find(next); it != seqs.end() && it->first == next; ++it, ++next)
      if (it->second.second->since + n <= height) out.push_back(it->second.first);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void inclusion_tracker::prune(const std::function<std::uint64_t(const node_id&)>& book_size,
                              std::uint64_t height, std::uint64_t max_age) {
  for (auto it = held_.begin(); it != held_.end();) {
    if (it->second.entry.book_block.sequence < book_size(it->second.entry.header.bpi) ||
        (max_age > 0 && it->second.since + max_age < height))
      forget(it++);
    else
      ++it;
  }
}

} // namespace poe::chain
