#pragma once
/// @file
/// The options of each role, typed, with their defaults here and nowhere else, and their
/// ranges in `check_role_options` (no CAF include). poe-node binds its INI/command-line keys
/// straight to these fields and checks them once at start (errors name the key and where it
/// was set); the harness and the benchmarks set them by key with `set_role_option`. Roles
/// read `ctx.options()` and never parse a value.

#include "poe/core/error.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace poe::runtime {

struct validator_options {
  std::string genesis; ///< validator.genesis: the chain's genesis file (required)
  bool censor = false; ///< validator.censor: fault drill, propose without PoE headers
};

struct storage_options {
  std::size_t replicas = 2;                 ///< storage.replicas (1..16)
  std::size_t acks = 0;                     ///< storage.acks (0: all replicas; ≤ replicas)
  std::size_t max_object_mib = 4096;        ///< storage.max-object-mib (1..1048576)
  std::size_t challenge_interval_ms = 30'000; ///< storage.challenge-interval-ms (0: never)
  /// The copies a put waits for.
  std::size_t put_acks() const { return acks == 0 ? replicas : acks; }
};

struct execution_options {
  std::size_t workers = 1; ///< execution.workers (1..64): worker threads, the capacity registered
  /// execution.max-pending (1..10000000): tasks accepted and not yet answered (queued, running,
  /// fetching inputs); beyond, new tasks are refused with `queue_full` (a bound on what any
  /// peer can make this node hold, not flow control).
  std::size_t max_pending = 100'000;
};

struct verifier_options {
  std::size_t sample_rate_ppm = 50'000;  ///< verifier.sample-rate-ppm (0..1000000)
  std::size_t task_timeout_ms = 120'000; ///< verifier.task-timeout-ms (1000..86400000)
  std::size_t segment_ms = 2000;         ///< verifier.segment-ms (500..600000)
  std::string ladder = "default";        ///< verifier.ladder
  std::string preset = "veryfast";       ///< verifier.preset (x264, pinned in every task)
  std::size_t threads = 1;               ///< verifier.threads (1..16, pinned)
  std::string cpu = "avx2";              ///< verifier.cpu: avx2 or sse2 (pinned)
  std::size_t gop = 48;                  ///< verifier.gop (1..600, pinned)
  std::size_t audio_rate = 48000;        ///< verifier.audio-rate (8000..96000, pinned)
  std::size_t check_threads = 1;         ///< verifier.check-threads (1..16)
  std::size_t max_held_tasks = 10'000;   ///< verifier.max-held-tasks (100..10000000); ~5 KiB each
};

struct builder_options {
  std::size_t max_receipts = 64;      ///< builder.max-receipts (1..100000)
  std::size_t max_age_ms = 1000;      ///< builder.max-age-ms (0..3600000)
  std::size_t priority = 0;           ///< builder.priority (0..2^32-1)
  std::size_t bid_base = 10;          ///< builder.bid-base (0..2^32-1)
  std::size_t bid_per_header = 5;     ///< builder.bid-per-header (0..2^32-1)
  std::size_t bid_share_ppm = 100'000; ///< builder.bid-share-ppm (0..1000000)
  bool withhold = false;              ///< builder.withhold: fault drill, never reveal
};

struct gateway_options {
  std::string listen = "127.0.0.1:8080"; ///< gateway.listen: IPv4 host:port of the HTTP server
  std::size_t threads = 32;              ///< gateway.threads (1..256): HTTP handler threads
  /// gateway.keep-alive-s (0..300): how long an idle connection waits for its next request (an
  /// idle connection holds a socket, not a thread; 0: closed after each answer)
  std::size_t keep_alive_s = 15;
  std::size_t cache_mb = 256;            ///< gateway.cache-mb (1..65536): bodies kept in memory
  /// gateway.credit-seconds (0..600): seconds of paid content served ahead of what a lane paid
  std::size_t credit_seconds = 4;
  /// gateway.session-idle-s (1..3600): a playback session with no request for this long has
  /// ended (its final receipt is made)
  std::size_t session_idle_s = 30;
  /// gateway.receipt-every-s (10..86400): a long session's interim receipt at least this often
  std::size_t receipt_every_s = 300;
  /// gateway.web-dir: the player page's files (index.html, player.js, hls.min.js); empty: the
  /// build's web/ directory
  std::string web_dir;
};

/// Every role's options.
struct role_options {
  validator_options validator;
  storage_options storage;
  execution_options execution;
  verifier_options verifier;
  builder_options builder;
  gateway_options gateway;
};

/// Every value against its range: one "key: what is wrong" per problem (empty: all good).
std::vector<std::string> check_role_options(const role_options& o);

/// Sets the option `key` ("verifier.sample-rate-ppm") from text, parsed for its type and
/// checked against its range; the error names the key and what it expects. Unknown keys are
/// errors.
status set_role_option(role_options& o, std::string_view key, std::string_view value);

} // namespace poe::runtime
