#pragma once
/// @file
/// Metrics, injected with a no-op default (STYLE.md principle 8).
///
/// Roles and state machines see only the abstract sinks below (`counter`, `gauge`,
/// `histogram`) and a `factory` that makes them; by default they get `noop_factory()`, whose
/// products do nothing. Only the runtime creates a `registry`, the one class that touches
/// prometheus-cpp: it owns the node's prometheus registry and the HTTP exposer serving
/// `/metrics`. No prometheus-cpp type crosses this header.
///
/// Every sink is thread-safe. Metric names follow the Prometheus conventions: a `poe_` prefix,
/// base units in the name (`_seconds`, `_bytes`), counters end in `_total`.

#include "poe/core/error.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace poe::metrics {

/// Label names to label values, e.g. `{{"role", "validator"}}`.
using label_set = std::map<std::string, std::string>;

/// A monotonically increasing value (Prometheus counter). The default does nothing.
struct counter {
  virtual ~counter() = default;
  /// Adds `v` (>= 0; negative increments are ignored by the registry's counters).
  virtual void inc(double v = 1) {}
};

/// A value that goes up and down (Prometheus gauge). The default does nothing.
struct gauge {
  virtual ~gauge() = default;
  /// Sets the value to `v`.
  virtual void set(double v) {}
  /// Adds `v`.
  virtual void inc(double v = 1) {}
  /// Subtracts `v`.
  virtual void dec(double v = 1) {}
};

/// A distribution of observed values in cumulative buckets (Prometheus histogram).
/// The default does nothing.
struct histogram {
  virtual ~histogram() = default;
  /// Records one observation `v`.
  virtual void observe(double v) {}
};

/// Makes metric sinks. The base class is the no-op factory: its products do nothing, so roles
/// can be built and tested without any registry. The runtime passes a `registry` instead.
class factory {
public:
  virtual ~factory() = default;

  /// A counter. `name`: the full Prometheus name, e.g. "poe_blocks_committed_total";
  /// `help`: one line of documentation; `labels`: the labels of this series (constant for the
  /// returned sink). Calls with the same name and different labels yield series of one family.
  virtual std::shared_ptr<counter> make_counter(const std::string& name, const std::string& help,
                                                const label_set& labels = {});

  /// A gauge, e.g. "poe_validator_height". Parameters as for `make_counter`.
  virtual std::shared_ptr<gauge> make_gauge(const std::string& name, const std::string& help,
                                            const label_set& labels = {});

  /// A histogram with the upper bucket bounds `buckets` (strictly increasing; the `+Inf`
  /// bucket is implicit), e.g. "poe_block_commit_seconds". Other parameters as for
  /// `make_counter`.
  virtual std::shared_ptr<histogram> make_histogram(const std::string& name,
                                                    const std::string& help,
                                                    std::vector<double> buckets,
                                                    const label_set& labels = {});
};

/// The shared no-op factory (stateless): the default for every role's metrics.
factory& noop_factory();

/// The node's metrics registry and HTTP exposer (prometheus-cpp).
///
/// Families are cached by name: the same name with different labels maps to one Prometheus
/// family, the same name and labels to the same series. Reusing a name with a different type,
/// help text or histogram buckets, an invalid metric or label name, a counter name without the
/// `_total` suffix or unsorted buckets is a programming error and throws `std::logic_error`.
/// Sinks stay valid after the registry is destroyed (they keep the underlying metric alive).
/// All member functions are thread-safe.
class registry final : public factory {
public:
  /// An empty registry, not serving.
  registry();
  /// Stops serving (civetweb may take up to ~2 s to join its threads).
  ~registry() override;
  /// Not copyable: one registry per node, passed by reference.
  registry(const registry&) = delete;
  /// Not copyable.
  registry& operator=(const registry&) = delete;

