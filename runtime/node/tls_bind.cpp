// Binds CAF's node ids to TLS certificates (issue 16, "identity bound to the connection").
//
// CAF 0.17.6's BASP names the sender of every message by a node id the peer writes itself: the
// id in its BASP handshake (a second connection naming an existing node becomes an alternative
// route to it, and every direct message on it is attributed to that node) and the source node
// of a routed, monitor or down message. poe attributes messages to the node proven on their
// connection, and the connection is named by that CAF node id — so a cluster member with its
// own valid certificate could speak as another node (tests/basp_forge_test.sh shows both ways).
//
// Part of the poe_tls_fix object library: libcaf_openssl's SSL_new and SSL_read land here by
// ELF interposition (openssl_errqueue_fix.cpp forwards SSL_read, tls_guard.cpp SSL_free). For
// every TLS session CAF makes, the decrypted stream is followed frame by frame (32-byte BASP
// header, then payload), before CAF sees the bytes:
//   - the node id a BASP handshake names is bound to the peer certificate of that session; a
//     handshake naming a node id bound to another certificate, or a session changing the id it
//     named, is refused (basp_node_taken). A binding outlives its last session by `grace`, so a
//     node's id cannot be taken over while its peers still attribute messages to it;
//   - a routed, monitor or down frame naming as its source a node id that another certificate
//     holds here is refused (basp_forged_source). Other sources pass: CAF routes a client's
//     messages through the node it is connected to when the client holds a third node's
//     handles, and a node with no session of its own here is attributed nothing.
// A refused session's read fails (CAF closes the connection) and its socket is shut down, so
// the forged frame is never delivered. The directory then checks, when an identity handshake
// completes, that the node it proves is the one whose certificate carries its connection's CAF
// node id (poe_tls_peer_of): the handshake is bound to the TLS session.
#include <caf/atom.hpp>

#include <dlfcn.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

namespace {

using clk = std::chrono::steady_clock;
using id32 = std::array<unsigned char, 32>;

constexpr std::size_t basp_header_size = 32;
constexpr std::size_t node_id_size = 32; ///< class id (8) + pid (4) + host hash (20)
constexpr auto atom_default = static_cast<std::uint64_t>(caf::atom("default"));
constexpr auto atom_none = static_cast<std::uint64_t>(caf::atom(""));
constexpr std::chrono::seconds grace{60};
constexpr std::size_t max_released = 4096; ///< bindings kept without a live session

enum : std::uint8_t {
  server_handshake = 0,
  client_handshake = 1,
  routed_message = 3,
  monitor_message = 4,
  down_message = 5,
};

/// One CAF TLS session's view of its stream.
struct stream {
  bool dead = false;
  bool have_cert = false;
  id32 cert{}; ///< SHA-256 of the peer certificate's DER public key: a poe node id
  bool claimed = false;
  id32 claim{}; ///< the CAF node id (wire form) its BASP handshake named
  unsigned char hdr[basp_header_size];
  std::size_t hdr_have = 0;
  std::uint8_t op = 0;
  std::uint32_t payload_left = 0;
  unsigned char pre[node_id_size]; ///< the payload's first bytes: the node id a frame names
  std::size_t pre_have = 0, pre_need = 0;
};

struct binding {
  id32 cert{};
  unsigned live = 0;
  clk::time_point released{};
};

struct table {
  std::mutex mu;
  std::unordered_map<const SSL*, stream> streams; ///< CAF's sessions only
  std::map<id32, binding> nodes;                  ///< CAF node id → certificate
  void (*on_refuse)(int reason) = nullptr;       ///< 1 node taken, 2 forged source
};

table& t() {
  static auto* x = new table; // never destroyed: sessions may be freed during exit
  return *x;
}

std::uint64_t be64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

bool from_caf(void* return_address) {
  Dl_info info{};
  return dladdr(return_address, &info) != 0 && info.dli_fname != nullptr &&
         std::strstr(info.dli_fname, "libcaf_openssl") != nullptr;
}

bool cert_id(SSL* ssl, id32& out) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return false;
  EVP_PKEY* key = X509_get0_pubkey(cert);
  unsigned char* der = nullptr;
  int len = key ? i2d_PUBKEY(key, &der) : -1;
  if (len <= 0) return false;
  unsigned int n = 0;
  bool ok = EVP_Digest(der, static_cast<std::size_t>(len), out.data(), &n, EVP_sha256(), nullptr) == 1;
  OPENSSL_free(der);
  return ok && n == out.size();
}

void release(table& s, const id32& node) {
  auto i = s.nodes.find(node);
  if (i == s.nodes.end() || i->second.live == 0) return;
  if (--i->second.live == 0) i->second.released = clk::now();
  if (s.nodes.size() <= max_released) return;
  auto now = clk::now();
  for (auto j = s.nodes.begin(); j != s.nodes.end();)
    j = j->second.live == 0 && now - j->second.released > grace ? s.nodes.erase(j) : std::next(j);
}

/// A handshake names `node`: 0 when the session may carry it, else the refusal reason.
int claim(table& s, stream& st, const id32& node) {
  if (st.claimed) return st.claim == node ? 0 : 1;
  auto [i, fresh] = s.nodes.try_emplace(node);
  auto& b = i->second;
  if (!fresh && b.cert != st.cert) {
    if (b.live > 0 || clk::now() - b.released < grace) return 1;
    b.cert = st.cert; // released long ago: a new process that reuses the pid
  }
  if (fresh) b.cert = st.cert;
  ++b.live;
  st.claimed = true;
  st.claim = node;
  return 0;
}

