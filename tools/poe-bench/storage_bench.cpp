// poe-bench storage — put and get MB/s of 256 KiB chunks: raw RocksDB (the anchor), the
// storage role in this process (messages to the actor, its chunk store on RocksDB), and the
// storage role of a poe-node process one TLS hop away; same run, alternating rounds.
//
//   poe-bench storage [--mb 100] [--rounds 3]
#include <CLI/CLI.hpp>
#include "chunk_store.hpp"
#include "poe/actors/roles.hpp"
#include "poe/core/keys.hpp"
#include "poe/core/sha256.hpp"
#include "poe/runtime/log.hpp"
#include "poe/runtime/directory.hpp"
#include "poe/runtime/messages.hpp"
#include "poe/runtime/metrics.hpp"
#include "poe/runtime/settings.hpp"

#include "bench_net.hpp"
#include "figures.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

using namespace poe;
using namespace poe::runtime;
namespace fs = std::filesystem;
using clk = std::chrono::steady_clock;

namespace {

using bytes_t = std::vector<std::uint8_t>;

struct rates {
  double put = 0, get = 0;
};

double mbps(std::size_t bytes, clk::time_point t0) {
  return static_cast<double>(bytes) / 1e6 / std::chrono::duration<double>(clk::now() - t0).count();
}

rates raw_rocksdb(const fs::path& dir, const std::vector<bytes_t>& chunks) {
  fs::remove_all(dir);
  auto db = store::db::open(dir, {"storage"});
  if (!db) throw std::runtime_error(db.err().message);
  std::vector<bytes> keys;
  for (auto& c : chunks) {
    bytes k{'c', '/'};
    append(k, storage::cid::of(c).to_bytes());
    keys.push_back(k);
  }
  std::size_t total = chunks.size() * chunks[0].size();
  rates r;
  auto t0 = clk::now();
  for (std::size_t i = 0; i < chunks.size(); ++i)
    if (!db->put("storage", keys[i], chunks[i])) throw std::runtime_error("raw put");
  r.put = mbps(total, t0);
  t0 = clk::now();
  std::size_t got = 0;
  for (auto& k : keys) {
    auto v = db->get("storage", k);
    if (!v || !*v) throw std::runtime_error("raw get");
    got += (*v)->size();
  }
  r.get = mbps(got, t0);
  return r;
}

/// The chunk store without an actor around it (hashing and checks, no messaging): shows what
/// the role's messaging costs beside what content addressing costs.
rates direct_store(const fs::path& dir, const std::vector<bytes_t>& chunks) {
  fs::remove_all(dir);
  auto db = store::db::open(dir, {"storage"});
  if (!db) throw std::runtime_error(db.err().message);
  actors::chunk_store cs{*db};
  std::size_t total = chunks.size() * chunks[0].size();
  std::vector<storage::cid> ids;
  rates r;
  auto t0 = clk::now();
  for (auto& c : chunks) {
    auto id = cs.put_chunk(c);
    if (!id) throw std::runtime_error("chunk_store put: " + id.err().message);
    ids.push_back(*id);
  }
  r.put = mbps(total, t0);
  t0 = clk::now();
  std::size_t got = 0;
  for (auto& id : ids) {
    auto v = cs.get_chunk(id);
    if (!v) throw std::runtime_error("chunk_store get: " + v.err().message);
    got += v->size();
  }
  r.get = mbps(got, t0);
  return r;
}

/// Puts then gets every chunk through `h` (the storage role), keeping `window` requests in
/// flight (a new one goes out as each answer comes back).
rates through_role(caf::scoped_actor& self, const caf::actor& h,
                   const std::vector<bytes_t>& chunks) {
  const std::size_t window = 16;
  auto pipelined = [&](std::size_t n, auto send_one, auto on_answer, const char* what) {
    std::size_t sent = 0;
    for (; sent < std::min(n, window); ++sent)
      send_one(sent);
    for (std::size_t done = 0; done < n; ++done) {
      self->receive(on_answer,
                    [&](caf::error& e) { throw std::runtime_error(what + (": " + to_string(e))); },
                    caf::after(std::chrono::seconds(30)) >> [&] {
                      throw std::runtime_error(std::string(what) + ": no answer in 30 s");
                    });
      if (sent < n) send_one(sent++);
    }
  };
  std::size_t total = chunks.size() * chunks[0].size();
  rates r;
  auto t0 = clk::now();
  std::vector<std::string> cids;
  pipelined(
    chunks.size(), [&](std::size_t k) { self->send(h, st_put_atom::value, chunks[k]); },
    [&](std::string& c) { cids.push_back(std::move(c)); }, "put");
  r.put = mbps(total, t0);
  t0 = clk::now();
  std::size_t got = 0;
  pipelined(
    cids.size(), [&](std::size_t k) { self->send(h, st_get_atom::value, cids[k]); },
    [&](bytes_t& d) { got += d.size(); }, "get");
  r.get = mbps(got, t0);
  return r;
}

} // namespace

