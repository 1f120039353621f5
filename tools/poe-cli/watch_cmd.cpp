// poe-cli watch URL --key PAYER [--seconds S] [--variant NAME] — a headless viewer of the
// gateway: what a player does, and what a paying viewer adds.
//
//   URL: a master playlist with a playback token, as `poe-cli channel token --url` prints it
//        (http://HOST:PORT/t/<token>/content/<id>/master.m3u8); --key: the token's viewer, the
//        channel's payer.
//
// Reads the master playlist, picks a variant (the first, the highest, or --variant), reads its
// media playlist; asks the price (a 402 answer names it) and, for paid content, commits a new
// hash chain on the token's lane (POST /t/<token>/lane); then once a second pays one tick
// (POST /t/<token>/ticks) and fetches every segment the seconds paid so far allow, as a
// player buffers ahead. Prints what it watched, paid (the ticks the gateway acknowledged) and
// fetched — also when the session is cut short once its lane is committed. Exit 0 when every segment
// of the first S seconds (default: the whole stream) was fetched, 1 on a refusal, 2 usage,
// 3 unreachable.
#include "commands.hpp"
#include "tool_support.hpp"

#include "poe/chain/payments.hpp"
#include "poe/core/keys.hpp"

#include <CLI/CLI.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <openssl/rand.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <regex>
#include <thread>

namespace poe::cli {

namespace {

struct segment {
  std::string uri;
  double seconds = 0, start = 0;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    auto end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    auto l = text.substr(at, end - at);
    if (!l.empty() && l.back() == '\r') l.pop_back();
    out.push_back(l);
    at = end + 1;
  }
  return out;
}

} // namespace

