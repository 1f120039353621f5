// The storage role under the deterministic harness: 3 nodes, each with the role and its own
// RocksDB store, connected through the seam; 2 replicas per chunk.
//
// Scenarios:
//  1. A put through one node lands on the two nodes rendezvous placement picks (and the
//     coordinator keeps a copy); a chunk whose bytes do not match is refused.
//  2. A copy damaged on disk is reported, fetched from a replica, checked and repaired.
//  3. A node crashes: the two left restore two copies of every chunk.
//  4. Challenges: a holder answers SHA-256(nonce ‖ chunk); a node without the chunk fails;
//     the outcomes are tallied per node.
//  5. Nodes challenge each other periodically: holders pass; a node that lost its copies
//     fails and its score drops. Usage (bytes × time) is kept per owner.
//  6. A storage node that signs wrong answers (4 nodes, each a validator and a storage node):
//     the honest nodes' challenges turn its signed lie into evidence, the validators include
//     it, and its storage stake is slashed on chain; an honest node's stake is untouched.
//  7. Replicas only from storage members (as the connection proves).
//  8. Owners are node ids proven by the connection: a peer cannot store a file in another's
//     name, nor delete, pin or unpin a file it does not own or any chunk; the owner can.
//  9. A reader (the gateway, through fetch_any) asking a storage node that answers wrong bytes
//     first gets the good copy from another node, and never the wrong bytes; with no good copy
//     anywhere it gets an error.
#include "chunk_store.hpp"
#include "poe/actors/roles.hpp"
#include "poe/chain/evidence.hpp"
#include "poe/chain/genesis.hpp"
#include "poe/chain/transaction.hpp"
#include "poe/core/client_request.hpp"
#include "poe/core/domain.hpp"
#include "poe/core/sha256.hpp"
#include "poe/storage/manifest.hpp"
#include "poe/storage/placement.hpp"
#include "poe/testing/harness.hpp"
#include "poe/wire/codec.hpp"
#include "storage_io.hpp"
#include "test_roles.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <unistd.h>

using namespace poe;
using namespace poe::runtime;
using poe::storage::cid;
using poe::testing::harness;
using poe::testing::node_index;
using namespace std::chrono_literals;

namespace {

using bytes_t = std::vector<std::uint8_t>;

struct storage_fixture {
  harness h{23};
  std::vector<node_index> ns;

  explicit storage_fixture(std::string challenge_ms = "0") {
    for (std::size_t i = 0; i < 3; ++i) {
      testing::node_spec spec{"s" + std::to_string(i), {actors::storage_role()}, {}};
      for (std::size_t j = 0; j < i; ++j)
        spec.peers.push_back(j);
      spec.net = test::fast_net();
      spec.store = true;
      ns.push_back(h.add_node(spec));
    }
    h.set("storage.replicas", "2");
    h.set("storage.acks", "2");
    h.set("storage.challenge-interval-ms", challenge_ms);
    h.start_all();
    REQUIRE(h.advance_until(
      [&] {
        for (auto n : ns)
          if (h.members(n, "storage").size() != 3) return false;
        return true;
      },
      30s, 20ms));
    h.advance(500ms, 20ms); // the roles' own subscriptions catch up
  }

  caf::actor storage(node_index n) { return h.local(n, "storage"); }
  node_id id(node_index n) { return *node_id::from_hex(h.node_id(n)); }
  bool holds(node_index n, const cid& c) {
    return h.ask<bytes_t>(storage(n), caf::make_message(st_fetch_atom::value, c.str()))
      .has_value();
  }
  std::vector<node_id> ids(std::initializer_list<node_index> which) {
    std::vector<node_id> out;
    for (auto n : which) out.push_back(id(n));
    return out;
  }
};

bytes_t chunk(int i, std::size_t n = 4096) {
  bytes_t b(n);
  auto seed = sha256::digest(as_bytes("chunk-" + std::to_string(i)));
  for (std::size_t k = 0; k < n; ++k) b[k] = seed.data[k % 32] ^ static_cast<std::uint8_t>(k);
  return b;
}

} // namespace

