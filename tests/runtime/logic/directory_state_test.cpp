// Scenarios (directory_state<int>: an int stands in for an actor handle):
// - a fresh directory knows its own node id, holds nothing and is at version 0
// - add_local reports the role, records it under our own node id and bumps the version
// - remove_local removes every entry of a handle, reports each of its roles once, and bumps the
//   version only when something was removed
// - set_remote replaces a node's roles wholesale and stamps them with the node's id
// - a stale announcement (same incarnation, equal or older version) changes nothing
// - a new incarnation (a restarted node) is accepted even with a lower version
// - set_remote reports only the roles whose member list differs, in both directions
// - drop_node forgets the node and reports its roles; unknown nodes are a no-op
// - members() and all(): local entries first, then remote nodes in node-id order
// - subscribe ignores duplicates and keeps order; unsubscribe leaves every role;
//   subscribers() of an unknown role is empty

#include "poe/runtime/directory_state.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace poe::runtime;

namespace {

using dir = directory_state<int>;
using entry = dir::entry;
using changed = dir::changed;
using entries = std::vector<entry>;

const std::string self_id = "5e1f";

/// An announced entry; the node field is left for set_remote to fill in.
entry e(std::string role, int handle) {
  return entry{std::move(role), "", handle};
}

} // namespace

TEST_CASE("a fresh directory is empty") {
  dir d{self_id};
  CHECK(d.self() == self_id);
  CHECK(d.version() == 0);
  CHECK(d.local_entries().empty());
  CHECK(d.all().empty());
  CHECK(d.members("probe").empty());
  CHECK(d.nodes().empty());
  CHECK(d.subscribers("probe").empty());
}

TEST_CASE("add_local reports the role and bumps the version") {
  dir d{self_id};
  CHECK(d.add_local("probe", 1) == changed{"probe"});
  CHECK(d.version() == 1);
  CHECK(d.add_local("store", 2) == changed{"store"});
  CHECK(d.version() == 2);
  CHECK(d.add_local("probe", 3) == changed{"probe"});
  CHECK(d.version() == 3);
  CHECK(d.local_entries() ==
        entries{{"probe", self_id, 1}, {"store", self_id, 2}, {"probe", self_id, 3}});
  CHECK(d.members("probe") == entries{{"probe", self_id, 1}, {"probe", self_id, 3}});
  CHECK(d.members("store") == entries{{"store", self_id, 2}});
  CHECK(d.members("ledger").empty());
}

TEST_CASE("remove_local removes every entry of a handle") {
  dir d{self_id};
  d.add_local("probe", 1);
  d.add_local("store", 1); // one actor serving two roles
  d.add_local("probe", 2);
  REQUIRE(d.version() == 3);
  CHECK(d.remove_local(1) == changed{"probe", "store"});
  CHECK(d.version() == 4); // one change, one bump
  CHECK(d.local_entries() == entries{{"probe", self_id, 2}});
  CHECK(d.members("store").empty());
  SECTION("removing an unknown handle changes nothing") {
    CHECK(d.remove_local(1).empty());
    CHECK(d.remove_local(99).empty());
    CHECK(d.version() == 4);
    CHECK(d.local_entries() == entries{{"probe", self_id, 2}});
  }
  SECTION("removing the last handle empties the role") {
    CHECK(d.remove_local(2) == changed{"probe"});
    CHECK(d.version() == 5);
    CHECK(d.local_entries().empty());
  }
}

TEST_CASE("set_remote replaces a node's roles wholesale") {
  dir d{self_id};
  CHECK(d.set_remote("aa", 7, 1, {e("probe", 10), e("store", 11)}) == changed{"probe", "store"});
  CHECK(d.knows_node("aa"));
  CHECK(d.members("probe") == entries{{"probe", "aa", 10}});
  CHECK(d.members("store") == entries{{"store", "aa", 11}});
  // The next announcement replaces the set: probe is gone, ledger is new, store is the same.
  CHECK(d.set_remote("aa", 7, 2, {e("store", 11), e("ledger", 12)}) == changed{"probe", "ledger"});
  CHECK(d.members("probe").empty());
  CHECK(d.members("store") == entries{{"store", "aa", 11}});
  CHECK(d.members("ledger") == entries{{"ledger", "aa", 12}});
  CHECK(d.all() == entries{{"store", "aa", 11}, {"ledger", "aa", 12}});
  // Remote changes do not touch our own version.
  CHECK(d.version() == 0);
}

