// poe::metrics::registry — the only code that touches prometheus-cpp (STYLE.md principle 8).
//
// prometheus-cpp 1.0 quirks handled here:
// - `prometheus::Registry` refuses a second family of the same name with other *constant*
//   labels, so our labels are per-series labels of one family per name (no constant labels),
//   and the families are cached by name.
// - `prometheus::Exposer` throws `CivetException` on any start failure with a fixed text
//   ("Possible problem binding to port"); the cause is only reported through civetweb's
//   `log_message` callback, which we capture on the calling thread during construction.
// - civetweb (1.15, Debian build) parses "999.1.1.1:80" as a valid address and rejects IPv6
//   "[::1]:port", so the address is validated here first (IPv4 literal + port).
// - Port 0 works: civetweb reports the bound port through `Exposer::GetListeningPorts()`.
// - Destroying an Exposer sometimes takes ~2 s instead of ~10 ms (observed after a scrape and
//   when a second exposer exists in the process): civetweb's shutdown, harmless but slow.
// - The `/metrics` body also carries the exposer's own `exposer_*` families.

#include "poe/runtime/metrics.hpp"

#include <prometheus/check_names.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <CivetServer.h>
#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <stdexcept>
#include <variant>

namespace poe::metrics {

namespace {

// ---------------------------------------------------------------- sinks

// Each sink keeps the prometheus registry (which owns the family, which owns the metric) alive.
using registry_ptr = std::shared_ptr<prometheus::Registry>;

class prom_counter final : public counter {
public:
  prom_counter(registry_ptr keep, prometheus::Counter& c) : keep_(std::move(keep)), c_(c) {}
  void inc(double v) override { c_.Increment(v); }

private:
  registry_ptr keep_;
  prometheus::Counter& c_;
};

class prom_gauge final : public gauge {
public:
  prom_gauge(registry_ptr keep, prometheus::Gauge& g) : keep_(std::move(keep)), g_(g) {}
  void set(double v) override { g_.Set(v); }
  void inc(double v) override { g_.Increment(v); }
  void dec(double v) override { g_.Decrement(v); }

private:
  registry_ptr keep_;
  prometheus::Gauge& g_;
};

class prom_histogram final : public histogram {
public:
  prom_histogram(registry_ptr keep, prometheus::Histogram& h) : keep_(std::move(keep)), h_(h) {}
  void observe(double v) override { h_.Observe(v); }

private:
  registry_ptr keep_;
  prometheus::Histogram& h_;
};

// ---------------------------------------------------------------- checks

[[noreturn]] void misuse(const std::string& what) {
  throw std::logic_error("metrics: " + what);
}

void check_names(const std::string& name, const label_set& labels) {
  if (!prometheus::CheckMetricName(name)) misuse("invalid metric name '" + name + "'");
  for (const auto& [key, value] : labels)
    if (!prometheus::CheckLabelName(key) || key == "le" || key == "quantile")
      misuse("invalid label name '" + key + "' of metric '" + name + "'");
}

// ---------------------------------------------------------------- address parsing

struct bind_address {
  std::string host;
  uint16_t port = 0;
};

// Accepts "a.b.c.d:port" only (civetweb misparses other forms, see the top of this file).
result<bind_address> parse_address(const std::string& address) {
  auto bad = [&](const std::string& why) {
    return fail(errc::invalid_argument, "metrics address '" + address + "': " + why +
                                            " (expected IPv4:port, e.g. 127.0.0.1:9464)");
  };
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return bad("no port");
  bind_address out;
  out.host = address.substr(0, colon);
  auto port = address.substr(colon + 1);
  in_addr ignored{};
  if (inet_pton(AF_INET, out.host.c_str(), &ignored) != 1)
    return bad("host is not an IPv4 address");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535)
    return bad("port is not a number in 0..65535");
  out.port = static_cast<uint16_t>(value);
  return out;
}

// civetweb reports why it could not start only through its log callback; the messages of a
// start attempt are collected here (the start runs on the calling thread).
thread_local std::string* civet_log_capture = nullptr;

// Keeps the first message, the cause ("cannot bind to 127.0.0.1:9464: 98 (Address already in
// use)"); the next one is always the generic "Failed to setup server ports".
int capture_civet_log(const mg_connection*, const char* message) {
  if (civet_log_capture == nullptr) return 0; // not starting: civetweb's default handling
  if (civet_log_capture->empty()) *civet_log_capture = message;
  return 1;
}

} // namespace

// ---------------------------------------------------------------- registry

struct registry::impl {
  /// A cached family: its type-specific handle, its help text and (histograms) its buckets.
  struct family_entry {
    std::variant<prometheus::Family<prometheus::Counter>*, prometheus::Family<prometheus::Gauge>*,
                 prometheus::Family<prometheus::Histogram>*>
        family;
    std::string help;
    std::vector<double> buckets;
  };

