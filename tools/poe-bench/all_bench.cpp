// poe-bench all — every benchmark briefly, then one table: each figure beside its anchor (a
// bound measured in the same run, or an external figure) and the ratio. The form the docs quote.
//
//   poe-bench all [--only micro,chain,...] [--skip media,...] [--keep]
//
// Each benchmark runs as a child process of this binary (its own ports, its own temporary
// directory), its output in a log; each records its figures through bench::figure
// (figures.hpp) into one file, which the table is made from. A benchmark that fails is named
// with its log, and the exit status is 1.
#include <CLI/CLI.hpp>

#include "figures.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct step {
  std::string name;
  std::string args; ///< brief options
};

/// Briefly: each a few seconds to a few minutes on 2 cores.
const std::vector<step> steps = {
  {"micro", "--benchmark_min_time=0.2"},
  {"transport", "transport --messages 20000 --round-trips 500 --rounds 1"},
  {"storage", "storage --mb 20 --rounds 1"},
  {"media", "media --seconds 4 --rounds 1"},
  {"chain", "chain --idle-seconds 5 --transfers 10000"},
  {"notary", "notary --receipts 5000 --window 2000"},
  {"channel", "channel --lanes 1000 --seconds 10"},
  {"gateway", "gateway --seconds 3 --viewers 200 --paid-viewers 10"},
  {"scale", "scale --validators 4,25 --seeds 1"},
  {"memory", "memory --settle-seconds 15 --after-seconds 20"},
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string w; std::getline(in, w, ',');)
    if (!w.empty()) out.push_back(w);
  return out;
}

std::string fmt(double v) {
  char b[32];
  if (v != 0 && (std::abs(v) >= 1e7 || std::abs(v) < 0.01))
    std::snprintf(b, sizeof b, "%.3g", v);
  else if (std::abs(v) >= 100)
    std::snprintf(b, sizeof b, "%.0f", v);
  else
    std::snprintf(b, sizeof b, "%.2f", v);
  return b;
}

} // namespace

int run_all(int argc, char** argv, const std::string& self_path) {
  std::string only, skip;
  bool keep = false;
  CLI::App app{"poe-bench all: every benchmark briefly, one table of figures beside anchors"};
  app.add_option("--only", only, "run only these (comma-separated): micro, transport, storage, media, chain, "
                                 "notary, channel, gateway, scale, memory");
  app.add_option("--skip", skip, "skip these (comma-separated)");
  app.add_flag("--keep", keep, "keep the logs and the figures file");
  try {
    app.parse(argc, argv); // unknown flags are refused
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  std::set<std::string> known;
  for (auto& s : steps) known.insert(s.name);
  auto chosen = split(only), skipped = split(skip);
  for (auto* names : {&chosen, &skipped})
    for (auto& n : *names)
      if (!known.count(n)) return std::fprintf(stderr, "poe-bench all: unknown benchmark '%s'\n", n.c_str()), 2;
  auto dir = fs::temp_directory_path() / ("poe-bench-all-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto figures = dir / "figures.tsv";
  ::setenv("POE_BENCH_FIGURES", figures.c_str(), 1);
  std::vector<std::string> failed;
  std::vector<std::pair<std::string, double>> took;
  for (auto& s : steps) {
    if (!chosen.empty() && std::find(chosen.begin(), chosen.end(), s.name) == chosen.end()) continue;
    if (std::find(skipped.begin(), skipped.end(), s.name) != skipped.end()) continue;
    auto log = dir / (s.name + ".log");
    std::cout << "poe-bench all: " << s.name << " (poe-bench " << s.args << ") ..." << std::flush;
    auto t0 = std::chrono::steady_clock::now();
    auto rc = std::system(("'" + self_path + "' " + s.args + " > '" + log.string() + "' 2>&1").c_str());
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    took.push_back({s.name, secs});
    std::cout << (rc == 0 ? " done" : " FAILED") << " in " << fmt(secs) << " s\n";
    if (rc != 0) failed.push_back(s.name + " (log: " + log.string() + ")");
  }
  struct row {
    std::string bench, name, unit, anchor, goal;
    double value = 0, anchor_value = 0;
  };
  std::vector<row> rows;
  std::ifstream in(figures);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f;
    std::stringstream ls(line);
    for (std::string w; std::getline(ls, w, '\t');) f.push_back(w);
    if (f.size() < 7) f.resize(7);
    row r{f[0], f[1], f[3], f[4], f[6]};
    try {
      r.value = std::stod(f[2]);
      r.anchor_value = f[5].empty() ? 0 : std::stod(f[5]);
    } catch (...) {
      continue;
    }
    rows.push_back(r);
  }
  std::printf("\n%-10s %-46s %12s %-10s %12s  %-40s %s\n", "bench", "figure", "value", "unit", "ratio",
              "anchor (value)", "goal");
  for (auto& r : rows) {
    auto ratio = r.anchor_value != 0 ? r.value / r.anchor_value : 0;
    std::string ratio_s = r.anchor_value != 0 ? (ratio < 10 ? fmt(100 * ratio) + " %" : fmt(ratio) + " x") : "";
    std::string anchor = r.anchor.empty() ? "" : r.anchor + " (" + fmt(r.anchor_value) + ")";
    std::printf("%-10s %-46s %12s %-10s %12s  %-40s %s\n", r.bench.c_str(), r.name.c_str(),
                fmt(r.value).c_str(), r.unit.c_str(), ratio_s.c_str(), anchor.c_str(), r.goal.c_str());
  }
  std::string times;
  for (auto& [n, t] : took) times += (times.empty() ? "" : ", ") + n + " " + fmt(t) + " s";
  std::printf("\nran: %s\n", times.c_str());
  for (auto& f : failed) std::printf("FAILED: %s\n", f.c_str());
  if (keep || !failed.empty())
    std::printf("logs and figures in %s\n", dir.c_str());
  else
    fs::remove_all(dir);
  return failed.empty() ? 0 : 1;
}
