#pragma once
/// @file
/// Every message type and atom the runtime sends between actors and nodes, and the one
/// function that registers them all (`register_messages`). Every process calls it; the
/// `runtime: registered types round-trip between two processes` test sends each of them
/// across a real connection, because a registration mismatch is otherwise silent.
///
/// Later issues add their types to `register_messages` (messages.cpp) and a sample of each to
/// `message_samples()` so the round-trip test covers them.

#include "poe/runtime/role_messages.hpp"

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace poe::runtime {

// -- atoms (at most 10 characters) ----------------------------------------------------------

/// Directory API, for roles (see directory.hpp).
using register_atom = caf::atom_constant<caf::atom("dir_reg")>;
using lookup_atom = caf::atom_constant<caf::atom("dir_lookup")>;
using subscribe_atom = caf::atom_constant<caf::atom("dir_sub")>;
using members_atom = caf::atom_constant<caf::atom("dir_member")>;
using peers_atom = caf::atom_constant<caf::atom("dir_peers")>;
/// Node-to-node handshake and announcements (directory to directory).
using hello_atom = caf::atom_constant<caf::atom("p_hello")>;
using welcome_atom = caf::atom_constant<caf::atom("p_welcome")>;
using proof_atom = caf::atom_constant<caf::atom("p_proof")>;
using announce_atom = caf::atom_constant<caf::atom("p_announce")>;
using refuse_atom = caf::atom_constant<caf::atom("p_refuse")>;
using heartbeat_atom = caf::atom_constant<caf::atom("p_beat")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
/// Node host.
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
using failed_atom = caf::atom_constant<caf::atom("failed")>;
using restart_atom = caf::atom_constant<caf::atom("restart")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;
/// The `validator` role, for roles and clients (types in role_messages.hpp): (tx_atom, bytes)
/// → submit_reply (accepted names the transaction id); (tx_atom, std::vector<bytes>) →
/// std::vector<submit_reply>, one per transaction; (evidence_atom, bytes) → submit_reply
/// (accepted names the offender); (account_atom, std::string node_id_hex) → account_view;
/// (chain_atom) → chain_status; (chain_sub_atom, u64 after, actor subscriber) → chain_status,
/// then a chain_block to `subscriber` for every finalized block above `after` and each new one
/// (chain_from_tip: from the tip on); (block_atom, u64 height) → bytes of the finalized block
/// (qbft::encode(decision)), empty when unknown; (status_atom) → std::uint64_t height;
/// (pool_atom) → decider_pool: every executor the decider draw may rank (chain/evidence.hpp);
/// (sets_atom, u64 below) → std::vector<bytes>: every change of the validator set before block
/// `below`, oldest first, each an encoded chain::set_change (what a receipt proof carries).
using tx_atom = caf::atom_constant<caf::atom("v_tx")>;
using txgossip_atom = caf::atom_constant<caf::atom("v_txg")>;
using account_atom = caf::atom_constant<caf::atom("v_acct")>;
using evidence_atom = caf::atom_constant<caf::atom("v_evid")>;
using evgossip_atom = caf::atom_constant<caf::atom("v_evg")>;
using chain_atom = caf::atom_constant<caf::atom("v_chain")>;
using chain_sub_atom = caf::atom_constant<caf::atom("v_chsub")>;
using block_atom = caf::atom_constant<caf::atom("v_blk")>;
using pool_atom = caf::atom_constant<caf::atom("v_pool")>;
using sets_atom = caf::atom_constant<caf::atom("v_sets")>;
/// Content and channels at the validator's tip: (content_atom, bytes content id) →
/// content_view; (chan_atom, bytes channel id) → channel_view (role_messages.hpp).
using content_atom = caf::atom_constant<caf::atom("v_content")>;
using chan_atom = caf::atom_constant<caf::atom("v_chan")>;
/// (escrow_atom, bytes escrow id) → job_escrow_view: a job's fee escrow at the validator's tip.
using escrow_atom = caf::atom_constant<caf::atom("v_escrow")>;
/// Notarization at the validator: (poe_atom, bytes PoE entry) → submit_reply (accepted or
/// known name the header id) — a valid entry is held for inclusion and gossiped once to the other
/// validators (poegossip_atom); (complaint_atom, bytes exclusion complaint) between validators.
using poe_atom = caf::atom_constant<caf::atom("v_poe")>;
using poegossip_atom = caf::atom_constant<caf::atom("v_poeg")>;
using complaint_atom = caf::atom_constant<caf::atom("v_cmpl")>;
/// The PBS auction: (bid_atom, bytes builder bid) from builders to validators → submit_reply
/// (kept for the next height; the proposer uses it); the proposer asks the
/// winner (bd_reveal_atom, u64 height, bytes bundle hash) → std::vector<bytes> entries.
using bid_atom = caf::atom_constant<caf::atom("v_bid")>;
/// The `rent` role: (rent_quote_atom, u64 work units, u64 result bytes, u64 priority) →
/// rent_quote_view; (rent_flows_atom, u64 last n) → rent_flows (per block and totals).
using rent_quote_atom = caf::atom_constant<caf::atom("rent_quote")>;
using rent_flows_atom = caf::atom_constant<caf::atom("rent_flows")>;
/// The `channel` role (the payee side of payment channels; types in role_messages.hpp):
/// (ch_lane_atom, bytes lane_commit) → channel_ack; (ch_tick_atom, bytes channel id, u32 lane,
/// u32 tick index, bytes w(index)) → channel_ack; (ch_vouch_atom, bytes voucher) → channel_ack;
/// (ch_ticks_atom, std::vector<bytes> ticks) → std::vector<channel_ack>, one per tick in order,
/// each tick encoded channel (32) ‖ u32 lane ‖ u32 index ‖ w(index) (32) (what a gateway
/// forwards for many viewers in one message); (ch_status_atom) → channel_report;
/// (ch_paid_atom, bytes channel id, u32 lane, bytes content id) → channel_ack: ok when the
/// lane is committed to that content, `ticks` the seconds it has paid (a gateway asks before
/// serving a segment). An acknowledgement is sent only after the lane's new state is written
/// (synced).
using ch_lane_atom = caf::atom_constant<caf::atom("ch_lane")>;
using ch_tick_atom = caf::atom_constant<caf::atom("ch_tick")>;
using ch_ticks_atom = caf::atom_constant<caf::atom("ch_ticks")>;
using ch_vouch_atom = caf::atom_constant<caf::atom("ch_vouch")>;
using ch_status_atom = caf::atom_constant<caf::atom("ch_status")>;
using ch_paid_atom = caf::atom_constant<caf::atom("ch_paid")>;
using bd_reveal_atom = caf::atom_constant<caf::atom("bd_reveal")>;
/// The `builder` role: (bd_receipt, bytes step receipt) from verifiers → submit_reply;
/// (bd_prove, string request id hex) → bytes receipt proof (chain/log_builder.hpp), an error
/// while the receipt's header is not yet in a finalized block; (bd_status) → builder_status.
/// (bd_receipts, vector<bytes> step receipts) → vector<submit_reply>, one per receipt
/// (accepted: queued; known: a duplicate): a verifier's receipts of one flush in one message.
using bd_receipt_atom = caf::atom_constant<caf::atom("bd_rcpt")>;
using bd_receipts_atom = caf::atom_constant<caf::atom("bd_rcpts")>;
using bd_prove_atom = caf::atom_constant<caf::atom("bd_prove")>;
using bd_status_atom = caf::atom_constant<caf::atom("bd_stat")>;
/// The `storage` role (docs/protocol.md): chunks and manifests by CID (text "b…").
/// (st_put, bytes chunk) → string CID after `storage.acks` copies; (st_putm, bytes manifest,
/// string owner) → string CID; (st_has, string cid) → bool (held on this node, intact or
/// not: a cheap index lookup); (st_get, string cid) → bytes (chunk or manifest; fetched from a
/// replica when missing or corrupt here); (st_stat, string cid) → object_stat; (st_pin, string
/// cid, bool pin) → string "ok"; (st_del, string cid) → "ok"; (st_list) → vector<stored_object>;
/// a client no connection proves signs st_putm, st_pin and st_del with the owner's key: it asks
/// (st_nonce) → (string chain id, bytes nonce) and appends the signed request (an encoded
/// Envelope, poe/core/client_request.hpp) as a last argument;
/// (st_chal, string cid, bytes nonce) → (bytes SHA-256(nonce ‖ chunk), bytes signature, bytes
/// DER public key). Between storage nodes: (st_rep, bytes chunk or manifest, string owner,
/// u64 stored_at_ms) → "ok" and (st_fetch, string cid) → bytes (this node only).
/// Failures are errors (caf::sec::runtime_error) whose context says why.
using st_put_atom = caf::atom_constant<caf::atom("st_put")>;
using st_putm_atom = caf::atom_constant<caf::atom("st_putm")>;
using st_get_atom = caf::atom_constant<caf::atom("st_get")>;
using st_stat_atom = caf::atom_constant<caf::atom("st_stat")>;
using st_has_atom = caf::atom_constant<caf::atom("st_has")>;
using st_pin_atom = caf::atom_constant<caf::atom("st_pin")>;
using st_del_atom = caf::atom_constant<caf::atom("st_del")>;
using st_list_atom = caf::atom_constant<caf::atom("st_list")>;
using st_chal_atom = caf::atom_constant<caf::atom("st_chal")>;
using st_rep_atom = caf::atom_constant<caf::atom("st_rep")>;
using st_fetch_atom = caf::atom_constant<caf::atom("st_fetch")>;
using st_nonce_atom = caf::atom_constant<caf::atom("st_nonce")>;
/// (st_usage, string owner) → storage_usage (files put here, for rent);
/// (st_rept) → vector<challenge_record>: challenge outcomes recorded per challenged node.
using st_usage_atom = caf::atom_constant<caf::atom("st_usage")>;
using st_rept_atom = caf::atom_constant<caf::atom("st_rept")>;
/// The `execution` role: (ex_run, bytes task, bytes authorization) → (bytes task_result, bytes poe (32), bytes
/// signature, bytes DER public key): the task (wire-encoded, poe/wire) run on a worker thread, its inputs fetched
/// from and its outputs stored in the storage role, the canonical result bound to request and
/// node by PoE v1 (seed 003). Failures are errors whose context says why. (ex_info) →
/// executor_status.
/// (ex_batch, vector<bytes> tasks) → (vector<bytes> results, vector<bytes> poes, vector<bytes>
/// signatures, vector<string> errors, bytes DER public key), per task in order: inline tasks
/// only (no input or output files); a task's error is "" when it ran (its result is empty
/// otherwise). Run and signed on a worker thread, answered together.
using ex_run_atom = caf::atom_constant<caf::atom("ex_run")>;
using ex_batch_atom = caf::atom_constant<caf::atom("ex_batch")>;
using ex_info_atom = caf::atom_constant<caf::atom("ex_info")>;

/// The `verifier` role (and job coordinator): (vf_job, string source CID, string ladder ("" =
/// the configured one), string owner) → string job id; (vf_status, string job id) →
/// job_status; (vf_receipt, string request id hex) → bytes: the step receipt (wire); (vf_compute, string
/// owner, u64 iterations, vector<vector<u8>> inline inputs) → string job id (compute tasks).
/// A job's owner is a node id: a peer's as its connection proves ("" or its own id), any for
/// this node's own actors; a client no connection proves asks (vf_nonce) → (string chain id,
/// bytes nonce) and appends a signed request (poe/core/client_request.hpp: op job over
/// job_subject, compute over compute_subject) — its signer is the owner.
using vf_job_atom = caf::atom_constant<caf::atom("vf_job")>;
using vf_compute_atom = caf::atom_constant<caf::atom("vf_compute")>;
using vf_status_atom = caf::atom_constant<caf::atom("vf_status")>;
using vf_receipt_atom = caf::atom_constant<caf::atom("vf_rcpt")>;
using vf_nonce_atom = caf::atom_constant<caf::atom("vf_nonce")>;
/// (vf_output, string job id) → bytes: the verifier's signed statement of a finished job's
/// verified outputs (chain::job_output, payments.hpp), which its owner publishes as content;
/// an error while a task is open or failed.
using vf_output_atom = caf::atom_constant<caf::atom("vf_output")>;
/// (vf_funded, string job id) → std::string: a client tells the verifier that its job's fee is
/// escrowed (job_fund included); the verifier reads the escrow from the chain and pays the
/// job's verified tasks from it (it also learns of fundings from the blocks it follows).
using vf_funded_atom = caf::atom_constant<caf::atom("vf_funded")>;

/// The `probe` diagnostic role.
using ping_atom = caf::atom_constant<caf::atom("probe_ping")>;
using echo_atom = caf::atom_constant<caf::atom("probe_echo")>;
using sink_atom = caf::atom_constant<caf::atom("probe_sink")>;
using count_atom = caf::atom_constant<caf::atom("probe_cnt")>;

// -- types ----------------------------------------------------------------------------------

/// One role instance: its name, the node id (hex) hosting it and its handle.
struct role_entry {
  std::string role;
  std::string node;
  caf::actor handle;
  friend bool operator==(const role_entry& a, const role_entry& b) {
    return a.role == b.role && a.node == b.node && a.handle == b.handle;
  }
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, role_entry& x) {
  return f(caf::meta::type_name("poe.role_entry"), x.role, x.node, x.handle);
}

/// Handshake step 1, initiator → responder (see peer_auth.hpp).
struct peer_hello {
  std::string chain_id;
  std::vector<std::uint8_t> public_key; ///< DER SubjectPublicKeyInfo
  std::vector<std::uint8_t> nonce;
  caf::actor directory; ///< the initiator's directory
  friend bool operator==(const peer_hello&, const peer_hello&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_hello& x) {
  return f(caf::meta::type_name("poe.peer_hello"), x.chain_id, x.public_key, x.nonce,
           x.directory);
}

/// Handshake step 2, responder → initiator (to `peer_hello::directory`).
struct peer_welcome {
  std::string chain_id;
  std::vector<std::uint8_t> public_key;
  std::vector<std::uint8_t> your_nonce; ///< the initiator's nonce, echoed
  std::vector<std::uint8_t> nonce;
  std::vector<std::uint8_t> signature;
  caf::actor directory; ///< the responder's directory
  friend bool operator==(const peer_welcome&, const peer_welcome&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_welcome& x) {
  return f(caf::meta::type_name("poe.peer_welcome"), x.chain_id, x.public_key, x.your_nonce,
           x.nonce, x.signature, x.directory);
}

/// A node's full set of local roles, sent to every authenticated peer on each change.
struct role_announcement {
  std::string node; ///< node id (hex) of the sender
  std::uint64_t incarnation = 0;
  std::uint64_t version = 0;
  std::vector<role_entry> roles;
  friend bool operator==(const role_announcement&, const role_announcement&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, role_announcement& x) {
  return f(caf::meta::type_name("poe.role_announcement"), x.node, x.incarnation, x.version,
           x.roles);
}

/// Handshake step 3, initiator → responder, with the initiator's roles.
struct peer_proof {
  std::vector<std::uint8_t> your_nonce; ///< the responder's nonce, echoed
  std::vector<std::uint8_t> signature;
  role_announcement roles;
  friend bool operator==(const peer_proof&, const peer_proof&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_proof& x) {
  return f(caf::meta::type_name("poe.peer_proof"), x.your_nonce, x.signature, x.roles);
}

/// A refusal at any handshake step, with the reason (auth_reject's name and text).
struct peer_refusal {
  std::vector<std::uint8_t> your_nonce;
  std::string reason;
  friend bool operator==(const peer_refusal&, const peer_refusal&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_refusal& x) {
  return f(caf::meta::type_name("poe.peer_refusal"), x.your_nonce, x.reason);
}

/// One connected peer, as reported by `(peers_atom)`.
struct peer_info {
  std::string node;    ///< node id (hex)
  std::string address; ///< "host:port" we dialled, or "inbound"
  bool outbound = false;
  std::uint32_t roles = 0;
  friend bool operator==(const peer_info&, const peer_info&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_info& x) {
  return f(caf::meta::type_name("poe.peer_info"), x.node, x.address, x.outbound, x.roles);
}

/// Registers every type above (and, as they land, every later issue's types) with `cfg`.
void register_messages(caf::actor_system_config& cfg);

/// One sample value of every registered type, wrapped in a message, for the round-trip
/// test. Handles inside are left empty.
std::vector<caf::message> message_samples();

} // namespace poe::runtime
