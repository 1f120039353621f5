// Bounds what unauthenticated TLS connections can take from a node (CAF 0.17.6's OpenSSL
// layer has no limit and no deadline of its own): every accepted connection costs a whole
// SSL_CTX (CAF loads certificate, key and CA per session, ~200 KB), and a client that never
// finishes its handshake (a ClientHello cut short, or nothing at all) was held for good.
//
// Part of the poe_tls_fix object library (see openssl_errqueue_fix.cpp): libcaf_openssl's
// SSL_accept and SSL_free and libcaf_io's accept land here by ELF interposition.
//   - A connection still in its TLS handshake is "pending". At most `per_address` pending
//     connections per source address and `total` in all: the next one is closed as it is
//     accepted on the node's port (before CAF builds a TLS context for it), or its session
//     fails at its first SSL_accept.
//   - A pending connection older than `deadline` is shut down (shutdown(2), not close: CAF
//     owns the descriptor; it sees EOF and frees the session), checked against the peer
//     address recorded so a reused descriptor is never touched.
//   - When sessions are freed in bulk, the heap is trimmed so the memory goes back to the OS.
// poe-node configures it from net.handshake-timeout (poe_tls_guard_configure); tools that
// only dial out never accept and are unaffected.
#include <arpa/inet.h>
#include <dlfcn.h>
#include <malloc.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

namespace {

using clk = std::chrono::steady_clock;

struct pending {
  int fd = -1;
  sockaddr_storage peer{};
  socklen_t peer_len = 0;
  std::string address; ///< the peer's IP address (no port)
  clk::time_point since;
  bool expired = false;
};

struct guard {
  std::mutex mu;
  std::unordered_map<const SSL*, pending> conns;
  std::map<std::string, unsigned> per_address_count;
  unsigned per_address = 32;
  unsigned total = 512;
  std::chrono::milliseconds deadline{5000};
  void (*on_refuse)(int reason) = nullptr; // 1 per-address cap, 2 total cap, 3 deadline
  int port = -1; ///< the node's TLS port: accept(2) on it refuses over-cap sources early
  std::atomic<unsigned> freed_since_trim{0};
  std::once_flag watchdog_started;
};

guard& g() {
  static auto* x = new guard; // never destroyed: the watchdog may outlive static destructors
  return *x;
}

std::string address_of(const sockaddr_storage& a) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (a.ss_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(a).sin_addr, buf, sizeof buf);
  else if (a.ss_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(a).sin6_addr, buf, sizeof buf);
  return buf;
}

void forget(guard& s, std::unordered_map<const SSL*, pending>::iterator i) {
  auto c = s.per_address_count.find(i->second.address);
  if (c != s.per_address_count.end() && --c->second == 0) s.per_address_count.erase(c);
  s.conns.erase(i);
}

void watchdog() {
  auto& s = g();
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    unsigned expired = 0;
    {
      std::lock_guard<std::mutex> lock(s.mu);
      auto now = clk::now();
      for (auto& [ssl, p] : s.conns) {
        if (p.expired || now - p.since < s.deadline) continue;
        // Only the connection we recorded: the descriptor still names the same peer.
        sockaddr_storage peer{};
        socklen_t len = sizeof peer;
        if (getpeername(p.fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0 && len == p.peer_len &&
            std::memcmp(&peer, &p.peer, len) == 0)
          shutdown(p.fd, SHUT_RDWR);
        p.expired = true;
        ++expired;
      }
    }
    if (expired > 0 && s.on_refuse)
      for (unsigned k = 0; k < expired; ++k) s.on_refuse(3);
    if (s.freed_since_trim.load() >= 16) {
      s.freed_since_trim = 0;
      malloc_trim(0);
    }
  }
}

template <class F>
F real(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

} // namespace

