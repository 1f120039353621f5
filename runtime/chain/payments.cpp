#include "poe/chain/payments.hpp"

#include <cstring>

#include "poe/core/byte_io.hpp"
#include "poe/core/domain.hpp"
#include "poe/core/sha256.hpp"

#include <limits>
#include <stdexcept>

namespace poe::chain {

namespace {

constexpr std::size_t max_name = 128;
constexpr std::size_t max_sig = 512;

void append_u16(bytes& out, std::size_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
void append_str(bytes& out, byte_view v) {
  if (v.size() > std::numeric_limits<std::uint16_t>::max())
    throw std::invalid_argument("payments: a field longer than 65535 bytes");
  append_u16(out, v.size());
  append(out, v);
}
std::size_t read_u16(byte_reader& r) {
  std::size_t hi = r.u8();
  return (hi << 8) | r.u8();
}
/// u16 length ‖ bytes, within [min, max]; an empty optional when out of bounds or short.
std::optional<bytes> read_str(byte_reader& r, std::size_t min, std::size_t max) {
  auto n = read_u16(r);
  if (!r.ok() || n < min || n > max) return std::nullopt;
  auto b = r.take(n);
  if (!r.ok()) return std::nullopt;
  return b;
}
std::string as_string(const bytes& b) { return std::string(b.begin(), b.end()); }

result<std::uint32_t> parse_percent(std::string_view t) {
  // "70", "9.5", "12.3456": at most 4 decimals; in ppm.
  std::uint64_t whole = 0, frac = 0;
  std::size_t i = 0, digits = 0, decimals = 0;
  for (; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i, ++digits) whole = whole * 10 + (t[i] - '0');
  if (i < t.size() && t[i] == '.') {
    for (++i; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i, ++decimals) frac = frac * 10 + (t[i] - '0');
    if (decimals == 0) digits = 0;
  }
  if (digits == 0 || i != t.size() || decimals > 4 || digits > 3)
    return fail(errc::invalid_argument, "'" + std::string(t) + "' is not a percentage (e.g. 70 or 9.5)");
  for (; decimals < 4; ++decimals) frac *= 10;
  auto ppm = whole * 10'000 + frac;
  if (ppm > ppm_whole) return fail(errc::invalid_argument, "'" + std::string(t) + "' exceeds 100");
  return static_cast<std::uint32_t>(ppm);
}

std::string percent(std::uint32_t ppm) {
  auto s = std::to_string(ppm / 10'000);
  if (auto frac = ppm % 10'000; frac != 0) {
    auto f = std::to_string(frac + 10'000).substr(1);
    while (!f.empty() && f.back() == '0') f.pop_back();
    s += "." + f;
  }
  return s;
}

bytes encode_outputs(const std::vector<output_ref>& xs) {
  bytes out;
  append_u32_be(out, static_cast<std::uint32_t>(xs.size()));
  for (auto& o : xs) {
    append_str(out, as_bytes(o.name));
    append_str(out, as_bytes(o.cid));
    append_u64_be(out, o.size);
  }
  return out;
}

} // namespace

// -- split --------------------------------------------------------------------------------------

status check_split(const split_rule& s) {
  std::uint64_t sum = std::uint64_t{s.creator} + s.operators + s.platform + s.treasury;
  if (sum != ppm_whole)
    return fail(errc::invalid_argument,
                "split shares sum to " + std::to_string(sum) + " ppm, not 1000000 (" + to_string(s) + ")");
  return {};
}

result<split_rule> parse_split(std::string_view text) {
  std::uint32_t v[4];
  std::size_t k = 0, start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && text[i] != '/') continue;
    if (k == 4) return fail(errc::invalid_argument, "a split has four shares: creator/operators/platform/treasury");
    auto p = parse_percent(text.substr(start, i - start));
    if (!p) return p.err();
    v[k++] = *p;
    start = i + 1;
  }
  if (k != 4) return fail(errc::invalid_argument, "a split has four shares: creator/operators/platform/treasury");
  split_rule s{v[0], v[1], v[2], v[3]};
  if (auto ok = check_split(s); !ok) return fail(errc::invalid_argument, "the shares of '" + std::string(text) + "' do not sum to 100");
  return s;
}

std::string to_string(const split_rule& s) {
  return percent(s.creator) + "/" + percent(s.operators) + "/" + percent(s.platform) + "/" +
         percent(s.treasury);
}

split_shares split_payment(amount paid, const split_rule& s) {
  auto part = [&](std::uint32_t ppm) {
    auto p = static_cast<unsigned __int128>(paid.units()) * ppm / ppm_whole;
    return amount{static_cast<std::uint64_t>(p)};
  };
  split_shares out;
  out.operators = part(s.operators);
  out.platform = part(s.platform);
  out.treasury = part(s.treasury);
  // The three floors sum to at most paid × (10^6 - creator) / 10^6 <= paid: no underflow.
  out.creator = amount{paid.units() - out.operators.units() - out.platform.units() - out.treasury.units()};
  return out;
}

// -- job_output -----------------------------------------------------------------------------

status check_shape(const job_output& s) {
  if (s.job.empty() || s.job.size() > max_name)
    return fail(errc::invalid_argument, "job id must be 1..128 bytes");
  if (s.outputs.empty() || s.outputs.size() > max_outputs)
    return fail(errc::invalid_argument, "a job output lists 1..4096 outputs");
  for (std::size_t i = 0; i < s.outputs.size(); ++i) {
    auto& o = s.outputs[i];
    if (o.name.empty() || o.name.size() > max_name || o.cid.empty() || o.cid.size() > max_name)
      return fail(errc::invalid_argument, "output names and CIDs are 1..128 bytes");
    if (i > 0 && !(s.outputs[i - 1].name < o.name))
      return fail(errc::invalid_argument, "outputs must be sorted by name, without repeats");
  }
  if (s.signature.size() > max_sig) return fail(errc::invalid_argument, "signature too long");
  return {};
}

bytes signing_payload(const job_output& s) {
  bytes out;
  append_str(out, as_bytes(s.job));
  append(out, s.owner.view());
  append(out, s.verifier.view());
  append(out, encode_outputs(s.outputs));
  return out;
}

bytes encode(const job_output& s) {
  auto out = signing_payload(s);
  append_str(out, s.signature);
  return out;
}

result<job_output> decode_job_output(byte_view in) {
  byte_reader r{in};
  job_output s;
  auto job = read_str(r, 1, max_name);
  if (!job) return fail(errc::decode_error, "job output: bad job id");
  s.job = as_string(*job);
  s.owner = r.fixed<node_id>();
  s.verifier = r.fixed<node_id>();
  auto n = r.u32();
  if (!r.ok() || n == 0 || n > max_outputs) return fail(errc::decode_error, "job output: bad output count");
  for (std::uint32_t i = 0; i < n; ++i) {
    auto name = read_str(r, 1, max_name);
    auto cid = name ? read_str(r, 1, max_name) : std::nullopt;
    if (!cid) return fail(errc::decode_error, "job output: bad output " + std::to_string(i));
    s.outputs.push_back(output_ref{as_string(*name), as_string(*cid), r.u64()});
  }
  auto sig = read_str(r, 0, max_sig);
  if (!sig || !r.done()) return fail(errc::decode_error, "job output: truncated or trailing bytes");
  s.signature = std::move(*sig);
  if (auto ok = check_shape(s); !ok) return fail(errc::decode_error, "job output: " + ok.err().message);
  return s;
}

void sign(job_output& s, const private_key& verifier, std::string_view chain_id) {
  s.verifier = verifier.id();
  s.signature = sign_in_domain(verifier, chain_id, msg_type::job_output, signing_payload(s));
}

bool verify(const job_output& s, const public_key& verifier, std::string_view chain_id) {
  return verifier.id() == s.verifier &&
         verify_in_domain(verifier, chain_id, msg_type::job_output, signing_payload(s), s.signature);
}

hash256 content_id(const job_output& s) {
  return sha256::digest({as_bytes(std::string_view{"poe/content/v1"}), encode_outputs(s.outputs)});
}

// -- lanes ----------------------------------------------------------------------------------

bytes signing_payload(const lane_commit& c) {
  bytes out;
  append(out, c.channel.view());
  append_u32_be(out, c.lane);
  append(out, c.content.view());
  append(out, c.top.view());
  append_u32_be(out, c.length);
  append_u64_be(out, c.price_per_tick.units());
  return out;
}
bytes encode(const lane_commit& c) {
  auto out = signing_payload(c);
  append_str(out, c.signature);
  return out;
}
namespace {
std::optional<lane_commit> read_commit(byte_reader& r) {
  lane_commit c;
  c.channel = r.fixed<hash256>();
  c.lane = r.u32();
  c.content = r.fixed<hash256>();
  c.top = r.fixed<hash256>();
  c.length = r.u32();
  c.price_per_tick = amount{r.u64()};
  auto sig = read_str(r, 0, max_sig);
  if (!sig || c.length == 0 || c.length > max_lane_length || c.price_per_tick == amount{0})
    return std::nullopt;
  c.signature = std::move(*sig);
  return c;
}
std::optional<voucher> read_voucher(byte_reader& r) {
  voucher v;
  v.channel = r.fixed<hash256>();
  v.lane = r.u32();
  v.index = r.u32();
  v.hash = r.fixed<hash256>();
  auto sig = read_str(r, 0, max_sig);
  if (!sig) return std::nullopt;
  v.signature = std::move(*sig);
  return v;
}
} // namespace

result<lane_commit> decode_lane_commit(byte_view in) {
  byte_reader r{in};
  auto c = read_commit(r);
  if (!c || !r.done()) return fail(errc::decode_error, "lane commitment: bad encoding");
  return *c;
}
void sign(lane_commit& c, const private_key& payer, std::string_view chain_id) {
  c.signature = sign_in_domain(payer, chain_id, msg_type::lane_commit, signing_payload(c));
}
bool verify(const lane_commit& c, const public_key& payer, std::string_view chain_id) {
  return verify_in_domain(payer, chain_id, msg_type::lane_commit, signing_payload(c), c.signature);
}
hash256 commit_id(const lane_commit& c) { return sha256::digest(encode(c)); }

bytes signing_payload(const voucher& v) {
  bytes out;
  append(out, v.channel.view());
  append_u32_be(out, v.lane);
  append_u32_be(out, v.index);
  append(out, v.hash.view());
  return out;
}
bytes encode(const voucher& v) {
  auto out = signing_payload(v);
  append_str(out, v.signature);
  return out;
}
result<voucher> decode_voucher(byte_view in) {
  byte_reader r{in};
  auto v = read_voucher(r);
  if (!v || !r.done()) return fail(errc::decode_error, "voucher: bad encoding");
  return *v;
}
void sign(voucher& v, const private_key& payer, std::string_view chain_id) {
  v.signature = sign_in_domain(payer, chain_id, msg_type::voucher, signing_payload(v));
}
bool verify(const voucher& v, const public_key& payer, std::string_view chain_id) {
  return verify_in_domain(payer, chain_id, msg_type::voucher, signing_payload(v), v.signature);
}

bytes signing_payload(const playback_token& t) {
  bytes out;
  append(out, t.gateway.view());
  append(out, t.content.view());
  append(out, t.channel.view());
  append_u32_be(out, t.lane);
  append_u64_be(out, t.not_after_ms);
  append_str(out, t.viewer_key);
  return out;
}
bytes encode(const playback_token& t) {
  auto out = signing_payload(t);
  append_str(out, t.signature);
  return out;
}
result<playback_token> decode_playback_token(byte_view in) {
  byte_reader r{in};
  playback_token t;
  t.gateway = r.fixed<node_id>();
  t.content = r.fixed<hash256>();
  t.channel = r.fixed<hash256>();
  t.lane = r.u32();
  t.not_after_ms = r.u64();
  auto key = read_str(r, 1, 1024);
  auto sig = key ? read_str(r, 1, max_sig) : std::nullopt;
  if (!key || !sig || !r.done()) return fail(errc::decode_error, "playback token: bad encoding");
  t.viewer_key = std::move(*key);
  t.signature = std::move(*sig);
  return t;
}
void sign(playback_token& t, const private_key& viewer, std::string_view chain_id) {
  t.viewer_key = viewer.pub().der();
  t.signature = sign_in_domain(viewer, chain_id, msg_type::playback_token, signing_payload(t));
}
result<node_id> verify(const playback_token& t, std::string_view chain_id) {
  auto key = public_key::from_der(t.viewer_key);
  if (!key) return fail(errc::verify_failed, "playback token: the viewer key does not decode");
  if (!verify_in_domain(*key, chain_id, msg_type::playback_token, signing_payload(t), t.signature))
    return fail(errc::verify_failed, "playback token: the signature does not verify");
  return key->id();
}

namespace {
constexpr char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
} // namespace

std::string to_url(const playback_token& t) {
  auto raw = encode(t);
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (auto b : raw) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += b64url[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += b64url[(acc << (6 - bits)) & 63];
  return out;
}

result<playback_token> playback_token_from_url(std::string_view text) {
  if (text.empty() || text.size() > 4096) return fail(errc::decode_error, "playback token: bad length");
  bytes raw;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const char* p = std::strchr(b64url, c);
    if (c == 0 || !p) return fail(errc::decode_error, "playback token: not base64url");
    acc = (acc << 6) | static_cast<std::uint32_t>(p - b64url);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      raw.push_back(static_cast<std::uint8_t>(acc >> bits));
    }
  }
  if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0) return fail(errc::decode_error, "playback token: not canonical base64url");
  return decode_playback_token(raw);
}