TEST_CASE("set_remote stamps entries with the announcing node's id") {
  dir d{self_id};
  // A peer cannot place roles under another node's (or our) id.
  d.set_remote("aa", 1, 1, {entry{"probe", "bb", 10}, entry{"store", self_id, 11}});
  CHECK(d.members("probe") == entries{{"probe", "aa", 10}});
  CHECK(d.members("store") == entries{{"store", "aa", 11}});
  CHECK_FALSE(d.knows_node("bb"));
}

TEST_CASE("stale announcements from the same incarnation are ignored") {
  dir d{self_id};
  REQUIRE(d.set_remote("aa", 7, 5, {e("probe", 10)}) == changed{"probe"});
  SECTION("equal version") {
    CHECK(d.set_remote("aa", 7, 5, {e("store", 11)}).empty());
  }
  SECTION("older version") {
    CHECK(d.set_remote("aa", 7, 4, {e("store", 11)}).empty());
    CHECK(d.set_remote("aa", 7, 0, {}).empty());
  }
  CHECK(d.members("probe") == entries{{"probe", "aa", 10}});
  CHECK(d.members("store").empty());
  // A newer version still goes through.
  CHECK(d.set_remote("aa", 7, 6, {e("store", 11)}) == changed{"probe", "store"});
  CHECK(d.members("probe").empty());
}

TEST_CASE("a new incarnation is accepted even with a lower version") {
  dir d{self_id};
  REQUIRE(d.set_remote("aa", 7, 50, {e("probe", 10)}) == changed{"probe"});
  // The node restarted: it counts versions from scratch under a new incarnation.
  CHECK(d.set_remote("aa", 8, 1, {e("probe", 20)}) == changed{"probe"});
  CHECK(d.members("probe") == entries{{"probe", "aa", 20}});
  // From now on, (8, 1) is the reference: an equal version of incarnation 8 is stale.
  CHECK(d.set_remote("aa", 8, 1, {}).empty());
  CHECK(d.members("probe") == entries{{"probe", "aa", 20}});
  CHECK(d.set_remote("aa", 8, 2, {}) == changed{"probe"});
  CHECK(d.members("probe").empty());
}

TEST_CASE("set_remote reports only roles whose members differ") {
  dir d{self_id};
  REQUIRE(d.set_remote("aa", 1, 1, {e("probe", 10), e("store", 11), e("store", 12)}) ==
          changed{"probe", "store"});
  SECTION("an identical re-announcement reports nothing but advances the version") {
    CHECK(d.set_remote("aa", 1, 2, {e("probe", 10), e("store", 11), e("store", 12)}).empty());
    CHECK(d.set_remote("aa", 1, 2, {e("ledger", 13)}).empty()); // version 2 is now stale
    CHECK(d.members("ledger").empty());
  }
  SECTION("a role whose handle changed is reported") {
    CHECK(d.set_remote("aa", 1, 2, {e("probe", 99), e("store", 11), e("store", 12)}) ==
          changed{"probe"});
    CHECK(d.members("probe") == entries{{"probe", "aa", 99}});
  }
  SECTION("a role that lost one of several members is reported") {
    CHECK(d.set_remote("aa", 1, 2, {e("probe", 10), e("store", 12)}) == changed{"store"});
    CHECK(d.members("store") == entries{{"store", "aa", 12}});
  }
  SECTION("a role that gained a member is reported") {
    CHECK(d.set_remote("aa", 1, 2,
                       {e("probe", 10), e("probe", 14), e("store", 11), e("store", 12)}) ==
          changed{"probe"});
  }
  SECTION("a new incarnation with the same members reports nothing") {
    CHECK(d.set_remote("aa", 2, 1, {e("probe", 10), e("store", 11), e("store", 12)}).empty());
  }
  SECTION("announcing no roles reports every role the node had") {
    CHECK(d.set_remote("aa", 1, 2, {}) == changed{"probe", "store"});
    CHECK(d.knows_node("aa")); // still known, just hosting nothing
    CHECK(d.all().empty());
  }
}

