#include "poe/runtime/basp_binder.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>

namespace poe::runtime {

namespace {

enum : std::uint8_t {
  server_handshake = 0,
  client_handshake = 1,
  routed_message = 3,
  monitor_message = 4,
  down_message = 5,
};

std::uint64_t be64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

bool is_handshake(std::uint8_t op) { return op == server_handshake || op == client_handshake; }

} // namespace

const char* label(basp_refusal r) {
  switch (r) {
    case basp_refusal::node_taken: return "basp_node_taken";
    case basp_refusal::forged_source: return "basp_forged_source";
    case basp_refusal::none: break;
  }
  return "";
}

const char* describe(basp_refusal r) {
  switch (r) {
    case basp_refusal::node_taken:
      return "a BASP handshake named a node id another TLS certificate holds here";
    case basp_refusal::forged_source:
      return "a BASP frame named as its source a node id another TLS certificate holds here";
    case basp_refusal::none: break;
  }
  return "";
}

void basp_binder::open(const void* session, const cert_id& cert) {
  stream st;
  st.cert = cert;
  sessions_[session] = st;
}

bool basp_binder::held_by_other(const node_key& node, const cert_id& cert,
                                clock::time_point now) const {
  auto i = nodes_.find(node);
  return i != nodes_.end() && i->second.cert != cert &&
         (i->second.live > 0 || now - i->second.released < grace_);
}

basp_refusal basp_binder::claim(stream& st, const node_key& node, clock::time_point now) {
  if (st.claimed) return st.claim == node ? basp_refusal::none : basp_refusal::node_taken;
  if (held_by_other(node, st.cert, now)) return basp_refusal::node_taken;
  auto& b = nodes_[node];
  b.cert = st.cert; // new, or released longer than `grace` ago (a new process reusing a pid)
  ++b.live;
  st.claimed = true;
  st.claim = node;
  return basp_refusal::none;
}

basp_refusal basp_binder::check(stream& st, clock::time_point now) {
  if (st.pre_have < 8) return basp_refusal::forged_source; // names no node: CAF refuses it too
  auto kind = be64(st.pre);
  if (kind == atom_none) // an anonymous source: nobody is named (a handshake must name itself)
    return is_handshake(st.op) ? basp_refusal::forged_source : basp_refusal::none;
  if (kind != atom_default || st.pre_have < node_id_size)
    return basp_refusal::forged_source; // poe nodes use host ids only
  node_key node;
  std::memcpy(node.data(), st.pre, node.size());
  if (is_handshake(st.op)) return claim(st, node, now);
  if (st.claimed && st.claim == node) return basp_refusal::none;
  // A monitor frame (CAF's announce_proxy) only asks us to tell its source when one of our
  // actors terminates: it attributes nothing to that node and ends nothing. CAF sends it along
  // the route its writer learned the actor by, so a node forwards a client's announcement while
  // the client holds a session of its own here, and a client relays a node's (seen: the chain
  // benchmark's client closed its session to node-0 for one, then node-0 its session to
  // node-1). Refusing it would cut honest connections; passing it gives nobody anything.
  if (st.op == monitor_message) return basp_refusal::none;
  return held_by_other(node, st.cert, now) ? basp_refusal::forged_source : basp_refusal::none;
}

basp_refusal basp_binder::read(const void* session, const unsigned char* p, std::size_t n,
                               clock::time_point now) {
  auto i = sessions_.find(session);
  if (i == sessions_.end()) return basp_refusal::none;
  auto& st = i->second;
  if (st.refused) return basp_refusal::forged_source;
  auto refuse = [&st](basp_refusal r) {
    st.refused = r != basp_refusal::none;
    return r;
  };
  while (n > 0) {
    if (st.payload_left == 0) { // in a header
      auto k = std::min(n, header_size - st.hdr_have);
      std::memcpy(st.hdr + st.hdr_have, p, k);
      st.hdr_have += k;
      p += k;
      n -= k;
      if (st.hdr_have < header_size) break;
      st.hdr_have = 0;
      st.op = st.hdr[0];
      st.payload_left = static_cast<std::uint32_t>(st.hdr[4]) << 24 |
                        static_cast<std::uint32_t>(st.hdr[5]) << 16 |
                        static_cast<std::uint32_t>(st.hdr[6]) << 8 | st.hdr[7];
      bool names_node = is_handshake(st.op) || st.op == routed_message ||
                        st.op == monitor_message || st.op == down_message;
      st.pre_have = 0;
      st.pre_need = names_node ? std::min<std::size_t>(node_id_size, st.payload_left) : 0;
      if (names_node && st.payload_left == 0)
        if (auto r = check(st, now); r != basp_refusal::none) return refuse(r);
      continue;
    }
    auto k = std::min<std::size_t>(n, st.payload_left);
    if (st.pre_have < st.pre_need) {
      auto m = std::min(k, st.pre_need - st.pre_have);
      std::memcpy(st.pre + st.pre_have, p, m);
      st.pre_have += m;
      if (st.pre_have == st.pre_need)
        if (auto r = check(st, now); r != basp_refusal::none) return refuse(r);
    }
    st.payload_left -= static_cast<std::uint32_t>(k);
    p += k;
    n -= k;
  }
  return basp_refusal::none;
}

void basp_binder::close(const void* session, clock::time_point now) {
  auto i = sessions_.find(session);
  if (i == sessions_.end()) return;
  if (i->second.claimed) {
    auto b = nodes_.find(i->second.claim);
    if (b != nodes_.end() && b->second.live > 0 && --b->second.live == 0) b->second.released = now;
  }
  sessions_.erase(i);
  if (nodes_.size() <= max_released_) return;
  for (auto j = nodes_.begin(); j != nodes_.end();)
    j = j->second.live == 0 && now - j->second.released >= grace_ ? nodes_.erase(j) : std::next(j);
}

std::optional<basp_binder::cert_id> basp_binder::holder(const unsigned char* node,
                                                        std::size_t len) const {
  if (len != node_id_size) return std::nullopt;
  node_key key;
  std::memcpy(key.data(), node, key.size());
  auto i = nodes_.find(key);
  if (i == nodes_.end() || i->second.live == 0) return std::nullopt;
  return i->second.cert;
}

} // namespace poe::runtime
