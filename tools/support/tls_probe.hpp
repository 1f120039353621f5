#pragma once
/// @file
/// A bounded TLS handshake with a node before CAF connects to it. CAF 0.17's OpenSSL layer does
/// the client handshake blocking on its multiplexer thread: against a port that accepts TCP but
/// never speaks TLS, the connect's timeout fires but the actor system can then never shut down
/// (its destructor joins that thread), so a client hung for minutes past its `--timeout`. The
/// probe runs the same mutual-TLS handshake on a non-blocking socket with a deadline first.

#include "poe/core/error.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace poe::tools {

/// Connects to host:port and completes a TLS handshake presenting `cert`/`key` (PEM files)
/// within `timeout`; the peer's certificate is not judged here (CAF verifies it against the
/// CA when it connects). An error says what did not happen in time.
status tls_probe(const std::string& host, std::uint16_t port, const std::string& cert,
                 const std::string& key, std::chrono::milliseconds timeout);

} // namespace poe::tools
