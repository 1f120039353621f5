// The binding of CAF node ids to TLS certificates (basp_binder.hpp), fed BASP frames as CAF
// 0.17.6 writes them:
// - a handshake binds the node id it names to its session's certificate; another certificate
//   naming it is refused while it is held and for the grace period after, then may take it;
// - a session never changes the id it named; a second session of the same certificate may
//   name it (CAF's redundant and alternative connections);
// - routed and down frames naming a node another certificate holds are refused; the
//   session's own node, an unknown node (a client routed through its node) and none pass;
// - monitor frames (announce_proxy) pass whatever node they name: CAF relays a client's through
//   a node while the client holds a session of its own (the chain benchmark's failure);
// - a frame split anywhere (byte by byte) is judged as a whole one; frames without a node id
//   (direct messages, heartbeats) pass; a refused session stays refused;
// - holder() answers only while a session holds the id.
#include "poe/runtime/basp_binder.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace poe::runtime;
using namespace std::chrono_literals;
using bytes = std::vector<unsigned char>;

namespace {

void put_be(bytes& out, std::uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<unsigned char>(v >> (8 * i)));
}

/// A CAF node id of this host with process id `pid`, serialized.
bytes node(std::uint32_t pid) {
  bytes out;
  put_be(out, basp_binder::atom_default, 8);
  put_be(out, pid, 4);
  for (int i = 0; i < 20; ++i) out.push_back(static_cast<unsigned char>(0xB0 + i));
  return out;
}
bytes no_node() {
  bytes out;
  put_be(out, basp_binder::atom_none, 8);
  return out;
}

bytes frame(std::uint8_t op, const bytes& payload) {
  bytes out{op, 0, 0, 0};
  put_be(out, payload.size(), 4);
  put_be(out, 3, 8);  // operation data
  put_be(out, 7, 8);  // source actor
  put_be(out, 42, 8); // destination actor
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}
bytes cat(bytes a, const bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
bytes handshake(std::uint32_t pid) { return frame(1, cat(node(pid), bytes(40, 0x11))); }
bytes routed(const bytes& source) { return frame(3, cat(cat(source, node(1)), bytes(50, 0x22))); }

basp_binder::cert_id cert(unsigned char c) {
  basp_binder::cert_id out;
  out.fill(c);
  return out;
}

const auto t0 = basp_binder::clock::time_point{} + 1000h;

basp_refusal feed(basp_binder& b, const void* s, const bytes& data, bool byte_by_byte = false,
                  basp_binder::clock::time_point now = t0) {
  if (!byte_by_byte) return b.read(s, data.data(), data.size(), now);
  for (auto c : data)
    if (auto r = b.read(s, &c, 1, now); r != basp_refusal::none) return r;
  return basp_refusal::none;
}

} // namespace

TEST_CASE("a handshake binds its node id to the session's certificate") {
  basp_binder b;
  int v = 0, x = 0, v2 = 0;
  b.open(&v, cert(1));
  REQUIRE(feed(b, &v, handshake(100)) == basp_refusal::none);
  auto id = node(100);
  REQUIRE(b.holder(id.data(), id.size()) == cert(1));

  SECTION("another certificate naming it is refused, now and byte by byte") {
    b.open(&x, cert(9));
    CHECK(feed(b, &x, handshake(100), true) == basp_refusal::node_taken);
    CHECK(b.refused(&x));
    CHECK(feed(b, &x, frame(6, {})) == basp_refusal::forged_source); // stays refused
    CHECK(b.holder(id.data(), id.size()) == cert(1));
  }
  SECTION("a second session of the same certificate may name it") {
    b.open(&v2, cert(1));
    CHECK(feed(b, &v2, handshake(100)) == basp_refusal::none);
  }
  SECTION("a session never changes the id it named") {
    CHECK(feed(b, &v, handshake(101)) == basp_refusal::node_taken);
  }
  SECTION("released, it is held for the grace period, then free") {
    b.close(&v, t0);
    CHECK_FALSE(b.holder(id.data(), id.size()));
    b.open(&x, cert(9));
    CHECK(feed(b, &x, handshake(100), false, t0 + 59s) == basp_refusal::node_taken);
    int y = 0;
    b.open(&y, cert(9));
    CHECK(feed(b, &y, handshake(100), false, t0 + 61s) == basp_refusal::none);
    CHECK(b.holder(id.data(), id.size()) == cert(9));
  }
}

