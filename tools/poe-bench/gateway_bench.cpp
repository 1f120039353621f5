// poe-bench gateway — the gateway role serving HLS, side by side with nginx (Debian's) serving
// the same segment files from disk, in one run. Setup (gateway_setup.sh): 6 TLS nodes on
// loopback, two 12 s 720p clips transcoded into the ladder and published — one free, one at
// 1 a second — and a channel to the gateway's node.
//
//   poe-bench gateway [--seconds 10] [--clients 1,200] [--viewers 1000] [--paid-viewers 50]
//                     [--gateway-threads 32] [--keep-alive-s 15] [--nginx-workers 2]
//
// Figures:
//   1. throughput of cached segments (every segment of the free content's 3 renditions,
//      fetched once first): segments/s and MB/s by N keep-alive clients fetching back to back,
//      the gateway then nginx, and the ratio (goal ≥ 0.8); a request on a connection the server
//      closed as it was reused is sent once more, as players do, and counted (retried);
//   2. time to first byte with V viewers, each fetching one segment every 2 s on its own
//      keep-alive connection (p50, p99, max; goal p99 ≤ 50 ms), the gateway then nginx;
//   3. CPU per paid viewer-second: P viewers of the paid content, each with its own lane (a
//      playback token and a lane commitment made here with node-0's key), paying one tick a
//      second by POST and fetching the segment a player would; the gateway node's CPU (user +
//      system from /proc, its channel role included) over that time less an idle span of the
//      same length, per viewer-second paid.
// The load generator runs in this process on the same 2 cores: the ratio is what compares.
#include <CLI/CLI.hpp>

#include "poe/chain/payments.hpp"
#include "poe/core/keys.hpp"
#include "poe/core/sha256.hpp"

#include "figures.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;
using namespace poe;
using clock_type = std::chrono::steady_clock;

