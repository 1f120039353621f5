#pragma once
/// @file
/// The payee side of payment channels as a pure state machine (no CAF, no store, no clock):
/// the channel role feeds it what the chain says (channels opened to this node, top-ups,
/// closes, claims settled, content prices, block heights) and what payers send (lane
/// commitments, ticks, vouchers), and it answers with effects: records to write (the actor
/// writes them, synced, before it sends any acknowledgement) and lane claims to submit.
///
/// Acceptance rules (payments.hpp for the objects):
/// - a lane commitment: for a channel the chain opened to this node, not closing or expired,
///   signed by its payer, naming published content at a price per tick >= the content's price
///   per second (a tick is a second of playback), a lane not yet bound to another commitment,
///   and no more lanes per channel than the chain settles (max_channel_lanes);
/// - a tick i: on a known lane; i <= held is a duplicate (it grants nothing new, so a late or
///   repeated tick is answered like the first: ticks are idempotent and order-tolerant);
///   i > held must hash to the held tick in i - held steps, at most `max_gap`; the channel's
///   total owed (Σ lanes' ticks × price) must stay within its deposit, and no lane may run more
///   than the chain's max_tick_hashes past its newest checkpoint (settling would be refused);
/// - a voucher: the payer's signature on a known lane, index above the held checkpoint and not
///   beyond the chain length; it also counts as ticks up to its index.
/// Claims (`due`): every lane with unclaimed ticks of a channel whose payer started closing
/// (at once: the challenge window is short), of a channel within `expiry_margin` blocks of
/// expiry, or — on schedule — of a channel not claimed for `claim_every` blocks; a claim not
/// seen settled within `resubmit_after` blocks is made again.

#include "poe/chain/payments.hpp"
#include "poe/core/amount.hpp"
#include "poe/core/types.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace poe::actors::channel {

/// Bytes of a claim transaction besides its lane claims, at most: chain id (<= 64), nonce, fee,
/// the sender's key (an RSA-2048 SPKI is 294 bytes), the channel, counts, the signature (256).
constexpr std::uint64_t claim_tx_overhead = 1024;

struct payee_params {
  std::uint32_t max_gap = 600;          ///< most ticks one tick may jump
  std::uint32_t max_tick_hashes = 4096; ///< the chain's bound from the newest checkpoint
  std::uint32_t max_lanes = 1024;       ///< the chain's max_channel_lanes (lanes it settles)
  std::uint64_t claim_every = 30;       ///< blocks between scheduled claims of a channel
  std::uint64_t expiry_margin = 20;     ///< claim when expiry is this close
  std::uint64_t resubmit_after = 5;     ///< blocks before an unsettled claim is made again
  std::size_t max_claims = 256;         ///< lane claims per transaction
  std::uint64_t max_tx_bytes = 65536;   ///< the chain's bound on a transaction's encoding
};

/// A channel to this node, as the chain has it.
struct channel_facts {
  node_id payer;
  bytes payer_key; ///< DER SPKI
  amount deposit;
  std::uint64_t expiry_height = 0;
  std::uint64_t closing_height = 0; ///< 0: the payer has not started closing
};

/// One lane's best state: what the node may claim.
struct lane_best {
  chain::lane_commit commit;
  std::optional<chain::voucher> checkpoint;
  std::uint32_t ticks = 0; ///< highest tick held
  hash256 tick;            ///< w(ticks) (the top when ticks is 0)
  std::uint32_t settled = 0; ///< ticks the chain has paid
  friend bool operator==(const lane_best&, const lane_best&) = default;
};

/// The lanes of one channel by number: a hash table (a tick finds its lane in O(1); measured
/// faster here than a tree or a sorted array), iterated in lane order when order matters.
class lane_table {
public:
  lane_best* find(std::uint32_t lane);
  const lane_best* find(std::uint32_t lane) const;
  /// The lane's state, made empty if it had none.
  lane_best& slot(std::uint32_t lane) { return map_[lane]; }
  std::size_t size() const { return map_.size(); }
  /// Every lane, in lane order (for what must be deterministic: claim plans).
  std::vector<lane_best*> all();
  /// Calls f(const lane_best&) for every lane, in no order (sums and checks).
  template <class F>
  void each(F&& f) const {
    for (auto& [n, l] : map_) f(l);
  }

private:
  std::unordered_map<std::uint32_t, lane_best> map_;
};

/// Why a payment was refused (the actor's reply carries it).
enum class refusal : std::uint8_t {
  none = 0,
  unknown_channel, ///< no open channel from the chain to this node by that id
  channel_closed,  ///< closing or expired
  bad_signature,   ///< not the payer's
  unknown_content, ///< not published
  price_too_low,   ///< below the content's price per second
  lane_taken,      ///< the lane is bound to another commitment
  unknown_lane,    ///< a tick or voucher for a lane without commitment
  bad_tick,        ///< does not hash to what is held
  gap_too_large,   ///< more than max_gap ahead
  over_deposit,    ///< the channel's deposit does not cover it
  needs_voucher,   ///< more than max_tick_hashes past the newest checkpoint
  beyond_length,   ///< past the lane's chain
  too_many_lanes,  ///< the channel has the chain's max_channel_lanes lanes already
};
std::string_view to_string(refusal r);

