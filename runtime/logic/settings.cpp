#include "poe/runtime/settings.hpp"

#include "poe/core/domain.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

namespace poe::runtime {

result<endpoint> parse_endpoint(std::string_view text, bool allow_zero) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return fail(errc::invalid_argument,
                "'" + std::string(text) + "' is not of the form host:port");
  endpoint out;
  out.host = std::string(text.substr(0, colon));
  auto port_text = text.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || value > 65535 ||
      (value == 0 && !allow_zero))
    return fail(errc::invalid_argument, "'" + std::string(text) + "': port '" +
                                            std::string(port_text) +
                                            "' is not a number in 1..65535");
  for (char c : out.host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_'))
      return fail(errc::invalid_argument,
                  "'" + std::string(text) + "': host '" + out.host + "' is not a valid name");
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

const std::vector<std::string>& log_levels() {
  static const std::vector<std::string> levels{"trace", "debug", "info", "warn", "error", "off"};
  return levels;
}

namespace {

std::string join(const std::vector<std::string>& xs) {
  std::string out;
  for (auto& x : xs) {
    if (!out.empty()) out += ", ";
    out += x;
  }
  return out;
}

} // namespace

status check_settings(const node_settings& s, const std::vector<std::string>& known_roles) {
  std::vector<std::string> problems;
  auto problem = [&](std::string key, std::string what) {
    problems.push_back("'" + key + "': " + what);
  };
  std::set<std::string> seen;
  for (auto& r : s.roles) {
    if (std::find(known_roles.begin(), known_roles.end(), r) == known_roles.end())
      problem("node.roles", "unknown role '" + r + "' (known roles: " + join(known_roles) + ")");
    else if (!seen.insert(r).second)
      problem("node.roles", "role '" + r + "' listed twice");
  }
  if (std::find(log_levels().begin(), log_levels().end(), s.log_level) == log_levels().end())
    problem("log.level", "'" + s.log_level + "' is not one of " + join(log_levels()));
  if (s.data_dir.empty()) problem("node.data-dir", "must be set (the node's RocksDB lives there)");
  if (s.key_file.empty()) problem("node.key-file", "must be set (make one with poe-keygen)");
  // The same rule as signing (domain_prefix throws on an invalid chain id), so a bad one is
  // refused here rather than when the first handshake signs.
  if (auto st = check_chain_id(s.chain_id); !st)
    problem("node.chain-id", "'" + s.chain_id + "': " + st.err().message);
  if (!s.insecure_plaintext) {
    if (s.tls.certificate.empty())
      problem("tls.certificate",
              "must be set unless node.insecure-plaintext=true (make one with tools/poe-ca)");
    if (s.tls.ca_file.empty())
      problem("tls.ca-file", "must be set unless node.insecure-plaintext=true");
  }
  if (s.supervisor.max_restarts == 0)
    problem("supervisor.max-restarts", "must be at least 1");
  if (s.supervisor.window <= duration::zero())
    problem("supervisor.window", "must be positive");
  for (auto [key, d] : {std::pair{"supervisor.backoff-initial", s.supervisor.backoff_initial},
                        std::pair{"net.reconnect-initial", s.net.reconnect_initial},
                        std::pair{"net.heartbeat-interval", s.net.heartbeat_interval},
                        std::pair{"net.connect-timeout", s.net.connect_timeout},
                        std::pair{"net.handshake-timeout", s.net.handshake_timeout}})
    if (d < duration::zero()) problem(key, "must not be negative");
  if (s.supervisor.backoff_initial > s.supervisor.backoff_max)
    problem("supervisor.backoff-initial", "must not exceed supervisor.backoff-max");
  if (s.net.reconnect_initial > s.net.reconnect_max)
    problem("net.reconnect-initial", "must not exceed net.reconnect-max");
  if (s.net.heartbeat_interval > duration::zero() &&
      s.net.connection_timeout <= s.net.heartbeat_interval)
    problem("net.connection-timeout", "must be longer than net.heartbeat-interval");
  if (!s.metrics_address.empty() && s.metrics_address != "off") {
    auto ep = parse_endpoint(s.metrics_address, true);
    if (!ep) problem("metrics.address", ep.err().message);
  }
  if (problems.empty()) return {};
  std::string text;
  for (auto& p : problems) {
    if (!text.empty()) text += "\n";
    text += p;
  }
  return fail(errc::invalid_argument, text);
}

} // namespace poe::runtime
