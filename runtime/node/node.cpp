// The node host: configuration → store → metrics → directory → supervisor → wait → shutdown.
#include "poe/runtime/node.hpp"

#include "poe/build_info.hpp"
#include "poe/chain/genesis.hpp"
#include "poe/core/keys.hpp"
#include "poe/runtime/basp_binder.hpp"
#include "poe/runtime/directory.hpp"
#include "poe/runtime/messages.hpp"
#include "poe/runtime/metrics.hpp"
#include "poe/runtime/node_config.hpp"
#include "poe/runtime/supervisor.hpp"
#include "poe/store/store.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>
#include <spdlog/spdlog.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>


namespace poe::runtime {

namespace {

/// Config errors: exit 2, every line prefixed so it stands out in a terminal or a log.
int config_error(const std::string& text) {
  std::istringstream lines(text);
  std::cerr << "poe-node: configuration error:\n";
  for (std::string line; std::getline(lines, line);)
    std::cerr << "  " << line << "\n";
  return 2;
}

/// Whether `host:port` can be bound now (the directory binds it a moment later).
status check_port_free(const std::string& host, std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return fail(errc::io_error, std::strerror(errno));
  // Like the directory's own socket: connections of a previous run in TIME_WAIT do not
  // count, a live listener does.
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  auto ip = host == "localhost" ? std::string("127.0.0.1") : host;
  if (::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) {
    ::close(fd);
    return fail(errc::invalid_argument, "'" + host + "' is not an IPv4 address");
  }
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int err = errno;
  ::close(fd);
  if (rc != 0)
    return fail(errc::io_error, "cannot bind " + host + ":" + std::to_string(port) + ": " +
                                  std::strerror(err) +
                                  (err == EADDRINUSE ? " (another process uses this port)" : ""));
  return {};
}

status check_readable(const std::string& key, const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return fail(errc::io_error, key + ": file '" + path + "' does not exist");
  if (::access(path.c_str(), R_OK) != 0)
    return fail(errc::io_error, key + ": file '" + path + "' is not readable");
  return {};
}

/// Loads the TLS files as the TLS layer will on the first connection, so that a file it cannot
/// use is a configuration error at start-up (exit 2), not an abort later: the certificate and
/// the CA certificate are PEM X.509, the certificate is for the node key (its public key is the
/// node's), it is signed by the CA and valid now.
status check_tls_files(const std::string& cert_key, const std::string& cert_path,
                       const std::string& ca_key, const std::string& ca_path,
                       const public_key& node_key) {
  auto load = [](const std::string& path) -> X509* {
    auto* f = std::fopen(path.c_str(), "r");
    if (!f) return nullptr;
    X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    return x;
  };
  std::unique_ptr<X509, decltype(&X509_free)> cert(load(cert_path), X509_free);
  if (!cert) return fail(errc::invalid_argument, cert_key + ": '" + cert_path + "' is not a PEM certificate");
  std::unique_ptr<X509, decltype(&X509_free)> ca(load(ca_path), X509_free);
  if (!ca) return fail(errc::invalid_argument, ca_key + ": '" + ca_path + "' is not a PEM certificate");
  auto* pub = X509_get0_pubkey(cert.get());
  unsigned char* der = nullptr;
  int n = pub ? i2d_PUBKEY(pub, &der) : -1;
  bool same = n > 0 && bytes(der, der + n) == node_key.der();
  OPENSSL_free(der);
  if (!same)
    return fail(errc::invalid_argument, cert_key + ": '" + cert_path +
                                            "' is not a certificate of the node key (node.key-file)");
  auto* ca_pub = X509_get0_pubkey(ca.get());
  if (!ca_pub || X509_verify(cert.get(), ca_pub) != 1)
    return fail(errc::invalid_argument, cert_key + ": '" + cert_path + "' is not signed by the CA in " +
                                            ca_key + " ('" + ca_path + "')");
  if (X509_cmp_current_time(X509_get0_notBefore(cert.get())) > 0 ||
      X509_cmp_current_time(X509_get0_notAfter(cert.get())) < 0)
    return fail(errc::invalid_argument, cert_key + ": '" + cert_path + "' is not valid now (expired or not yet valid)");
  return {};
}

connector make_connector(bool tls, duration timeout) {
  return [tls, timeout](caf::event_based_actor* self, const endpoint& ep,
                        std::function<void(caf::actor, caf::error)> done) {
    auto mm = tls ? self->system().openssl_manager().actor_handle()
                  : self->system().middleman().actor_handle();
    self->request(mm, caf::timespan{timeout.count()}, caf::connect_atom::value, ep.host, ep.port)
      .then(
        [done](const caf::node_id&, caf::strong_actor_ptr& p, const std::set<std::string>&) {
          done(caf::actor_cast<caf::actor>(p), caf::error{});
        },
        [done](caf::error& err) { done(nullptr, err); });
  };
}

/// Delivers SIGINT/SIGTERM as a message. The signals are blocked in every thread (before
/// CAF starts its threads) and taken here with sigwait, so no handler runs async code.
class signal_thread {
public:
  explicit signal_thread(caf::actor target) {
    thread_ = std::thread([target] {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGINT);
      sigaddset(&set, SIGTERM);
      sigaddset(&set, SIGUSR2);
      int sig = 0;
      while (sigwait(&set, &sig) == 0) {
        if (sig == SIGUSR2) return; // our own wake-up at teardown
        caf::anon_send(target, shutdown_atom::value, std::string(strsignal(sig)));
      }
    });
  }
  ~signal_thread() {
    pthread_kill(thread_.native_handle(), SIGUSR2);
    thread_.join();
  }

private:
  std::thread thread_;
};

/// Bounds the actor system's teardown. CAF 0.17's middleman joins its multiplexer thread,
/// which runs until every socket is closed — and a TLS handshake with a peer that accepted the
/// TCP connection but never answers (a hung, SIGSTOPped node) is never closed: the process
/// would hang after "all roles stopped". Everything durable is written before `arm()`, so when
/// the teardown outlasts `limit` the process exits with its status instead of hanging.
class teardown_watchdog {
public:
  teardown_watchdog(logger log, std::chrono::milliseconds limit) : log_(std::move(log)), limit_(limit) {}
  void arm(int rc) {
    thread_ = std::thread([this, rc] {
      std::unique_lock lock(m_);
      if (cv_.wait_for(lock, limit_, [this] { return done_; })) return;
      log_->warn("the network layer did not stop within {} ms (a peer hangs mid-handshake); "
                 "exiting now: the store is flushed",
                 limit_.count());
      log_->flush();
      std::_Exit(rc);
    });
  }
  ~teardown_watchdog() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard lock(m_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

private:
  logger log_;
  std::chrono::milliseconds limit_;
  std::mutex m_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

} // namespace

// The TLS guard's settings (tls_guard.cpp): weak, so binaries without the guard link too.
extern "C" void poe_tls_guard_configure(unsigned deadline_ms, unsigned per_address, unsigned total,
                                        int port, void (*on_refuse)(int)) __attribute__((weak));
// The binding of CAF node ids to TLS certificates (tls_bind.cpp): weak likewise.
extern "C" void poe_tls_bind_configure(void (*on_refuse)(int)) __attribute__((weak));
namespace {
constexpr unsigned tls_pending_per_address = 32; ///< handshakes in progress from one address
constexpr unsigned tls_pending_total = 512;      ///< handshakes in progress in all
metrics::node_metrics* tls_guard_metrics = nullptr;
spdlog::logger* tls_bind_log = nullptr; ///< where tls_bind.cpp's refusals are logged (set while the node runs)
} // namespace

namespace {
/// The node's housekeeping, every 10 s on a thread of its own:
/// - `poe_store_disk_free_bytes` and `poe_store_disk_size_bytes` of the file system holding
///   node.data-dir (alerts: disk reserve near);
/// - the store's memtables flushed once the node is idle (they held more than 1 MiB and did
///   not change over the last 10 s): what a job or a catch-up wrote would otherwise stay in
///   memory until more writes fill the memtable;
/// - memory given back: glibc keeps what the node freed (a job's buffers, a catch-up's blocks)
///   in its heaps and never returns the pages of a heap's middle on its own; malloc_trim(0)
///   returns every free page (a few ms for a heap of hundreds of MB), so an idle node goes
///   back to its idle size. `poe_process_resident_bytes` is the resident size after it.
class housekeeping {
public:
  housekeeping(metrics::factory& f, std::string dir, store::db* db)
    : db_(db), resident_(f.make_gauge("poe_process_resident_bytes",
                             "Resident memory of the node process (VmRSS), bytes, read every 10 s.")),
      free_(f.make_gauge("poe_store_disk_free_bytes",
                         "Bytes available to the node on the file system of node.data-dir.")),
      size_(f.make_gauge("poe_store_disk_size_bytes", "Size of the file system of node.data-dir, bytes.")),
      dir_(std::move(dir)), thread_([this] { run(); }) {}
  ~housekeeping() {
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  housekeeping(const housekeeping&) = delete;
  housekeeping& operator=(const housekeeping&) = delete;

private:
  void run() {
    std::unique_lock<std::mutex> lock(m_);
    while (!stop_) {
      std::error_code ec;
      auto space = std::filesystem::space(dir_, ec);
      if (!ec) {
        free_->set(static_cast<double>(space.available));
        size_->set(static_cast<double>(space.capacity));
      }
      if (db_) {
        auto held = db_->memtable_bytes();
        if (held > (1u << 20) && held == memtables_) {
          (void)db_->flush(); // a failure shows in the next write's status
          held = db_->memtable_bytes();
        }
        memtables_ = held;
      }
      malloc_trim(0);
      resident_->set(static_cast<double>(resident_bytes()));
      cv_.wait_for(lock, std::chrono::seconds(10), [this] { return stop_; });
    }
  }
  static std::uint64_t resident_bytes() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long pages = 0, resident = 0;
    auto n = std::fscanf(f, "%lu %lu", &pages, &resident);
    std::fclose(f);
    return n == 2 ? std::uint64_t{resident} * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)) : 0;
  }
  store::db* db_;
  std::uint64_t memtables_ = 0; // at the previous reading
  std::shared_ptr<metrics::gauge> resident_, free_, size_;
  std::string dir_;
  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_; // last: starts once the rest is ready
};
} // namespace

