// The `gateway` role: published content as HLS over HTTP, for real players.
//
// Content: the role follows the chain from its first block (chain_follow.hpp: blocks are
// pushed) and keeps every content_publish's statement ("c/" ‖ content id → job_output); its
// outputs, "s<k>/<rendition>.ts", are the renditions' segments (hls_state.hpp).
// Segments: read from the storage role, every piece checked against its CID before anything
// is sent (a copy that does not match is never served: the next storage node is asked); each
// segment is probed once (duration, resolution, RFC 6381 codecs; "f/" ‖ CID → facts) for the
// playlists.
// HTTP (http_server.hpp: Boost.Beast, asynchronous connections, gateway.threads handler
// threads; the routes in gateway_http.cpp): playlists and segments with Range, CORS and
// immutable caching; payments and sessions (gateway_sessions.cpp); the application API
// (gateway_api.cpp). Errors: a malformed path 400, unknown content 404, storage unreachable
// or no good copy 503.
//
// Threads: handler threads read the body cache (body_cache.hpp) and, on a miss, ask the actor
// (gw_prep, the path) to put the body there; the actor alone touches its state and talks to
// the chain, storage, the channel role and builders.
//
// Store (column family "gateway"): "c/" ‖ content id → job_output; "f/" ‖ CID → segment facts
// (u64 duration ms ‖ u32 width ‖ u32 height ‖ u64 bytes ‖ codecs); "scan" → u64 last block.
#include "poe/actors/roles.hpp"
#include "poe/chain/block.hpp"
#include "poe/chain/payments.hpp"
#include "poe/chain/qbft.hpp"
#include "poe/chain/transaction.hpp"
#include "poe/core/byte_io.hpp"
#include "poe/media/media.hpp"
#include "poe/store/store.hpp"
#include "gateway_http.hpp"
#include "gateway_role.hpp"
#include "storage_io.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <mutex>

