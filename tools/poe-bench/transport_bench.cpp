// poe-bench transport — messages/s and round trips/s between two processes over poe's
// transport (a poe-node's probe role reached through its directory, plain and TLS), side by
// side with bare CAF remote messaging (a CAF actor published by a child process, plain and
// TLS) in the same run, alternating rounds; plus the idle RSS of a node.
//
//   poe-bench transport [--messages N] [--round-trips N] [--rounds R]
#include <CLI/CLI.hpp>
#include "poe/core/keys.hpp"
#include "poe/runtime/messages.hpp"

#include "bench_net.hpp"
#include "figures.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

using namespace poe::runtime;
namespace bench = poe::bench;
namespace fs = std::filesystem;
using clk = std::chrono::steady_clock;

namespace {

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

/// The same behavior as the probe role, published bare (the anchor).
caf::behavior echo_server(caf::event_based_actor*) {
  auto n = std::make_shared<std::uint64_t>(0);
  return {
    [](ping_atom, std::uint64_t x) { return x; },
    [n](sink_atom, const std::vector<std::uint8_t>&) { ++*n; },
    [n](sink_atom, const std::vector<std::vector<std::uint8_t>>& b) { *n += b.size(); },
    [n](count_atom) { return *n; },
  };
}

struct figures {
  double one_way = 0, batched = 0, round_trips = 0;
};

figures measure(caf::scoped_actor& self, const caf::actor& h, int messages, int rts) {
  figures f;
  std::uint64_t base = 0;
  self->request(h, std::chrono::seconds(10), count_atom::value)
    .receive([&](std::uint64_t c) { base = c; }, [&](caf::error& e) {
      std::cerr << "poe-bench transport: count not read: " << self->system().render(e) << "\n";
    });
  auto wait_count = [&](std::uint64_t target) {
    auto deadline = clk::now() + std::chrono::seconds(60);
    std::uint64_t c = 0;
    while (clk::now() < deadline) {
      self->request(h, std::chrono::seconds(30), count_atom::value)
        .receive([&](std::uint64_t x) { c = x; },
                 [&](caf::error& e) { std::cerr << "count: " << to_string(e) << "\n"; });
      if (c >= target) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    throw std::runtime_error("only " + std::to_string(c - base) + " of " +
                             std::to_string(target - base) + " messages arrived in 60 s");
  };
  std::vector<std::uint8_t> payload(1024, 0x5a);
  auto t0 = clk::now();
  for (int i = 0; i < messages; ++i)
    self->send(h, sink_atom::value, payload);
  wait_count(base + messages);
  f.one_way = messages / std::chrono::duration<double>(clk::now() - t0).count();

  std::vector<std::vector<std::uint8_t>> batch(64, payload);
  t0 = clk::now();
  for (int i = 0; i < messages / 64; ++i)
    self->send(h, sink_atom::value, batch);
  wait_count(base + messages + (messages / 64) * 64);
  f.batched = (messages / 64) * 64 / std::chrono::duration<double>(clk::now() - t0).count();

  t0 = clk::now();
  for (int i = 0; i < rts; ++i)
    self->request(h, std::chrono::seconds(10), ping_atom::value, std::uint64_t(i))
      .receive([](std::uint64_t) {}, [&](caf::error& e) {
        std::cerr << "poe-bench transport: a round trip failed: " << self->system().render(e) << "\n";
      });
  f.round_trips = rts / std::chrono::duration<double>(clk::now() - t0).count();
  return f;
}

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs[xs.size() / 2];
}

} // namespace

/// Child mode: a bare CAF echo server.
int run_caf_echo_server(std::uint16_t port, const std::string& tls_dir) {
  caf::actor_system_config cfg;
  register_messages(cfg);
  cfg.load<caf::io::middleman>();
  if (!tls_dir.empty()) {
    bench::tls_settings(cfg, tls_dir, "anchor");
    cfg.load<caf::openssl::manager>();
  }
  caf::actor_system sys{cfg};
  auto h = sys.spawn(echo_server);
  auto p = tls_dir.empty() ? sys.middleman().publish(h, port, "127.0.0.1", true)
                           : caf::openssl::publish(h, port, "127.0.0.1", true);
  if (!p) {
    std::cerr << "echo server: " << sys.render(p.error()) << "\n";
    return 1;
  }
  std::cout << "ready" << std::endl;
  pause();
  return 0;
}

