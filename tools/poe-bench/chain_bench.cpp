// poe-bench chain — the chain under load: 4 validator processes (tools/devnet, mutual TLS on
// loopback) at a 100 ms block interval.
//
//   poe-bench chain [--interval-ms 100] [--idle-seconds 10] [--transfers 20000] [--senders 400]
//                   [--max-block-txs 1000]
//
// Phase 1 (idle): blocks/s and commit latency p50/p99 (start of a height → its commit, as each
// validator logs it) over the window. Phase 2 (load): the transfers, signed beforehand by
// `senders` funded accounts, are submitted to the 4 validators (each sender to one node,
// pipelined, 8 batches of 100 in flight: a saturating load); what a validator answers busy
// (admission backpressure: its mempool holds four blocks' worth) is resubmitted after the next
// block. transfers/s = transfers committed / (last commit − first submission), with the block
// fill and the commit latency under load. The anchor (Besu QBFT, 4 validators:
// 520–1200 TPS at 2 s blocks) is an external figure; the ratio to its upper end is printed.
#include <CLI/CLI.hpp>
#include "poe/chain/transaction.hpp"
#include "poe/core/sha256.hpp"
#include "poe/runtime/messages.hpp"

#include "bench_net.hpp"
#include "figures.hpp"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <thread>

using namespace poe;
using namespace poe::runtime;
namespace fs = std::filesystem;
using clk = std::chrono::steady_clock;

namespace {

/// Commit latencies (ms) that node logs report for heights in (from, to].
std::vector<double> latencies(const fs::path& dir, std::uint64_t from, std::uint64_t to) {
  static const std::regex line(R"(committed height (\d+) round \d+ block [0-9a-f]+ \((\d+) txs, ([0-9.]+) ms)");
  std::vector<double> out;
  for (int i = 0; i < 4; ++i) {
    std::ifstream in(dir / ("node-" + std::to_string(i)) / "node.log");
    std::string l;
    std::smatch m;
    while (std::getline(in, l))
      if (std::regex_search(l, m, line)) {
        auto h = std::stoull(m[1]);
        if (h > from && h <= to) out.push_back(std::stod(m[3]));
      }
  }
  std::sort(out.begin(), out.end());
  return out;
}

double pct(const std::vector<double>& xs, double p) {
  if (xs.empty()) return 0;
  auto i = static_cast<std::size_t>(p * static_cast<double>(xs.size() - 1) + 0.5);
  return xs[std::min(i, xs.size() - 1)];
}

} // namespace

