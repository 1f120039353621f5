#include "http_server.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <optional>
#include <regex>
#include <stdexcept>
#include <thread>

namespace poe::actors::gw {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      int hi = hex_digit(in[i + 1]), lo = hex_digit(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && in[i] == '+' ? ' ' : in[i]);
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    auto amp = q.find('&');
    auto pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    out.emplace(decode(pair.substr(0, eq), true),
                eq == std::string_view::npos ? std::string() : decode(pair.substr(eq + 1), true));
  }
  return out;
}

std::string problem(int status, const std::string& title, const std::string& why) {
  return "{\"type\":\"about:blank\",\"title\":\"" + title + "\",\"status\":" + std::to_string(status) +
         ",\"detail\":\"" + why + "\"}\n";
}

} // namespace

std::string http_request::header(std::string_view name) const {
  for (auto& [k, v] : headers)
    if (k.size() == name.size() &&
        std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
      return v;
  return {};
}

struct http_server::impl {
  struct route {
    std::string method;
    std::regex pattern;
    http_handler handler;
  };

  options opts;
  net::io_context io;
  tcp::acceptor acceptor{io};
  net::steady_timer retry{io};
  std::unique_ptr<net::thread_pool> pool;
  std::vector<std::thread> threads;
  std::vector<route> routes;
  http_handler fallback;
  std::once_flag stopped;
  int bound_port = 0;

  explicit impl(options o) : opts(o), pool(std::make_unique<net::thread_pool>(std::max<std::size_t>(1, o.handler_threads))) {}

  /// Runs the route of `req` (its groups in req.matches) into `res`.
  void dispatch(http_request& req, http_response& res) {
    bool path_known = false;
    for (auto& r : routes) {
      std::smatch m;
      if (!std::regex_match(req.path, m, r.pattern)) continue;
      path_known = true;
      if (r.method != req.method && !(r.method == "GET" && req.method == "HEAD")) continue;
      req.matches.assign(m.begin(), m.end());
      try {
        r.handler(req, res);
      } catch (const std::exception&) {
        res = {};
        res.status = 500;
        res.set_content(problem(500, "Internal Server Error", "the handler failed"), "application/problem+json");
      }
      return;
    }
    if (fallback) {
      req.matches = {req.path};
      return fallback(req, res);
    }
    res.status = path_known ? 405 : 404;
    res.set_content(problem(res.status, path_known ? "Method Not Allowed" : "Not Found", req.method + " " + req.path),
                    "application/problem+json");
  }

  struct session : std::enable_shared_from_this<session> {
    impl& srv;
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    std::optional<http::request_parser<http::string_body>> parser;

    session(impl& s, tcp::socket&& socket) : srv(s), stream(std::move(socket)) {}

    void start() {
      net::dispatch(stream.get_executor(), [self = shared_from_this()] { self->read(); });
    }

    void read() {
      parser.emplace();
      parser->body_limit(srv.opts.max_body);
      parser->header_limit(16 * 1024);
      // The wait for a request — the first one too — is the idle timeout.
      stream.expires_after(srv.opts.idle);
      http::async_read(stream, buffer, *parser,
                       [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(beast::error_code ec) {
      if (ec == http::error::body_limit) return refuse(413, "Content Too Large", "the body is too large");
      if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted)
        return close();
      if (ec) {
        if (ec.category() == http::make_error_code(http::error::bad_target).category())
          return refuse(400, "Bad Request", "the request does not parse: " + ec.message());
        return close();
      }
      stream.expires_never();
      net::post(*srv.pool, [self = shared_from_this(), raw = parser->release()]() mutable { self->handle(std::move(raw)); });
    }

    /// On a handler thread: the route runs (it may block), then the answer goes back to the
    /// connection's strand.
    void handle(http::request<http::string_body> raw) {
      http_request req;
      req.method = std::string(raw.method_string());
      auto target = std::string_view(raw.target().data(), raw.target().size());
      auto q = target.find('?');
      req.path = decode(target.substr(0, q), false);
      if (q != std::string_view::npos) req.params = parse_query(target.substr(q + 1));
      for (auto& f : raw)
        req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      req.body = std::move(raw.body());
      auto res = std::make_shared<http_response>();
      srv.dispatch(req, *res);
      bool keep = srv.opts.keep_alive && raw.keep_alive();
      bool head = req.method == "HEAD";
      net::post(stream.get_executor(), [self = shared_from_this(), res, keep, head, version = raw.version()] {
        self->write(res, keep, head, version);
      });
    }

    template <class Message>
    void head_of(Message& m, const http_response& r, bool keep, unsigned version) {
      m.version(version);
      m.result(static_cast<unsigned>(r.status));
      m.set(http::field::server, "poe-gateway");
      if (!r.content_type.empty()) m.set(http::field::content_type, r.content_type);
      for (auto& [k, v] : r.headers) m.insert(k, v);
      m.keep_alive(keep);
    }

    void write(const std::shared_ptr<http_response>& r, bool keep, bool head, unsigned version) {
      const char* data = r->shared ? reinterpret_cast<const char*>(r->shared->data()) + r->first : r->body.data();
      std::size_t n = r->shared ? r->length : r->body.size();
      stream.expires_after(std::chrono::seconds(60)); // a reader that stalls is dropped
      if (head) {
        auto m = std::make_shared<http::response<http::empty_body>>();
        head_of(*m, *r, keep, version);
        m->content_length(n);
        return send(m, r, keep);
      }
      auto m = std::make_shared<http::response<http::span_body<const char>>>();
      head_of(*m, *r, keep, version);
      m->body() = {data, n};
      m->prepare_payload();
      send(m, r, keep);
    }

    template <class Message>
    void send(std::shared_ptr<Message> m, std::shared_ptr<http_response> body, bool keep) {
      http::async_write(stream, *m, [self = shared_from_this(), m, body, keep](beast::error_code ec, std::size_t) {
        if (ec || !keep) return self->close();
        self->read();
      });
    }

    void refuse(int status, const std::string& title, const std::string& why) {
      auto r = std::make_shared<http_response>();
      r->status = status;
      r->set_content(problem(status, title, why), "application/problem+json");
      write(r, false, false, 11);
    }

    void close() {
      beast::error_code ec;
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
      stream.socket().close(ec);
    }
  };

  void accept() {
    acceptor.async_accept(net::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
      if (!acceptor.is_open()) return;
      if (ec) { // e.g. out of file descriptors: try again shortly rather than spin
        retry.expires_after(std::chrono::milliseconds(50));
        return retry.async_wait([this](beast::error_code e) {
          if (!e) accept();
        });
      }
      std::make_shared<session>(*this, std::move(socket))->start();
      accept();
    });
  }

  void stop() {
    std::call_once(stopped, [this] {
      io.stop();
      for (auto& t : threads)
        if (t.joinable()) t.join();
      beast::error_code ec;
      acceptor.close(ec); // no I/O thread runs any more
      pool->join();       // handlers still running finish (their answers are dropped)
    });
  }
};

http_server::http_server(options o) : impl_(std::make_shared<impl>(o)) {}

http_server::~http_server() { stop(); }

void http_server::route(std::string method, const std::string& pattern, http_handler h) {
  impl_->routes.push_back({std::move(method), std::regex(pattern), std::move(h)});
}

void http_server::otherwise(http_handler h) { impl_->fallback = std::move(h); }

void http_server::listen(const std::string& host, int port) {
  auto& s = *impl_;
  beast::error_code ec;
  tcp::endpoint at;
  if (auto address = net::ip::make_address(host, ec); !ec) {
    at = {address, static_cast<unsigned short>(port)};
  } else { // a name: its first address
    tcp::resolver resolver(s.io);
    auto found = resolver.resolve(host, std::to_string(port), ec);
    if (ec || found.empty()) throw std::runtime_error("cannot resolve '" + host + "': " + ec.message());
    at = found.begin()->endpoint();
  }
  s.acceptor.open(at.protocol(), ec);
  if (!ec) s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(at, ec);
  if (!ec) s.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  s.bound_port = s.acceptor.local_endpoint().port();
  s.accept();
  for (std::size_t i = 0; i < std::max<std::size_t>(1, s.opts.io_threads); ++i)
    s.threads.emplace_back([&s] { s.io.run(); });
}

int http_server::port() const { return impl_->bound_port; }

void http_server::stop() { impl_->stop(); }

} // namespace poe::actors::gw
