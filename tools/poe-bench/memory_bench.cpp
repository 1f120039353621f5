// poe-bench memory — what a node holds in memory idle, under a job, and after it.
//
//   poe-bench memory [--tasks 1000] [--settle-seconds 20] [--after-seconds 30] [--clip-seconds 20]
//                    [--transcodes 2]
//
// 4 poe-node processes (tools/devnet, mutual TLS on loopback, 200 ms blocks), each running
// every role of the all-in-one profile (validator, storage, execution, verifier, builder,
// rent, channel, gateway, probe). node-0 is the all-in-one node measured; it also coordinates
// the job (its verifier), so it holds the most.
//
// Figures (VmRSS and VmHWM from /proc): node-0's resident memory idle (after --settle-seconds
// of blocks and nothing else), its peak while a compute job of --tasks tasks runs (its
// verifier draws the executors of all four nodes, checks every result, re-runs the sampled
// share, writes receipts; the builders notarize them), and --after-seconds after every receipt
// is in a finalized block. Then a transcode job (poe-cli job submit) of a --clip-seconds
// 1280x720 clip (ffmpeg testsrc2, 2 s GOPs: one task per 2 s segment, each a 3-rendition
// ladder): node-0 uploads it, coordinates the job and fetches every rendition for its output
// checks; its resident size --after-seconds after the job is verified. --transcodes such jobs
// run one after the other, each of a new clip: the figure after the last against the figure
// after the first shows whether anything grows job after job. Goals (issue 21): idle <= 150 MB;
// after the 1,000-task job within 20 % of idle; nothing grows without bound. The other nodes' figures are printed beside.
#include <CLI/CLI.hpp>
#include "poe/chain/transaction.hpp"
#include "poe/runtime/messages.hpp"

#include "bench_net.hpp"
#include "figures.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

using namespace poe;
using namespace poe::runtime;
namespace fs = std::filesystem;
using clk = std::chrono::steady_clock;

namespace {

/// Memory of nodes 0-3 (-1 for a node that is not running).
std::vector<bench::memory_mib> memory_of(const fs::path& dir) {
  std::vector<bench::memory_mib> out;
  for (int i = 0; i < 4; ++i) {
    auto pid = bench::node_pid(dir, "node-" + std::to_string(i));
    out.push_back(pid.empty() ? bench::memory_mib{} : bench::memory_of(pid));
  }
  return out;
}

/// Resident MiB of each node of one reading (peak: VmHWM).
std::vector<double> rss_of(const std::vector<bench::memory_mib>& nodes, bool peak = false) {
  std::vector<double> out;
  for (auto& m : nodes) out.push_back(peak ? m.hwm : m.rss);
  return out;
}

/// "(heap etc. A + mapped files F)" of one node's reading.
std::string split_of(const bench::memory_mib& m) {
  char b[96];
  std::snprintf(b, sizeof b, "(heap etc. %.1f + mapped files %.1f)", m.anon, m.file);
  return b;
}

std::string others(const std::vector<double>& v) {
  std::string s;
  for (std::size_t i = 1; i < v.size(); ++i) {
    char b[32];
    std::snprintf(b, sizeof b, "%s%.0f", i > 1 ? ", " : "", v[i]);
    s += b;
  }
  return s;
}

} // namespace

