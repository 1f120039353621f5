// Scenarios (poe::metrics, include/poe/runtime/metrics.hpp):
//  1. The no-op factory's products are callable and do nothing; node_metrics works on it.
//  2. A registry renders every sink's HELP/TYPE lines and the values after inc/set/observe.
//  3. The same name with different labels is one family (one HELP/TYPE, several series); the
//     same name and labels is the same series.
//  4. Conflicting reuse (other type, help or buckets), a counter without `_total`, invalid
//     names and unsorted buckets throw std::logic_error.
//  5. Sinks stay usable after their registry is gone.
//  6. serve("127.0.0.1:0") binds a free port; GET /metrics over HTTP returns render() plus the
//     exposer's own `exposer_*` families.
//  7. Serving on a port already in use returns an error naming the address and the cause.
//  8. "" and "off" disable serving; malformed addresses and a second serve() are errors.
//  9. node_metrics from many threads: on-demand series are created once and count correctly.
// 10. The rendered output of a fully populated node_metrics passes `promtool check metrics`
//     (and promtool does flag a bad exposition, so the check is real).

#include "poe/runtime/metrics.hpp"

#include <catch2/catch.hpp>
#include <httplib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace poe::metrics;

namespace {

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
    ++n;
  return n;
}

/// `text` without the families whose name starts with `prefix` (a family = its # HELP line,
/// its # TYPE line and the samples that follow).
std::string without_families(const std::string& text, const std::string& prefix) {
  std::istringstream in{text};
  std::string out, line;
  bool skipping = false;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) skipping = line.compare(7, prefix.size(), prefix) == 0;
    if (!skipping) out += line + "\n";
  }
  return out;
}

struct command_result {
  int exit_code;
  std::string output;
};

/// Runs `promtool check metrics` with `exposition` on stdin; returns its exit code and output.
command_result promtool_check(const std::string& exposition) {
  char path[] = "/tmp/poe-metrics-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  close(fd);
  std::ofstream{path} << exposition;
  std::string cmd = std::string{"promtool check metrics < "} + path + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + cmd);
  std::string output;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0)
    output.append(buf, n);
  int status = pclose(pipe);
  std::filesystem::remove(path);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

bool promtool_available() {
  return std::system("command -v promtool >/dev/null 2>&1") == 0;
}

/// A node_metrics with every series touched, over `reg`.
void populate(node_metrics& m) {
  m.peers_connected->set(3);
  m.start_time_seconds->set(1700000000);
  for (const char* role : {"validator", "worker", "directory"}) {
    m.role_running(role).set(1);
    m.messages_handled(role).inc(42);
  }
  m.role_running("worker").set(0);
  m.role_restarts("worker").inc();
  m.connection_events("connected").inc(2);
  m.connection_events("auth_failed").inc();
}

} // namespace

TEST_CASE("noop factory products are callable and do nothing") {
  factory& f = noop_factory();
  CHECK(&f == &noop_factory());
  auto c = f.make_counter("poe_x_total", "x", {{"a", "b"}});
  auto g = f.make_gauge("not even a valid name!", "");
  auto h = f.make_histogram("poe_h_seconds", "h", {3, 2, 1}); // nothing is validated
  REQUIRE(c);
  REQUIRE(g);
  REQUIRE(h);
  c->inc();
  c->inc(-5);
  g->set(1);
  g->inc();
  g->dec(2);
  h->observe(0.5);
  node_metrics m{f, "node-1", "0.1.0", "abc123"};
  populate(m);
  CHECK(&m.role_running("validator") == &m.role_running("validator"));
}

TEST_CASE("registry renders HELP, TYPE and values after inc, set and observe") {
  registry reg;
  auto c = reg.make_counter("poe_blocks_committed_total", "Blocks committed.");
  auto g = reg.make_gauge("poe_validator_height", "Height of the validator's chain.");
  auto h = reg.make_histogram("poe_commit_seconds", "Commit latency.", {0.5, 1, 2});
  c->inc();
  c->inc(2);
  c->inc(-10); // ignored: counters only go up
  g->set(10);
  g->inc(5);
  g->dec(2);
  h->observe(0.25);
  h->observe(1.5);
  h->observe(7);
  auto text = reg.render();
  INFO(text);
  CHECK(contains(text, "# HELP poe_blocks_committed_total Blocks committed.\n"));
  CHECK(contains(text, "# TYPE poe_blocks_committed_total counter\n"));
  CHECK(contains(text, "\npoe_blocks_committed_total 3\n"));
  CHECK(contains(text, "# TYPE poe_validator_height gauge\n"));
  CHECK(contains(text, "\npoe_validator_height 13\n"));
  CHECK(contains(text, "# TYPE poe_commit_seconds histogram\n"));
  CHECK(contains(text, "\npoe_commit_seconds_count 3\n"));
  CHECK(contains(text, "\npoe_commit_seconds_sum 8.75\n"));
  CHECK(contains(text, "\npoe_commit_seconds_bucket{le=\"0.5\"} 1\n"));
  CHECK(contains(text, "\npoe_commit_seconds_bucket{le=\"1\"} 1\n"));
  CHECK(contains(text, "\npoe_commit_seconds_bucket{le=\"2\"} 2\n"));
  CHECK(contains(text, "\npoe_commit_seconds_bucket{le=\"+Inf\"} 3\n"));
}

