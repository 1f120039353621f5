// poe-cli receipt prove | verify, builder status, rent quote — the notarization layer.
//
//   poe-cli receipt prove REQUEST_ID --node BUILDER [-o FILE]
//       The receipt's proof from the builder that notarized it: receipt → LogBlock (Merkle
//       path) → PoE header → the finalized block holding it (with its commit seals). Written
//       to FILE (default REQUEST_ID.proof); a summary is printed.
//   poe-cli receipt verify FILE --genesis GENESIS
//       Checks a proof offline against the validators of GENESIS and the set changes the proof
//       carries (the set at the block's height): the verifier's signature on the
//       receipt, the executor's PoE v1 over the result, every link to the block and a quorum of
//       commit seals; prints each check. Exit 0 when it holds, 1 with the broken link otherwise.
//   poe-cli builder status --node BUILDER      the builder's log book and queues (JSON)
//   poe-cli rent quote --work-units N --bytes B [--priority P] --node RENT_NODE
//       The rent of a LogBlock with those figures under the chain's parameters (rent role).
//   poe-cli rent flows [--last N] [--json] --node RENT_NODE
//       Each block's rent: collected from BPIs, to validators, slashing pool, treasury.
#include "commands.hpp"
#include "node_client.hpp"

#include "poe/chain/genesis.hpp"
#include "poe/chain/log_builder.hpp"
#include "poe/wire/codec.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iomanip>
#include <iostream>