void add_watch_commands(CLI::App& app) {
  struct args {
    std::string url, key, variant, chain_id = "poe-devnet";
    int seconds = 0;
  };
  auto a = std::make_shared<args>();
  auto* cmd = app.add_subcommand("watch", "a headless viewer: plays a gateway's stream and pays for it per second");
  cmd->add_option("URL", a->url, "master playlist URL with a playback token (poe-cli channel token --url)")->required();
  cmd->add_option("--key", a->key, "the viewer's private key (PEM): the channel's payer")->required();
  cmd->add_option("--seconds", a->seconds, "seconds to watch (default: the whole stream)")->check(CLI::Range(1, 86400));
  cmd->add_option("--variant", a->variant, "the rendition to play (default: the first, the highest)");
  cmd->add_option("--chain-id", a->chain_id, "chain id (default poe-devnet)");
  cmd->callback([a] {
    std::smatch m;
    static const std::regex form(R"(^(http://[^/]+)(/t/([A-Za-z0-9_-]+)/content/([0-9a-f]{64}))/master\.m3u8$)");
    if (!std::regex_match(a->url, m, form))
      tools::die("URL: expected http://HOST:PORT/t/<token>/content/<id>/master.m3u8", usage);
    std::string origin = m[1], base = m[2], token_text = m[3];
    auto token = tools::or_die(chain::playback_token_from_url(token_text), "the URL's token");
    auto key = tools::or_die(private_key::load(a->key), "--key", usage);
    if (key.pub().der() != token.viewer_key) tools::die("--key is not the token's viewer", usage);
    if (!chain::verify(token, a->chain_id)) tools::die("the URL's token is not signed for chain " + a->chain_id, usage);
    httplib::Client http(origin);
    http.set_connection_timeout(10);
    http.set_read_timeout(60);
    // What was watched and paid: printed at the end, and when the session is cut short after
    // its lane was committed (the ticks the gateway acknowledged are the viewer's record).
    std::string variant;
    std::unique_ptr<chain::tick_chain> chain;
    bool committed = false;
    int paid = 0;
    std::size_t fetched = 0;
    std::uint64_t bytes = 0, price = 0;
    auto report = [&](int seconds) {
      std::cout << "watched " << seconds << " s of " << variant.substr(0, variant.size() - 5) << ": " << fetched
                << " segments, " << bytes << " bytes; paid " << paid << " ticks at " << price << " (channel "
                << token.channel.hex().substr(0, 16) << ", lane " << token.lane << ")" << std::endl;
    };
    auto stop = [&](const std::string& why, int code) {
      if (committed) report(paid);
      tools::die(why, code);
    };
    auto get = [&](const std::string& path) {
      auto r = http.Get(path.c_str());
      if (!r) stop("GET " + path + ": " + httplib::to_string(r.error()), unreachable);
      return r;
    };
    auto master = get(base + "/master.m3u8");
    if (master->status != 200) tools::die("master playlist: HTTP " + std::to_string(master->status) + " " + master->body, invalid);
    std::vector<std::string> variants;
    for (auto& l : lines_of(master->body))
      if (!l.empty() && l[0] != '#') variants.push_back(l);
    if (variants.empty()) tools::die("the master playlist names no variant", invalid);
    variant = variants.front();
    if (!a->variant.empty()) {
      variant = a->variant + ".m3u8";
      if (std::find(variants.begin(), variants.end(), variant) == variants.end())
        tools::die("--variant: the master playlist has no " + a->variant, usage);
    }
    auto media = get(base + "/" + variant);
    if (media->status != 200) tools::die("media playlist: HTTP " + std::to_string(media->status), invalid);
    std::vector<segment> segments;
    double at = 0, pending = -1;
    for (auto& l : lines_of(media->body)) {
      if (l.rfind("#EXTINF:", 0) == 0) pending = std::atof(l.c_str() + 8);
      else if (!l.empty() && l[0] != '#' && pending >= 0) {
        segments.push_back({l, pending, at});
        at += pending;
        pending = -1;
      }
    }
    if (segments.empty()) tools::die("the media playlist names no segment", invalid);
    auto total = static_cast<int>(std::ceil(at - 1e-9));
    int seconds = a->seconds > 0 ? std::min(a->seconds, total) : total;
    // The price: a 402 for the last segment names it (free, or within the credit: 200).
    if (auto probe = http.Head((base + "/" + segments.back().uri).c_str()); probe && probe->status == 402) {
      auto last = get(base + "/" + segments.back().uri);
      auto j = nlohmann::json::parse(last->body, nullptr, false);
      if (j.is_discarded() || !j.contains("price_per_second")) tools::die("a 402 without a price: " + last->body, invalid);
      price = std::stoull(j["price_per_second"].get<std::string>());
    }
    auto post = [&](const std::string& what, const std::string& body, const char* type) {
      auto r = http.Post(("/t/" + token_text + "/" + what).c_str(), body, type);
      if (!r) stop("POST " + what + ": " + httplib::to_string(r.error()), unreachable);
      if (r->status != 200) stop("POST " + what + ": HTTP " + std::to_string(r->status) + " " + r->body, invalid);
      auto j = nlohmann::json::parse(r->body, nullptr, false);
      if (j.is_discarded()) stop("POST " + what + ": not JSON: " + r->body, invalid);
      return j;
    };
    if (price > 0) {
      hash256 seed;
      if (RAND_bytes(seed.data.data(), static_cast<int>(seed.data.size())) != 1) tools::die("no randomness");
      chain = std::make_unique<chain::tick_chain>(seed, static_cast<std::uint32_t>(seconds));
      chain::lane_commit c{token.channel, token.lane, token.content, chain->top(), chain->length(), amount{price}, {}};
      chain::sign(c, key, a->chain_id);
      committed = true; // from here a cut-short session reports what it paid (a lost answer: maybe)
      post("lane", to_hex(chain::encode(c)), "text/plain");
      std::cerr << "lane " << token.lane << ": " << seconds << " ticks at " << price << " each\n";
    }
    std::size_t next = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i <= seconds; ++i) {
      std::this_thread::sleep_until(t0 + std::chrono::seconds(i));
      if (chain && i > 0) {
        nlohmann::json ticks{{"ticks", {{{"index", i}, {"w", chain->at(static_cast<std::uint32_t>(i)).hex()}}}}};
        auto ack = post("ticks", ticks.dump(), "application/json");
        if (!ack.contains("acks") || !ack["acks"].is_array() || ack["acks"].empty() ||
            !ack["acks"][0].value("ok", false))
          stop("tick " + std::to_string(i) + " refused: " + ack.dump(), invalid);
        paid = i;
      }
      // As a player buffers: every segment that starts within the seconds watched so far.
      while (next < segments.size() && segments[next].start < std::min<double>(i + 1, seconds)) {
        auto r = get(base + "/" + segments[next].uri);
        if (r->status != 200)
          stop("segment " + segments[next].uri + ": HTTP " + std::to_string(r->status) + " " + r->body, invalid);
        bytes += r->body.size();
        ++fetched;
        ++next;
      }
    }
    report(seconds);
  });
}

} // namespace poe::cli