  /// Starts serving `/metrics` over HTTP on `address`, "IPv4:port" ("127.0.0.1:9464",
  /// "0.0.0.0:9464"); port 0 picks a free port (see `port()`). An empty address or "off"
  /// disables serving and returns ok (it never stops a running server). Host names and IPv6
  /// are not supported (civetweb as built by Debian). Errors name the address and the cause:
  /// `errc::invalid_argument` for a malformed address or a second call while serving,
  /// `errc::io_error` when the address cannot be bound (e.g. "Address already in use").
  status serve(const std::string& address);

  /// The bound TCP port, 0 if not serving.
  uint16_t port() const;

  /// Everything registered in the Prometheus text exposition format: the `/metrics` body
  /// without the exposer's own `exposer_*` families. For tests and `poe-node --dump-metrics`.
  std::string render() const;

  /// A counter series of this registry; see `factory::make_counter` and the class comment.
  std::shared_ptr<counter> make_counter(const std::string& name, const std::string& help,
                                        const label_set& labels = {}) override;
  /// A gauge series of this registry; see `factory::make_gauge` and the class comment.
  std::shared_ptr<gauge> make_gauge(const std::string& name, const std::string& help,
                                    const label_set& labels = {}) override;
  /// A histogram series of this registry; see `factory::make_histogram` and the class comment.
  std::shared_ptr<histogram> make_histogram(const std::string& name, const std::string& help,
                                            std::vector<double> buckets,
                                            const label_set& labels = {}) override;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Node-level metrics every poe-node exports, created from a factory.
/// The per-role and per-event helpers create their series on first use; the references they
/// return stay valid for the lifetime of this object. Thread-safe.
struct node_metrics {
  /// Creates the node-level series in `f`; sets `build_info` to 1 and creates
  /// `connection_events` for every event in `known_connection_events` (at 0).
  node_metrics(factory& f, const std::string& node_id, const std::string& version,
               const std::string& git_rev);
  /// Not copyable (it hands out references to its series).
  node_metrics(const node_metrics&) = delete;
  /// Not copyable.
  node_metrics& operator=(const node_metrics&) = delete;

  /// The connection events pre-created by the constructor: "connected", "disconnected",
  /// "auth_failed", "connect_failed", "heartbeat_timeout", and the TLS guard's "tls_refused_per_address",
  /// "tls_refused_total", "tls_handshake_timeout" (runtime/node/tls_guard.cpp).
  static const std::vector<std::string> known_connection_events;

  /// `poe_build_info{version, git_revision, node_id}`, always 1.
  std::shared_ptr<gauge> build_info;
  /// `poe_peers_connected`: peers with a live connection.
  std::shared_ptr<gauge> peers_connected;
  /// `poe_start_time_seconds`: Unix time the node started (set by the caller).
  std::shared_ptr<gauge> start_time_seconds;

  /// `poe_role_running{role}`: 1 while the role's actor runs, 0 otherwise.
  gauge& role_running(const std::string& role);
  /// `poe_role_restarts_total{role}`: restarts of the role by its supervisor.
  counter& role_restarts(const std::string& role);
  /// `poe_messages_handled_total{role}`: messages the role has handled.
  counter& messages_handled(const std::string& role);
  /// `poe_connection_events_total{event}`: connection events, see `known_connection_events`.
  counter& connection_events(const std::string& event);
  /// `poe_peer_rejected_total{reason}`: peer messages dropped because they claimed an identity
  /// or handle their connection does not prove (peer_registry.hpp's `peer_reject`).
  counter& peer_rejected(const std::string& reason);

private:
  factory& factory_;
  std::mutex mtx_;
  std::map<std::string, std::shared_ptr<gauge>> role_running_;
  std::map<std::string, std::shared_ptr<counter>> role_restarts_;
  std::map<std::string, std::shared_ptr<counter>> messages_handled_;
  std::map<std::string, std::shared_ptr<counter>> connection_events_;
  std::map<std::string, std::shared_ptr<counter>> peer_rejected_;
};

} // namespace poe::metrics
