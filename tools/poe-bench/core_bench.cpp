// Benchmarks of the protocol core, each beside the bare library loop it should match.
//
//   poe_verify/<key>     PoE v1 check (commitment + signature) of a 1 KiB result via poe_verifier
//   openssl_verify/<key> the same hash + verify written directly against OpenSSL EVP with a
//                        reused context: the bound of rsa2048 (poe verifies RSA with OpenSSL)
//   sodium_verify/ed25519 the same with the signature checked by libsodium, as poe verifies
//                        Ed25519: the bound of poe_verify/ed25519; beside openssl_verify/ed25519
//                        it gives the two libraries' ratio (anchor: 1.86x on this machine)
//   verifier_receipts/<key> the verifier's work per receipt in poe_exec: a task verified end
//                        to end by the state machine (draw, PoE v1 check of a 1 KiB result,
//                        checks passed, the sampling block, the receipt; 5 % re-executed),
//                        against openssl_verify/<key> (the goal: >= 90 %)
//   merkle_root/4096     RFC 6962 root of 4096 leaf hashes (anchor: 0.6 ms)
//   sha256/<bytes>       streaming SHA-256 throughput

#include "poe/chain/producer.hpp"
#include "poe/core/merkle.hpp"
#include "poe/core/poe_v1.hpp"
#include "poe/core/sha256.hpp"
#include "poe/exec/verification_state.hpp"

#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>

#include <map>
#include <stdexcept>

namespace {

using namespace poe;

struct fixture {
  private_key key;
  request_id rid;
  bytes result;
  poe_v1_proof proof;

