#pragma once
/// @file
/// The roles of this build. Every role lives in its own folder under actors/ and adds itself
/// here; roles of later issues are listed already, marked "not in this build".

#include "poe/runtime/role.hpp"

namespace poe::actors {

/// `probe`: a diagnostic role that answers pings, echoes any registered message and counts
/// one-way payloads. Used by devnet status, the transport benchmark and the type round-trip
/// test.
runtime::role_info probe_role();

/// `validator`: QBFT consensus, blocks, the ledger (chain issue; in progress: no transaction
/// gossip or CLI yet). Needs `validator.genesis` and the node's store.
runtime::role_info validator_role();

runtime::role_info storage_role();

/// `execution`: runs tasks (transcode, compute) on `execution.workers` worker threads, inputs
/// from and outputs to the storage role, each result bound by PoE v1. Needs the node key.
runtime::role_info execution_role();

/// `verifier`: coordinates jobs (source → segments → transcode tasks), checks every PoE v1 and
/// the outputs, re-runs a sample on a second executor, reports fraud, persists receipts.
/// Needs the node key and store, a validator (stakes, block hashes) and storage.
runtime::role_info verifier_role();

/// `builder`: a BPI — step receipts from verifiers into LogBlocks, signed PoE headers offered
/// to validators, inclusion followed block by block, receipt proofs served. Needs the node key
/// and store and a validator (rent parameters, blocks).
runtime::role_info builder_role();

/// `rent`: prices PoE headers (quotes) from the chain's rent parameters and accounts each
/// finalized block's rent flows (validators, slashing pool, treasury). Needs the node's store
/// and a validator.
runtime::role_info rent_role();

/// `channel`: the payee side of viewer payment channels — lane commitments, ticks and vouchers
/// verified and stored (synced) before they are acknowledged, claims submitted when due (at
/// once when a payer starts closing). Needs the node key and store and a validator.
runtime::role_info channel_role();

/// `gateway`: published content as HLS over HTTP (gateway.listen) for real players: playlists
/// from the chain's content and the measured segments, segments checked against their CIDs.
/// Needs the node's store, a validator and a storage role.
runtime::role_info gateway_role();

/// Every role poe-node knows.
runtime::role_registry builtin_roles();

} // namespace poe::actors
