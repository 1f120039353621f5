#include "node_client.hpp"
#include "render.hpp"
#include "tls_probe.hpp"

#include <cstdlib>

#include "poe/chain/genesis.hpp"
#include "poe/chain/notary.hpp"
#include "poe/core/client_request.hpp"
#include "poe/storage/manifest.hpp"
#include "poe/runtime/messages.hpp"
#include "poe/runtime/settings.hpp"
#include "poe/wire/codec.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include <tuple>
#include <type_traits>

namespace poe::tools {

using namespace poe::runtime;

void add_node_options(CLI::App* cmd, node_target& t, bool required) {
  // Environment defaults are read here, not with CLI11's envname: CLI11 applies an envname to
  // every subcommand's option, and several subcommands share one target, so the environment
  // would overwrite the --node given to the subcommand that runs.
  auto env = [](const char* name, std::string& into) {
    if (const char* v = std::getenv(name); v && *v) into = v;
  };
  env("POE_NODE", t.address);
  env("POE_TLS_KEY", t.key);
  env("POE_TLS_CERT", t.cert);
  env("POE_TLS_CA", t.ca);
  auto* node = cmd->add_option("--node", t.address, "host:port of a node (env POE_NODE)");
  if (required && t.address.empty()) node->required();
  cmd->add_option("--tls-key", t.key, "PEM private key for TLS, a key of the cluster (env POE_TLS_KEY)");
  cmd->add_option("--tls-cert", t.cert, "PEM certificate of that key (env POE_TLS_CERT)");
  cmd->add_option("--tls-ca", t.ca, "PEM certificate of the cluster CA (env POE_TLS_CA)");
  cmd->add_flag("--plaintext", t.plaintext, "plain TCP (node.insecure-plaintext nodes)");
  cmd->add_option("--timeout", t.timeout_s, "seconds to wait for the node (default 5)");
}

struct detail::connection {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<caf::scoped_actor> self;
  caf::actor handle; // the role's actor on the node
  std::string node;  // its node's id (hex), as the node's directory names it
  std::chrono::seconds timeout{5};

  std::string role;
  std::string key_path; // the client's key: signs requests the node cannot attribute otherwise

  /// A signed request for `op` on `subject` (an encoded Envelope) with a fresh nonce from the
  /// role (asked with `nonce_atom`), signed by the client's key: the signer owns what it asks for.
  template <class NonceAtom>
  result<bytes> sign(NonceAtom nonce_atom, request_op op, const std::string& subject) {
    if (key_path.empty())
      return fail(errc::invalid_argument, "signing the request needs the owner's key (--tls-key or POE_TLS_KEY)");
    auto key = private_key::load(key_path);
    if (!key) return fail(errc::invalid_argument, "--tls-key: " + key.err().message);
    auto r = ask<std::string, std::vector<std::uint8_t>>(nonce_atom);
    if (!r) return r.err();
    auto& [chain, raw] = *r;
    if (raw.size() != 32) return fail(errc::decode_error, "the node's nonce is not 32 bytes");
    hash256 n;
    std::copy(raw.begin(), raw.end(), n.data.begin());
    return wire::encode(sign_request(*key, chain, op, subject, n));
  }

  /// Asks the role; the answer is of type R, or a tuple of the Rs for a multi-value answer.
  template <class... Rs, class... Ts>
  auto ask(Ts&&... xs) {
    using answer = std::conditional_t<sizeof...(Rs) == 1, std::tuple_element_t<0, std::tuple<Rs...>>,
                                      std::tuple<Rs...>>;
    result<answer> out = fail(errc::unavailable, "no answer");
    (*self)
      ->request(handle, timeout, std::forward<Ts>(xs)...)
      .receive([&](Rs&... rs) {
                 if constexpr (sizeof...(Rs) == 1)
                   out = std::move(rs...);
                 else
                   out = std::make_tuple(std::move(rs)...);
               },
               [&](caf::error& e) {
                 // A refusal by the role carries its reason as the error's context.
                 if (e.category() == caf::atom("system") &&
                     e.code() == static_cast<std::uint8_t>(caf::sec::runtime_error) &&
                     !e.context().empty() && e.context().match_elements<std::string>())
                   out = fail(errc::invalid_argument, e.context().get_as<std::string>(0));
                 else
                   out = fail(errc::unavailable, "the " + role + " role did not answer: " +
                                                   sys->render(e));
               });
    return out;
  }

