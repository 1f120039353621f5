// poe-bench channel — the payee of many concurrent playback sessions: 2 poe-node processes
// (tools/devnet, mutual TLS on loopback): node-0 a validator (a one-validator chain), node-1
// the payee running the channel role (its store synced, as configs/channel.ini ships it).
// Payers (keys funded in genesis) open one channel each to node-1 for content published on
// chain, 1,000 lanes per channel (the chain settles at most max_channel_lanes of a channel),
// commit to --lanes lanes in all (one hash chain each), then pay every lane one tick per second for
// --seconds, spread evenly over each second, with a voucher per lane every 600 ticks
// (staggered); each payment is answered by node-1 only after it is written.
//
//   poe-bench channel [--lanes 10000] [--seconds 30] [--interval-ms 1000] [--threads 1] [--batched]
//                     [--slices 100]
//
// Each second's ticks are sent in --slices even slices. Each tick is its own request (ch_tick,
// as a viewer paying the payee directly sends it), or with --batched each slice's ticks go in
// one ch_ticks request (as a gateway forwards its viewers' ticks: every 10 ms by default).
//
// Figures: node-1's CPU (user + system, from /proc) while idle with every lane open, and while
// paid (goal for the payee's work — paid minus idle — < 5 % of one core at 10,000 lanes), CPU
// per tick, ticks acknowledged (every one must be) and what node-1 says is owed (exactly
// lanes x seconds x price).
#include <CLI/CLI.hpp>
#include "poe/chain/payments.hpp"
#include "poe/chain/transaction.hpp"
#include "poe/core/byte_io.hpp"
#include "poe/core/sha256.hpp"
#include "poe/runtime/messages.hpp"

#include "bench_net.hpp"
#include "figures.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

using namespace poe;
using namespace poe::runtime;
namespace fs = std::filesystem;
using clk = std::chrono::steady_clock;

namespace {

using bytes_t = std::vector<std::uint8_t>;
bytes_t vec(byte_view v) { return bytes_t(v.begin(), v.end()); }

/// Answers of the payee, counted by the driver actor.
struct tally {
  std::atomic<std::uint64_t> acked{0}, refused{0}, failed{0};
  std::atomic<std::uint64_t> owed{0};
};

/// Sends each payment it is given to the payee and counts the answers (many in flight).
caf::behavior driver(caf::event_based_actor* self, caf::actor payee, std::shared_ptr<tally> t) {
  auto count = [t](channel_ack& a) {
    (a.ok ? t->acked : t->refused)++;
    auto prev = t->owed.load();
    while (a.owed > prev && !t->owed.compare_exchange_weak(prev, a.owed)) {
    }
  };
  auto lost = [t](caf::error&) { t->failed++; };
  return {
    [=](ch_lane_atom a, const bytes_t& raw) {
      self->request(payee, std::chrono::seconds(60), a, raw).then(count, lost);
    },
    [=](ch_tick_atom a, const bytes_t& ch, std::uint32_t lane, std::uint32_t index, const bytes_t& w) {
      self->request(payee, std::chrono::seconds(60), a, ch, lane, index, w).then(count, lost);
    },
    [=](ch_ticks_atom a, const std::vector<bytes_t>& ticks) {
      self->request(payee, std::chrono::seconds(60), a, ticks)
        .then([=](std::vector<channel_ack>& acks) { for (auto& x : acks) count(x); }, lost);
    },
    [=](ch_vouch_atom a, const bytes_t& raw) {
      self->request(payee, std::chrono::seconds(60), a, raw).then(count, lost);
    },
  };
}

} // namespace