/// What a payment did: refused, a duplicate (nothing new), or new state to write first.
struct outcome {
  refusal why = refusal::none;
  bool fresh = false;             ///< the lane's record changed: write it before acknowledging
  std::uint32_t ticks = 0;        ///< the lane's ticks held afterwards
  amount owed;                    ///< the channel's total owed afterwards
  bool ok() const { return why == refusal::none; }
};

/// Lane claims to put in one channel_claim (or close) transaction.
struct claim_plan {
  hash256 channel;
  std::vector<chain::lane_claim> claims;
};

class payee_book {
public:
  payee_book(node_id self, std::string chain_id, payee_params p = {});
  // It points into its own channels (the last tick's channel): not copied or moved.
  payee_book(const payee_book&) = delete;
  payee_book& operator=(const payee_book&) = delete;

  // -- the chain ----------------------------------------------------------------------------
  void on_block(std::uint64_t height) { height_ = height; }
  /// The chain's bounds (genesis: max_tick_hashes, max_channel_lanes, max_tx_bytes), once it
  /// said them.
  void set_chain_bounds(std::uint32_t max_tick_hashes, std::uint32_t max_lanes, std::uint64_t max_tx_bytes) {
    p_.max_tick_hashes = max_tick_hashes;
    p_.max_lanes = max_lanes;
    p_.max_tx_bytes = max_tx_bytes;
  }
  void on_channel(const hash256& id, channel_facts f);
  void on_channel_gone(const hash256& id);
  void on_content(const hash256& id, amount price_per_second) { prices_[id] = price_per_second; }
  /// The chain paid `ticks` on a lane (a claim of ours, or anyone's, was executed).
  void on_settled(const hash256& channel, std::uint32_t lane, std::uint32_t ticks);

  // -- payers -------------------------------------------------------------------------------
  outcome add_lane(const chain::lane_commit& c);
  outcome tick(const hash256& channel, std::uint32_t lane, std::uint32_t index, const hash256& w);
  outcome add_voucher(const chain::voucher& v);

  // -- claims -------------------------------------------------------------------------------
  /// Claims due at the current height (each plan at most max_claims lanes), marked submitted.
  std::vector<claim_plan> due();

  // -- restore and inspection ---------------------------------------------------------------
  /// A lane record as written (restore, before any input).
  void restore(const hash256& channel, const lane_best& l);
  /// A tick journaled after its lane's record (restore): raises the lane to it, unchecked (it
  /// was checked before it was written); a lane not restored is ignored.
  void restore_tick(const hash256& channel, std::uint32_t lane, std::uint32_t index, const hash256& w);
  const lane_best* lane(const hash256& channel, std::uint32_t lane) const;
  /// Calls f(channel id, lane_best) for every lane held, in no order.
  template <class F>
  void each_lane(F&& f) const {
    for (auto& [id, c] : channels_) c.lanes.each([&](const lane_best& l) { f(id, l); });
  }
  std::optional<channel_facts> facts(const hash256& channel) const;
  amount owed(const hash256& channel) const;
  /// Σ lanes' settled ticks × price (what the chain paid, before its escrow cap).
  amount settled(const hash256& channel) const;
  std::size_t lanes_of(const hash256& channel) const;
  /// Every channel the chain told of, by id.
  std::map<hash256, channel_facts> all_facts() const;
  /// Owed but not yet settled on chain, over every channel.
  amount pending() const;
  std::size_t channel_count() const { return channels_.size(); }
  std::size_t lane_count() const;

  /// A lane record's bytes (commit ‖ voucher ‖ ticks ‖ tick ‖ settled) and back.
  static bytes encode(const lane_best& l);
  static result<lane_best> decode(byte_view in);

private:
  struct chan {
    std::optional<channel_facts> facts; ///< nullopt: lanes restored before the chain said
    lane_table lanes;
    std::optional<public_key> payer;
    std::uint64_t last_claim = 0;     ///< height of our last claim
    std::uint64_t submitted_at = 0;   ///< height of an unsettled submission, 0 if none
    unsigned __int128 owed = 0;       ///< Σ lanes' ticks × price, kept as ticks move
  };
  bool open_for_payment(const chan& c) const;
  amount owed_of(const chan& c) const;

  node_id self_;
  std::string chain_id_;
  payee_params p_;
  std::uint64_t height_ = 0;
  std::map<hash256, chan> channels_;
  /// The channel of the last tick: ticks come in runs of one channel (a session, a gateway's
  /// batch), so most skip the tree (reset when a channel is removed).
  hash256 last_id_;
  chan* last_ = nullptr;
  std::map<hash256, amount> prices_;
};

} // namespace poe::actors::channel