  static result<std::unique_ptr<connection>> open(const node_target& t, const std::string& role);
};

validator_client::validator_client(std::unique_ptr<detail::connection> p) : impl_(std::move(p)) {}
validator_client::~validator_client() = default;

result<std::unique_ptr<validator_client>> validator_client::connect(const node_target& t) {
  auto c = detail::connection::open(t, "validator");
  if (!c) return c.err();
  return std::unique_ptr<validator_client>(new validator_client(std::move(*c)));
}

storage_client::storage_client(std::unique_ptr<detail::connection> p) : impl_(std::move(p)) {}
storage_client::~storage_client() = default;

result<std::unique_ptr<storage_client>> storage_client::connect(const node_target& t) {
  auto c = detail::connection::open(t, "storage");
  if (!c) return c.err();
  return std::unique_ptr<storage_client>(new storage_client(std::move(*c)));
}

verifier_client::verifier_client(std::unique_ptr<detail::connection> p) : impl_(std::move(p)) {}
verifier_client::~verifier_client() = default;

result<std::unique_ptr<verifier_client>> verifier_client::connect(const node_target& t) {
  auto c = detail::connection::open(t, "verifier");
  if (!c) return c.err();
  return std::unique_ptr<verifier_client>(new verifier_client(std::move(*c)));
}

result<std::string> verifier_client::submit_job(const std::string& source, const std::string& ladder,
                                                const std::string& owner) {
  auto auth = impl_->sign(vf_nonce_atom::value, request_op::job, job_subject(source, ladder));
  if (!auth) return auth.err();
  return impl_->ask<std::string>(vf_job_atom::value, source, ladder, owner, *auth);
}

result<std::string> verifier_client::submit_compute(const std::string& owner,
                                                    std::uint64_t iterations,
                                                    const std::vector<bytes>& inputs) {
  auto auth = impl_->sign(vf_nonce_atom::value, request_op::compute, compute_subject(iterations, inputs));
  if (!auth) return auth.err();
  return impl_->ask<std::string>(vf_compute_atom::value, owner, iterations, inputs, *auth);
}

result<std::string> verifier_client::job_status(const std::string& job) {
  auto r = impl_->ask<runtime::job_status>(vf_status_atom::value, job);
  if (!r) return r.err();
  return to_json(*r).dump();
}

result<std::string> verifier_client::receipt(const std::string& request_hex) {
  auto r = impl_->ask<std::vector<std::uint8_t>>(vf_receipt_atom::value, request_hex);
  if (!r) return r.err();
  auto rc = wire::decode_step_receipt(*r);
  if (!rc) return fail(errc::decode_error, "the node's receipt: " + rc.err().message);
  return to_json(*rc).dump();
}

result<bytes> verifier_client::job_output(const std::string& job) {
  auto r = impl_->ask<std::vector<std::uint8_t>>(vf_output_atom::value, job);
  if (!r) return r.err();
  return bytes(r->begin(), r->end());
}

result<std::string> verifier_client::funded(const std::string& job) {
  return impl_->ask<std::string>(vf_funded_atom::value, job);
}

const std::string& verifier_client::node() const {
  return impl_->node;
}

builder_client::builder_client(std::unique_ptr<detail::connection> p) : impl_(std::move(p)) {}
builder_client::~builder_client() = default;

result<std::unique_ptr<builder_client>> builder_client::connect(const node_target& t) {
  auto c = detail::connection::open(t, "builder");
  if (!c) return c.err();
  return std::unique_ptr<builder_client>(new builder_client(std::move(*c)));
}

result<bytes> builder_client::prove(const std::string& request_hex) {
  return impl_->ask<std::vector<std::uint8_t>>(bd_prove_atom::value, request_hex);
}

result<std::string> builder_client::status() {
  auto r = impl_->ask<builder_status>(bd_status_atom::value);
  if (!r) return r.err();
  return to_json(*r).dump();
}

rent_client::rent_client(std::unique_ptr<detail::connection> p) : impl_(std::move(p)) {}
rent_client::~rent_client() = default;

result<std::unique_ptr<rent_client>> rent_client::connect(const node_target& t) {
  auto c = detail::connection::open(t, "rent");
  if (!c) return c.err();
  return std::unique_ptr<rent_client>(new rent_client(std::move(*c)));
}

result<std::string> rent_client::quote(std::uint64_t work_units, std::uint64_t result_bytes,
                                       std::uint64_t priority) {
  auto r = impl_->ask<rent_quote_view>(rent_quote_atom::value, work_units, result_bytes, priority);
  if (!r) return r.err();
  return to_json(*r).dump();
}

result<std::string> rent_client::flows(std::uint64_t last) {
  auto r = impl_->ask<rent_flows>(rent_flows_atom::value, last);
  if (!r) return r.err();
  return to_json(*r).dump();
}

result<std::string> storage_client::put_chunk(const bytes& chunk) {
  return impl_->ask<std::string>(st_put_atom::value, chunk);
}

result<std::string> storage_client::put_manifest(const bytes& m, const std::string& owner) {
  auto c = storage::decode_manifest(m);
  if (!c) return fail(errc::invalid_argument, "not a file manifest: " + c.err().message);
  auto auth = impl_->sign(st_nonce_atom::value, request_op::put, storage::manifest_cid(*c).str());
  if (!auth) return auth.err();
  return impl_->ask<std::string>(st_putm_atom::value, m, owner, *auth);
}

result<bytes> storage_client::get(const std::string& cid) {
  return impl_->ask<std::vector<std::uint8_t>>(st_get_atom::value, cid);
}

result<std::string> storage_client::stat(const std::string& cid) {
  auto r = impl_->ask<object_stat>(st_stat_atom::value, cid);
  if (!r) return r.err();
  return to_json(*r).dump();
}

result<bool> storage_client::has(const std::string& cid) {
  return impl_->ask<bool>(st_has_atom::value, cid);
}

result<std::string> storage_client::list() {
  auto r = impl_->ask<std::vector<stored_object>>(st_list_atom::value);
  if (!r) return r.err();
  return to_json(*r).dump();
}

result<std::string> storage_client::usage(const std::string& owner) {
  auto r = impl_->ask<storage_usage>(st_usage_atom::value, owner);
  if (!r) return r.err();
  return to_json(*r).dump();
}

result<std::string> storage_client::reputation() {
  auto r = impl_->ask<std::vector<challenge_record>>(st_rept_atom::value);
  if (!r) return r.err();
  return to_json(*r).dump();
}

result<std::string> storage_client::pin(const std::string& cid, bool pin) {
  auto auth = impl_->sign(st_nonce_atom::value, pin ? request_op::pin : request_op::unpin, cid);
  if (!auth) return auth.err();
  return impl_->ask<std::string>(st_pin_atom::value, cid, pin, *auth);
}

result<storage_client::challenge_reply> storage_client::challenge(const std::string& cid,
                                                                   const bytes& nonce) {
  using b = std::vector<std::uint8_t>;
  auto r = impl_->ask<b, b, b>(st_chal_atom::value, cid, nonce);
  if (!r) return r.err();
  auto& [answer, sig, key] = *r;
  return challenge_reply{std::move(answer), std::move(sig), std::move(key)};
}

result<std::string> storage_client::remove(const std::string& cid) {
  auto auth = impl_->sign(st_nonce_atom::value, request_op::remove, cid);
  if (!auth) return auth.err();
  return impl_->ask<std::string>(st_del_atom::value, cid, *auth);
}

result<std::unique_ptr<detail::connection>> detail::connection::open(const node_target& t,
                                                                     const std::string& role) {
  auto ep = parse_endpoint(t.address);
  if (!ep) return fail(errc::invalid_argument, "--node: " + ep.err().message);
  if (!t.plaintext && (t.key.empty() || t.cert.empty() || t.ca.empty()))
    return fail(errc::invalid_argument,
                "TLS needs --tls-key, --tls-cert and --tls-ca (or POE_TLS_KEY, POE_TLS_CERT, "
                "POE_TLS_CA), or --plaintext");
  auto timeout = std::chrono::seconds(std::max(1, t.timeout_s));
  // CAF's TLS handshake blocks its I/O thread: a port that never answers would hang the tool
  // past its timeout (tls_probe.hpp). Probe with a deadline first.
  if (!t.plaintext)
    if (auto st = tools::tls_probe(ep->host, ep->port, t.cert, t.key, timeout); !st)
      return fail(errc::unavailable, "cannot reach " + t.address + ": " + st.err().message);
  auto p = std::make_unique<connection>();
  p->role = role;
  p->key_path = t.key;
  p->timeout = timeout;
  register_messages(p->cfg);
  p->cfg.set("logger.verbosity", caf::atom("quiet"));
  // Nodes drop a connection that stays silent longer than their net.connection-timeout.
  p->cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::seconds(1)});
  p->cfg.load<caf::io::middleman>();
  if (!t.plaintext) {
    p->cfg.set("openssl.certificate", t.cert);
    p->cfg.set("openssl.key", t.key);
    p->cfg.set("openssl.cafile", t.ca);
    p->cfg.load<caf::openssl::manager>();
  }
  p->sys = std::make_unique<caf::actor_system>(p->cfg);
  p->self = std::make_unique<caf::scoped_actor>(*p->sys);
  auto& sys = *p->sys;
  auto& self = *p->self;
  caf::actor dir;
  std::string why;
  auto mm = t.plaintext ? sys.middleman().actor_handle() : sys.openssl_manager().actor_handle();
  self->request(mm, p->timeout, caf::connect_atom::value, ep->host, ep->port)
    .receive(
      [&](const caf::node_id&, caf::strong_actor_ptr& h, const std::set<std::string>&) {
        dir = caf::actor_cast<caf::actor>(h);
      },
      [&](caf::error& err) { why = sys.render(err); });
  if (!dir) return fail(errc::unavailable, "cannot reach " + t.address + ": " + why);
  self->request(dir, p->timeout, lookup_atom::value, role)
    .receive(
      [&](std::vector<role_entry>& xs) {
        if (!xs.empty()) { // local entries come first
          p->handle = xs.front().handle;
          p->node = xs.front().node;
        }
      },
      [&](caf::error& err) { why = sys.render(err); });
  if (!p->handle)
    return fail(errc::unavailable, "the node at " + t.address + " runs no " + role + " role");
  return p;
}