TEST_CASE("a put lands on the placement targets and bad bytes are refused") {
  storage_fixture f;
  for (int i = 0; i < 6; ++i) {
    auto data = chunk(i);
    auto c = cid::of(data);
    auto r = f.h.ask<std::string>(f.storage(0), caf::make_message(st_put_atom::value, data));
    REQUIRE(r);
    CHECK(*r == c.str());
    auto targets = storage::place(c, f.ids({0, 1, 2}), 2);
    for (node_index n = 0; n < 3; ++n) {
      bool target = std::find(targets.begin(), targets.end(), f.id(n)) != targets.end();
      CHECK(f.holds(n, c) == (target || n == 0));
    }
  }
  // A replica message whose bytes are not a chunk's? Any bytes are a chunk of their own CID;
  // an empty one is refused, with the reason.
  CHECK_FALSE(f.h.ask<std::string>(f.storage(1), caf::make_message(st_put_atom::value, bytes_t{})));
}

TEST_CASE("a damaged copy is fetched from a replica and repaired") {
  storage_fixture f;
  auto data = chunk(42);
  auto c = cid::of(data);
  REQUIRE(f.h.ask<std::string>(f.storage(0), caf::make_message(st_put_atom::value, data)));
  auto targets = storage::place(c, f.ids({0, 1, 2}), 2);
  node_index victim = 0;
  for (node_index n = 1; n < 3; ++n)
    if (std::find(targets.begin(), targets.end(), f.id(n)) != targets.end()) victim = n;
  REQUIRE(victim != 0);
  // The disk flips a byte of the victim's copy.
  bytes key{'c', '/'};
  append(key, c.to_bytes());
  auto bad = data;
  bad[100] ^= 0x40;
  REQUIRE(f.h.store_of(victim)->put(actors::chunk_store::column_family, key, bad));
  CHECK_FALSE(f.holds(victim, c)); // reads re-hash: the local copy is refused
  auto got = f.h.ask<bytes_t>(f.storage(victim), caf::make_message(st_get_atom::value, c.str()));
  REQUIRE(got);
  CHECK(*got == data);
  CHECK(f.holds(victim, c)); // repaired
  auto stored = f.h.store_of(victim)->get(actors::chunk_store::column_family, key);
  REQUIRE(stored);
  REQUIRE(*stored);
  CHECK(**stored == data);
}

TEST_CASE("after a storage node crashes the others restore two copies") {
  storage_fixture f;
  std::vector<cid> cids;
  for (int i = 0; i < 12; ++i) {
    auto data = chunk(100 + i);
    REQUIRE(f.h.ask<std::string>(f.storage(0), caf::make_message(st_put_atom::value, data)));
    cids.push_back(cid::of(data));
  }
  f.h.crash(2);
  REQUIRE(f.h.advance_until([&] { return f.h.members(0, "storage").size() == 2; }, 30s, 20ms));
  REQUIRE(f.h.advance_until(
    [&] {
      for (auto& c : cids)
        if (!f.holds(0, c) || !f.holds(1, c)) return false;
      return true;
    },
    30s, 50ms));
}

TEST_CASE("storage challenges: a holder answers and a node without the chunk fails") {
  storage_fixture f;
  auto data = chunk(7);
  auto c = cid::of(data);
  REQUIRE(f.h.ask<std::string>(f.storage(0), caf::make_message(st_put_atom::value, data)));
  auto targets = storage::place(c, f.ids({0, 1, 2}), 2);
  storage::challenge_record record;
  auto nonce = sha256::digest(as_bytes(std::string("challenge nonce")));
  bytes_t n(nonce.data.begin(), nonce.data.end());
  auto expected = storage::challenge_answer(nonce, data);
  for (node_index k = 0; k < 3; ++k) {
    auto reply = f.h.ask<bytes_t, bytes_t, bytes_t>(
      f.storage(k), caf::make_message(st_chal_atom::value, c.str(), n), 2s);
    bool holds = k == 0 || std::find(targets.begin(), targets.end(), f.id(k)) != targets.end();
    std::optional<bytes_t> answer;
    if (reply) {
      auto& [a, sig, key] = *reply;
      answer = a;
      // The answer comes signed by the node's key, over (chunk digest, nonce, answer).
      auto pub = public_key::from_der(key);
      REQUIRE(pub);
      CHECK(pub->id() == f.id(k));
      auto a_hash = hash256::from_view(a);
      REQUIRE(a_hash);
      CHECK(verify_in_domain(*pub, f.h.chain_id(), msg_type::storage_proof,
                             chain::storage_proof_payload(c.digest(), nonce, *a_hash), sig));
    }
    if (answer && bytes_t(expected.data.begin(), expected.data.end()) == *answer)
      record.record(f.id(k), storage::challenge_outcome::passed);
    else
      record.record(f.id(k), answer ? storage::challenge_outcome::wrong_answer
                                    : storage::challenge_outcome::missed_deadline);
    CHECK((record.of(f.id(k)).passed == 1) == holds);
  }
  // A bad nonce is refused.
  CHECK_FALSE(f.h.ask<bytes_t, bytes_t, bytes_t>(
    f.storage(0), caf::make_message(st_chal_atom::value, c.str(), bytes_t{1, 2})));
}

