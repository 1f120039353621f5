// Scenarios:
// - parse_endpoint accepts "name:port" and "IPv4:port" (ports 1..65535, and 0 with allow_zero)
//   and text() gives the input back
// - parse_endpoint refuses, naming the input: no port or no host, port 0 without allow_zero,
//   65536 and beyond, letters or signs in the port, hosts with characters outside a name
//   (spaces, slashes, colons, IPv6 brackets)
// - a complete settings passes check_settings, also without TLS files in insecure plaintext
// - each problem names its key: 'node.roles' (unknown role, with the known roles; a role
//   listed twice), 'log.level' (with the accepted levels), 'node.data-dir', 'node.key-file',
//   'node.chain-id' (length and characters), 'tls.certificate' and 'tls.ca-file' (unless
//   insecure plaintext), 'supervisor.max-restarts', 'supervisor.window',
//   'supervisor.backoff-initial', 'net.reconnect-initial', 'net.connection-timeout',
//   'metrics.address'
// - every accepted log level passes; metrics.address may be empty or use port 0
// - several problems are reported together, one per line, each line starting with its key

#include "poe/runtime/settings.hpp"

#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

using namespace poe;
using namespace poe::runtime;
using namespace std::chrono_literals;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

const std::vector<std::string> known{"probe", "store", "ledger"};

