// poe-bench — Google Benchmark runner that also prints, for every benchmark with an anchor
// measured in the same run, the ratio ours / anchor.
//
// Pairs: "poe_verify/X" against the bare loop of the library poe verifies X with
// ("sodium_verify/ed25519", "openssl_verify/rsa2048"), and the two Ed25519 libraries against
// each other (anchor: 1.86x measured on this machine). Absolute anchors from the issue text
// (e.g. the Merkle root's 0.6 ms) are printed beside the figure.

#include <benchmark/benchmark.h>

#include "figures.hpp"

#include <cstdint>
#include <cstdio>
#include <unistd.h>
#include <map>
#include <string>
#include <tuple>

namespace {

struct figure {
  double items_per_second = 0;
  double bytes_per_second = 0;
  double real_time_ms = 0;
};

class ratio_reporter : public benchmark::ConsoleReporter {
public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      // With repetitions, keep the median aggregate; without, the single run.
      if (r.run_type == Run::RT_Aggregate && r.aggregate_name != "median") continue;
      auto name = r.run_name.str();
      figure f;
      if (auto it = r.counters.find("items_per_second"); it != r.counters.end())
        f.items_per_second = it->second.value;
      if (auto it = r.counters.find("bytes_per_second"); it != r.counters.end())
        f.bytes_per_second = it->second.value;
      f.real_time_ms = r.GetAdjustedRealTime() *
                       (r.time_unit == benchmark::kMillisecond ? 1.0
                        : r.time_unit == benchmark::kMicrosecond ? 1e-3
                        : r.time_unit == benchmark::kNanosecond  ? 1e-6
                                                                 : 1e3);
      figures_[name] = f;
    }
  }

  void print_ratios() const {
    std::printf("\n%-28s %14s %14s %8s\n", "ratio (ours / anchor)", "ours", "anchor", "ratio");
    for (const auto& [name, f] : figures_) {
      auto slash = name.find('/');
      auto family = name.substr(0, slash == std::string::npos ? 0 : slash);
      if (family != "poe_verify" && family != "verifier_receipts") continue;
      auto key = name.substr(slash + 1);
      auto bound = (key == "ed25519" ? "sodium_verify/" : "openssl_verify/") + key;
      auto anchor = figures_.find(bound);
      if (anchor == figures_.end() || anchor->second.items_per_second == 0) continue;
      poe::bench::figure("micro", name + " verifications/s", f.items_per_second, "/s", bound + ", same run",
                         anchor->second.items_per_second);
      std::printf("%-28s %12.0f/s %12.0f/s %7.1f%%  (%s)\n", name.c_str(), f.items_per_second,
                  anchor->second.items_per_second,
                  100.0 * f.items_per_second / anchor->second.items_per_second, bound.c_str());
    }
    auto sodium = figures_.find("sodium_verify/ed25519"), openssl = figures_.find("openssl_verify/ed25519");
    if (sodium != figures_.end() && openssl != figures_.end() && openssl->second.items_per_second > 0) {
      poe::bench::figure("micro", "Ed25519 verify, libsodium / OpenSSL", sodium->second.items_per_second /
                                    openssl->second.items_per_second, "x", "measured before (issue 21)", 1.86);
      std::printf("%-28s %12.0f/s %12.0f/s %7.2fx  (openssl_verify/ed25519; anchor 1.86x)\n", "sodium_verify/ed25519",
                  sodium->second.items_per_second, openssl->second.items_per_second,
                  sodium->second.items_per_second / openssl->second.items_per_second);
    }
    // The payee's checks of payments beside their bare loops (channel_micro_bench.cpp).
    for (auto [ours, anchor, goal] : {std::tuple{"channel_ticks", "sha256_ticks", ">= 80 %, >= 1 M/s"},
                                      std::tuple{"channel_vouchers", "ed25519_vouchers", ">= 90 %"}}) {
      auto a = figures_.find(ours), b = figures_.find(anchor);
      if (a == figures_.end() || b == figures_.end() || b->second.items_per_second == 0) continue;
      poe::bench::figure("micro", std::string(ours) + "/s", a->second.items_per_second, "/s",
                         std::string(anchor) + ", same run", b->second.items_per_second, goal);
      std::printf("%-28s %12.0f/s %12.0f/s %7.1f%%  (%s; goal %s)\n", ours, a->second.items_per_second,
                  b->second.items_per_second, 100.0 * a->second.items_per_second / b->second.items_per_second,
                  anchor, goal);
    }
    if (auto it = figures_.find("merkle_root/4096"); it != figures_.end()) {
      poe::bench::figure("micro", "Merkle root of 4096 leaves", it->second.real_time_ms, "ms",
                         "issue figure", 0.6, "lower is better");
      std::printf("%-28s %12.3fms %12.3fms %7.1f%%  (anchor: issue figure, lower is better)\n",
                  "merkle_root/4096", it->second.real_time_ms, 0.6,
                  100.0 * it->second.real_time_ms / 0.6);
    }
    for (const auto& [name, f] : figures_)
      if (name.rfind("sha256/", 0) == 0)
        std::printf("%-28s %10.0f MB/s\n", name.c_str(), f.bytes_per_second / 1e6);
  }

