#pragma once

// Each command group of poe-cli registers its subcommands here.
#include "poe/core/error.hpp"
#include "tool_support.hpp"

#include <memory>

namespace CLI {
class App;
}

#include <string>

namespace poe::tools {
struct node_target;
class validator_client;
class storage_client;
} // namespace poe::tools

namespace poe::cli {

/// `poe commit`, `poe verify` — PoE v1 commitments (seed 003).
void add_poe_commands(CLI::App& app);
/// `merkle root`, `merkle proof`, `merkle verify` — RFC 6962 trees over files.
void add_merkle_commands(CLI::App& app);

/// `evidence verify` — evidence of misbehaviour, checked offline.
void add_evidence_commands(CLI::App& app);

/// `tx transfer|stake|unstake` (signed offline, written and/or submitted), `tx submit`.
void add_tx_commands(CLI::App& app);

/// `content publish JOB --price-per-second N [--split S]` — a finished job's verified output as
/// content (the verifier's signed statement, published by the job's owner); `content show ID`.
void add_content_commands(CLI::App& app);

/// `channel open|topup|pay|status|close|collect` — the payer's side of payment channels.
void add_channel_commands(CLI::App& app);

/// `watch URL --key PAYER` — a headless viewer of a gateway that pays per second.
void add_watch_commands(CLI::App& app);

/// `chain status`, `chain block N`, `account show ID` — asked of a validator node.
void add_chain_commands(CLI::App& app);

/// `put FILE`, `get CID -o FILE`, `stat CID` — files in the storage role.
void add_storage_commands(CLI::App& app);

/// Uploads FILE (chunks with a progress bar on stderr, then the manifest); its CID. Exits
/// with the node's reason on a refusal.
std::string upload_file(tools::storage_client& c, const std::string& file,
                        const std::string& media_type, const std::string& owner);

/// `job submit FILE|CID`, `job status ID`, `receipt show REQUEST_ID` — the verifier role.
void add_job_commands(CLI::App& app);

/// `receipt prove|verify`, `builder status`, `rent quote` — the notarization layer (after
/// add_job_commands, which makes `receipt`).
void add_notary_commands(CLI::App& app);

/// `media probe|split|transcode` — the execution role's media work, run locally.
void add_media_commands(CLI::App& app);

/// Connects to the validator role of the node `t` names, or exits (usage: 2, unreachable: 3).
std::unique_ptr<tools::validator_client> connect_or_die(const tools::node_target& t);

/// Exit codes shared by every command.
enum exit_code : int { ok = 0, invalid = 1, usage = 2, unreachable = 3 };

/// Connects to the storage role of the node `t` names, or exits (usage: 2, unreachable: 3).
std::unique_ptr<tools::storage_client> storage_or_die(const tools::node_target& t);

/// Connects to the role `Client` serves (tools::validator_client, storage_client, ...) on the
/// node `t` names, or exits (usage: 2, unreachable: 3).
template <class Client>
std::unique_ptr<Client> client_or_die(const tools::node_target& t) {
  auto c = Client::connect(t);
  if (!c) tools::die(c.err().message, c.err().code == errc::invalid_argument ? usage : unreachable);
  return std::move(*c);
}

/// Unwraps a node's answer or exits: unreachable 3, a refusal 1 (with the node's reason).
template <class T>
T or_exit(result<T> r) {
  if (!r) tools::die(r.err().message, r.err().code == errc::unavailable ? unreachable : invalid);
  return std::move(*r);
}

} // namespace poe::cli