/// The frame's first payload bytes are in: 0 to let it through, else the refusal reason.
int check(table& s, stream& st) {
  if (st.pre_have < 8) return 2; // too short to name a node: CAF refuses it too
  auto kind = be64(st.pre);
  if (kind == atom_none) // an anonymous source or no node id: nobody is named
    return st.op == server_handshake || st.op == client_handshake ? 2 : 0;
  if (kind != atom_default || st.pre_have < node_id_size) return 2; // poe uses host ids only
  id32 node;
  std::memcpy(node.data(), st.pre, node.size());
  if (st.op == server_handshake || st.op == client_handshake) return claim(s, st, node);
  if (st.claimed && st.claim == node) return 0;
  // Another source: CAF routes a client's messages (and its monitor and down messages) through
  // the node the client is connected to when it holds handles of a third node. Such a source
  // passes only if no other certificate holds it here: it is then a node without a session of
  // its own here, which nothing attributes a message to (peer_registry binds only nodes proven
  // on a session of their own).
  auto i = s.nodes.find(node);
  bool held = i != s.nodes.end() && i->second.cert != st.cert &&
              (i->second.live > 0 || clk::now() - i->second.released < grace);
  return held ? 2 : 0;
}

/// Follows `n` decrypted bytes of `st`'s stream: 0, or the reason to refuse the session.
int follow(table& s, stream& st, const unsigned char* p, std::size_t n) {
  while (n > 0) {
    if (st.payload_left == 0) {
      auto k = std::min(n, basp_header_size - st.hdr_have);
      std::memcpy(st.hdr + st.hdr_have, p, k);
      st.hdr_have += k;
      p += k;
      n -= k;
      if (st.hdr_have < basp_header_size) break;
      st.hdr_have = 0;
      st.op = st.hdr[0];
      st.payload_left = static_cast<std::uint32_t>(st.hdr[4]) << 24 |
                        static_cast<std::uint32_t>(st.hdr[5]) << 16 |
                        static_cast<std::uint32_t>(st.hdr[6]) << 8 | st.hdr[7];
      bool names_node = st.op == server_handshake || st.op == client_handshake ||
                        st.op == routed_message || st.op == monitor_message ||
                        st.op == down_message;
      st.pre_have = 0;
      st.pre_need = names_node ? std::min<std::size_t>(node_id_size, st.payload_left) : 0;
      if (names_node && st.payload_left == 0)
        if (int r = check(s, st)) return r;
      continue;
    }
    auto k = std::min<std::size_t>(n, st.payload_left);
    if (st.pre_have < st.pre_need) {
      auto m = std::min(k, st.pre_need - st.pre_have);
      std::memcpy(st.pre + st.pre_have, p, m);
      st.pre_have += m;
      if (st.pre_have == st.pre_need)
        if (int r = check(s, st)) return r;
    }
    st.payload_left -= static_cast<std::uint32_t>(k);
    p += k;
    n -= k;
  }
  return 0;
}

template <class F>
F real(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

} // namespace

extern "C" {

/// How refusals are counted (poe-node: poe_connection_events_total): 1 a handshake naming a
/// node id another certificate holds, 2 a frame naming another source.
__attribute__((visibility("default"))) void poe_tls_bind_configure(void (*on_refuse)(int)) {
  auto& s = t();
  std::lock_guard<std::mutex> lock(s.mu);
  s.on_refuse = on_refuse;
}

/// The poe node id (SHA-256 of the DER public key) of the certificate that holds the CAF node
/// id `node` (its serialized form, 32 bytes); 1 when there is one.
__attribute__((visibility("default"))) int poe_tls_peer_of(const unsigned char* node, std::size_t len,
                                                           unsigned char out[32]) {
  if (len != node_id_size) return 0;
  id32 key;
  std::memcpy(key.data(), node, key.size());
  auto& s = t();
  std::lock_guard<std::mutex> lock(s.mu);
  auto i = s.nodes.find(key);
  if (i == s.nodes.end() || i->second.live == 0) return 0;
  std::memcpy(out, i->second.cert.data(), 32);
  return 1;
}

/// Called by the SSL_read interposer with libssl's result: `ret`, or -1 when the bytes read
/// refuse the session (they are dropped and the socket shut down).
int poe_tls_bind_read(SSL* ssl, void* buf, int ret) {
  auto& s = t();
  int reason = 0;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    auto i = s.streams.find(ssl);
    if (i == s.streams.end()) return ret;
    auto& st = i->second;
    if (st.dead) return -1;
    if (ret <= 0) return ret;
    if (!st.have_cert) st.have_cert = cert_id(ssl, st.cert); // all zero: no certificate
    reason = follow(s, st, static_cast<const unsigned char*>(buf), static_cast<std::size_t>(ret));
    if (reason == 0) return ret;
    st.dead = true;
    shutdown(SSL_get_fd(ssl), SHUT_RDWR);
  }
  if (s.on_refuse) s.on_refuse(reason);
  return -1;
}

/// Called by the SSL_free interposer: the session's binding starts its grace period.
void poe_tls_bind_forget(SSL* ssl) {
  auto& s = t();
  std::lock_guard<std::mutex> lock(s.mu);
  auto i = s.streams.find(ssl);
  if (i == s.streams.end()) return;
  if (i->second.claimed) release(s, i->second.claim);
  s.streams.erase(i);
}

__attribute__((visibility("default"))) SSL* SSL_new(SSL_CTX* ctx) {
  static auto f = real<SSL* (*)(SSL_CTX*)>("SSL_new");
  SSL* ssl = f(ctx);
  if (ssl != nullptr && from_caf(__builtin_return_address(0))) {
    auto& s = t();
    std::lock_guard<std::mutex> lock(s.mu);
    s.streams[ssl] = stream{};
  }
  return ssl;
}

} // extern "C"
