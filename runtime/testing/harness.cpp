#include "poe/testing/harness.hpp"

#include "poe/runtime/directory.hpp"
#include "poe/runtime/metrics.hpp"
#include "poe/runtime/supervisor.hpp"

#include <caf/all.hpp>
#include <caf/binary_serializer.hpp>
#include <spdlog/spdlog.h>

#include "poe/store/store.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

namespace poe::testing {

using namespace poe::runtime;

namespace {

using deliver_atom = caf::atom_constant<caf::atom("sim_dlv")>;

/// An Ed25519 key derived from (seed, node index): the same seed gives the same node ids,
/// so every order keyed by node id replays too.
std::shared_ptr<const private_key> derived_key(std::uint64_t seed, std::size_t index) {
  std::mt19937_64 rng(seed * 1000003u + index);
  bytes ed_seed;
  for (int i = 0; i < 4; ++i) {
    auto x = rng();
    for (int b = 0; b < 8; ++b)
      ed_seed.push_back(static_cast<std::uint8_t>(x >> (8 * b)));
  }
  auto key = private_key::ed25519_from_seed(ed_seed);
  if (!key) throw std::logic_error("harness: derived key: " + key.err().message);
  return std::make_shared<const private_key>(std::move(*key));
}

std::uint64_t seed_from_env() {
  if (auto* s = std::getenv("POE_TEST_SEED")) return std::strtoull(s, nullptr, 10);
  return 1;
}

} // namespace

struct harness::node {
  node_spec spec;
  std::filesystem::path store_dir;
  std::unique_ptr<store::db> store;
  std::shared_ptr<const private_key> key;
  std::string id;
  bool running = false;
  std::uint64_t incarnation = 0;
  caf::actor directory, supervisor, host;
  std::shared_ptr<runtime::peer_registry> registry;
  std::shared_ptr<std::optional<std::string>> failure =
    std::make_shared<std::optional<std::string>>();
};

harness::harness(std::uint64_t seed)
  : seed_(seed == 0 ? seed_from_env() : seed), rng_(seed_) {
  cfg_ = std::make_unique<caf::actor_system_config>();
  cfg_->set("scheduler.policy", caf::atom("testing"));
  cfg_->set("logger.verbosity", caf::atom("quiet"));
  cfg_->set("logger.console", caf::atom("none"));
  register_messages(*cfg_);
  sys_ = std::make_unique<caf::actor_system>(*cfg_);
  sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(sys_->scheduler());
  // Built-in rewriters: every runtime type that carries a handle.
  add_rewriter([](caf::message& m, std::size_t i, const auto& wrap) {
    if (m.match_element<caf::actor>(i)) {
      auto& h = m.get_mutable_as<caf::actor>(i);
      h = wrap(h);
      return true;
    }
    if (m.match_element<role_entry>(i)) {
      auto& e = m.get_mutable_as<role_entry>(i);
      e.handle = wrap(e.handle);
      return true;
    }
    if (m.match_element<std::vector<role_entry>>(i)) {
      for (auto& e : m.get_mutable_as<std::vector<role_entry>>(i))
        e.handle = wrap(e.handle);
      return true;
    }
    if (m.match_element<role_announcement>(i)) {
      for (auto& e : m.get_mutable_as<role_announcement>(i).roles)
        e.handle = wrap(e.handle);
      return true;
    }
    if (m.match_element<peer_hello>(i)) {
      auto& x = m.get_mutable_as<peer_hello>(i);
      x.directory = wrap(x.directory);
      return true;
    }
    if (m.match_element<peer_welcome>(i)) {
      auto& x = m.get_mutable_as<peer_welcome>(i);
      x.directory = wrap(x.directory);
      return true;
    }
    if (m.match_element<peer_proof>(i)) {
      for (auto& e : m.get_mutable_as<peer_proof>(i).roles.roles)
        e.handle = wrap(e.handle);
      return true;
    }
    return false;
  });
}

harness::~harness() {
  struct cleanup {
    std::vector<std::filesystem::path> dirs;
    ~cleanup() {
      for (auto& d : dirs) {
        std::error_code ec;
        std::filesystem::remove_all(d, ec);
      }
    }
  } dirs;
  for (auto& n : nodes_)
    if (!n->store_dir.empty()) dirs.dirs.push_back(n->store_dir);
  for (auto& n : nodes_)
    if (n->running) {
      caf::anon_send_exit(n->supervisor, caf::exit_reason::kill);
      caf::anon_send_exit(n->directory, caf::exit_reason::kill);
      caf::anon_send_exit(n->host, caf::exit_reason::kill);
    }
  for (auto& [addr, p] : proxies_)
    if (auto h = caf::actor_cast<caf::actor>(addr)) caf::anon_send_exit(h, caf::exit_reason::kill);
  sched_->run();
  for (auto& n : nodes_)
    n->store.reset(); // closed before `dirs` removes the directories
}

std::string harness::describe() const {
  std::ostringstream out;
  out << "harness seed " << seed_ << " (replay: POE_TEST_SEED=" << seed_ << ")"
      << "; faults drop=" << plan_.drop << " duplicate=" << plan_.duplicate
      << " delay=" << plan_.delay;
  return out.str();
}

node_index harness::add_node(node_spec spec) {
  auto n = std::make_unique<node>();
  n->key = derived_key(seed_, nodes_.size());
  n->id = n->key->id().hex();
  if (spec.name.empty()) spec.name = "n" + std::to_string(nodes_.size());
  n->spec = std::move(spec);
  nodes_.push_back(std::move(n));
  return nodes_.size() - 1;
}

const std::string& harness::node_id(node_index n) const { return nodes_.at(n)->id; }
const private_key& harness::key(node_index n) const { return *nodes_.at(n)->key; }
caf::actor harness::directory(node_index n) const { return nodes_.at(n)->directory; }
store::db* harness::store_of(node_index n) const { return nodes_.at(n)->store.get(); }
caf::actor harness::supervisor(node_index n) const { return nodes_.at(n)->supervisor; }
bool harness::running(node_index n) const { return nodes_.at(n)->running; }
std::optional<std::string> harness::failure(node_index n) const { return *nodes_.at(n)->failure; }

void harness::start(node_index idx) {
  auto& n = *nodes_.at(idx);
  if (n.running) return;
  n.running = true;
  ++n.incarnation;
  *n.failure = std::nullopt;
  auto level = std::getenv("POE_TEST_LOG") ? std::getenv("POE_TEST_LOG") : "off";
  auto log = make_node_logger(n.spec.name, level);

  peer_policy policy;
  for (auto& other : nodes_)
    if (other->spec.allowed) policy.allowed.insert(other->key->id());

  directory_args d;
  d.node_id = n.id;
  d.node_name = n.spec.name;
  d.key = n.key;
  d.chain_id = chain_id();
  d.policy = policy;
  for (auto p : n.spec.peers)
    d.peers.push_back(endpoint{"sim", static_cast<std::uint16_t>(p + 1)});
  d.net = n.spec.net;
  d.incarnation = n.incarnation;
  {
    auto gen = std::make_shared<std::mt19937_64>(seed_ * 1'000'003 + idx * 7919 + n.incarnation);
    d.nonces = [gen] {
      bytes out(runtime::auth_nonce_size);
      for (auto& b : out) b = static_cast<std::uint8_t>((*gen)());
      return out;
    };
  }
  d.connect = [this, idx](caf::event_based_actor*, const endpoint& ep,
                          std::function<void(caf::actor, caf::error)> done) {
    node_index to = ep.port - 1;
    if (to >= nodes_.size() || !nodes_[to]->running || blocked(idx, to)) {
      done(nullptr, caf::make_error(caf::sec::cannot_connect_to_node));
      return;
    }
    done(proxy_for(idx, to, nodes_[to]->directory), caf::error{});
  };
  d.log = child_logger(log, n.spec.name, "directory");
  n.registry = std::make_shared<runtime::peer_registry>(n.id);
  d.registry = n.registry;
  d.connection_of = [this, idx](const caf::strong_actor_ptr& sender) {
    return connection_key(idx, sender);
  };
  // The seam's "TLS": each connection proves the key of its node's certificate.
  d.transport = [this, idx](const caf::strong_actor_ptr& sender) -> std::optional<std::string> {
    auto key = connection_key(idx, sender);
    if (key.rfind("sim:", 0) != 0) return std::nullopt;
    auto& from = *nodes_.at(std::stoul(key.substr(4)));
    return from.spec.certificate_of ? nodes_.at(*from.spec.certificate_of)->id : from.id;
  };
  n.directory = spawn_directory(*sys_, std::move(d));

  auto failure = n.failure;
  n.host = sys_->spawn([failure](caf::event_based_actor*) -> caf::behavior {
    return {[failure](failed_atom, const std::string& reason) { *failure = reason; }};
  });

  role_context base;
  base.node_name = n.spec.name;
  base.node_id = n.id;
  base.chain_id = chain_id();
  base.key = n.key;
  base.directory = n.directory;
  base.peers = n.registry;
  base.connection_of = [this, idx](const caf::strong_actor_ptr& sender) {
    return connection_key(idx, sender);
  };
  base.metrics = &metrics::noop_factory();
  auto settings = std::make_shared<node_settings>();
  settings->options = role_options_;
  base.settings = settings;
  base.clock = clock();
  base.seed = seed_ * 0x9e3779b97f4a7c15ULL + idx + 1; // per node; the supervisor mixes in the role
  if (n.spec.store && !n.store) {
    n.store_dir = std::filesystem::temp_directory_path() /
                  ("poe-harness-" + std::to_string(::getpid()) + "-" + std::to_string(seed_) + "-" +
                   std::to_string(idx));
    std::vector<std::string> cfs;
    for (auto& r : n.spec.roles)
      cfs.push_back(r.name);
    auto db = store::db::open(n.store_dir, cfs);
    if (!db) throw std::runtime_error("harness store: " + db.err().message);
    n.store = std::make_unique<store::db>(std::move(*db));
  }
  base.store = n.store.get();
  supervisor_args s{n.spec.supervisor, n.spec.roles, base, n.host,
                    child_logger(log, n.spec.name, "supervisor"), nullptr};
  n.supervisor = spawn_supervisor(*sys_, std::move(s));
  run();
}

void harness::start_all() {
  for (node_index i = 0; i < nodes_.size(); ++i)
    start(i);
}

void harness::crash(node_index idx) {
  auto& n = *nodes_.at(idx);
  if (!n.running) return;
  n.running = false;
  caf::anon_send_exit(n.supervisor, caf::exit_reason::kill);
  caf::anon_send_exit(n.directory, caf::exit_reason::kill);
  caf::anon_send_exit(n.host, caf::exit_reason::kill);
  // Every connection to or from the node breaks: its proxies die as CAF's do.
  for (auto i = proxies_.begin(); i != proxies_.end();) {
    if (i->second.from == idx || i->second.to == idx) {
      if (auto h = caf::actor_cast<caf::actor>(i->first))
        caf::anon_send_exit(h, caf::exit_reason::remote_link_unreachable);
      i = proxies_.erase(i);
    } else {
      ++i;
    }
  }
  for (auto i = proxy_cache_.begin(); i != proxy_cache_.end();) {
    auto from = std::get<0>(i->first);
    bool gone = from == idx || !proxies_.count(i->second.address());
    i = gone ? proxy_cache_.erase(i) : std::next(i);
  }
  run();
}

void harness::partition(const std::set<node_index>& a, const std::set<node_index>& b) {
  partitions_.emplace_back(a, b);
}

void harness::heal() { partitions_.clear(); }

bool harness::blocked(node_index a, node_index b) const {
  for (auto& [x, y] : partitions_)
    if ((x.count(a) && y.count(b)) || (x.count(b) && y.count(a))) return true;
  return false;
}

caf::actor harness::proxy_for(node_index from, node_index to, const caf::actor& target) {
  auto key = std::make_tuple(from, target.address());
  if (auto i = proxy_cache_.find(key); i != proxy_cache_.end()) return i->second;
  auto proxy = sys_->spawn([this, from, to, target](caf::event_based_actor* self) {
    self->set_default_handler([this, from, to, target](caf::scheduled_actor* me,
                                                       caf::message_view& view)
                                -> caf::result<caf::message> {
      auto msg = view.copy_content_to_message();
      auto* elem = me->current_mailbox_element();
      if (elem->mid.is_request()) {
        // Requests keep sender and id so the answer goes straight back.
        if (!nodes_[to]->running || blocked(from, to)) {
          ++counters_.partitioned;
          return caf::delegated<caf::message>{};
        }
        std::bernoulli_distribution drop(plan_.drop);
        if (drop(rng_)) {
          ++counters_.dropped;
          return caf::delegated<caf::message>{};
        }
        rewrite(msg, from, to);
        ++counters_.forwarded;
        note(from, to, msg);
        count(from, to, msg);
        // The answer goes straight back to the sender; the receiver attributes the request to
        // the sender's node (connection_key), as CAF's proxies carry their node.
        if (elem->sender && !proxies_.count(elem->sender->address()))
          origin_.emplace(elem->sender->address(), from);
        caf::actor_cast<caf::abstract_actor*>(target)->enqueue(
          caf::make_mailbox_element(elem->sender, elem->mid, {}, std::move(msg)), me->context());
        return caf::delegated<caf::message>{};
      }
      forward(from, to, target, std::move(msg), true, elem->sender);
      return caf::delegated<caf::message>{};
    });
    return caf::behavior{[](deliver_atom) {}};
  });
  proxies_.emplace(proxy.address(), proxy_info{from, to, target});
  proxy_cache_.emplace(key, proxy);
  return proxy;
}

caf::actor harness::wrap_for(node_index from, node_index to, const caf::actor& h) {
  if (!h) return h;
  if (auto i = proxies_.find(h.address()); i != proxies_.end()) {
    auto info = i->second;
    if (info.to == to) return info.target; // back home: the real actor
    return proxy_for(to, info.to, info.target);
  }
  // Not a proxy: an actor of the sending node.
  if (from == to) return h;
  return proxy_for(to, from, h);
}

void harness::note(node_index from, node_index to, const caf::message& msg) {
  if (!recording_) return;
  trace_.push_back(std::to_string(sim_ns_->load() / 1'000'000) + " ms " + nodes_[from]->spec.name +
                   " -> " + nodes_[to]->spec.name + ": " + caf::to_string(msg));
}

void harness::count(node_index from, node_index to, const caf::message& msg) {
  if (!measuring_) return;
  std::vector<char> buf;
  caf::binary_serializer sink{*sys_, buf};
  if (auto err = sink(const_cast<caf::message&>(msg)))
    throw std::runtime_error("harness: a message that crossed the seam does not serialize: " +
                             caf::to_string(msg));
  std::string kind = "(empty)";
  if (msg.size() > 0)
    kind = msg.match_element<caf::atom_value>(0) ? caf::to_string(msg.get_as<caf::atom_value>(0))
                                                  : std::string("(other)");
  for (auto* t : {&by_kind_[kind], &sent_[from], &received_[to]}) {
    ++t->messages;
    t->bytes += buf.size();
  }
}

harness::traffic harness::sent_by(node_index n) const {
  auto i = sent_.find(n);
  return i == sent_.end() ? traffic{} : i->second;
}

harness::traffic harness::received_by(node_index n) const {
  auto i = received_.find(n);
  return i == received_.end() ? traffic{} : i->second;
}

void harness::reset_traffic() {
  by_kind_.clear();
  sent_.clear();
  received_.clear();
}

void harness::rewrite(caf::message& msg, node_index from, node_index to) {
  auto wrap = [&](const caf::actor& h) { return wrap_for(from, to, h); };
  for (std::size_t i = 0; i < msg.size(); ++i)
    for (auto& r : rewriters_)
      if (r(msg, i, wrap)) break;
}

void harness::forward(node_index from, node_index to, const caf::actor& target, caf::message msg,
                      bool allow_delay, const caf::strong_actor_ptr& sender) {
  if (!nodes_[to]->running || !nodes_[from]->running || blocked(from, to)) {
    ++counters_.partitioned;
    return;
  }
  std::bernoulli_distribution drop(plan_.drop), dup(plan_.duplicate), delay(plan_.delay);
  if (drop(rng_)) {
    ++counters_.dropped;
    return;
  }
  int copies = dup(rng_) ? 2 : 1;
  if (copies == 2) ++counters_.duplicated;
  rewrite(msg, from, to);
  // The receiver sees the sender as CAF shows a remote one: a proxy on its side of the seam.
  caf::strong_actor_ptr as_seen;
  if (sender)
    as_seen = caf::actor_cast<caf::strong_actor_ptr>(
      wrap_for(from, to, caf::actor_cast<caf::actor>(sender)));
  for (int c = 0; c < copies; ++c) {
    ++counters_.forwarded;
    note(from, to, msg);
    count(from, to, msg);
    auto elem = caf::make_mailbox_element(as_seen, caf::make_message_id(), {}, msg);
    if (allow_delay && delay(rng_)) {
      ++counters_.delayed;
      std::uniform_int_distribution<std::int64_t> ns(0, plan_.max_delay.count());
      auto when = sys_->clock().now() + caf::timespan{ns(rng_)};
      sys_->clock().schedule_message(when, caf::actor_cast<caf::strong_actor_ptr>(target),
                                     std::move(elem));
    } else {
      caf::actor_cast<caf::abstract_actor*>(target)->enqueue(std::move(elem), nullptr);
    }
  }
}

void harness::run() { sched_->run(); }

std::string harness::connection_key(node_index at, const caf::strong_actor_ptr& sender) const {
  if (!sender) return {};
  auto name = [at](node_index n) {
    return n == at ? std::string(runtime::local_connection) : "sim:" + std::to_string(n);
  };
  if (auto i = proxies_.find(sender->address()); i != proxies_.end()) return name(i->second.to);
  if (auto o = origin_.find(sender->address()); o != origin_.end()) return name(o->second);
  return std::string(runtime::local_connection); // an actor of this node (or of the test)
}

void harness::send_as(node_index from, node_index to, const caf::actor& target, caf::message msg) {
  auto as = sys_->spawn([](caf::event_based_actor* self) -> caf::behavior {
    self->set_default_handler(caf::drop);
    return {[](deliver_atom) {}};
  });
  origin_.emplace(as.address(), from);
  forward(from, to, target, std::move(msg), false, caf::actor_cast<caf::strong_actor_ptr>(as));
  run();
}

const runtime::peer_registry& harness::registry(node_index n) const {
  auto& r = nodes_.at(n)->registry;
  if (!r) throw std::logic_error("harness::registry: node not started");
  return *r;
}

void harness::set(const std::string& key, const std::string& value) {
  if (auto st = runtime::set_role_option(role_options_, key, value); !st)
    throw std::invalid_argument("harness option " + st.err().message);
}

runtime::role_clock harness::clock() const {
  auto sim = sim_ns_;
  return runtime::role_clock(
    [sim] {
      return epoch_ms + static_cast<std::uint64_t>(sim->load(std::memory_order_relaxed) / 1'000'000);
    },
    [sim] { return std::chrono::nanoseconds{sim->load(std::memory_order_relaxed)}; });
}

void harness::tick_clock() {
  sim_ns_->store(std::chrono::duration_cast<std::chrono::nanoseconds>(
                   sched_->clock().now().time_since_epoch())
                   .count(),
                 std::memory_order_relaxed);
}

void harness::advance(runtime::duration d, runtime::duration step) {
  run();
  for (runtime::duration t{0}; t < d; t += step) {
    sched_->advance_time(caf::timespan{step.count()});
    tick_clock();
    run();
  }
}

bool harness::advance_until(const std::function<bool()>& pred, runtime::duration limit,
                            runtime::duration step) {
  run();
  for (runtime::duration t{0}; !pred(); t += step) {
    if (t >= limit) return false;
    sched_->advance_time(caf::timespan{step.count()});
    tick_clock();
    run();
  }
  return true;
}

std::vector<role_entry> harness::members(node_index n, const std::string& role) {
  auto r = ask<std::vector<role_entry>>(directory(n), caf::make_message(lookup_atom::value, role));
  return r ? *r : std::vector<role_entry>{};
}

caf::actor harness::local(node_index n, const std::string& role) {
  for (auto& e : members(n, role))
    if (e.node == node_id(n)) return e.handle;
  return {};
}

std::vector<peer_info> harness::peers(node_index n) {
  auto r = ask<std::vector<peer_info>>(directory(n), caf::make_message(peers_atom::value));
  return r ? *r : std::vector<peer_info>{};
}

} // namespace poe::testing
