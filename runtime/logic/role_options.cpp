#include "poe/runtime/role_options.hpp"

#include <charconv>
#include <functional>
#include <limits>
#include <map>

namespace poe::runtime {

namespace {

constexpr std::size_t u32_max = std::numeric_limits<std::uint32_t>::max();

struct range {
  std::size_t lo, hi;
};

struct numeric {
  std::function<std::size_t&(role_options&)> ref;
  range r;
};

const std::map<std::string_view, numeric>& numerics() {
  static const std::map<std::string_view, numeric> table{
    {"storage.replicas", {[](role_options& o) -> std::size_t& { return o.storage.replicas; }, {1, 16}}},
    {"storage.acks", {[](role_options& o) -> std::size_t& { return o.storage.acks; }, {0, 16}}},
    {"storage.max-object-mib",
     {[](role_options& o) -> std::size_t& { return o.storage.max_object_mib; }, {1, 1'048'576}}},
    {"storage.challenge-interval-ms",
     {[](role_options& o) -> std::size_t& { return o.storage.challenge_interval_ms; }, {0, 86'400'000}}},
    {"execution.workers", {[](role_options& o) -> std::size_t& { return o.execution.workers; }, {1, 64}}},
    {"execution.max-pending",
     {[](role_options& o) -> std::size_t& { return o.execution.max_pending; }, {1, 10'000'000}}},
    {"verifier.sample-rate-ppm",
     {[](role_options& o) -> std::size_t& { return o.verifier.sample_rate_ppm; }, {0, 1'000'000}}},
    {"verifier.task-timeout-ms",
     {[](role_options& o) -> std::size_t& { return o.verifier.task_timeout_ms; }, {1000, 86'400'000}}},
    {"verifier.segment-ms",
     {[](role_options& o) -> std::size_t& { return o.verifier.segment_ms; }, {500, 600'000}}},
    {"verifier.threads", {[](role_options& o) -> std::size_t& { return o.verifier.threads; }, {1, 16}}},
    {"verifier.gop", {[](role_options& o) -> std::size_t& { return o.verifier.gop; }, {1, 600}}},
    {"verifier.audio-rate",
     {[](role_options& o) -> std::size_t& { return o.verifier.audio_rate; }, {8000, 96000}}},
    {"verifier.check-threads",
     {[](role_options& o) -> std::size_t& { return o.verifier.check_threads; }, {1, 16}}},
    {"verifier.max-held-tasks",
     {[](role_options& o) -> std::size_t& { return o.verifier.max_held_tasks; }, {100, 10'000'000}}},
    {"builder.max-receipts",
     {[](role_options& o) -> std::size_t& { return o.builder.max_receipts; }, {1, 100'000}}},
    {"builder.max-age-ms",
     {[](role_options& o) -> std::size_t& { return o.builder.max_age_ms; }, {0, 3'600'000}}},
    {"builder.priority", {[](role_options& o) -> std::size_t& { return o.builder.priority; }, {0, u32_max}}},
    {"builder.bid-base", {[](role_options& o) -> std::size_t& { return o.builder.bid_base; }, {0, u32_max}}},
    {"builder.bid-per-header",
     {[](role_options& o) -> std::size_t& { return o.builder.bid_per_header; }, {0, u32_max}}},
    {"builder.bid-share-ppm",
     {[](role_options& o) -> std::size_t& { return o.builder.bid_share_ppm; }, {0, 1'000'000}}},
    {"gateway.threads", {[](role_options& o) -> std::size_t& { return o.gateway.threads; }, {1, 256}}},
    {"gateway.keep-alive-s", {[](role_options& o) -> std::size_t& { return o.gateway.keep_alive_s; }, {0, 300}}},
    {"gateway.cache-mb", {[](role_options& o) -> std::size_t& { return o.gateway.cache_mb; }, {1, 65'536}}},
    {"gateway.credit-seconds",
     {[](role_options& o) -> std::size_t& { return o.gateway.credit_seconds; }, {0, 600}}},
    {"gateway.session-idle-s",
     {[](role_options& o) -> std::size_t& { return o.gateway.session_idle_s; }, {1, 3'600}}},
    {"gateway.receipt-every-s",
     {[](role_options& o) -> std::size_t& { return o.gateway.receipt_every_s; }, {10, 86'400}}},
  };
  return table;
}

const std::map<std::string_view, std::function<std::string&(role_options&)>>& texts() {
  static const std::map<std::string_view, std::function<std::string&(role_options&)>> table{
    {"validator.genesis", [](role_options& o) -> std::string& { return o.validator.genesis; }},
    {"verifier.ladder", [](role_options& o) -> std::string& { return o.verifier.ladder; }},
    {"verifier.preset", [](role_options& o) -> std::string& { return o.verifier.preset; }},
    {"verifier.cpu", [](role_options& o) -> std::string& { return o.verifier.cpu; }},
    {"gateway.listen", [](role_options& o) -> std::string& { return o.gateway.listen; }},
    {"gateway.web-dir", [](role_options& o) -> std::string& { return o.gateway.web_dir; }},
  };
  return table;
}

const std::map<std::string_view, std::function<bool&(role_options&)>>& flags() {
  static const std::map<std::string_view, std::function<bool&(role_options&)>> table{
    {"validator.censor", [](role_options& o) -> bool& { return o.validator.censor; }},
    {"builder.withhold", [](role_options& o) -> bool& { return o.builder.withhold; }},
  };
  return table;
}

} // namespace

std::vector<std::string> check_role_options(const role_options& o) {
  std::vector<std::string> problems;
  auto copy = o;
  for (auto& [key, n] : numerics()) {
    auto v = n.ref(copy);
    if (v < n.r.lo || v > n.r.hi)
      problems.push_back(std::string(key) + ": " + std::to_string(v) + " is not in " +
                         std::to_string(n.r.lo) + ".." + std::to_string(n.r.hi));
  }
  if (o.storage.acks > o.storage.replicas)
    problems.push_back("storage.acks: " + std::to_string(o.storage.acks) +
                       " exceeds storage.replicas (" + std::to_string(o.storage.replicas) + ")");
  if (o.verifier.cpu != "avx2" && o.verifier.cpu != "sse2")
    problems.push_back("verifier.cpu: '" + o.verifier.cpu + "' is not avx2 or sse2");
  {
    // host:port with an IPv4 literal host and a port 0..65535.
    auto& l = o.gateway.listen;
    auto colon = l.rfind(':');
    bool ok = colon != std::string::npos && colon > 0 && colon + 1 < l.size() && l.size() - colon - 1 <= 5;
    unsigned port = 0;
    if (ok) {
      auto [end, ec] = std::from_chars(l.data() + colon + 1, l.data() + l.size(), port);
      ok = ec == std::errc{} && end == l.data() + l.size() && port <= 65535;
    }
    int dots = 0;
    for (std::size_t i = 0; ok && i < colon; ++i) {
      char c = l[i];
      if (c == '.') ++dots;
      else if (c < '0' || c > '9') ok = false;
    }
    if (!ok || dots != 3)
      problems.push_back("gateway.listen: '" + l + "' is not IPv4-address:port (e.g. 127.0.0.1:8080)");
  }
  return problems;
}

status set_role_option(role_options& o, std::string_view key, std::string_view value) {
  auto bad = [&](const std::string& what) {
    return fail(errc::invalid_argument, std::string(key) + ": " + what);
  };
  auto copy = o;
  if (auto n = numerics().find(key); n != numerics().end()) {
    std::size_t v = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc{} || end != value.data() + value.size())
      return bad("expects an unsigned integer, got '" + std::string(value) + "'");
    n->second.ref(copy) = v;
  } else if (auto t = texts().find(key); t != texts().end()) {
    t->second(copy) = std::string(value);
  } else if (auto f = flags().find(key); f != flags().end()) {
    if (value != "true" && value != "false")
      return bad("expects true or false, got '" + std::string(value) + "'");
    f->second(copy) = value == "true";
  } else {
    return bad("not a role option");
  }
  for (auto& p : check_role_options(copy))
    if (p.rfind(std::string(key) + ":", 0) == 0) return fail(errc::invalid_argument, p);
  o = std::move(copy);
  return {};
}

} // namespace poe::runtime