namespace {

std::map<std::string, std::string> run_setup(const std::string& cmd) {
  std::map<std::string, std::string> out;
  auto* p = ::popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("cannot run " + cmd);
  char line[4096];
  while (std::fgets(line, sizeof line, p)) {
    std::string l(line);
    while (!l.empty() && (l.back() == '\n' || l.back() == '\r')) l.pop_back();
    if (auto eq = l.find('='); eq != std::string::npos) out[l.substr(0, eq)] = l.substr(eq + 1);
  }
  if (::pclose(p) != 0) throw std::runtime_error("setup failed: " + cmd);
  return out;
}

/// The segment paths of a content's media playlists (as relative to the gateway's root).
std::vector<std::string> segments_of(httplib::Client& c, const std::string& prefix) {
  std::vector<std::string> out;
  auto master = c.Get((prefix + "/master.m3u8").c_str());
  if (!master || master->status != 200) throw std::runtime_error("master playlist: " + (master ? std::to_string(master->status) : httplib::to_string(master.error())));
  std::istringstream m(master->body);
  for (std::string l; std::getline(m, l);) {
    if (l.empty() || l[0] == '#') continue;
    auto media = c.Get((prefix + "/" + l).c_str());
    if (!media || media->status != 200) throw std::runtime_error("media playlist " + l);
    std::istringstream in(media->body);
    for (std::string s; std::getline(in, s);)
      if (!s.empty() && s[0] != '#') out.push_back(prefix + "/" + s);
  }
  return out;
}

struct load_result {
  std::uint64_t requests = 0, bytes = 0, failures = 0, retried = 0;
  double seconds = 0;
};

/// N clients on keep-alive connections fetching `paths` round robin for `seconds`.
load_result hammer(int port, const std::vector<std::string>& paths, int clients, double seconds) {
  std::atomic<std::uint64_t> requests{0}, bytes{0}, failures{0}, retried{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> ts;
  auto t0 = clock_type::now();
  for (int c = 0; c < clients; ++c)
    ts.emplace_back([&, c] {
      httplib::Client cli("127.0.0.1", port);
      cli.set_keep_alive(true);
      cli.set_read_timeout(30, 0);
      for (std::size_t i = static_cast<std::size_t>(c); !stop; ++i) {
        auto r = cli.Get(paths[i % paths.size()].c_str());
        if (!r) { // the server closed the idle connection as we reused it: a player retries
          ++retried;
          r = cli.Get(paths[i % paths.size()].c_str());
        }
        if (r && r->status == 200) {
          ++requests;
          bytes += r->body.size();
        } else {
          ++failures;
        }
      }
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : ts) t.join();
  load_result out{requests, bytes, failures, retried, std::chrono::duration<double>(clock_type::now() - t0).count()};
  return out;
}

struct ttfb_result {
  std::vector<double> ms;
  std::uint64_t failures = 0;
  double pct(double p) const {
    if (ms.empty()) return 0;
    auto v = ms;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
  }
};

/// V viewers, each on its own keep-alive connection, fetching one segment every 2 s (starts
/// spread over the first 2 s) for `seconds`: time to the first body byte of each.
ttfb_result viewers(int port, const std::vector<std::string>& paths, int n, double seconds) {
  ttfb_result out;
  std::mutex m;
  std::vector<std::thread> ts;
  auto t0 = clock_type::now();
  for (int v = 0; v < n; ++v)
    ts.emplace_back([&, v] {
      httplib::Client cli("127.0.0.1", port);
      cli.set_keep_alive(true);
      cli.set_read_timeout(30, 0);
      auto next = t0 + std::chrono::milliseconds(2000LL * v / n);
      std::vector<double> mine;
      std::uint64_t failed = 0;
      for (std::size_t k = static_cast<std::size_t>(v); next < t0 + std::chrono::duration<double>(seconds); ++k) {
        std::this_thread::sleep_until(next);
        auto start = clock_type::now();
        std::optional<clock_type::time_point> first;
        auto receive = [&](const char*, std::size_t) {
          if (!first) first = clock_type::now();
          return true;
        };
        auto r = cli.Get(paths[k % paths.size()].c_str(), receive);
        if (!r) r = cli.Get(paths[k % paths.size()].c_str(), receive); // a closed idle connection
        if (r && r->status == 200 && first) mine.push_back(std::chrono::duration<double, std::milli>(*first - start).count());
        else ++failed;
        next += std::chrono::seconds(2);
      }
      std::lock_guard<std::mutex> lock(m);
      out.ms.insert(out.ms.end(), mine.begin(), mine.end());
      out.failures += failed;
    });
  for (auto& t : ts) t.join();
  return out;
}

/// User + system CPU seconds of process `pid` so far.
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  std::istringstream rest(text.substr(close + 2));
  std::vector<std::string> f;
  for (std::string x; rest >> x;) f.push_back(x);
  // Fields after the name: state(0) ... utime(11) stime(12).
  return (std::stod(f.at(11)) + std::stod(f.at(12))) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::string hex_of(const bytes& b) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (auto x : b) {
    out += d[x >> 4];
    out += d[x & 15];
  }
  return out;
}

/// Paid viewers: each opens its lane (token + commitment, node-0 paying), then each second pays
/// one tick and fetches the segment the player would need next. Returns the ticks paid.
std::uint64_t paid_viewers(int port, const fs::path& dir, const std::map<std::string, std::string>& setup, int n,
                           int seconds, std::uint64_t& failures) {
  auto key = private_key::load(dir / "node-0" / "node.key");
  if (!key) throw std::runtime_error("node-0's key: " + key.err().message);
  auto gateway = *node_id::from_hex(setup.at("gateway"));
  auto content = *hash256::from_hex(setup.at("paid"));
  auto channel = *hash256::from_hex(setup.at("channel"));
  std::atomic<std::uint64_t> ticks{0}, failed{0};
  std::vector<std::thread> ts;
  auto now_ms = static_cast<std::uint64_t>(
    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  auto t0 = clock_type::now() + std::chrono::seconds(1);
  for (int v = 0; v < n; ++v)
    ts.emplace_back([&, v] {
      chain::playback_token t;
      t.gateway = gateway;
      t.content = content;
      t.channel = channel;
      t.lane = static_cast<std::uint32_t>(v); // the channel is new: every lane is unused
      t.not_after_ms = now_ms + 3'600'000;
      chain::sign(t, *key, "poe-devnet");
      auto token = chain::to_url(t);
      auto seed = sha256::digest(as_bytes("viewer " + std::to_string(v) + " " + std::to_string(::getpid())));
      chain::tick_chain chain_of_ticks(seed, static_cast<std::uint32_t>(seconds));
      chain::lane_commit c{channel, t.lane, content, chain_of_ticks.top(), chain_of_ticks.length(), amount{1}, {}};
      chain::sign(c, *key, "poe-devnet");
      httplib::Client cli("127.0.0.1", port);
      cli.set_keep_alive(true);
      auto base = "/t/" + token;
      auto r = cli.Post((base + "/lane").c_str(), hex_of(chain::encode(c)), "text/plain");
      if (!r || r->status != 200) {
        ++failed;
        return;
      }
      auto media = base + "/content/" + setup.at("paid") + "/360p";
      std::this_thread::sleep_until(t0 + std::chrono::milliseconds(1000LL * v / n));
      for (int i = 1; i <= seconds; ++i) {
        nlohmann::json body{{"ticks", {{{"index", i}, {"w", chain_of_ticks.at(static_cast<std::uint32_t>(i)).hex()}}}}};
        auto p = cli.Post((base + "/ticks").c_str(), body.dump(), "application/json");
        if (!p) p = cli.Post((base + "/ticks").c_str(), body.dump(), "application/json"); // ticks are idempotent
        if (p && p->status == 200) ++ticks;
        else ++failed;
        if (i % 2 == 1) { // a 2 s segment every other second, as a player plays
          auto path = media + "/" + std::to_string(((i - 1) / 2) % 6) + ".ts";
          auto g = cli.Get(path.c_str());
          if (!g) g = cli.Get(path.c_str());
          if (!g || g->status != 200) ++failed;
        }
        std::this_thread::sleep_until(t0 + std::chrono::milliseconds(1000LL * v / n) + std::chrono::seconds(i));
      }
    });
  for (auto& t : ts) t.join();
  failures = failed;
  return ticks;
}

} // namespace

int run_gateway(int argc, char** argv, const std::string& self_path) {
  double seconds = 10;
  std::vector<int> clients{1, 200};
  int keep_alive = 15;
  int viewers_n = 1000, paid_n = 50, gw_threads = 32, nginx_workers = 2;
  CLI::App app{"poe-bench gateway: HLS segments from the gateway against nginx, TTFB under viewers, CPU per paid second"};
  app.add_option("--seconds", seconds, "length of each throughput phase")->check(CLI::Range(1.0, 600.0))->capture_default_str();
  app.add_option("--clients", clients, "concurrent keep-alive clients of the throughput phases")
    ->delimiter(',')->check(CLI::Range(1, 2000))->capture_default_str();
  app.add_option("--viewers", viewers_n, "viewers of the time-to-first-byte phase (one segment every 2 s each)")
    ->check(CLI::Range(1, 5000))->capture_default_str();
  app.add_option("--paid-viewers", paid_n, "paying viewers of the CPU phase (0: skip)")->check(CLI::Range(0, 1000))->capture_default_str();
  app.add_option("--gateway-threads", gw_threads, "gateway.threads")->check(CLI::Range(1, 256))->capture_default_str();
  app.add_option("--keep-alive-s", keep_alive, "gateway.keep-alive-s")->check(CLI::Range(0, 300))->capture_default_str();
  app.add_option("--nginx-workers", nginx_workers, "nginx worker_processes")->check(CLI::Range(1, 64))->capture_default_str();
  try {
    app.parse(argc, argv); // unknown flags and values out of range are refused
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto build = fs::path(self_path).parent_path().parent_path();
  auto src = fs::path(POE_SOURCE_DIR);
  auto dir = fs::temp_directory_path() / ("poe-bench-gateway-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const int base_port = 7960, gw_port = 8965, nginx_port = 8975;
  std::cout << "gateway bench: 6 TLS nodes (setup: two 12 s clips transcoded and published), gateway.threads="
            << gw_threads << ", keep-alive-s=" << keep_alive << ", nginx " << nginx_workers << " workers; in " << dir << std::endl;
  pid_t nginx = 0;
  auto teardown = [&] {
    if (nginx > 0) {
      ::kill(nginx, SIGTERM);
      ::waitpid(nginx, nullptr, 0);
    }
    std::system(((src / "tools" / "devnet").string() + " down --dir " + dir.string() + " >/dev/null 2>&1").c_str());
  };
  try {
    auto setup = run_setup((src / "tools" / "poe-bench" / "gateway_setup.sh").string() + " " + build.string() + " " +
                           dir.string() + " " + std::to_string(base_port) + " " + std::to_string(gw_threads) + " " + std::to_string(keep_alive));
    pid_t gw_pid = 0;
    std::ifstream(dir / "node-5" / "pid") >> gw_pid;
    httplib::Client c("127.0.0.1", gw_port);
    auto prefix = "/content/" + setup.at("free");
    std::vector<std::string> paths;
    for (int tries = 0; paths.empty(); ++tries) {
      try {
        paths = segments_of(c, prefix);
      } catch (const std::exception& e) {
        if (tries > 150) throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
    // The same files for nginx, at the same paths; every one fetched once from the gateway
    // (its cache warm).
    auto www = dir / "www";
    std::uint64_t total = 0;
    for (auto& p : paths) {
      auto r = c.Get(p.c_str());
      if (!r || r->status != 200) throw std::runtime_error("segment " + p);
      auto file = www / p.substr(1);
      fs::create_directories(file.parent_path());
      std::ofstream(file, std::ios::binary).write(r->body.data(), static_cast<std::streamsize>(r->body.size()));
      total += r->body.size();
    }
    std::ofstream(dir / "nginx.conf")
      << (::geteuid() == 0 ? "user root;\n" : "") << "worker_processes " << nginx_workers
      << ";\npid " << (dir / "nginx.pid").string() << ";\nerror_log " << (dir / "nginx.err").string()
      << ";\nevents { worker_connections 8192; }\nhttp {\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n"
      << "  keepalive_requests 1000000;\n  client_body_temp_path " << (dir / "tmp").string()
      << ";\n  types { video/mp2t ts; application/vnd.apple.mpegurl m3u8; }\n  server {\n    listen 127.0.0.1:"
      << nginx_port << ";\n    root " << www.string()
      << ";\n    add_header Cache-Control \"public, max-age=31536000, immutable\";\n"
      << "    add_header Access-Control-Allow-Origin *;\n  }\n}\n";
    nginx = ::fork();
    if (nginx == 0) {
      ::execl("/usr/sbin/nginx", "nginx", "-c", (dir / "nginx.conf").c_str(), "-p", dir.c_str(), "-g", "daemon off;",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 100; ++i) {
      httplib::Client n("127.0.0.1", nginx_port);
      if (auto r = n.Get(paths[0].c_str()); r && r->status == 200) break;
      if (i == 99) throw std::runtime_error("nginx did not start (see " + (dir / "nginx.err").string() + ")");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::cout << paths.size() << " segments (" << total / paths.size() / 1024 << " KiB on average), cached by the gateway\n\n";

    std::printf("%-34s %12s %10s %12s %10s %8s\n", "throughput (keep-alive clients)", "gateway/s", "MB/s", "nginx/s",
                "MB/s", "ratio");
    for (int n : clients) {
      auto g = hammer(gw_port, paths, n, seconds);
      auto x = hammer(nginx_port, paths, n, seconds);
      auto rate = [](const load_result& r) { return static_cast<double>(r.requests) / r.seconds; };
      auto mbs = [](const load_result& r) { return static_cast<double>(r.bytes) / r.seconds / 1e6; };
      std::printf("%-34s %12.0f %10.1f %12.0f %10.1f %8.2f%s\n", (std::to_string(n) + " client(s)").c_str(), rate(g),
                  mbs(g), rate(x), mbs(x), rate(g) / rate(x),
                  (" (retried " + std::to_string(g.retried) + "/" + std::to_string(x.retried) + ", failed " +
                   std::to_string(g.failures) + "/" + std::to_string(x.failures) + ")").c_str());
      bench::figure("gateway", "cached segments/s, " + std::to_string(n) + " keep-alive client(s)", rate(g),
                    "segments/s", "nginx, same run", rate(x), ">= 0.8");
    }
    std::printf("\n%-34s %10s %10s %10s %10s %10s\n", "time to first byte, ms", "p50", "p99", "max", "samples", "failed");
    std::vector<ttfb_result> ttfb; // the gateway's, then nginx's
    for (auto [name, port] : {std::pair{"gateway", gw_port}, std::pair{"nginx", nginx_port}}) {
      auto r = viewers(port, paths, viewers_n, 20);
      std::printf("%-34s %10.2f %10.2f %10.2f %10zu %10llu\n",
                  (std::string(name) + ", " + std::to_string(viewers_n) + " viewers").c_str(), r.pct(0.5), r.pct(0.99),
                  r.pct(1.0), r.ms.size(), static_cast<unsigned long long>(r.failures));
      ttfb.push_back(std::move(r));
    }
    auto viewers_text = ", " + std::to_string(viewers_n) + " viewers";
    bench::figure("gateway", "time to first byte p50" + viewers_text, ttfb[0].pct(0.5), "ms",
                  "nginx, same run", ttfb[1].pct(0.5));
    bench::figure("gateway", "time to first byte p99" + viewers_text, ttfb[0].pct(0.99), "ms",
                  "nginx, same run", ttfb[1].pct(0.99), "<= 50 ms");
    if (paid_n > 0) {
      const int paid_seconds = 20;
      auto idle0 = cpu_seconds(gw_pid);
      std::this_thread::sleep_for(std::chrono::seconds(paid_seconds));
      auto idle = cpu_seconds(gw_pid) - idle0;
      std::uint64_t failed = 0;
      auto busy0 = cpu_seconds(gw_pid);
      auto t0 = clock_type::now();
      auto ticks = paid_viewers(gw_port, dir, setup, paid_n, paid_seconds, failed);
      auto span = std::chrono::duration<double>(clock_type::now() - t0).count();
      auto busy = cpu_seconds(gw_pid) - busy0;
      auto work = busy - idle * span / paid_seconds;
      auto ms_per_viewer_s = ticks ? work * 1000 / static_cast<double>(ticks) : 0.0;
      std::printf("\npaid playback: %d viewers x %d s, %llu ticks paid (%llu failed) in %.1f s; gateway node CPU %.2f s "
                  "(idle %.2f s per %d s)\n  CPU per paid viewer-second: %.3f ms (%.2f %% of a core per paid viewer)\n",
                  paid_n, paid_seconds, static_cast<unsigned long long>(ticks), static_cast<unsigned long long>(failed),
                  span, busy, idle, paid_seconds, ms_per_viewer_s,
                  ticks ? work * 100 / static_cast<double>(ticks) : 0.0);
      bench::figure("gateway", "CPU per paid viewer-second", ms_per_viewer_s, "ms/viewer-s");
    }
  } catch (const std::exception& e) {
    std::cerr << "gateway bench: " << e.what() << "\n";
    teardown();
    return 1;
  }
  teardown();
  return 0;
}
