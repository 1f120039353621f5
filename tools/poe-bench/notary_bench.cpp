// poe-bench notary — end-to-end notarization through every stage: 5 poe-node processes
// (tools/devnet, mutual TLS on loopback): nodes 0-3 each a validator, a builder (BPI) and an
// executor, node 4 the verifier. Compute jobs of small inline inputs (the Proof-of-Compute
// kind, 1 SHA-256 iteration: the work itself is negligible, so the pipeline's overhead shows)
// are submitted to the verifier, keeping a window of tasks in flight; the verifier draws
// executors by stake x reputation, each executor signs its result (PoE v1), the verifier checks
// the signature and the facts, re-runs the sampled share (verifier.sample-rate-ppm, default
// 5 %) on a second executor, waits for the block that decides the sample, writes the receipt
// and forwards it to a builder; the builders cut LogBlocks, sign PoE headers and offer them;
// the validators admit, gossip, auction and include them, collecting rent.
//
//   poe-bench notary [--receipts 20000] [--interval-ms 200] [--window 4000] [--job 250]
//                    [--threads 1]
//
// Five processes share this machine's cores, so each node runs one scheduler thread
// (node.threads, --threads; 0 = one per core) besides its worker threads.
//
// Figures: receipts notarized per second (first job submitted -> every receipt in a finalized
// block, from the builders' own count), the verifier stage alone (-> every receipt taken by a
// builder), beside the single-core bound measured in the same run (PoE v1 verifications per
// second of results like these on one core: what a verifier must do per result; the mean of
// a measurement before the nodes start and one after the run) and their ratio (goal >= 80 %);
// CPU seconds per receipt of the verifier, the nodes and this client (from /proc); the
// inclusion latency p50/p99 from the validators' histogram (admission -> finalized block; goal
// <= 1 s); the inclusion rate (headers included / headers admitted at node-0; goal 100 %).
#include <CLI/CLI.hpp>
#include "poe/chain/transaction.hpp"
#include "poe/core/poe_v1.hpp"
#include "poe/core/sha256.hpp"
#include "poe/runtime/messages.hpp"
#include "poe/wire/codec.hpp"

#include "bench_net.hpp"
#include "figures.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
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

/// CPU seconds of the 5 nodes (by their pid files) and of this process.
std::vector<double> cpu_of(const fs::path& dir) {
  std::vector<double> out;
  for (int i = 0; i < 5; ++i) {
    auto pid = bench::node_pid(dir, "node-" + std::to_string(i));
    out.push_back(pid.empty() ? -1 : bench::cpu_seconds(pid));
  }
  out.push_back(bench::cpu_seconds("self"));
  return out;
}

} // namespace