namespace poe::cli {

namespace {

struct notary_args {
  // One target per subcommand: CLI11 applies POE_NODE to every subcommand's --node, so a
  // shared one would let another subcommand's environment default overwrite --node.
  tools::node_target prove_node, status_node, quote_node, flows_node;
  std::string id, file, out, genesis;
  std::uint64_t work_units = 0, bytes_ = 0, priority = 0, last = 20;
  bool json = false;
};

} // namespace

void add_notary_commands(CLI::App& app) {
  auto a = std::make_shared<notary_args>();
  auto* receipt = app.get_subcommand("receipt");
  auto* prove = receipt->add_subcommand("prove", "a receipt's proof of inclusion, from its builder");
  prove->add_option("REQUEST_ID", a->id, "a step receipt's request id or a playback receipt's id (32 hex digits)")->required();
  prove->add_option("-o,--out", a->out, "where to write the proof (default REQUEST_ID.proof)");
  tools::add_node_options(prove, a->prove_node);
  prove->callback([a] {
    auto raw = or_exit(client_or_die<tools::builder_client>(a->prove_node)->prove(a->id));
    auto p = chain::decode_receipt_proof(raw);
    if (!p) tools::die("the builder sent a malformed proof: " + p.err().message, invalid);
    auto file = a->out.empty() ? a->id + ".proof" : a->out;
    if (auto st = tools::write_file(file, raw); !st) tools::die(st.err().message, invalid);
    std::cout << "proof of request " << a->id << " written to " << file << " (" << raw.size()
              << " bytes)\n  receipt " << p->in_log_block.index + 1 << " of "
              << p->in_log_block.tree_size << " in LogBlock " << p->entry.book_block.sequence
              << " of BPI " << p->entry.header.bpi.hex().substr(0, 16) << "..\n  PoE header "
              << header_id(p->entry.header).hex().substr(0, 16) << ".. (rent "
              << p->entry.header.rent_payment << ") in block " << p->height << "\n";
  });
  auto* verify = receipt->add_subcommand("verify", "check a receipt proof offline");
  verify->add_option("FILE", a->file, "the proof (poe-cli receipt prove)")->required()->check(CLI::ExistingFile);
  verify->add_option("--genesis", a->genesis, "genesis file: the chain id and validator keys")
    ->required()
    ->check(CLI::ExistingFile);
  verify->callback([a] {
    auto raw = tools::read_file(a->file);
    if (!raw) tools::die(raw.err().message, usage);
    auto g = chain::load_genesis(a->genesis);
    if (!g) tools::die(g.err().message, usage);
    auto p = chain::decode_receipt_proof(*raw);
    if (!p) tools::die("not a receipt proof: " + p.err().message, invalid);
    std::vector<public_key> validators;
    for (auto& v : g->validators) validators.push_back(v.key);
    auto facts = chain::verify_receipt_proof(*p, g->chain_id, validators);
    if (!facts) {
      std::cout << "INVALID: " << facts.err().message << "\n";
      std::exit(invalid);
    }
    // What was checked, link by link (verify_receipt_proof checked each; it names a broken one).
    if (auto& pb = facts->playback) {
      auto& r = pb->receipt;
      std::cout << "valid: playback receipt " << chain::playback_receipt_id(r.session, r.sequence).hex()
                << " (session " << r.session.hex().substr(0, 16) << ".., receipt " << r.sequence << ")\n"
                << "  " << r.seconds << " s of content " << r.content.hex().substr(0, 16) << ".. played from "
                << r.segments << " segments (root " << r.segments_root.hex().substr(0, 16) << "..) in a session of "
                << (r.ended_ms - r.started_ms) << " ms\n"
                << "  viewer " << r.viewer.hex().substr(0, 16)
                << "..: signed the playback token and the lane commitment; tick " << r.tick_index
                << " is w(" << r.tick_index << ") of its hash chain: " << r.tick_index << " s paid at "
                << pb->price_per_tick.units() << " a second on channel " << r.channel.hex().substr(0, 16)
                << ".. lane " << r.lane << "\n"
                << "  gateway " << r.gateway.hex().substr(0, 16) << "..: signed the receipt (playback_receipt domain, chain '"
                << g->chain_id << "'); seconds claimed <= paid and <= the session's length\n";
    } else {
      auto& r = facts->receipt.receipt;
      std::cout << "valid: request " << r.request.hex() << " (" << r.kind << ")\n"
                << "  executor " << facts->receipt.executor.hex().substr(0, 16)
                << "..: its key is in the proof, and its PoE v1 over the result (SHA-256 = the receipt's "
                   "result_hash) verifies\n"
                << "  verifier " << facts->receipt.verifier.hex().substr(0, 16)
                << "..: signed the receipt (step_receipt domain, chain '" << g->chain_id << "')"
                << (r.reexecuted ? "; the result was re-executed on a second executor" : "") << "\n";
    }
    std::cout << "  LogBlock " << p->entry.book_block.sequence << " of BPI "
              << p->entry.header.bpi.hex().substr(0, 16) << "..: holds it as leaf "
              << p->in_log_block.index << " of " << p->in_log_block.tree_size
              << " (RFC 6962 path to receipts_root)\n"
              << "  PoE header " << header_id(p->entry.header).hex().substr(0, 16)
              << "..: signed by the BPI, names that LogBlock\n"
              << "  block " << facts->height << " (" << facts->block_id.hex().substr(0, 16)
              << "..): holds the header as entry " << facts->entry_index << "; sealed by "
              << facts->seals_valid << " of the " << facts->validators << " validators at that height (a quorum)\n"
              << "  validator set: the " << validators.size() << " of genesis"
              << [&] {
                   std::string out;
                   for (auto h : facts->set_changes)
                     out += ", then after block " + std::to_string(h);
                   return out;
                 }()
              << (facts->set_changes.empty() ? " (no change before the block)"
                                             : " (each change sealed by the set before it; its block commits to the new set)")
              << "\n"
              << (facts->playback ? "  not checked offline: that the gateway held stake (the builder asked the "
                                    "chain when it took the receipt)\n"
                                  : "  not checked offline: that the verifier and executor held stake (the builder "
                                    "asked the chain when it took the receipt)\n");
  });

  auto* builder = app.add_subcommand("builder", "a builder node (BPI)");
  builder->require_subcommand(1);
  auto* bstatus = builder->add_subcommand("status", "the builder's log book and queues");
  tools::add_node_options(bstatus, a->status_node);
  bstatus->callback([a] {
    std::cout << nlohmann::json::parse(or_exit(client_or_die<tools::builder_client>(a->status_node)->status())).dump(2) << "\n";
  });

  auto* rent = app.add_subcommand("rent", "rent of PoE headers (seed 004)");
  rent->require_subcommand(1);
  auto* quote = rent->add_subcommand("quote", "the rent of a LogBlock under the chain's parameters");
  quote->add_option("--work-units", a->work_units, "Σ work units of its receipts")->required();
  quote->add_option("--bytes", a->bytes_, "Σ result bytes of its receipts")->required();
  quote->add_option("--priority", a->priority, "inclusion priority paid on top");
  tools::add_node_options(quote, a->quote_node);
  quote->callback([a] {
    auto c = client_or_die<tools::rent_client>(a->quote_node);
    auto j = nlohmann::json::parse(or_exit(c->quote(a->work_units, a->bytes_, a->priority)));
    std::cout << "rent " << j.value("rent_payment", std::uint64_t{0}) << " = base "
              << j.value("base", std::uint64_t{0}) << " + complexity " << j.value("complexity", std::uint64_t{0})
              << " + storage " << j.value("storage", std::uint64_t{0}) << " + priority "
              << j.value("priority", std::uint64_t{0}) << "\n  shares: validators "
              << j.value("validators_ppm", std::uint64_t{0}) / 10'000 << " %, slashing pool "
              << j.value("slashing_ppm", std::uint64_t{0}) / 10'000 << " %, treasury "
              << j.value("treasury_ppm", std::uint64_t{0}) / 10'000 << " %\n";
  });
  auto* flows = rent->add_subcommand("flows", "each block's rent (collected, to validators, slashing pool, treasury) and every money flow by kind");
  flows->add_option("--last", a->last, "the last N blocks with rent or flows (default 20)")->default_val(20);
  flows->add_flag("--json", a->json, "print JSON");
  tools::add_node_options(flows, a->flows_node);
  flows->callback([a] {
    auto c = client_or_die<tools::rent_client>(a->flows_node);
    auto j = nlohmann::json::parse(or_exit(c->flows(a->last)));
    if (a->json) {
      std::cout << j.dump(2) << "\n";
      return;
    }
    std::cout << "height  headers  collected  validators  slashing  treasury\n";
    for (auto& b : j["blocks"])
      std::cout << std::setw(6) << b["height"].get<std::uint64_t>() << std::setw(9)
                << b["headers"].get<std::uint64_t>() << std::setw(11) << b["collected"].get<std::uint64_t>()
                << std::setw(12) << b["validators"].get<std::uint64_t>() << std::setw(10)
                << b["slashing"].get<std::uint64_t>() << std::setw(10) << b["treasury"].get<std::uint64_t>()
                << "\n";
    auto& t = j["totals"];
    std::cout << " total" << std::setw(9) << t["headers"].get<std::uint64_t>() << std::setw(11)
              << t["collected"].get<std::uint64_t>() << std::setw(12) << t["validators"].get<std::uint64_t>()
              << std::setw(10) << t["slashing"].get<std::uint64_t>() << std::setw(10)
              << t["treasury"].get<std::uint64_t>() << "   (scanned to height "
              << j["scanned_height"].get<std::uint64_t>() << ")\n";
    if (!t["flows"].empty()) std::cout << "money flows in total, by kind:\n";
    for (auto& [kind, v] : t["flows"].items())
      std::cout << "  " << std::left << std::setw(18) << kind << std::right << " " << v.get<std::string>() << "\n";
  });
}

} // namespace poe::cli
