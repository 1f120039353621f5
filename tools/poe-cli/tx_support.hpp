#pragma once
// Signing and submitting transactions, shared by the commands that make them (tx, content,
// channel).

#include "node_client.hpp"
#include "poe/chain/transaction.hpp"

#include <cstdint>
#include <iostream>
#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace poe::cli {

struct tx_args {
  std::string key, to, role, amount, fee = "0", chain_id = "poe-devnet", out, file;
  std::optional<std::uint64_t> nonce;
  tools::node_target node;
};

/// --key (required), --nonce, --fee, --chain-id, --out and the node options (optional --node).
void add_tx_options(CLI::App* c, tx_args& a, const std::string& key_help = "sender's private key (PEM)");

/// Signs `body` with --key (the nonce from --nonce, else the sender's next nonce asked of
/// --node), writes it to --out and/or submits it to --node (printing its id and the node's
/// answer to `out`), and returns it. Exits on any failure: usage 2, refused 1, unreachable 3.
chain::transaction write_tx(const tx_args& a, chain::tx_body body, std::ostream& out = std::cout);

} // namespace poe::cli