  explicit fixture(key_type t) : key(*private_key::generate(t)), result(1024) {
    for (std::size_t i = 0; i < result.size(); ++i) result[i] = static_cast<std::uint8_t>(i * 7);
    for (std::size_t i = 0; i < rid.size; ++i) rid.data[i] = static_cast<std::uint8_t>(i);
    proof = poe_commit(key, rid, result);
  }
};

fixture& get_fixture(key_type t) {
  static fixture rsa{key_type::rsa2048};
  static fixture ed{key_type::ed25519};
  return t == key_type::rsa2048 ? rsa : ed;
}

void poe_verify_bench(benchmark::State& state, key_type t) {
  auto& f = get_fixture(t);
  poe_verifier v{f.key.pub()};
  for (auto _ : state) {
    auto r = v.verify(f.rid, f.result, f.proof);
    if (r != poe_check::valid) throw std::logic_error("benchmark proof does not verify");
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

/// The bare loops' PoE v1 commitment check: SHA-256(request ‖ result ‖ node) through EVP.
bool commitment_matches(EVP_MD_CTX* mctx, const EVP_MD* md, const fixture& f) {
  unsigned char commit[32];
  unsigned int len = 0;
  EVP_DigestInit_ex2(mctx, md, nullptr);
  EVP_DigestUpdate(mctx, f.rid.data.data(), f.rid.size);
  EVP_DigestUpdate(mctx, f.result.data(), f.result.size());
  EVP_DigestUpdate(mctx, f.proof.node.data.data(), f.proof.node.data.size());
  EVP_DigestFinal_ex(mctx, commit, &len);
  return std::equal(commit, commit + 32, f.proof.poe.data.begin());
}

// The bare loop: only OpenSSL calls, contexts set up once outside the loop.
void openssl_verify_bench(benchmark::State& state, key_type t) {
  auto& f = get_fixture(t);
  const auto& der = f.key.pub().der();
  const unsigned char* p = der.data();
  EVP_PKEY* pkey = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* mctx = EVP_MD_CTX_new(); // hashing
  EVP_MD_CTX* vctx = EVP_MD_CTX_new(); // Ed25519 verification
  EVP_PKEY_CTX* pctx = nullptr;        // RSA verification
  if (t == key_type::rsa2048) {
    pctx = EVP_PKEY_CTX_new(pkey, nullptr);
    EVP_PKEY_verify_init(pctx);
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING);
    EVP_PKEY_CTX_set_signature_md(pctx, md);
  }
  bytes msg(f.result);
  msg.insert(msg.end(), f.proof.poe.data.begin(), f.proof.poe.data.end());
  for (auto _ : state) {
    bool ok = commitment_matches(mctx, md, f);
    if (t == key_type::rsa2048) {
      unsigned int len = 0;
      unsigned char digest[32];
      EVP_DigestInit_ex2(mctx, md, nullptr);
      EVP_DigestUpdate(mctx, f.result.data(), f.result.size());
      EVP_DigestUpdate(mctx, f.proof.poe.data.data(), 32);
      EVP_DigestFinal_ex(mctx, digest, &len);
      ok = ok && EVP_PKEY_verify(pctx, f.proof.sig.data(), f.proof.sig.size(), digest, 32) == 1;
    } else {
      ok = ok && EVP_DigestVerifyInit(vctx, nullptr, nullptr, nullptr, pkey) == 1 &&
           EVP_DigestVerify(vctx, f.proof.sig.data(), f.proof.sig.size(), msg.data(),
                            msg.size()) == 1;
    }
    if (!ok) throw std::logic_error("bare loop: proof does not verify");
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
  EVP_PKEY_CTX_free(pctx);
  EVP_MD_CTX_free(mctx);
  EVP_MD_CTX_free(vctx);
  EVP_MD_free(md);
  EVP_PKEY_free(pkey);
}

void verifier_receipts_bench(benchmark::State& state, key_type t) {
  // Three executors; every one's commitment to the same 1 KiB result is made beforehand.
  std::vector<private_key> keys;
  for (int i = 0; i < 3; ++i) keys.push_back(*private_key::generate(t));
  auto& f = get_fixture(t);
  task tk;
  tk.id = f.rid;
  tk.kind = "transcode";
  std::vector<exec::executor_info> executors;
  std::map<node_id, std::pair<poe_v1_proof, poe_verifier>> proofs; // checkers kept, as the role does
  for (auto& k : keys) {
    executors.push_back({k.id(), 1000, 500'000});
    proofs.emplace(k.id(), std::make_pair(poe_commit(k, tk.id, f.result), poe_verifier{k.pub()}));
  }
  hash256 block;
  std::uint64_t n = 0, receipts = 0;
  for (auto _ : state) {
    block.data[0] = static_cast<std::uint8_t>(n);
    block.data[1] = static_cast<std::uint8_t>(n >> 8);
    ++n;
    exec::verification v(tk, keys[0].id(), 60);
    auto fx = v.start(executors, block);
    for (int step = 0; step < 8 && !fx.receipt; ++step) {
      if (fx.dispatch_to) {
        auto& [proof, checker] = proofs.at(*fx.dispatch_to);
        fx = v.on_commit({*fx.dispatch_to, f.result, proof}, checker, executors, block, n);
      } else if (fx.run_checks) {
        fx = v.on_checks(true, "", executors, block);
      } else if (v.current() == exec::phase::awaiting_block) {
        fx = v.on_block(block, executors, n);
      } else {
        break;
      }
    }
    if (!fx.receipt) throw std::logic_error("benchmark task was not verified");
    ++receipts;
    benchmark::DoNotOptimize(fx);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(receipts));
}

/// The bare loop poe's Ed25519 path runs: the commitment through OpenSSL's SHA-256, the
/// signature through libsodium, the raw key read once outside the loop.
void sodium_verify_bench(benchmark::State& state) {
  auto& f = get_fixture(key_type::ed25519);
  if (sodium_init() < 0) throw std::runtime_error("sodium_init failed");
  const auto& der = f.key.pub().der();
  const unsigned char* pk = der.data() + der.size() - crypto_sign_ed25519_PUBLICKEYBYTES;
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* mctx = EVP_MD_CTX_new();
  bytes msg(f.result);
  msg.insert(msg.end(), f.proof.poe.data.begin(), f.proof.poe.data.end());
  for (auto _ : state) {
    bool ok = commitment_matches(mctx, md, f) &&
              crypto_sign_ed25519_verify_detached(f.proof.sig.data(), msg.data(), msg.size(), pk) == 0;
    if (!ok) throw std::logic_error("bare loop: proof does not verify");
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
  EVP_MD_CTX_free(mctx);
  EVP_MD_free(md);
}

BENCHMARK_CAPTURE(verifier_receipts_bench, rsa2048, key_type::rsa2048)->Name("verifier_receipts/rsa2048");
BENCHMARK_CAPTURE(verifier_receipts_bench, ed25519, key_type::ed25519)->Name("verifier_receipts/ed25519");
BENCHMARK_CAPTURE(poe_verify_bench, rsa2048, key_type::rsa2048)->Name("poe_verify/rsa2048");
BENCHMARK_CAPTURE(openssl_verify_bench, rsa2048, key_type::rsa2048)->Name("openssl_verify/rsa2048");
BENCHMARK_CAPTURE(poe_verify_bench, ed25519, key_type::ed25519)->Name("poe_verify/ed25519");
BENCHMARK_CAPTURE(openssl_verify_bench, ed25519, key_type::ed25519)->Name("openssl_verify/ed25519");
BENCHMARK(sodium_verify_bench)->Name("sodium_verify/ed25519");

void merkle_root_bench(benchmark::State& state) {
  std::vector<hash256> leaves(static_cast<std::size_t>(state.range(0)));
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    std::uint8_t b[8];
    put_u64_be(b, i);
    leaves[i] = merkle::leaf_hash(byte_view{b, 8});
  }
  for (auto _ : state) benchmark::DoNotOptimize(merkle::root(leaves));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(merkle_root_bench)->Name("merkle_root")->Arg(4096)->Unit(benchmark::kMillisecond);

void sha256_bench(benchmark::State& state) {
  bytes data(static_cast<std::size_t>(state.range(0)), 0xab);
  sha256 h;
  for (auto _ : state) benchmark::DoNotOptimize(h.update(data).finish());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(sha256_bench)->Name("sha256")->Arg(1024)->Arg(16384);

} // namespace

// -- chain execution (single core) ---------------------------------------------------------------
//   chain_check_tx        context-free checks of one signed transfer, signature included
//   chain_execute/N       execute a block of N transfers from N/10 senders (signatures
//                         verified), the single-core bound of a validator's execution
//   chain_execute_known/N the same with every signature already verified (the node's cache)


namespace {

struct chain_fixture {
  chain::ledger state;
  chain::block blk;
  std::vector<chain::transaction> txs;

  explicit chain_fixture(int n) : state(make_state(n)) {
    for (int k = 0; k < 10; ++k)
      for (int s = 0; s < n / 10; ++s) {
        chain::transaction tx;
        tx.chain_id = "bench";
        tx.nonce = static_cast<std::uint64_t>(k);
        tx.fee = amount{1};
        tx.body = chain::transfer{sender(s + 1).id(), amount{1}};
        chain::sign(tx, sender(s));
        txs.push_back(tx);
      }
    blk = chain::build_block(state, {}, txs, sender(0).id(), 0, 1000);
    if (blk.transactions.size() != txs.size()) throw std::runtime_error("bench block incomplete");
  }
  static const private_key& sender(int i) {
    static std::map<int, private_key> keys;
    auto it = keys.find(i);
    if (it == keys.end()) {
      auto seed = sha256::digest(as_bytes("bench-sender-" + std::to_string(i)));
      it = keys.emplace(i, *private_key::ed25519_from_seed(seed.view())).first;
    }
    return it->second;
  }
  static chain::ledger make_state(int n) {
    chain::genesis g;
    g.chain_id = "bench";
    g.validators.push_back({sender(-1).pub(), amount{1000}});
    for (int s = 0; s <= n / 10; ++s)
      g.balances.push_back({sender(s).id(), amount{1'000'000}});
    std::sort(g.balances.begin(), g.balances.end(),
              [](auto& a, auto& b) { return a.account < b.account; });
    return *chain::ledger::from_genesis(g);
  }
};

void chain_check_tx_bench(benchmark::State& st) {
  static chain_fixture f(100);
  std::size_t i = 0;
  for (auto _ : st) {
    auto ok = chain::check_transaction(f.txs[i++ % f.txs.size()], "bench", 4096);
    benchmark::DoNotOptimize(ok);
  }
}

void chain_execute_bench(benchmark::State& st, bool known) {
  auto n = static_cast<int>(st.range(0));
  chain_fixture f(n);
  chain::verified_txs cache;
  if (known)
    for (auto& tx : f.txs)
      cache.insert(chain::tx_id(tx));
  for (auto _ : st) {
    auto next = chain::execute_block(f.state, f.blk, known ? &cache : nullptr);
    if (!next) st.SkipWithError(next.err().message.c_str());
    benchmark::DoNotOptimize(next);
  }
  st.SetItemsProcessed(st.iterations() * n);
}

} // namespace

BENCHMARK(chain_check_tx_bench)->Name("chain_check_tx");
BENCHMARK_CAPTURE(chain_execute_bench, plain, false)->Name("chain_execute")->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(chain_execute_bench, known, true)->Name("chain_execute_known")->Arg(1000)->Unit(benchmark::kMillisecond);