node_settings good() {
  node_settings s;
  s.name = "n1";
  s.roles = {"probe", "store"};
  s.data_dir = "/var/lib/poe/n1";
  s.key_file = "/etc/poe/n1.key";
  s.tls.certificate = "/etc/poe/n1.crt";
  s.tls.ca_file = "/etc/poe/ca.crt";
  return s;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

/// The single problem check_settings reports for `s`; fails the test if there is not exactly
/// one.
std::string only_problem(const node_settings& s) {
  auto st = check_settings(s, known);
  REQUIRE_FALSE(st);
  CHECK(st.err().code == errc::invalid_argument);
  auto ls = lines(st.err().message);
  INFO(st.err().message);
  REQUIRE(ls.size() == 1);
  return ls[0];
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

} // namespace

TEST_CASE("parse_endpoint accepts names and IPv4 addresses") {
  struct sample {
    const char* text;
    const char* host;
    std::uint16_t port;
  };
  for (auto x : {sample{"localhost:1", "localhost", 1}, sample{"127.0.0.1:8080", "127.0.0.1", 8080},
                 sample{"0.0.0.0:65535", "0.0.0.0", 65535},
                 sample{"node-1.poe_test.example:4242", "node-1.poe_test.example", 4242},
                 sample{"10.1.2.3:443", "10.1.2.3", 443}}) {
    INFO(x.text);
    auto ep = parse_endpoint(x.text);
    REQUIRE(ep);
    CHECK(ep->host == x.host);
    CHECK(ep->port == x.port);
    CHECK(ep->text() == x.text);
  }
}

TEST_CASE("parse_endpoint accepts port 0 only with allow_zero") {
  auto refused = parse_endpoint("127.0.0.1:0");
  REQUIRE_FALSE(refused);
  CHECK(contains(refused.err().message, "1..65535"));
  auto ok = parse_endpoint("127.0.0.1:0", true);
  REQUIRE(ok);
  CHECK(ok->host == "127.0.0.1");
  CHECK(ok->port == 0);
  // allow_zero does not relax anything else.
  CHECK_FALSE(parse_endpoint("127.0.0.1:65536", true));
  CHECK_FALSE(parse_endpoint("127.0.0.1", true));
}

TEST_CASE("parse_endpoint refuses malformed text, naming it") {
  SECTION("not host:port") {
    for (auto text : {"", "localhost", "8080", ":8080", ":"}) {
      INFO("'" << text << "'");
      auto ep = parse_endpoint(text);
      REQUIRE_FALSE(ep);
      CHECK(ep.err().code == errc::invalid_argument);
      CHECK(contains(ep.err().message, "'" + std::string(text) + "'"));
    }
  }
  SECTION("bad ports") {
    for (auto text :
         {"localhost:", "localhost:0", "localhost:65536", "localhost:99999", "localhost:4294967297",
          "localhost:http", "localhost:80a", "localhost:8o", "localhost:-1", "localhost:+80",
          "localhost: 80", "localhost:80 ", "localhost:1.5"}) {
      INFO("'" << text << "'");
      auto ep = parse_endpoint(text);
      REQUIRE_FALSE(ep);
      CHECK(ep.err().code == errc::invalid_argument);
      CHECK(contains(ep.err().message, text));
      CHECK(contains(ep.err().message, "port"));
      CHECK(contains(ep.err().message, "1..65535"));
    }
  }
  SECTION("bad hosts") {
    for (auto text : {"local host:80", "bad/host:80", "a:b:80", "[::1]:80", "host!:80",
                      "h\xc3\xa9te:80", "tab\t:80"}) {
      INFO("'" << text << "'");
      auto ep = parse_endpoint(text);
      REQUIRE_FALSE(ep);
      CHECK(ep.err().code == errc::invalid_argument);
      CHECK(contains(ep.err().message, "host"));
      CHECK(contains(ep.err().message, "is not a valid name"));
    }
  }
}

TEST_CASE("good settings pass") {
  CHECK(check_settings(good(), known));
  SECTION("insecure plaintext needs no TLS files") {
    auto s = good();
    s.insecure_plaintext = true;
    s.tls = {};
    CHECK(check_settings(s, known));
  }
  SECTION("no roles at all is allowed (an idle node)") {
    auto s = good();
    s.roles.clear();
    CHECK(check_settings(s, known));
  }
  SECTION("every accepted log level") {
    CHECK(log_levels() ==
          std::vector<std::string>{"trace", "debug", "info", "warn", "error", "off"});
    for (auto& level : log_levels()) {
      auto s = good();
      s.log_level = level;
      INFO(level);
      CHECK(check_settings(s, known));
    }
  }
  SECTION("limits that are equal are in order") {
    auto s = good();
    s.supervisor.backoff_initial = s.supervisor.backoff_max = 1s;
    s.net.reconnect_initial = s.net.reconnect_max = 1s;
    s.supervisor.max_restarts = 1;
    s.supervisor.window = 1ns;
    CHECK(check_settings(s, known));
  }
  SECTION("a zero heartbeat disables the connection timeout check") {
    auto s = good();
    s.net.heartbeat_interval = duration::zero();
    s.net.connection_timeout = duration::zero();
    CHECK(check_settings(s, known));
  }
  SECTION("metrics address: empty, a port, or port 0") {
    for (auto a : {"", "0.0.0.0:9100", "localhost:0"}) {
      auto s = good();
      s.metrics_address = a;
      INFO(a);
      CHECK(check_settings(s, known));
    }
  }
  SECTION("a chain id of 64 printable characters") {
    auto s = good();
    s.chain_id = std::string(64, 'x');
    CHECK(check_settings(s, known));
  }
}

TEST_CASE("an unknown role names node.roles and lists the known roles") {
  auto s = good();
  s.roles = {"probe", "valdator"};
  auto p = only_problem(s);
  CHECK(starts_with(p, "'node.roles': "));
  CHECK(contains(p, "unknown role 'valdator'"));
  CHECK(contains(p, "known roles: probe, store, ledger"));
}

TEST_CASE("a role listed twice names node.roles") {
  auto s = good();
  s.roles = {"probe", "store", "probe"};
  auto p = only_problem(s);
  CHECK(starts_with(p, "'node.roles': "));
  CHECK(contains(p, "role 'probe' listed twice"));
}

TEST_CASE("a bad log level names log.level and lists the levels") {
  auto s = good();
  s.log_level = "verbose";
  auto p = only_problem(s);
  CHECK(starts_with(p, "'log.level': "));
  CHECK(contains(p, "'verbose'"));
  CHECK(contains(p, "trace, debug, info, warn, error, off"));
  s.log_level = "INFO"; // case matters
  CHECK(starts_with(only_problem(s), "'log.level': "));
}

TEST_CASE("data-dir and key-file must be set") {
  SECTION("data-dir") {
    auto s = good();
    s.data_dir.clear();
    CHECK(starts_with(only_problem(s), "'node.data-dir': must be set"));
  }
  SECTION("key-file") {
    auto s = good();
    s.key_file.clear();
    auto p = only_problem(s);
    CHECK(starts_with(p, "'node.key-file': must be set"));
    CHECK(contains(p, "poe-keygen"));
  }
}

TEST_CASE("the chain id must be a valid signature-domain chain id") {
  auto s = good();
  SECTION("empty") {
    s.chain_id.clear();
  }
  SECTION("longer than 64 characters") {
    s.chain_id = std::string(65, 'x');
  }
  // Signing (domain_prefix) throws on these, so they must be refused at configuration time.
  SECTION("with a space") {
    s.chain_id = "poe devnet";
  }
  SECTION("with a control character") {
    s.chain_id = "poe\tdevnet";
  }
  SECTION("with a non-ASCII byte") {
    s.chain_id = "poe-d\xc3\xa9vnet";
  }
  CHECK(starts_with(only_problem(s), "'node.chain-id': "));
}

TEST_CASE("TLS files are required unless insecure plaintext") {
  auto s = good();
  s.tls.certificate.clear();
  auto p = only_problem(s);
  CHECK(starts_with(p, "'tls.certificate': must be set"));
  CHECK(contains(p, "node.insecure-plaintext"));
  s = good();
  s.tls.ca_file.clear();
  CHECK(starts_with(only_problem(s), "'tls.ca-file': must be set"));
  s.tls = {};
  auto both = check_settings(s, known);
  REQUIRE_FALSE(both);
  CHECK(lines(both.err().message).size() == 2);
  s.insecure_plaintext = true;
  CHECK(check_settings(s, known));
}

TEST_CASE("supervisor numbers are checked") {
  auto s = good();
  SECTION("max-restarts") {
    s.supervisor.max_restarts = 0;
    auto p = only_problem(s);
    CHECK(starts_with(p, "'supervisor.max-restarts': "));
    CHECK(contains(p, "at least 1"));
  }
  SECTION("window zero") {
    s.supervisor.window = duration::zero();
    CHECK(starts_with(only_problem(s), "'supervisor.window': must be positive"));
  }
  SECTION("window negative") {
    s.supervisor.window = -1s;
    CHECK(starts_with(only_problem(s), "'supervisor.window': must be positive"));
  }
  SECTION("backoff-initial above backoff-max") {
    s.supervisor.backoff_initial = 6s;
    s.supervisor.backoff_max = 5s;
    auto p = only_problem(s);
    CHECK(starts_with(p, "'supervisor.backoff-initial': "));
    CHECK(contains(p, "supervisor.backoff-max"));
  }
}

TEST_CASE("net timeouts must be in order") {
  auto s = good();
  SECTION("reconnect-initial above reconnect-max") {
    s.net.reconnect_initial = 10s;
    s.net.reconnect_max = 5s;
    auto p = only_problem(s);
    CHECK(starts_with(p, "'net.reconnect-initial': "));
    CHECK(contains(p, "net.reconnect-max"));
  }
  SECTION("connection-timeout equal to the heartbeat") {
    s.net.heartbeat_interval = 2s;
    s.net.connection_timeout = 2s;
    auto p = only_problem(s);
    CHECK(starts_with(p, "'net.connection-timeout': "));
    CHECK(contains(p, "net.heartbeat-interval"));
  }
  SECTION("connection-timeout shorter than the heartbeat") {
    s.net.heartbeat_interval = 2s;
    s.net.connection_timeout = 1s;
    CHECK(starts_with(only_problem(s), "'net.connection-timeout': "));
  }
}

TEST_CASE("negative delays are refused, naming their key") {
  auto s = good();
  SECTION("backoff-initial") {
    s.supervisor.backoff_initial = -1s;
    CHECK(starts_with(only_problem(s), "'supervisor.backoff-initial': must not be negative"));
  }
  SECTION("reconnect-initial") {
    s.net.reconnect_initial = -5ms;
    CHECK(starts_with(only_problem(s), "'net.reconnect-initial': must not be negative"));
  }
  SECTION("handshake-timeout") {
    s.net.handshake_timeout = -1s;
    CHECK(starts_with(only_problem(s), "'net.handshake-timeout': must not be negative"));
  }
}

TEST_CASE("a bad metrics address names metrics.address") {
  auto s = good();
  for (auto a : {"9100", "localhost:99999", "bad host:9100"}) {
    s.metrics_address = a;
    INFO(a);
    auto p = only_problem(s);
    CHECK(starts_with(p, "'metrics.address': "));
    CHECK(contains(p, a));
  }
}

TEST_CASE("several problems are reported together, one per line, each naming its key") {
  node_settings s; // defaults: no data dir, no key file, no TLS files
  s.roles = {"nope", "probe", "probe"};
  s.log_level = "loud";
  s.supervisor.max_restarts = 0;
  s.supervisor.window = duration::zero();
  s.supervisor.backoff_initial = 10s;
  s.supervisor.backoff_max = 1s;
  s.net.reconnect_initial = 10s;
  s.net.reconnect_max = 1s;
  s.net.heartbeat_interval = 5s;
  s.net.connection_timeout = 1s;
  s.metrics_address = "nowhere";
  s.chain_id = "";
  auto st = check_settings(s, known);
  REQUIRE_FALSE(st);
  auto ls = lines(st.err().message);
  std::vector<std::string> keys{"node.roles",
                                "node.roles",
                                "log.level",
                                "node.data-dir",
                                "node.key-file",
                                "node.chain-id",
                                "tls.certificate",
                                "tls.ca-file",
                                "supervisor.max-restarts",
                                "supervisor.window",
                                "supervisor.backoff-initial",
                                "net.reconnect-initial",
                                "net.connection-timeout",
                                "metrics.address"};
  INFO(st.err().message);
  REQUIRE(ls.size() == keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i)
    CHECK(starts_with(ls[i], "'" + keys[i] + "': "));
  CHECK(contains(ls[0], "unknown role 'nope'"));
  CHECK(contains(ls[1], "role 'probe' listed twice"));
  CHECK(st.err().message.back() != '\n');
}

TEST_CASE("role options: typed defaults pass, values are set by key and checked once") {
  runtime::role_options o;
  CHECK(runtime::check_role_options(o).empty());
  CHECK(o.verifier.sample_rate_ppm == 50'000); // the defaults live in role_options.hpp only
  CHECK(o.storage.put_acks() == o.storage.replicas);
  REQUIRE(runtime::set_role_option(o, "verifier.sample-rate-ppm", "1000000"));
  CHECK(o.verifier.sample_rate_ppm == 1'000'000);
  REQUIRE(runtime::set_role_option(o, "builder.withhold", "true"));
  CHECK(o.builder.withhold);
  REQUIRE(runtime::set_role_option(o, "verifier.ladder", "240p:426x240:400:64"));
  CHECK(o.verifier.ladder == "240p:426x240:400:64");
  auto refused = [&](const char* key, const char* value, const std::string& says) {
    auto before = o.verifier.sample_rate_ppm;
    auto st = runtime::set_role_option(o, key, value);
    INFO(key << "=" << value);
    REQUIRE_FALSE(st);
    CHECK(st.err().message.rfind(key, 0) == 0); // names the key
    CHECK(st.err().message.find(says) != std::string::npos);
    CHECK(o.verifier.sample_rate_ppm == before); // nothing changed
  };
  refused("verifier.sample-rate-ppm", "1000001", "is not in 0..1000000");
  refused("verifier.sample-rate-ppm", "5%", "expects an unsigned integer");
  refused("verifier.sample-rate-ppm", "-1", "expects an unsigned integer");
  refused("verifier.cpu", "neon", "is not avx2 or sse2");
  refused("builder.withhold", "yes", "expects true or false");
  refused("verifier.no-such-key", "1", "not a role option");
  refused("storage.acks", "3", "exceeds storage.replicas");
  o.execution.workers = 0;
  auto problems = runtime::check_role_options(o);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0] == "execution.workers: 0 is not in 1..64");
}
