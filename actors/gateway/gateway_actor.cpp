// The `gateway` role: published content as HLS over HTTP, for real players.
//
// Content: the role follows the chain from its first block (chain_follow.hpp: blocks are
// pushed) and keeps every content_publish's statement ("c/" ‖ content id → job_output); its
// outputs, "s<k>/<rendition>.ts", are the renditions' segments (hls_state.hpp).
// Segments: read from the storage role, every piece checked against its CID before anything
// is sent (a corrupt copy is an error, never served); each segment is probed once (duration,
// resolution, RFC 6381 codecs; "f/" ‖ CID → facts) for the playlists.
// HTTP (cpp-httplib, its own thread pool of gateway.threads): GET and HEAD of
//   /content/<id>/master.m3u8, /content/<id>/<rendition>.m3u8, /content/<id>/<rendition>/<k>.ts
// with Range (one range; 206 / 416), CORS on every answer and OPTIONS, and immutable caching
// (content ids name exact bytes). Errors: a malformed path 400, unknown content 404,
// storage unreachable or only corrupt copies 503.
//
// Threads: HTTP threads read the body cache (body_cache.hpp) and, on a miss, ask the actor
// (gw_prepare, the path) to put the body there; the actor alone touches its state and talks
// to the chain and storage.
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
#include "poe/runtime/messages.hpp"
#include "poe/runtime/metrics.hpp"
#include "poe/store/store.hpp"
#include "body_cache.hpp"
#include "chain_follow.hpp"
#include "hls_state.hpp"
#include "offload.hpp"
#include "storage_io.hpp"

#include <caf/all.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <map>
#include <mutex>
#include <thread>

namespace poe::actors {

using namespace poe::runtime;

namespace {

using gw_prepare_atom = caf::atom_constant<caf::atom("gw_prep")>;
using gw_token_atom = caf::atom_constant<caf::atom("gw_token")>;
using gw_paid_atom = caf::atom_constant<caf::atom("gw_paid")>;
using gw_relay_atom = caf::atom_constant<caf::atom("gw_relay")>;
constexpr std::uint64_t max_token_life_ms = 24ull * 3600 * 1000; ///< a token may not outlive a day
using gw_collect_atom = caf::atom_constant<caf::atom("gw_poll")>;
constexpr const char* cf = "gateway";
constexpr auto http_timeout = std::chrono::seconds(60);

bytes key_of(char kind, byte_view rest) {
  bytes k{static_cast<std::uint8_t>(kind), '/'};
  k.insert(k.end(), rest.begin(), rest.end());
  return k;
}

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

/// What the HTTP threads read without asking the actor: each content's price, and the tokens
/// whose channel was checked (until they expire). Written by the actor (prices) and the HTTP
/// threads (tokens).
struct access_book {
  std::mutex m;
  std::map<hash256, std::uint64_t> price; ///< per second; 0: free (no token needed)
  /// Tokens whose signature and channel were checked: token → (its content, not_after_ms).
  std::map<std::string, std::pair<hash256, std::uint64_t>> tokens;
};

struct gstate {
  role_context ctx;
  std::shared_ptr<access_book> access = std::make_shared<access_book>();
  std::map<std::pair<hash256, node_id>, bool> payers; ///< (channel, viewer): checked on chain
  std::unique_ptr<chain_follower> chain;
  std::map<hash256, chain::job_output> contents;
  std::map<std::string, gateway::segment_facts> facts; ///< by segment CID
  std::shared_ptr<gateway::body_cache> cache;
  std::map<std::string, std::vector<caf::response_promise>> waiting; ///< by path
  caf::actor storage;
  caf::actor channel; ///< this node's channel role (ticks and the seconds paid)
  std::uint64_t credit_seconds = 4;
  std::unique_ptr<offload> work;
  bool polling = false;
  std::shared_ptr<httplib::Server> http;
  std::thread http_thread;
  std::map<std::string, std::shared_ptr<metrics::counter>> refused; ///< by reason (set at start)
  std::shared_ptr<metrics::counter> requests_payment, ticks_relayed;
  std::shared_ptr<metrics::counter> requests_ok, requests_partial, requests_client_error, requests_not_found,
    requests_unavailable, bytes_sent, cache_misses, corrupt;
};
using state_ptr = std::shared_ptr<gstate>;

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

/// A segment's bytes, each piece checked against its CID (fetch_file), then `then(bytes)`; a
/// failure answers `path` with 503.
void with_segment(caf::event_based_actor* self, const state_ptr& s, const std::string& path,
                  const std::string& cid, std::function<void(bytes)> then) {
  auto go = [=](caf::actor storage) {
    fetch_file(self, storage, cid, [=](result<bytes> data) {
      if (!data) {
        if (data.err().code == errc::verify_failed) s->corrupt->inc();
        s->ctx.log->warn("segment {}: {}", cid, data.err().message);
        s->storage = caf::actor{}; // look the storage role up again next time
        return answer(s, path, "503 storage: " + data.err().message);
      }
      then(std::move(*data));
    });
  };
  if (s->storage) return go(s->storage);
  find_role(
    self, s->ctx.directory, "storage", s->ctx.node_id,
    [=](caf::actor storage) {
      s->storage = storage;
      go(storage);
    },
    [=](std::string why) { answer(s, path, "503 no storage role reachable: " + why); });
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
        std::lock_guard<std::mutex> lock(s->access->m);
        s->access->price[id] = p->price_per_second.units();
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
    if (auto id = hash256::from_view(k.subspan(2)); id && v.size() == 8) s->access->price[*id] = get_u64_be(v.data());
    return true;
  }) : ok;
  ok = ok ? st.for_each(cf, as_bytes(std::string_view("f/")), [&](byte_view k, byte_view v) {
    if (auto f = decode_facts(v)) s->facts[std::string(k.begin() + 2, k.end())] = *f;
    return true;
  }) : ok;
  if (!ok) throw std::runtime_error("gateway: reading the store: " + ok.err().message);
}