TEST_CASE("same name with different labels shares one family") {
  registry reg;
  auto a = reg.make_counter("poe_messages_total", "Messages.", {{"role", "a"}});
  auto b = reg.make_counter("poe_messages_total", "Messages.", {{"role", "b"}});
  auto a_again = reg.make_counter("poe_messages_total", "Messages.", {{"role", "a"}});
  a->inc();
  b->inc(5);
  a_again->inc();
  auto h1 = reg.make_histogram("poe_h_seconds", "H.", {1}, {{"k", "1"}});
  auto h2 = reg.make_histogram("poe_h_seconds", "H.", {1}, {{"k", "2"}});
  h1->observe(0.5);
  h2->observe(3);
  auto text = reg.render();
  INFO(text);
  CHECK(count_of(text, "# HELP poe_messages_total") == 1);
  CHECK(count_of(text, "# TYPE poe_messages_total") == 1);
  CHECK(contains(text, "\npoe_messages_total{role=\"a\"} 2\n"));
  CHECK(contains(text, "\npoe_messages_total{role=\"b\"} 5\n"));
  CHECK(count_of(text, "# TYPE poe_h_seconds") == 1);
  CHECK(contains(text, "\npoe_h_seconds_bucket{k=\"1\",le=\"1\"} 1\n"));
  CHECK(contains(text, "\npoe_h_seconds_bucket{k=\"2\",le=\"1\"} 0\n"));
}

TEST_CASE("conflicting reuse and invalid definitions throw logic_error") {
  registry reg;
  reg.make_counter("poe_a_total", "A.");
  reg.make_gauge("poe_g", "G.");
  reg.make_histogram("poe_h_seconds", "H.", {1, 2});
  SECTION("same name, other type") {
    CHECK_THROWS_AS(reg.make_gauge("poe_a_total", "A."), std::logic_error);
    CHECK_THROWS_AS(reg.make_histogram("poe_g", "G.", {1}), std::logic_error);
    CHECK_THROWS_AS(reg.make_counter("poe_h_seconds", "H."), std::logic_error);
    try {
      reg.make_gauge("poe_a_total", "A.");
    } catch (const std::logic_error& e) {
      CHECK(contains(e.what(), "poe_a_total"));
      CHECK(contains(e.what(), "counter"));
      CHECK(contains(e.what(), "gauge"));
    }
  }
  SECTION("same name, other help") {
    CHECK_THROWS_AS(reg.make_counter("poe_a_total", "Other."), std::logic_error);
    CHECK_THROWS_AS(reg.make_gauge("poe_g", "Other.", {{"x", "y"}}), std::logic_error);
  }
  SECTION("same histogram, other buckets") {
    CHECK_THROWS_AS(reg.make_histogram("poe_h_seconds", "H.", {1, 3}), std::logic_error);
  }
  SECTION("invalid definitions") {
    CHECK_THROWS_AS(reg.make_counter("poe_no_suffix", "C."), std::logic_error);
    CHECK_THROWS_AS(reg.make_gauge("poe bad name", "G."), std::logic_error);
    CHECK_THROWS_AS(reg.make_gauge("poe_g2", "G.", {{"bad-label", "v"}}), std::logic_error);
    CHECK_THROWS_AS(reg.make_gauge("poe_g2", "G.", {{"__reserved", "v"}}), std::logic_error);
    CHECK_THROWS_AS(reg.make_histogram("poe_h2_seconds", "H.", {1}, {{"le", "1"}}),
                    std::logic_error);
    CHECK_THROWS_AS(reg.make_histogram("poe_h3_seconds", "H.", {2, 1}), std::logic_error);
    CHECK_THROWS_AS(reg.make_histogram("poe_h3_seconds", "H.", {1, 1}), std::logic_error);
  }
  // The registry stays usable after a refused definition.
  reg.make_gauge("poe_g", "G.")->set(4);
  CHECK(contains(reg.render(), "\npoe_g 4\n"));
}

TEST_CASE("sinks outlive their registry") {
  std::shared_ptr<counter> c;
  std::shared_ptr<histogram> h;
  {
    registry reg;
    c = reg.make_counter("poe_a_total", "A.");
    h = reg.make_histogram("poe_h_seconds", "H.", {1});
  }
  c->inc();
  h->observe(2);
}

