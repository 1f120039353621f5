#pragma once
// The gateway's HTTP edge: the routes, run on the server's handler threads (http_server.hpp). They read
// the shared edge (gateway_edge.hpp) and ask the gateway actor for the rest.
//
//   GET|HEAD /content/<id>/master.m3u8, /<rendition>.m3u8, /<rendition>/<k>.ts (also under
//            /t/<token>/): playlists and segments, Range (206/416), immutable caching;
//   POST /t/<token>/lane   the viewer's lane commitment (hex) → the channel role;
//   POST /t/<token>/ticks  {"ticks": [{"index": i, "w": "<hex>"}]} → the channel role;
//            (a GET may carry one tick in X-Poe-Tick: <index>:<hex>);
//   GET  /t/<token>/session the session's progress and its playback receipts;
//   GET  /api/v1/content, /api/v1/content/<id>, POST /api/v1/sessions, POST /api/v1/uploads,
//            POST /api/v1/uploads/<cid>, POST /api/v1/jobs, GET /api/v1/jobs/<id>: the application API
//            (docs/gateway-api.json, OpenAPI 3);
//   GET  /player/  the player page;
//   OPTIONS  CORS preflight.
// Errors are RFC 9457 problem details; a paid segment not paid for is 402 with how to pay.
#include "gateway_edge.hpp"

#include <caf/fwd.hpp>

namespace poe::actors::gw {

class http_server;
void install_routes(http_server& http, caf::actor_system& sys, caf::actor gateway, std::weak_ptr<edge> shared);

} // namespace poe::actors::gw