TEST_CASE("nodes challenge each other and a node that lost its data fails") {
  storage_fixture f("200");
  std::vector<cid> cids;
  for (int i = 0; i < 8; ++i) {
    auto data = chunk(300 + i);
    REQUIRE(f.h.ask<std::string>(f.storage(0), caf::make_message(st_put_atom::value, data)));
    cids.push_back(cid::of(data));
  }
  auto report = [&](node_index from) {
    auto r = f.h.ask<std::vector<challenge_record>>(f.storage(from), caf::make_message(st_rept_atom::value));
    return r ? *r : std::vector<challenge_record>{};
  };
  auto passed_some = [&] {
    for (auto& x : report(0))
      if (x.passed > 0) return true;
    return false;
  };
  REQUIRE(f.h.advance_until(passed_some, 30s, 50ms));
  for (auto& x : report(0)) CHECK(x.wrong_answer == 0);
  // Node 1 loses everything it stored (the disk is wiped behind the role's back).
  for (auto& c : cids) {
    bytes key{'c', '/'};
    append(key, c.to_bytes());
    REQUIRE(f.h.store_of(1)->erase(actors::chunk_store::column_family, key));
  }
  auto failed_on_1 = [&] {
    for (node_index n : {0, 2})
      for (auto& x : report(n))
        if (x.node == f.h.node_id(1) && x.wrong_answer + x.missed_deadline > 0) return true;
    return false;
  };
  REQUIRE(f.h.advance_until(failed_on_1, 60s, 50ms));

  // Usage for rent: a file put with an owner accrues bytes × time.
  storage::manifest_builder mb("video/mp4", 4096);
  auto part = chunk(400);
  REQUIRE(f.h.ask<std::string>(f.storage(0), caf::make_message(st_put_atom::value, part)));
  REQUIRE(mb.add(part));
  auto m = std::move(mb).finish();
  REQUIRE(f.h.ask<std::string>(f.storage(0),
                               caf::make_message(st_putm_atom::value, storage::encode(m),
                                                 std::string("alice"))));
  // Every holder of the manifest accounts for it (the owner travels with the replicas).
  auto m_cid = storage::manifest_cid(m);
  for (node_index n = 0; n < 3; ++n) {
    auto placed = storage::place(m_cid, f.ids({0, 1, 2}), 2);
    if (n != 0 && std::find(placed.begin(), placed.end(), f.id(n)) == placed.end()) continue;
    auto usage = f.h.ask<storage_usage>(f.storage(n), caf::make_message(st_usage_atom::value,
                                                                        std::string("alice")));
    REQUIRE(usage);
    INFO("node " << n << ": " << usage->bytes << " bytes, " << usage->byte_ms << " byte-ms");
    CHECK(usage->bytes == 4096);
  }
}

namespace {

/// A storage node that lies: it answers every challenge with a made-up hash, signed like an
/// honest answer (without looking at the chunk); everything else is the real role.
runtime::role_info lying_storage_role() {
  auto info = actors::storage_role();
  info.body = [honest = info.body](caf::event_based_actor* self,
                                   const role_context& ctx) -> caf::behavior {
    auto key = ctx.key;
    auto chain_id = ctx.chain_id;
    caf::message_handler lies{
      [key, chain_id](st_chal_atom, const std::string& text,
                      const bytes_t& nonce) -> caf::result<bytes_t, bytes_t, bytes_t> {
        auto c = cid::parse(text);
        auto n = hash256::from_view(nonce);
        if (!c || !n) return caf::make_error(caf::sec::runtime_error, "bad challenge");
        auto made_up = sha256::digest(as_bytes(std::string("made up")));
        auto sig = sign_in_domain(*key, chain_id, msg_type::storage_proof,
                                  chain::storage_proof_payload(c->digest(), *n, made_up));
        return {bytes_t(made_up.data.begin(), made_up.data.end()), std::move(sig),
                key->pub().der()};
      }};
    return lies.or_else(honest(self, ctx));
  };
  return info;
}

} // namespace

