#include "gateway_http.hpp"

#include "gateway_api.hpp"

#include "poe/chain/payments.hpp"
#include "poe/chain/playback.hpp"
#include "poe/core/byte_io.hpp"
#include "poe/runtime/messages.hpp"
#include "hls_state.hpp"
#include "http_server.hpp"

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>

namespace poe::actors::gw {

using namespace poe::runtime;

namespace {

constexpr auto http_timeout = std::chrono::seconds(60);
using bytes_t = std::vector<std::uint8_t>;

void cors(http_response& res) {
  res.set_header("Access-Control-Allow-Origin", "*");
  res.set_header("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS");
  res.set_header("Access-Control-Allow-Headers", "Range, Content-Type, X-Poe-Tick");
  res.set_header("Access-Control-Expose-Headers", "Content-Length, Content-Range, Accept-Ranges");
}

/// RFC 9457 problem details.
void error_reply(http_response& res, int status, const std::string& why) {
  res.status = status;
  res.set_content(nlohmann::json{{"type", "about:blank"},
                                 {"title", status == 400   ? "Bad Request"
                                           : status == 401 ? "Unauthorized"
                                           : status == 403 ? "Forbidden"
                                           : status == 404 ? "Not Found"
                                           : status == 409 ? "Conflict"
                                           : status == 416 ? "Range Not Satisfiable"
                                           : status == 502 ? "Bad Gateway"
                                                           : "Service Unavailable"},
                                 {"status", status},
                                 {"detail", why}}
                      .dump() +
                    "\n",
                  "application/problem+json");
}

/// Answers an outcome "<status> <why>" of the actor as problem details.
void outcome_reply(http_response& res, const std::string& outcome) {
  int status = std::atoi(outcome.c_str());
  if (status < 400 || status > 599) status = 503;
  error_reply(res, status, outcome.substr(std::min(outcome.size(), outcome.find(' ') + 1)));
}

/// Asks the actor; the answer of type T, or "503 <why>" in `failed`.
template <class T, class... Ts>
std::optional<T> ask(caf::actor_system& sys, const caf::actor& gateway, std::string& failed, Ts&&... xs) {
  std::optional<T> out;
  failed = "503 the gateway did not answer";
  caf::scoped_actor self{sys};
  self->request(gateway, http_timeout, std::forward<Ts>(xs)...)
    .receive([&](T& x) { out = std::move(x); }, [&](caf::error& e) { failed = "503 " + sys.render(e); });
  return out;
}

/// "" when the request may be served, else "<status> <reason> <why>": free content needs no
/// token; paid content a playback token signed by the payer of a channel to this node, for
/// this content and gateway, not expired (reasons: missing_token, malformed_token,
/// forged_token, wrong_gateway, wrong_content, expired_token, not_payer).
std::string check_access(caf::actor_system& sys, const caf::actor& gateway, edge& e, const hash256& content,
                         const std::string& token_text) {
  std::optional<std::uint64_t> price;
  {
    std::lock_guard<std::mutex> lock(e.m);
    if (auto p = e.price.find(content); p != e.price.end()) price = p->second;
  }
  if (token_text.empty()) {
    if (price && *price > 0)
      return "401 missing_token paid content is served with a playback token: /t/<token>/content/...";
    return {}; // free, or unknown (answered 404 when it is prepared)
  }
  auto now = e.clock.now_ms();
  {
    std::lock_guard<std::mutex> lock(e.m);
    if (auto t = e.tokens.find(token_text); t != e.tokens.end()) {
      // A checked token still names one content: it opens nothing else.
      if (t->second.first != content) return "403 wrong_content the token is for content " + t->second.first.hex();
      if (now <= t->second.second) return {};
      e.tokens.erase(t);
    }
  }
  auto token = chain::playback_token_from_url(token_text);
  if (!token) return "401 malformed_token " + token.err().message;
  auto viewer = chain::verify(*token, e.chain_id);
  if (!viewer) return "401 forged_token " + viewer.err().message;
  if (token->gateway != e.gateway) return "403 wrong_gateway the token is for gateway " + token->gateway.hex();
  if (token->content != content) return "403 wrong_content the token is for content " + token->content.hex();
  if (now > token->not_after_ms) return "403 expired_token the token expired";
  if (token->not_after_ms > now + chain::max_token_life_ms) return "403 expired_token the token outlives a day";
  std::string failed;
  auto outcome = ask<std::string>(sys, gateway, failed, token_atom::value,
                                  bytes_t(token->channel.data.begin(), token->channel.data.end()),
                                  bytes_t(viewer->data.begin(), viewer->data.end()));
  if (!outcome) return failed;
  if (!outcome->empty()) return *outcome;
  std::lock_guard<std::mutex> lock(e.m);
  if (e.tokens.size() >= 100'000) e.tokens.clear(); // bounded
  e.tokens[token_text] = {token->content, token->not_after_ms};
  return {};
}

/// check_access answered as the HTTP answer (401/403 counted by reason); false when refused.
bool admitted(caf::actor_system& sys, const caf::actor& gateway, edge& e, const hash256& content,
              const std::string& token_text, http_response& res) {
  auto refusal = check_access(sys, gateway, e, content, token_text);
  if (refusal.empty()) return true;
  auto status = std::atoi(refusal.c_str());
  auto reason = refusal.substr(4, refusal.find(' ', 4) - 4);
  if (auto c = e.refused.find(reason); c != e.refused.end()) c->second->inc();
  if (status == 401) res.set_header("WWW-Authenticate", "PoE-Playback-Token");
  error_reply(res, status, refusal.substr(4));
  return false;
}

nlohmann::json ack_json(const channel_ack& a) {
  return {{"ok", a.ok}, {"reason", a.reason}, {"ticks", a.ticks}, {"owed", std::to_string(a.owed)}};
}

/// Hands ticks of the token's lane to the actor (which batches them to the channel role).
std::optional<std::vector<channel_ack>> relay_ticks(caf::actor_system& sys, const caf::actor& gateway,
                                                    const std::string& token_text,
                                                    const std::vector<std::pair<std::uint32_t, hash256>>& ticks,
                                                    std::string& failed) {
  std::vector<std::uint32_t> indices;
  std::vector<bytes_t> hashes;
  for (auto& [i, w] : ticks) {
    indices.push_back(i);
    hashes.emplace_back(w.data.begin(), w.data.end());
  }
  return ask<std::vector<channel_ack>>(sys, gateway, failed, ticks_atom::value, token_text, std::move(indices),
                                       std::move(hashes));
}

/// The token of a /t/<token>/... request (matches[1]), checked as for a playlist of its
/// content; nullopt when refused (answered).
std::optional<chain::playback_token> admitted_token(caf::actor_system& sys, const caf::actor& gateway, edge& e,
                                                    const http_request& req, http_response& res) {
  cors(res);
  std::string text = req.matches[1];
  auto token = chain::playback_token_from_url(text);
  if (!token) {
    error_reply(res, 401, "malformed_token " + token.err().message);
    return std::nullopt;
  }
  if (!admitted(sys, gateway, e, token->content, text, res)) return std::nullopt;
  return std::move(*token);
}

/// POST /t/<token>/lane (the hex lane commitment) and /t/<token>/ticks ({"ticks": [{"index",
/// "w"}]}): a viewer's payment, handed to this node's channel role, which answers once it
/// stored it.
void pay(caf::actor_system& sys, const caf::actor& gateway, edge& e, const http_request& req,
         http_response& res) {
  auto token = admitted_token(sys, gateway, e, req, res);
  if (!token) return;
  std::string text = req.matches[1];
  std::string failed;
  if (req.matches[2] == "lane") {
    auto raw = from_hex(std::string_view(req.body).substr(0, req.body.find_last_not_of(" \r\n") + 1));
    auto commit = raw ? chain::decode_lane_commit(*raw) : result<chain::lane_commit>(raw.err());
    if (!commit) return error_reply(res, 400, "the body is not a hex lane commitment: " + commit.err().message);
    if (commit->channel != token->channel || commit->lane != token->lane || commit->content != token->content)
      return error_reply(res, 400, "the commitment is not for the token's channel, lane and content");
    auto ack = ask<channel_ack>(sys, gateway, failed, lane_atom::value, text, bytes_t(raw->begin(), raw->end()));
    if (!ack) return outcome_reply(res, failed);
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
  auto acks = relay_ticks(sys, gateway, text, ticks, failed);
  if (!acks) return outcome_reply(res, failed);
  nlohmann::json out{{"acks", nlohmann::json::array()}};
  std::uint32_t paid = 0;
  for (auto& a : *acks) {
    out["acks"].push_back(ack_json(a));
    if (a.ok) paid = std::max(paid, a.ticks);
  }
  out["paid_seconds"] = paid;
  res.set_content(out.dump() + "\n", "application/json");
}

/// GET /t/<token>/session: the session's progress and playback receipts, for its viewer.
void session_info(caf::actor_system& sys, const caf::actor& gateway, edge& e, const http_request& req,
                  http_response& res) {
  auto token = admitted_token(sys, gateway, e, req, res);
  if (!token) return;
  auto id = chain::session_id(token->channel, token->lane).hex();
  std::lock_guard<std::mutex> lock(e.m);
  auto it = e.sessions.find(id);
  if (it == e.sessions.end()) return error_reply(res, 404, "no session on lane " + std::to_string(token->lane) + " yet");
  auto& s = it->second;
  nlohmann::json out;
  out["session"] = s.id;
  out["channel"] = token->channel.hex();
  out["lane"] = token->lane;
  out["content"] = token->content.hex();
  out["paid_seconds"] = s.ticks;
  out["segments"] = s.segments;
  out["started_ms"] = s.started_ms;
  out["last_ms"] = s.last_ms;
  out["ended"] = s.ended;
  out["receipts"] = nlohmann::json::array();
  for (auto& r : s.receipts) {
    nlohmann::json j;
    j["id"] = r.id;
    j["sequence"] = r.sequence;
    j["seconds"] = r.seconds;
    j["paid_seconds"] = r.ticks;
    j["segments"] = r.segments;
    j["status"] = r.status;
    out["receipts"].push_back(std::move(j));
  }
  res.set_content(out.dump() + "\n", "application/json");
}

/// Asks the actor whether the token's lane has paid through the end of the segment (less the
/// credit): "" when it has, else the 402 body or an error. Free content passes. The media
/// playlist is prepared first: its facts give the segment's end.
std::string check_paid(caf::actor_system& sys, const caf::actor& gateway, edge& e, const gateway::route& route) {
  {
    std::lock_guard<std::mutex> lock(e.m);
    auto p = e.price.find(route.content);
    if (p == e.price.end() || p->second == 0) return {};
  }
  auto playlist = route.key.substr(0, route.key.rfind('/')) + ".m3u8";
  std::string failed;
  if (!e.cache->get(playlist))
    if (auto o = ask<std::string>(sys, gateway, failed, prepare_atom::value, playlist); !o || !o->empty())
      return o ? *o : failed;
  auto o = ask<std::string>(sys, gateway, failed, paid_atom::value, route.key, route.token);
  return o ? *o : failed;
}

/// GET or HEAD of a playlist or segment.
void serve(caf::actor_system& sys, const caf::actor& gateway, edge& e, const http_request& req,
           http_response& res) {
  cors(res);
  if (!req.path.starts_with("/content/") && !req.path.starts_with("/t/")) {
    e.requests_not_found->inc();
    return error_reply(res, 404, "nothing here: content is under /content/<id>/ (or /t/<token>/content/<id>/), the "
                                 "player under /player/, the application API under /api/v1/ (docs/gateway-api.json)");
  }
  auto route = gateway::parse_path(req.path);
  if (route.what == gateway::route::kind::bad) {
    e.requests_client_error->inc();
    return error_reply(res, 400, route.why);
  }
  if (!admitted(sys, gateway, e, route.content, route.token, res)) return;
  std::string failed;
  if (auto tick = req.header("X-Poe-Tick"); !tick.empty() && !route.token.empty()) {
    // One tick carried by the request itself ("<index>:<64 hex w>").
    auto colon = tick.find(':');
    auto w = colon == std::string::npos ? result<hash256>(fail(errc::bad_hex, "")) : hash256::from_hex(tick.substr(colon + 1));
    char* end = nullptr;
    auto index = std::strtoul(tick.c_str(), &end, 10);
    if (!w || end != tick.c_str() + colon || index > UINT32_MAX)
      return error_reply(res, 400, "X-Poe-Tick is <index>:<64 hex digits>");
    if (!relay_ticks(sys, gateway, route.token, {{static_cast<std::uint32_t>(index), *w}}, failed))
      return outcome_reply(res, failed);
  }
  if (!route.token.empty() && route.what == gateway::route::kind::segment)
    if (auto owed = check_paid(sys, gateway, e, route); !owed.empty()) {
      if (std::atoi(owed.c_str()) != 402) {
        e.requests_unavailable->inc();
        return outcome_reply(res, owed);
      }
      e.requests_payment->inc();
      res.status = 402;
      res.set_content(owed.substr(4) + "\n", "application/problem+json");
      return;
    }
  auto body = e.cache->get(route.key);
  if (!body) {
    e.cache_misses->inc();
    auto outcome = ask<std::string>(sys, gateway, failed, prepare_atom::value, route.key);
    if (outcome && outcome->empty()) body = e.cache->get(route.key);
    if (!body) {
      auto why = !outcome ? failed
                 : outcome->empty() ? std::string("503 evicted before it was sent (gateway.cache-mb is too small)")
                                    : *outcome;
      int status = std::atoi(why.c_str());
      (status == 404 ? e.requests_not_found : status >= 400 && status < 500 ? e.requests_client_error : e.requests_unavailable)->inc();
      return outcome_reply(res, why);
    }
  }
  // Content ids name exact bytes: playlists and segments never change.
  res.set_header("Cache-Control", "public, max-age=31536000, immutable");
  res.set_header("Accept-Ranges", "bytes");
  auto data = body->body;
  auto range = gateway::parse_range(req.header("Range"), data->size());
  std::uint64_t first = 0, last = data->empty() ? 0 : data->size() - 1;
  if (range) {
    if (!*range) {
      e.requests_client_error->inc();
      res.set_header("Content-Range", "bytes */" + std::to_string(data->size()));
      return error_reply(res, 416, "range not satisfiable");
    }
    first = (*range)->first;
    last = (*range)->last;
    res.status = 206;
    res.set_header("Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" +
                                        std::to_string(data->size()));
    e.requests_partial->inc();
  } else {
    res.status = 200;
    e.requests_ok->inc();
  }
  auto length = data->empty() ? 0 : last - first + 1;
  e.bytes_sent->inc(static_cast<double>(length));
  // The body is shared with the cache: sent from it, never copied.
  res.set_shared(data, first, length, body->content_type);
}

/// GET /player/ and its files (index.html, player.js, hls.min.js) from the web directory.
void player_file(edge& e, const http_request& req, http_response& res) {
  cors(res);
  std::string name = req.matches[1];
  if (name.empty()) name = "index.html";
  auto path = e.web_dir + "/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return error_reply(res, 404, "the player page is not installed: no " + path +
                                   " (build poe with web/node_modules present: npm ci --prefix web; or set gateway.web-dir)");
  std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  res.set_header("Cache-Control", "no-cache");
  res.set_content(body, name.ends_with(".html") ? "text/html; charset=utf-8" : "text/javascript; charset=utf-8");
}

// -- the application API (docs/gateway-api.json) -------------------------------------------

nlohmann::json content_json(const hash256& id, const content_note& n, bool details) {
  nlohmann::json j;
  j["id"] = id.hex();
  j["job"] = n.job;
  j["owner"] = n.owner.hex();
  j["verifier"] = n.verifier.hex();
  j["price_per_second"] = std::to_string(n.price);
  j["outputs"] = n.outputs;
  j["segments"] = n.segments;
  j["renditions"] = n.renditions;
  j["master"] = "/content/" + id.hex() + "/master.m3u8";
  if (details) {
    j["duration_ms"] = n.duration_ms;
    j["variants"] = nlohmann::json::array();
    for (auto& v : n.variants) {
      nlohmann::json x;
      x["name"] = v.name;
      x["width"] = v.width;
      x["height"] = v.height;
      x["bandwidth"] = v.peak_bps;
      x["average_bandwidth"] = v.average_bps;
      x["codecs"] = v.codecs;
      x["playlist"] = "/content/" + id.hex() + "/" + v.name + ".m3u8";
      j["variants"].push_back(std::move(x));
    }
  }
  return j;
}

/// GET /api/v1/content[?offset=N&limit=M]: published content, by id.
void api_content_list(caf::actor_system&, const caf::actor&, edge& e, const http_request& req,
                      http_response& res) {
  cors(res);
  auto number = [&](const char* name, std::size_t fallback, std::size_t max) -> std::optional<std::size_t> {
    if (!req.has_param(name)) return fallback;
    auto text = req.param(name);
    std::size_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || v > max) return std::nullopt;
    return v;
  };
  auto offset = number("offset", 0, SIZE_MAX), limit = number("limit", 100, 1000);
  if (!offset || !limit) return error_reply(res, 400, "offset and limit are whole numbers (limit at most 1000)");
  nlohmann::json out;
  out["content"] = nlohmann::json::array();
  std::lock_guard<std::mutex> lock(e.m);
  out["total"] = e.contents.size();
  std::size_t at = 0;
  for (auto& [id, n] : e.contents) {
    if (at++ < *offset) continue;
    if (out["content"].size() >= *limit) break;
    out["content"].push_back(content_json(id, n, false));
  }
  res.set_content(out.dump() + "\n", "application/json");
}

/// GET /api/v1/content/<id>: one content with its variants (measured from its segments).
void api_content(caf::actor_system& sys, const caf::actor& gateway, edge& e, const http_request& req,
                 http_response& res) {
  cors(res);
  auto id = hash256::from_hex(std::string(req.matches[1]));
  if (!id) return error_reply(res, 400, "a content id is 64 hex digits");
  bool measured = false;
  {
    std::lock_guard<std::mutex> lock(e.m);
    auto it = e.contents.find(*id);
    if (it == e.contents.end()) return error_reply(res, 404, "no published content " + id->hex());
    measured = !it->second.variants.empty();
  }
  if (!measured) { // the master playlist's making measures every segment
    std::string failed;
    auto o = ask<std::string>(sys, gateway, failed, prepare_atom::value, "/content/" + id->hex() + "/master.m3u8");
    if (!o) return outcome_reply(res, failed);
    if (!o->empty()) return outcome_reply(res, *o);
  }
  std::lock_guard<std::mutex> lock(e.m);
  res.set_content(content_json(*id, e.contents.at(*id), true).dump() + "\n", "application/json");
}

/// POST /api/v1/sessions {"token": "<playback token, base64url>", "commit": "<lane commitment,
/// hex>"}: opens a viewing session — the token checked as for playback, the commitment handed
/// to the channel role — and answers where to play and pay (201).
void api_open_session(caf::actor_system& sys, const caf::actor& gateway, edge& e, const http_request& req,
                      http_response& res) {
  cors(res);
  auto body = nlohmann::json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("token") || !body["token"].is_string() ||
      !body.contains("commit") || !body["commit"].is_string())
    return error_reply(res, 400, "expected {\"token\": \"<playback token>\", \"commit\": \"<hex lane commitment>\"}");
  std::string text = body["token"];
  auto token = chain::playback_token_from_url(text);
  if (!token) return error_reply(res, 401, "malformed_token " + token.err().message);
  if (!admitted(sys, gateway, e, token->content, text, res)) return;
  auto raw = from_hex(body["commit"].get<std::string>());
  auto commit = raw ? chain::decode_lane_commit(*raw) : result<chain::lane_commit>(raw.err());
  if (!commit) return error_reply(res, 400, "commit is not a hex lane commitment: " + commit.err().message);
  if (commit->channel != token->channel || commit->lane != token->lane || commit->content != token->content)
    return error_reply(res, 400, "the commitment is not for the token's channel, lane and content");
  std::string failed;
  auto ack = ask<channel_ack>(sys, gateway, failed, lane_atom::value, text, bytes_t(raw->begin(), raw->end()));
  if (!ack) return outcome_reply(res, failed);
  if (!ack->ok) return error_reply(res, 409, "the channel role refused the commitment: " + ack->reason);
  auto base = "/t/" + text;
  nlohmann::json out;
  out["session"] = chain::session_id(token->channel, token->lane).hex();
  out["content"] = token->content.hex();
  out["channel"] = token->channel.hex();
  out["lane"] = token->lane;
  out["price_per_tick"] = std::to_string(commit->price_per_tick.units());
  out["length"] = commit->length;
  out["paid_seconds"] = ack->ticks;
  out["master"] = base + "/content/" + token->content.hex() + "/master.m3u8";
  out["ticks"] = base + "/ticks";
  out["status"] = base + "/session";
  res.status = 201;
  res.set_header("Location", base + "/session");
  res.set_content(out.dump() + "\n", "application/json");
}

/// An answer of the actor's application API: "<status> <JSON>" as is (problem details when it
/// is an error), "<status> <why>" as problem details.
void api_reply(http_response& res, const std::string& outcome) {
  auto at = outcome.find(' ');
  if (at == std::string::npos || outcome.compare(at + 1, 1, "{") != 0) return outcome_reply(res, outcome);
  res.status = std::atoi(outcome.c_str());
  res.set_content(outcome.substr(at + 1) + "\n", res.status < 400 ? "application/json" : "application/problem+json");
}

/// The string members `names` of a JSON object body ("" when absent); nullopt (answered 400)
/// when the body is not an object or one of them is not a string.
std::optional<std::vector<std::string>> string_members(const http_request& req, http_response& res,
                                                       std::initializer_list<const char*> names) {
  auto body = nlohmann::json::parse(req.body, nullptr, false);
  std::vector<std::string> out;
  bool fine = body.is_object();
  for (auto* n : names) {
    if (!fine) break;
    if (!body.contains(n)) out.emplace_back();
    else if (body[n].is_string()) out.push_back(body[n].get<std::string>());
    else fine = false;
  }
  if (fine) return out;
  std::string list;
  for (auto* n : names) list += std::string(list.empty() ? "" : ", ") + n;
  error_reply(res, 400, std::string("expected a JSON object whose members ") + list + " are strings");
  return std::nullopt;
}

/// POST /api/v1/uploads (the body: a media file): probed, staged, and what its owner signs
/// (202); POST /api/v1/uploads/<cid> {public_key, signature}: stored for the signer (201).
void api_upload(caf::actor_system& sys, const caf::actor& gateway, edge&, const http_request& req,
                http_response& res) {
  cors(res);
  std::string failed;
  if (req.matches.size() < 2) { // a new upload
    if (req.body.size() > max_upload_bytes) return error_reply(res, 413, "an upload is at most 256 MiB");
    auto type = req.header("Content-Type");
    if (type.empty() || type.size() > 255 || type.starts_with("application/x-www-form-urlencoded") ||
        std::any_of(type.begin(), type.end(), [](char c) { return c < 0x20 || c > 0x7e; }))
      type = "application/octet-stream";
    auto o = ask<std::string>(sys, gateway, failed, upload_atom::value, bytes_t(req.body.begin(), req.body.end()), type);
    return api_reply(res, o ? *o : failed);
  }
  auto f = string_members(req, res, {"public_key", "signature"});
  if (!f) return;
  auto o = ask<std::string>(sys, gateway, failed, commit_atom::value, std::string(req.matches[1]), (*f)[0], (*f)[1]);
  api_reply(res, o ? *o : failed);
}

/// POST /api/v1/jobs {source, ladder?}: 401 with what its owner signs; again with nonce,
/// public_key and signature: submitted for the signer (202). GET /api/v1/jobs/<id>: its status.
void api_job(caf::actor_system& sys, const caf::actor& gateway, edge&, const http_request& req,
             http_response& res) {
  cors(res);
  std::string failed;
  if (req.method == "GET") {
    auto o = ask<std::string>(sys, gateway, failed, job_status_atom::value, std::string(req.matches[1]));
    return api_reply(res, o ? *o : failed);
  }
  auto f = string_members(req, res, {"source", "ladder", "nonce", "public_key", "signature"});
  if (!f) return;
  if ((*f)[0].empty()) return error_reply(res, 400, "source (a CID) is required");
  auto o = ask<std::string>(sys, gateway, failed, job_atom::value, std::move(*f));
  api_reply(res, o ? *o : failed);
}

} // namespace