// -- HTTP ------------------------------------------------------------------------------------

void cors(httplib::Response& res) {
  res.set_header("Access-Control-Allow-Origin", "*");
  res.set_header("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS");
  res.set_header("Access-Control-Allow-Headers", "Range, Content-Type, X-Poe-Tick");
  res.set_header("Access-Control-Expose-Headers", "Content-Length, Content-Range, Accept-Ranges");
}

/// RFC 9457 problem details.
void error_reply(httplib::Response& res, int status, const std::string& why) {
  res.status = status;
  res.set_content(nlohmann::json{{"type", "about:blank"},
                                 {"title", status == 400   ? "Bad Request"
                                           : status == 404 ? "Not Found"
                                           : status == 416 ? "Range Not Satisfiable"
                                           : status == 502 ? "Bad Gateway"
                                                           : "Service Unavailable"},
                                 {"status", status},
                                 {"detail", why}}
                      .dump() +
                    "\n",
                  "application/problem+json");
}

/// "" when the request may be served, else "<status> <reason> <why>": free content needs no
/// token; paid content a playback token signed by the payer of a channel to this node, for
/// this content and gateway, not expired (reasons: missing_token, malformed_token,
/// forged_token, wrong_gateway, wrong_content, expired_token, not_payer).
std::string check_access(caf::actor_system& sys, const caf::actor& gateway, const state_ptr& s,
                         const gateway::route& route) {
  std::optional<std::uint64_t> price;
  {
    std::lock_guard<std::mutex> lock(s->access->m);
    if (auto p = s->access->price.find(route.content); p != s->access->price.end()) price = p->second;
  }
  if (route.token.empty()) {
    if (price && *price > 0)
      return "401 missing_token paid content is served with a playback token: /t/<token>/content/...";
    return {}; // free, or unknown (answered 404 when it is prepared)
  }
  auto now = s->ctx.clock.now_ms();
  {
    std::lock_guard<std::mutex> lock(s->access->m);
    if (auto t = s->access->tokens.find(route.token); t != s->access->tokens.end()) {
      // A checked token still names one content: it opens nothing else.
      if (t->second.first != route.content)
        return "403 wrong_content the token is for content " + t->second.first.hex();
      if (now <= t->second.second) return {};
      s->access->tokens.erase(t);
    }
  }
  auto token = chain::playback_token_from_url(route.token);
  if (!token) return "401 malformed_token " + token.err().message;
  auto viewer = chain::verify(*token, s->ctx.chain_id);
  if (!viewer) return "401 forged_token " + viewer.err().message;
  if (token->gateway != s->ctx.key->id()) return "403 wrong_gateway the token is for gateway " + token->gateway.hex();
  if (token->content != route.content) return "403 wrong_content the token is for content " + token->content.hex();
  if (now > token->not_after_ms) return "403 expired_token the token expired";
  if (token->not_after_ms > now + max_token_life_ms) return "403 expired_token the token outlives a day";
  std::string outcome = "503 the gateway did not answer";
  caf::scoped_actor self{sys};
  self->request(gateway, http_timeout, gw_token_atom::value,
                std::vector<std::uint8_t>(token->channel.data.begin(), token->channel.data.end()),
                std::vector<std::uint8_t>(viewer->data.begin(), viewer->data.end()))
    .receive([&](std::string& o) { outcome = std::move(o); },
             [&](caf::error& e) { outcome = "503 " + sys.render(e); });
  if (!outcome.empty()) return outcome;
  std::lock_guard<std::mutex> lock(s->access->m);
  if (s->access->tokens.size() >= 100'000) s->access->tokens.clear(); // bounded
  s->access->tokens[route.token] = {token->content, token->not_after_ms};
  return {};
}

/// This node's channel role (asked of the actor), or why there is none.
result<caf::actor> channel_role_of(caf::actor_system& sys, const caf::actor& gateway) {
  result<caf::actor> out = fail(errc::unavailable, "the gateway did not answer");
  caf::scoped_actor self{sys};
  self->request(gateway, http_timeout, gw_relay_atom::value)
    .receive([&](caf::actor& a) { out = std::move(a); },
             [&](caf::error& e) { out = fail(errc::unavailable, "no channel role on the gateway's node: " + sys.render(e)); });
  return out;
}

/// Hands ticks (index, w) of the token's lane to the channel role; its answers.
result<std::vector<channel_ack>> relay_ticks(caf::actor_system& sys, const caf::actor& gateway, const state_ptr& s,
                                             const chain::playback_token& t,
                                             const std::vector<std::pair<std::uint32_t, hash256>>& ticks) {
  auto channel = channel_role_of(sys, gateway);
  if (!channel) return channel.err();
  std::vector<std::vector<std::uint8_t>> records;
  for (auto& [index, w] : ticks) {
    std::vector<std::uint8_t> r(t.channel.data.begin(), t.channel.data.end());
    bytes tail;
    append_u32_be(tail, t.lane);
    append_u32_be(tail, index);
    r.insert(r.end(), tail.begin(), tail.end());
    r.insert(r.end(), w.data.begin(), w.data.end());
    records.push_back(std::move(r));
  }
  result<std::vector<channel_ack>> out = fail(errc::unavailable, "the channel role did not answer");
  caf::scoped_actor self{sys};
  self->request(*channel, http_timeout, ch_ticks_atom::value, std::move(records))
    .receive([&](std::vector<channel_ack>& acks) { out = std::move(acks); },
             [&](caf::error& e) { out = fail(errc::unavailable, sys.render(e)); });
  if (out) s->ticks_relayed->inc(static_cast<double>(ticks.size()));
  return out;
}

nlohmann::json ack_json(const channel_ack& a) {
  return {{"ok", a.ok}, {"reason", a.reason}, {"ticks", a.ticks}, {"owed", std::to_string(a.owed)}};
}

/// POST /t/<token>/lane (the hex lane commitment) and /t/<token>/ticks ({"ticks": [{"index",
/// "w"}]}): a viewer's payment, handed to this node's channel role, which answers once it
/// stored it.
void pay(caf::actor_system& sys, const caf::actor& gateway, const state_ptr& s, const httplib::Request& req,
         httplib::Response& res) {
  cors(res);
  std::string text = req.matches[1];
  auto token = chain::playback_token_from_url(text);
  if (!token) return error_reply(res, 401, "malformed_token " + token.err().message);
  gateway::route r;
  r.what = gateway::route::kind::master;
  r.content = token->content;
  r.token = text;
  if (auto refusal = check_access(sys, gateway, s, r); !refusal.empty())
    return error_reply(res, std::atoi(refusal.c_str()), refusal.substr(4));
  if (req.matches[2] == "lane") {
    auto raw = from_hex(std::string_view(req.body).substr(0, req.body.find_last_not_of(" \r\n") + 1));
    auto commit = raw ? chain::decode_lane_commit(*raw) : result<chain::lane_commit>(raw.err());
    if (!commit) return error_reply(res, 400, "the body is not a hex lane commitment: " + commit.err().message);
    if (commit->channel != token->channel || commit->lane != token->lane || commit->content != token->content)
      return error_reply(res, 400, "the commitment is not for the token's channel, lane and content");
    auto channel = channel_role_of(sys, gateway);
    if (!channel) return error_reply(res, 503, channel.err().message);
    std::optional<channel_ack> ack;
    std::string why = "the channel role did not answer";
    caf::scoped_actor self{sys};
    self->request(*channel, http_timeout, ch_lane_atom::value, std::vector<std::uint8_t>(raw->begin(), raw->end()))
      .receive([&](channel_ack& a) { ack = std::move(a); }, [&](caf::error& e) { why = sys.render(e); });
    if (!ack) return error_reply(res, 503, why);
    res.status = ack->ok ? 200 : 409;
    return res.set_content(ack_json(*ack).dump() + "\n", "application/json");
  }
  auto body = nlohmann::json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("ticks") || !body["ticks"].is_array() ||
      body["ticks"].empty() || body["ticks"].size() > 1000)
    return error_reply(res, 400, "expected {\"ticks\": [{\"index\": i, \"w\": \"<64 hex>\"}]} with 1..1000 ticks");
  std::vector<std::pair<std::uint32_t, hash256>> ticks;
  for (auto& t : body["ticks"]) {
    auto w = t.is_object() && t.contains("w") && t["w"].is_string() ? hash256::from_hex(t["w"].get<std::string>())
                                                                      : result<hash256>(fail(errc::bad_hex, "no w"));
    if (!t.is_object() || !t.contains("index") || !t["index"].is_number_unsigned() || !w ||
        t["index"].get<std::uint64_t>() > UINT32_MAX)
      return error_reply(res, 400, "a tick is {\"index\": unsigned, \"w\": 64 hex digits}");
    ticks.emplace_back(static_cast<std::uint32_t>(t["index"].get<std::uint64_t>()), *w);
  }
  auto acks = relay_ticks(sys, gateway, s, *token, ticks);
  if (!acks) return error_reply(res, 503, acks.err().message);
  nlohmann::json out{{"acks", nlohmann::json::array()}};
  std::uint32_t paid = 0;
  for (auto& a : *acks) {
    out["acks"].push_back(ack_json(a));
    if (a.ok) paid = std::max(paid, a.ticks);
  }
  out["paid_seconds"] = paid;
  res.set_content(out.dump() + "\n", "application/json");
}

