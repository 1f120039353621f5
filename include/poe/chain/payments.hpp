#pragma once
/// @file
/// Content and payment channels: the signed objects viewers, creators and verifiers exchange,
/// their canonical encodings, and the checks a payee runs without the chain and the ledger runs
/// when a channel settles (no CAF, no store). Integers are big-endian; money is integer base
/// units; shares are parts per million.
///
/// Content. A verifier that finished a job signs a `job_output` statement (domain job_output):
/// the job, its owner, the verifier, and every verified output (name, CID, size), sorted by
/// name. The owner publishes it as content; its id is `content_id(statement)` =
/// SHA-256("poe/content/v1" ‖ outputs), so the id names exactly those bytes. Content has a
/// price per second and a `split_rule`.
///
/// Channels (a payer's deposit for one payee). A channel has lanes, one per playback session.
/// Per lane the payer signs once a `lane_commit` (domain lane_commit): channel, lane, content,
/// the top w0 of a SHA-256 hash chain (w(i-1) = SHA-256(w(i)), PayWord), its length and the
/// price per tick. Tick i reveals w(i): the payee checks it with one SHA-256 against the last
/// tick it holds (or hashes up from there), so ticks are idempotent and may arrive out of
/// order. A `voucher` (domain voucher) is the payer's signed checkpoint of a lane: tick index
/// k and w(k) — cumulative amount k × price_per_tick, nonce k — so settling hashes only from the
/// newest checkpoint. A `lane_claim` is what a payee submits: the commitment, optionally a
/// voucher, and its highest tick.
///
/// Encodings (canonical: one encoding per value; decoders refuse anything else):
///
///     output      u16 len ‖ name (1..128) ‖ u16 len ‖ cid (1..128) ‖ u64 size
///     job_output  u16 len ‖ job (1..128) ‖ owner (32) ‖ verifier (32) ‖ u32 n (1..4096) ‖
///                 n × output (strictly ascending names) ‖ u16 len ‖ signature
///     split_rule  u32 creator ‖ u32 operators ‖ u32 platform ‖ u32 treasury   (ppm, sum 10^6)
///     lane_commit channel (32) ‖ u32 lane ‖ content (32) ‖ top (32) ‖ u32 length (1..2^31) ‖
///                 u64 price_per_tick (> 0) ‖ u16 len ‖ signature
///     voucher     channel (32) ‖ u32 lane ‖ u32 index ‖ hash (32) ‖ u16 len ‖ signature
///     lane_claim  lane_commit ‖ u8 has_voucher ‖ [voucher] ‖ u32 tick_index ‖ tick (32)
///
/// Signed payload = the encoding without its signature field.

#include "poe/core/amount.hpp"
#include "poe/core/keys.hpp"
#include "poe/core/types.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace poe::chain {

// -- revenue split ------------------------------------------------------------------------------

constexpr std::uint32_t ppm_whole = 1'000'000;

/// How a payment for content is shared: the creator, the node operators (the channel's payee,
/// the node that served the seconds paid for), the platform account and the treasury.
struct split_rule {
  std::uint32_t creator = 700'000;
  std::uint32_t operators = 100'000;
  std::uint32_t platform = 150'000;
  std::uint32_t treasury = 50'000;
  friend bool operator==(const split_rule&, const split_rule&) = default;
};

/// The four shares sum to exactly 10^6 ppm.
status check_split(const split_rule& s);
/// Parses "creator/operators/platform/treasury" in percent ("70/10/15/5"; decimals allowed
/// to 4 places, "70.5/9.5/15/5") into ppm; the sum must be 100.
result<split_rule> parse_split(std::string_view text);
/// "70/10/15/5" (percent, as parse_split reads it).
std::string to_string(const split_rule& s);

struct split_shares {
  amount creator, operators, platform, treasury;
  friend bool operator==(const split_shares&, const split_shares&) = default;
};
/// Exact integer split of `paid`: operators, platform and treasury get floor(paid × ppm / 10^6)
/// each, the creator gets the remainder (so the shares always sum to `paid`, and the creator
/// gets at least its floor share). Each payment is split on its own.
split_shares split_payment(amount paid, const split_rule& s);

// -- content --------------------------------------------------------------------------------

struct output_ref {
  std::string name; ///< 1..128 bytes
  std::string cid;  ///< 1..128 bytes
  std::uint64_t size = 0;
  friend bool operator==(const output_ref&, const output_ref&) = default;
};

/// A verifier's statement of a finished job's verified outputs.
struct job_output {
  std::string job; ///< the verifier's job id, 1..128 bytes
  node_id owner;
  node_id verifier;
  std::vector<output_ref> outputs; ///< 1..4096, strictly ascending by name
  bytes signature;
  friend bool operator==(const job_output&, const job_output&) = default;
};

constexpr std::size_t max_outputs = 4096;

bytes encode(const job_output& s);
bytes signing_payload(const job_output& s);
result<job_output> decode_job_output(byte_view in);
/// Bounds and order of the fields (what the decoder enforces).
status check_shape(const job_output& s);
void sign(job_output& s, const private_key& verifier, std::string_view chain_id);
bool verify(const job_output& s, const public_key& verifier, std::string_view chain_id);
/// SHA-256("poe/content/v1" ‖ u32 n ‖ n × output): the id of the content these outputs are.
hash256 content_id(const job_output& s);

// -- channel lanes --------------------------------------------------------------------------

