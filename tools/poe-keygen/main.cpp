// poe-keygen — make a node key pair.
//
//   poe-keygen --type rsa2048|ed25519 --out DIR [--force]
//
// Writes DIR/node.key (PKCS#8 PEM, mode 0600) and DIR/node.pub (SPKI PEM) and prints the node
// id (SHA-256 of the DER SubjectPublicKeyInfo) in hex.

#include "poe/core/keys.hpp"
#include "tool_support.hpp"

#include <CLI/CLI.hpp>

#include <iostream>

int main(int argc, char** argv) {
  using namespace poe;
  CLI::App app{"poe-keygen: make a node key pair (node.key, node.pub) and print its node id"};
  std::string type_text;
  std::string out_dir;
  bool force = false;
  app.add_option("--type", type_text, "key type: rsa2048 or ed25519")->required();
  app.add_option("--out", out_dir, "output directory (created if missing)")->required();
  app.add_flag("--force", force, "overwrite an existing key pair");
  CLI11_PARSE(app, argc, argv);

  auto type = tools::or_die(parse_key_type(type_text));
  std::filesystem::path dir{out_dir};
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) tools::die("cannot create directory '" + dir.string() + "': " + ec.message());
  auto key_file = dir / "node.key";
  auto pub_file = dir / "node.pub";
  if (!force && (std::filesystem::exists(key_file) || std::filesystem::exists(pub_file)))
    tools::die("'" + key_file.string() + "' or '" + pub_file.string() +
               "' already exists (use --force to overwrite)");

  auto key = tools::or_die(private_key::generate(type));
  if (auto ok = key.save(key_file); !ok) tools::die(ok.err().message);
  if (auto ok = key.pub().save(pub_file); !ok) tools::die(ok.err().message);
  std::cout << key.id().hex() << '\n';
  return 0;
}
