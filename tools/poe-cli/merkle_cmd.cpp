// poe-cli merkle root|proof|verify — RFC 6962 trees, one file per leaf.
//
//   poe-cli merkle root FILE...                → hex root
//   poe-cli merkle proof --index I FILE...     → {"index","tree_size","leaf","root","path"}
//   poe-cli merkle verify --proof P.json --root HEX FILE
//                                              → "valid" / exit 0, or "invalid" / exit 1

#include "commands.hpp"
#include "poe/core/merkle.hpp"
#include "tool_support.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>

namespace poe::cli {

namespace {

std::vector<hash256> leaf_hashes(const std::vector<std::string>& files) {
  std::vector<hash256> out;
  out.reserve(files.size());
  for (const auto& f : files) out.push_back(merkle::leaf_hash(tools::or_die(tools::read_file(f), "FILE", usage)));
  return out;
}

struct proof_args {
  std::uint64_t index = 0;
  std::vector<std::string> files;
};

struct verify_args {
  std::string proof, root, file;
};

void run_proof(const proof_args& a) {
  auto leaves = leaf_hashes(a.files);
  auto proof = merkle::prove(leaves, a.index);
  if (!proof) tools::die("--index: " + proof.err().message, usage);
  nlohmann::ordered_json out;
  out["index"] = proof->index;
  out["tree_size"] = proof->tree_size;
  out["leaf"] = leaves[a.index].hex();
  out["root"] = merkle::root(leaves).hex();
  auto& path = out["path"] = nlohmann::json::array();
  for (const auto& h : proof->path) path.push_back(h.hex());
  std::cout << out.dump(2) << '\n';
}

void run_verify(const verify_args& a) {
  auto text = tools::or_die(tools::read_file(a.proof), "--proof", usage);
  auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) tools::die("--proof: not a JSON object", usage);
  merkle::inclusion_proof proof;
  for (const char* f : {"index", "tree_size"})
    if (!j.contains(f) || !j[f].is_number_unsigned())
      tools::die(std::string{"proof: missing unsigned field '"} + f + "'", usage);
  proof.index = j["index"].get<std::uint64_t>();
  proof.tree_size = j["tree_size"].get<std::uint64_t>();
  if (!j.contains("path") || !j["path"].is_array()) tools::die("proof: missing array 'path'", usage);
  for (const auto& e : j["path"]) {
    if (!e.is_string()) tools::die("proof: path entries must be hex strings", usage);
    auto h = hash256::from_hex(e.get<std::string>());
    if (!h) tools::die("proof: path entry: " + h.err().message, usage);
    proof.path.push_back(*h);
  }
  auto root = hash256::from_hex(a.root);
  if (!root) tools::die("--root: " + root.err().message, usage);
  auto leaf = merkle::leaf_hash(tools::or_die(tools::read_file(a.file), "FILE", usage));
  if (merkle::verify(proof, leaf, *root)) {
    std::cout << "valid\n";
    return;
  }
  std::cout << "invalid: the leaf and path do not lead to the root\n";
  std::exit(invalid);
}

} // namespace

void add_merkle_commands(CLI::App& app) {
  auto* merkle = app.add_subcommand("merkle", "RFC 6962 Merkle trees (one file = one leaf)");
  merkle->require_subcommand(1);

  auto files = std::make_shared<std::vector<std::string>>();
  auto* root = merkle->add_subcommand("root", "print the root over the files, in order");
  root->add_option("files", *files, "leaf files (none: the empty tree)");
  root->callback([files] { std::cout << merkle::root(leaf_hashes(*files)).hex() << '\n'; });

  auto pa = std::make_shared<proof_args>();
  auto* proof = merkle->add_subcommand("proof", "print the inclusion proof of one leaf as JSON");
  proof->add_option("--index", pa->index, "0-based index of the leaf")->required();
  proof->add_option("files", pa->files, "leaf files")->required();
  proof->callback([pa] { run_proof(*pa); });

  auto va = std::make_shared<verify_args>();
  auto* verify = merkle->add_subcommand("verify", "check a proof against a trusted root");
  verify->add_option("--proof", va->proof, "proof JSON from 'merkle proof'")->required();
  verify->add_option("--root", va->root, "trusted root, 64 hex digits")->required();
  verify->add_option("file", va->file, "the leaf's file")->required();
  verify->callback([va] { run_verify(*va); });
}

} // namespace poe::cli
