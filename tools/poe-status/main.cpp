// poe-status: asks a running node's directory what it knows (peers, roles), or round-trips
// every registered message type through its probe role.
//
//   poe-status --target 127.0.0.1:7101 --key K --cert C --ca CA [--json] [--roundtrip]
//   poe-status --target 127.0.0.1:7101 --plaintext ...
//
// Exit codes: 0 ok, 1 a check failed (round-trip mismatch), 2 usage, 3 unreachable.
#include "poe/actors/roles.hpp"
#include "poe/runtime/messages.hpp"
#include "poe/runtime/settings.hpp"

#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>
#include <nlohmann/json.hpp>

#include "tls_probe.hpp"

#include <iostream>

using namespace poe::runtime;

int main(int argc, char** argv) {
  CLI::App app{"poe-status: what a running node's directory knows"};
  std::string target, key, cert, ca;
  bool plaintext = false, json = false, roundtrip = false;
  int timeout_s = 5;
  app.add_option("--target", target, "host:port of the node")->required();
  app.add_option("--key", key, "PEM private key for TLS (any node key of the cluster)");
  app.add_option("--cert", cert, "PEM certificate of that key, issued by the cluster CA");
  app.add_option("--ca", ca, "PEM certificate of the cluster CA");
  app.add_flag("--plaintext", plaintext, "plain TCP (nodes run with node.insecure-plaintext)");
  app.add_flag("--json", json, "print JSON");
  app.add_flag("--roundtrip", roundtrip,
               "send every registered message type to the node's probe and compare the echo");
  app.add_option("--timeout", timeout_s, "seconds to wait for each answer");
  CLI11_PARSE(app, argc, argv);
  auto ep = parse_endpoint(target);
  if (!ep) {
    std::cerr << "poe-status: --target: " << ep.err().message << "\n";
    return 2;
  }
  if (!plaintext && (key.empty() || cert.empty() || ca.empty())) {
    std::cerr << "poe-status: TLS needs --key, --cert and --ca (or --plaintext)\n";
    return 2;
  }

  // CAF's TLS handshake blocks its I/O thread: probe with a deadline first (tls_probe.hpp).
  if (!plaintext)
    if (auto st = poe::tools::tls_probe(ep->host, ep->port, cert, key, std::chrono::seconds(timeout_s)); !st) {
      std::cerr << "poe-status: cannot reach " << target << ": " << st.err().message << "\n";
      return 3;
    }
  caf::actor_system_config cfg;
  register_messages(cfg);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  // Nodes drop a connection that stays silent longer than their net.connection-timeout.
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::seconds(1)});
  cfg.load<caf::io::middleman>();
  if (!plaintext) {
    cfg.set("openssl.certificate", cert);
    cfg.set("openssl.key", key);
    cfg.set("openssl.cafile", ca);
    cfg.load<caf::openssl::manager>();
  }
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto t = std::chrono::seconds(timeout_s);
  caf::actor dir;
  auto mm = plaintext ? sys.middleman().actor_handle() : sys.openssl_manager().actor_handle();
  self->request(mm, t, caf::connect_atom::value, ep->host, ep->port)
    .receive(
      [&](const caf::node_id&, caf::strong_actor_ptr& p, const std::set<std::string>&) {
        dir = caf::actor_cast<caf::actor>(p);
      },
      [&](caf::error& err) {
        std::cerr << "poe-status: cannot reach " << target << ": " << sys.render(err) << "\n";
      });
  if (!dir) return 3;

  if (roundtrip) {
    std::vector<role_entry> probes;
    self->request(dir, t, lookup_atom::value, std::string("probe"))
      .receive([&](std::vector<role_entry>& xs) { probes = std::move(xs); },
               [&](caf::error& e) {
                 std::cerr << "poe-status: probe lookup failed: " << sys.render(e) << "\n";
               });
    caf::actor probe;
    for (auto& e : probes)
      if (e.node.empty() || probes.front().node == e.node) probe = e.handle;
    if (!probe) {
      std::cerr << "poe-status: the node at " << target << " runs no probe role\n";
      return 1;
    }
    int bad = 0;
    for (auto& sample : message_samples()) {
      auto name = to_string(sample).substr(0, 60);
      bool ok = false;
      std::string why;
      self->request(probe, t, echo_atom::value, sample)
        .receive(
          [&](echo_atom, caf::message& back) {
            // A registration mismatch arrives as an empty or different message.
            ok = to_string(back) == to_string(sample);
            if (!ok) why = "echo differs: " + to_string(back);
          },
          [&](caf::error& err) { why = sys.render(err); });
      std::cout << (ok ? "ok       " : "MISMATCH ") << name << " "
                << (ok ? "" : why) << "\n";
      if (!ok) ++bad;
    }
    return bad == 0 ? 0 : 1;
  }

  std::vector<peer_info> peers;
  self->request(dir, t, peers_atom::value)
    .receive([&](std::vector<peer_info>& xs) { peers = std::move(xs); },
             [&](caf::error& err) { std::cerr << "peers: " << sys.render(err) << "\n"; });
  nlohmann::json out;
  out["target"] = target;
  out["peers"] = nlohmann::json::array();
  for (auto& p : peers)
    out["peers"].push_back(
      {{"node", p.node}, {"address", p.address}, {"outbound", p.outbound}, {"roles", p.roles}});
  out["roles"] = nlohmann::json::object();
  for (auto& role : poe::actors::builtin_roles().names()) {
    std::vector<role_entry> xs;
    self->request(dir, t, lookup_atom::value, role)
      .receive([&](std::vector<role_entry>& r) { xs = std::move(r); },
               [&](caf::error& e) {
                 std::cerr << "poe-status: lookup of " << role << " failed: " << sys.render(e) << "\n";
               });
    if (xs.empty()) continue;
    auto& arr = out["roles"][role] = nlohmann::json::array();
    for (auto& e : xs)
      arr.push_back(e.node);
  }
  if (json) {
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << "node at " << target << ": " << peers.size() << " peer(s)\n";
    for (auto& p : peers)
      std::cout << "  peer " << p.node.substr(0, 16) << "  " << p.address << "  " << p.roles
                << " role(s)\n";
    for (auto& [role, nodes] : out["roles"].items()) {
      std::cout << "  role " << role << ":";
      for (auto& n : nodes)
        std::cout << " " << n.get<std::string>().substr(0, 12);
      std::cout << "\n";
    }
  }
  return 0;
}
