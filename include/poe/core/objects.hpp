#pragma once
/// @file
/// Plain structs of the protocol objects every role exchanges. Their wire form is Cap'n Proto
/// (schemas/*.capnp, converted by poe_wire); the protocol core and the state machines only
/// ever see these structs.

#include "poe/core/domain.hpp"
#include "poe/core/types.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace poe {

/// A key/value pair (task parameters, media facts). Lists of params are kept sorted by key
/// with unique keys, so equal objects have equal canonical bytes.
struct param {
  std::string key;
  std::string value;
  friend bool operator==(const param&, const param&) = default;
};

/// A unit of work: {request id allocated at intake, kind, parameters, input CIDs}.
struct task {
  request_id id;
  std::string kind;           ///< e.g. "transcode", "compute"
  std::vector<param> params;  ///< sorted by key, unique
  std::vector<std::string> inputs; ///< input CIDs
  node_id submitter;          ///< the coordinator that allocated the request id
  std::uint64_t created_ms = 0;
  /// The verifier's finalized tip when it made the task: that block's id draws the executors
  /// who decide a disputed result (chain/evidence.hpp, drawn_deciders). 0: none.
  std::uint64_t anchor_height = 0;
  friend bool operator==(const task&, const task&) = default;
};

/// One produced artefact of a task.
struct task_output {
  std::string name; ///< e.g. "720p/seg0.m4s"
  std::string cid;  ///< content id of the bytes in storage
  std::uint64_t size = 0;
  friend bool operator==(const task_output&, const task_output&) = default;
};

/// A task's result. PoE v1 is computed over the canonical bytes of this struct, so the
/// executor's signature binds the exact task it ran (`task_hash`), not only its request id.
struct task_result {
  request_id id;
  std::string kind;
  std::vector<task_output> outputs;
  std::vector<param> facts; ///< media facts (duration, resolution, frames), sorted by key
  hash256 task_hash;        ///< SHA-256 of the task's canonical bytes
  friend bool operator==(const task_result&, const task_result&) = default;
};

/// A verified result, ready to be aggregated into a LogBlock.
struct step_receipt {
  request_id request;
  std::string kind;
  node_id executor;
  hash256 result_hash;   ///< SHA-256 of the result's canonical bytes
  hash256 poe;           ///< PoE v1 commitment
  bytes poe_sig;         ///< executor's PoE v1 signature (result ‖ poe)
  node_id verifier;
  std::uint64_t verified_ms = 0;
  bool reexecuted = false; ///< the sample re-ran it on a second executor
  std::uint64_t work_units = 0;  ///< complexity measure for rent
  std::uint64_t result_bytes = 0; ///< bytes the outputs occupy in storage (storage rent)
  friend bool operator==(const step_receipt&, const step_receipt&) = default;
};

/// A batch of receipts of one BPI, chained into that BPI's log book.
struct log_block {
  node_id bpi;
  std::uint64_t sequence = 0;   ///< 0 for the first LogBlock of the BPI
  hash256 prev;                 ///< hash of the previous LogBlock (zero for the first)
  hash256 receipts_root;        ///< RFC 6962 root over the receipts' canonical bytes
  std::uint32_t receipt_count = 0;
  std::uint64_t first_ms = 0;
  std::uint64_t last_ms = 0;
  std::uint64_t work_units = 0;   ///< Σ of the receipts' work units (rent's complexity)
  std::uint64_t result_bytes = 0; ///< Σ of the receipts' result bytes (rent's storage part)
  friend bool operator==(const log_block&, const log_block&) = default;
};

/// Seed 004's PoE header. Its fixed binary layout is in poe_header.hpp.
struct poe_header {
  node_id bpi;
  hash256 logbook_root;
  hash256 execution_hash;
  std::uint64_t timestamp = 0;    ///< milliseconds since the Unix epoch
  std::uint64_t rent_payment = 0; ///< base units
  bytes signature;                ///< 64 bytes (Ed25519) or 256 bytes (RSA-2048)
  friend bool operator==(const poe_header&, const poe_header&) = default;
};

/// A signed, domain-separated message. The signature covers
/// `signing_bytes(chain_id, type, payload)`; the signer's SPKI DER travels along so the
/// envelope verifies offline, and the signer's node id is SHA-256 of it.
struct envelope {
  std::string chain_id;
  msg_type type = msg_type::task;
  bytes signer_key; ///< DER SubjectPublicKeyInfo
  bytes payload;    ///< canonical bytes of the inner object
  bytes signature;
  friend bool operator==(const envelope&, const envelope&) = default;
};

/// Wraps and signs `payload`.
envelope seal(const private_key& key, std::string_view chain_id, msg_type type, bytes payload);

/// Verifies an envelope for `chain_id` and `type` and returns the signer's key. Errors say
/// which check failed (wrong chain, wrong type, bad key, bad signature).
result<public_key> open(const envelope& env, std::string_view chain_id, msg_type type);

// -- task authorizations ----------------------------------------------------------------------
//
// A verifier authorizes the tasks it sends to an executor with one signature per batch: an
// envelope (msg_type::task) whose payload is
//
//     root (32) ‖ u32 count (BE)       root = RFC 6962 Merkle root over the tasks' canonical bytes
//
// A single task is a batch of one. The executor checks the envelope against the batch it got;
// anyone else (a validator judging fraud evidence) checks one task of it with its audit path
// (`task_grant`), so the evidence stays small however large the batch was.

/// The payload of a task authorization over `count` tasks with Merkle root `root`.
bytes task_auth_payload(const hash256& root, std::uint32_t count);

/// Signs the batch `tasks` (canonical task bytes, in the order sent).
envelope authorize_tasks(const private_key& key, std::string_view chain_id,
                         const std::vector<bytes>& tasks);

/// Checks that `auth` is a task authorization for chain `chain_id` over exactly `tasks` (same
/// count, same root) and returns the signer's key. Errors say which check failed.
result<public_key> check_task_auth(const envelope& auth, std::string_view chain_id,
                                   const std::vector<bytes>& tasks);

/// One task with what proves that a verifier authorized it: the signer's key and signature,
/// and the task's place in the signed batch (index, count, audit path).
struct task_grant {
  bytes task;       ///< canonical task bytes
  bytes signer_key; ///< DER SubjectPublicKeyInfo of the verifier
  bytes signature;  ///< over task_auth_payload(root, count) in (chain, msg_type::task)
  std::uint32_t index = 0;
  std::uint32_t count = 1;
  std::vector<hash256> path; ///< RFC 6962 audit path of leaf `index`
  friend bool operator==(const task_grant&, const task_grant&) = default;
};

/// The grant of task `index` of the batch `auth` signed (checked by the caller).
result<task_grant> grant_of(const envelope& auth, const std::vector<bytes>& tasks,
                            std::uint32_t index);

/// Checks a grant for chain `chain_id`: the key parses, the audit path leads from the task to
/// a root, and the signature over (root, count) verifies. Returns the verifier's key.
result<public_key> check_task_grant(const task_grant& g, std::string_view chain_id);

/// Context-free checks of parameter lists: sorted by key, unique keys.
status check_params(const std::vector<param>& params);

} // namespace poe