int run_channel(int argc, char** argv, const std::string& self_path) {
  int lanes = 10000, seconds = 30, interval = 1000, threads = 1, slices = 100;
  bool batched = false;
  CLI::App app{"poe-bench channel: one payee node serving many concurrent lanes at one tick per second"};
  app.add_option("--lanes", lanes, "concurrent lanes (playback sessions)")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--seconds", seconds, "seconds paid per lane")->check(CLI::Range(5, 3600))->capture_default_str();
  app.add_option("--interval-ms", interval, "block interval (ms)")->check(CLI::Range(50, 60000))->capture_default_str();
  app.add_option("--threads", threads, "node.threads of each node (0: one per core)")->check(CLI::Range(0, 64))->capture_default_str();
  app.add_option("--slices", slices, "slices per second the ticks are sent in (100: every 10 ms)")
    ->check(CLI::Range(1, 1000))->capture_default_str();
  app.add_flag("--batched", batched, "send each slice's ticks in one ch_ticks message (as a gateway forwards its viewers'), not one ch_tick message per tick");
  try {
    app.parse(argc, argv); // unknown flags and values out of range are refused
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto bin = fs::path(self_path).parent_path();
  auto build = bin.parent_path();
  auto devnet = (fs::path(POE_SOURCE_DIR) / "tools" / "devnet").string();
  auto dir = fs::temp_directory_path() / ("poe-bench-channel-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  // One payer (one channel) per 1,000 lanes: the chain settles at most max_channel_lanes lanes
  // of a channel, and many viewers are many payers.
  const int per_channel = 1000;
  const int n_channels = (lanes + per_channel - 1) / per_channel;
  std::vector<private_key> payers;
  {
    std::ofstream fund(dir / "fund.txt");
    for (int k = 0; k < n_channels; ++k) {
      payers.push_back(*private_key::ed25519_from_seed(
        sha256::digest(as_bytes("poe-bench-channel-payer-" + std::to_string(k))).view()));
      fund << payers.back().id().hex() << "\n";
    }
  }
  auto up = devnet + " up -n 2 --dir " + dir.string() + " --build " + build.string() +
            " --base-port 7540 --metrics-base-port 9540 --roles '[\"validator\"]'" +
            " --node-roles '1=[\"channel\"]' --fund " + (dir / "fund.txt").string() +
            " --block-interval-ms " + std::to_string(interval) + " --threads " + std::to_string(threads) +
            " --timeout 40 >/dev/null";
  std::cout << "channel bench: a validator and a payee node (TLS, loopback, node.threads=" << threads << "), "
            << lanes << " lanes x " << seconds << " ticks at 1/s each; in " << dir << "\n";
  if (std::system(up.c_str()) != 0) {
    std::cerr << "channel bench: devnet up failed (logs in " << dir << ")\n";
    return 1;
  }
  int rc = 0;
  try {
    caf::actor_system_config cfg;
    bench::client_settings(cfg, dir, "node-0");
    caf::actor_system sys{cfg};
    caf::scoped_actor self{sys};
    auto t = std::chrono::seconds(30);
    auto dirs = bench::connect_all(self, {7540, 7541}, true, t);
    auto validator = bench::find_role(self, dirs[0], "validator", t);
    auto payee = bench::find_role(self, dirs[1], "channel", t);
    auto node0 = *private_key::load(dir / "node-0" / "node.key");
    auto node1 = *private_key::load(dir / "node-1" / "node.key");
    const std::string chain_id = "poe-devnet";
    auto account = [&](const node_id& id) {
      account_view a;
      self->request(validator, t, account_atom::value, id.hex())
        .receive([&](account_view& x) { a = std::move(x); },
                 [&](caf::error& e) { throw std::runtime_error(sys.render(e)); });
      return a;
    };
    // Sends a transaction; its nonce. `settle` waits until the sender's nonce moved past it.
    auto send_tx = [&](const private_key& key, chain::tx_body body) {
      chain::transaction tx;
      tx.chain_id = chain_id;
      tx.nonce = account(key.id()).nonce;
      tx.body = std::move(body);
      chain::sign(tx, key);
      self->request(validator, t, tx_atom::value, vec(chain::encode(tx)))
        .receive(
          [&](submit_reply& r) {
            if (!r.taken()) throw std::runtime_error(std::string(chain::kind_name(tx.body)) + ": " + r.text());
          },
          [&](caf::error& e) { throw std::runtime_error(sys.render(e)); });
      return tx.nonce;
    };
    auto settle = [&](const private_key& key, std::uint64_t nonce) {
      auto deadline = clk::now() + std::chrono::seconds(30);
      while (account(key.id()).nonce <= nonce) {
        if (clk::now() > deadline) throw std::runtime_error("a transaction of " + key.id().hex() + " not committed");
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    };
    auto commit = [&](const private_key& key, chain::tx_body body) {
      auto nonce = send_tx(key, std::move(body));
      settle(key, nonce);
      return nonce;
    };
    // Content: node-0 stakes as a verifier and vouches for its own (nominal) output.
    commit(node0, chain::stake{chain::stake_role::verifier, amount{1000}});
    chain::job_output out;
    out.job = "bench";
    out.owner = node0.id();
    out.outputs = {{"s00000/720p.ts", "bench-720p", 1}};
    chain::sign(out, node0, chain_id);
    auto content = chain::content_id(out);
    const std::uint64_t price = 1;
    commit(node0, chain::content_publish{out, amount{price}, chain::split_rule{}});
    std::uint64_t tip = 0;
    self->request(validator, t, status_atom::value)
      .receive([&](std::uint64_t h) { tip = h; }, [&](caf::error& e) { throw std::runtime_error("height: " + sys.render(e)); });
    auto deposit = static_cast<std::uint64_t>(per_channel) * static_cast<std::uint64_t>(seconds) * price;
    std::vector<hash256> channels;
    for (auto& p : payers)
      channels.push_back(chain::channel_id(p.id(), send_tx(p, chain::channel_open{node1.id(), amount{deposit}, tip + 1'000'000})));
    for (auto& p : payers) settle(p, 0);
    // Lane l: channel l / per_channel, lane number l % per_channel there.
    auto channel_of = [&](int l) { return static_cast<std::size_t>(l / per_channel); };
    std::vector<bytes_t> chs;
    for (auto& c : channels) chs.push_back(vec(c.view()));

    auto counts = std::make_shared<tally>();
    auto drive = sys.spawn(driver, payee, counts);
    // The driver must end before the actor system (its destructor waits for every actor).
    struct stop_on_exit {
      caf::actor a;
      ~stop_on_exit() { caf::anon_send_exit(a, caf::exit_reason::user_shutdown); }
    } stop_driver{drive};
    // Lanes: one hash chain each; node-1 must have seen the channel in a block first.
    std::vector<chain::tick_chain> chains;
    chains.reserve(static_cast<std::size_t>(lanes));
    auto commit_of = [&](int l) {
      chains.emplace_back(sha256::digest(as_bytes("bench lane " + std::to_string(l))), static_cast<std::uint32_t>(seconds));
      chain::lane_commit c{channels[channel_of(l)], static_cast<std::uint32_t>(l % per_channel), content,
                           chains.back().top(), static_cast<std::uint32_t>(seconds), amount{price}, {}};
      chain::sign(c, payers[channel_of(l)], chain_id);
      return vec(chain::encode(c));
    };
    auto first = commit_of(0);
    auto deadline = clk::now() + std::chrono::seconds(30);
    for (;;) {
      channel_ack a;
      self->request(payee, t, ch_lane_atom::value, first)
        .receive([&](channel_ack& x) { a = std::move(x); }, [&](caf::error& e) { throw std::runtime_error(sys.render(e)); });
      if (a.ok) break;
      if (clk::now() > deadline) throw std::runtime_error("the payee refused the first lane: " + a.reason);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    counts->acked = 0;
    auto wait_answers = [&](std::uint64_t n, int limit_s) {
      auto until = clk::now() + std::chrono::seconds(limit_s);
      while (counts->acked + counts->refused + counts->failed < n) {
        if (clk::now() > until)
          throw std::runtime_error("after " + std::to_string(limit_s) + " s only " + std::to_string(counts->acked.load()) +
                                   " of " + std::to_string(n) + " answers");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    };
    auto t_lanes = clk::now();
    for (int l = 1; l < lanes; ++l) caf::anon_send(drive, ch_lane_atom::value, commit_of(l));
    wait_answers(static_cast<std::uint64_t>(lanes - 1), 300);
    auto lanes_s = std::chrono::duration<double>(clk::now() - t_lanes).count();
    if (counts->refused + counts->failed > 0)
      throw std::runtime_error(std::to_string(counts->refused.load()) + " lanes refused, " +
                               std::to_string(counts->failed.load()) + " unanswered");

    std::string pid;
    std::ifstream(dir / "node-1" / "pid") >> pid;
    // Idle: every lane open, nothing paid.
    std::this_thread::sleep_for(std::chrono::seconds(2));
    auto idle0 = bench::cpu_seconds(pid);
    auto ti0 = clk::now();
    std::this_thread::sleep_for(std::chrono::seconds(10));
    auto idle_cpu = (bench::cpu_seconds(pid) - idle0) / std::chrono::duration<double>(clk::now() - ti0).count();

    // Paid: tick i of every lane during second i, in --slices slices; a voucher per lane every 600.
    counts->acked = 0;
    const std::uint64_t total = static_cast<std::uint64_t>(lanes) * static_cast<std::uint64_t>(seconds);
    std::uint64_t vouchers = 0;
    auto cpu0 = bench::cpu_seconds(pid), self0 = bench::cpu_seconds("self");
    auto t0 = clk::now();
    for (int i = 1; i <= seconds; ++i) {
      for (int k = 0; k < slices; ++k) {
        std::this_thread::sleep_until(t0 + std::chrono::milliseconds((i - 1) * 1000 + k * 1000 / slices));
        std::vector<bytes_t> batch;
        for (int l = k; l < lanes; l += slices) {
          auto lane = static_cast<std::uint32_t>(l % per_channel);
          auto idx = static_cast<std::uint32_t>(i);
          auto& w = chains[static_cast<std::size_t>(l)].at(idx);
          auto c = channel_of(l);
          if (batched) {
            bytes_t t(chs[c]);
            append_u32_be(t, lane);
            append_u32_be(t, idx);
            t.insert(t.end(), w.data.begin(), w.data.end());
            batch.push_back(std::move(t));
          } else {
            caf::anon_send(drive, ch_tick_atom::value, chs[c], lane, idx, vec(w.view()));
          }
          if ((i + l) % 600 == 0) {
            chain::voucher v{channels[c], lane, idx, w, {}};
            chain::sign(v, payers[c], chain_id);
            caf::anon_send(drive, ch_vouch_atom::value, vec(chain::encode(v)));
            ++vouchers;
          }
        }
        if (!batch.empty()) caf::anon_send(drive, ch_ticks_atom::value, std::move(batch));
      }
    }
    wait_answers(total + vouchers, 120);
    auto paid_s = std::chrono::duration<double>(clk::now() - t0).count();
    auto paid_cpu = (bench::cpu_seconds(pid) - cpu0) / paid_s;
    auto client_cpu = (bench::cpu_seconds("self") - self0) / paid_s;
    channel_report report;
    self->request(payee, t, ch_status_atom::value)
      .receive([&](channel_report& r) { report = std::move(r); }, [&](caf::error& e) { throw std::runtime_error(sys.render(e)); });
    auto metrics = bench::scrape(9541);
    std::uint64_t owed = 0;
    for (auto& c : report.channels) owed += c.owed;
    auto lanes_rate = (lanes - 1) / lanes_s;
    std::printf("lanes opened: %d in %.2f s (%.0f/s; each signature checked and written, synced)\n", lanes,
                lanes_s, lanes_rate);
    bench::figure("channel", "lanes opened", lanes_rate, "lanes/s");
    std::printf("ticks: %llu of %llu acknowledged (%llu refused, %llu unanswered) and %llu vouchers in %.2f s; "
                "node-1 says %llu owed (expected %llu)\n",
                static_cast<unsigned long long>(counts->acked.load() - vouchers), static_cast<unsigned long long>(total),
                static_cast<unsigned long long>(counts->refused.load()), static_cast<unsigned long long>(counts->failed.load()),
                static_cast<unsigned long long>(vouchers), paid_s, static_cast<unsigned long long>(owed),
                static_cast<unsigned long long>(total * price));
    std::printf("%-44s %6.2f %% of one core\n", "payee node CPU, idle with every lane open", 100 * idle_cpu);
    bench::figure("channel", "payee node CPU, idle with every lane open", 100 * idle_cpu, "% of a core");
    std::printf("%-44s %6.2f %% of one core   (%s)\n", "payee node CPU, paid (1 tick/s per lane)", 100 * paid_cpu,
                batched ? ("ticks batched per " + std::to_string(1000 / slices) + " ms, ch_ticks").c_str()
                        : "one ch_tick request per tick");
    bench::figure("channel", "payee node CPU, paid (1 tick/s per lane)", 100 * paid_cpu, "% of a core");
    auto work_pct = 100 * (paid_cpu - idle_cpu);
    std::printf("%-44s %6.2f %% of one core   (goal < 5 %% at 10,000 lanes)\n", "the payee's work (paid - idle)",
                work_pct);
    bench::figure("channel", "the payee's work (paid - idle)", work_pct, "% of a core", "goal", 5,
                  "< 5 % at 10,000 lanes");
    auto us_per_tick = 1e6 * (paid_cpu - idle_cpu) * paid_s / static_cast<double>(total);
    std::printf("%-44s %6.1f us   (this client: %.1f %% of one core)\n", "payee CPU per tick", us_per_tick,
                100 * client_cpu);
    bench::figure("channel", "payee CPU per tick", us_per_tick, "us/tick");
    std::printf("claims submitted by node-1 so far: %llu; poe_channel_lanes = %.0f\n",
                static_cast<unsigned long long>(report.claims_submitted), metrics["poe_channel_lanes"]);
    if (counts->acked.load() != total + vouchers || owed != total * price) {
      std::cerr << "channel bench: not every payment was acknowledged and owed\n";
      rc = 1;
    }
  } catch (const std::exception& e) {
    std::cerr << "channel bench: " << e.what() << "\n";
    rc = 1;
  }
  std::fflush(stdout);
  std::system((devnet + " down --dir " + dir.string() + " >/dev/null").c_str());
  if (rc == 0) fs::remove_all(dir);
  return rc;
}
