#pragma once
/// @file
/// Signature domains. Every signature poe makes (except the PoE v1 signature, whose bytes
/// seed 003 fixes) is over `signing_bytes(chain_id, type, payload)`:
///
///     "poe/sig/v1" (10 ASCII bytes) ‖ len(chain_id) (1 byte) ‖ chain_id ‖ type (u16 BE) ‖ payload
///
/// so a signature made for one chain or one purpose never verifies for another.

#include "poe/core/keys.hpp"
#include "poe/core/types.hpp"

#include <cstdint>
#include <string_view>

namespace poe {

/// The purpose of a signed message. Values are part of the protocol; never renumber.
enum class msg_type : std::uint16_t {
  task = 1,
  task_result = 2,
  step_receipt = 3,
  log_block = 4,
  poe_header = 5,
  // consensus (QBFT)
  proposal = 16,
  prepare = 17,
  commit = 18,
  round_change = 19,
  commit_seal = 20,
  // ledger
  transaction = 32,
  // notarization market
  builder_bid = 48,
  bundle_reveal = 49,
  exclusion_complaint = 50,
  // storage; requests signed by clients (client_request.hpp)
  storage_proof = 64,
  client_request = 65,
  // transport
  peer_auth = 80,
  // payments (poe/chain/payments.hpp)
  job_output = 96,
  lane_commit = 97,
  voucher = 98,
  playback_token = 99,
  playback_receipt = 100,
};

/// Stable name of a message type ("poe_header", ...).
std::string_view to_string(msg_type t);
/// Maps a wire value to a known type; unknown values are an error.
result<msg_type> to_msg_type(std::uint16_t raw);

/// Chain ids are 1..64 printable ASCII characters without spaces.
status check_chain_id(std::string_view chain_id);

/// The domain prefix: "poe/sig/v1" ‖ len ‖ chain_id ‖ type. The chain id must be valid.
bytes domain_prefix(std::string_view chain_id, msg_type type);

/// The full signed bytes: domain_prefix ‖ payload.
bytes signing_bytes(std::string_view chain_id, msg_type type, byte_view payload);

/// Signs `payload` in the domain (chain_id, type).
bytes sign_in_domain(const private_key& key, std::string_view chain_id, msg_type type,
                     byte_view payload);
/// Verifies a signature made by `sign_in_domain`.
bool verify_in_domain(const public_key& key, std::string_view chain_id, msg_type type,
                      byte_view payload, byte_view sig);
bool verify_in_domain(verifier& v, std::string_view chain_id, msg_type type, byte_view payload,
                      byte_view sig);

} // namespace poe