/// The payer's commitment to one lane's hash chain.
struct lane_commit {
  hash256 channel;
  std::uint32_t lane = 0;
  hash256 content;
  hash256 top; ///< w0 = SHA-256^length(seed)
  std::uint32_t length = 0;
  amount price_per_tick;
  bytes signature;
  friend bool operator==(const lane_commit&, const lane_commit&) = default;
};

constexpr std::uint32_t max_lane_length = 1u << 31;

/// A payer's signed checkpoint: ticks 1..index are paid; `hash` is w(index).
struct voucher {
  hash256 channel;
  std::uint32_t lane = 0;
  std::uint32_t index = 0;
  hash256 hash;
  bytes signature;
  friend bool operator==(const voucher&, const voucher&) = default;
};

/// A payee's claim on a lane: ticks 1..tick_index are paid, `tick` = w(tick_index).
struct lane_claim {
  lane_commit commit;
  std::optional<voucher> checkpoint;
  std::uint32_t tick_index = 0;
  hash256 tick;
  friend bool operator==(const lane_claim&, const lane_claim&) = default;
};

bytes encode(const lane_commit& c);
bytes signing_payload(const lane_commit& c);
result<lane_commit> decode_lane_commit(byte_view in);
void sign(lane_commit& c, const private_key& payer, std::string_view chain_id);
bool verify(const lane_commit& c, const public_key& payer, std::string_view chain_id);
/// SHA-256 of the commitment's encoding (signature included): a lane is bound to one.
hash256 commit_id(const lane_commit& c);

bytes encode(const voucher& v);
bytes signing_payload(const voucher& v);
result<voucher> decode_voucher(byte_view in);
void sign(voucher& v, const private_key& payer, std::string_view chain_id);
bool verify(const voucher& v, const public_key& payer, std::string_view chain_id);

bytes encode(const lane_claim& c);
result<lane_claim> decode_lane_claim(byte_view in);

/// A viewer's access token for one playback session at one gateway, signed by the viewer in
/// domain playback_token (99): the payer of `channel` asks `gateway` to serve `content`,
/// paid on `lane`, until `not_after_ms` (Unix milliseconds). Carried in the URL path
/// (`to_url`: base64url without padding), so every relative URI a player resolves keeps it.
///
///     gateway (32) ‖ content (32) ‖ channel (32) ‖ u32 lane ‖ u64 not_after_ms ‖
///     u16 len ‖ viewer key (DER SPKI) ‖ u16 len ‖ signature
///
/// The signed payload is everything before the signature.
struct playback_token {
  node_id gateway;
  hash256 content;
  hash256 channel;
  std::uint32_t lane = 0;
  std::uint64_t not_after_ms = 0;
  bytes viewer_key; ///< DER SPKI of the channel's payer
  bytes signature;
  friend bool operator==(const playback_token&, const playback_token&) = default;
};
/// A token may not outlive a day from when it is checked (gateways refuse longer ones).
constexpr std::uint64_t max_token_life_ms = 24ull * 3600 * 1000;
bytes encode(const playback_token& t);
bytes signing_payload(const playback_token& t);
result<playback_token> decode_playback_token(byte_view in);
/// Sets the viewer key to `viewer`'s and signs.
void sign(playback_token& t, const private_key& viewer, std::string_view chain_id);
/// The viewer (the node id of the token's key) when the signature verifies.
result<node_id> verify(const playback_token& t, std::string_view chain_id);
/// base64url (RFC 4648 §5) without padding, and back (refusing anything else).
std::string to_url(const playback_token& t);
result<playback_token> playback_token_from_url(std::string_view text);

/// w(i-1) = SHA-256(w(i)).
hash256 tick_parent(const hash256& w);
/// Hashes `w`, which claims to be w(to), up to w(from): true when it reaches `expect` in
/// exactly to - from steps (to >= from).
bool chain_reaches(const hash256& w, std::uint32_t to, std::uint32_t from, const hash256& expect);

/// The payer's hash chain for a lane, kept by whoever pays (poe-cli, a player): w(0..length)
/// from a 32-byte seed (w(length) = seed).
class tick_chain {
public:
  tick_chain(const hash256& seed, std::uint32_t length);
  std::uint32_t length() const { return static_cast<std::uint32_t>(w_.size() - 1); }
  const hash256& top() const { return w_.front(); }
  /// w(i), 0 <= i <= length.
  const hash256& at(std::uint32_t i) const { return w_.at(i); }

private:
  std::vector<hash256> w_;
};

/// Why a claim (or a tick, or a voucher) is refused.
enum class claim_error : std::uint8_t {
  none = 0,
  bad_commit_signature,
  bad_voucher_signature,
  voucher_mismatch,   ///< the voucher names another channel or lane
  beyond_length,      ///< an index past the chain's length
  below_checkpoint,   ///< a tick below the voucher's index
  bad_tick,           ///< the tick does not hash to the voucher's hash or the top
  too_many_hashes,    ///< more than max_hashes steps from the newest checkpoint
};
std::string_view to_string(claim_error e);

/// Everything about a claim that needs no ledger state: both signatures by `payer`, the
/// voucher on the commitment's lane, indices within the chain, the tick reaching the voucher
/// (or the top) in at most `max_hashes` SHA-256 steps. The ticks it pays are `tick_index`.
claim_error check_claim(const lane_claim& c, const public_key& payer, std::string_view chain_id,
                        std::uint32_t max_hashes);

} // namespace poe::chain