  registry_ptr prom = std::make_shared<prometheus::Registry>();
  mutable std::mutex mtx;
  std::map<std::string, family_entry> families;
  std::unique_ptr<prometheus::Exposer> exposer; // destroyed first: stops serving
  std::string serving_address;

  static const char* type_name(std::size_t index) {
    static const char* names[] = {"counter", "gauge", "histogram"};
    return names[index];
  }

  /// The family `name` of type `Metric`, created with `make` (a prometheus builder) on first
  /// use; a reuse with another type, help or buckets throws. Requires `mtx` held.
  template <class Metric, class Builder>
  prometheus::Family<Metric>& family(const std::string& name, const std::string& help,
                                     const std::vector<double>& buckets, Builder make) {
    using family_ptr = prometheus::Family<Metric>*;
    auto i = families.find(name);
    if (i == families.end()) {
      auto& fam = make().Name(name).Help(help).Register(*prom);
      families.emplace(name, family_entry{&fam, help, buckets});
      return fam;
    }
    auto& entry = i->second;
    if (!std::holds_alternative<family_ptr>(entry.family))
      misuse("metric '" + name + "' is already registered as a " + type_name(entry.family.index()) +
             ", requested as a " + type_name(decltype(entry.family){family_ptr{}}.index()));
    if (entry.help != help)
      misuse("metric '" + name + "' is already registered with help '" + entry.help +
             "', requested with help '" + help + "'");
    if (entry.buckets != buckets)
      misuse("histogram '" + name + "' is already registered with other buckets");
    return *std::get<family_ptr>(entry.family);
  }
};

registry::registry() : impl_(std::make_unique<impl>()) {}

registry::~registry() = default;

std::shared_ptr<counter> registry::make_counter(const std::string& name, const std::string& help,
                                                const label_set& labels) {
  check_names(name, labels);
  if (name.size() < 6 || name.compare(name.size() - 6, 6, "_total") != 0)
    misuse("counter name '" + name + "' must end in '_total'");
  std::lock_guard<std::mutex> guard{impl_->mtx};
  auto& fam = impl_->family<prometheus::Counter>(name, help, {}, prometheus::BuildCounter);
  return std::make_shared<prom_counter>(impl_->prom, fam.Add(labels));
}

std::shared_ptr<gauge> registry::make_gauge(const std::string& name, const std::string& help,
                                            const label_set& labels) {
  check_names(name, labels);
  std::lock_guard<std::mutex> guard{impl_->mtx};
  auto& fam = impl_->family<prometheus::Gauge>(name, help, {}, prometheus::BuildGauge);
  return std::make_shared<prom_gauge>(impl_->prom, fam.Add(labels));
}

std::shared_ptr<histogram> registry::make_histogram(const std::string& name,
                                                    const std::string& help,
                                                    std::vector<double> buckets,
                                                    const label_set& labels) {
  check_names(name, labels);
  if (std::adjacent_find(buckets.begin(), buckets.end(), std::greater_equal<>{}) != buckets.end())
    misuse("histogram '" + name + "' buckets are not strictly increasing");
  std::lock_guard<std::mutex> guard{impl_->mtx};
  auto& fam = impl_->family<prometheus::Histogram>(name, help, buckets, prometheus::BuildHistogram);
  return std::make_shared<prom_histogram>(impl_->prom, fam.Add(labels, buckets));
}

status registry::serve(const std::string& address) {
  if (address.empty() || address == "off") return {};
  auto parsed = parse_address(address);
  if (!parsed) return parsed.err();
  std::lock_guard<std::mutex> guard{impl_->mtx};
  if (impl_->exposer)
    return fail(errc::invalid_argument, "metrics: cannot serve on " + address +
                                            ": already serving on " + impl_->serving_address);
  CivetCallbacks callbacks;
  callbacks.log_message = capture_civet_log;
  std::string civet_log;
  civet_log_capture = &civet_log;
  try {
    impl_->exposer = std::make_unique<prometheus::Exposer>(address, 2, &callbacks);
  } catch (const std::exception& e) {
    civet_log_capture = nullptr;
    return fail(errc::io_error, "metrics: cannot serve on " + address + ": " +
                                    (civet_log.empty() ? std::string{e.what()} : civet_log));
  }
  civet_log_capture = nullptr;
  impl_->exposer->RegisterCollectable(impl_->prom);
  impl_->serving_address = address;
  return {};
}

uint16_t registry::port() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  if (!impl_->exposer) return 0;
  auto ports = impl_->exposer->GetListeningPorts();
  return ports.empty() ? 0 : static_cast<uint16_t>(ports.front());
}

std::string registry::render() const {
  return prometheus::TextSerializer{}.Serialize(impl_->prom->Collect());
}

} // namespace poe::metrics