TEST_CASE("a storage node that signs wrong challenge answers is slashed on chain") {
  harness h{31};
  std::vector<node_index> ns;
  for (std::size_t i = 0; i < 4; ++i) {
    testing::node_spec spec{"n" + std::to_string(i),
                            {actors::validator_role(),
                             i == 3 ? lying_storage_role() : actors::storage_role()},
                            {}};
    for (std::size_t j = 0; j < i; ++j)
      spec.peers.push_back(j);
    spec.net = test::fast_net();
    spec.store = true;
    ns.push_back(h.add_node(spec));
  }
  chain::genesis g;
  g.chain_id = harness::chain_id();
  for (auto n : ns)
    g.validators.push_back({h.key(n).pub(), amount{1000}});
  std::sort(g.validators.begin(), g.validators.end(),
            [](auto& a, auto& b) { return a.id() < b.id(); });
  g.params.block_interval_ms = 50;
  for (node_index n : {ns[1], ns[3]})
    g.balances.push_back({h.key(n).id(), amount{1'000'000}});
  std::sort(g.balances.begin(), g.balances.end(),
            [](auto& a, auto& b) { return a.account < b.account; });
  auto genesis_path = "/tmp/poe-genesis-fraud-" + std::to_string(::getpid()) + ".json";
  std::ofstream(genesis_path) << chain::to_json(g);
  h.set("validator.genesis", genesis_path);
  h.set("storage.replicas", "2");
  h.set("storage.acks", "2");
  h.set("storage.challenge-interval-ms", "300");
  h.start_all();
  auto validator = [&](node_index n) { return h.local(n, "validator"); };
  auto storage_of = [&](node_index n) { return h.local(n, "storage"); };
  REQUIRE(h.advance_until(
    [&] {
      for (auto n : ns)
        if (h.members(n, "storage").size() != 4 || h.members(n, "validator").size() != 4)
          return false;
      return true;
    },
    30s, 20ms));
  auto storage_stake = [&](node_index who) -> std::string {
    auto r = h.ask<account_view>(validator(ns[0]),
                                 caf::make_message(account_atom::value, h.node_id(who)));
    if (!r) return "?";
    return std::to_string(r->stake_of(chain::stake_role::storage));
  };
  // The liar (node 3) and an honest node (node 1) stake as storage nodes.
  for (node_index n : {ns[1], ns[3]}) {
    chain::transaction tx;
    tx.chain_id = harness::chain_id();
    tx.nonce = 0;
    tx.fee = amount{1};
    tx.body = chain::stake{chain::stake_role::storage, amount{10'000}};
    chain::sign(tx, h.key(n));
    auto r = h.ask<submit_reply>(validator(ns[0]),
                                 caf::make_message(tx_atom::value, chain::encode(tx)));
    REQUIRE(r);
    REQUIRE(r->outcome == verdict::accepted);
  }
  REQUIRE(h.advance_until(
    [&] { return storage_stake(ns[1]) == "10000" && storage_stake(ns[3]) == "10000"; }, 30s,
    20ms));
  // Chunks spread over the four nodes (2 copies each): some are node 3's to answer for.
  for (int i = 0; i < 12; ++i)
    REQUIRE(h.ask<std::string>(storage_of(ns[0]),
                               caf::make_message(st_put_atom::value, chunk(500 + i))));
  REQUIRE(h.advance_until([&] { return storage_stake(ns[3]) != "10000"; }, 60s, 50ms));
  INFO("the liar's storage stake: " << storage_stake(ns[3]));
  CHECK(std::stoull(storage_stake(ns[3])) <= 9'500); // at least one 5 % slash
  CHECK(storage_stake(ns[1]) == "10000");
  auto status = h.ask<runtime::chain_status>(validator(ns[1]), caf::make_message(chain_atom::value));
  REQUIRE(status);
  std::set<std::string> vals;
  for (auto& v : status->validators) vals.insert(to_hex(v.id));
  for (auto n : ns) // nobody was removed from the validator set
    CHECK(vals.count(h.node_id(n)) == 1);
  std::remove(genesis_path.c_str());
}

TEST_CASE("replicas are taken only from storage members, as proven by the connection") {
  harness h{29};
  auto s0 = h.add_node({"s0", {actors::storage_role()}, {}, {}, test::fast_net(), true, true});
  auto s1 = h.add_node({"s1", {actors::storage_role()}, {s0}, {}, test::fast_net(), true, true});
  // A connected peer with a valid key that runs no storage role.
  auto evil = h.add_node({"evil", {test::worker_role()}, {s0, s1}, {}, test::fast_net()});
  h.set("storage.replicas", "2");
  h.set("storage.acks", "2");
  h.set("storage.challenge-interval-ms", "0");
  h.start_all();
  REQUIRE(h.advance_until([&] { return h.members(s0, "storage").size() == 2 && h.peers(s0).size() == 2; },
                          30s, 20ms));
  h.advance(500ms, 20ms);
  auto has = [&](node_index n, const cid& c) {
    return h.ask<bool>(h.local(n, "storage"), caf::make_message(st_has_atom::value, c.str()));
  };
  // evil pushes a "replica" (a chunk, and a manifest-free owner claim) to s0: refused.
  auto junk = chunk(77);
  h.send_as(evil, s0, h.local(s0, "storage"),
            caf::make_message(st_rep_atom::value, junk, std::string("victim"), std::uint64_t{1}));
  h.advance(200ms, 20ms);
  auto c = cid::of(junk);
  CHECK(has(s0, c) == false);
  // A storage member's replicas still land (a put on s1 is copied to s0).
  auto data = chunk(78);
  REQUIRE(h.ask<std::string>(h.local(s1, "storage"), caf::make_message(st_put_atom::value, data)));
  CHECK(has(s0, cid::of(data)) == true);
}

namespace {
/// Asks `target` as node `from`, on its connection: the answer, or the error's text.
std::string ask_as(harness& h, node_index from, const caf::actor& target, caf::message msg) {
  auto out = std::make_shared<std::optional<std::string>>();
  auto asker = h.system().spawn([=](caf::event_based_actor* self) {
    self->request(target, caf::infinite, msg)
      .then([=](const std::string& r) { *out = r; },
            [=](caf::error& e) { *out = "error: " + self->system().render(e); });
  });
  h.speak_as(from, asker);
  h.advance_until([&] { return out->has_value(); }, 10s);
  REQUIRE(*out);
  return **out;
}
} // namespace

TEST_CASE("only a file's owner deletes, pins or unpins it, and a peer stores files only as itself") {
  harness h{31};
  auto s0 = h.add_node({"s0", {actors::storage_role()}, {}, {}, test::fast_net(), true, true});
  // Connected peers with valid keys: `owner` stores a file, `evil` tries to take it over.
  auto owner = h.add_node({"owner", {test::worker_role()}, {s0}, {}, test::fast_net()});
  auto evil = h.add_node({"evil", {test::worker_role()}, {s0}, {}, test::fast_net()});
  h.set("storage.replicas", "1");
  h.set("storage.acks", "1");
  h.set("storage.challenge-interval-ms", "0");
  h.start_all();
  REQUIRE(h.advance_until([&] { return h.peers(s0).size() == 2; }, 30s, 20ms));
  auto storage = h.local(s0, "storage");
  auto as = [&](node_index from, caf::message msg) { return ask_as(h, from, storage, std::move(msg)); };
  auto file_of = [&](node_index from, std::uint64_t seed, const std::string& claimed) {
    storage::manifest_builder mb("application/octet-stream", 4096);
    auto part = chunk(seed);
    REQUIRE(mb.add(part));
    CHECK(as(from, caf::make_message(st_put_atom::value, part)).rfind("error", 0) == std::string::npos);
    auto m = storage::encode(std::move(mb).finish());
    return std::make_pair(as(from, caf::make_message(st_putm_atom::value, m, claimed)), cid::of(part).str());
  };
  auto refused = [](const std::string& answer) {
    INFO(answer);
    CHECK(answer.rfind("error: ", 0) == 0);
    CHECK(answer.find("not_authorized") != std::string::npos);
  };
  // A peer storing a file in another's name is refused; with no name it is its own.
  refused(file_of(evil, 500, h.node_id(owner)).first);
  refused(file_of(evil, 501, "alice").first);
  auto [file, part] = file_of(owner, 502, "");
  REQUIRE(file.rfind("error", 0) == std::string::npos);
  auto st = h.ask<object_stat>(storage, caf::make_message(st_stat_atom::value, file));
  REQUIRE(st);
  CHECK(st->owner == h.node_id(owner));
  // evil may not delete, pin or unpin owner's file, nor delete one of its chunks.
  refused(as(evil, caf::make_message(st_del_atom::value, file)));
  refused(as(evil, caf::make_message(st_pin_atom::value, file, true)));
  refused(as(evil, caf::make_message(st_del_atom::value, part)));
  CHECK(h.ask<bool>(storage, caf::make_message(st_has_atom::value, file)) == true);
  // The owner may: pin, unpin, delete.
  CHECK(as(owner, caf::make_message(st_pin_atom::value, file, true)) == "ok");
  refused(as(evil, caf::make_message(st_pin_atom::value, file, false)));
  CHECK(as(owner, caf::make_message(st_pin_atom::value, file, false)) == "ok");
  CHECK(as(owner, caf::make_message(st_del_atom::value, file)) == "ok");
  CHECK(h.ask<bool>(storage, caf::make_message(st_has_atom::value, file)) == false);
}

TEST_CASE("a client no connection proves changes a file only with a request its owner signed over a fresh nonce") {
  harness h{32};
  auto s0 = h.add_node({"s0", {actors::storage_role()}, {}, {}, test::fast_net(), true, true});
  // Not connected to s0: what these "clients" send is attributed to no node (as poe-cli's is).
  auto alice = h.add_node({"alice", {test::worker_role()}, {}, {}, test::fast_net()});
  auto mallory = h.add_node({"mallory", {test::worker_role()}, {}, {}, test::fast_net()});
  h.set("storage.replicas", "1");
  h.set("storage.acks", "1");
  h.set("storage.challenge-interval-ms", "0");
  h.start_all();
  h.advance(200ms, 20ms);
  auto storage = h.local(s0, "storage");
  auto as = [&](node_index from, caf::message msg) { return ask_as(h, from, storage, std::move(msg)); };
  auto nonce = [&] {
    auto r = h.ask<std::string, bytes_t>(storage, caf::make_message(st_nonce_atom::value));
    REQUIRE(r);
    hash256 n;
    std::copy(std::get<1>(*r).begin(), std::get<1>(*r).end(), n.data.begin());
    CHECK(std::get<0>(*r) == h.chain_id());
    return n;
  };
  auto sign = [&](node_index who, request_op op, const std::string& subject, const hash256& n) {
    auto e = wire::encode(sign_request(h.key(who), h.chain_id(), op, subject, n));
    return bytes_t(e.begin(), e.end());
  };
  auto refused = [](const std::string& answer) {
    INFO(answer);
    CHECK(answer.rfind("error: ", 0) == 0);
    CHECK(answer.find("not_authorized") != std::string::npos);
  };
  storage::manifest_builder mb("application/octet-stream", 4096);
  auto part = chunk(600);
  REQUIRE(mb.add(part));
  REQUIRE(h.ask<std::string>(storage, caf::make_message(st_put_atom::value, part)));
  auto m = storage::encode(std::move(mb).finish());
  auto decoded = storage::decode_manifest(m);
  REQUIRE(decoded);
  auto file = storage::manifest_cid(*decoded).str();
  // Unsigned: a client is nobody.
  refused(as(alice, caf::make_message(st_putm_atom::value, m, std::string())));
  // Signed by alice over the manifest's CID: the file is alice's.
  auto n = nonce();
  auto put = sign(alice, request_op::put, file, n);
  CHECK(as(alice, caf::make_message(st_putm_atom::value, m, std::string(), put)) == file);
  auto st = h.ask<object_stat>(storage, caf::make_message(st_stat_atom::value, file));
  REQUIRE(st);
  CHECK(st->owner == h.node_id(alice));
  // Replayed (its nonce is used up), or claiming another owner: refused.
  refused(as(mallory, caf::make_message(st_putm_atom::value, m, std::string(), put)));
  refused(as(alice, caf::make_message(st_putm_atom::value, m, std::string("carol"),
                                      sign(alice, request_op::put, file, nonce()))));
  // mallory: unsigned, signed by itself, with a made-up nonce, or alice's pin signature reused for a delete.
  refused(as(mallory, caf::make_message(st_del_atom::value, file)));
  refused(as(mallory, caf::make_message(st_del_atom::value, file, sign(mallory, request_op::remove, file, nonce()))));
  hash256 made_up;
  made_up.data[0] = 7;
  refused(as(mallory, caf::make_message(st_del_atom::value, file, sign(alice, request_op::remove, file, made_up))));
  auto pin = sign(alice, request_op::pin, file, nonce());
  refused(as(mallory, caf::make_message(st_del_atom::value, file, pin)));
  refused(as(mallory, caf::make_message(st_del_atom::value, file, bytes_t{1, 2, 3})));
  CHECK(h.ask<bool>(storage, caf::make_message(st_has_atom::value, file)) == true);
  // alice: pin, unpin, delete, each with a fresh nonce.
  CHECK(as(alice, caf::make_message(st_pin_atom::value, file, true, sign(alice, request_op::pin, file, nonce()))) == "ok");
  CHECK(as(alice, caf::make_message(st_pin_atom::value, file, false, sign(alice, request_op::unpin, file, nonce()))) == "ok");
  CHECK(as(alice, caf::make_message(st_del_atom::value, file, sign(alice, request_op::remove, file, nonce()))) == "ok");
  CHECK(h.ask<bool>(storage, caf::make_message(st_has_atom::value, file)) == false);
}

namespace {

caf::result<bytes_t> lie(const std::map<std::string, bytes_t>& truth, const std::string& id) {
  auto it = truth.find(id);
  if (it == truth.end()) return caf::make_error(caf::sec::runtime_error, "no such chunk");
  auto out = it->second;
  out[out.size() / 2] ^= 0x01;
  return out;
}

/// A storage node that answers every read with one byte flipped (and takes replicas without
/// keeping them): what a lying or damaged node sends.
runtime::role_info lying_storage(std::shared_ptr<std::map<std::string, bytes_t>> truth) {
  return {"storage", "answers reads with a byte flipped",
          [truth](caf::event_based_actor*, const runtime::role_context&) -> caf::behavior {
            return {
              [truth](st_get_atom, const std::string& id) { return lie(*truth, id); },
              [truth](st_fetch_atom, const std::string& id) { return lie(*truth, id); },
              [](st_rep_atom, const bytes_t& data, const std::string&, std::uint64_t) {
                return cid::of(data).str();
              },
            };
          },
          {}};
}

} // namespace

TEST_CASE("a reader gets the good copy past a storage node that answers wrong bytes and never the wrong bytes") {
  harness h{29};
  auto truth = std::make_shared<std::map<std::string, bytes_t>>();
  testing::node_spec liar{"liar", {lying_storage(truth)}, {}};
  testing::node_spec honest{"honest", {actors::storage_role()}, {0}};
  testing::node_spec reader{"reader", {test::worker_role()}, {0, 1}};
  for (auto* s : {&liar, &honest, &reader}) s->net = test::fast_net();
  honest.store = true;
  auto n_liar = h.add_node(liar), n_honest = h.add_node(honest), n_reader = h.add_node(reader);
  h.set("storage.replicas", "1");
  h.set("storage.acks", "1");
  h.start_all();
  REQUIRE(h.advance_until([&] { return h.members(n_reader, "storage").size() == 2; }, 30s, 20ms));
  h.advance(500ms, 20ms);

  auto good = chunk(7), only_liar = chunk(8);
  auto stored = h.ask<std::string>(h.local(n_honest, "storage"), caf::make_message(st_put_atom::value, good));
  REQUIRE(stored);
  (*truth)[*stored] = good;
  (*truth)[cid::of(only_liar).str()] = only_liar;

  // The reader prefers the liar (as the gateway prefers its own node's storage role).
  auto read = [&](const std::string& id) {
    auto out = std::make_shared<std::optional<std::pair<result<bytes>, std::size_t>>>();
    auto answers = std::make_shared<int>(0);
    auto dir = h.directory(n_reader);
    auto prefer = h.node_id(n_liar);
    h.system().spawn([=](caf::event_based_actor* self) {
      actors::fetch_any(self, dir, prefer, id, [=](result<bytes> r, std::size_t corrupt) {
        ++*answers;
        out->emplace(std::move(r), corrupt);
      });
    });
    h.advance_until([&] { return out->has_value(); }, 20s, 10ms);
    h.advance(1s, 10ms); // an answer is given once
    REQUIRE(out->has_value());
    CHECK(*answers == 1);
    return std::move(**out);
  };
  auto [bytes1, corrupt1] = read(*stored);
  REQUIRE(bytes1);
  CHECK(*bytes1 == good);
  CHECK(corrupt1 == 1);

  auto [bytes2, corrupt2] = read(cid::of(only_liar).str());
  CHECK_FALSE(bytes2);
  CHECK(corrupt2 == 1);
}
