#pragma once
/// @file
/// A node's validated configuration as a plain struct (no CAF include). `node_config`
/// (node_config.hpp) fills it from the INI file and the command line; the checks that need
/// no I/O live here so they are tested directly.

#include "poe/core/error.hpp"
#include "poe/core/types.hpp"
#include "poe/runtime/role_options.hpp"
#include "poe/runtime/supervisor_state.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace poe::runtime {

/// "host:port", parsed.
struct endpoint {
  std::string host;
  std::uint16_t port = 0;
  std::string text() const { return host + ":" + std::to_string(port); }
};

/// Parses "host:port" (host: a name or an IPv4 address; port 1..65535, or 0 when
/// `allow_zero`). The error says what is wrong.
result<endpoint> parse_endpoint(std::string_view text, bool allow_zero = false);

struct tls_settings {
  std::string certificate; ///< PEM certificate of this node (issued by the cluster CA)
  std::string ca_file;     ///< PEM certificate of the cluster CA
};

struct net_settings {
  duration heartbeat_interval = std::chrono::seconds(1);
  duration connection_timeout = std::chrono::seconds(3);
  duration connect_timeout = std::chrono::seconds(5);
  duration reconnect_initial = std::chrono::milliseconds(200);
  duration reconnect_max = std::chrono::seconds(5);
  duration handshake_timeout = std::chrono::seconds(5);
};

struct node_settings {
  std::string name;               ///< operator-chosen label used in logs
  std::vector<std::string> roles; ///< role names to run, in start order
  std::string data_dir;
  std::string key_file;
  std::string chain_id = "poe-devnet";
  std::string listen = "127.0.0.1";
  std::uint16_t port = 0; ///< 0: do not publish (a client-only node)
  std::vector<endpoint> peers;
  std::vector<node_id> allowed_peers;
  bool insecure_plaintext = false;
  tls_settings tls;
  restart_policy supervisor;
  std::string metrics_address; ///< "host:port" or empty (no endpoint)
  std::string log_level = "info";
  std::size_t threads = 0; ///< CAF scheduler threads (0: CAF's default, one per core)
  bool store_sync = false;
  std::size_t store_min_free_mib = 64; ///< writes refused below this much free disk
  net_settings net;
  /// Options of the roles, typed (role_options.hpp).
  runtime::role_options options;
};

/// Log levels accepted by `log.level`.
const std::vector<std::string>& log_levels();

/// Checks that need no I/O: roles known and unique, the log level, TLS files named unless
/// plaintext, positive supervisor numbers, timeouts in order. Every problem found is listed,
/// one per line, naming its key.
status check_settings(const node_settings& s, const std::vector<std::string>& known_roles);

} // namespace poe::runtime
