// poe-cli receipt prove | verify, builder status, rent quote — the notarization layer.
//
//   poe-cli receipt prove REQUEST_ID --node BUILDER [-o FILE]
//       The receipt's proof from the builder that notarized it: receipt → LogBlock (Merkle
//       path) → PoE header → the finalized block holding it (with its commit seals). Written
//       to FILE (default REQUEST_ID.proof); a summary is printed.
//   poe-cli receipt verify FILE --genesis GENESIS
//       Checks a proof offline against the validators of GENESIS: every link and a quorum of
//       commit seals. Exit 0 when it holds, 1 with the broken link otherwise.
//   poe-cli builder status --node BUILDER      the builder's log book and queues (JSON)
//   poe-cli rent quote --work-units N --bytes B [--priority P] --node VALIDATOR
//       The rent of a LogBlock with those figures under the chain's parameters.
#include "commands.hpp"
#include "node_client.hpp"

#include "poe/chain/genesis.hpp"
#include "poe/chain/log_builder.hpp"
#include "poe/wire/codec.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>

namespace poe::cli {

namespace {

std::unique_ptr<tools::builder_client> builder_or_die(const tools::node_target& t) {
  auto c = tools::builder_client::connect(t);
  if (!c) tools::die(c.err().message, c.err().code == errc::invalid_argument ? usage : unreachable);
  return std::move(*c);
}

struct notary_args {
  tools::node_target node;
  std::string id, file, out, genesis;
  std::uint64_t work_units = 0, bytes_ = 0, priority = 0;
};

} // namespace

void add_notary_commands(CLI::App& app) {
  auto a = std::make_shared<notary_args>();
  auto* receipt = app.get_subcommand("receipt");
  auto* prove = receipt->add_subcommand("prove", "a receipt's proof of inclusion, from its builder");
  prove->add_option("REQUEST_ID", a->id, "the request id (32 hex digits)")->required();
  prove->add_option("-o,--out", a->out, "where to write the proof (default REQUEST_ID.proof)");
  tools::add_node_options(prove, a->node);
  prove->callback([a] {
    auto raw = or_exit(builder_or_die(a->node)->prove(a->id));
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
    auto r = wire::decode_step_receipt(p->receipt);
    std::cout << "valid: the receipt";
    if (r) std::cout << " of request " << r->request.hex() << " (" << r->kind << ", executor "
                     << r->executor.hex().substr(0, 12) << "..)";
    std::cout << " is leaf " << p->in_log_block.index << " of LogBlock "
              << p->entry.book_block.sequence << ", notarized by BPI "
              << p->entry.header.bpi.hex().substr(0, 12) << ".. in PoE header "
              << header_id(p->entry.header).hex().substr(0, 16) << "..,\n  entry "
              << facts->entry_index << " of block " << facts->height << " ("
              << facts->block_id.hex().substr(0, 16) << "..), sealed by " << facts->seals_valid
              << " of " << validators.size() << " genesis validators\n";
  });

  auto* builder = app.add_subcommand("builder", "a builder node (BPI)");
  builder->require_subcommand(1);
  auto* bstatus = builder->add_subcommand("status", "the builder's log book and queues");
  tools::add_node_options(bstatus, a->node);
  bstatus->callback([a] {
    std::cout << nlohmann::json::parse(or_exit(builder_or_die(a->node)->status())).dump(2) << "\n";
  });

  auto* rent = app.add_subcommand("rent", "rent of PoE headers (seed 004)");
  rent->require_subcommand(1);
  auto* quote = rent->add_subcommand("quote", "the rent of a LogBlock under the chain's parameters");
  quote->add_option("--work-units", a->work_units, "Σ work units of its receipts")->required();
  quote->add_option("--bytes", a->bytes_, "Σ result bytes of its receipts")->required();
  quote->add_option("--priority", a->priority, "inclusion priority paid on top");
  tools::add_node_options(quote, a->node);
  quote->callback([a] {
    auto j = nlohmann::json::parse(or_exit(connect_or_die(a->node)->chain_status()));
    auto& r = j.at("rent");
    chain::rent_params p;
    auto amt = [&](const char* k) { return amount{std::stoull(r.at(k).get<std::string>())}; };
    p.base_rent = amt("base_rent");
    p.rent_per_work_unit = amt("rent_per_work_unit");
    p.rent_per_kib = amt("rent_per_kib");
    log_block b;
    b.work_units = a->work_units;
    b.result_bytes = a->bytes_;
    auto q = chain::rent_quote(p, b);
    if (!q) tools::die("rent: " + q.err().message, invalid);
    auto kib = a->bytes_ / 1024 + (a->bytes_ % 1024 != 0);
    std::cout << "rent " << q->units() + a->priority << " = base " << p.base_rent.units()
              << " + complexity " << p.rent_per_work_unit.units() << " x " << a->work_units
              << " + storage " << p.rent_per_kib.units() << " x " << kib << " KiB + priority "
              << a->priority << "\n  shares: validators " << r.at("validators_ppm").get<std::uint64_t>() / 10'000
              << " %, slashing pool " << r.at("slashing_ppm").get<std::uint64_t>() / 10'000
              << " %, treasury " << r.at("treasury_ppm").get<std::uint64_t>() / 10'000 << " %\n";
  });
}

} // namespace poe::cli
