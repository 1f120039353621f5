#pragma once
// What the networked benchmarks (transport, chain, storage, notary, channel) share: starting a
// process with its output in a log, a client actor system set up like every poe process,
// reaching a role of a running node through its published directory, a node's metrics and a
// process's CPU time.

#include "poe/chain/transaction.hpp"
#include "poe/core/client_request.hpp"
#include "poe/runtime/basp_binder.hpp"
#include "poe/runtime/messages.hpp"
#include "poe/wire/codec.hpp"

#include <caf/all.hpp>
#include <httplib.h>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

// The binding of CAF node ids to TLS certificates (runtime/node/tls_bind.cpp, linked into
// poe-bench through poe_tls_fix): weak, as in poe-node.
extern "C" void poe_tls_bind_configure(void (*on_refuse)(int)) __attribute__((weak));

namespace poe::bench {

/// Starts argv[0] (a path) with stdout and stderr going to `log`; returns its PID.
inline pid_t spawn(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = ::fork();
  if (pid == 0) {
    auto* f = std::freopen(log.c_str(), "w", stdout);
    (void)f;
    ::dup2(1, 2);
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

/// Mutual TLS with the files tools/poe-ca and poe-keygen lay out: dir/who/node.{crt,key} and
/// dir/ca/ca.crt.
inline void tls_settings(caf::actor_system_config& cfg, const std::filesystem::path& dir,
                         const std::string& who) {
  cfg.set("openssl.certificate", (dir / who / "node.crt").string());
  cfg.set("openssl.key", (dir / who / "node.key").string());
  cfg.set("openssl.cafile", (dir / "ca" / "ca.crt").string());
}

/// A client system like every poe process: poe's messages, a quiet logger, heartbeats (so the
/// nodes' connection timeout never fires on a client that is busy sending) and poe-node's
/// brief worker polling (so roles run in it as in a node); TLS as `tls_settings(dir, who)`.
inline void client_settings(caf::actor_system_config& cfg, const std::filesystem::path& dir,
                            const std::string& who) {
  runtime::register_messages(cfg);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::seconds(1)});
  cfg.set("work-stealing.aggressive-poll-attempts", std::size_t{10});
  cfg.set("work-stealing.moderate-poll-attempts", std::size_t{10});
  cfg.load<caf::io::middleman>();
  tls_settings(cfg, dir, who);
  cfg.load<caf::openssl::manager>();
  // A session this client refuses (a frame naming a node another certificate holds) is said,
  // not lost in silence: the requests it carried then time out.
  if (poe_tls_bind_configure)
    poe_tls_bind_configure([](int reason) {
      auto r = static_cast<runtime::basp_refusal>(reason);
      std::fprintf(stderr, "poe-bench: closed a connection: %s (%s)\n", runtime::describe(r), runtime::label(r));
    });
}

/// The actor a node publishes at 127.0.0.1:port (its directory, or a bare anchor server).
/// Throws std::runtime_error when it cannot be reached.
inline caf::actor connect_to(caf::scoped_actor& self, std::uint16_t port, bool tls,
                             std::chrono::seconds limit = std::chrono::seconds(10)) {
  auto& sys = self->home_system();
  auto mm = tls ? sys.openssl_manager().actor_handle() : sys.middleman().actor_handle();
  caf::actor out;
  self->request(mm, limit, caf::connect_atom::value, std::string("127.0.0.1"), port)
    .receive([&](const caf::node_id&, caf::strong_actor_ptr& p,
                 const std::set<std::string>&) { out = caf::actor_cast<caf::actor>(p); },
             [&](caf::error& e) {
               throw std::runtime_error("connect to port " + std::to_string(port) + ": " +
                                        sys.render(e));
             });
  if (!out) throw std::runtime_error("port " + std::to_string(port) + " published no actor");
  return out;
}

/// The directories of every node at 127.0.0.1:`ports`, connected to all before anything is
/// asked of any. A client holding sessions with several nodes must not learn one node's actors
/// through another first: CAF then routes to it through that node (and that node's replies back
/// through it) until its own session is up, and every poe process closes a session that relays a
/// routed frame in the name of a node holding a session of its own there (protocol.md,
/// "Connections and identity"): the requests it carried are lost. Seen as `poe-bench chain`
/// timing out in about one run in ten.
inline std::vector<caf::actor> connect_all(caf::scoped_actor& self, const std::vector<std::uint16_t>& ports,
                                           bool tls, std::chrono::seconds limit = std::chrono::seconds(10)) {
  std::vector<caf::actor> out;
  for (auto port : ports) out.push_back(connect_to(self, port, tls, limit));
  return out;
}

/// The first member of `role` the directory `dir` lists. Throws when there is none.
inline caf::actor find_role(caf::scoped_actor& self, const caf::actor& dir,
                            const std::string& role,
                            std::chrono::seconds limit = std::chrono::seconds(10)) {
  caf::actor out;
  self->request(dir, limit, runtime::lookup_atom::value, role)
    .receive([&](std::vector<runtime::role_entry>& xs) { if (!xs.empty()) out = xs.front().handle; },
             [&](caf::error& e) {
               throw std::runtime_error("lookup " + role + ": " + self->home_system().render(e));
             });
  if (!out) throw std::runtime_error("the node runs no " + role + " role");
  return out;
}

/// A signed client request (poe/core/client_request.hpp) for `op` on `subject`, with a fresh
/// nonce from `role` (asked with `nonce_atom`), signed by dir/who/node.key: what a client no
/// cluster connection proves appends to a job or storage request. Throws on failure.
template <class NonceAtom>
std::vector<std::uint8_t> sign_request(caf::scoped_actor& self, const caf::actor& role, NonceAtom nonce_atom,
                                       const std::filesystem::path& dir, const std::string& who,
                                       request_op op, const std::string& subject,
                                       std::chrono::seconds limit = std::chrono::seconds(10)) {
  auto key = private_key::load(dir / who / "node.key");
  if (!key) throw std::runtime_error("signing key: " + key.err().message);
  std::vector<std::uint8_t> out;
  self->request(role, limit, nonce_atom)
    .receive([&](const std::string& chain, const std::vector<std::uint8_t>& raw) {
               if (raw.size() != 32) throw std::runtime_error("the node's nonce is not 32 bytes");
               hash256 n;
               std::copy(raw.begin(), raw.end(), n.data.begin());
               auto env = wire::encode(poe::sign_request(*key, chain, op, subject, n));
               out.assign(env.begin(), env.end());
             },
             [&](caf::error& e) { throw std::runtime_error("nonce: " + self->home_system().render(e)); });
  return out;
}

/// A node's metrics (GET 127.0.0.1:port/metrics) as name{labels} → value.
inline std::map<std::string, double> scrape(std::uint16_t port) {
  std::map<std::string, double> out;
  httplib::Client client{"127.0.0.1", port};
  auto res = client.Get("/metrics");
  if (!res || res->status != 200) return out;
  std::istringstream in(res->body);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    try {
      out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
    } catch (...) {
    }
  }
  return out;
}