bytes encode(const lane_claim& c) {
  auto out = encode(c.commit);
  out.push_back(c.checkpoint ? 1 : 0);
  if (c.checkpoint) append(out, encode(*c.checkpoint));
  append_u32_be(out, c.tick_index);
  append(out, c.tick.view());
  return out;
}

result<lane_claim> decode_lane_claim(byte_view in) {
  byte_reader r{in};
  lane_claim c;
  auto commit = read_commit(r);
  if (!commit) return fail(errc::decode_error, "lane claim: bad commitment");
  c.commit = std::move(*commit);
  auto has = r.u8();
  if (has > 1) return fail(errc::decode_error, "lane claim: bad voucher flag");
  if (has == 1) {
    auto v = read_voucher(r);
    if (!v) return fail(errc::decode_error, "lane claim: bad voucher");
    c.checkpoint = std::move(*v);
  }
  c.tick_index = r.u32();
  c.tick = r.fixed<hash256>();
  if (!r.done()) return fail(errc::decode_error, "lane claim: truncated or trailing bytes");
  return c;
}

hash256 tick_parent(const hash256& w) { return sha256::digest(w.view()); }

bool chain_reaches(const hash256& w, std::uint32_t to, std::uint32_t from, const hash256& expect) {
  if (to < from) return false;
  hash256 x = w;
  for (std::uint32_t i = to; i > from; --i) x = tick_parent(x);
  return x == expect;
}