namespace {

// The edge: typed answers of the roles become the JSON the CLI prints.

result<validator_client::submission> submission_of(result<submit_reply> r) {
  if (!r) return r.err();
  return validator_client::submission{r->taken(), r->text()};
}

} // namespace

result<validator_client::submission> validator_client::submit_transaction(const bytes& wire) {
  return submission_of(impl_->ask<submit_reply>(tx_atom::value, wire));
}

result<validator_client::submission> validator_client::submit_evidence(const bytes& wire) {
  return submission_of(impl_->ask<submit_reply>(evidence_atom::value, wire));
}

result<std::string> validator_client::chain_status() {
  auto r = impl_->ask<runtime::chain_status>(chain_atom::value);
  if (!r) return r.err();
  return to_json(*r).dump();
}

result<std::string> validator_client::account(const std::string& id_hex) {
  auto r = impl_->ask<account_view>(account_atom::value, id_hex);
  if (!r) return r.err();
  return to_json(*r).dump();
}

result<bytes> validator_client::block(std::uint64_t height) {
  return impl_->ask<std::vector<std::uint8_t>>(block_atom::value, height);
}

result<std::string> validator_client::content(const hash256& id) {
  auto r = impl_->ask<content_view>(content_atom::value, std::vector<std::uint8_t>(id.data.begin(), id.data.end()));
  if (!r) return r.err();
  return to_json(*r).dump();
}

