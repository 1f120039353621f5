// A bounded TLS handshake (see tls_probe.hpp).
#include "tls_probe.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

namespace poe::tools {

namespace {

using clock = std::chrono::steady_clock;

int remaining_ms(clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

/// Waits until `fd` is readable (`want_read`) or writable, or the deadline passes.
bool wait_for(int fd, bool want_read, clock::time_point deadline) {
  pollfd p{fd, static_cast<short>(want_read ? POLLIN : POLLOUT), 0};
  for (;;) {
    int ms = remaining_ms(deadline);
    if (ms == 0) return false;
    int n = ::poll(&p, 1, ms);
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

} // namespace

status tls_probe(const std::string& host, std::uint16_t port, const std::string& cert,
                 const std::string& key, std::chrono::milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  auto where = host + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res); rc != 0)
    return fail(errc::unavailable, "cannot resolve " + host + ": " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addrs(res, ::freeaddrinfo);
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(errc::io_error, "socket: " + std::string(std::strerror(errno)));
  std::unique_ptr<int, void (*)(int*)> closer(&fd, [](int* f) { ::close(*f); });
  if (::connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) return fail(errc::unavailable, "cannot connect to " + where + ": " + std::strerror(errno));
    if (!wait_for(fd, false, deadline))
      return fail(errc::unavailable, "no TCP connection to " + where + " within " +
                                         std::to_string(timeout.count()) + " ms");
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return fail(errc::unavailable, "cannot connect to " + where + ": " + std::strerror(err));
  }
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!ctx) return fail(errc::io_error, "TLS: no context");
  if (SSL_CTX_use_certificate_file(ctx.get(), cert.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1) {
    ERR_clear_error();
    return fail(errc::invalid_argument, "TLS: cannot load the certificate '" + cert + "' and key '" + key + "'");
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr); // CAF verifies against the CA
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  SSL_set_fd(ssl.get(), fd);
  for (;;) {
    int rc = SSL_connect(ssl.get());
    if (rc == 1) {
      SSL_shutdown(ssl.get());
      return {};
    }
    int e = SSL_get_error(ssl.get(), rc);
    ERR_clear_error();
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
      return fail(errc::unavailable, where + " does not complete a TLS handshake (is it a poe node "
                                             "with TLS? a plaintext node needs --plaintext)");
    if (!wait_for(fd, e == SSL_ERROR_WANT_READ, deadline))
      return fail(errc::unavailable, where + " accepted the connection but gave no TLS answer within " +
                                         std::to_string(timeout.count()) + " ms");
  }
}

} // namespace poe::tools
