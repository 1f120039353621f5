// poe-cli chain status | chain block N | account show ID — what a validator node knows.
//
//   poe-cli chain status  [--json] --node HOST:PORT [TLS options]
//   poe-cli chain block N [--json] --node HOST:PORT [TLS options]
//   poe-cli account show ID [--json] --node HOST:PORT [TLS options]
//
// TLS options: --tls-key/--tls-cert/--tls-ca (or POE_TLS_KEY, POE_TLS_CERT, POE_TLS_CA;
// POE_NODE for --node), or --plaintext. Exit codes: 0 ok, 1 not found, 2 usage, 3 node unreachable.

#include "commands.hpp"
#include "node_client.hpp"
#include "poe/chain/block.hpp"
#include "poe/chain/evidence.hpp"
#include "poe/core/sha256.hpp"
#include "poe/chain/qbft.hpp"
#include "poe/chain/transaction.hpp"
#include "tool_support.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iomanip>
#include <iostream>

namespace poe::cli {

using nlohmann::json;

std::unique_ptr<tools::validator_client> connect_or_die(const tools::node_target& t) {
  return client_or_die<tools::validator_client>(t);
}

namespace {

template <class T>
T ask_or_die(result<T> r) {
  if (!r) tools::die(r.err().message, unreachable);
  return std::move(*r);
}

json tx_json(const bytes& wire) {
  auto tx = chain::decode_transaction(wire);
  if (!tx) return json{{"error", tx.err().message}};
  auto sender = chain::sender_of(*tx);
  json out{{"id", chain::tx_id(*tx).hex()},
           {"from", sender ? sender->hex() : std::string("?")},
           {"nonce", tx->nonce},
           {"fee", tx->fee.to_string()}};
  out["kind"] = std::string(chain::kind_name(tx->body));
  std::visit(
    [&](const auto& b) {
      using B = std::decay_t<decltype(b)>;
      if constexpr (std::is_same_v<B, chain::transfer>) {
        out["to"] = b.to.hex();
        out["amount"] = b.value.to_string();
      } else if constexpr (std::is_same_v<B, chain::stake> || std::is_same_v<B, chain::unstake>) {
        out["role"] = std::string(chain::to_string(b.role));
        out["amount"] = b.value.to_string();
      } else if constexpr (std::is_same_v<B, chain::content_publish>) {
        out["content"] = chain::content_id(b.output).hex();
        out["job"] = b.output.job;
        out["price_per_second"] = b.price_per_second.to_string();
        out["split"] = chain::to_string(b.split);
      } else if constexpr (std::is_same_v<B, chain::channel_open>) {
        out["to"] = b.payee.hex();
        out["amount"] = b.deposit.to_string();
        out["expiry_height"] = b.expiry_height;
      } else if constexpr (std::is_same_v<B, chain::channel_topup>) {
        out["channel"] = b.channel.hex();
        out["amount"] = b.value.to_string();
      } else if constexpr (std::is_same_v<B, chain::channel_claim> || std::is_same_v<B, chain::channel_close>) {
        out["channel"] = b.channel.hex();
        out["lanes"] = b.claims.size();
      } else if constexpr (std::is_same_v<B, chain::channel_collect>) {
        out["channel"] = b.channel.hex();
      } else if constexpr (std::is_same_v<B, chain::job_fund>) {
        out["escrow"] = chain::job_escrow_id(b.verifier, b.job).hex();
        out["job"] = b.job;
        out["verifier"] = b.verifier.hex();
        out["amount"] = b.max_fee.to_string();
        out["price_per_work_unit"] = b.price_per_work_unit.to_string();
        out["verifier_ppm"] = b.verifier_ppm;
        out["expiry_height"] = b.expiry_height;
      } else if constexpr (std::is_same_v<B, chain::job_pay>) {
        out["escrow"] = b.escrow.hex();
        out["tasks"] = b.tasks.size();
      } else {
        static_assert(std::is_same_v<B, chain::job_close>);
        out["escrow"] = b.escrow.hex();
      }
    },
    tx->body);
  return out;
}

json evidence_json(const bytes& raw) {
  auto e = chain::decode_evidence(raw);
  if (!e) return json{{"error", e.err().message}};
  if (auto* q = std::get_if<chain::equivocation_evidence>(&*e))
    return json{{"kind", "equivocation"},
                {"offender", chain::offender_of(*e).hex()},
                {"height", q->first.height},
                {"round", q->first.round},
                {"message", std::string(chain::qbft::to_string(q->first.type))}};
  if (auto* x = std::get_if<chain::executor_fraud_evidence>(&*e))
    return json{{"kind", "executor_fraud"},
                {"offender", chain::offender_of(*e).hex()},
                {"request", x->request.hex()}};
  auto& f = std::get<chain::storage_fraud_evidence>(*e);
  return json{{"kind", "storage_fraud"},
              {"offender", chain::offender_of(*e).hex()},
              {"chunk_sha256", sha256::digest(f.chunk).hex()},
              {"nonce", f.nonce.hex()},
              {"answer", f.answer.hex()}};
}

json block_json(const chain::qbft::decision& d, const chain::block& b) {
  auto& h = b.header;
  json out{{"height", h.height},
           {"id", d.digest.hex()},
           {"chain_id", h.chain_id},
           {"parent", h.parent.hex()},
           {"timestamp_ms", h.timestamp_ms},
           {"proposer", h.proposer.hex()},
           {"round", h.round},
           {"state_root", h.state_root.hex()},
           {"tx_root", h.tx_root.hex()},
           {"poe_root", h.poe_root.hex()},
           {"evidence_root", h.evidence_root.hex()},
           {"validators_root", h.validators_root.hex()},
           {"decided_round", d.round}};
  auto& txs = out["transactions"] = json::array();
  for (auto& t : b.transactions)
    txs.push_back(tx_json(t));
  auto& evs = out["evidence"] = json::array();
  for (auto& e : b.evidence)
    evs.push_back(evidence_json(e));
  out["poe_headers"] = b.poe_headers.size();
  auto& seals = out["seals"] = json::array();
  for (auto& [who, seal] : d.seals)
    seals.push_back(who.hex());
  return out;
}

void print_status(const json& s) {
  std::cout << "chain " << s.value("chain_id", "?") << "  height " << s.value("height", 0)
            << "  block " << s.value("block", "").substr(0, 16) << "\n"
            << "round " << s.value("round", 0) << ", block interval "
            << s.value("block_interval_ms", 0) << " ms, mempool " << s.value("mempool", 0)
            << " tx, pending evidence " << s.value("pending_evidence", 0) << "\n"
            << "state root " << s.value("state_root", "") << "\n"
            << "slashing pool " << s.value("slashing_pool", "0") << ", total supply "
            << s.value("total_supply", "0") << "\n";
  auto vals = s.value("validators", json::array());
  std::cout << "validators (" << vals.size() << "):\n";
  for (auto& v : vals)
    std::cout << "  " << v.value("id", "") << "  stake " << v.value("stake", "") << "\n";
}

void print_block(const json& b) {
  std::cout << "block " << b["height"] << "  " << b["id"].get<std::string>() << "\n"
            << "  parent    " << b["parent"].get<std::string>() << "\n"
            << "  proposer  " << b["proposer"].get<std::string>() << "  round "
            << b["round"] << "\n"
            << "  timestamp " << b["timestamp_ms"] << " ms\n"
            << "  state     " << b["state_root"].get<std::string>() << "\n";
  std::cout << "  " << b["transactions"].size() << " transaction(s)\n";
  for (auto& t : b["transactions"]) {
    if (t.contains("error")) {
      std::cout << "    (undecodable: " << t["error"].get<std::string>() << ")\n";
      continue;
    }
    std::cout << "    " << t["id"].get<std::string>().substr(0, 16) << "  "
              << t["kind"].get<std::string>();
    if (t.contains("amount")) std::cout << " " << t["amount"].get<std::string>();
    if (t.contains("to")) std::cout << " to " << t["to"].get<std::string>().substr(0, 16);
    if (t.contains("channel")) std::cout << " channel " << t["channel"].get<std::string>().substr(0, 16);
    if (t.contains("content")) std::cout << " content " << t["content"].get<std::string>().substr(0, 16);
    if (t.contains("lanes")) std::cout << " (" << t["lanes"] << " lane(s))";
    if (t.contains("role")) std::cout << " (" << t["role"].get<std::string>() << ")";
    std::cout << "  from " << t["from"].get<std::string>().substr(0, 16) << " nonce "
              << t["nonce"] << " fee " << t["fee"].get<std::string>() << "\n";
  }
  std::cout << "  " << b["evidence"].size() << " evidence item(s)\n";
  for (auto& e : b["evidence"])
    if (e.contains("offender"))
      std::cout << "    validator " << e["offender"].get<std::string>().substr(0, 16)
                << " equivocated (" << e["message"].get<std::string>() << ") at height "
                << e["height"] << " round " << e["round"] << ": slashed and removed\n";
  std::cout << "  sealed by " << b["seals"].size() << ":";
  for (auto& s : b["seals"])
    std::cout << " " << s.get<std::string>().substr(0, 12);
  std::cout << "\n";
}

void print_account(const json& a) {
  std::cout << "account " << a.value("account", "") << " (at height " << a.value("height", 0)
            << ")\n"
            << "  balance " << a.value("balance", "0") << "\n"
            << "  nonce   " << a.value("nonce", 0) << "\n";
  auto stakes = a.value("stakes", json::object());
  auto unbonding = a.value("unbonding", json::array());
  for (auto& [role, v] : stakes.items())
    std::cout << "  stake   " << v.get<std::string>() << " (" << role << ")\n";
  for (auto& u : unbonding)
    std::cout << "  unbonding " << u.value("amount", "") << " (" << u.value("role", "")
              << ") released at height " << u.value("release_height", 0) << "\n";
  if (a.value("jailed", false)) std::cout << "  removed from the validator set (slashed)\n";
  auto flows = a.value("flows", json::object());
  if (!flows.empty()) std::cout << "  received, by kind:\n";
  for (auto& [kind, v] : flows.items())
    std::cout << "    " << std::left << std::setw(18) << kind << std::right << " " << v.get<std::string>() << "\n";
}

} // namespace

void add_chain_commands(CLI::App& app) {
  struct args {
    tools::node_target node;
    bool json_out = false;
    std::uint64_t height = 0;
    std::string id;
  };
  auto a = std::make_shared<args>();

  auto* chain = app.add_subcommand("chain", "ask a validator node about the chain");
  chain->require_subcommand(1);
  auto* status = chain->add_subcommand("status", "height, tip, validators, pools");
  tools::add_node_options(status, a->node);
  status->add_flag("--json", a->json_out, "print JSON");
  status->callback([a] {
    auto text = ask_or_die(connect_or_die(a->node)->chain_status());
    auto s = json::parse(text, nullptr, false);
    if (a->json_out || s.is_discarded()) {
      std::cout << (s.is_discarded() ? text : s.dump(2)) << "\n";
      return;
    }
    print_status(s);
  });

  auto* block = chain->add_subcommand("block", "a finalized block with its seals");
  block->add_option("N", a->height, "height")->required();
  tools::add_node_options(block, a->node);
  block->add_flag("--json", a->json_out, "print JSON");
  block->callback([a] {
    auto raw = ask_or_die(connect_or_die(a->node)->block(a->height));
    if (raw.empty()) tools::die("no finalized block at height " + std::to_string(a->height));
    auto d = chain::qbft::decode_decision(raw, a->height);
    if (!d) tools::die("the node sent a malformed block: " + d.err().message);
    auto b = chain::decode_block(d->block);
    if (!b) tools::die("the node sent a malformed block: " + b.err().message);
    auto j = block_json(*d, *b);
    if (a->json_out)
      std::cout << j.dump(2) << "\n";
    else
      print_block(j);
  });

  auto* account = app.add_subcommand("account", "accounts on the chain");
  account->require_subcommand(1);
  auto* show = account->add_subcommand("show", "balance, nonce, stakes of an account");
  show->add_option("ID", a->id, "node id (hex) of the account")->required();
  tools::add_node_options(show, a->node);
  show->add_flag("--json", a->json_out, "print JSON");
  show->callback([a] {
    if (auto id = node_id::from_hex(a->id); !id) tools::die("ID: " + id.err().message, usage);
    auto text = ask_or_die(connect_or_die(a->node)->account(a->id));
    auto j = json::parse(text, nullptr, false);
    if (j.is_discarded() || j.contains("error")) tools::die("account: " + text);
    if (a->json_out)
      std::cout << j.dump(2) << "\n";
    else
      print_account(j);
  });
}

} // namespace poe::cli