int run_chain(int argc, char** argv, const std::string& self_path) {
  int interval = 100, idle_s = 10, transfers = 20000, senders = 400, max_block = 1000;
  CLI::App app{"poe-bench chain: 4 validator processes over TLS, blocks/s, commit latency, transfers/s"};
  app.add_option("--interval-ms", interval, "block interval (ms)")->check(CLI::Range(50, 60000))->capture_default_str();
  app.add_option("--idle-seconds", idle_s, "idle window (s)")->check(CLI::Range(1, 3600))->capture_default_str();
  app.add_option("--transfers", transfers, "transfers submitted under load")->check(CLI::Range(1, 10000000))->capture_default_str();
  app.add_option("--senders", senders, "distinct sending accounts")->check(CLI::Range(1, 1000000))->capture_default_str();
  app.add_option("--max-block-txs", max_block, "most transactions per block")->check(CLI::Range(1, 100000))->capture_default_str();
  try {
    app.parse(argc, argv); // unknown flags and values out of range are refused
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  // A mempool keeps at most 64 pending transactions per sender: at most 50 per sender here.
  senders = std::max(senders, (transfers + 49) / 50);
  auto bin = fs::path(self_path).parent_path();
  auto build = bin.parent_path();
  auto src = fs::path(POE_SOURCE_DIR);
  auto dir = fs::temp_directory_path() / ("poe-bench-chain-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto devnet = (src / "tools" / "devnet").string();

  // Senders: deterministic Ed25519 keys, funded at genesis.
  std::vector<private_key> keys;
  {
    std::ofstream fund(dir / "fund.txt");
    for (int i = 0; i < senders; ++i) {
      auto seed = sha256::digest(as_bytes("poe-bench-sender-" + std::to_string(i)));
      keys.push_back(*private_key::ed25519_from_seed(seed.view()));
      fund << keys.back().id().hex() << "\n";
    }
  }
  auto up = devnet + " up -n 4 --dir " + dir.string() + " --build " + build.string() +
            " --base-port 7800 --metrics-base-port 9800 --roles '[\"validator\"]'" +
            " --block-interval-ms " + std::to_string(interval) +
            " --max-block-txs " + std::to_string(max_block) + " --fund " +
            (dir / "fund.txt").string() + " --timeout 30 >/dev/null";
  std::cout << "chain bench: 4 validators (TLS, loopback), " << interval << " ms blocks, "
            << senders << " funded senders; in " << dir << "\n";
  if (std::system(up.c_str()) != 0) {
    std::cerr << "chain bench: devnet up failed (logs in " << dir << ")\n";
    return 1;
  }
  int rc = 0;
  try {
    caf::actor_system_config cfg;
    bench::client_settings(cfg, dir, "node-0");
    caf::actor_system sys{cfg};
    caf::scoped_actor self{sys};
    auto t = std::chrono::seconds(30);
    std::vector<caf::actor> vals;
    for (auto& d : bench::connect_all(self, {7800, 7801, 7802, 7803}, true, t))
      vals.push_back(bench::find_role(self, d, "validator", t));
    auto status = [&] {
      chain_status st;
      self->request(vals[0], t, chain_atom::value)
        .receive([&](chain_status& x) { st = std::move(x); },
                 [&](caf::error& e) { throw std::runtime_error(sys.render(e)); });
      return st;
    };
    // Wait for the chain to run, then the idle window.
    while (status().height < 5)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto h0 = status().height;
    auto t0 = clk::now();
    std::this_thread::sleep_for(std::chrono::seconds(idle_s));
    auto h1 = status().height;
    auto idle_secs = std::chrono::duration<double>(clk::now() - t0).count();
    auto idle_lat = latencies(dir, h0, h1);
    std::printf("idle:  %.2f blocks/s (%llu blocks in %.1f s; interval %d ms)\n",
                static_cast<double>(h1 - h0) / idle_secs,
                static_cast<unsigned long long>(h1 - h0), idle_secs, interval);
    std::printf("       commit latency p50 %.1f ms, p99 %.1f ms, max %.1f ms (%zu commits on 4 nodes)\n",
                pct(idle_lat, 0.5), pct(idle_lat, 0.99), pct(idle_lat, 1.0), idle_lat.size());

    // Load: sign everything first (not measured).
    auto recipient = keys[0].id();
    std::vector<std::vector<std::uint8_t>> wires;
    std::vector<int> node_of;
    int per = std::max(1, transfers / senders);
    for (int n = 0; n < per; ++n)
      for (int s = 0; s < senders; ++s) {
        chain::transaction tx;
        tx.chain_id = "poe-devnet";
        tx.nonce = static_cast<std::uint64_t>(n);
        tx.fee = amount{1};
        tx.body = chain::transfer{s == 0 ? keys[1].id() : recipient, amount{1}};
        chain::sign(tx, keys[static_cast<std::size_t>(s)]);
        wires.push_back(chain::encode(tx));
        node_of.push_back(s % 4);
      }
    auto base = status().transactions;
    auto hb = status().height;
    std::size_t accepted = 0, rejected = 0;
    std::string first_rejection;
    // Batches of 100 per node (tx_atom with a list), 8 batches in flight.
    std::vector<std::vector<std::vector<std::uint8_t>>> batches;
    std::vector<std::size_t> batch_node;
    {
      std::vector<std::vector<std::vector<std::uint8_t>>> open(4);
      for (std::size_t k = 0; k < wires.size(); ++k) {
        auto node = static_cast<std::size_t>(node_of[k]);
        open[node].push_back(wires[k]);
        if (open[node].size() == 100) {
          batches.push_back(std::move(open[node]));
          batch_node.push_back(node);
          open[node].clear();
        }
      }
      for (std::size_t node = 0; node < 4; ++node)
        if (!open[node].empty()) {
          batches.push_back(std::move(open[node]));
          batch_node.push_back(node);
        }
    }
    auto l0 = clk::now();
    std::size_t in_flight = 0, next = 0, busy = 0, waits = 0;
    // Backpressure: what a validator answers busy (its mempool holds a few blocks' worth) is
    // resubmitted to it once the next block is committed, before anything new is sent.
    std::vector<std::vector<std::vector<std::uint8_t>>> retry(4);
    // Per validator, the batches in flight in the order sent: it answers them in that order.
    std::vector<std::deque<std::vector<std::vector<std::uint8_t>>>> sent(4);
    auto take = [&] {
      self->receive(
        [&](std::vector<submit_reply>& rs) {
          auto from = caf::actor_cast<caf::actor_addr>(self->current_sender());
          std::size_t node = 0;
          while (node < 4 && vals[node].address() != from) ++node;
          if (node == 4 || sent[node].empty()) throw std::runtime_error("an answer from nowhere");
          auto batch = std::move(sent[node].front());
          sent[node].pop_front();
          for (std::size_t i = 0; i < rs.size() && i < batch.size(); ++i)
            if (rs[i].taken()) {
              ++accepted;
            } else if (rs[i].busy()) {
              ++busy;
              retry[node].push_back(std::move(batch[i]));
            } else {
              ++rejected;
              if (first_rejection.empty()) first_rejection = rs[i].text();
            }
        },
        caf::after(std::chrono::seconds(30)) >>
          [&] { throw std::runtime_error("no answer to a submission in 30 s"); });
      --in_flight;
    };
    auto submit = [&](std::size_t node, std::vector<std::vector<std::uint8_t>> batch) {
      self->send(vals[node], tx_atom::value, batch);
      sent[node].push_back(std::move(batch));
      ++in_flight;
    };
    auto pending_retry = [&] {
      return std::any_of(retry.begin(), retry.end(), [](auto& r) { return !r.empty(); });
    };
    while (next < batches.size() || in_flight > 0 || pending_retry()) {
      if (pending_retry() && in_flight == 0) {
        auto h = status().height;
        while (status().height == h) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        ++waits;
        for (std::size_t node = 0; node < 4; ++node)
          for (std::size_t k = 0; k < retry[node].size(); k += 100)
            submit(node, {retry[node].begin() + static_cast<std::ptrdiff_t>(k),
                          retry[node].begin() + static_cast<std::ptrdiff_t>(std::min(k + 100, retry[node].size()))});
        for (auto& r : retry) r.clear();
      }
      while (!pending_retry() && in_flight < 8 && next < batches.size()) {
        submit(batch_node[next], batches[next]);
        ++next;
      }
      if (in_flight > 0) take();
    }
    auto submitted = std::chrono::duration<double>(clk::now() - l0).count();
    std::uint64_t done = 0, hl = hb;
    auto deadline = clk::now() + std::chrono::seconds(120);
    while (clk::now() < deadline) {
      auto st = status();
      done = st.transactions - base;
      hl = st.height;
      if (done >= accepted) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    auto load_secs = std::chrono::duration<double>(clk::now() - l0).count();
    auto load_lat = latencies(dir, hb, hl);
    double tps = static_cast<double>(done) / load_secs;
    std::printf("load:  %zu transfers submitted in %.2f s (%.0f/s admitted), %zu rejected%s%s\n",
                accepted + rejected, submitted, static_cast<double>(accepted) / submitted,
                rejected, first_rejection.empty() ? "" : ": first ", first_rejection.c_str());
    std::printf("       backpressure: %zu busy answers (mempool full), resubmitted after %zu blocks\n",
                busy, waits);
    std::printf("       %llu committed in %.2f s: %.0f transfers/s over %llu blocks (%.0f per block)\n",
                static_cast<unsigned long long>(done), load_secs, tps,
                static_cast<unsigned long long>(hl - hb),
                hl > hb ? static_cast<double>(done) / static_cast<double>(hl - hb) : 0.0);
    std::printf("       commit latency under load p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
                pct(load_lat, 0.5), pct(load_lat, 0.99), pct(load_lat, 1.0));
    // The bound of this machine: every validator verifies every signature once, and the four
    // share the cores; measured here, in the same run, on one core.
    std::size_t checked = 0;
    auto v0 = clk::now();
    while (clk::now() - v0 < std::chrono::seconds(1)) {
      auto tx = chain::decode_transaction(wires[checked % wires.size()]);
      if (!tx || !chain::check_transaction(*tx, "poe-devnet", 4096))
        throw std::runtime_error("bound: a benchmark transaction does not verify");
      ++checked;
    }
    double per_core = static_cast<double>(checked) /
                      std::chrono::duration<double>(clk::now() - v0).count();
    double cores = std::max(1u, std::thread::hardware_concurrency());
    double bound = cores * per_core / 4.0;
    std::printf("bound: %.0f signature checks/s on one core x %.0f cores / 4 validators = %.0f "
                "transfers/s -> measured %.0f%% of it\n",
                per_core, cores, bound, 100.0 * tps / bound);
    bench::figure("chain", "transfers/s (4 validators, saturated)", tps, "tx/s",
                  "signature bound, same run", bound, ">= 80 %");
    bench::figure("chain", "transfers/s beside Besu QBFT", tps, "tx/s", "Besu 4 validators, upper end", 1200);
    bench::figure("chain", "commit latency p99, idle", pct(idle_lat, 0.99), "ms", "goal", 50, "<= 50 ms");
    bench::figure("chain", "commit latency p99, saturated", pct(load_lat, 0.99), "ms", "goal", 1000,
                  "<= 1 s");
    std::printf("anchor: Besu QBFT 4 validators 520-1200 TPS at 2 s blocks -> %.1fx the upper end; "
                "goal >= 5000 transfers/s (%.0f%%), commit p99 <= 50 ms\n",
                tps / 1200.0, 100.0 * tps / 5000.0);
    if (done < accepted) {
      std::cerr << "chain bench: only " << done << " of " << accepted << " committed in time\n";
      rc = 1;
    }
  } catch (const std::exception& e) {
    std::cerr << "chain bench: " << e.what() << "\n";
    rc = 1;
  }
  std::system((devnet + " down --dir " + dir.string() + " >/dev/null").c_str());
  if (rc == 0 && !std::getenv("POE_BENCH_KEEP")) fs::remove_all(dir);
  return rc;
}
