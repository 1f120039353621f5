#pragma once
// The gateway's cache of response bodies (playlists and CID-checked segments) by request path,
// shared by the HTTP threads (reads) and the gateway actor (writes). Bounded in bytes, least
// recently used out first; a body is shared, never copied, while it is being sent.
#include "poe/core/types.hpp"

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace poe::gateway {

struct cached_body {
  std::shared_ptr<const bytes> body;
  std::string content_type;
};

class body_cache {
public:
  explicit body_cache(std::uint64_t max_bytes) : max_(max_bytes) {}

  std::optional<cached_body> get(const std::string& key) {
    std::lock_guard<std::mutex> lock(m_);
    auto it = map_.find(key);
    if (it == map_.end()) return std::nullopt;
    order_.splice(order_.begin(), order_, it->second.pos);
    return it->second.value;
  }

  void put(const std::string& key, cached_body v) {
    std::lock_guard<std::mutex> lock(m_);
    auto size = v.body ? v.body->size() : 0;
    if (auto it = map_.find(key); it != map_.end()) {
      used_ -= it->second.value.body ? it->second.value.body->size() : 0;
      order_.erase(it->second.pos);
      map_.erase(it);
    }
    order_.push_front(key);
    map_.emplace(key, entry{std::move(v), order_.begin()});
    used_ += size;
    while (used_ > max_ && order_.size() > 1) { // the newest stays, even when larger than the bound
      auto& old = map_.at(order_.back());
      used_ -= old.value.body ? old.value.body->size() : 0;
      map_.erase(order_.back());
      order_.pop_back();
    }
  }

  std::uint64_t bytes_used() const {
    std::lock_guard<std::mutex> lock(m_);
    return used_;
  }

private:
  struct entry {
    cached_body value;
    std::list<std::string>::iterator pos;
  };
  mutable std::mutex m_;
  std::uint64_t max_, used_ = 0;
  std::list<std::string> order_;
  std::unordered_map<std::string, entry> map_;
};

} // namespace poe::gateway