namespace poe::actors {

using namespace poe::runtime;

namespace {

using namespace gw_role;

bytes encode_facts(const gateway::segment_facts& f) {
  bytes v;
  append_u64_be(v, static_cast<std::uint64_t>(f.duration_ms));
  append_u32_be(v, static_cast<std::uint32_t>(f.width));
  append_u32_be(v, static_cast<std::uint32_t>(f.height));
  append_u64_be(v, f.bytes);
  v.insert(v.end(), f.codecs.begin(), f.codecs.end());
  return v;
}

std::optional<gateway::segment_facts> decode_facts(byte_view v) {
  if (v.size() < 24) return std::nullopt;
  gateway::segment_facts f;
  f.duration_ms = static_cast<std::int64_t>(get_u64_be(v.data()));
  f.width = static_cast<int>(get_u32_be(v.data() + 8));
  f.height = static_cast<int>(get_u32_be(v.data() + 12));
  f.bytes = get_u64_be(v.data() + 16);
  f.codecs.assign(v.begin() + 24, v.end());
  return f;
}


/// Answers everyone waiting for `path`: "" (its body is in the cache) or "<status> <why>".
void answer(const state_ptr& s, const std::string& path, const std::string& outcome) {
  auto it = s->waiting.find(path);
  if (it == s->waiting.end()) return;
  for (auto& rp : it->second) rp.deliver(outcome);
  s->waiting.erase(it);
}

void off_actor(caf::event_based_actor* self, const state_ptr& s, offload::work w) {
  s->work->post(std::move(w));
  if (!s->polling) {
    s->polling = true;
    self->delayed_send(self, std::chrono::milliseconds(5), gw_collect_atom::value);
  }
}

/// A segment's bytes, each piece checked against its CID, from this node's storage role or the
/// first listed, and from the others in turn when a copy does not match (fetch_any), then
/// `then(bytes)`; when no node has a good copy, `path` is answered 503.
void with_segment(caf::event_based_actor* self, const state_ptr& s, const std::string& path,
                  const std::string& cid, std::function<void(bytes)> then) {
  fetch_any(self, s->ctx.directory, s->ctx.node_id, cid, [=](result<bytes> data, std::size_t corrupt) {
    if (corrupt > 0) {
      s->corrupt->inc(static_cast<double>(corrupt));
      s->ctx.log->warn("segment {}: {} storage node(s) answered a copy that does not match its CID", cid, corrupt);
    }
    if (!data) {
      s->ctx.log->warn("segment {}: {}", cid, data.err().message);
      return answer(s, path, "503 storage: " + data.err().message);
    }
    then(std::move(*data));
  });
}

/// The facts of every segment of `renditions` (probing the ones not known yet), then `then`.
void with_facts(caf::event_based_actor* self, const state_ptr& s, const std::string& path,
                std::vector<gateway::rendition> renditions, std::function<void()> then) {
  std::vector<std::pair<std::string, std::string>> missing; // (cid, its segment path)
  for (auto& r : renditions)
    for (auto& seg : r.segments)
      if (!s->facts.count(seg.cid)) missing.emplace_back(seg.cid, r.name + "/" + std::to_string(seg.index) + ".ts");
  if (missing.empty()) return then();
  auto left = std::make_shared<std::size_t>(missing.size());
  auto failed = std::make_shared<bool>(false);
  auto prefix = path.substr(0, path.rfind('/') + 1);
  for (auto& [cid, seg_path] : missing) {
    with_segment(self, s, path, cid, [=, cid = cid, seg_path = seg_path](bytes data) {
      auto body = std::make_shared<const bytes>(std::move(data));
      s->cache->put(prefix + seg_path, {body, "video/mp2t"}); // warm: the player asks next
      off_actor(self, s, [=]() -> offload::continuation {
        auto f = media::probe(*body);
        return [=] {
          if (*failed) return;
          if (!f) {
            *failed = true;
            return answer(s, path, "502 segment " + cid + " is not playable media: " + f.err().message);
          }
          gateway::segment_facts sf{f->duration_ms, f->width, f->height, media::rfc6381_codecs(*f), body->size()};
          s->facts[cid] = sf;
          (void)s->ctx.store->put(cf, key_of('f', as_bytes(cid)), encode_facts(sf));
          if (--*left == 0) then();
        };
      });
    });
  }
}

/// Puts the body of `path` into the cache, then answers everyone waiting for it.
void prepare(caf::event_based_actor* self, const state_ptr& s, const std::string& path) {
  auto r = gateway::parse_path(path);
  if (r.what == gateway::route::kind::bad) return answer(s, path, "400 " + r.why);
  auto c = s->contents.find(r.content);
  if (c == s->contents.end()) return answer(s, path, "404 no published content " + r.content.hex());
  auto rs = gateway::renditions_of(c->second.outputs);
  if (!rs) return answer(s, path, "404 content " + r.content.hex() + " is not a stream: " + rs.err().message);
  auto find = [&](const std::string& name) -> const gateway::rendition* {
    for (auto& x : *rs)
      if (x.name == name) return &x;
    return nullptr;
  };
  auto facts_of = [s](const gateway::rendition& x) {
    std::vector<gateway::segment_facts> out;
    for (auto& seg : x.segments) out.push_back(s->facts.at(seg.cid));
    return out;
  };
  auto text = [](std::string t) { return std::make_shared<const bytes>(t.begin(), t.end()); };
  constexpr auto m3u8 = "application/vnd.apple.mpegurl";
  switch (r.what) {
  case gateway::route::kind::master:
    return with_facts(self, s, path, *rs, [=, rs = *rs] {
      std::vector<gateway::variant> vs;
      for (auto& x : rs) {
        auto v = gateway::variant_of(x, facts_of(x));
        if (!v) return answer(s, path, "502 " + v.err().message);
        vs.push_back(*v);
      }
      s->cache->put(path, {text(gateway::master_playlist(vs)), m3u8});
      {
        std::lock_guard<std::mutex> lock(s->edge->m);
        auto& n = s->edge->contents[r.content];
        n.variants = vs;
        n.duration_ms = 0;
        if (!rs.empty())
          for (auto& f : facts_of(rs.front())) n.duration_ms += f.duration_ms;
      }
      answer(s, path, "");
    });
  case gateway::route::kind::media: {
    auto* x = find(r.rendition);
    if (!x) return answer(s, path, "404 no rendition " + r.rendition);
    return with_facts(self, s, path, {*x}, [=, x = *x] {
      s->cache->put(path, {text(gateway::media_playlist(x, facts_of(x))), m3u8});
      answer(s, path, "");
    });
  }
  case gateway::route::kind::segment: {
    auto* x = find(r.rendition);
    if (!x || r.segment >= x->segments.size()) return answer(s, path, "404 no such segment");
    return with_segment(self, s, path, x->segments[r.segment].cid, [=](bytes data) {
      s->cache->put(path, {std::make_shared<const bytes>(std::move(data)), "video/mp2t"});
      answer(s, path, "");
    });
  }
  default:
    return answer(s, path, "400 bad path");
  }
}

/// The application API's view of a content (gateway_edge.hpp), from its statement and price.
void note_content(const state_ptr& s, const hash256& id, const chain::job_output& out, std::uint64_t price) {
  gw::content_note n;
  n.job = out.job;
  n.owner = out.owner;
  n.verifier = out.verifier;
  n.price = price;
  n.outputs = out.outputs.size();
  if (auto rs = gateway::renditions_of(out.outputs)) {
    for (auto& r : *rs) n.renditions.push_back(r.name);
    n.segments = rs->empty() ? 0 : rs->front().segments.size();
  }
  std::lock_guard<std::mutex> lock(s->edge->m);
  s->edge->price[id] = price;
  s->edge->contents[id] = std::move(n);
}

/// One finalized block: the content it publishes.
void on_block(const state_ptr& s, const chain_block& ev) {
  store::batch ops;
  if (ev.transactions > 0) {
    auto d = chain::qbft::decode_decision(ev.decision, ev.height);
    auto b = d ? chain::decode_block(d->block) : result<chain::block>(d.err());
    if (!b) {
      s->ctx.log->warn("block {}: {}", ev.height, b.err().message);
      return;
    }
    for (auto& raw : b->transactions) {
      auto tx = chain::decode_transaction(raw);
      if (!tx) continue;
      if (auto* p = std::get_if<chain::content_publish>(&tx->body)) {
        auto id = chain::content_id(p->output);
        ops.put(cf, key_of('c', id.view()), chain::encode(p->output));
        bytes price;
        append_u64_be(price, p->price_per_second.units());
        ops.put(cf, key_of('p', id.view()), price);
        s->contents[id] = p->output;
        note_content(s, id, p->output, p->price_per_second.units());
        s->ctx.log->info("content {} published: {} outputs of job {}", id.hex().substr(0, 16),
                         p->output.outputs.size(), p->output.job);
      }
    }
  }
  bytes h;
  append_u64_be(h, ev.height);
  ops.put(cf, as_bytes(std::string_view("scan")), h);
  if (auto st = s->ctx.store->write(ops); !st) s->ctx.log->error("gateway index not stored: {}", st.err().message);
}

void restore(const state_ptr& s) {
  auto& st = *s->ctx.store;
  auto ok = st.for_each(cf, as_bytes(std::string_view("c/")), [&](byte_view k, byte_view v) {
    auto id = hash256::from_view(k.subspan(2));
    auto out = chain::decode_job_output(v);
    if (id && out) s->contents[*id] = std::move(*out);
    return true;
  });
  ok = ok ? st.for_each(cf, as_bytes(std::string_view("p/")), [&](byte_view k, byte_view v) {
    if (auto id = hash256::from_view(k.subspan(2)); id && v.size() == 8) s->edge->price[*id] = get_u64_be(v.data());
    return true;
  }) : ok;
  ok = ok ? st.for_each(cf, as_bytes(std::string_view("f/")), [&](byte_view k, byte_view v) {
    if (auto f = decode_facts(v)) s->facts[std::string(k.begin() + 2, k.end())] = *f;
    return true;
  }) : ok;
  ok = ok ? st.for_each(cf, as_bytes(std::string_view("q/")), [&](byte_view k, byte_view v) {
    s->queued[std::string(k.begin() + 2, k.end())] = bytes(v.begin(), v.end());
    return true;
  }) : ok;
  if (!ok) throw std::runtime_error("gateway: reading the store: " + ok.err().message);
  for (auto& [id, out] : s->contents) {
    std::uint64_t price = 0;
    {
      std::lock_guard<std::mutex> lock(s->edge->m);
      price = s->edge->price[id];
    }
    note_content(s, id, out, price);
  }
}

/// host:port of gateway.listen.
std::pair<std::string, int> endpoint(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("gateway.listen: expected host:port, got '" + listen + "'");
  int port = std::atoi(listen.c_str() + colon + 1);
  if (port < 0 || port > 65535) throw std::runtime_error("gateway.listen: bad port in '" + listen + "'");
  return {listen.substr(0, colon), port};
}

} // namespace

runtime::role_info gateway_role() {
  return {
    "gateway", "serves published content as HLS over HTTP; playback sessions and their receipts",
    [](caf::event_based_actor* self, const role_context& ctx) -> caf::behavior {
      if (!ctx.store) throw std::runtime_error("the gateway role needs the node's store");
      if (!ctx.key) throw std::runtime_error("the gateway role needs the node key (playback tokens name it)");
      auto& opts = ctx.options().gateway;
      auto s = std::make_shared<gstate>();
      s->ctx = ctx;
      s->cache = std::make_shared<gateway::body_cache>(static_cast<std::uint64_t>(opts.cache_mb) << 20);
      s->work = std::make_unique<offload>(1);
      s->credit_seconds = opts.credit_seconds;
      s->api = std::make_shared<gw::api_state>();
      s->api->ctx = ctx;
      s->api->off = [self, w = std::weak_ptr<gstate>(s)](offload::work job) {
        if (auto s = w.lock()) off_actor(self, s, std::move(job));
      };
      s->sessions = gateway::playback_sessions(
        {static_cast<std::uint64_t>(opts.session_idle_s) * 1000, static_cast<std::uint64_t>(opts.receipt_every_s) * 1000});
      auto& e = *s->edge;
      e.clock = ctx.clock;
      e.chain_id = ctx.chain_id;
      e.gateway = ctx.key->id();
      e.cache = s->cache;
      // The player page: gateway.web-dir, else the build's copy, else the package's.
      e.web_dir = opts.web_dir;
      if (e.web_dir.empty()) {
        std::error_code ec;
        e.web_dir = std::filesystem::is_directory(POE_WEB_DIR, ec) ? POE_WEB_DIR : "/usr/share/poe/web";
      }
      restore(s);
      std::uint64_t scanned = 0;
      if (auto raw = ctx.store->get(cf, as_bytes(std::string_view("scan"))); raw && *raw && (*raw)->size() == 8)
        scanned = get_u64_be((*raw)->data());
      auto& f = *ctx.metrics;
      auto requests = [&](const char* code) {
        return f.make_counter("poe_gateway_requests_total", "HTTP requests answered, by status class.", {{"status", code}});
      };
      e.requests_ok = requests("200");
      e.requests_partial = requests("206");
      e.requests_payment = requests("402");
      e.requests_client_error = requests("4xx");
      e.requests_not_found = requests("404");
      e.requests_unavailable = requests("5xx");
      e.bytes_sent = f.make_counter("poe_gateway_bytes_sent_total", "Body bytes sent (playlists and segments).");
      e.cache_misses = f.make_counter("poe_gateway_cache_misses_total", "Requests whose body was not cached yet.");
      for (auto reason : {"missing_token", "malformed_token", "forged_token", "wrong_gateway", "wrong_content",
                          "expired_token", "not_payer"})
        e.refused[reason] = f.make_counter("poe_gateway_refused_total",
                                           "Requests refused for their playback token (401/403), by reason.",
                                           {{"reason", reason}});
      s->ticks_relayed = f.make_counter("poe_gateway_ticks_total", "Viewers' ticks relayed to the channel role.");
      s->ticks_batches = f.make_counter("poe_gateway_tick_batches_total", "ch_ticks messages the ticks went in.");
      s->receipts_made = f.make_counter("poe_gateway_receipts_total", "Playback receipts made (signed and queued).");
      s->receipts_taken = f.make_counter("poe_gateway_receipts_taken_total", "Playback receipts a builder took.");
      s->corrupt = f.make_counter("poe_gateway_corrupt_total", "Storage answers that did not match their CID (never served).");
      // The HTTP server: bound now (a bad or taken address fails the role at start), served
      // on its own threads until the role stops.
      auto [host, port] = endpoint(opts.listen);
      gw::http_server::options ho;
      ho.handler_threads = opts.threads;
      ho.keep_alive = opts.keep_alive_s > 0;
      // An idle connection costs a socket, not a thread: it may wait (for its first request too).
      ho.idle = std::chrono::seconds(opts.keep_alive_s > 0 ? opts.keep_alive_s : 10);
      ho.max_body = gw::max_upload_bytes;
      auto http = std::make_shared<gw::http_server>(ho);
      gw::install_routes(*http, self->system(), caf::actor_cast<caf::actor>(self), s->edge);
      try {
        http->listen(host, port);
      } catch (const std::exception& e) {
        throw std::runtime_error(std::string("gateway.listen: ") + e.what());
      }
      s->http = http;
      self->attach_functor([s] {
        s->work->stop();
        s->http->stop();
      });
      ctx.log->info("gateway: HLS on http://{}/content/<id>/master.m3u8 ({} handler threads, {} MiB cache), {} content known, "
                    "{} playback receipts queued",
                    opts.listen, opts.threads, opts.cache_mb, s->contents.size(), s->queued.size());
      s->chain = std::make_unique<chain_follower>(scanned, [](const chain_status&) {});
      self->send(ctx.directory, subscribe_atom::value, std::string("validator"));
      self->delayed_send(self, session_tick, gw_clock_atom::value);
      // The HTTP threads' messages come from this process only.
      auto local = [self, s] {
        auto from = s->ctx.sender_node(self->current_sender());
        return from && *from == s->ctx.node_id;
      };
      auto not_local = [] { return caf::make_error(caf::sec::request_receiver_down, "gateway: not from this node"); };
      return {
        [self, s](members_atom, const std::string& role, const std::vector<role_entry>& xs) {
          if (role == "validator") s->chain->members(self, s->ctx, xs);
        },
        [self, s](const chain_block& b) {
          if (s->chain->take(self, s->ctx, b)) on_block(s, b);
        },
        [self, s](chain_retry_atom) { s->chain->subscribe(self, s->ctx); },
        [self, s](gw_collect_atom) {
          s->work->collect();
          s->polling = !s->work->idle();
          if (s->polling) self->delayed_send(self, std::chrono::milliseconds(5), gw_collect_atom::value);
        },
        [self, s](gw_clock_atom) {
          make_receipts(self, s);
          self->delayed_send(self, session_tick, gw_clock_atom::value);
        },
        [self, s, local, not_local](gw::token_atom, const bytes_t& ch, const bytes_t& who) -> caf::result<std::string> {
          if (!local()) return not_local();
          auto channel = hash256::from_view(ch);
          auto viewer = node_id::from_view(who);
          if (!channel || !viewer) return std::string("400 malformed_token bad ids");
          if (s->payers.count({*channel, *viewer})) return std::string{};
          if (!s->chain->subscribed()) return std::string("503 no validator to check the channel with");
          auto rp = self->make_response_promise();
          self->request(s->chain->validator(), std::chrono::seconds(10), chan_atom::value, ch)
            .then(
              [s, rp, channel = *channel, viewer = *viewer](const channel_view& v) mutable {
                auto me = s->ctx.key->id();
                if (!v.found) return rp.deliver(std::string("403 not_payer no open channel ") + channel.hex());
                if (v.payer != bytes_t(viewer.data.begin(), viewer.data.end()))
                  return rp.deliver(std::string("403 not_payer the token's viewer does not pay channel ") + channel.hex());
                if (v.payee != bytes_t(me.data.begin(), me.data.end()))
                  return rp.deliver(std::string("403 not_payer channel ") + channel.hex() + " pays another node");
                if (v.closing_height != 0) return rp.deliver(std::string("403 not_payer the channel is closing"));
                s->payers[{channel, viewer}] = true;
                rp.deliver(std::string{});
              },
              [rp](caf::error&) mutable { rp.deliver(std::string("503 the channel could not be read from the chain")); });
          return rp;
        },
        [self, s, local, not_local](gw::paid_atom, const std::string& key, const std::string& token_text)
          -> caf::result<std::string> {
          if (!local()) return not_local();
          return gw_role::paid(self, s, key, token_text);
        },
        [self, s, local, not_local](gw::lane_atom, const std::string& token_text, const bytes_t& raw)
          -> caf::result<channel_ack> {
          if (!local()) return not_local();
          return gw_role::commit_lane(self, s, token_text, raw);
        },
        [self, s, local, not_local](gw::ticks_atom, const std::string& token_text, const std::vector<std::uint32_t>& indices,
                                    const std::vector<bytes_t>& hashes) -> caf::result<std::vector<channel_ack>> {
          if (!local()) return not_local();
          return gw_role::take_ticks(self, s, token_text, indices, hashes);
        },
        [self, s, local, not_local](gw::upload_atom, bytes_t& data, std::string& type) -> caf::result<std::string> {
          if (!local()) return not_local();
          return gw::upload(self, s->api, bytes(std::move(data)), std::move(type));
        },
        [self, s, local, not_local](gw::commit_atom, const std::string& cid, const std::string& key,
                                    const std::string& sig) -> caf::result<std::string> {
          if (!local()) return not_local();
          return gw::commit(self, s->api, cid, key, sig);
        },
        [self, s, local, not_local](gw::job_atom, const std::vector<std::string>& f) -> caf::result<std::string> {
          if (!local()) return not_local();
          if (f.size() != 5) return std::string("400 malformed job request");
          return gw::submit_job(self, s->api, f[0], f[1], f[2], f[3], f[4]);
        },
        [self, s, local, not_local](gw::job_status_atom, const std::string& job) -> caf::result<std::string> {
          if (!local()) return not_local();
          return gw::job_status(self, s->api, job);
        },
        [self, s, local, not_local](gw::prepare_atom, const std::string& path) -> caf::result<std::string> {
          if (!local()) return not_local();
          if (s->cache->get(path)) return std::string{};
          auto rp = self->make_response_promise();
          auto& w = s->waiting[path];
          w.push_back(rp);
          if (w.size() == 1) prepare(self, s, path); // the first asks; the others wait for it
          return rp;
        },
      };
    },
    {}};
}

} // namespace poe::actors
