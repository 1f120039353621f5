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
// header, then payload) by a basp_binder (include/poe/runtime/basp_binder.hpp), before CAF
// sees the bytes:
//   - the node id a BASP handshake names is bound to the peer certificate of that session; a
//     handshake naming a node id bound to another certificate, or a session changing the id it
//     named, is refused (basp_node_taken). A binding outlives its last session by `grace`, so a
//     node's id cannot be taken over while its peers still attribute messages to it;
//   - a routed or down frame naming as its source a node id that another certificate holds
//     here is refused (basp_forged_source). Other sources pass: CAF routes a client's
//     messages through the node it is connected to when the client holds a third node's
//     handles, and a node with no session of its own here is attributed nothing. Monitor
//     frames pass whatever their source (basp_binder.hpp says why).
// A refused session's read fails (CAF closes the connection) and its socket is shut down, so
// the forged frame is never delivered. The directory then checks, when an identity handshake
// completes, that the node it proves is the one whose certificate carries its connection's CAF
// node id (poe_tls_peer_of): the handshake is bound to the TLS session.
#include "poe/runtime/basp_binder.hpp"

#include <caf/atom.hpp>

#include <dlfcn.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <cstring>
#include <mutex>
#include <unordered_set>

namespace {

using poe::runtime::basp_binder;
using poe::runtime::basp_refusal;

static_assert(basp_binder::atom_default == static_cast<std::uint64_t>(caf::atom("default")));
static_assert(basp_binder::atom_none == static_cast<std::uint64_t>(caf::atom("")));

struct table {
  std::mutex mu;
  basp_binder binder;
  std::unordered_set<const SSL*> fresh; ///< CAF's sessions before their first read (no cert yet)
  void (*on_refuse)(int reason) = nullptr; ///< 1 node taken, 2 forged source
};

table& t() {
  static auto* x = new table; // never destroyed: sessions may be freed during exit
  return *x;
}

bool from_caf(void* return_address) {
  Dl_info info{};
  return dladdr(return_address, &info) != 0 && info.dli_fname != nullptr &&
         std::strstr(info.dli_fname, "libcaf_openssl") != nullptr;
}

/// SHA-256 of the peer certificate's DER public key (a poe node id); all zero without one.
basp_binder::cert_id cert_id(SSL* ssl) {
  basp_binder::cert_id out{};
  X509* cert = SSL_get0_peer_certificate(ssl);
  EVP_PKEY* key = cert ? X509_get0_pubkey(cert) : nullptr;
  unsigned char* der = nullptr;
  int len = key ? i2d_PUBKEY(key, &der) : -1;
  if (len <= 0) return out;
  unsigned int n = 0;
  if (EVP_Digest(der, static_cast<std::size_t>(len), out.data(), &n, EVP_sha256(), nullptr) != 1)
    out.fill(0);
  OPENSSL_free(der);
  return out;
}

template <class F>
F real(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

} // namespace

extern "C" {

/// How refusals are counted (poe-node: poe_connection_events_total): 1 a handshake naming a
/// node id another certificate holds, 2 a frame naming such a node as its source.
__attribute__((visibility("default"))) void poe_tls_bind_configure(void (*on_refuse)(int)) {
  auto& s = t();
  std::lock_guard<std::mutex> lock(s.mu);
  s.on_refuse = on_refuse;
}

/// The poe node id of the certificate that holds the CAF node id `node` (its serialized form,
/// 32 bytes) while a session of it is open; 1 when there is one.
__attribute__((visibility("default"))) int poe_tls_peer_of(const unsigned char* node, std::size_t len,
                                                           unsigned char out[32]) {
  auto& s = t();
  std::lock_guard<std::mutex> lock(s.mu);
  auto cert = s.binder.holder(node, len);
  if (!cert) return 0;
  std::memcpy(out, cert->data(), cert->size());
  return 1;
}

/// Called by the SSL_read interposer with libssl's result: `ret`, or -1 when the bytes read
/// refuse the session (they are dropped and the socket shut down; CAF closes the connection).
int poe_tls_bind_read(SSL* ssl, void* buf, int ret) {
  auto& s = t();
  auto r = basp_refusal::none;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (ret <= 0) return s.binder.follows(ssl) && s.binder.refused(ssl) ? -1 : ret;
    if (s.fresh.erase(ssl) > 0) s.binder.open(ssl, cert_id(ssl)); // the handshake is done
    if (!s.binder.follows(ssl)) return ret;
    r = s.binder.read(ssl, static_cast<const unsigned char*>(buf), static_cast<std::size_t>(ret),
                      basp_binder::clock::now());
    if (r == basp_refusal::none) return ret;
    shutdown(SSL_get_fd(ssl), SHUT_RDWR);
  }
  if (s.on_refuse) s.on_refuse(static_cast<int>(r));
  return -1;
}

/// Called by the SSL_free interposer: the id the session named stays held for the grace period.
void poe_tls_bind_forget(SSL* ssl) {
  auto& s = t();
  std::lock_guard<std::mutex> lock(s.mu);
  s.fresh.erase(ssl);
  s.binder.close(ssl, basp_binder::clock::now());
}

__attribute__((visibility("default"))) SSL* SSL_new(SSL_CTX* ctx) {
  static auto f = real<SSL* (*)(SSL_CTX*)>("SSL_new");
  SSL* ssl = f(ctx);
  if (ssl != nullptr && from_caf(__builtin_return_address(0))) {
    auto& s = t();
    std::lock_guard<std::mutex> lock(s.mu);
    s.fresh.insert(ssl);
  }
  return ssl;
}

} // extern "C"
