#pragma once
/// @file
/// The supervisor's restart policy as a pure state machine (no CAF include): it is told
/// which children exist and when one exits, and answers what to do. Time is an input.
///
/// Rules (Erlang/OTP's, with a backoff):
/// - `one_for_one`: only the child that exited is restarted;
///   `one_for_all`: every child is stopped and all are restarted, in start order.
/// - At most `max_restarts` restarts within any sliding `window`; one more escalates: the
///   supervisor gives up and the node stops with the exit reason of the last failure.
/// - The k-th restart inside the window waits `min(backoff_initial * 2^(k-1), backoff_max)`.
/// - Exits while shutting down are expected and never restarted.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace poe::runtime {

using duration = std::chrono::nanoseconds;
/// A point on a monotonic clock, as a duration since the clock's epoch.
using instant = std::chrono::nanoseconds;

enum class restart_strategy { one_for_one, one_for_all };

/// "one-for-one" / "one-for-all".
std::string_view to_string(restart_strategy s);
/// Parses "one-for-one" or "one-for-all"; false on anything else.
bool parse_restart_strategy(std::string_view text, restart_strategy& out);

/// `min(initial * 2^(attempt-1), max)` for attempt >= 1; attempt 0 counts as 1. Never
/// overflows, whatever `attempt` and `max`.
duration backoff_delay(duration initial, duration max, std::uint32_t attempt);

struct restart_policy {
  restart_strategy strategy = restart_strategy::one_for_one;
  std::uint32_t max_restarts = 5;
  duration window = std::chrono::seconds(30);
  duration backoff_initial = std::chrono::milliseconds(100);
  duration backoff_max = std::chrono::seconds(5);
};

/// What the supervisor must do after a child exited.
struct restart_decision {
  enum class action {
    ignore,   ///< expected exit (shutdown, or a child being stopped for one_for_all)
    restart,  ///< stop `stop` (one_for_all), then after `delay` start `start` in order
    escalate, ///< restart limit exceeded: stop everything, the node fails with `reason`
  };
  action what = action::ignore;
  std::vector<std::string> stop;  ///< still-running children to stop first
  std::vector<std::string> start; ///< children to start again, in start order
  duration delay{0};
  std::string reason; ///< human-readable, e.g. "role 'probe' exited: boom (3rd restart in 30s)"
};

class supervisor_state {
public:
  explicit supervisor_state(restart_policy policy);

  const restart_policy& policy() const { return policy_; }

  /// Registers a child (in start order). Names are unique.
  void add_child(std::string name);
  const std::vector<std::string>& children() const { return order_; }

  /// A child was (re)started and is running.
  void on_started(const std::string& name);

  /// A child exited with `reason` at `now`. Unknown names are ignored.
  restart_decision on_exit(const std::string& name, const std::string& reason, instant now);

  /// Shutdown begins: from now on every exit is expected.
  void begin_shutdown() { shutting_down_ = true; }
  bool shutting_down() const { return shutting_down_; }

  bool running(const std::string& name) const;
  /// Total restarts of `name` since start.
  std::uint64_t restarts(const std::string& name) const;

private:
  struct child {
    bool running = false;
    bool stopping = false; // being stopped by us (one_for_all); its exit is expected
    std::uint64_t restarts = 0;
  };
  restart_policy policy_;
  std::vector<std::string> order_;
  std::map<std::string, child> children_;
  std::deque<instant> recent_; // restart times inside the window
  bool shutting_down_ = false;
};

} // namespace poe::runtime