int run_node(std::vector<std::string> args, const role_registry& registry) {
  // Block the shutdown signals before any thread exists; signal_thread takes them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // At most 4 malloc arenas (glibc's default is 8 per core): the gateway's HTTP threads, the
  // offload workers and RocksDB's would otherwise each keep a heap of their own with its own
  // free memory. MALLOC_ARENA_MAX in the environment still decides.
  if (!std::getenv("MALLOC_ARENA_MAX")) mallopt(M_ARENA_MAX, 4);
  // Buffers of 256 KiB and more (chunks, segments, renditions, blocks) come from mmap and go
  // back to the kernel when freed. glibc's default threshold rises to the largest buffer freed
  // (up to 32 MiB), after which they are carved from the heaps between small long-lived objects
  // and their pages stay resident after a job (measured: poe-bench memory).
  if (!std::getenv("MALLOC_MMAP_THRESHOLD_")) mallopt(M_MMAP_THRESHOLD, 256 * 1024);

  node_config cfg;
  register_messages(cfg);
  switch (cfg.load(std::move(args), registry.names())) {
    case node_config::outcome::help:
      std::cout << cfg.help_text();
      return 0;
    case node_config::outcome::error:
      return config_error(cfg.error_text());
    case node_config::outcome::run:
      break;
  }
  auto s = std::make_shared<node_settings>(cfg.settings());

  // Roles known but not runnable in this build.
  std::vector<role_info> roles;
  for (auto& name : s->roles) {
    auto* info = registry.find(name);
    if (!info->body)
      return config_error(cfg.where("node.roles") + ": role '" + name + "' is " +
                          info->unavailable_why);
    roles.push_back(*info);
  }

  auto key_loaded = private_key::load(s->key_file);
  if (!key_loaded)
    return config_error(cfg.where("node.key-file") + ": " + key_loaded.err().message);
  auto key = std::make_shared<const private_key>(std::move(*key_loaded));
  auto id = key->id().hex();
  if (s->name.empty()) s->name = id.substr(0, 8);

  bool tls = !s->insecure_plaintext;
  if (tls) {
    for (auto& [k, path] : {std::pair{"tls.certificate", s->tls.certificate},
                            std::pair{"tls.ca-file", s->tls.ca_file}})
      if (auto st = check_readable(cfg.where(k), path); !st)
        return config_error(st.err().message);
    if (auto st = check_tls_files(cfg.where("tls.certificate"), s->tls.certificate,
                                  cfg.where("tls.ca-file"), s->tls.ca_file, key->pub());
        !st)
      return config_error(st.err().message);
    cfg.set("openssl.certificate", s->tls.certificate);
    cfg.set("openssl.key", s->key_file);
    cfg.set("openssl.cafile", s->tls.ca_file);
  }
  // A validator's genesis (read again by the role at start).
  if (std::find(s->roles.begin(), s->roles.end(), "validator") != s->roles.end())
    if (auto g = chain::load_genesis(s->options.validator.genesis); !g)
      return config_error(cfg.where("validator.genesis") + ": " + g.err().message);
  if (cfg.check_only()) { // ports are not checked: the node being checked may hold them now
    std::cout << "poe-node: configuration ok: node " << s->name << " (id " << id << "), roles [";
    for (std::size_t i = 0; i < s->roles.size(); ++i) std::cout << (i ? ", " : "") << s->roles[i];
    std::cout << "], " << (tls ? "TLS files match the key" : "plaintext") << ", listens on " << s->listen << ":"
              << s->port << ", metrics " << s->metrics_address << "\n";
    return 0;
  }
  if (s->port != 0)
    if (auto st = check_port_free(s->listen, s->port); !st)
      return config_error(cfg.where("node.port") + ": " + st.err().message);
  if (s->net.heartbeat_interval > duration::zero()) {
    cfg.set("middleman.heartbeat-interval", caf::timespan{s->net.heartbeat_interval.count()});
    cfg.set("middleman.connection-timeout", caf::timespan{s->net.connection_timeout.count()});
  }

  if (s->threads > 0) cfg.set("scheduler.max-threads", s->threads);
  auto log = make_node_logger(s->name, s->log_level);
  if (!tls)
    log->warn("node.insecure-plaintext is set: peers connect over plain TCP without TLS — "
              "development only");

  // Metrics first: a taken metrics port is a configuration error like a taken node port.
  metrics::registry registry_metrics;
  if (auto st = registry_metrics.serve(s->metrics_address); !st)
    return config_error(cfg.where("metrics.address") + ": " + st.err().message);
  metrics::node_metrics nm(registry_metrics, id, POE_VERSION, POE_GIT_REVISION);
  // The TLS guard (runtime/node/tls_guard.cpp, linked into poe-node): pending handshakes
  // capped per source address and in all, each bounded by net.handshake-timeout.
  if (tls && poe_tls_guard_configure) {
    tls_guard_metrics = &nm;
    poe_tls_guard_configure(static_cast<unsigned>(
                              std::chrono::duration_cast<std::chrono::milliseconds>(s->net.handshake_timeout).count()),
                            tls_pending_per_address, tls_pending_total, static_cast<int>(s->port),
                            [](int reason) {
                              static const char* names[] = {"", "tls_refused_per_address", "tls_refused_total",
                                                            "tls_handshake_timeout"};
                              if (tls_guard_metrics && reason >= 1 && reason <= 3)
                                tls_guard_metrics->connection_events(names[reason]).inc();
                            });
  }
  // Every BASP frame checked against its TLS session's certificate (tls_bind.cpp).
  if (tls && poe_tls_bind_configure) {
    tls_guard_metrics = &nm;
    tls_bind_log = log.get();
    poe_tls_bind_configure([](int reason) {
      if (reason < 1 || reason > 2) return;
      auto r = static_cast<runtime::basp_refusal>(reason);
      if (tls_guard_metrics) tls_guard_metrics->connection_events(runtime::label(r)).inc();
      if (tls_bind_log) tls_bind_log->warn("closed a peer's connection: {} ({})", runtime::describe(r), runtime::label(r));
    });
  }
  nm.start_time_seconds->set(static_cast<double>(
    std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch())
      .count()));

  std::vector<std::string> cfs{"node"};
  cfs.insert(cfs.end(), s->roles.begin(), s->roles.end());
  store::options sopts;
  sopts.sync = s->store_sync;
  sopts.min_free_bytes = static_cast<std::uint64_t>(s->store_min_free_mib) << 20;
  auto db = store::db::open(std::filesystem::path(s->data_dir) / "store", cfs, sopts);
  if (!db) {
    log->error("{}", db.err().message);
    std::cerr << "poe-node: " << db.err().message << "\n";
    return 1;
  }

  auto& base_cfg = static_cast<caf::actor_system_config&>(cfg); // load() is hidden
  base_cfg.load<caf::io::middleman>();
  if (tls) base_cfg.load<caf::openssl::manager>();
  // CAF's idle workers poll 600 times (500 of them with 50 µs sleeps) before they block. On a
  // shared or virtualized host that polling costs more CPU than the work itself (the chain
  // benchmark measured most of its cycles there); poll briefly, then block until work comes.
  base_cfg.set("work-stealing.aggressive-poll-attempts", std::size_t{10});
  base_cfg.set("work-stealing.moderate-poll-attempts", std::size_t{10});
  int rc = 0;
  {
    teardown_watchdog watchdog(log, std::chrono::seconds(3)); // outlives `sys` (declared first)
    caf::actor_system sys{cfg};
    caf::scoped_actor self{sys};

    peer_policy policy;
    policy.allowed.insert(s->allowed_peers.begin(), s->allowed_peers.end());
    policy.allow_any = !tls && s->allowed_peers.empty();
    if (policy.allow_any)
      log->warn("node.allowed-peers is empty and TLS is off: any node id is accepted");

    std::random_device rd;
    directory_args dargs;
    dargs.node_id = id;
    dargs.node_name = s->name;
    dargs.key = key;
    dargs.chain_id = s->chain_id;
    dargs.policy = policy;
    dargs.peers = s->peers;
    dargs.net = s->net;
    dargs.incarnation = (std::uint64_t{rd()} << 32) | rd();
    dargs.connect = make_connector(tls, s->net.connect_timeout);
    dargs.log = child_logger(log, s->name, "directory");
    dargs.metrics = &nm;
    auto peers = std::make_shared<peer_registry>(id);
    dargs.registry = peers;
    dargs.connection_of = caf_connection_key(sys);
    if (tls) dargs.transport = caf_tls_proof(sys);
    auto dir = spawn_directory(sys, std::move(dargs));

    if (s->port != 0) {
      auto published = tls ? caf::openssl::publish(dir, s->port, s->listen.c_str(), true)
                           : sys.middleman().publish(dir, s->port, s->listen.c_str(), true);
      if (!published) {
        std::cerr << "poe-node: cannot listen on " << s->listen << ":" << s->port << ": "
                  << sys.render(published.error()) << "\n";
        self->send_exit(dir, caf::exit_reason::user_shutdown);
        return 1;
      }
    }

    role_context base;
    base.node_name = s->name;
    base.node_id = id;
    base.chain_id = s->chain_id;
    base.key = key;
    base.directory = dir;
    base.peers = peers;
    base.connection_of = caf_connection_key(sys);
    base.metrics = &registry_metrics;
    base.store = &*db;
    base.settings = s;
    base.clock = role_clock{}; // the system clock
    base.seed = (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
    supervisor_args sargs{s->supervisor, roles, base, self, child_logger(log, s->name, "supervisor"),
                          &nm};
    auto sup = spawn_supervisor(sys, std::move(sargs));

    log->info("node {} ready: id {} chain {} {} {}:{} roles [{}] metrics {}", s->name, id,
              s->chain_id, tls ? "tls" : "plaintext", s->listen, s->port,
              [&] {
                std::string r;
                for (auto& x : s->roles)
                  r += (r.empty() ? "" : ",") + x;
                return r;
              }(),
              registry_metrics.port() == 0
                ? std::string("off")
                : "http://" + s->metrics_address.substr(0, s->metrics_address.rfind(':')) + ":" +
                    std::to_string(registry_metrics.port()) + "/metrics");

    housekeeping chores(registry_metrics, s->data_dir, &*db);
    signal_thread signals{caf::actor_cast<caf::actor>(self)};
    std::string failure;
    // The directory is the node's network presence: if it dies, the node stops too.
    self->monitor(dir);
    self->receive(
      [&](shutdown_atom, const std::string& signal) {
        log->info("{}: shutting down", signal);
      },
      [&](failed_atom, const std::string& reason) { failure = reason; },
      [&](caf::down_msg& dm) {
        failure = "the directory exited: " + describe_exit(sys, dm.reason);
        log->error("{}", failure);
      });
    if (failure.empty()) {
      self->request(sup, std::chrono::seconds(30), shutdown_atom::value)
        .receive([&](shutdown_atom) { log->info("all roles stopped"); },
                 [&](caf::error& err) {
                   log->error("roles did not stop in time: {}", sys.render(err));
                   rc = 1;
                 });
    } else {
      std::cerr << "poe-node: stopping: " << failure << "\n";
      rc = 1;
    }
    self->send_exit(sup, caf::exit_reason::user_shutdown);
    self->send_exit(dir, caf::exit_reason::user_shutdown);
    // Every role has stopped: the store is flushed before the actor system's teardown.
    if (auto st = db->flush(); !st) {
      log->error("store flush failed: {}", st.err().message);
      rc = 1;
    }
    log->flush();
    watchdog.arm(rc);
  }
  log->info("stopped");
  tls_guard_metrics = nullptr; // the guard may call back until the process ends
  tls_bind_log = nullptr;
  return rc;
}

} // namespace poe::runtime
