// poe-bench notary — end-to-end notarization: 4 poe-node processes (tools/devnet, mutual TLS on
// loopback), each a validator and a builder (BPI). Step receipts carrying real PoE v1
// signatures are fed to the 4 builders as fast as they take them (a window of requests in
// flight); the builders cut LogBlocks, sign PoE headers and offer them; the validators admit,
// gossip, auction and include them, collecting rent.
//
//   poe-bench notary [--receipts 20000] [--interval-ms 200] [--window 512]
//
// Figures: receipts notarized per second (first receipt sent → every receipt in a finalized
// block, from the builders' own count), beside the single-core bound measured in the same run
// (PoE v1 verifications per second of these receipts' signed results on one core: what a
// verifier must do per receipt), and their ratio (goal >= 80 %); the inclusion latency p99 from
// the validators' histogram (admission → finalized block; goal <= 1 s); the inclusion rate
// (headers included / headers admitted at node-0; goal 100 %). The verifier's own per-receipt
// logic is measured by `poe-bench --benchmark_filter=verifier_receipts`.
#include "poe/chain/transaction.hpp"
#include "poe/core/poe_v1.hpp"
#include "poe/core/sha256.hpp"
#include "poe/runtime/messages.hpp"
#include "poe/wire/codec.hpp"

#include "bench_net.hpp"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

using namespace poe;
using namespace poe::runtime;
namespace fs = std::filesystem;
using clk = std::chrono::steady_clock;

namespace {

using bytes_t = std::vector<std::uint8_t>;

std::string sh_out(const std::string& cmd) {
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
  if (!p) return {};
  std::string out;
  std::array<char, 4096> buf;
  while (auto n = std::fread(buf.data(), 1, buf.size(), p.get())) out.append(buf.data(), n);
  return out;
}

/// node-0's metrics as name{labels} → value.
std::map<std::string, double> scrape(std::uint16_t port) {
  std::map<std::string, double> out;
  std::istringstream in(sh_out("python3 -c 'import urllib.request; print(urllib.request.urlopen("
                               "\"http://127.0.0.1:" + std::to_string(port) +
                               "/metrics\").read().decode())'"));
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    try {
      out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
    } catch (...) {
    }
  }
  return out;
}

/// The p-quantile's bucket upper bound of a Prometheus histogram `name`.
double quantile_bound(const std::map<std::string, double>& m, const std::string& name, double q) {
  auto count_it = m.find(name + "_count");
  if (count_it == m.end() || count_it->second == 0) return -1;
  std::vector<std::pair<double, double>> buckets; // le → cumulative count
  for (auto& [k, v] : m)
    if (k.rfind(name + "_bucket{", 0) == 0) {
      auto le = k.find("le=\"");
      auto end = k.find('"', le + 4);
      auto bound = k.substr(le + 4, end - le - 4);
      buckets.push_back({bound == "+Inf" ? 1e300 : std::stod(bound), v});
    }
  std::sort(buckets.begin(), buckets.end());
  for (auto& [le, c] : buckets)
    if (c >= q * count_it->second) return le;
  return -1;
}

} // namespace