/// Asks the actor (which asks the channel role) whether the token's lane has paid through the
/// end of the segment (less gateway.credit-seconds): "" when it has, else the 402 body. Free
/// content passes. The media playlist is prepared first: its facts give the segment's end.
std::string check_paid(caf::actor_system& sys, const caf::actor& gateway, const state_ptr& s,
                       const gateway::route& route) {
  {
    std::lock_guard<std::mutex> lock(s->access->m);
    auto p = s->access->price.find(route.content);
    if (p == s->access->price.end() || p->second == 0) return {};
  }
  auto token = chain::playback_token_from_url(route.token);
  if (!token) return {}; // checked before: cannot happen
  auto playlist = route.key.substr(0, route.key.rfind('/')) + ".m3u8";
  std::string outcome = "503 the gateway did not answer";
  caf::scoped_actor self{sys};
  if (!s->cache->get(playlist))
    self->request(gateway, http_timeout, gw_prepare_atom::value, playlist)
      .receive([&](std::string& o) { outcome = std::move(o); }, [&](caf::error& e) { outcome = "503 " + sys.render(e); });
  self->request(gateway, http_timeout, gw_paid_atom::value, route.key,
                std::vector<std::uint8_t>(token->channel.data.begin(), token->channel.data.end()), token->lane)
    .receive([&](std::string& o) { outcome = std::move(o); }, [&](caf::error& e) { outcome = "503 " + sys.render(e); });
  return outcome;
}

