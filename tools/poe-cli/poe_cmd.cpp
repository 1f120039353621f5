// poe-cli poe commit|verify
//
//   poe-cli poe commit --key DIR/node.key --request-id HEX --result FILE
//     → {"request_id","node_id","poe","sig"} (hex)
//   poe-cli poe verify --pub DIR/node.pub --request-id HEX --result FILE --poe HEX --sig HEX
//                      [--node-id HEX]
//     → "valid" and exit 0, or "invalid: <reason>" and exit 1

#include "commands.hpp"
#include "poe/core/poe_v1.hpp"
#include "tool_support.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>

namespace poe::cli {

namespace {

struct commit_args {
  std::string key, request_id, result;
};

struct verify_args {
  std::string pub, request_id, result, poe, sig, node_id;
};

request_id parse_request_id(const std::string& hex) {
  auto r = request_id::from_hex(hex);
  if (!r) tools::die("--request-id: " + r.err().message, usage);
  return *r;
}

void run_commit(const commit_args& a) {
  auto rid = parse_request_id(a.request_id);
  auto key = tools::or_die(private_key::load(a.key), "--key", usage);
  auto result = tools::or_die(tools::read_file(a.result), "--result", usage);
  auto proof = poe_commit(key, rid, result);
  nlohmann::ordered_json out;
  out["request_id"] = proof.request.hex();
  out["node_id"] = proof.node.hex();
  out["poe"] = proof.poe.hex();
  out["sig"] = to_hex(proof.sig);
  std::cout << out.dump(2) << '\n';
}

void run_verify(const verify_args& a) {
  auto key = tools::or_die(public_key::load(a.pub), "--pub", usage);
  poe_v1_proof proof;
  proof.request = parse_request_id(a.request_id);
  auto result = tools::or_die(tools::read_file(a.result), "--result", usage);
  auto poe = hash256::from_hex(a.poe);
  if (!poe) tools::die("--poe: " + poe.err().message, usage);
  proof.poe = *poe;
  auto sig = from_hex(a.sig);
  if (!sig) tools::die("--sig: " + sig.err().message, usage);
  proof.sig = std::move(*sig);
  if (a.node_id.empty()) {
    proof.node = key.id();
  } else {
    auto id = node_id::from_hex(a.node_id);
    if (!id) tools::die("--node-id: " + id.err().message, usage);
    proof.node = *id;
  }
  auto check = poe_verify(key, proof.request, result, proof);
  if (check == poe_check::valid) {
    std::cout << "valid\n";
    return;
  }
  std::cout << "invalid: " << to_string(check) << '\n';
  std::exit(invalid);
}

} // namespace

void add_poe_commands(CLI::App& app) {
  auto* poe = app.add_subcommand("poe", "PoE v1 commitments: SHA-256(request_id ‖ result ‖ node_id)");
  poe->require_subcommand(1);

  auto ca = std::make_shared<commit_args>();
  auto* commit = poe->add_subcommand("commit", "commit to a result and sign it");
  commit->add_option("--key", ca->key, "private key file (node.key)")->required();
  commit->add_option("--request-id", ca->request_id, "16-byte request id, 32 hex digits")->required();
  commit->add_option("--result", ca->result, "file with the raw result bytes")->required();
  commit->callback([ca] { run_commit(*ca); });

  auto va = std::make_shared<verify_args>();
  auto* verify = poe->add_subcommand("verify", "verify a commitment and its signature");
  verify->add_option("--pub", va->pub, "public key file (node.pub)")->required();
  verify->add_option("--request-id", va->request_id, "request id, 32 hex digits")->required();
  verify->add_option("--result", va->result, "file with the raw result bytes")->required();
  verify->add_option("--poe", va->poe, "commitment, 64 hex digits")->required();
  verify->add_option("--sig", va->sig, "signature, hex")->required();
  verify->add_option("--node-id", va->node_id,
                     "claimed node id (default: the id of --pub); a different id fails");
  verify->callback([va] { run_verify(*va); });
}

} // namespace poe::cli