TEST_CASE("routed and down frames may not name a node another certificate holds") {
  basp_binder b;
  int v = 0, m = 0;
  b.open(&v, cert(1));
  REQUIRE(feed(b, &v, handshake(100)) == basp_refusal::none);
  b.open(&m, cert(2));
  REQUIRE(feed(b, &m, handshake(200)) == basp_refusal::none);

  CHECK(feed(b, &m, routed(node(200))) == basp_refusal::none); // its own node
  CHECK(feed(b, &m, routed(node(300))) == basp_refusal::none); // a client it routes for
  CHECK(feed(b, &m, routed(no_node())) == basp_refusal::none); // anonymous
  CHECK(feed(b, &m, frame(2, bytes(64, 0x33))) == basp_refusal::none); // direct message
  CHECK(feed(b, &m, frame(6, {})) == basp_refusal::none);              // heartbeat
  for (std::uint8_t op : {3, 5}) {
    int s = 0;
    b.open(&s, cert(2));
    INFO("operation " << int(op));
    auto forged = frame(op, cat(cat(node(100), node(1)), bytes(8, 0)));
    CHECK(feed(b, &s, cat(handshake(200), forged), op == 5) == basp_refusal::forged_source);
    b.close(&s, t0);
  }
  // The legitimate session of node 100 sends the same frames unrefused.
  CHECK(feed(b, &v, routed(node(100)), true) == basp_refusal::none);
}

TEST_CASE("a handshake must name a host node id") {
  basp_binder b;
  int s1 = 0, s2 = 0, s3 = 0;
  b.open(&s1, cert(1));
  CHECK(feed(b, &s1, frame(0, no_node())) == basp_refusal::forged_source);
  b.open(&s2, cert(1));
  CHECK(feed(b, &s2, frame(1, bytes{1, 2, 3})) == basp_refusal::forged_source);
  b.open(&s3, cert(1));
  bytes uri_node;
  put_be(uri_node, 0x1234, 8);
  CHECK(feed(b, &s3, frame(1, cat(uri_node, bytes(24, 0)))) == basp_refusal::forged_source);
  int other = 0;
  CHECK(feed(b, &other, handshake(5)) == basp_refusal::none); // a session never opened: not followed
}

// Seen in `poe-bench chain` (about one run in four, before): the benchmark's client C connects to
// node-0, then node-1, each with a session of its own, and looks up each node's validators. CAF
// writes a proxy announcement (monitor frame: source node, destination node) along the route the
// writer learned the actor by: node-0 relayed node-1's announcement to C, and node-1 relayed C's
// announcement for node-0's validator to node-0. Both sources held sessions of their own at the
// receiver, so both connections were closed — the client's to node-0 and node-0's to node-1 —
// and the client's requests to node-0 timed out.
TEST_CASE("a monitor frame relayed for a node that holds a session here passes") {
  basp_binder b; // node-0's view: node-1 on cert 1, the client on cert 7
  int n1 = 0, client = 0;
  b.open(&n1, cert(1));
  REQUIRE(feed(b, &n1, handshake(201)) == basp_refusal::none);
  b.open(&client, cert(7));
  REQUIRE(feed(b, &client, handshake(900)) == basp_refusal::none);
  auto announce = frame(4, cat(node(900), node(100))); // C announces a proxy of our actor 42
  CHECK(feed(b, &n1, announce) == basp_refusal::none);
  CHECK(feed(b, &n1, announce, true) == basp_refusal::none);
  CHECK_FALSE(b.refused(&n1));
  // A routed message or a down frame in the client's name on node-1's session is still refused.
  CHECK(feed(b, &n1, routed(node(900))) == basp_refusal::forged_source);
  int n1b = 0;
  b.open(&n1b, cert(1));
  CHECK(feed(b, &n1b, cat(handshake(201), frame(5, cat(cat(node(900), node(100)), bytes(8, 0))))) ==
        basp_refusal::forged_source);
}

TEST_CASE("a refusal's label is its metric event and its description says what was named") {
  CHECK(std::string(label(basp_refusal::node_taken)) == "basp_node_taken");
  CHECK(std::string(label(basp_refusal::forged_source)) == "basp_forged_source");
  CHECK(std::string(label(basp_refusal::none)).empty());
  CHECK(std::string(describe(basp_refusal::forged_source)).find("as its source") != std::string::npos);
  CHECK(std::string(describe(basp_refusal::node_taken)).find("handshake") != std::string::npos);
}
