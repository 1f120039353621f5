#pragma once
/// @file
/// Worker threads for an actor's heavy work (media decoding, probing, splitting), so the actor
/// stays responsive. Work runs on a worker thread and returns a continuation; the actor runs
/// the continuations on its own thread when it calls `collect` (on a short timer while
/// `!idle()`), so worker threads never call into CAF and the actor's state is only touched by
/// the actor. The same works under CAF's deterministic test scheduler.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace poe::actors {

class offload {
public:
  using continuation = std::function<void()>;
  /// Runs on a worker thread; must not throw (catch and return a continuation reporting it).
  using work = std::function<continuation()>;

  explicit offload(std::size_t threads);
  /// Calls `stop`.
  ~offload();
  offload(const offload&) = delete;
  offload& operator=(const offload&) = delete;

  void post(work w);
  /// Runs the continuations of finished work on the calling thread; returns how many ran.
  std::size_t collect();
  /// Work running on a worker thread now.
  std::size_t busy() const;
  /// Work waiting for a thread.
  std::size_t queued() const;
  /// Nothing queued, running or waiting to be collected.
  bool idle() const;
  /// Drops queued work and uncollected continuations (they may hold the actor's state) and
  /// lets the threads exit; a running job finishes first, its continuation is dropped.
  void stop();

private:
  struct shared {
    mutable std::mutex m;
    std::condition_variable cv;
    std::deque<work> queue;
    std::vector<continuation> done;
    std::size_t busy = 0;
    bool stop = false;
  };
  static void run(std::shared_ptr<shared> s);
  std::shared_ptr<shared> s_;
};

} // namespace poe::actors
