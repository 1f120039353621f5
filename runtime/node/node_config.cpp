#include "poe/runtime/node_config.hpp"

#include <caf/config_option_adder.hpp>
#include <caf/config_value.hpp>
#include <caf/settings.hpp>

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

namespace poe::runtime {

namespace {

caf::timespan span(duration d) { return caf::timespan{d.count()}; }
duration dur(caf::timespan t) { return duration{t.count()}; }
std::string str(caf::string_view v) { return std::string(v.begin(), v.end()); }

} // namespace

node_config::node_config() {
  auto& s = settings_;
  window_ = span(s.supervisor.window);
  backoff_initial_ = span(s.supervisor.backoff_initial);
  backoff_max_ = span(s.supervisor.backoff_max);
  heartbeat_ = span(s.net.heartbeat_interval);
  conn_timeout_ = span(s.net.connection_timeout);
  connect_timeout_ = span(s.net.connect_timeout);
  reconnect_initial_ = span(s.net.reconnect_initial);
  reconnect_max_ = span(s.net.reconnect_max);
  handshake_timeout_ = span(s.net.handshake_timeout);
  max_restarts_ = s.supervisor.max_restarts;

  caf::config_option_adder{custom_options_, "node"}
    .add(s.name, "name", "label of this node in logs (default: the key file's node id prefix)")
    .add(s.roles, "roles", "roles to run, in start order, e.g. [\"validator\", \"storage\"]")
    .add(s.data_dir, "data-dir", "directory of the node's RocksDB store (created if missing)")
    .add(s.key_file, "key-file", "PEM private key of the node (poe-keygen); its id names the node")
    .add(s.chain_id, "chain-id", "chain id; peers on another chain are refused")
    .add(s.listen, "listen", "address the directory is published on")
    .add(s.port, "port", "port the directory is published on (0: do not accept peers)")
    .add(peers_, "peers", "peers to dial, [\"host:port\", ...]")
    .add(allowed_, "allowed-peers", "node ids (hex) accepted as peers, [\"3fa9...\", ...]")
    .add(s.threads, "threads",
         "actor scheduler threads (0: one per core; 1 suits several nodes sharing a small host)")
    .add(s.insecure_plaintext, "insecure-plaintext",
         "DEVELOPMENT ONLY: plain TCP without TLS (a warning is logged)");
  caf::config_option_adder{custom_options_, "tls"}
    .add(s.tls.certificate, "certificate", "PEM certificate of the node key, issued by the CA")
    .add(s.tls.ca_file, "ca-file", "PEM certificate of the cluster CA (tools/poe-ca)");
  caf::config_option_adder{custom_options_, "supervisor"}
    .add(strategy_, "strategy", "\"one-for-one\" or \"one-for-all\"")
    .add(max_restarts_, "max-restarts", "restarts allowed within supervisor.window")
    .add(window_, "window", "sliding window of the restart limit, e.g. 30s")
    .add(backoff_initial_, "backoff-initial", "delay before the first restart, e.g. 100ms")
    .add(backoff_max_, "backoff-max", "cap of the doubling restart delay, e.g. 5s");
  caf::config_option_adder{custom_options_, "metrics"}.add(
    s.metrics_address, "address", "Prometheus endpoint \"host:port\" (empty: none)");
  caf::config_option_adder{custom_options_, "log"}.add(s.log_level, "level",
                                             "trace, debug, info, warn, error or off");
  caf::config_option_adder{custom_options_, "store"}
    .add(s.store_sync, "sync", "fsync every write (slower, survives power loss)")
    .add(s.store_min_free_mib, "min-free-mib",
         "refuse writes while the disk has less free (MiB; 0: never)");
  caf::config_option_adder{custom_options_, "net"}
    .add(heartbeat_, "heartbeat-interval", "peer heartbeat period (also CAF's), e.g. 1s")
    .add(conn_timeout_, "connection-timeout", "a peer silent this long is dropped, e.g. 3s")
    .add(connect_timeout_, "connect-timeout", "limit of one dial, e.g. 5s")
    .add(reconnect_initial_, "reconnect-initial", "first redial delay, e.g. 200ms")
    .add(reconnect_max_, "reconnect-max", "cap of the doubling redial delay, e.g. 5s")
    .add(handshake_timeout_, "handshake-timeout", "limit of the identity handshake, e.g. 5s");
  caf::config_option_adder{custom_options_, "validator"}
    .add(s.options.validator.genesis, "genesis", "genesis JSON file of the chain (validators, balances, ...)")
    .add(s.options.validator.censor, "censor",
         "fault drill: propose blocks without PoE headers (honest validators complain; slashed)");
  caf::config_option_adder{custom_options_, "storage"}
    .add(s.options.storage.replicas, "replicas", "copies of every chunk on distinct storage nodes (1..16)")
    .add(s.options.storage.acks, "acks", "stored copies a put waits for (1..replicas; 0: all replicas)")
    .add(s.options.storage.max_object_mib, "max-object-mib", "largest file accepted, in MiB (1..1048576)")
    .add(s.options.storage.challenge_interval_ms, "challenge-interval-ms",
         "how often this node challenges a peer for a chunk, in ms (0: never)");
  caf::config_option_adder{custom_options_, "execution"}
    .add(s.options.execution.workers, "workers", "worker threads running tasks; the capacity it registers (1..64)")
    .add(s.options.execution.max_pending, "max-pending",
         "tasks held at once (queued, running, fetching inputs); beyond, refused as queue_full (1..10000000)");
  caf::config_option_adder{custom_options_, "verifier"}
    .add(s.options.verifier.sample_rate_ppm, "sample-rate-ppm", "share of results re-executed, ppm (0..1000000)")
    .add(s.options.verifier.task_timeout_ms, "task-timeout-ms", "an executor's time for a task, ms (>= 1000)")
    .add(s.options.verifier.segment_ms, "segment-ms", "minimum segment length, ms (500..600000)")
    .add(s.options.verifier.ladder, "ladder", "default, or NAME:WxH:VKBPS:AKBPS,...")
    .add(s.options.verifier.preset, "preset", "x264 preset pinned in every task")
    .add(s.options.verifier.threads, "threads", "encoder threads pinned in every task (1..16)")
    .add(s.options.verifier.cpu, "cpu", "SIMD level pinned in every task: avx2 or sse2")
    .add(s.options.verifier.gop, "gop", "keyframe interval in frames pinned in every task (1..600)")
    .add(s.options.verifier.audio_rate, "audio-rate", "AAC sample rate pinned in every task")
    .add(s.options.verifier.check_threads, "check-threads",
         "threads probing, splitting and checking outputs and verifying answers (1..16)")
    .add(s.options.verifier.max_held_tasks, "max-held-tasks",
         "tasks kept in memory for job status; the oldest finished jobs go beyond (100..10000000)");
  caf::config_option_adder{custom_options_, "builder"}
    .add(s.options.builder.max_receipts, "max-receipts", "receipts per LogBlock at most (1..100000)")
    .add(s.options.builder.max_age_ms, "max-age-ms", "a LogBlock is cut when its oldest receipt is this old, ms")
    .add(s.options.builder.priority, "priority", "rent paid above the quote for each header (inclusion priority)")
    .add(s.options.builder.bid_base, "bid-base", "auto-bid: base value of a bid")
    .add(s.options.builder.bid_per_header, "bid-per-header", "auto-bid: added per header in the bundle")
    .add(s.options.builder.bid_share_ppm, "bid-share-ppm", "auto-bid: share of the bundle's rent added, ppm")
    .add(s.options.builder.withhold, "withhold", "fault drill: win auctions and never reveal the bundle");
  caf::config_option_adder{custom_options_, "gateway"}
    .add(s.options.gateway.listen, "listen", "IPv4 host:port of the HTTP server (HLS playlists and segments)")
    .add(s.options.gateway.threads, "threads", "HTTP worker threads (1..256; a connection holds one while a request is in flight or it waits for the next)")
    .add(s.options.gateway.keep_alive_s, "keep-alive-s", "an idle keep-alive connection is closed after this many seconds (0..60; 0: about 10 ms)")
    .add(s.options.gateway.cache_mb, "cache-mb", "playlists and CID-checked segments kept in memory, MiB (1..65536)")
    .add(s.options.gateway.credit_seconds, "credit-seconds", "paid content served this many seconds ahead of what a lane paid (0..600)")
    .add(s.options.gateway.session_idle_s, "session-idle-s", "a playback session idle this long has ended: its final receipt is made (1..3600)")
    .add(s.options.gateway.receipt_every_s, "receipt-every-s", "a long playback session gets an interim receipt this often, s (10..86400)")
    .add(s.options.gateway.web_dir, "web-dir", "directory of the player page's files (default: the build's web/)");
  caf::config_option_adder{custom_options_, "probe"}.add<bool>(
    "crash-on-start", "fault drill: the probe role throws at start (tests the supervisor)");
}

node_config::outcome node_config::failed(std::string text) {
  error_ = std::move(text);
  return outcome::error;
}

std::string node_config::origin(const std::string& key) const {
  if (cli_keys_.count(key)) return "command line";
  if (file_keys_.count(key)) return "'" + file_ + "'";
  return "default";
}

status node_config::check_file(const caf::settings& content, const std::string& path) {
  std::vector<std::string> problems;
  // Walks [group] sections (possibly nested, e.g. middleman.* ) down to the leaves.
  std::function<void(const caf::settings&, const std::string&)> walk =
    [&](const caf::settings& dict, const std::string& prefix) {
      for (auto& [key, value] : dict) {
        auto name = prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
        if (caf::holds_alternative<caf::settings>(value)) {
          walk(caf::get<caf::settings>(value), name);
          continue;
        }
        auto lookup = prefix.empty() ? "global." + name : name;
        auto opt = custom_options_.qualified_name_lookup(lookup);
        if (!opt) {
          problems.push_back("unknown key '" + name + "' (see poe-node --help for every key)");
          continue;
        }
        file_keys_.insert(name);
        if (auto err = opt->check(value))
          problems.push_back("key '" + name + "' expects " + str(opt->type_name()) +
                             ", got " + caf::to_string(value));
      }
    };
  walk(content, "");
  if (problems.empty()) return {};
  std::string text;
  for (auto& p : problems)
    text += (text.empty() ? "" : "\n") + ("config file '" + path + "': " + p);
  return fail(errc::invalid_argument, text);
}

status node_config::check_cli(const std::vector<std::string>& args) {
  std::vector<std::string> problems;
  for (auto& arg : args) {
    if (arg.rfind("--", 0) != 0) {
      problems.push_back("command line: unexpected argument '" + arg +
                         "' (options look like --node.port=7100)");
      continue;
    }
    auto eq = arg.find('=');
    auto name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    auto opt = custom_options_.cli_long_name_lookup(name);
    if (!opt) opt = custom_options_.qualified_name_lookup(name);
    if (!opt) {
      problems.push_back("command line: unknown option '--" + name + "' (see --help)");
      continue;
    }
    cli_keys_.insert(str(opt->full_name()));
    if (eq == std::string::npos) {
      if (!opt->is_flag())
        problems.push_back("command line: '--" + name + "' needs a value (--" + name +
                           "=<" + str(opt->type_name()) + ">)");
      continue;
    }
    auto value = arg.substr(eq + 1);
    if (opt->is_flag()) {
      if (value != "true" && value != "false")
        problems.push_back("command line: '--" + name + "' expects true or false, got '" +
                           value + "'");
      continue;
    }
    if (value.empty()) {
      problems.push_back("command line: '--" + name + "=' has no value (--" + name + "=<" +
                         str(opt->type_name()) + ">; to reset it, leave the option out)");
      continue;
    }
    // Strings may be given bare on the command line; everything else must parse.
    if (opt->type_name() == "std::string" || opt->type_name() == "string") continue;
    auto parsed = opt->parse(value);
    if (!parsed)
      problems.push_back("command line: '--" + name + "' expects " +
                         str(opt->type_name()) + ", got '" + value + "'");
  }
  if (problems.empty()) return {};
  std::string text;
  for (auto& p : problems)
    text += (text.empty() ? "" : "\n") + p;
  return fail(errc::invalid_argument, text);
}

node_config::outcome node_config::load(std::vector<std::string> args,
                                       const std::vector<std::string>& known_roles) {
  std::vector<std::string> rest;
  for (auto& a : args) {
    if (a == "--help" || a == "-h" || a == "-?" || a == "--long-help") return outcome::help;
    if (a.rfind("--config-file=", 0) == 0) file_ = a.substr(14);
    else if (a == "--check-config") check_only_ = true;
    else rest.push_back(a);
  }
  if (auto st = check_cli(rest); !st) return failed(st.err().message);
  // CAF takes booleans on the command line only as bare flags; poe also accepts
  // --key=true / --key=false and applies them after parsing (overriding the file).
  std::vector<std::pair<std::string, bool>> bool_overrides;
  for (auto i = rest.begin(); i != rest.end();) {
    auto eq = i->find('=');
    auto opt = eq == std::string::npos ? nullptr
                                       : custom_options_.qualified_name_lookup(i->substr(2, eq - 2));
    if (opt && opt->is_flag()) {
      bool_overrides.emplace_back(i->substr(2, eq - 2), i->substr(eq + 1) == "true");
      i = rest.erase(i);
    } else {
      ++i;
    }
  }
  std::stringstream ini;
  if (!file_.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file_, ec))
      return failed("config file '" + file_ + "' does not exist or is not a regular file");
    auto content = caf::actor_system_config::parse_config_file(file_.c_str());
    if (!content)
      return failed("config file '" + file_ + "': " + render(content.error()) +
                    " (strings need double quotes, lists look like [\"a\", \"b\"])");
    if (auto st = check_file(*content, file_); !st) return failed(st.err().message);
    std::ifstream in(file_);
    ini << in.rdbuf();
  }
  // Everything was checked above; CAF now stores the values into the bound fields.
  if (auto err = parse(rest, ini))
    return failed("configuration: " + render(err));
  for (auto& [key, value] : bool_overrides)
    set(key, value);

  auto& s = settings_;
  s.peers.clear();
  s.allowed_peers.clear();
  std::vector<std::string> problems;
  auto problem = [&](const std::string& key, const std::string& what) {
    problems.push_back(key + " (set in " + origin(key) + "): " + what);
  };
  for (auto& p : peers_) {
    auto ep = parse_endpoint(p);
    if (ep) s.peers.push_back(*ep);
    else problem("node.peers", ep.err().message);
  }
  for (auto& a : allowed_) {
    auto id = node_id::from_hex(a);
    if (id) s.allowed_peers.push_back(*id);
    else problem("node.allowed-peers", "'" + a + "' is not a node id: " + id.err().message);
  }
  if (!parse_restart_strategy(strategy_, s.supervisor.strategy))
    problem("supervisor.strategy", "'" + strategy_ + "' is not one-for-one or one-for-all");
  s.supervisor.max_restarts = static_cast<std::uint32_t>(max_restarts_);
  s.supervisor.window = dur(window_);
  s.supervisor.backoff_initial = dur(backoff_initial_);
  s.supervisor.backoff_max = dur(backoff_max_);
  s.net.heartbeat_interval = dur(heartbeat_);
  s.net.connection_timeout = dur(conn_timeout_);
  s.net.connect_timeout = dur(connect_timeout_);
  s.net.reconnect_initial = dur(reconnect_initial_);
  s.net.reconnect_max = dur(reconnect_max_);
  s.net.handshake_timeout = dur(handshake_timeout_);
  if (s.threads > 64) problem("node.threads", std::to_string(s.threads) + " is not in 0..64");
  // The roles' options were bound to their typed fields; their ranges are checked once, here.
  for (auto& p : check_role_options(s.options)) {
    auto colon = p.find(':');
    problem(p.substr(0, colon), p.substr(colon + 2));
  }
  if (auto st = check_settings(s, known_roles); !st) {
    std::istringstream lines(st.err().message);
    for (std::string line; std::getline(lines, line);) {
      // check_settings names the key first: "'node.roles': ..."
      auto end = line.find("':");
      auto key = line.substr(1, end - 1);
      problem(key, line.substr(end + 3));
    }
  }
  if (!problems.empty()) {
    std::string text;
    for (auto& p : problems)
      text += (text.empty() ? "" : "\n") + p;
    return failed(text);
  }
  return outcome::run;
}