int run_transport(int argc, char** argv, const std::string& self_path) {
  int messages = 100000, rts = 2000, rounds = 3;
  CLI::App app{"poe-bench transport: messages/s and round trips/s through poe-node vs bare CAF"};
  app.add_option("--messages", messages, "one-way messages per run")->check(CLI::Range(1, 100000000))->capture_default_str();
  app.add_option("--round-trips", rts, "round trips per run")->check(CLI::Range(1, 10000000))->capture_default_str();
  app.add_option("--rounds", rounds, "rounds (the median is reported)")->check(CLI::Range(1, 100))->capture_default_str();
  try {
    app.parse(argc, argv); // unknown flags and values out of range are refused
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto bin = fs::path(self_path).parent_path();
  auto src = fs::path(POE_SOURCE_DIR);
  auto dir = fs::temp_directory_path() / ("poe-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto sh = [](const std::string& cmd) {
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
  };
  sh(src.string() + "/tools/poe-ca init --dir " + (dir / "ca").string() + " >/dev/null");
  for (auto who : {"node", "client", "anchor"}) {
    sh(bin.string() + "/poe-keygen --type ed25519 --out " + (dir / who).string() + " >/dev/null");
    sh(src.string() + "/tools/poe-ca issue --dir " + (dir / "ca").string() + " --key " +
       (dir / who / "node.key").string() + " --out " + (dir / who / "node.crt").string() +
       " >/dev/null");
  }
  std::uint16_t p_plain = free_port(), p_tls = free_port(), a_plain = free_port(),
                a_tls = free_port();
  auto node_args = [&](std::uint16_t port, bool tls) {
    std::vector<std::string> v{(bin / "poe-node").string(),
                               "--node.roles=[\"probe\"]",
                               "--node.data-dir=" + (dir / ("data" + std::to_string(port))).string(),
                               "--node.key-file=" + (dir / "node" / "node.key").string(),
                               "--node.port=" + std::to_string(port),
                               "--log.level=warn"};
    if (tls) {
      v.push_back("--tls.certificate=" + (dir / "node" / "node.crt").string());
      v.push_back("--tls.ca-file=" + (dir / "ca" / "ca.crt").string());
    } else {
      v.push_back("--node.insecure-plaintext=true");
    }
    return v;
  };
  std::vector<pid_t> pids{
    bench::spawn(node_args(p_plain, false), (dir / "plain.log").string()),
    bench::spawn(node_args(p_tls, true), (dir / "tls.log").string()),
    bench::spawn({self_path, "--caf-echo-server", std::to_string(a_plain), ""},
          (dir / "anchor-plain.log").string()),
    bench::spawn({self_path, "--caf-echo-server", std::to_string(a_tls), dir.string()},
          (dir / "anchor-tls.log").string()),
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  int rc = 0;
  {
    caf::actor_system_config cfg;
    bench::client_settings(cfg, dir, "client");
    caf::actor_system sys{cfg};
    caf::scoped_actor self{sys};
    caf::actor ours_plain, ours_tls, bare_plain, bare_tls;
    try {
      ours_plain = bench::find_role(self, bench::connect_to(self, p_plain, false), "probe");
      ours_tls = bench::find_role(self, bench::connect_to(self, p_tls, true), "probe");
      bare_plain = bench::connect_to(self, a_plain, false);
      bare_tls = bench::connect_to(self, a_tls, true);
    } catch (const std::exception& e) {
      std::cerr << "poe-bench transport: " << e.what() << "\n";
    }
    if (!ours_plain || !ours_tls || !bare_plain || !bare_tls) {
      std::cerr << "poe-bench transport: could not reach every server (logs in " << dir << ")\n";
      rc = 1;
    } else {
      struct series {
        std::vector<double> one_way, batched, rt;
      };
      series s[4];
      const caf::actor* hs[4] = {&ours_plain, &bare_plain, &ours_tls, &bare_tls};
      const char* labels[4] = {"poe plain", "CAF plain", "poe TLS", "CAF TLS"};
      measure(self, ours_plain, messages / 10, rts / 10); // warm-up
      measure(self, bare_plain, messages / 10, rts / 10);
      for (int r = 0; r < rounds; ++r)
        for (int k = 0; k < 4; ++k) {
          std::fprintf(stderr, "round %d: %s\n", r + 1, labels[k]);
          auto f = measure(self, *hs[k], messages, rts);
          s[k].one_way.push_back(f.one_way);
          s[k].batched.push_back(f.batched);
          s[k].rt.push_back(f.round_trips);
        }
      std::printf("transport, 1 KiB payloads, median of %d rounds (%d msgs, %d round trips)\n",
                  rounds, messages, rts);
      std::printf("%-34s %12s %12s %8s\n", "", "poe", "bare CAF", "ratio");
      const char* names[2] = {"plain", "TLS"};
      for (int t = 0; t < 2; ++t) {
        auto& ours = s[2 * t];
        auto& bare = s[2 * t + 1];
        auto row = [&](const char* what, const char* unit, const std::vector<double>& a,
                       const std::vector<double>& b) {
          auto ours_v = median(a), bare_v = median(b);
          std::printf("%-6s %-27s %10.0f/s %10.0f/s %7.1f%%\n", names[t], what, ours_v, bare_v,
                      100 * ours_v / bare_v);
          bench::figure("transport", std::string(what) + ", " + names[t], ours_v, unit,
                        std::string("bare CAF echo, ") + names[t] + ", same run", bare_v);
        };
        row("one-way msgs", "msg/s", ours.one_way, bare.one_way);
        row("one-way msgs, batched x64", "msg/s", ours.batched, bare.batched);
        row("round trips", "round trips/s", ours.rt, bare.rt);
      }
      std::printf("(issue anchors on this machine kind: ~119 k one-way 1 KiB msg/s, ~4.4 k "
                  "round trips/s, plain)\n");
      auto rss = bench::memory_of(std::to_string(pids[1])).rss * 1024; // KiB, as before
      std::printf("idle RSS of a poe-node (probe role, TLS, after the run): %.0f KiB\n", rss);
      bench::figure("transport", "idle RSS of a poe-node (probe role, TLS)", rss, "KiB");
    }
  }
  for (auto pid : pids) {
    ::kill(pid, SIGTERM);
    ::waitpid(pid, nullptr, 0);
  }
  fs::remove_all(dir);
  return rc;
}
