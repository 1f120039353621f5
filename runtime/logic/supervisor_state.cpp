#include "poe/runtime/supervisor_state.hpp"

#include <algorithm>

namespace poe::runtime {

std::string_view to_string(restart_strategy s) {
  return s == restart_strategy::one_for_one ? "one-for-one" : "one-for-all";
}

bool parse_restart_strategy(std::string_view text, restart_strategy& out) {
  if (text == "one-for-one") {
    out = restart_strategy::one_for_one;
    return true;
  }
  if (text == "one-for-all") {
    out = restart_strategy::one_for_all;
    return true;
  }
  return false;
}

duration backoff_delay(duration initial, duration max, std::uint32_t attempt) {
  auto d = std::min(initial, max);
  // Doubling stops at the cap before it could overflow (a cap near duration::max() used to
  // wrap to negative delays), and a zero delay stays zero without looping through `attempt`.
  for (std::uint32_t i = 1; i < attempt && d > duration::zero(); ++i) {
    if (d > max - d) return max;
    d *= 2;
  }
  return d;
}

supervisor_state::supervisor_state(restart_policy policy) : policy_(policy) {}

void supervisor_state::add_child(std::string name) {
  if (children_.count(name)) return;
  children_.emplace(name, child{});
  order_.push_back(std::move(name));
}

void supervisor_state::on_started(const std::string& name) {
  auto i = children_.find(name);
  if (i == children_.end()) return;
  i->second.running = true;
  i->second.stopping = false;
}

bool supervisor_state::running(const std::string& name) const {
  auto i = children_.find(name);
  return i != children_.end() && i->second.running;
}

std::uint64_t supervisor_state::restarts(const std::string& name) const {
  auto i = children_.find(name);
  return i == children_.end() ? 0 : i->second.restarts;
}

namespace {

std::string ordinal(std::size_t n) {
  auto suffix = "th";
  if (n % 100 < 11 || n % 100 > 13) {
    if (n % 10 == 1) suffix = "st";
    else if (n % 10 == 2) suffix = "nd";
    else if (n % 10 == 3) suffix = "rd";
  }
  return std::to_string(n) + suffix;
}

std::string seconds_text(duration d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

} // namespace

restart_decision supervisor_state::on_exit(const std::string& name, const std::string& reason,
                                           instant now) {
  restart_decision out;
  auto i = children_.find(name);
  if (i == children_.end()) return out;
  auto& c = i->second;
  c.running = false;
  if (shutting_down_ || c.stopping) {
    c.stopping = false;
    return out; // expected
  }
  // Forget restarts that left the sliding window.
  while (!recent_.empty() && now - recent_.front() >= policy_.window)
    recent_.pop_front();
  if (recent_.size() >= policy_.max_restarts) {
    out.what = restart_decision::action::escalate;
    out.reason = "role '" + name + "' exited: " + reason + " — restart limit reached (" +
                 std::to_string(policy_.max_restarts) + " restarts in " +
                 seconds_text(policy_.window) + ")";
    for (auto& n : order_)
      if (children_[n].running) out.stop.push_back(n);
    shutting_down_ = true;
    return out;
  }
  recent_.push_back(now);
  auto attempt = static_cast<std::uint32_t>(recent_.size());
  out.what = restart_decision::action::restart;
  out.delay = backoff_delay(policy_.backoff_initial, policy_.backoff_max, attempt);
  out.reason = "role '" + name + "' exited: " + reason + " (" + ordinal(attempt) +
               " restart in " + seconds_text(policy_.window) + ", backoff " +
               seconds_text(out.delay) + ")";
  if (policy_.strategy == restart_strategy::one_for_one) {
    ++c.restarts;
    out.start.push_back(name);
    return out;
  }
  for (auto& n : order_) {
    auto& other = children_[n];
    if (n != name && other.running) {
      other.stopping = true;
      out.stop.push_back(n);
    }
    ++other.restarts;
    out.start.push_back(n);
  }
  return out;
}

} // namespace poe::runtime