/// CPU seconds (user + system) process `pid` has used so far, or -1.
inline double cpu_seconds(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')'); // the command name may hold spaces
  if (close == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i)
    if (i == 14 || i == 15) ticks += std::stod(f);
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

/// Memory of a process in MiB from /proc/PID/status: resident (VmRSS), its peak (VmHWM) and
/// the resident part that is the process's own (RssAnon: heaps, stacks), not mapped files
/// (RssFile: the code of the libraries it has run, shared with every process using them).
struct memory_mib {
  double rss = -1, hwm = -1, anon = -1, file = -1;
};
inline memory_mib memory_of(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/status");
  memory_mib m;
  for (std::string line; std::getline(in, line);) {
    auto kib = [&] { return std::stod(line.substr(line.find(':') + 1)) / 1024.0; };
    if (line.rfind("VmRSS:", 0) == 0) m.rss = kib();
    if (line.rfind("VmHWM:", 0) == 0) m.hwm = kib();
    if (line.rfind("RssAnon:", 0) == 0) m.anon = kib();
    if (line.rfind("RssFile:", 0) == 0) m.file = kib();
  }
  return m;
}

/// The pid devnet recorded for dir/node (DIR/node-i/pid), or "".
inline std::string node_pid(const std::filesystem::path& dir, const std::string& node) {
  std::ifstream in(dir / node / "pid");
  std::string pid;
  in >> pid;
  return pid;
}

/// Bonds 1,000,000 units of each of `roles` for dir/node (signed with its node key) through
/// `validator`, waiting until each stake is committed. Throws on failure.
inline void stake_node(caf::scoped_actor& self, const caf::actor& validator,
                       const std::filesystem::path& dir, const std::string& node,
                       const std::vector<chain::stake_role>& roles, std::chrono::seconds limit) {
  auto key = private_key::load(dir / node / "node.key");
  if (!key) throw std::runtime_error(key.err().message);
  // Reads and resubmissions are idempotent: a request lost with a connection between two
  // nodes (the client's route may pass through another node; poe-node closes a connection that
  // forwards a client's frames while the client holds a connection of its own, protocol.md
  // "Connections and identity") is asked again, up to 6 times 5 s.
  auto ask = [&](const char* what, auto&& send_and_receive) {
    for (int attempt = 1;; ++attempt) {
      caf::error failed;
      send_and_receive(failed);
      if (!failed) return;
      if (attempt == 6 || failed != caf::sec::request_timeout)
        throw std::runtime_error(std::string(what) + ": " + self->home_system().render(failed));
    }
  };
  auto account = [&] {
    runtime::account_view a;
    ask("account", [&](caf::error& failed) {
      self->request(validator, std::chrono::seconds(5), runtime::account_atom::value, key->id().hex())
        .receive([&](runtime::account_view& x) { a = std::move(x); }, [&](caf::error& e) { failed = e; });
    });
    return a;
  };
  for (auto role : roles) {
    chain::transaction tx;
    tx.chain_id = "poe-devnet";
    tx.nonce = account().nonce;
    tx.body = chain::stake{role, amount{1'000'000}};
    chain::sign(tx, *key);
    auto wire = chain::encode(tx);
    ask("stake transaction", [&](caf::error& failed) {
      self->request(validator, std::chrono::seconds(5), runtime::tx_atom::value, wire)
        .receive([](runtime::submit_reply&) {}, [&](caf::error& e) { failed = e; });
    });
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (account().stake_of(role) == 0) {
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error(std::string(chain::to_string(role)) + " stake not committed");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

/// Runs a shell command; its standard output (standard error passes through), "" on failure.
inline std::string run_out(const std::string& cmd) {
  std::string out;
  if (auto* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    if (::pclose(p) != 0) return "";
  }
  return out;
}

} // namespace poe::bench
