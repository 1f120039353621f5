// The directory actor: adapter around directory_state (who hosts what) and the peer
// handshake of peer_auth.hpp. All node-to-node traffic here is one-way messages.
#include "poe/runtime/directory.hpp"

#include "poe/runtime/directory_state.hpp"
#include "poe/runtime/messages.hpp"
#include "poe/runtime/metrics.hpp"
#include "poe/runtime/role.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <map>
#include <optional>

// tls_bind.cpp (poe_tls_fix, linked into poe-node): weak, so binaries without it link too.
extern "C" int poe_tls_peer_of(const unsigned char* node, std::size_t len, unsigned char out[32])
  __attribute__((weak));

namespace poe::runtime {

namespace {

using dir_state = directory_state<caf::actor>;

instant now(caf::event_based_actor* self) {
  return std::chrono::duration_cast<instant>(self->clock().now().time_since_epoch());
}

std::string short_id(const std::string& hex) { return hex.substr(0, 12); }

/// One configured peer we dial.
struct outbound {
  enum class phase { waiting, connecting, handshaking, up };
  endpoint ep;
  phase st = phase::waiting;
  std::uint32_t attempts = 0;
  std::uint64_t generation = 0; // bumps on every new attempt; stale callbacks check it
  bytes nonce_i;
  caf::actor remote;
  instant deadline{0};
  std::string last_error;
};

/// An inbound handshake waiting for the initiator's proof.
struct pending_in {
  std::string connection; ///< the hello's: the proof must come on the same one
  bytes nonce_i;
  bytes nonce_r;
  public_key key;
  caf::actor dir;
  instant deadline{0};
};

/// An authenticated peer.
struct peer {
  std::string node;
  caf::actor dir;
  std::optional<std::size_t> out; // index into `outs` when we dialled it
  instant last_seen{0};
};

struct dir_data {
  explicit dir_data(directory_args a) : args(std::move(a)), state(args.node_id) {}
  directory_args args;
  dir_state state;
  std::vector<outbound> outs;
  std::map<bytes, pending_in> pending; // by nonce_r
  std::map<std::string, peer> peers;   // by node id
  std::vector<caf::actor> subscribers; // monitored, for cleanup
  logger log;
};

std::vector<role_entry> to_entries(const std::vector<dir_state::entry>& xs) {
  std::vector<role_entry> out;
  out.reserve(xs.size());
  for (auto& e : xs)
    out.push_back(role_entry{e.role, e.node, e.handle});
  return out;
}

role_announcement announcement(dir_data& d) {
  return role_announcement{d.args.node_id, d.args.incarnation, d.state.version(),
                           to_entries(d.state.local_entries())};
}

void count_event(dir_data& d, const char* event) {
  if (d.args.metrics) d.args.metrics->connection_events(event).inc();
}

/// The connection the current message came on (peer_registry.hpp).
std::string connection(caf::event_based_actor* self, dir_data& d) {
  return d.args.connection_of(self->current_sender());
}
std::string connection_of(dir_data& d, const caf::actor& h) {
  return d.args.connection_of(caf::actor_cast<caf::strong_actor_ptr>(h));
}

/// Drops a peer's message that claims what its connection does not prove, counted by reason.
void reject(dir_data& d, peer_reject why, const std::string& text) {
  d.args.registry->count(why);
  if (d.args.metrics) d.args.metrics->peer_rejected(std::string(to_string(why))).inc();
  d.log->warn("dropped a peer message: {} ({})", text, to_string(why));
}

/// Whether every role handle of `ann` lives on `conn` (the announcing node's connection).
bool own_handles(dir_data& d, const role_announcement& ann, const std::string& conn) {
  for (auto& e : ann.roles)
    if (!e.handle || connection_of(d, e.handle) != conn) {
      reject(d, peer_reject::foreign_handle,
             "node " + short_id(ann.node) + " announced a '" + e.role + "' handle of another node");
      return false;
    }
  return true;
}

/// The node proven on the current message's connection when it is `claimed`; otherwise the
/// message is dropped and counted (nullopt).
std::optional<std::string> attributed(caf::event_based_actor* self, dir_data& d,
                                      const std::string& claimed, const char* what) {
  auto node = d.args.registry->node_of(connection(self, d));
  if (!node || *node == d.args.node_id) {
    reject(d, peer_reject::unattributed,
           std::string(what) + " naming " + short_id(claimed) + " on no authenticated connection");
    return std::nullopt;
  }
  if (*node != claimed) {
    reject(d, peer_reject::claims_other_id,
           std::string(what) + " naming " + short_id(claimed) + " from node " + short_id(*node));
    return std::nullopt;
  }
  return node;
}

void update_peer_gauge(dir_data& d) {
  double n = 0;
  for (auto& [_, p] : d.peers)
    if (p.dir) ++n;
  if (d.args.metrics) d.args.metrics->peers_connected->set(n);
}

void notify(caf::event_based_actor* self, dir_data& d, const dir_state::changed& roles) {
  for (auto& role : roles) {
    auto members = to_entries(d.state.members(role));
    for (auto& sub : d.state.subscribers(role))
      self->send(sub, members_atom::value, role, members);
  }
}

void announce_all(caf::event_based_actor* self, dir_data& d) {
  auto ann = announcement(d);
  for (auto& [_, p] : d.peers)
    self->send(p.dir, announce_atom::value, ann);
}

void dial(caf::event_based_actor* self, dir_data& d, std::size_t idx);

void schedule_redial(caf::event_based_actor* self, dir_data& d, std::size_t idx,
                     const std::string& why) {
  auto& o = d.outs[idx];
  o.st = outbound::phase::waiting;
  o.remote = nullptr;
  o.nonce_i.clear();
  ++o.attempts;
  ++o.generation;
  auto delay = backoff_delay(d.args.net.reconnect_initial, d.args.net.reconnect_max, o.attempts);
  // Log the first failure and every change of cause; repeats go to debug.
  if (why != o.last_error) {
    d.log->warn("peer {}: {}; retrying with backoff (next in {} ms)", o.ep.text(), why,
                std::chrono::duration_cast<std::chrono::milliseconds>(delay).count());
    o.last_error = why;
  } else {
    d.log->debug("peer {}: {} (attempt {})", o.ep.text(), why, o.attempts);
  }
  self->delayed_send(self, delay, retry_atom::value, static_cast<std::uint64_t>(idx),
                     o.generation);
}

void dial(caf::event_based_actor* self, dir_data& d, std::size_t idx) {
  auto& o = d.outs[idx];
  o.st = outbound::phase::connecting;
  auto gen = ++o.generation;
  o.deadline = now(self) + d.args.net.connect_timeout + d.args.net.handshake_timeout;
  d.log->debug("dialling {}", o.ep.text());
  d.args.connect(self, o.ep, [self, &d, idx, gen](caf::actor remote, caf::error err) {
    auto& o = d.outs[idx];
    if (o.generation != gen || o.st != outbound::phase::connecting) return; // stale
    if (err || !remote) {
      count_event(d, "connect_failed");
      schedule_redial(self, d, idx,
                      "cannot connect: " + (err ? self->system().render(err) : "no actor"));
      return;
    }
    o.remote = remote;
    o.nonce_i = (d.args.nonces ? d.args.nonces() : random_nonce());
    o.st = outbound::phase::handshaking;
    o.deadline = now(self) + d.args.net.handshake_timeout;
    self->send(remote, hello_atom::value,
               peer_hello{d.args.chain_id, d.args.key->pub().der(), o.nonce_i,
                          caf::actor_cast<caf::actor>(self)});
  });
}

void peer_up(caf::event_based_actor* self, dir_data& d, const std::string& node, caf::actor dir,
             std::optional<std::size_t> out, const role_announcement& ann) {
  auto& p = d.peers[node];
  bool fresh = !p.dir;
  p.node = node;
  p.dir = dir;
  if (out) p.out = out;
  p.last_seen = now(self);
  self->monitor(dir);
  if (fresh) {
    count_event(d, "connected");
    update_peer_gauge(d);
    d.log->info("peer {} connected ({})", short_id(node),
                out ? "outbound " + d.outs[*out].ep.text() : std::string{"inbound"});
  }
  auto changed = d.state.set_remote(node, ann.incarnation, ann.version,
                                    [&] {
                                      std::vector<dir_state::entry> xs;
                                      for (auto& e : ann.roles)
                                        xs.push_back(dir_state::entry{e.role, node, e.handle});
                                      return xs;
                                    }());
  notify(self, d, changed);
}

void peer_lost(caf::event_based_actor* self, dir_data& d, const std::string& node,
               const std::string& why) {
  auto i = d.peers.find(node);
  if (i == d.peers.end()) return;
  auto out = i->second.out;
  d.peers.erase(i);
  d.args.registry->unbind_node(node);
  count_event(d, "disconnected");
  update_peer_gauge(d);
  d.log->warn("peer {} lost: {}", short_id(node), why);
  notify(self, d, d.state.drop_node(node));
  if (out) schedule_redial(self, d, *out, "lost (" + why + ")");
}

void refuse(caf::event_based_actor* self, dir_data& d, const caf::actor& to, const bytes& nonce,
            auth_reject reason, const std::string& text) {
  count_event(d, "auth_failed");
  d.log->warn("refused a peer: {} ({})", text, to_string(reason));
  if (to)
    self->send(to, refuse_atom::value,
               peer_refusal{nonce, std::string(to_string(reason)) + ": " + text});
}

/// Whether the node `key` proves is the one the transport proved on the current message's
/// connection (always, when the transport proves nothing: the harness, plaintext); otherwise
/// the reason, for refuse().
std::optional<std::string> transport_mismatch(caf::event_based_actor* self, dir_data& d,
                                              const public_key& key) {
  if (!d.args.transport) return std::nullopt;
  auto proven = d.args.transport(self->current_sender());
  if (proven && *proven == key.id().hex()) return std::nullopt;
  return "node " + short_id(key.id().hex()) + " answered on a connection whose TLS certificate is " +
         (proven ? "node " + short_id(*proven) + "'s" : "unknown");
}

} // namespace

connection_key caf_connection_key(caf::actor_system& sys) {
  auto self_node = sys.node();
  return [self_node](const caf::strong_actor_ptr& sender) -> std::string {
    if (!sender) return {};
    if (sender->node() == self_node) return std::string(local_connection);
    return caf::to_string(sender->node());
  };
}

transport_proof caf_tls_proof(caf::actor_system& sys) {
  return [&sys](const caf::strong_actor_ptr& sender) -> std::optional<std::string> {
    if (!sender || !poe_tls_peer_of) return std::nullopt;
    std::vector<char> wire;
    caf::binary_serializer sink{sys, wire};
    if (sink(sender->node())) return std::nullopt;
    unsigned char id[32];
    if (!poe_tls_peer_of(reinterpret_cast<const unsigned char*>(wire.data()), wire.size(), id))
      return std::nullopt;
    return to_hex(byte_view(id, sizeof id));
  };
}

caf::actor spawn_directory(caf::actor_system& sys, directory_args args) {
  return sys.spawn([args = std::move(args)](caf::event_based_actor* self) mutable {
    auto d = std::make_shared<dir_data>(std::move(args));
    d->log = d->args.log;
    if (!d->args.registry || !d->args.connection_of)
      throw std::logic_error("spawn_directory: registry and connection_of are required");
    for (auto& ep : d->args.peers) {
      outbound o;
      o.ep = ep;
      d->outs.push_back(std::move(o));
    }
    for (std::size_t i = 0; i < d->outs.size(); ++i)
      dial(self, *d, i);
    if (d->args.net.heartbeat_interval > duration::zero())
      self->delayed_send(self, d->args.net.heartbeat_interval, tick_atom::value);

    self->set_down_handler([self, d](caf::down_msg& dm) {
      auto changed = [&] {
        dir_state::changed out;
        for (auto& e : d->state.local_entries())
          if (e.handle.address() == dm.source) {
            auto x = d->state.remove_local(e.handle);
            out.insert(x.begin(), x.end());
            break;
          }
        return out;
      }();
      if (!changed.empty()) {
        notify(self, *d, changed);
        announce_all(self, *d);
      }
      for (auto& s : d->subscribers)
        if (s.address() == dm.source) d->state.unsubscribe(s);
      std::string lost;
      for (auto& [node, p] : d->peers)
        if (p.dir.address() == dm.source) lost = node;
      if (!lost.empty()) peer_lost(self, *d, lost, describe_exit(self->system(), dm.reason));
    });

    return caf::behavior{
      // -- local API --------------------------------------------------------------------------
      [self, d](register_atom, const std::string& role, const caf::actor& h) {
        // Only actors of this process host our roles; a remote peer cannot add entries.
        auto sender = self->current_sender();
        if (!h || (sender && sender->node() != self->node()) || h->node() != self->node()) {
          d->log->warn("ignored a role registration for '{}' from another node", role);
          return;
        }
        self->monitor(h);
        notify(self, *d, d->state.add_local(role, h));
        announce_all(self, *d);
      },
      [d](lookup_atom, const std::string& role) { return to_entries(d->state.members(role)); },
      [self, d](subscribe_atom, const std::string& role) {
        auto who = caf::actor_cast<caf::actor>(self->current_sender());
        if (!who) return;
        d->state.subscribe(role, who);
        d->subscribers.push_back(who);
        self->monitor(who);
        self->send(who, members_atom::value, role, to_entries(d->state.members(role)));
      },
      [d](peers_atom) {
        std::vector<peer_info> out;
        for (auto& [node, p] : d->peers) {
          if (!p.dir) continue;
          std::uint32_t n = 0;
          for (auto& e : d->state.all())
            if (e.node == node) ++n;
          out.push_back(peer_info{node, p.out ? d->outs[*p.out].ep.text() : "inbound",
                                  p.out.has_value(), n});
        }
        return out;
      },
      // -- handshake, responder side ------------------------------------------------------------
      [self, d](hello_atom, const peer_hello& h) {
        auth_reject why{};
        auto key = check_peer_key(d->args.chain_id, h.chain_id, h.public_key, h.nonce,
                                  d->args.key->id(), d->args.policy, why);
        if (!key) {
          refuse(self, *d, h.directory, h.nonce, why, key.err().message);
          return;
        }
        pending_in p{connection(self, *d), h.nonce,
                     (d->args.nonces ? d->args.nonces() : random_nonce()), *key, h.directory,
                     now(self) + d->args.net.handshake_timeout};
        auth_transcript t{d->args.chain_id, p.nonce_i, p.nonce_r, key->id(), d->args.key->id()};
        auto sig = sign_auth(*d->args.key, t, auth_side::responder);
        self->send(h.directory, welcome_atom::value,
                   peer_welcome{d->args.chain_id, d->args.key->pub().der(), p.nonce_i, p.nonce_r,
                                sig, caf::actor_cast<caf::actor>(self)});
        d->pending.emplace(p.nonce_r, std::move(p));
      },
      [self, d](proof_atom, const peer_proof& pr) {
        auto i = d->pending.find(pr.your_nonce);
        if (i == d->pending.end()) return; // unknown or timed out
        if (connection(self, *d) != i->second.connection) {
          reject(*d, peer_reject::wrong_connection, "a handshake proof on another connection");
          return; // the handshake stays pending on its own connection (until its deadline)
        }
        auto p = std::move(i->second);
        d->pending.erase(i);
        auth_transcript t{d->args.chain_id, p.nonce_i, p.nonce_r, p.key.id(), d->args.key->id()};
        if (!verify_auth(p.key, t, auth_side::initiator, pr.signature)) {
          refuse(self, *d, p.dir, p.nonce_i, auth_reject::bad_signature,
                 "node " + short_id(p.key.id().hex()) + " failed the challenge");
          return;
        }
        if (auto why = transport_mismatch(self, *d, p.key)) {
          refuse(self, *d, p.dir, p.nonce_i, auth_reject::tls_mismatch, *why);
          return;
        }
        if (pr.roles.node != p.key.id().hex()) {
          refuse(self, *d, p.dir, p.nonce_i, auth_reject::bad_key,
                 "announcement names another node");
          return;
        }
        if (!own_handles(*d, pr.roles, p.connection)) return;
        d->args.registry->bind(p.connection, p.key.id().hex());
        peer_up(self, *d, p.key.id().hex(), p.dir, std::nullopt, pr.roles);
        self->send(p.dir, announce_atom::value, announcement(*d));
      },
      // -- handshake, initiator side ------------------------------------------------------------
      [self, d](welcome_atom, const peer_welcome& w) {
        std::optional<std::size_t> idx;
        for (std::size_t i = 0; i < d->outs.size(); ++i)
          if (d->outs[i].st == outbound::phase::handshaking && d->outs[i].nonce_i == w.your_nonce)
            idx = i;
        if (!idx) return;
        if (connection(self, *d) != connection_of(*d, d->outs[*idx].remote)) {
          reject(*d, peer_reject::wrong_connection, "a handshake welcome on another connection");
          return;
        }
        auth_reject why{};
        auto key = check_peer_key(d->args.chain_id, w.chain_id, w.public_key, w.nonce,
                                  d->args.key->id(), d->args.policy, why);
        auth_transcript t{d->args.chain_id, w.your_nonce, w.nonce, d->args.key->id(),
                          key ? key->id() : node_id{}};
        if (key && !verify_auth(*key, t, auth_side::responder, w.signature)) {
          why = auth_reject::bad_signature;
          key = fail(errc::verify_failed, "node " + short_id(key->id().hex()) +
                                              " failed the challenge");
        }
        if (key) {
          if (auto text = transport_mismatch(self, *d, *key)) {
            why = auth_reject::tls_mismatch;
            key = fail(errc::verify_failed, *text);
          }
        }
        if (!key) {
          refuse(self, *d, w.directory, w.nonce, why, key.err().message);
          schedule_redial(self, *d, *idx, "refused by us: " + key.err().message);
          return;
        }
        auto& o = d->outs[*idx];
        o.st = outbound::phase::up;
        o.attempts = 0;
        o.last_error.clear();
        auto sig = sign_auth(*d->args.key, t, auth_side::initiator);
        self->send(w.directory, proof_atom::value, peer_proof{w.nonce, sig, announcement(*d)});
        // The peer is up for us once its first announcement arrives (below).
        d->args.registry->bind(connection_of(*d, o.remote), key->id().hex());
        d->peers[key->id().hex()].out = *idx;
      },
      [self, d](refuse_atom, const peer_refusal& r) {
        for (std::size_t i = 0; i < d->outs.size(); ++i)
          if (!r.your_nonce.empty() && d->outs[i].nonce_i == r.your_nonce) {
            count_event(*d, "auth_failed");
            schedule_redial(self, *d, i, "refused by peer: " + r.reason);
          }
      },
      // -- between authenticated peers -------------------------------------------------------
      [self, d](announce_atom, const role_announcement& ann) {
        if (!attributed(self, *d, ann.node, "an announcement")) return;
        if (!own_handles(*d, ann, connection(self, *d))) return;
        auto i = d->peers.find(ann.node);
        if (i == d->peers.end()) return; // not authenticated
        if (!i->second.dir) {
          // First announcement after our proof: the handshake is complete.
          auto out = i->second.out;
          if (!out || d->outs[*out].st != outbound::phase::up) return;
          peer_up(self, *d, ann.node, d->outs[*out].remote, out, ann);
          return;
        }
        i->second.last_seen = now(self);
        notify(self, *d,
               d->state.set_remote(ann.node, ann.incarnation, ann.version, [&] {
                 std::vector<dir_state::entry> xs;
                 for (auto& e : ann.roles)
                   xs.push_back(dir_state::entry{e.role, ann.node, e.handle});
                 return xs;
               }()));
      },
      [self, d](heartbeat_atom, const std::string& node) {
        if (!attributed(self, *d, node, "a heartbeat")) return;
        auto i = d->peers.find(node);
        if (i != d->peers.end()) i->second.last_seen = now(self);
      },
      [self, d](tick_atom) {
        auto t = now(self);
        for (auto& [_, p] : d->peers)
          if (p.dir) self->send(p.dir, heartbeat_atom::value, d->args.node_id);
        std::vector<std::string> silent;
        for (auto& [node, p] : d->peers)
          if (p.dir && t - p.last_seen > d->args.net.connection_timeout) silent.push_back(node);
        for (auto& node : silent) {
          count_event(*d, "heartbeat_timeout");
          peer_lost(self, *d, node, "silent for longer than net.connection-timeout");
        }
        for (auto i = d->pending.begin(); i != d->pending.end();)
          i = t > i->second.deadline ? d->pending.erase(i) : std::next(i);
        for (std::size_t i = 0; i < d->outs.size(); ++i) {
          auto& o = d->outs[i];
          bool in_progress =
            o.st == outbound::phase::connecting || o.st == outbound::phase::handshaking;
          if (in_progress && t > o.deadline)
            schedule_redial(self, *d, i, "handshake timed out");
          // Handshake accepted by us but the peer never announced: start over.
          if (o.st == outbound::phase::up) {
            bool live = false;
            for (auto& [_, p] : d->peers)
              if (p.out == i && p.dir) live = true;
            if (!live && t > o.deadline) schedule_redial(self, *d, i, "no announcement");
          }
        }
        self->delayed_send(self, d->args.net.heartbeat_interval, tick_atom::value);
      },
      [self, d](retry_atom, std::uint64_t idx, std::uint64_t gen) {
        if (idx < d->outs.size() && d->outs[idx].generation == gen &&
            d->outs[idx].st == outbound::phase::waiting)
          dial(self, *d, idx);
      },
    };
  });
}

} // namespace poe::runtime