tick_chain::tick_chain(const hash256& seed, std::uint32_t length) {
  if (length == 0 || length > max_lane_length) throw std::invalid_argument("tick_chain: bad length");
  w_.resize(std::size_t{length} + 1);
  w_[length] = seed;
  for (std::uint32_t i = length; i > 0; --i) w_[i - 1] = tick_parent(w_[i]);
}

std::string_view to_string(claim_error e) {
  switch (e) {
  case claim_error::none: return "none";
  case claim_error::bad_commit_signature: return "bad_commit_signature";
  case claim_error::bad_voucher_signature: return "bad_voucher_signature";
  case claim_error::voucher_mismatch: return "voucher_mismatch";
  case claim_error::beyond_length: return "beyond_length";
  case claim_error::below_checkpoint: return "below_checkpoint";
  case claim_error::bad_tick: return "bad_tick";
  case claim_error::too_many_hashes: return "too_many_hashes";
  }
  return "unknown";
}

claim_error check_claim(const lane_claim& c, const public_key& payer, std::string_view chain_id,
                        std::uint32_t max_hashes) {
  if (c.tick_index > c.commit.length) return claim_error::beyond_length;
  std::uint32_t base = 0;
  const hash256* base_hash = &c.commit.top;
  if (c.checkpoint) {
    auto& v = *c.checkpoint;
    if (v.channel != c.commit.channel || v.lane != c.commit.lane) return claim_error::voucher_mismatch;
    if (v.index > c.commit.length) return claim_error::beyond_length;
    if (c.tick_index < v.index) return claim_error::below_checkpoint;
    base = v.index;
    base_hash = &v.hash;
  }
  if (c.tick_index - base > max_hashes) return claim_error::too_many_hashes;
  // Cheapest first: the hashes, then the signatures.
  if (!chain_reaches(c.tick, c.tick_index, base, *base_hash)) return claim_error::bad_tick;
  if (!verify(c.commit, payer, chain_id)) return claim_error::bad_commit_signature;
  if (c.checkpoint && !verify(*c.checkpoint, payer, chain_id)) return claim_error::bad_voucher_signature;
  return claim_error::none;
}

} // namespace poe::chain