std::string node_config::help_text() const {
  std::ostringstream out;
  out << "usage: poe-node --config-file=configs/<profile>.ini [--group.key=value ...] [--check-config]\n\n"
         "--check-config validates the configuration as a start would (settings, roles, key, TLS\n"
         "files, the validator's genesis) and exits: 0 when it is sound, 2 with the problems.\n\n"
         "Every key can be set in the INI file ([group] key=value) or on the command line\n"
         "(--group.key=value; lists as --node.roles='[\"probe\"]'). Unknown keys and values\n"
         "of the wrong type are errors. See docs/operations.md.\n";
  std::string group;
  std::vector<const caf::config_option*> opts;
  for (auto& o : custom_options_)
    opts.push_back(&o);
  auto is_poe = [](caf::string_view c) {
    for (auto g : {"node", "tls", "supervisor", "metrics", "log", "store", "net", "validator",
                   "execution", "verifier", "builder", "gateway",
                   "storage", "probe"})
      if (c == g) return true;
    return false;
  };
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) out << "\nCAF options (advanced; middleman.* and openssl.* are set by poe):\n";
    for (auto* o : opts) {
      if (is_poe(o->category()) != (pass == 0)) continue;
      if (str(o->category()) != group) {
        group = str(o->category());
        out << "\n[" << group << "]\n";
      }
      std::string name = "--" + str(o->full_name()) + "=<" +
                         str(o->type_name()) + ">";
      out << "  " << name;
      if (name.size() < 44) out << std::string(44 - name.size(), ' ');
      else out << "\n  " << std::string(44, ' ');
      out << str(o->description()) << "\n";
    }
  }
  return out.str();
}

} // namespace poe::runtime
