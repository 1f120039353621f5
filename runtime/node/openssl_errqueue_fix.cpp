// Found and measured in /tmp/cafexp (see docs/operations.md, "Known issues"): without it,
// one TLS peer going away made every other TLS connection of the node drop and reconnect.
// Workaround for CAF 0.17.6 libcaf_openssl on OpenSSL 3: caf::openssl::session never
// empties the thread's OpenSSL error queue (no ERR_clear_error; get_ssl_error() is only
// called from CAF_LOG_INFO, compiled out in the Debian build). OpenSSL 3 queues
// "unexpected eof while reading" when a peer closes without close_notify (CAF never sends
// one), and SSL_get_error() reports that stale entry for the *next* SSL call of *any*
// session on the same multiplexer thread -> CAF closes every TLS connection.
//
// Compile this file into the executable (as an object, not from a static archive) or
// LD_PRELOAD it as a shared object. ELF interposition makes libcaf_openssl's calls land
// here; we clear the queue first, as SSL_get_error(3) requires, then call libssl.
#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace {
template <class F>
F real(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}
} // namespace

extern "C" {
bool poe_tls_guard_admit(SSL* ssl);            // tls_guard.cpp
void poe_tls_guard_accepted(SSL* ssl, int ret); // tls_guard.cpp
int poe_tls_bind_read(SSL* ssl, void* buf, int ret); // tls_bind.cpp

__attribute__((visibility("default"))) int SSL_read(SSL* s, void* buf, int num) {
  static auto f = real<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  // CAF's sessions: every BASP frame is checked against the peer certificate (tls_bind.cpp).
  return poe_tls_bind_read(s, buf, f(s, buf, num));
}
__attribute__((visibility("default"))) int SSL_write(SSL* s, const void* buf, int num) {
  static auto f = real<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return f(s, buf, num);
}
__attribute__((visibility("default"))) int SSL_connect(SSL* s) {
  static auto f = real<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return f(s);
}
__attribute__((visibility("default"))) int SSL_accept(SSL* s) {
  static auto f = real<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  // Over a cap or past its deadline (tls_guard.cpp): fail the handshake without libssl.
  // SSL_get_error then reports SSL_ERROR_SYSCALL and CAF closes the connection.
  if (!poe_tls_guard_admit(s)) return 0;
  auto ret = f(s);
  poe_tls_guard_accepted(s, ret);
  return ret;
}
}
