#pragma once
// Each command group of poe-cli registers its subcommands here.

namespace CLI {
class App;
}

namespace poe::cli {

/// `poe commit`, `poe verify` — PoE v1 commitments (seed 003).
void add_poe_commands(CLI::App& app);
/// `merkle root`, `merkle proof`, `merkle verify` — RFC 6962 trees over files.
void add_merkle_commands(CLI::App& app);

/// `evidence verify` — evidence of misbehaviour, checked offline.
void add_evidence_commands(CLI::App& app);

/// `tx transfer`, `tx stake` — transactions signed offline.
void add_tx_commands(CLI::App& app);

/// Exit codes shared by every command.
enum exit_code : int { ok = 0, invalid = 1, usage = 2 };

} // namespace poe::cli
