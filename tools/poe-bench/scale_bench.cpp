// poe-bench scale: validator networks of growing size in the deterministic harness (simulated
// nodes on CAF's test coordinator, every message crossing a seam that counts it and serializes
// it once for its bytes). Per size and seed: blocks committed in the window (liveness), the
// same block at every height on every running node (safety), and the traffic per block — all
// of it and per node, by kind (consensus, transaction gossip, heartbeats, ...). The growth of a
// node's consensus bytes with n is printed as an exponent between successive sizes.
//
// The whole node runtime runs (directory, supervision, heartbeats, the validator role with its
// RocksDB store and QBFT), on the production network timers and a 1 s block interval; time is
// simulated, so the figures do not depend on this machine's load — only the wall time does.
// docs/scaling.md quotes its output.
#include "poe/actors/roles.hpp"
#include "poe/chain/genesis.hpp"
#include "poe/chain/transaction.hpp"
#include "poe/core/sha256.hpp"
#include "poe/runtime/role_messages.hpp"
#include "poe/testing/harness.hpp"

#include "figures.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace poe;
using namespace poe::runtime;
using namespace std::chrono_literals;

namespace {

struct scale_options {
  std::vector<int> sizes{4, 10, 25, 50, 100};
  int seeds = 2, first_seed = 1, seconds = 10, silent = 0, tps = 0;
  double drop = 0;
};

struct run_result {
  int n = 0;
  std::uint64_t seed = 0;
  std::uint64_t blocks = 0, txs = 0;
  bool safe = true, live = true;
  std::string violation;
  double msgs_per_block = 0, msgs_per_block_node = 0;   // all kinds; per node: mean sent
  double bytes_per_block_node = 0, max_bytes_per_block_node = 0;
  double cons_bytes_per_block_node = 0, cons_msgs_per_block_node = 0;
  std::map<std::string, testing::harness::traffic> kinds;
  double wall_s = 0;
};

std::vector<std::uint8_t> transfer(const private_key& from, std::uint64_t nonce, int to) {
  chain::transaction tx;
  tx.chain_id = testing::harness::chain_id();
  tx.nonce = nonce;
  tx.fee = amount{1};
  tx.body = chain::transfer{node_id{sha256::digest(as_bytes("scale-recipient-" + std::to_string(to))).data},
                            amount{1}};
  chain::sign(tx, from);
  return chain::encode(tx);
}

run_result run_one(int n, std::uint64_t seed, const scale_options& o) {
  auto started = std::chrono::steady_clock::now();
  run_result r;
  r.n = n;
  r.seed = seed;
  testing::harness h{seed};
  std::vector<testing::node_index> ns;
  for (int i = 0; i < n; ++i) {
    testing::node_spec spec{"v" + std::to_string(i), {actors::validator_role()}, {}};
    for (int j = 0; j < i; ++j)
      spec.peers.push_back(static_cast<testing::node_index>(j));
    spec.store = true;
    ns.push_back(h.add_node(spec));
  }
  // Senders: a mempool holds at most 64 pending transactions of one sender.
  int senders = o.tps == 0 ? 0 : (o.tps + 39) / 40;
  std::vector<private_key> keys;
  chain::genesis g;
  g.chain_id = testing::harness::chain_id();
  for (auto i : ns)
    g.validators.push_back({h.key(i).pub(), amount{1000}});
  std::sort(g.validators.begin(), g.validators.end(), [](auto& a, auto& b) { return a.id() < b.id(); });
  for (int s = 0; s < senders; ++s) {
    auto k = sha256::digest(as_bytes("scale-sender-" + std::to_string(s)));
    keys.push_back(*private_key::ed25519_from_seed(k.view()));
    g.balances.push_back({keys.back().id(), amount{1'000'000'000}});
  }
  auto genesis = fs::temp_directory_path() /
                 ("poe-bench-scale-" + std::to_string(::getpid()) + "-" + std::to_string(n) + ".json");
  std::ofstream(genesis) << chain::to_json(g);
  h.set("validator.genesis", genesis.string());

  // Each validator's handle, asked of its directory once (a running node keeps it for the run;
  // crashed ones are never asked again).
  std::map<testing::node_index, caf::actor> handles;
  auto validator = [&](testing::node_index i) {
    auto& v = handles[i];
    if (!v) v = h.local(i, "validator");
    return v;
  };
  auto status = [&](testing::node_index i) {
    auto v = validator(i);
    auto s = v ? h.ask<chain_status>(v, caf::make_message(chain_atom::value)) : std::nullopt;
    return s ? *s : chain_status{};
  };
  h.start_all();
  // Warm-up: meshed and a first block everywhere (not counted).
  auto all_at = [&](std::uint64_t height) {
    for (auto i : ns)
      if (status(i).height < height) return false;
    return true;
  };
  if (!h.advance_until([&] { return all_at(1); }, 60s, 100ms)) {
    r.live = false;
    r.violation = "no first block within 60 simulated seconds";
    fs::remove(genesis);
    return r;
  }
  std::vector<testing::node_index> running = ns;
  for (int k = 0; k < o.silent; ++k) {
    h.crash(ns[ns.size() - 1 - static_cast<std::size_t>(k)]);
    running.pop_back();
  }
  if (o.drop > 0) h.faults({.drop = o.drop});
  std::uint64_t h0 = 0;
  for (auto i : running)
    h0 = std::max(h0, status(i).height);
  auto tx0 = status(running.front()).transactions;
  h.reset_traffic();
  h.measure(true);
  std::vector<std::uint64_t> nonces(keys.size(), 0);
  for (int s = 0; s < o.seconds; ++s) {
    for (std::size_t k = 0; k < keys.size(); ++k) {
      std::vector<std::vector<std::uint8_t>> batch;
      for (int t = 0; t < o.tps / senders + (static_cast<int>(k) < o.tps % senders ? 1 : 0); ++t)
        batch.push_back(transfer(keys[k], nonces[k]++, t));
      // Spread over the validators, as clients of a real network would.
      caf::anon_send(validator(running[k % running.size()]), tx_atom::value, std::move(batch));
    }
    h.advance(1s, 10ms);
  }
  h.measure(false);
  h.faults({});
  auto kinds = h.traffic_by_kind();
  std::vector<testing::harness::traffic> sent;
  for (auto i : running)
    sent.push_back(h.sent_by(i));
  // Safety: one block at each height. Every node's block at the lowest common height must be
  // the same (blocks link by parent hash, so the prefix is the same too), and nodes past it
  // must agree at their own height.
  std::map<std::uint64_t, std::vector<std::uint8_t>> at;
  std::uint64_t low = UINT64_MAX, high = 0;
  std::vector<chain_status> st;
  for (auto i : running) {
    st.push_back(status(i));
    low = std::min(low, st.back().height);
    high = std::max(high, st.back().height);
  }
  for (auto& s : st) {
    auto [it, fresh] = at.emplace(s.height, s.block);
    if (!fresh && it->second != s.block) {
      r.safe = false;
      r.violation = "two blocks at height " + std::to_string(s.height);
    }
  }
  std::string first;
  for (auto i : running) {
    auto b = h.ask<std::string>(validator(i), caf::make_message(status_atom::value, low));
    if (!b || b->empty()) continue;
    if (first.empty()) first = *b;
    if (*b != first) {
      r.safe = false;
      r.violation = "two blocks at height " + std::to_string(low);
    }
  }
  r.blocks = low > h0 ? low - h0 : 0;
  r.live = r.blocks > 0;
  if (!r.live && r.violation.empty()) r.violation = "no block committed in the window";
  r.txs = st.front().transactions - tx0;
  double blocks = static_cast<double>(std::max<std::uint64_t>(r.blocks, 1));
  std::uint64_t msgs = 0, bytes = 0, most = 0;
  for (auto& t : sent) {
    msgs += t.messages;
    bytes += t.bytes;
    most = std::max(most, t.bytes);
  }
  auto nodes = static_cast<double>(running.size());
  r.msgs_per_block = static_cast<double>(msgs) / blocks;
  r.msgs_per_block_node = r.msgs_per_block / nodes;
  r.bytes_per_block_node = static_cast<double>(bytes) / blocks / nodes;
  r.max_bytes_per_block_node = static_cast<double>(most) / blocks;
  if (auto c = kinds.find("v_cons"); c != kinds.end()) {
    r.cons_bytes_per_block_node = static_cast<double>(c->second.bytes) / blocks / nodes;
    r.cons_msgs_per_block_node = static_cast<double>(c->second.messages) / blocks / nodes;
  }
  r.kinds = kinds;
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  fs::remove(genesis);
  return r;
}

} // namespace

int run_scale(int argc, char** argv, const std::string&) {
  scale_options o;
  CLI::App app{"poe-bench scale: validator networks of growing size in the deterministic harness "
               "(safety, liveness, messages and bytes per block per node)"};
  app.add_option("--validators", o.sizes, "network sizes, e.g. 4,10,25,50,100")
    ->delimiter(',')->check(CLI::Range(1, 400))->capture_default_str();
  app.add_option("--seeds", o.seeds, "seeds per size (1, 2, ...)")->check(CLI::Range(1, 1000))->capture_default_str();
  app.add_option("--seed", o.first_seed, "first seed (a run prints its seed; --seed S --seeds 1 replays it)")
    ->check(CLI::Range(1, 1000000))->capture_default_str();
  app.add_option("--seconds", o.seconds, "simulated seconds measured (after the first block)")
    ->check(CLI::Range(1, 3600))->capture_default_str();
  app.add_option("--silent", o.silent, "validators crashed after the first block (at most f)")
    ->check(CLI::Range(0, 133))->capture_default_str();
  app.add_option("--drop", o.drop, "probability each message is dropped in the window")
    ->check(CLI::Range(0.0, 0.5))->capture_default_str();
  app.add_option("--tps", o.tps, "transfers submitted per simulated second, spread over the validators")
    ->check(CLI::Range(0, 100000))->capture_default_str();
  try {
    app.parse(argc, argv); // unknown flags and values out of range are refused
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  for (int n : o.sizes)
    if (o.silent > (n - 1) / 3) {
      std::fprintf(stderr, "poe-bench scale: --silent %d exceeds f = %d for %d validators\n", o.silent,
                   (n - 1) / 3, n);
      return 2;
    }
  spdlog::set_level(spdlog::level::err);
  std::printf("scale: validators only, 1 s blocks, production network timers, %d simulated s per run"
              "%s%s%s\n",
              o.seconds, o.silent ? (", " + std::to_string(o.silent) + " silent").c_str() : "",
              o.drop > 0 ? (", drop " + std::to_string(o.drop)).c_str() : "",
              o.tps ? (", " + std::to_string(o.tps) + " transfers/s").c_str() : "");
  std::printf("%5s %5s %7s %7s %6s %10s %10s %12s %12s %12s %10s %7s  %s\n", "n", "seed", "blocks",
              "txs", "safe", "msgs/blk", "msgs/b/nd", "bytes/b/nd", "max b/b/nd", "cons b/b/nd",
              "cons m/b/n", "wall s", "");
  bool ok = true;
  int runs = 0, runs_ok = 0;
  std::vector<std::pair<int, run_result>> mean; // per size: the mean over seeds
  for (int n : o.sizes) {
    run_result sum;
    sum.n = n;
    for (int s = o.first_seed; s < o.first_seed + o.seeds; ++s) {
      auto r = run_one(n, static_cast<std::uint64_t>(s), o);
      std::printf("%5d %5llu %7llu %7llu %6s %10.0f %10.1f %12.0f %12.0f %12.0f %10.1f %7.1f  %s\n", n,
                  static_cast<unsigned long long>(r.seed), static_cast<unsigned long long>(r.blocks),
                  static_cast<unsigned long long>(r.txs), r.safe ? "yes" : "NO", r.msgs_per_block,
                  r.msgs_per_block_node, r.bytes_per_block_node, r.max_bytes_per_block_node,
                  r.cons_bytes_per_block_node, r.cons_msgs_per_block_node, r.wall_s,
                  r.violation.empty() ? "" : ("VIOLATION: " + r.violation + " (replay: --validators " +
                                              std::to_string(n) + " --seed " + std::to_string(s) + " --seeds 1)")
                                               .c_str());
      std::fflush(stdout);
      ok = ok && r.safe && r.live;
      ++runs;
      if (r.safe && r.live) ++runs_ok;
      sum.blocks += r.blocks;
      sum.msgs_per_block_node += r.msgs_per_block_node / o.seeds;
      sum.bytes_per_block_node += r.bytes_per_block_node / o.seeds;
      sum.cons_bytes_per_block_node += r.cons_bytes_per_block_node / o.seeds;
      for (auto& [k, t] : r.kinds) {
        sum.kinds[k].messages += t.messages;
        sum.kinds[k].bytes += t.bytes;
      }
    }
    mean.emplace_back(n, sum);
  }
  if (!mean.empty()) { // the last (largest) size's traffic per block per node, mean over seeds
    auto& [n, m] = mean.back();
    auto at_n = ", n=" + std::to_string(n);
    bench::figure("scale", "messages per block per node" + at_n, m.msgs_per_block_node, "msgs/block");
    bench::figure("scale", "bytes per block per node" + at_n, m.bytes_per_block_node, "B/block");
    bench::figure("scale", "consensus bytes per block per node" + at_n, m.cons_bytes_per_block_node,
                  "B/block");
  }
  std::printf("\ntraffic by kind over all seeds (bytes per message; share of bytes):\n");
  for (auto& [n, s] : mean) {
    std::uint64_t total = 0;
    for (auto& [k, t] : s.kinds)
      total += t.bytes;
    std::printf("  n=%-4d", n);
    for (auto& [k, t] : s.kinds)
      if (t.bytes * 100 >= total)
        std::printf("  %s %.0f B (%.0f %%)", k.c_str(), t.messages ? double(t.bytes) / t.messages : 0.0,
                    total ? 100.0 * t.bytes / total : 0.0);
    std::printf("\n");
  }
  if (mean.size() > 1) {
    std::printf("\ngrowth of a node's traffic per block with n (exponent k in n^k between sizes):\n");
    for (std::size_t i = 1; i < mean.size(); ++i) {
      auto& [a, ra] = mean[i - 1];
      auto& [b, rb] = mean[i];
      auto k = [&](double x, double y) {
        return x > 0 && y > 0 ? std::log(y / x) / std::log(double(b) / a) : 0.0;
      };
      auto k_cons = k(ra.cons_bytes_per_block_node, rb.cons_bytes_per_block_node);
      std::printf("  %d -> %d: messages %.2f, bytes %.2f, consensus bytes %.2f\n", a, b,
                  k(ra.msgs_per_block_node, rb.msgs_per_block_node),
                  k(ra.bytes_per_block_node, rb.bytes_per_block_node), k_cons);
      if (i + 1 == mean.size()) { // the step between the two largest sizes
        auto step = std::to_string(a) + " -> " + std::to_string(b);
        bench::figure("scale", "consensus bytes growth exponent, " + step, k_cons, "exponent");
      }
    }
  }
  std::printf("\n%s\n", ok ? "safety and liveness held in every run"
                           : "SAFETY OR LIVENESS VIOLATED (rows marked; replay with the seed shown)");
  bench::figure("scale", "runs with safety and liveness", runs ? 100.0 * runs_ok / runs : 0.0, "%", "goal",
                100, "100 %");
  return ok ? 0 : 1;
}