/// GET or HEAD of a playlist or segment.
void serve(caf::actor_system& sys, const caf::actor& gateway, const state_ptr& s, const httplib::Request& req,
           httplib::Response& res) {
  cors(res);
  auto route = gateway::parse_path(req.path);
  if (route.what == gateway::route::kind::bad) {
    s->requests_client_error->inc();
    return error_reply(res, 400, route.why);
  }
  if (auto refusal = check_access(sys, gateway, s, route); !refusal.empty()) {
    auto status = std::atoi(refusal.c_str());
    auto reason = refusal.substr(4, refusal.find(' ', 4) - 4);
    if (auto c = s->refused.find(reason); c != s->refused.end()) c->second->inc();
    if (status == 401) res.set_header("WWW-Authenticate", "PoE-Playback-Token");
    return error_reply(res, status, refusal.substr(4));
  }
  if (auto tick = req.get_header_value("X-Poe-Tick"); !tick.empty() && !route.token.empty()) {
    // One tick carried by the request itself ("<index>:<64 hex w>").
    auto colon = tick.find(':');
    auto w = colon == std::string::npos ? result<hash256>(fail(errc::bad_hex, "")) : hash256::from_hex(tick.substr(colon + 1));
    char* end = nullptr;
    auto index = std::strtoul(tick.c_str(), &end, 10);
    auto token = chain::playback_token_from_url(route.token);
    if (!w || end != tick.c_str() + colon || index > UINT32_MAX || !token)
      return error_reply(res, 400, "X-Poe-Tick is <index>:<64 hex digits>");
    if (auto acks = relay_ticks(sys, gateway, s, *token, {{static_cast<std::uint32_t>(index), *w}}); !acks)
      return error_reply(res, 503, acks.err().message);
  }
  if (!route.token.empty() && route.what == gateway::route::kind::segment)
    if (auto owed = check_paid(sys, gateway, s, route); !owed.empty()) {
      int status = std::atoi(owed.c_str());
      if (status != 402) {
        s->requests_unavailable->inc();
        return error_reply(res, status >= 400 && status <= 599 ? status : 503, owed.substr(owed.find(' ') + 1));
      }
      s->requests_payment->inc();
      res.status = 402;
      res.set_content(owed.substr(4) + "\n", "application/problem+json");
      return;
    }
  auto body = s->cache->get(route.key);
  if (!body) {
    s->cache_misses->inc();
    std::string outcome = "503 the gateway did not answer";
    caf::scoped_actor self{sys};
    self->request(gateway, http_timeout, gw_prepare_atom::value, route.key)
      .receive([&](std::string& o) { outcome = std::move(o); },
               [&](caf::error& e) { outcome = "503 " + sys.render(e); });
    if (outcome.empty()) body = s->cache->get(route.key);
    if (!body) {
      if (outcome.empty()) outcome = "503 evicted before it was sent (gateway.cache-mb is too small)";
      int status = std::atoi(outcome.c_str());
      if (status < 400 || status > 599) status = 503;
      (status == 404 ? s->requests_not_found : status < 500 ? s->requests_client_error : s->requests_unavailable)->inc();
      return error_reply(res, status, outcome.substr(outcome.find(' ') + 1));
    }
  }
  // Content ids name exact bytes: playlists and segments never change.
  res.set_header("Cache-Control", "public, max-age=31536000, immutable");
  res.set_header("Accept-Ranges", "bytes");
  auto data = body->body;
  auto range = gateway::parse_range(req.get_header_value("Range"), data->size());
  // The range is ours to apply (hls_state.hpp's rules, the 416 answer): cpp-httplib would
  // apply the ranges it parsed a second time to what we send. Its Request object is not const
  // (the handler receives a const view of it).
  const_cast<httplib::Request&>(req).ranges.clear();
  std::uint64_t first = 0, last = data->empty() ? 0 : data->size() - 1;
  if (range) {
    if (!*range) {
      s->requests_client_error->inc();
      res.set_header("Content-Range", "bytes */" + std::to_string(data->size()));
      return error_reply(res, 416, "range not satisfiable");
    }
    first = (*range)->first;
    last = (*range)->last;
    res.status = 206;
    res.set_header("Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" +
                                        std::to_string(data->size()));
    s->requests_partial->inc();
  } else {
    res.status = 200;
    s->requests_ok->inc();
  }
  auto length = data->empty() ? 0 : last - first + 1;
  s->bytes_sent->inc(static_cast<double>(length));
  // The body is shared with the cache: streamed from it, never copied.
  res.set_content_provider(
    length, body->content_type, [data, first](std::size_t offset, std::size_t n, httplib::DataSink& sink) {
      sink.write(reinterpret_cast<const char*>(data->data() + first + offset), n);
      return true;
    });
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
    "gateway", "serves published content as HLS over HTTP",
    [](caf::event_based_actor* self, const role_context& ctx) -> caf::behavior {
      if (!ctx.store) throw std::runtime_error("the gateway role needs the node's store");
      if (!ctx.key) throw std::runtime_error("the gateway role needs the node key (playback tokens name it)");
      auto& opts = ctx.options().gateway;
      auto s = std::make_shared<gstate>();
      s->ctx = ctx;
      s->cache = std::make_shared<gateway::body_cache>(static_cast<std::uint64_t>(opts.cache_mb) << 20);
      s->work = std::make_unique<offload>(1);
      s->credit_seconds = opts.credit_seconds;
      restore(s);
      std::uint64_t scanned = 0;
      if (auto raw = ctx.store->get(cf, as_bytes(std::string_view("scan"))); raw && *raw && (*raw)->size() == 8)
        scanned = get_u64_be((*raw)->data());
      auto& f = *ctx.metrics;
      auto requests = [&](const char* code) {
        return f.make_counter("poe_gateway_requests_total", "HTTP requests answered, by status class.", {{"status", code}});
      };
      s->requests_ok = requests("200");
      s->requests_partial = requests("206");
      s->requests_payment = requests("402");
      s->requests_client_error = requests("4xx");
      s->requests_not_found = requests("404");
      s->requests_unavailable = requests("5xx");
      s->bytes_sent = f.make_counter("poe_gateway_bytes_sent_total", "Body bytes sent (playlists and segments).");
      s->cache_misses = f.make_counter("poe_gateway_cache_misses_total", "Requests whose body was not cached yet.");
      for (auto reason : {"missing_token", "malformed_token", "forged_token", "wrong_gateway", "wrong_content",
                          "expired_token", "not_payer"})
        s->refused[reason] = f.make_counter("poe_gateway_refused_total",
                                            "Requests refused for their playback token (401/403), by reason.",
                                            {{"reason", reason}});
      s->ticks_relayed = f.make_counter("poe_gateway_ticks_total", "Viewers' ticks relayed to the channel role.");
      s->corrupt = f.make_counter("poe_gateway_corrupt_total", "Storage answers that did not match their CID (never served).");
      // The HTTP server: bound now (a bad or taken address fails the role at start), served
      // on its own threads until the role stops.
      auto [host, port] = endpoint(opts.listen);
      auto http = std::make_shared<httplib::Server>();
      auto threads = opts.threads;
      http->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
      auto& sys = self->system();
      caf::actor me = caf::actor_cast<caf::actor>(self);
      std::weak_ptr<gstate> weak = s;
      auto handler = [&sys, me, weak](const httplib::Request& req, httplib::Response& res) {
        if (auto sp = weak.lock()) serve(sys, me, sp, req, res);
        else error_reply(res, 503, "the gateway is stopping");
      };
      http->Get(R"(/.*)", handler);
      http->Post(R"(/t/([A-Za-z0-9_-]+)/(lane|ticks))", [&sys, me, weak](const httplib::Request& req, httplib::Response& res) {
        if (auto sp = weak.lock()) pay(sys, me, sp, req, res);
        else error_reply(res, 503, "the gateway is stopping");
      });
      http->Options(R"(/.*)", [](const httplib::Request&, httplib::Response& res) {
        cors(res);
        res.set_header("Access-Control-Max-Age", "86400");
        res.status = 204;
      });
      if (!http->bind_to_port(host, port))
        throw std::runtime_error("gateway.listen: cannot listen on " + opts.listen);
      s->http = http;
      s->http_thread = std::thread([http] { http->listen_after_bind(); });
      self->attach_functor([s] {
        s->work->stop();
        s->http->stop();
        if (s->http_thread.joinable()) s->http_thread.join();
      });
      ctx.log->info("gateway: HLS on http://{}/content/<id>/master.m3u8 ({} threads, {} MiB cache), {} content known",
                    opts.listen, threads, opts.cache_mb, s->contents.size());
      s->chain = std::make_unique<chain_follower>(scanned, [](const chain_status&) {});
      self->send(ctx.directory, subscribe_atom::value, std::string("validator"));
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
        [self, s](gw_token_atom, const std::vector<std::uint8_t>& ch, const std::vector<std::uint8_t>& who)
          -> caf::result<std::string> {
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
                if (v.payer != std::vector<std::uint8_t>(viewer.data.begin(), viewer.data.end()))
                  return rp.deliver(std::string("403 not_payer the token's viewer does not pay channel ") + channel.hex());
                if (v.payee != std::vector<std::uint8_t>(me.data.begin(), me.data.end()))
                  return rp.deliver(std::string("403 not_payer channel ") + channel.hex() + " pays another node");
                if (v.closing_height != 0) return rp.deliver(std::string("403 not_payer the channel is closing"));
                s->payers[{channel, viewer}] = true;
                rp.deliver(std::string{});
              },
              [rp](caf::error&) mutable { rp.deliver(std::string("503 the channel could not be read from the chain")); });
          return rp;
        },
        [self, s](gw_paid_atom, const std::string& key, const std::vector<std::uint8_t>& ch,
                  std::uint32_t lane) -> caf::result<std::string> {
          auto r = gateway::parse_path(key);
          auto c = s->contents.find(r.content);
          auto rs = c == s->contents.end() ? result<std::vector<gateway::rendition>>(fail(errc::invalid_argument, "unknown"))
                                           : gateway::renditions_of(c->second.outputs);
          if (!rs) return std::string{}; // answered 404 when the body is prepared
          const gateway::rendition* x = nullptr;
          for (auto& y : *rs)
            if (y.name == r.rendition) x = &y;
          if (!x || r.segment >= x->segments.size()) return std::string{};
          std::int64_t end_ms = 0;
          for (std::uint32_t k = 0; k <= r.segment; ++k) {
            auto f = s->facts.find(x->segments[k].cid);
            if (f == s->facts.end()) return std::string("503 the segment's duration is not known yet");
            end_ms += f->second.duration_ms;
          }
          auto needed = static_cast<std::uint64_t>((end_ms + 999) / 1000);
          auto price = s->access->price[r.content];
          auto rp = self->make_response_promise();
          auto ask = [=](caf::actor channel) mutable {
            s->channel = channel;
            self->request(channel, std::chrono::seconds(10), ch_paid_atom::value, ch, lane,
                          std::vector<std::uint8_t>(r.content.data.begin(), r.content.data.end()))
              .then(
                [=](const channel_ack& a) mutable {
                  std::uint64_t paid = a.ok ? a.ticks : 0;
                  if (a.ok && paid + s->credit_seconds >= needed) return rp.deliver(std::string{});
                  nlohmann::json body{
                    {"type", "https://poe.example/problems/payment-required"},
                    {"title", "Payment Required"},
                    {"status", 402},
                    {"detail", a.ok ? "the lane has paid " + std::to_string(paid) + " s; this segment ends at " +
                                        std::to_string(needed) + " s"
                                    : "the lane is not open for this content: " + a.reason},
                    {"channel", hash256::from_view(ch)->hex()},
                    {"lane", lane},
                    {"content", r.content.hex()},
                    {"price_per_second", std::to_string(price)},
                    {"paid_seconds", paid},
                    {"needed_seconds", needed},
                    {"credit_seconds", s->credit_seconds},
                    {"pay", {{"lane", "POST /t/<token>/lane with the signed lane commitment (hex) for this channel, lane and content"},
                             {"ticks", "POST /t/<token>/ticks with {\"ticks\": [{\"index\": i, \"w\": \"<hex w(i)>\"}]}"}}}};
                  rp.deliver("402 " + body.dump());
                },
                [=](caf::error& e) mutable {
                  s->channel = caf::actor{};
                  rp.deliver("503 the channel role did not answer: " + self->system().render(e));
                });
          };
          if (s->channel) ask(s->channel);
          else
            find_role(self, s->ctx.directory, "channel", s->ctx.node_id, ask,
                      [=](std::string why) mutable { rp.deliver("503 no channel role on the gateway's node: " + why); });
          return rp;
        },
        [self, s](gw_relay_atom) -> caf::result<caf::actor> {
          // This node's channel role, for the HTTP threads to hand it viewers' lanes and ticks.
          if (s->channel) return s->channel;
          auto rp = self->make_response_promise();
          find_role(
            self, s->ctx.directory, "channel", s->ctx.node_id,
            [=](caf::actor channel) mutable {
              s->channel = channel;
              rp.deliver(channel);
            },
            [=](std::string why) mutable { rp.deliver(caf::make_error(caf::sec::runtime_error, why)); });
          return rp;
        },
        [self, s](gw_prepare_atom, const std::string& path) -> caf::result<std::string> {
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
