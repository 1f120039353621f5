#pragma once
// Helpers shared by the chain tests: deterministic keys, signed transactions, a small genesis.

#include "poe/chain/genesis.hpp"
#include "poe/chain/ledger.hpp"
#include "poe/chain/transaction.hpp"
#include "poe/core/sha256.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

namespace poe::chain::test {

inline const std::string chain = "poe-test";

/// Ed25519 key number `i`, derived from a fixed seed: the same on every run and machine.
inline const private_key& key(int i) {
  static std::map<int, private_key> cache;
  if (auto it = cache.find(i); it != cache.end()) return it->second;
  auto seed = sha256::digest(as_bytes("poe-chain-test-key-" + std::to_string(i)));
  auto k = private_key::ed25519_from_seed(seed.view());
  if (!k) throw std::runtime_error("test key: " + k.err().message);
  return cache.emplace(i, *k).first->second;
}

inline node_id id(int i) {
  return key(i).id();
}

/// A signed transaction from key `from`.
inline transaction make_tx(int from, std::uint64_t nonce, tx_body body, amount fee = amount{0},
                           const std::string& chain_id = chain) {
  transaction tx;
  tx.chain_id = chain_id;
  tx.nonce = nonce;
  tx.fee = fee;
  tx.body = std::move(body);
  sign(tx, key(from));
  return tx;
}

inline transaction pay(int from, std::uint64_t nonce, const node_id& to, std::uint64_t value,
                       std::uint64_t fee = 0) {
  return make_tx(from, nonce, transfer{to, amount{value}}, amount{fee});
}

/// Validators: keys 0..3 with stake 1000 each. Balances: keys 10..13 with 1'000'000 each.
/// Unbonding 10 blocks, slash 5 %, minimum validator stake 100, min fee 0.
inline genesis small_genesis() {
  genesis g;
  g.chain_id = chain;
  for (int i = 0; i < 4; ++i)
    g.validators.push_back({key(i).pub(), amount{1000}});
  for (int i = 10; i < 14; ++i)
    g.balances.push_back({id(i), amount{1'000'000}});
  std::sort(g.validators.begin(), g.validators.end(),
            [](const auto& a, const auto& b) { return a.id() < b.id(); });
  std::sort(g.balances.begin(), g.balances.end(),
            [](const auto& a, const auto& b) { return a.account < b.account; });
  g.params.unbonding_blocks = 10;
  g.params.slash_share_ppm = 50'000;
  g.params.min_validator_stake = amount{100};
  return g;
}

inline ledger small_ledger() {
  auto l = ledger::from_genesis(small_genesis());
  if (!l) throw std::runtime_error("small genesis: " + l.err().message);
  return std::move(*l);
}

/// Runs a shell command and returns its standard output (throws when it fails).
inline std::string run(const std::string& cmd) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  if (!pipe) throw std::runtime_error("popen failed: " + cmd);
  std::string out;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe.get())) > 0)
    out.append(buf.data(), n);
  return out;
}

} // namespace poe::chain::test