TEST_CASE("the first announcement of a node with no roles changes nothing") {
  dir d{self_id};
  CHECK(d.set_remote("aa", 1, 1, {}).empty());
  CHECK(d.knows_node("aa"));
  CHECK(d.nodes() == std::vector<std::string>{"aa"});
}

TEST_CASE("drop_node forgets everything the node hosted") {
  dir d{self_id};
  d.add_local("probe", 1);
  d.set_remote("aa", 1, 3, {e("probe", 10), e("store", 11)});
  d.set_remote("bb", 1, 1, {e("store", 20)});
  CHECK(d.drop_node("aa") == changed{"probe", "store"});
  CHECK_FALSE(d.knows_node("aa"));
  CHECK(d.knows_node("bb"));
  CHECK(d.nodes() == std::vector<std::string>{"bb"});
  CHECK(d.members("probe") == entries{{"probe", self_id, 1}});
  CHECK(d.members("store") == entries{{"store", "bb", 20}});
  // Unknown or already dropped nodes are a no-op.
  CHECK(d.drop_node("aa").empty());
  CHECK(d.drop_node("zz").empty());
  // A dropped node is a stranger again: its next announcement is taken whatever its version.
  CHECK(d.set_remote("aa", 1, 1, {e("probe", 10)}) == changed{"probe"});
  CHECK(d.knows_node("aa"));
}

TEST_CASE("members and all list local entries first, then nodes in node-id order") {
  dir d{self_id};
  d.set_remote("cc", 1, 1, {e("probe", 30)});
  d.add_local("probe", 1);
  d.set_remote("aa", 1, 1, {e("probe", 10), e("store", 11)});
  d.set_remote("bb", 1, 1, {e("probe", 20)});
  d.add_local("probe", 2);
  CHECK(d.nodes() == std::vector<std::string>{"aa", "bb", "cc"});
  CHECK(d.members("probe") == entries{{"probe", self_id, 1},
                                      {"probe", self_id, 2},
                                      {"probe", "aa", 10},
                                      {"probe", "bb", 20},
                                      {"probe", "cc", 30}});
  CHECK(d.all() == entries{{"probe", self_id, 1},
                           {"probe", self_id, 2},
                           {"probe", "aa", 10},
                           {"store", "aa", 11},
                           {"probe", "bb", 20},
                           {"probe", "cc", 30}});
}

TEST_CASE("subscriptions") {
  dir d{self_id};
  d.subscribe("probe", 100);
  d.subscribe("probe", 101);
  d.subscribe("probe", 100); // duplicate: ignored
  d.subscribe("store", 100);
  CHECK(d.subscribers("probe") == std::vector<int>{100, 101});
  CHECK(d.subscribers("store") == std::vector<int>{100});
  CHECK(d.subscribers("ledger").empty());
  SECTION("unsubscribe leaves every role") {
    d.unsubscribe(100);
    CHECK(d.subscribers("probe") == std::vector<int>{101});
    CHECK(d.subscribers("store").empty());
    // Subscribing again works and goes to the end.
    d.subscribe("probe", 100);
    CHECK(d.subscribers("probe") == std::vector<int>{101, 100});
  }
  SECTION("unsubscribing a stranger changes nothing") {
    d.unsubscribe(999);
    CHECK(d.subscribers("probe") == std::vector<int>{100, 101});
    CHECK(d.subscribers("store") == std::vector<int>{100});
  }
  SECTION("subscriptions are independent of membership") {
    d.add_local("probe", 1);
    d.remove_local(1);
    d.set_remote("aa", 1, 1, {e("probe", 10)});
    d.drop_node("aa");
    CHECK(d.subscribers("probe") == std::vector<int>{100, 101});
  }
}
