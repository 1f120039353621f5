// poe-cli evidence verify FILE — checks evidence of misbehaviour offline.
//
//   → "valid: validator <id> signed two different <kind> messages at height H round R", exit 0
//   → "invalid: <reason>", exit 1 (a file that is not evidence: exit 2)

#include "commands.hpp"
#include "poe/chain/evidence.hpp"
#include "tool_support.hpp"

#include <CLI/CLI.hpp>

#include <iostream>

namespace poe::cli {

void add_evidence_commands(CLI::App& app) {
  auto* ev = app.add_subcommand("evidence", "evidence of misbehaviour (slashing)");
  ev->require_subcommand(1);
  auto* verify = ev->add_subcommand("verify", "check an evidence file offline");
  auto file = std::make_shared<std::string>();
  verify->add_option("FILE", *file, "evidence file (poe/evidence/v1)")->required();
  verify->callback([file] {
    auto data = tools::or_die(tools::read_file(*file), "FILE");
    auto e = chain::decode_evidence(data);
    if (!e) tools::die(*file + ": " + e.err().message, usage);
    if (auto st = chain::verify_evidence(*e); !st) {
      std::cout << "invalid: " << st.err().message << '\n';
      std::exit(invalid);
    }
    std::cout << "valid: validator " << e->first.from.hex() << " signed two different "
              << chain::qbft::to_string(e->first.type) << " messages at height "
              << e->first.height << " round " << e->first.round << " (chain "
              << e->chain_id << ")\n";
  });
}

} // namespace poe::cli
