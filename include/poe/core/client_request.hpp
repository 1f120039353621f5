#pragma once
/// @file
/// Requests signed by a client no cluster connection proves (the CLI, an application): a
/// storage delete, pin, unpin or file put, a job submission. The node hands out a fresh nonce
/// first, so a signed request is good once and for that node only; the signer's node id is the
/// owner the request acts as.
///
///     payload = "poe/client-request/v1" ‖ u8 op ‖ u16 len ‖ subject ‖ nonce (32)
///
/// signed in the `client_request` domain (type 65) as an Envelope. The subject names what the
/// request is for (request_subject): a CID for storage, source and ladder for a job, the work
/// for a compute job, so a signature for one request is no use for another.
#include "poe/core/error.hpp"
#include "poe/core/keys.hpp"
#include "poe/core/objects.hpp"
#include "poe/core/types.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <string_view>
#include <vector>

namespace poe {

enum class request_op : std::uint8_t { put = 1, remove = 2, pin = 3, unpin = 4, job = 5, compute = 6 };
std::string_view to_string(request_op op);

bytes request_payload(request_op op, std::string_view subject, const hash256& nonce);

/// The subject of a job request: source CID ‖ "|" ‖ ladder text.
std::string job_subject(std::string_view source, std::string_view ladder);
/// The subject of a compute request: iterations ‖ "|" ‖ hex SHA-256 over the length-prefixed inputs.
std::string compute_subject(std::uint64_t iterations, const std::vector<std::vector<std::uint8_t>>& inputs);

/// The signed request (an Envelope) for `op` on `subject` with the node's `nonce`.
envelope sign_request(const private_key& key, std::string_view chain_id, request_op op,
                      std::string_view subject, const hash256& nonce);

/// Checks that `env` is a request for `op` on `subject` in chain `chain_id`, signed over
/// `nonce`; returns the signer's node id (the owner). Errors say which check failed.
result<node_id> check_request(const envelope& env, std::string_view chain_id, request_op op,
                              std::string_view subject, const hash256& nonce);

/// The nonce a signed request names (the caller looks it up among those it handed out).
result<hash256> nonce_of(const envelope& env);

/// The nonces a node handed out for signed requests, each good once until it expires; at most
/// `capacity` held (the oldest dropped first). Time and randomness are the caller's.
class nonce_book {
public:
  explicit nonce_book(std::size_t capacity = 10'000, std::uint64_t ttl_ms = 60'000)
    : capacity_(capacity), ttl_ms_(ttl_ms) {}

  /// Remembers `fresh` (32 random bytes from the caller) as handed out at `now_ms`.
  void issue(const hash256& fresh, std::uint64_t now_ms);
  /// A fresh nonce drawn from `rng` (the role's seeded source), handed out at `now_ms`.
  template <class Rng>
  hash256 issue_from(Rng& rng, std::uint64_t now_ms) {
    hash256 n;
    for (auto& b : n.data) b = static_cast<std::uint8_t>(rng());
    issue(n, now_ms);
    return n;
  }
  /// Uses up `n` if it was handed out and has not expired; false otherwise.
  bool consume(const hash256& n, std::uint64_t now_ms);
  std::size_t size() const { return live_.size(); }

private:
  std::size_t capacity_;
  std::uint64_t ttl_ms_;
  std::map<hash256, std::uint64_t> live_; // nonce → expiry
  std::deque<hash256> order_;             // oldest first (may name used nonces)
};

/// Checks a signed request `env` (decoded from the wire) for `op` on `subject` against the
/// nonces of `book`, using its nonce up once it checks: returns the signer's node id. Errors
/// start with "not_authorized:" and say which check failed.
result<node_id> signer_of(nonce_book& book, std::uint64_t now_ms, std::string_view chain_id,
                          const envelope& env, request_op op, std::string_view subject);

} // namespace poe
