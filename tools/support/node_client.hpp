#pragma once
// Clients of a running node's roles (validator, storage) for the command-line tools. No CAF
// in this header: poe-cli's offline commands stay free of it.
//
// Connects to the node's published directory (mutual TLS with a cluster key, or plain TCP for
// nodes run with node.insecure-plaintext), looks up the node's own role and asks it.

#include "poe/core/error.hpp"
#include "poe/core/types.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace CLI {
class App;
}

namespace poe::tools {

struct node_target {
  std::string address; ///< host:port of the node
  std::string key, cert, ca;
  bool plaintext = false;
  int timeout_s = 5;
};

/// --node (env POE_NODE), --tls-key/--tls-cert/--tls-ca (env POE_TLS_KEY, POE_TLS_CERT,
/// POE_TLS_CA), --plaintext, --timeout. `required`: --node must be given (else it is optional).
void add_node_options(CLI::App* cmd, node_target& t, bool required = true);

namespace detail {
struct connection; // a CAF actor system connected to one node's role
} // namespace detail

class validator_client {
public:
  /// Connects and finds the validator role. Errors: errc::invalid_argument (options),
  /// errc::unavailable (unreachable, or the node runs no validator role).
  static result<std::unique_ptr<validator_client>> connect(const node_target& t);
  ~validator_client();

  /// A validator's answer to a submission: taken (accepted or already known) or not, and its
  /// text: "accepted <id>", "known <id>" or "rejected: <reason>: <message>".
  struct submission {
    bool taken = false;
    std::string text;
  };
  result<submission> submit_transaction(const bytes& wire);
  result<submission> submit_evidence(const bytes& wire);
  /// JSON texts (see the validator role's messages in poe/runtime/messages.hpp).
  result<std::string> chain_status();
  result<std::string> account(const std::string& id_hex);
  /// The finalized block at `height` (qbft::encode(decision)); empty when there is none.
  result<bytes> block(std::uint64_t height);
  /// JSON: published content / a channel at the validator's tip ("found": false when none).
  result<std::string> content(const hash256& id);
  result<std::string> channel(const hash256& id);
  /// JSON: a job's fee escrow ("found": false when none).
  result<std::string> escrow(const hash256& id);

private:
  explicit validator_client(std::unique_ptr<detail::connection> p);
  std::unique_ptr<detail::connection> impl_;
};

/// A client of a node's `storage` role. Errors carry the node's reason.
class storage_client {
public:
  static result<std::unique_ptr<storage_client>> connect(const node_target& t);
  ~storage_client();

  /// The chunk's CID once the node stored the configured number of copies.
  result<std::string> put_chunk(const bytes& chunk);
  /// The manifest's CID (all its chunks must be stored first).
  result<std::string> put_manifest(const bytes& manifest, const std::string& owner);
  /// A chunk's or manifest's bytes (the node fetches from a replica if needed).
  result<bytes> get(const std::string& cid);
  /// Whether this node holds the chunk or manifest (an index lookup, no re-hash).
  result<bool> has(const std::string& cid);
  /// JSON (see the storage role's messages).
  result<std::string> stat(const std::string& cid);
  result<std::string> list();
  result<std::string> usage(const std::string& owner);
  result<std::string> reputation();
  /// "ok", or the refusal (pinned, referenced, not stored).
  result<std::string> pin(const std::string& cid, bool pin);
  result<std::string> remove(const std::string& cid);
  /// The node's answer to a storage challenge, SHA-256(nonce ‖ chunk), signed by its key
  /// (msg_type::storage_proof over chain::storage_proof_payload), or its refusal.
  struct challenge_reply {
    bytes answer, signature, key; ///< key: the node's public key (DER SPKI)
  };
  result<challenge_reply> challenge(const std::string& cid, const bytes& nonce);

private:
  explicit storage_client(std::unique_ptr<detail::connection> p);
  std::unique_ptr<detail::connection> impl_;
};

/// A client of a node's `verifier` role (jobs, receipts).
class verifier_client {
public:
  static result<std::unique_ptr<verifier_client>> connect(const node_target& t);
  ~verifier_client();

  /// The job id, or the refusal (non-media source, bad ladder, no storage).
  result<std::string> submit_job(const std::string& source_cid, const std::string& ladder,
                                 const std::string& owner);
  /// Starts a compute job: one task per inline input (Proof-of-Compute); the job id.
  result<std::string> submit_compute(const std::string& owner, std::uint64_t iterations,
                                     const std::vector<bytes>& inputs);
  /// JSON progress (see the verifier role's messages).
  result<std::string> job_status(const std::string& job);
  /// JSON step receipt.
  result<std::string> receipt(const std::string& request_hex);
  /// The verifier's signed statement of a finished job's outputs (chain::job_output, encoded).
  result<bytes> job_output(const std::string& job);
  /// Tells the verifier its job's fee is escrowed; its answer (what it will pay).
  result<std::string> funded(const std::string& job);
  /// The verifier's node id (hex), as its node's directory names it.
  const std::string& node() const;

private:
  explicit verifier_client(std::unique_ptr<detail::connection> p);
  std::unique_ptr<detail::connection> impl_;
};

/// A client of a node's `channel` role: the payee side of payment channels (a payer's lane
/// commitments, ticks and vouchers; each answered only after the payee stored it).
class channel_client {
public:
  static result<std::unique_ptr<channel_client>> connect(const node_target& t);
  ~channel_client();

  /// The payee's answer: taken (ok) or refused (reason: channel_state.hpp's refusal name).
  struct ack {
    bool ok = false;
    std::string reason;
    std::uint32_t ticks = 0; ///< the lane's ticks the payee holds
    std::uint64_t owed = 0;  ///< the channel's total owed
  };
  result<ack> lane(const bytes& lane_commit);
  result<ack> tick(const hash256& channel, std::uint32_t lane, std::uint32_t index, const hash256& w);
  result<ack> voucher(const bytes& voucher);
  /// JSON: the channels paying this node, owed, settled, pending.
  result<std::string> status();

private:
  explicit channel_client(std::unique_ptr<detail::connection> p);
  std::unique_ptr<detail::connection> impl_;
};

/// A client of a node's `builder` role (receipt proofs, status).
class builder_client {
public:
  static result<std::unique_ptr<builder_client>> connect(const node_target& t);
  ~builder_client();
  /// The encoded receipt proof (chain/log_builder.hpp), or why there is none (yet).
  result<bytes> prove(const std::string& request_hex);
  result<std::string> status();

private:
  explicit builder_client(std::unique_ptr<detail::connection> p);
  std::unique_ptr<detail::connection> impl_;
};

/// A client of a node's `rent` role (quotes, rent flows).
class rent_client {
public:
  static result<std::unique_ptr<rent_client>> connect(const node_target& t);
  ~rent_client();
  result<std::string> quote(std::uint64_t work_units, std::uint64_t result_bytes,
                            std::uint64_t priority);
  result<std::string> flows(std::uint64_t last);

private:
  explicit rent_client(std::unique_ptr<detail::connection> p);
  std::unique_ptr<detail::connection> impl_;
};

} // namespace poe::tools
