// poe-cli evidence verify FILE — checks evidence of misbehaviour offline.
// poe-cli evidence submit FILE --node HOST:PORT — hands it to a validator, which gossips it and
// includes it in a block: the offender is slashed and removed from the validator set.
//   → "accepted <offender id>" or "known <offender id>" (exit 0), "rejected: <rule>: <message>" (exit 1)
//
//   → "valid: validator <id> signed two different <kind> messages at height H round R", exit 0
//   → "invalid: <reason>", exit 1 (a file that is not evidence: exit 2)

#include "commands.hpp"
#include "node_client.hpp"
#include "poe/chain/evidence.hpp"
#include "poe/core/sha256.hpp"
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
    auto data = tools::or_die(tools::read_file(*file), "FILE", usage);
    auto e = chain::decode_evidence(data);
    if (!e) tools::die(*file + ": " + e.err().message, usage);
    if (auto st = chain::verify_evidence(*e); !st) {
      std::cout << "invalid: " << st.err().message << '\n';
      std::exit(invalid);
    }
    if (auto* q = std::get_if<chain::equivocation_evidence>(&*e)) {
      std::cout << "valid: validator " << q->first.from.hex() << " signed two different "
                << chain::qbft::to_string(q->first.type) << " messages at height "
                << q->first.height << " round " << q->first.round << " (chain " << q->chain_id
                << ")\n";
    } else if (auto* x = std::get_if<chain::executor_fraud_evidence>(&*e)) {
      std::cout << "valid: executor " << chain::offender_of(*e).hex()
                << " signed a result for request " << x->request.hex()
                << " that two other executors contradict (chain " << x->chain_id << ")\n";
    } else {
      auto& f = std::get<chain::storage_fraud_evidence>(*e);
      std::cout << "valid: storage node " << chain::offender_of(*e).hex()
                << " signed a wrong answer to a storage challenge for the chunk with SHA-256 "
                << sha256::digest(f.chunk).hex() << " (chain " << f.chain_id << ")\n";
    }
  });
  auto* submit = ev->add_subcommand("submit", "hand evidence to a validator for inclusion");
  auto node = std::make_shared<tools::node_target>();
  submit->add_option("FILE", *file, "evidence file (poe/evidence/v1)")->required();
  tools::add_node_options(submit, *node);
  submit->callback([file, node] {
    auto data = tools::or_die(tools::read_file(*file), "FILE", usage);
    auto r = connect_or_die(*node)->submit_evidence(data);
    if (!r) tools::die(r.err().message, unreachable);
    std::cout << r->text << '\n';
    if (!r->taken) std::exit(invalid);
  });
}

} // namespace poe::cli
