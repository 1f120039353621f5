// poe-cli tx transfer|stake — signs a transaction offline and writes its canonical bytes.
//
//   poe-cli tx transfer --key K --to NODE_ID --amount N --nonce N [--fee F] [--chain-id C] --out F
//   poe-cli tx stake    --key K --role validator|executor|storage|builder --amount N --nonce N ...
//   → prints the transaction id; submit the file with `poe-status --submit F --target ...`

#include "commands.hpp"
#include "poe/chain/transaction.hpp"
#include "tool_support.hpp"

#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>

namespace poe::cli {

namespace {

struct tx_args {
  std::string key, to, role, amount, fee = "0", chain_id = "poe-devnet", out;
  std::uint64_t nonce = 0;
};

void write_tx(const tx_args& a, chain::tx_body body) {
  auto key = tools::or_die(private_key::load(a.key), "--key");
  chain::transaction tx;
  tx.chain_id = a.chain_id;
  tx.nonce = a.nonce;
  tx.fee = tools::or_die(parse_amount(a.fee), "--fee");
  tx.body = std::move(body);
  chain::sign(tx, key);
  if (auto st = chain::check_transaction(tx, a.chain_id, 1 << 20); !st)
    tools::die("transaction refused: " + st.text(), usage);
  auto wire = chain::encode(tx);
  std::ofstream out(a.out, std::ios::binary);
  out.write(reinterpret_cast<const char*>(wire.data()), static_cast<std::streamsize>(wire.size()));
  if (!out) tools::die("--out: cannot write '" + a.out + "'");
  std::cout << chain::tx_id(tx).hex() << '\n';
}

void common(CLI::App* c, tx_args& a) {
  c->add_option("--key", a.key, "sender's private key (PEM)")->required();
  c->add_option("--amount", a.amount, "base units")->required();
  c->add_option("--nonce", a.nonce, "the sender account's next nonce")->required();
  c->add_option("--fee", a.fee, "fee in base units (to the block's proposer)");
  c->add_option("--chain-id", a.chain_id, "chain id (default poe-devnet)");
  c->add_option("--out", a.out, "file for the signed transaction")->required();
}

} // namespace

void add_tx_commands(CLI::App& app) {
  auto* tx = app.add_subcommand("tx", "sign transactions offline");
  tx->require_subcommand(1);
  auto a = std::make_shared<tx_args>();
  auto* transfer = tx->add_subcommand("transfer", "move base units to another account");
  common(transfer, *a);
  transfer->add_option("--to", a->to, "recipient node id (hex)")->required();
  transfer->callback([a] {
    auto to = node_id::from_hex(a->to);
    if (!to) tools::die("--to: " + to.err().message, usage);
    write_tx(*a, chain::transfer{*to, tools::or_die(parse_amount(a->amount), "--amount")});
  });
  auto* stake = tx->add_subcommand("stake", "bond base units to a role");
  common(stake, *a);
  stake->add_option("--role", a->role, "validator, executor, storage or builder")->required();
  stake->callback([a] {
    auto role = tools::or_die(chain::parse_stake_role(a->role), "--role");
    write_tx(*a, chain::stake{role, tools::or_die(parse_amount(a->amount), "--amount")});
  });
}

} // namespace poe::cli