int run_memory(int argc, char** argv, const std::string& self_path) {
  int tasks = 1000, settle = 20, after_s = 30, clip_s = 20, transcodes = 2;
  CLI::App app{"poe-bench memory: an all-in-one node's resident memory idle, under a job, after it"};
  app.add_option("--tasks", tasks, "tasks of the job")->check(CLI::Range(1, 1000000))->capture_default_str();
  app.add_option("--settle-seconds", settle, "idle time before the idle figure")->check(CLI::Range(1, 3600))->capture_default_str();
  app.add_option("--after-seconds", after_s, "time after the job before the after figure")->check(CLI::Range(1, 3600))->capture_default_str();
  app.add_option("--clip-seconds", clip_s, "length of the transcoded clip (0: no transcode job)")->check(CLI::Range(0, 600))->capture_default_str();
  app.add_option("--transcodes", transcodes, "transcode jobs, one after the other (each a new clip)")->check(CLI::Range(1, 20))->capture_default_str();
  try {
    app.parse(argc, argv); // unknown flags and values out of range are refused
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto build = fs::path(self_path).parent_path().parent_path();
  auto dir = fs::temp_directory_path() / ("poe-bench-memory-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto devnet = (fs::path(POE_SOURCE_DIR) / "tools" / "devnet").string();
  auto up = devnet + " up -n 4 --dir " + dir.string() + " --build " + build.string() +
            " --base-port 7900 --metrics-base-port 9900 --gateway-base-port 8900" +
            " --roles '[\"validator\",\"storage\",\"execution\",\"verifier\",\"builder\",\"rent\","
            "\"channel\",\"gateway\",\"probe\"]' --block-interval-ms 200 --timeout 40 >/dev/null";
  std::cout << "memory bench: 4 all-in-one nodes (TLS, loopback, 200 ms blocks), a job of " << tasks
            << " compute tasks coordinated by node-0; in " << dir << "\n";
  if (std::system(up.c_str()) != 0) {
    std::cerr << "memory bench: devnet up failed (logs in " << dir << ")\n";
    return 1;
  }
  int rc = 0;
  try {
    caf::actor_system_config cfg;
    bench::client_settings(cfg, dir, "node-0");
    caf::actor_system sys{cfg};
    caf::scoped_actor self{sys};
    auto t = std::chrono::seconds(30);
    std::vector<caf::actor> builders;
    caf::actor validator, verifier;
    auto dirs = bench::connect_all(self, {7900, 7901, 7902, 7903}, true, t);
    for (std::size_t i = 0; i < 4; ++i) {
      auto& d = dirs[i];
      if (i == 0) {
        validator = bench::find_role(self, d, "validator", t);
        verifier = bench::find_role(self, d, "verifier", t);
      }
      builders.push_back(bench::find_role(self, d, "builder", t));
    }
    for (int i = 0; i < 4; ++i)
      bench::stake_node(self, validator, dir, "node-" + std::to_string(i),
                        i == 0 ? std::vector<chain::stake_role>{chain::stake_role::builder,
                                                                chain::stake_role::executor,
                                                                chain::stake_role::verifier,
                                                                chain::stake_role::storage}
                               : std::vector<chain::stake_role>{chain::stake_role::builder,
                                                                chain::stake_role::executor,
                                                                chain::stake_role::storage},
                        t);
    std::this_thread::sleep_for(std::chrono::seconds(settle));
    auto idle_read = memory_of(dir);
    auto idle = rss_of(idle_read);
    auto idle_split = split_of(idle_read[0]);
    auto idle_peak = rss_of(idle_read, true);

    auto included = [&] {
      std::uint64_t n = 0;
      for (auto& b : builders)
        self->request(b, t, bd_status_atom::value)
          .receive([&](builder_status& x) { n += x.receipts_included; },
                   [&](caf::error& e) { throw std::runtime_error(sys.render(e)); });
      return n;
    };
    auto base = included();
    std::vector<std::vector<std::uint8_t>> inputs;
    for (int k = 0; k < tasks; ++k) {
      auto text = "poe-bench memory input " + std::to_string(k);
      inputs.emplace_back(text.begin(), text.end());
    }
    auto auth = bench::sign_request(self, verifier, vf_nonce_atom::value, dir, "node-0", request_op::compute,
                                    compute_subject(1, inputs), t);
    auto t0 = clk::now();
    self->request(verifier, t, vf_compute_atom::value, std::string(), std::uint64_t{1},
                  std::move(inputs), std::move(auth))
      .receive([](std::string&) {},
               [&](caf::error& e) { throw std::runtime_error("verifier: " + sys.render(e)); });
    double peak0 = 0;
    for (;;) {
      peak0 = std::max(peak0, memory_of(dir)[0].rss);
      if (included() >= base + static_cast<std::uint64_t>(tasks)) break;
      if (clk::now() - t0 > std::chrono::seconds(600))
        throw std::runtime_error("the job's receipts are not all included after 600 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    auto job_secs = std::chrono::duration<double>(clk::now() - t0).count();
    auto busy_peak = rss_of(memory_of(dir), true);
    std::this_thread::sleep_for(std::chrono::seconds(after_s));
    auto after_read = memory_of(dir);
    auto after = rss_of(after_read);
    auto after_split = split_of(after_read[0]);
    // The transcode jobs, through poe-cli as a creator would submit them: --transcodes clips,
    // each different (its own tone), so that each is stored, transcoded and checked anew.
    struct media_run {
      std::vector<double> peak, after;
      std::string split;
      double secs = 0;
      int segments = 0;
    };
    std::vector<media_run> media;
    for (int k = 0; clip_s > 0 && k < transcodes; ++k) {
      media_run m;
      auto clip = dir / ("clip-" + std::to_string(k) + ".mp4");
      auto make = "ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi "
                  "-i sine=frequency=" + std::to_string(440 + 110 * k) + ":sample_rate=48000 -t " +
                  std::to_string(clip_s) +
                  " -c:v libx264 -preset ultrafast -g 60 -pix_fmt yuv420p -c:a aac -shortest " + clip.string();
      if (std::system(make.c_str()) != 0) throw std::runtime_error("ffmpeg could not make the clip");
      auto cli = (build / "tools" / "poe-cli").string();
      auto to_node0 = " --node 127.0.0.1:7900 --tls-key " +
                 (dir / "node-0" / "node.key").string() + " --tls-cert " + (dir / "node-0" / "node.crt").string() +
                 " --tls-ca " + (dir / "ca" / "ca.crt").string() + " --timeout 30";
      auto m0 = clk::now();
      auto job = bench::run_out(cli + " job submit " + clip.string() + " --max-fee 1000000" + to_node0);
      while (!job.empty() && (job.back() == '\n' || job.back() == ' ')) job.pop_back();
      if (job.empty()) throw std::runtime_error("poe-cli job submit failed (see above)");
      // --wait exits 0 only once every task is verified.
      if (bench::run_out(cli + " job status " + job + " --wait 600" + to_node0).empty())
        throw std::runtime_error("the transcode job " + job + " did not finish verified");
      m.secs = std::chrono::duration<double>(clk::now() - m0).count();
      auto status = bench::run_out(cli + " job status " + job + " --json" + to_node0);
      for (std::size_t at = 0; (at = status.find("\"request\"", at)) != std::string::npos; ++at) ++m.segments;
      m.peak = rss_of(memory_of(dir), true);
      std::this_thread::sleep_for(std::chrono::seconds(after_s));
      auto media_read = memory_of(dir);
      m.after = rss_of(media_read);
      m.split = split_of(media_read[0]);
      media.push_back(std::move(m));
    }
    std::printf("node-0 (all roles, coordinated the jobs)      other nodes (1, 2, 3)\n");
    std::printf("idle after %3d s:            %7.1f MiB (goal <= 150 MB = 143 MiB)   %s MiB\n", settle,
                idle[0], others(idle).c_str());
    std::printf("                             %s\n", idle_split.c_str());
    std::printf("peak during the compute job: %7.1f MiB (VmHWM; sampled %0.1f)   %s MiB\n", busy_peak[0],
                peak0, others(busy_peak).c_str());
    std::printf("%3d s after it:              %7.1f MiB = %.2f x idle (goal <= 1.20)   %s MiB\n", after_s,
                after[0], after[0] / idle[0], others(after).c_str());
    std::printf("                             %s\n", after_split.c_str());
    for (std::size_t k = 0; k < media.size(); ++k) {
      auto& m = media[k];
      std::printf("peak so far, job %zu:          %7.1f MiB (VmHWM)   %s MiB\n", k + 1, m.peak[0],
                  others(m.peak).c_str());
      std::printf("%3d s after it:              %7.1f MiB = %.2f x idle (goal <= 1.20)   %s MiB\n", after_s,
                  m.after[0], m.after[0] / idle[0], others(m.after).c_str());
      std::printf("                             %s\n", m.split.c_str());
    }
    bench::figure("memory", "all-in-one node idle RSS", idle[0], "MiB", "goal 150 MB", 150e6 / 1048576.0,
                  "<= 150 MB");
    bench::figure("memory", "peak RSS, " + std::to_string(tasks) + "-task compute job", busy_peak[0], "MiB",
                  "idle RSS", idle[0]);
    bench::figure("memory", "RSS after the compute job", after[0], "MiB", "idle RSS", idle[0], "<= 1.20 x idle");
    if (!media.empty()) {
      bench::figure("memory", "peak RSS, " + std::to_string(clip_s) + " s transcode jobs", media.back().peak[0],
                    "MiB", "idle RSS", idle[0]);
      bench::figure("memory", "RSS after the first transcode job", media.front().after[0], "MiB", "idle RSS",
                    idle[0], "<= 1.20 x idle");
      if (media.size() > 1)
        bench::figure("memory", "RSS after transcode job " + std::to_string(media.size()), media.back().after[0],
                      "MiB", "after the first", media.front().after[0], "no growth");
    }
    std::printf("jobs: %d compute tasks, every receipt in a finalized block after %.1f s; ", tasks, job_secs);
    for (std::size_t k = 0; k < media.size(); ++k)
      std::printf("%sa %d s 1280x720 clip, %d transcode tasks verified after %.1f s", k ? "; " : "", clip_s,
                  media[k].segments, media[k].secs);
    std::printf("\n");
  } catch (const std::exception& e) {
    std::cerr << "memory bench: " << e.what() << "\n";
    rc = 1;
  }
  std::system((devnet + " down --dir " + dir.string() + " >/dev/null").c_str());
  if (rc == 0 && !std::getenv("POE_BENCH_KEEP")) fs::remove_all(dir);
  return rc;
}
