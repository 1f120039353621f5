#pragma once
/// @file
/// One figure of a benchmark for `poe-bench all`'s table. Every benchmark prints its figures
/// for people and also records each through `figure(...)`: when the environment names a file
/// in POE_BENCH_FIGURES (poe-bench all sets it for the benchmarks it runs), a tab-separated
/// line `bench  figure  value  unit  anchor  anchor_value  goal` is appended to it. The table
/// reads those lines, never the printed text.
///
/// `anchor` names what the figure is compared with (a bound measured in the same run, or an
/// external figure: the or another system's); the ratio is value / anchor_value, so
/// for a latency or a size lower is better (the goal says which).

#include <cstdio>
#include <cstdlib>
#include <string>

namespace poe::bench {

inline void figure(const std::string& bench, const std::string& name, double value,
                   const std::string& unit, const std::string& anchor = "",
                   double anchor_value = 0, const std::string& goal = "") {
  auto* path = std::getenv("POE_BENCH_FIGURES");
  if (!path || !*path) return;
  if (auto* f = std::fopen(path, "a")) {
    auto clean = [](std::string s) { // no tab or newline inside a field
      for (auto& c : s)
        if (c == '\t' || c == '\n') c = ' ';
      return s;
    };
    std::fprintf(f, "%s\t%s\t%.6g\t%s\t%s\t%.6g\t%s\n", clean(bench).c_str(), clean(name).c_str(),
                 value, clean(unit).c_str(), clean(anchor).c_str(), anchor_value,
                 clean(goal).c_str());
    std::fclose(f);
  }
}

} // namespace poe::bench
