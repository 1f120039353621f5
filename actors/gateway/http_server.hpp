#pragma once
// The gateway's HTTP/1.1 server (Boost.Beast over Asio; http_server.cpp is the only file that
// includes them). Connections are asynchronous on a few I/O threads, so an idle keep-alive
// connection holds a socket, not a thread; a request, once read, runs its handler on a pool
// of handler threads (handlers may block: they ask the gateway actor and wait), and its answer
// is written back asynchronously. An idle connection — before its first request too — is
// closed after `idle`; a body over `max_body` is answered 413, a request that does not parse
// 400. Routes are regular expressions matched against the whole (percent-decoded) path, tried
// in the order given; a GET route answers HEAD too (the body left out, its length kept).
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace poe::actors::gw {

struct http_request {
  std::string method; ///< GET, HEAD, POST, OPTIONS, ...
  std::string path;   ///< percent-decoded, without the query
  std::string body;
  std::vector<std::string> matches;          ///< [0] the path, [1..] the route's groups
  std::map<std::string, std::string> params; ///< the query's, decoded
  std::vector<std::pair<std::string, std::string>> headers;

  /// The first header named `name` (case-insensitive), or "".
  std::string header(std::string_view name) const;
  bool has_param(const std::string& name) const { return params.count(name) > 0; }
  std::string param(const std::string& name) const {
    auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
  }
};

struct http_response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type;
  std::string body;
  /// A slice of a shared body (a cached segment), sent without copying it.
  std::shared_ptr<const std::vector<std::uint8_t>> shared;
  std::size_t first = 0, length = 0;

  void set_header(std::string name, std::string value) { headers.emplace_back(std::move(name), std::move(value)); }
  void set_content(std::string text, std::string type) {
    body = std::move(text);
    content_type = std::move(type);
    shared.reset();
  }
  void set_shared(std::shared_ptr<const std::vector<std::uint8_t>> data, std::size_t from, std::size_t n,
                  std::string type) {
    shared = std::move(data);
    first = from;
    length = n;
    content_type = std::move(type);
    body.clear();
  }
  void redirect(const std::string& location) {
    status = 302;
    set_header("Location", location);
  }
};

using http_handler = std::function<void(const http_request&, http_response&)>;

class http_server {
public:
  struct options {
    std::size_t handler_threads = 32;
    std::size_t io_threads = 1;
    std::chrono::milliseconds idle{15'000}; ///< an idle connection's wait for its next request
    bool keep_alive = true;                 ///< false: close after each answer
    std::size_t max_body = 1 << 20;
  };

  explicit http_server(options o);
  ~http_server(); ///< stops
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Adds a route: `method` and a regular expression over the whole path.
  void route(std::string method, const std::string& pattern, http_handler h);
  /// Answers what no route matches (default: 404, or 405 for a method no route has).
  void otherwise(http_handler h);
  /// Binds `host:port` (0: any free port) — a bad or taken address throws std::runtime_error
  /// saying so — and serves on the server's threads until `stop`.
  void listen(const std::string& host, int port);
  /// The bound port.
  int port() const;
  /// Closes the listener and every connection, and joins the threads (idempotent).
  void stop();

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace poe::actors::gw
