// The no-op factory and the node-level metrics. No prometheus-cpp here: see registry.cpp.

#include "poe/runtime/metrics.hpp"

#include <utility>

namespace poe::metrics {

std::shared_ptr<counter> factory::make_counter(const std::string&, const std::string&,
                                               const label_set&) {
  static const auto noop = std::make_shared<counter>();
  return noop;
}

std::shared_ptr<gauge> factory::make_gauge(const std::string&, const std::string&,
                                           const label_set&) {
  static const auto noop = std::make_shared<gauge>();
  return noop;
}

std::shared_ptr<histogram> factory::make_histogram(const std::string&, const std::string&,
                                                   std::vector<double>, const label_set&) {
  static const auto noop = std::make_shared<histogram>();
  return noop;
}

factory& noop_factory() {
  static factory instance;
  return instance;
}

// ---------------------------------------------------------------- node_metrics

const std::vector<std::string> node_metrics::known_connection_events = {
    "connected", "disconnected", "auth_failed", "connect_failed", "heartbeat_timeout",
    "tls_refused_per_address", "tls_refused_total", "tls_handshake_timeout",
    "basp_node_taken", "basp_forged_source"};

namespace {

constexpr const char* role_running_name = "poe_role_running";
constexpr const char* role_running_help = "1 while the role's actor runs, 0 otherwise.";
constexpr const char* role_restarts_name = "poe_role_restarts_total";
constexpr const char* role_restarts_help = "Restarts of the role by its supervisor.";
constexpr const char* messages_handled_name = "poe_messages_handled_total";
constexpr const char* messages_handled_help = "Messages handled by the role.";
constexpr const char* connection_events_name = "poe_connection_events_total";
constexpr const char* connection_events_help = "Peer connection events by kind.";

/// Returns the sink cached under `key` in `cache`, creating it with `make` on first use.
template <class T, class Make>
T& on_demand(std::map<std::string, std::shared_ptr<T>>& cache, const std::string& key,
             Make&& make) {
  auto i = cache.find(key);
  if (i == cache.end()) i = cache.emplace(key, std::forward<Make>(make)()).first;
  return *i->second;
}

} // namespace

node_metrics::node_metrics(factory& f, const std::string& node_id, const std::string& version,
                           const std::string& git_rev)
    : build_info(
          f.make_gauge("poe_build_info", "Build of the running poe-node; the value is always 1.",
                       {{"version", version}, {"git_revision", git_rev}, {"node_id", node_id}})),
      peers_connected(f.make_gauge("poe_peers_connected", "Peers with a live connection.")),
      start_time_seconds(f.make_gauge("poe_start_time_seconds",
                                      "Start time of the node since the Unix epoch in seconds.")),
      factory_(f) {
  build_info->set(1);
  for (const auto& event : known_connection_events)
    connection_events(event);
}

gauge& node_metrics::role_running(const std::string& role) {
  std::lock_guard<std::mutex> guard{mtx_};
  return on_demand(role_running_, role, [&] {
    return factory_.make_gauge(role_running_name, role_running_help, {{"role", role}});
  });
}

counter& node_metrics::role_restarts(const std::string& role) {
  std::lock_guard<std::mutex> guard{mtx_};
  return on_demand(role_restarts_, role, [&] {
    return factory_.make_counter(role_restarts_name, role_restarts_help, {{"role", role}});
  });
}

counter& node_metrics::messages_handled(const std::string& role) {
  std::lock_guard<std::mutex> guard{mtx_};
  return on_demand(messages_handled_, role, [&] {
    return factory_.make_counter(messages_handled_name, messages_handled_help, {{"role", role}});
  });
}

counter& node_metrics::connection_events(const std::string& event) {
  std::lock_guard<std::mutex> guard{mtx_};
  return on_demand(connection_events_, event, [&] {
    return factory_.make_counter(connection_events_name, connection_events_help,
                                 {{"event", event}});
  });
}

counter& node_metrics::peer_rejected(const std::string& reason) {
  std::lock_guard<std::mutex> guard{mtx_};
  return on_demand(peer_rejected_, reason, [&] {
    return factory_.make_counter("poe_peer_rejected_total",
                                 "Peer messages dropped: an identity or handle their connection "
                                 "does not prove, by reason.",
                                 {{"reason", reason}});
  });
}

} // namespace poe::metrics