TEST_CASE("serve on port 0 and fetch /metrics over HTTP") {
  registry reg;
  CHECK(reg.port() == 0);
  auto c = reg.make_counter("poe_requests_total", "Requests.", {{"kind", "x"}});
  reg.make_gauge("poe_height", "Height.")->set(7);
  reg.make_histogram("poe_latency_seconds", "Latency.", {0.1, 1})->observe(0.5);
  c->inc(9);
  auto st = reg.serve("127.0.0.1:0");
  REQUIRE(st.ok());
  auto port = reg.port();
  REQUIRE(port != 0);

  httplib::Client client{"127.0.0.1", port};
  client.set_connection_timeout(5);
  client.set_read_timeout(5);
  auto res = client.Get("/metrics");
  REQUIRE(res);
  CHECK(res->status == 200);
  INFO(res->body);
  CHECK(contains(res->body, "# TYPE exposer_scrapes_total counter"));
  CHECK(without_families(res->body, "exposer_") == reg.render());
  CHECK(contains(res->body, "\npoe_requests_total{kind=\"x\"} 9\n"));

  // A second scrape sees new values.
  c->inc();
  auto res2 = client.Get("/metrics");
  REQUIRE(res2);
  CHECK(contains(res2->body, "\npoe_requests_total{kind=\"x\"} 10\n"));
}

TEST_CASE("serving on a port in use returns an error naming the address") {
  registry first;
  REQUIRE(first.serve("127.0.0.1:0").ok());
  auto address = "127.0.0.1:" + std::to_string(first.port());
  registry second;
  auto st = second.serve(address);
  REQUIRE_FALSE(st.ok());
  INFO(st.err().message);
  CHECK(st.err().code == poe::errc::io_error);
  CHECK(contains(st.err().message, address));
  CHECK(contains(st.err().message, "in use"));
  CHECK(second.port() == 0);
  // The failed registry can still serve elsewhere.
  CHECK(second.serve("127.0.0.1:0").ok());
  CHECK(second.port() != 0);
}

TEST_CASE("disabled, malformed and repeated serve addresses") {
  registry reg;
  CHECK(reg.serve("").ok());
  CHECK(reg.serve("off").ok());
  CHECK(reg.port() == 0);
  for (const char* bad : {"9464", "localhost:9464", "999.1.1.1:80", "[::1]:9464",
                          "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:12x", "127.0.0.1:-1"}) {
    auto st = reg.serve(bad);
    REQUIRE_FALSE(st.ok());
    INFO(st.err().message);
    CHECK(st.err().code == poe::errc::invalid_argument);
    CHECK(contains(st.err().message, bad));
  }
  CHECK(reg.port() == 0);
  REQUIRE(reg.serve("127.0.0.1:0").ok());
  auto st = reg.serve("127.0.0.1:0");
  REQUIRE_FALSE(st.ok());
  CHECK(contains(st.err().message, "already serving"));
  CHECK(reg.serve("off").ok()); // "off" never stops a running server
  CHECK(reg.port() != 0);
}

TEST_CASE("node_metrics on-demand series are thread-safe") {
  registry reg;
  node_metrics m{reg, "node-1", "0.1.0", "abc123"};
  constexpr int threads = 4, per_thread = 1000;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        m.messages_handled(i % 2 == 0 ? "even" : "odd").inc();
        m.role_running("role" + std::to_string(t)).set(1);
      }
    });
  for (auto& th : pool)
    th.join();
  CHECK(&m.messages_handled("even") == &m.messages_handled("even"));
  auto text = reg.render();
  INFO(text);
  CHECK(contains(text, "\npoe_messages_handled_total{role=\"even\"} 2000\n"));
  CHECK(contains(text, "\npoe_messages_handled_total{role=\"odd\"} 2000\n"));
  CHECK(contains(text, "\npoe_role_running{role=\"role3\"} 1\n"));
}

TEST_CASE("fully populated node_metrics passes promtool check metrics") {
  if (!promtool_available())
    FAIL("promtool not found in PATH (Debian package `prometheus`, /usr/bin/promtool)");
  registry reg;
  node_metrics m{reg, "node-1", "0.1.0", "abc123"};
  populate(m);
  auto text = reg.render();
  INFO(text);
  CHECK(contains(text, "\npoe_build_info{git_revision=\"abc123\",node_id=\"node-1\","
                       "version=\"0.1.0\"} 1\n"));
  CHECK(contains(text, "\npoe_peers_connected 3\n"));
  CHECK(contains(text, "\npoe_start_time_seconds 1700000000\n"));
  CHECK(contains(text, "\npoe_role_restarts_total{role=\"worker\"} 1\n"));
  CHECK(contains(text, "\npoe_role_running{role=\"worker\"} 0\n"));
  CHECK(contains(text, "\npoe_messages_handled_total{role=\"validator\"} 42\n"));
  CHECK(contains(text, "\npoe_connection_events_total{event=\"connected\"} 2\n"));
  for (const auto& event : node_metrics::known_connection_events)
    CHECK(contains(text, "poe_connection_events_total{event=\"" + event + "\"}"));

  auto good = promtool_check(text);
  INFO("promtool output: " << good.output);
  CHECK(good.exit_code == 0);

  // promtool does reject a bad exposition, so the check above means something.
  auto bad = promtool_check("# HELP poe_bad A counter without _total.\n"
                            "# TYPE poe_bad counter\npoe_bad 1\n");
  INFO("promtool output (bad input): " << bad.output);
  CHECK(bad.exit_code != 0);
}