result<std::string> validator_client::channel(const hash256& id) {
  auto r = impl_->ask<channel_view>(chan_atom::value, std::vector<std::uint8_t>(id.data.begin(), id.data.end()));
  if (!r) return r.err();
  return to_json(*r).dump();
}

result<std::string> validator_client::escrow(const hash256& id) {
  auto r = impl_->ask<job_escrow_view>(escrow_atom::value, std::vector<std::uint8_t>(id.data.begin(), id.data.end()));
  if (!r) return r.err();
  return to_json(*r).dump();
}

channel_client::channel_client(std::unique_ptr<detail::connection> p) : impl_(std::move(p)) {}
channel_client::~channel_client() = default;

result<std::unique_ptr<channel_client>> channel_client::connect(const node_target& t) {
  auto c = detail::connection::open(t, "channel");
  if (!c) return c.err();
  return std::unique_ptr<channel_client>(new channel_client(std::move(*c)));
}

namespace {
result<channel_client::ack> ack_of(result<channel_ack> r) {
  if (!r) return r.err();
  return channel_client::ack{r->ok, r->reason, r->ticks, r->owed};
}
} // namespace

result<channel_client::ack> channel_client::lane(const bytes& commit) {
  return ack_of(impl_->ask<channel_ack>(ch_lane_atom::value, commit));
}

result<channel_client::ack> channel_client::tick(const hash256& channel, std::uint32_t lane,
                                                 std::uint32_t index, const hash256& w) {
  return ack_of(impl_->ask<channel_ack>(ch_tick_atom::value,
                                        std::vector<std::uint8_t>(channel.data.begin(), channel.data.end()),
                                        lane, index, std::vector<std::uint8_t>(w.data.begin(), w.data.end())));
}

result<channel_client::ack> channel_client::voucher(const bytes& v) {
  return ack_of(impl_->ask<channel_ack>(ch_vouch_atom::value, v));
}

result<std::string> channel_client::status() {
  auto r = impl_->ask<channel_report>(ch_status_atom::value);
  if (!r) return r.err();
  return to_json(*r).dump();
}

} // namespace poe::tools