private:
  std::map<std::string, figure> figures_;
};

} // namespace

std::string self_path() {
  char buf[4096];
  auto n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
}

int run_transport(int argc, char** argv, const std::string& self_path);
int run_chain(int argc, char** argv, const std::string& self_path);
int run_storage(int argc, char** argv, const std::string& self_path);
int run_media(int argc, char** argv, const std::string& self_path);
int run_notary(int argc, char** argv, const std::string& self_path);
int run_channel(int argc, char** argv, const std::string& self_path);
int run_gateway(int argc, char** argv, const std::string& self_path);
int run_scale(int argc, char** argv, const std::string& self_path);
int run_memory(int argc, char** argv, const std::string& self_path);
int run_all(int argc, char** argv, const std::string& self_path);
int run_caf_echo_server(std::uint16_t port, const std::string& tls_dir);

namespace {

const char* usage =
  "poe-bench: poe's benchmarks, each beside its anchor in the same run (docs quote the ratios)\n"
  "\n"
  "usage: poe-bench [--benchmark_* flags]   micro-benchmarks: hashing, Merkle roots, PoE and\n"
  "                                         Ed25519 verification, the verifier's and the payee's\n"
  "                                         checks (Google Benchmark; --benchmark_filter=REGEX)\n"
  "       poe-bench SUBCOMMAND [options]    (SUBCOMMAND --help lists its options)\n"
  "\n"
  "subcommands:\n"
  "  transport  messages/s and latency between two nodes over CAF + TLS, beside a bare CAF echo\n"
  "  chain      4 validator processes: blocks/s, commit latency, transfers/s\n"
  "  storage    chunk puts/gets beside raw RocksDB, in process and one TLS hop away\n"
  "  media      ladder transcoding beside the ffmpeg CLI\n"
  "  notary     receipts end to end through verifier and builder, beside the verification bound\n"
  "  channel    a payee node serving many concurrent payment lanes\n"
  "  gateway    HLS segments from the gateway beside nginx; TTFB; CPU per paid viewer-second\n"
  "  scale      validator networks to 100+ in the deterministic harness: safety, liveness,\n"
  "             messages and bytes per block per node\n"
  "  memory     an all-in-one node's resident memory idle, under a 1,000-task job, after it\n"
  "  all        every benchmark briefly, then one table of each figure beside its anchor and\n"
  "             the ratio (--only, --skip)\n";

} // namespace

int main(int argc, char** argv) {
  // `poe-bench transport ...`: multi-process transport benchmark (transport_bench.cpp).
  if (argc >= 2 && std::string(argv[1]) == "transport")
    return run_transport(argc - 1, argv + 1, self_path());
  // `poe-bench chain ...`: 4 validator processes under load (chain_bench.cpp).
  if (argc >= 2 && std::string(argv[1]) == "chain") return run_chain(argc - 1, argv + 1, self_path());
  // `poe-bench storage ...`: chunk puts/gets vs raw RocksDB (storage_bench.cpp).
  if (argc >= 2 && std::string(argv[1]) == "storage")
    return run_storage(argc - 1, argv + 1, self_path());
  // `poe-bench media ...`: ladder transcoding vs the ffmpeg CLI (media_bench.cpp).
  if (argc >= 2 && std::string(argv[1]) == "media") return run_media(argc - 1, argv + 1, self_path());
  if (argc >= 2 && std::string(argv[1]) == "notary") return run_notary(argc - 1, argv + 1, self_path());
  // `poe-bench channel ...`: a payee node serving many concurrent lanes (channel_bench.cpp).
  if (argc >= 2 && std::string(argv[1]) == "channel") return run_channel(argc - 1, argv + 1, self_path());
  // `poe-bench gateway ...`: HLS segments from the gateway against nginx (gateway_bench.cpp).
  if (argc >= 2 && std::string(argv[1]) == "gateway") return run_gateway(argc - 1, argv + 1, self_path());
  if (argc >= 2 && std::string(argv[1]) == "scale") return run_scale(argc - 1, argv + 1, self_path());
  if (argc >= 2 && std::string(argv[1]) == "memory") return run_memory(argc - 1, argv + 1, self_path());
  if (argc >= 2 && std::string(argv[1]) == "all") return run_all(argc - 1, argv + 1, self_path());
  if (argc >= 4 && std::string(argv[1]) == "--caf-echo-server")
    return run_caf_echo_server(static_cast<std::uint16_t>(std::stoi(argv[2])), argv[3]);
  if (argc >= 2) {
    std::string a = argv[1];
    if (a == "--help" || a == "-h" || a == "help") {
      std::fputs(usage, stdout);
      return 0;
    }
    // A word that is no subcommand (a typo of one) must not start the micro-benchmarks.
    if (a.rfind("--benchmark_", 0) != 0 && a != "--v") {
      std::fprintf(stderr, "poe-bench: unknown subcommand or flag '%s'\n\n%s", a.c_str(), usage);
      return 2;
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  ratio_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratios();
  benchmark::Shutdown();
  return 0;
}