void install_routes(http_server& http, caf::actor_system& sys, caf::actor gateway, std::weak_ptr<edge> shared) {
  // Each handler holds the edge only while it runs: a stopping role answers 503.
  auto with = [&sys, gateway, shared](auto handler) {
    return [&sys, gateway, shared, handler](const http_request& req, http_response& res) {
      if (auto e = shared.lock()) handler(sys, gateway, *e, req, res);
      else error_reply(res, 503, "the gateway is stopping");
    };
  };
  http.route("GET", R"(/t/([A-Za-z0-9_-]+)/session)", with(session_info));
  http.route("GET", "/api/v1/content", with(api_content_list));
  http.route("GET", R"(/api/v1/content/([^/]+))", with(api_content));
  http.route("POST", "/api/v1/sessions", with(api_open_session));
  http.route("POST", "/api/v1/uploads", with(api_upload));
  http.route("POST", R"(/api/v1/uploads/([^/]+))", with(api_upload));
  http.route("POST", "/api/v1/jobs", with(api_job));
  http.route("GET", R"(/api/v1/jobs/([^/]+))", with(api_job));
  http.route("GET", R"(/player/(|index\.html|player\.js|hls\.min\.js))", [shared](const http_request& req, http_response& res) {
    if (auto e = shared.lock()) player_file(*e, req, res);
    else error_reply(res, 503, "the gateway is stopping");
  });
  http.route("GET", "/player", [](const http_request&, http_response& res) { res.redirect("/player/"); });
  http.route("GET", R"(/.*)", with(serve));
  http.route("POST", R"(/t/([A-Za-z0-9_-]+)/(lane|ticks))", with(pay));
  http.route("OPTIONS", R"(/.*)", [](const http_request&, http_response& res) {
    cors(res);
    res.set_header("Access-Control-Max-Age", "86400");
    res.status = 204;
  });
}

} // namespace poe::actors::gw