int run_notary(int argc, char** argv, const std::string& self_path) {
  int receipts = 20000, interval = 200, window = 4000, job_size = 250, threads = 1;
  CLI::App app{"poe-bench notary: compute tasks -> executors -> verifier -> builders -> 4 validators"};
  app.add_option("--receipts", receipts, "tasks (receipts) in all")->check(CLI::Range(1, 10000000))->capture_default_str();
  app.add_option("--interval-ms", interval, "block interval (ms)")->check(CLI::Range(50, 60000))->capture_default_str();
  app.add_option("--window", window, "tasks in flight")->check(CLI::Range(1, 1000000))->capture_default_str();
  app.add_option("--job", job_size, "tasks per job")->check(CLI::Range(1, 10000))->capture_default_str();
  app.add_option("--threads", threads, "node.threads of each node (0: one per core)")->check(CLI::Range(0, 64))->capture_default_str();
  try {
    app.parse(argc, argv); // unknown flags and values out of range are refused
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto bin = fs::path(self_path).parent_path();
  auto build = bin.parent_path();
  auto src = fs::path(POE_SOURCE_DIR);
  auto dir = fs::temp_directory_path() / ("poe-bench-notary-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto devnet = (src / "tools" / "devnet").string();
  auto up = devnet + " up -n 5 --dir " + dir.string() + " --build " + build.string() +
            " --base-port 7500 --metrics-base-port 9500" +
            " --roles '[\"validator\",\"builder\",\"execution\"]' --node-roles '4=[\"verifier\"]'" +
            " --block-interval-ms " + std::to_string(interval) + " --threads " +
            std::to_string(threads) + " --timeout 40 >/dev/null";
  std::cout << "notary bench: 4 validator+builder+executor processes and a verifier (TLS, "
               "loopback, node.threads="
            << threads << "), " << interval << " ms blocks, " << receipts << " compute tasks in jobs of " << job_size
            << ", " << window << " in flight; in " << dir << "\n";
  // The single-core bound: verifying signed results shaped like the executors' (a compute
  // task_result with its digest fact, PoE v1 by one of 8 keys), one after another on one core.
  // Measured before the nodes start and again after the run (the nodes idle), since this
  // host's speed drifts; the ratio uses their mean.
  auto measure_bound = [&]() -> double {
    std::vector<private_key> keys;
    for (int i = 0; i < 8; ++i)
      keys.push_back(*private_key::ed25519_from_seed(
        sha256::digest(as_bytes("poe-bench-executor-" + std::to_string(i))).view()));
    std::vector<poe_verifier> checkers;
    for (auto& k : keys) checkers.emplace_back(k.pub());
    std::vector<bytes> results;
    std::vector<poe_v1_proof> proofs;
    const int n = std::min(receipts, 20000);
    for (int i = 0; i < n; ++i) {
      task_result r;
      auto d = sha256::digest(as_bytes("poe-bench-request-" + std::to_string(i)));
      std::copy(d.data.begin(), d.data.begin() + r.id.data.size(), r.id.data.begin());
      r.kind = "compute";
      r.facts = {{"digest", d.hex()}, {"input_bytes", "16"}, {"iterations", "1"}};
      r.task_hash = sha256::digest(d.view());
      results.push_back(wire::encode(r));
      proofs.push_back(poe_commit(keys[static_cast<std::size_t>(i) % keys.size()], r.id, results.back()));
    }
    auto b0 = clk::now();
    int valid = 0;
    for (int i = 0; i < n; ++i) {
      auto k = static_cast<std::size_t>(i);
      valid += checkers[k % checkers.size()].verify(proofs[k].request, results[k], proofs[k]) ==
               poe_check::valid;
    }
    if (valid != n) return 0;
    return n / std::chrono::duration<double>(clk::now() - b0).count();
  };
  auto bound_before = measure_bound();
  if (bound_before == 0) {
    std::cerr << "notary bench: the bound's verifications failed\n";
    return 1;
  }
  if (std::system(up.c_str()) != 0) {
    std::cerr << "notary bench: devnet up failed (logs in " << dir << ")\n";
    return 1;
  }
  int rc = 0;
  try {
    caf::actor_system_config cfg;
    bench::client_settings(cfg, dir, "node-0");
    caf::actor_system sys{cfg};
    caf::scoped_actor self{sys};
    auto t = std::chrono::seconds(30);
    std::vector<caf::actor> vals, builders;
    auto dirs = bench::connect_all(self, {7500, 7501, 7502, 7503, 7504}, true, t);
    for (std::size_t i = 0; i < 4; ++i) {
      vals.push_back(bench::find_role(self, dirs[i], "validator", t));
      builders.push_back(bench::find_role(self, dirs[i], "builder", t));
    }
    auto verifier = bench::find_role(self, dirs[4], "verifier", t);
    // Each of nodes 0-3 stakes its builder and its executor, node 4 its verifier (executors
    // run only tasks a staked verifier signed); each signed with its node key.
    for (int i = 0; i < 5; ++i)
      bench::stake_node(self, vals[0], dir, "node-" + std::to_string(i),
                        i < 4 ? std::vector<chain::stake_role>{chain::stake_role::builder, chain::stake_role::executor}
                              : std::vector<chain::stake_role>{chain::stake_role::verifier},
                        t);
    auto builder_counts = [&] {
      std::pair<std::uint64_t, std::uint64_t> taken_included{0, 0};
      for (auto& b : builders) {
        builder_status st;
        self->request(b, t, bd_status_atom::value)
          .receive([&](builder_status& x) { st = std::move(x); },
                   [&](caf::error& e) { throw std::runtime_error("builder status: " + sys.render(e)); });
        taken_included.first += st.receipts;
        taken_included.second += st.receipts_included;
      }
      return taken_included;
    };
    std::uint64_t next_input = 0;
    auto submit = [&](int n) {
      std::vector<std::vector<std::uint8_t>> inputs;
      for (int k = 0; k < n; ++k) {
        auto text = "poe-bench input " + std::to_string(next_input++);
        inputs.emplace_back(text.begin(), text.end());
      }
      auto auth = bench::sign_request(self, verifier, vf_nonce_atom::value, dir, "node-0", request_op::compute,
                                      compute_subject(1, inputs), t);
      self->request(verifier, t, vf_compute_atom::value, std::string(), std::uint64_t{1},
                    std::move(inputs), std::move(auth))
        .receive([](std::string&) {},
                 [&](caf::error& e) { throw std::runtime_error("verifier: " + sys.render(e)); });
    };
    auto wait_for = [&](std::uint64_t taken, std::uint64_t included, int seconds) {
      auto deadline = clk::now() + std::chrono::seconds(seconds);
      for (;;) {
        auto c = builder_counts();
        if (c.first >= taken && c.second >= included) return;
        if (clk::now() > deadline)
          throw std::runtime_error("after " + std::to_string(seconds) + " s: " +
                                   std::to_string(c.first) + " receipts taken by builders, " +
                                   std::to_string(c.second) + " included (waiting for " +
                                   std::to_string(taken) + ")");
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    };
    // Warm-up: a small job until its receipts are included (the verifier has seen the
    // executors' stakes and the builders, every connection is up).
    submit(8);
    wait_for(8, 8, 60);
    auto base = builder_counts();
    auto before = bench::scrape(9500);
    auto cpu0 = cpu_of(dir);
    auto t0 = clk::now();
    int sent = 0;
    double verified_at = 0;
    for (;;) {
      auto c = builder_counts();
      auto taken = static_cast<int>(c.first - base.first);
      if (taken >= receipts) {
        verified_at = std::chrono::duration<double>(clk::now() - t0).count();
        break;
      }
      while (sent < receipts && sent - taken < window) {
        auto n = std::min(job_size, receipts - sent);
        submit(n);
        sent += n;
      }
      if (std::chrono::duration<double>(clk::now() - t0).count() > 600)
        throw std::runtime_error("only " + std::to_string(taken) + " receipts after 600 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    wait_for(base.first + static_cast<std::uint64_t>(receipts),
             base.second + static_cast<std::uint64_t>(receipts), 300);
    auto secs = std::chrono::duration<double>(clk::now() - t0).count();
    auto cpu1 = cpu_of(dir);
    auto after = bench::scrape(9500);
    auto bound_after = measure_bound();
    auto bound = (bound_before + bound_after) / 2;
    auto vafter = bench::scrape(9504);
    auto rate = receipts / secs;
    auto headers_in = after["poe_notary_headers_included_total"] - before["poe_notary_headers_included_total"];
    auto admitted = after["poe_notary_headers_admitted_total"] - before["poe_notary_headers_admitted_total"];
    auto p99 = quantile_bound(after, "poe_notary_inclusion_seconds", 0.99);
    auto p50 = quantile_bound(after, "poe_notary_inclusion_seconds", 0.50);
    std::printf("verified and taken by the builders: %d receipts in %.2f s (%.0f/s); %.0f re-executed "
                "(sampled), %.0f rejected answers\n",
                receipts, verified_at, receipts / verified_at, vafter["poe_verifier_reexecuted_total"],
                [&] {
                  double n = 0;
                  for (auto& [k, v] : vafter)
                    if (k.rfind("poe_verifier_rejected_total", 0) == 0) n += v;
                  return n;
                }());
    std::printf("notarized: %d receipts in %.0f PoE headers, all in finalized blocks after %.2f s\n",
                receipts, headers_in, secs);
    std::printf("%-48s %10.0f receipts/s\n", "end to end (verifier -> builders -> 4 validators)", rate);
    std::printf("%-48s %10.0f receipts/s   ratio %.1f %% (goal >= 80 %%)\n",
                "single-core bound (PoE v1 verify, same run)", bound, 100 * rate / bound);
    std::printf("  (the bound measured before the nodes started %.0f/s, after the run %.0f/s)\n",
                bound_before, bound_after);
    auto us = [&](double s) { return 1e6 * s / receipts; };
    double nodes = 0;
    for (int i = 0; i < 4; ++i) nodes += cpu1[static_cast<std::size_t>(i)] - cpu0[static_cast<std::size_t>(i)];
    auto verifier_cpu = cpu1[4] - cpu0[4], bench_cpu = cpu1[5] - cpu0[5];
    std::printf("CPU per receipt (user+system, this run): verifier %.0f us, the 4 "
                "validator+builder+executor nodes %.0f us, this client %.0f us, total %.0f us "
                "on %u cores in %.2f s; one PoE v1 verification %.0f us\n",
                us(verifier_cpu), us(nodes), us(bench_cpu), us(verifier_cpu + nodes + bench_cpu),
                std::thread::hardware_concurrency(), secs, 1e6 / bound);
    bench::figure("notary", "receipts/s end to end", rate, "receipts/s",
                  "single-core PoE v1 verification bound, same run", bound, ">= 80 %");
    bench::figure("notary", "CPU per receipt, all processes", us(verifier_cpu + nodes + bench_cpu), "us",
                  "one PoE v1 verification", 1e6 / bound);
    bench::figure("notary", "inclusion latency p99", p99, "s", "goal", 1, "<= 1 s");
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
