// poe-cli tx transfer|stake|unstake — signs a transaction offline; writes its canonical bytes
// (--out) and/or submits it to a validator node (--node). `tx submit FILE` submits a file.
//
//   poe-cli tx transfer --key K --to NODE_ID --amount N [--nonce N] [--fee F] [--chain-id C]
//                       [--out FILE] [--node HOST:PORT TLS options]
//   poe-cli tx stake    --key K --role validator|executor|storage|builder --amount N ...
//   poe-cli tx unstake  --key K --role ROLE --amount N ...
//   poe-cli tx submit FILE --node HOST:PORT [TLS options]
//
// Without --nonce the sender's next nonce is read from the node: its account's nonce past the
// transactions of it pending in that node's mempool (two in a row need no --nonce). Prints the
// transaction id; a submission prints the node's answer: "accepted <id>" (exit 0) or
// "rejected: <reason>: <message>" (exit 1). Unreachable node: exit 3.

#include "commands.hpp"
#include "node_client.hpp"
#include "tx_support.hpp"
#include "poe/chain/transaction.hpp"
#include "tool_support.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <optional>

namespace poe::cli {

namespace {

void submit(tools::validator_client& c, const bytes& wire, std::ostream& out = std::cout) {
  auto r = c.submit_transaction(wire);
  if (!r) tools::die(r.err().message, unreachable);
  out << r->text << '\n';
  if (!r->taken) std::exit(invalid);
}

} // namespace

chain::transaction write_tx(const tx_args& a, chain::tx_body body, std::ostream& out) {
  if (a.out.empty() && a.node.address.empty())
    tools::die("give --out FILE, --node HOST:PORT (or POE_NODE), or both", usage);
  auto key = tools::or_die(private_key::load(a.key), "--key", usage);
  std::unique_ptr<tools::validator_client> client;
  if (!a.node.address.empty()) client = connect_or_die(a.node);
  chain::transaction tx;
  tx.chain_id = a.chain_id;
  if (a.nonce) {
    tx.nonce = *a.nonce;
  } else if (client) {
    auto text = client->account(key.id().hex());
    if (!text) tools::die(text.err().message, unreachable);
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.contains("next_nonce")) tools::die("account: " + *text);
    tx.nonce = j["next_nonce"].get<std::uint64_t>(); // past what this node holds pending
  } else {
    tools::die("--nonce is required without --node", usage);
  }
  tx.fee = tools::or_die(parse_amount(a.fee), "--fee", usage);
  tx.body = std::move(body);
  chain::sign(tx, key);
  if (auto st = chain::check_transaction(tx, a.chain_id, 1 << 20); !st)
    tools::die("transaction refused: " + st.text(), usage);
  auto wire = chain::encode(tx);
  if (!a.out.empty()) {
    if (auto st = tools::write_file(a.out, wire); !st) tools::die("--out: " + st.err().message);
    out << chain::tx_id(tx).hex() << '\n';
  }
  if (client) submit(*client, wire, out);
  return tx;
}

void add_tx_options(CLI::App* c, tx_args& a, const std::string& key_help) {
  c->add_option("--key", a.key, key_help)->required();
  c->add_option("--nonce", a.nonce, "the sender's next nonce (default: asked of --node)");
  c->add_option("--fee", a.fee, "fee in base units (to the block's proposer)");
  c->add_option("--chain-id", a.chain_id, "chain id (default poe-devnet)");
  c->add_option("--out", a.out, "file for the signed transaction");
  tools::add_node_options(c, a.node, false);
}

namespace {

void common(CLI::App* c, tx_args& a) {
  add_tx_options(c, a);
  c->add_option("--amount", a.amount, "base units")->required();
}

} // namespace

void add_tx_commands(CLI::App& app) {
  auto* tx = app.add_subcommand("tx", "sign transactions offline and submit them");
  tx->require_subcommand(1);
  auto a = std::make_shared<tx_args>();
  auto* transfer = tx->add_subcommand("transfer", "move base units to another account");
  common(transfer, *a);
  transfer->add_option("--to", a->to, "recipient node id (hex)")->required();
  transfer->callback([a] {
    auto to = node_id::from_hex(a->to);
    if (!to) tools::die("--to: " + to.err().message, usage);
    write_tx(*a, chain::transfer{*to, tools::or_die(parse_amount(a->amount), "--amount", usage)});
  });
  for (auto kind : {"stake", "unstake"}) {
    bool bond = std::string(kind) == "stake";
    auto* c = tx->add_subcommand(kind, bond ? "bond base units to a role"
                                            : "start unbonding base units from a role");
    common(c, *a);
    c->add_option("--role", a->role, "validator, executor, storage, builder, verifier or gateway")->required();
    c->callback([a, bond] {
      auto role = tools::or_die(chain::parse_stake_role(a->role), "--role", usage);
      auto value = tools::or_die(parse_amount(a->amount), "--amount", usage);
      write_tx(*a, bond ? chain::tx_body{chain::stake{role, value}}
                        : chain::tx_body{chain::unstake{role, value}});
    });
  }
  auto* sub = tx->add_subcommand("submit", "submit a signed transaction file to a validator");
  sub->add_option("FILE", a->file, "signed transaction (poe-cli tx ... --out)")->required();
  tools::add_node_options(sub, a->node);
  sub->callback([a] {
    auto wire = tools::or_die(tools::read_file(a->file), "FILE", usage);
    submit(*connect_or_die(a->node), wire);
  });
}

} // namespace poe::cli