int run_notary(int argc, char** argv, const std::string& self_path) {
  int receipts = 20000, interval = 200, window = 512;
  for (int i = 0; i + 1 < argc; ++i) {
    std::string a = argv[i];
    if (a == "--receipts") receipts = std::stoi(argv[i + 1]);
    if (a == "--interval-ms") interval = std::stoi(argv[i + 1]);
    if (a == "--window") window = std::stoi(argv[i + 1]);
  }
  auto bin = fs::path(self_path).parent_path();
  auto build = bin.parent_path();
  auto src = fs::path(POE_SOURCE_DIR);
  auto dir = fs::temp_directory_path() / ("poe-bench-notary-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto devnet = (src / "tools" / "devnet").string();
  auto up = devnet + " up -n 4 --dir " + dir.string() + " --build " + build.string() +
            " --base-port 7500 --metrics-base-port 9500 --roles '[\"validator\",\"builder\"]'" +
            " --block-interval-ms " + std::to_string(interval) + " --timeout 30 >/dev/null";
  std::cout << "notary bench: 4 validator+builder processes (TLS, loopback), " << interval
            << " ms blocks, " << receipts << " receipts; in " << dir << "\n";
  if (std::system(up.c_str()) != 0) {
    std::cerr << "notary bench: devnet up failed (logs in " << dir << ")\n";
    return 1;
  }
  int rc = 0;
  try {
    // Receipts with real PoE v1 commitments by 8 executor keys, and the single-core bound:
    // verifying each one's signed result.
    std::vector<private_key> executors;
    for (int i = 0; i < 8; ++i)
      executors.push_back(*private_key::ed25519_from_seed(
        sha256::digest(as_bytes("poe-bench-executor-" + std::to_string(i))).view()));
    std::vector<bytes> results;
    std::vector<poe_v1_proof> proofs;
    std::vector<bytes_t> wires;
    for (int i = 0; i < receipts; ++i) {
      request_id id;
      auto d = sha256::digest(as_bytes("poe-bench-request-" + std::to_string(i)));
      std::copy(d.data.begin(), d.data.begin() + id.data.size(), id.data.begin());
      bytes result(256, static_cast<std::uint8_t>(i));
      auto& key = executors[static_cast<std::size_t>(i) % executors.size()];
      auto proof = poe_commit(key, id, result);
      step_receipt r;
      r.request = id;
      r.kind = "compute";
      r.executor = key.id();
      r.result_hash = sha256::digest(result);
      r.poe = proof.poe;
      r.poe_sig = proof.sig;
      r.verifier = executors[0].id();
      r.verified_ms = 1;
      r.work_units = 1;
      r.result_bytes = result.size();
      auto w = wire::encode(r);
      wires.emplace_back(w.begin(), w.end());
      results.push_back(std::move(result));
      proofs.push_back(std::move(proof));
    }
    std::vector<poe_verifier> checkers;
    for (auto& k : executors) checkers.emplace_back(k.pub());
    auto b0 = clk::now();
    int valid = 0;
    for (int i = 0; i < receipts; ++i)
      valid += checkers[static_cast<std::size_t>(i) % checkers.size()].verify(
                 proofs[static_cast<std::size_t>(i)].request, results[static_cast<std::size_t>(i)],
                 proofs[static_cast<std::size_t>(i)]) == poe_check::valid;
    auto bound = receipts / std::chrono::duration<double>(clk::now() - b0).count();
    if (valid != receipts) throw std::runtime_error("the bound's verifications failed");

    caf::actor_system_config cfg;
    bench::client_settings(cfg, dir, "node-0");
    caf::actor_system sys{cfg};
    caf::scoped_actor self{sys};
    auto t = std::chrono::seconds(30);
    std::vector<caf::actor> vals, builders;
    for (std::uint16_t i = 0; i < 4; ++i) {
      auto d = bench::connect_to(self, static_cast<std::uint16_t>(7500 + i), true, t);
      vals.push_back(bench::find_role(self, d, "validator", t));
      builders.push_back(bench::find_role(self, d, "builder", t));
    }
    auto ask_json = [&](const caf::actor& a, auto... xs) {
      nlohmann::json j;
      self->request(a, t, xs...)
        .receive([&](std::string& s) { j = nlohmann::json::parse(s); },
                 [&](caf::error& e) { throw std::runtime_error(sys.render(e)); });
      return j;
    };
    // Each node stakes its builder role (signed with its node key).
    for (int i = 0; i < 4; ++i) {
      auto key = private_key::load(dir / ("node-" + std::to_string(i)) / "node.key");
      if (!key) throw std::runtime_error(key.err().message);
      chain::transaction tx;
      tx.chain_id = "poe-devnet";
      tx.nonce = ask_json(vals[0], account_atom::value, key->id().hex())["nonce"].get<std::uint64_t>();
      tx.body = chain::stake{chain::stake_role::builder, amount{1'000'000}};
      chain::sign(tx, *key);
      self->request(vals[0], t, tx_atom::value, chain::encode(tx))
        .receive([](std::string&) {}, [&](caf::error& e) { throw std::runtime_error(sys.render(e)); });
      auto deadline = clk::now() + std::chrono::seconds(30);
      while (ask_json(vals[0], account_atom::value, key->id().hex())["stakes"].value("builder", "") == "") {
        if (clk::now() > deadline) throw std::runtime_error("builder stake not committed");
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    auto before = scrape(9500);
    // Feed: receipt i to builder i mod 4, `window` in flight.
    auto t0 = clk::now();
    int sent = 0, acked = 0;
    auto send_next = [&] {
      auto i = static_cast<std::size_t>(sent++);
      self->send(builders[i % builders.size()], bd_receipt_atom::value, wires[i]);
    };
    while (sent < std::min(window, receipts)) send_next();
    while (acked < receipts) {
      self->receive([&](std::string&) { ++acked; },
                    [&](caf::error& e) { throw std::runtime_error("builder: " + sys.render(e)); },
                    caf::after(std::chrono::seconds(30)) >> [&] { throw std::runtime_error("no answer in 30 s"); });
      if (sent < receipts) send_next();
    }
    auto fed = std::chrono::duration<double>(clk::now() - t0).count();
    // Until every receipt is in a finalized block (the builders count them when they see it).
    std::uint64_t included = 0;
    auto deadline = clk::now() + std::chrono::seconds(300);
    while (included < static_cast<std::uint64_t>(receipts)) {
      if (clk::now() > deadline) throw std::runtime_error("receipts not all included after 300 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      included = 0;
      for (auto& b : builders) included += ask_json(b, bd_status_atom::value).value("receipts_included", std::uint64_t{0});
    }
    auto secs = std::chrono::duration<double>(clk::now() - t0).count();
    auto after = scrape(9500);
    auto rate = receipts / secs;
    auto headers_in = after["poe_notary_headers_included_total"] - before["poe_notary_headers_included_total"];
    auto admitted = after["poe_notary_headers_admitted_total"] - before["poe_notary_headers_admitted_total"];
    auto p99 = quantile_bound(after, "poe_notary_inclusion_seconds", 0.99);
    auto p50 = quantile_bound(after, "poe_notary_inclusion_seconds", 0.50);
    std::printf("receipts fed to the builders in %.2f s (%.0f/s)\n", fed, receipts / fed);
    std::printf("notarized: %d receipts in %.0f PoE headers, all in finalized blocks after %.2f s\n",
                receipts, headers_in, secs);
    std::printf("%-44s %12.0f receipts/s\n", "end to end (builders -> 4 validators)", rate);
    std::printf("%-44s %12.0f receipts/s   ratio %.1f %% (goal >= 80 %%)\n",
                "single-core bound (PoE v1 verify, same run)", bound, 100 * rate / bound);
    std::printf("inclusion latency (admission -> finalized, node-0 histogram): p50 <= %.2f s, "
                "p99 <= %.2f s (goal <= 1 s)\n", p50, p99);
    std::printf("inclusion rate at node-0: %.0f of %.0f admitted headers included (%.1f %%, goal "
                "100 %%)\n", headers_in, admitted, admitted > 0 ? 100 * headers_in / admitted : 0.0);
  } catch (const std::exception& e) {
    std::cerr << "notary bench: " << e.what() << "\n";
    rc = 1;
  }
  std::system((devnet + " down --dir " + dir.string() + " >/dev/null").c_str());
  if (rc == 0) fs::remove_all(dir);
  return rc;
}
