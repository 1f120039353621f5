#pragma once
/// @file
/// poe-node's configuration: CAF's `actor_system_config` with poe's option groups. Because
/// CAF silently ignores unknown INI keys and mistyped values, `load` validates the whole
/// configuration (file and command line) itself and fails with a message naming the key,
/// where it was set and what was expected. docs/operations.md lists every key.

#include "poe/core/error.hpp"
#include "poe/runtime/settings.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/timespan.hpp>

#include <set>
#include <string>
#include <vector>

namespace poe::runtime {

class node_config : public caf::actor_system_config {
public:
  node_config();

  enum class outcome { run, help, error };

  /// Parses and validates `args` (argv without the program name) and the config file they
  /// name (`--config-file=PATH`). On `run`, `settings()` is complete and CAF's own options
  /// (middleman, openssl) are set from it; on `help`, `help_text()` is ready; on `error`,
  /// `error_text()` says what is wrong, one problem per line.
  outcome load(std::vector<std::string> args, const std::vector<std::string>& known_roles);

  const node_settings& settings() const { return settings_; }
  /// `--check-config` was given: validate everything a start would, then exit.
  bool check_only() const { return check_only_; }
  const std::string& error_text() const { return error_; }
  /// Every poe option (and CAF's), grouped, with type and default.
  std::string help_text() const;
  /// "node.port (set in 'configs/x.ini')": a key and where its value came from, for messages.
  std::string where(const std::string& key) const { return key + " (set in " + origin(key) + ")"; }

private:
  outcome failed(std::string text);
  status check_file(const caf::settings& content, const std::string& path);
  status check_cli(const std::vector<std::string>& args);
  std::string origin(const std::string& key) const;

  node_settings settings_;
  bool check_only_ = false;
  std::string error_;
  std::string file_;
  std::set<std::string> cli_keys_;
  std::set<std::string> file_keys_;

  // Bound to CAF options; converted into settings_ after parsing.
  std::vector<std::string> peers_, allowed_;
  std::string strategy_ = "one-for-one";
  caf::timespan window_, backoff_initial_, backoff_max_;
  caf::timespan heartbeat_, conn_timeout_, connect_timeout_, reconnect_initial_,
    reconnect_max_, handshake_timeout_;
  std::size_t max_restarts_ = 5;
};

} // namespace poe::runtime