extern "C" {

/// Sets the handshake deadline and the pending caps (poe-node, from its settings); `port`:
/// the node's TLS port, whose accept(2) refuses a source over its cap before CAF builds a TLS
/// session for it (CAF loads certificate, key and CA for every accepted socket).
__attribute__((visibility("default"))) void poe_tls_guard_configure(unsigned deadline_ms, unsigned per_address,
                                                                    unsigned total, int port,
                                                                    void (*on_refuse)(int)) {
  auto& s = g();
  std::lock_guard<std::mutex> lock(s.mu);
  s.port = port;
  s.deadline = std::chrono::milliseconds(deadline_ms);
  s.per_address = per_address;
  s.total = total;
  s.on_refuse = on_refuse;
}

/// Connections still in their TLS handshake (for tests and metrics).
__attribute__((visibility("default"))) unsigned poe_tls_guard_pending() {
  auto& s = g();
  std::lock_guard<std::mutex> lock(s.mu);
  return static_cast<unsigned>(s.conns.size());
}

/// Called by the SSL_accept interposer (openssl_errqueue_fix.cpp) before libssl's: false
/// refuses the handshake (the caller fails it without calling libssl).
bool poe_tls_guard_admit(SSL* ssl) {
  auto& s = g();
  int reason = 0;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    auto i = s.conns.find(ssl);
    if (i != s.conns.end()) return !i->second.expired;
    pending p;
    p.fd = SSL_get_fd(ssl);
    p.peer_len = sizeof p.peer;
    if (p.fd < 0 || getpeername(p.fd, reinterpret_cast<sockaddr*>(&p.peer), &p.peer_len) != 0)
      return true; // not a socket we can name: leave it to libssl
    p.address = address_of(p.peer);
    p.since = clk::now();
    auto c = s.per_address_count.find(p.address);
    unsigned n = c == s.per_address_count.end() ? 0 : c->second;
    if (n >= s.per_address)
      reason = 1;
    else if (s.conns.size() >= s.total)
      reason = 2;
    else {
      ++s.per_address_count[p.address];
      s.conns.emplace(ssl, std::move(p));
    }
  }
  std::call_once(s.watchdog_started, [] { std::thread(watchdog).detach(); });
  if (reason != 0) {
    if (s.on_refuse) s.on_refuse(reason);
    return false;
  }
  return true;
}

/// Called after libssl's SSL_accept returned `ret`: a finished handshake is no longer pending.
void poe_tls_guard_accepted(SSL* ssl, int ret) {
  if (ret != 1) return;
  auto& s = g();
  std::lock_guard<std::mutex> lock(s.mu);
  if (auto i = s.conns.find(ssl); i != s.conns.end()) forget(s, i);
}

/// Over its cap: an accepted socket on the node's TLS port from a source with `per_address`
/// handshakes in progress (or `total` in all) is closed at once, as if nothing had arrived.
static bool over_cap(int listener, const sockaddr_storage& peer) {
  auto& s = g();
  int reason = 0;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.port < 0) return false;
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    if (getsockname(listener, reinterpret_cast<sockaddr*>(&local), &len) != 0) return false;
    int port = local.ss_family == AF_INET    ? ntohs(reinterpret_cast<sockaddr_in&>(local).sin_port)
               : local.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6&>(local).sin6_port)
                                             : -1;
    if (port != s.port) return false;
    auto c = s.per_address_count.find(address_of(peer));
    if (c != s.per_address_count.end() && c->second >= s.per_address)
      reason = 1;
    else if (s.conns.size() >= s.total)
      reason = 2;
  }
  if (reason != 0 && s.on_refuse) s.on_refuse(reason);
  return reason != 0;
}

__attribute__((visibility("default"))) int accept(int fd, sockaddr* addr, socklen_t* addrlen) {
  static auto f = real<int (*)(int, sockaddr*, socklen_t*)>("accept");
  for (;;) {
    int r = f(fd, addr, addrlen);
    if (r < 0) return r;
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    if (getpeername(r, reinterpret_cast<sockaddr*>(&peer), &len) != 0 || !over_cap(fd, peer)) return r;
    ::close(r); // and take the next one: the caller polls again only on new arrivals
    if (addrlen) *addrlen = 0;
  }
}

void poe_tls_bind_forget(SSL* ssl); // tls_bind.cpp

__attribute__((visibility("default"))) void SSL_free(SSL* ssl) {
  static auto f = real<void (*)(SSL*)>("SSL_free");
  poe_tls_bind_forget(ssl);
  auto& s = g();
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (auto i = s.conns.find(ssl); i != s.conns.end()) forget(s, i);
  }
  f(ssl);
  s.freed_since_trim.fetch_add(1);
}

} // extern "C"
