#include "offload.hpp"

#include <algorithm>
#include <thread>

namespace poe::actors {

offload::offload(std::size_t threads) : s_(std::make_shared<shared>()) {
  for (std::size_t i = 0; i < std::max<std::size_t>(1, threads); ++i)
    std::thread(&offload::run, s_).detach(); // holds `s_` until it sees `stop`
}

offload::~offload() {
  stop();
}

void offload::run(std::shared_ptr<shared> s) {
  for (;;) {
    work w;
    {
      std::unique_lock lock(s->m);
      s->cv.wait(lock, [&] { return s->stop || !s->queue.empty(); });
      if (s->stop) return;
      w = std::move(s->queue.front());
      s->queue.pop_front();
      ++s->busy;
    }
    auto then = w();
    w = nullptr; // release what the work captured before the next job
    {
      std::lock_guard lock(s->m);
      --s->busy;
      if (!s->stop && then) s->done.push_back(std::move(then));
    }
    // A dropped continuation is destroyed here, outside the lock: it may hold the last
    // reference to the actor's state, whose destructor stops this offload.
  }
}

void offload::post(work w) {
  {
    std::lock_guard lock(s_->m);
    if (s_->stop) return;
    s_->queue.push_back(std::move(w));
  }
  s_->cv.notify_one();
}

std::size_t offload::collect() {
  std::vector<continuation> ready;
  {
    std::lock_guard lock(s_->m);
    ready.swap(s_->done);
  }
  for (auto& c : ready)
    c();
  return ready.size();
}

std::size_t offload::busy() const {
  std::lock_guard lock(s_->m);
  return s_->busy;
}

std::size_t offload::queued() const {
  std::lock_guard lock(s_->m);
  return s_->queue.size();
}

bool offload::idle() const {
  std::lock_guard lock(s_->m);
  return s_->queue.empty() && s_->busy == 0 && s_->done.empty();
}

void offload::stop() {
  std::deque<work> queue;
  std::vector<continuation> done;
  {
    std::lock_guard lock(s_->m);
    s_->stop = true;
    queue.swap(s_->queue);
    done.swap(s_->done);
  }
  s_->cv.notify_all();
  // `queue` and `done` are destroyed here, outside the lock (they may own the actor's state).
}

} // namespace poe::actors
