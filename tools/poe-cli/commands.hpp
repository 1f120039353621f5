#pragma once

#include <memory>
// Each command group of poe-cli registers its subcommands here.

namespace CLI {
class App;
}

namespace poe::tools {
struct node_target;
class validator_client;
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

/// `chain status`, `chain block N`, `account show ID` — asked of a validator node.
void add_chain_commands(CLI::App& app);

/// `put FILE`, `get CID -o FILE`, `stat CID` — files in the storage role.
void add_storage_commands(CLI::App& app);

/// `media probe|split|transcode` — the execution role's media work, run locally.
void add_media_commands(CLI::App& app);

/// Connects to the validator role of the node `t` names, or exits (usage: 2, unreachable: 3).
std::unique_ptr<tools::validator_client> connect_or_die(const tools::node_target& t);

/// Exit codes shared by every command.
enum exit_code : int { ok = 0, invalid = 1, usage = 2, unreachable = 3 };

} // namespace poe::cli
