// poe-cli — the operator and developer command line of poe.

#include "commands.hpp"

#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
  CLI::App app{"poe-cli: command line of the poe Proof-of-Execution network"};
  app.require_subcommand(1);
  app.footer("Exit codes: 0 done; 1 refused or failed (the node said no with its reason, data did not\n"
             "check out, a write failed); 2 the command line or a local input is wrong (a bad option\n"
             "value, an unreadable key or file: nothing was sent); 3 the node could not be reached.");
  poe::cli::add_poe_commands(app);
  poe::cli::add_merkle_commands(app);
  poe::cli::add_evidence_commands(app);
  poe::cli::add_tx_commands(app);
  poe::cli::add_content_commands(app);
  poe::cli::add_channel_commands(app);
  poe::cli::add_watch_commands(app);
  poe::cli::add_chain_commands(app);
  poe::cli::add_storage_commands(app);
  poe::cli::add_media_commands(app);
  poe::cli::add_job_commands(app);
  poe::cli::add_notary_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    auto code = app.exit(e);
    return code == 0 ? 0 : poe::cli::usage;
  }
  return 0;
}