int run_storage(int argc, char** argv, const std::string& self_path) {
  int mb = 100, rounds = 3;
  CLI::App app{"poe-bench storage: put/get MB/s of 256 KiB chunks through the storage role vs raw RocksDB"};
  app.add_option("--mb", mb, "megabytes put and read")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--rounds", rounds, "rounds (the median is reported)")->check(CLI::Range(1, 100))->capture_default_str();
  try {
    app.parse(argc, argv); // unknown flags and values out of range are refused
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto bin = fs::path(self_path).parent_path();
  auto src = fs::path(POE_SOURCE_DIR);
  auto dir = fs::temp_directory_path() / ("poe-bench-storage-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto n = static_cast<std::size_t>(mb) * 4; // 256 KiB chunks
  std::vector<bytes_t> chunks(n, bytes_t(256 * 1024));
  for (std::size_t i = 0; i < n; ++i) {
    auto seed = sha256::digest(as_bytes("bench-chunk-" + std::to_string(i)));
    for (std::size_t k = 0; k < chunks[i].size(); k += 32)
      std::copy(seed.data.begin(), seed.data.end(), chunks[i].begin() + static_cast<long>(k)),
        seed = sha256::digest(seed.view());
  }
  // The remote node: one storage node (1 replica) over TLS.
  auto sh = [](const std::string& cmd) {
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
  };
  int rc = 0;
  pid_t node = -1;
  try {
    sh(src.string() + "/tools/poe-ca init --dir " + (dir / "ca").string() + " >/dev/null");
    for (auto who : {"node", "client"}) {
      sh(bin.string() + "/poe-keygen --type ed25519 --out " + (dir / who).string() + " >/dev/null");
      sh(src.string() + "/tools/poe-ca issue --dir " + (dir / "ca").string() + " --key " +
         (dir / who / "node.key").string() + " --out " + (dir / who / "node.crt").string() +
         " >/dev/null");
    }
    node = bench::spawn({(bin / "poe-node").string(), "--node.roles=[\"storage\"]",
                         "--node.data-dir=" + (dir / "node-data").string(),
                         "--node.key-file=" + (dir / "node" / "node.key").string(),
                         "--node.port=7990", "--log.level=warn", "--storage.replicas=1",
                         "--tls.certificate=" + (dir / "node" / "node.crt").string(),
                         "--tls.ca-file=" + (dir / "ca" / "ca.crt").string()},
                        (dir / "node.log").string());
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));

    caf::actor_system_config cfg;
    bench::client_settings(cfg, dir, "client");
    caf::actor_system sys{cfg};
    caf::scoped_actor self{sys};

    // The in-process role: a directory that ignores subscriptions; a fresh store per round,
    // like the anchor's.
    auto settings = std::make_shared<node_settings>();
    settings->options.storage.replicas = 1;
    settings->options.storage.acks = 1;
    role_context ctx;
    ctx.role = "storage";
    ctx.node_name = "bench";
    auto key = private_key::generate(key_type::ed25519);
    ctx.node_id = key->id().hex();
    ctx.key = std::make_shared<const private_key>(*key);
    ctx.chain_id = "poe-bench";
    // One process: every sender is this node's own (no peer connections).
    ctx.peers = std::make_shared<peer_registry>(ctx.node_id);
    ctx.connection_of = caf_connection_key(sys);
    ctx.directory = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
      return {[](subscribe_atom, const std::string&) {}};
    });
    ctx.log = make_node_logger("bench", "warn");
    ctx.metrics = &metrics::noop_factory();
    ctx.settings = settings;
    auto body = actors::storage_role().body;
    auto local_round = [&](int round) {
      auto path = dir / ("local-" + std::to_string(round));
      auto db = store::db::open(path, {"storage"});
      if (!db) throw std::runtime_error(db.err().message);
      auto c = ctx;
      c.store = &*db;
      auto h = sys.spawn([body, c](caf::event_based_actor* s) { return body(s, c); });
      auto out = through_role(self, h, chunks);
      self->monitor(h);
      caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
      self->receive([](const caf::down_msg&) {});
      return out;
    };

    auto remote = bench::find_role(self, bench::connect_to(self, 7990, true), "storage");

    std::vector<rates> raw, direct, loc, rem;
    for (int r = 0; r < rounds; ++r) {
      // A fresh set of stores per round (puts of known chunks would be no-ops).
      raw.push_back(raw_rocksdb(dir / "raw", chunks));
      direct.push_back(direct_store(dir / "direct", chunks));
      loc.push_back(local_round(r));
      // The node keeps its store: the chunks are deleted again after each round.
      rem.push_back(through_role(self, remote, chunks));
      // Chunks belong to no one: only the node's operator (its key) may delete them.
      for (auto& c : chunks) {
        auto text = storage::cid::of(c).str();
        auto auth = bench::sign_request(self, remote, st_nonce_atom::value, dir, "node", request_op::remove, text);
        self->request(remote, std::chrono::seconds(10), st_del_atom::value, text, std::move(auth))
          .receive([](std::string&) {}, [&](caf::error& e) {
            std::cerr << "poe-bench storage: a delete failed: " << self->system().render(e) << "\n";
          });
      }
    }
    auto med = [](std::vector<rates> v, bool put) {
      std::vector<double> x;
      for (auto& r : v) x.push_back(put ? r.put : r.get);
      std::sort(x.begin(), x.end());
      return x[x.size() / 2];
    };
    std::printf("storage bench: %zu chunks of 256 KiB (%d MB), %d rounds, median MB/s\n", n, mb,
                rounds);
    std::printf("%-34s %10s %10s\n", "", "put", "get");
    auto raw_put = med(raw, true), raw_get = med(raw, false);
    std::printf("%-34s %10.0f %10.0f\n", "raw RocksDB (anchor)", raw_put, raw_get);
    // Each row: put and get MB/s beside raw RocksDB's in the same run.
    auto row = [&](const char* what, const std::vector<rates>& v, const std::string& goal) {
      auto put = med(v, true), get = med(v, false);
      std::printf("%-34s %10.0f %10.0f   %5.1f%% / %5.1f%% of raw\n", what, put, get, 100 * put / raw_put,
                  100 * get / raw_get);
      auto anchor = "raw RocksDB, same run";
      bench::figure("storage", std::string("put, ") + what, put, "MB/s", anchor, raw_put, goal);
      bench::figure("storage", std::string("get, ") + what, get, "MB/s", anchor, raw_get, goal);
    };
    row("chunk store, no actor", direct, "");
    row("storage role, same process", loc, ">= 80 %");
    row("storage role, one TLS hop", rem, "");
    std::printf("goal: >= 80%% of raw RocksDB locally (issue anchor ~418 MB/s put with 256 KiB values)\n");
  } catch (const std::exception& e) {
    std::cerr << "storage bench: " << e.what() << "\n";
    rc = 1;
  }
  if (node > 0) {
    ::kill(node, SIGTERM);
    ::waitpid(node, nullptr, 0);
  }
  fs::remove_all(dir);
  return rc;
}
