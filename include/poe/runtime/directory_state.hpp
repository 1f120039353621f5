#pragma once
/// @file
/// Who hosts which role, local and remote, and who wants to hear about it — a pure state
/// machine (no CAF include) over an opaque, equality-comparable `Handle` (a `caf::actor` in
/// the directory actor, an int in tests).
///
/// - Local roles are added and removed one handle at a time (a role restarted by its
///   supervisor gets a new handle).
/// - A remote node's roles are replaced wholesale whenever it announces them, and dropped
///   when the node goes away; announcements carry (incarnation, version) so a late, older one
///   is ignored.
/// - Every mutation returns the role names whose membership changed, so the adapter
///   notifies exactly their subscribers.

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace poe::runtime {

template <class Handle>
class directory_state {
public:
  struct entry {
    std::string role;
    std::string node; ///< node id (hex) of the host
    Handle handle;
    friend bool operator==(const entry&, const entry&) = default;
  };
  using changed = std::set<std::string>;

  explicit directory_state(std::string self_node) : self_(std::move(self_node)) {}

  const std::string& self() const { return self_; }

  // -- local roles ---------------------------------------------------------------------------

  changed add_local(const std::string& role, Handle h) {
    local_.push_back(entry{role, self_, std::move(h)});
    ++version_;
    return {role};
  }

  /// Removes every local entry with handle `h` (a role that went down).
  changed remove_local(const Handle& h) {
    changed out;
    auto i = std::remove_if(local_.begin(), local_.end(), [&](const entry& e) {
      if (!(e.handle == h)) return false;
      out.insert(e.role);
      return true;
    });
    if (i != local_.end()) {
      local_.erase(i, local_.end());
      ++version_;
    }
    return out;
  }

  const std::vector<entry>& local_entries() const { return local_; }
  /// Bumped by every local change; sent with announcements.
  std::uint64_t version() const { return version_; }

  // -- remote nodes ---------------------------------------------------------------------------

  /// Replaces `node`'s roles if `version` is newer than what we hold from the same
  /// `incarnation` (a random number a node draws at start; a restarted node counts anew).
  changed set_remote(const std::string& node, std::uint64_t incarnation, std::uint64_t version,
                     std::vector<entry> roles) {
    auto& slot = remote_[node];
    if (slot.known && slot.incarnation == incarnation && version <= slot.version) return {};
    changed out = roles_of(slot.roles);
    auto now = roles_of(roles);
    // Only roles whose member list actually differs are reported.
    changed diff;
    for (auto& r : out)
      if (!same_members(slot.roles, roles, r)) diff.insert(r);
    for (auto& r : now)
      if (!same_members(slot.roles, roles, r)) diff.insert(r);
    slot.known = true;
    slot.incarnation = incarnation;
    slot.version = version;
    slot.roles = std::move(roles);
    for (auto& e : slot.roles)
      e.node = node;
    return diff;
  }

  /// Forgets everything `node` hosted.
  changed drop_node(const std::string& node) {
    auto i = remote_.find(node);
    if (i == remote_.end()) return {};
    auto out = roles_of(i->second.roles);
    remote_.erase(i);
    return out;
  }

  bool knows_node(const std::string& node) const { return remote_.count(node) > 0; }

  std::vector<std::string> nodes() const {
    std::vector<std::string> out;
    for (auto& [n, _] : remote_)
      out.push_back(n);
    return out;
  }

  // -- queries --------------------------------------------------------------------------------

  /// Every entry of `role`: local ones first, then remote nodes in node-id order.
  std::vector<entry> members(const std::string& role) const {
    std::vector<entry> out;
    for (auto& e : local_)
      if (e.role == role) out.push_back(e);
    for (auto& [_, slot] : remote_)
      for (auto& e : slot.roles)
        if (e.role == role) out.push_back(e);
    return out;
  }

  /// Every entry, local first.
  std::vector<entry> all() const {
    std::vector<entry> out = local_;
    for (auto& [_, slot] : remote_)
      out.insert(out.end(), slot.roles.begin(), slot.roles.end());
    return out;
  }

  // -- subscriptions --------------------------------------------------------------------------

  void subscribe(const std::string& role, Handle who) {
    auto& subs = subs_[role];
    if (std::find(subs.begin(), subs.end(), who) == subs.end()) subs.push_back(std::move(who));
  }

  void unsubscribe(const Handle& who) {
    for (auto& [_, subs] : subs_)
      subs.erase(std::remove(subs.begin(), subs.end(), who), subs.end());
  }

  std::vector<Handle> subscribers(const std::string& role) const {
    auto i = subs_.find(role);
    return i == subs_.end() ? std::vector<Handle>{} : i->second;
  }

private:
  struct remote_slot {
    bool known = false;
    std::uint64_t incarnation = 0;
    std::uint64_t version = 0;
    std::vector<entry> roles;
  };

  static changed roles_of(const std::vector<entry>& xs) {
    changed out;
    for (auto& e : xs)
      out.insert(e.role);
    return out;
  }

  static bool same_members(const std::vector<entry>& a, const std::vector<entry>& b,
                           const std::string& role) {
    std::vector<Handle> x, y;
    for (auto& e : a)
      if (e.role == role) x.push_back(e.handle);
    for (auto& e : b)
      if (e.role == role) y.push_back(e.handle);
    return x == y;
  }

  std::string self_;
  std::vector<entry> local_;
  std::uint64_t version_ = 0;
  std::map<std::string, remote_slot> remote_;
  std::map<std::string, std::vector<Handle>> subs_;
};

} // namespace poe::runtime
