// poe-cli content publish|show, channel open|topup|pay|status|close|collect — content on
// chain and the payer's side of payment channels (payments.hpp for the objects).
//
//   poe-cli content publish JOB --price-per-second N [--split 70/10/15/5] --key OWNER
//                           [--verifier HOST:PORT] --node VALIDATOR
//   poe-cli content show ID --node VALIDATOR [--json]
//   poe-cli channel open --payee NODE_ID --deposit N [--expiry-blocks B | --expiry H] --key PAYER
//                        --node VALIDATOR
//   poe-cli channel topup CHANNEL --amount N --key PAYER --node VALIDATOR
//   poe-cli channel pay CHANNEL --content ID --seconds S --key PAYER --payee-node HOST:PORT
//                       [--lane L] [--voucher-every K] --node VALIDATOR
//   poe-cli channel status CHANNEL --node VALIDATOR [--payee-node HOST:PORT] [--json]
//   poe-cli channel close CHANNEL --key PAYER|PAYEE --node VALIDATOR
//   poe-cli channel collect CHANNEL --key ANY --node VALIDATOR
//   poe-cli channel token CHANNEL --content ID --gateway NODE_ID --key PAYER [--lane L]
//                         [--minutes M] [--chain-id ID] [--url http://HOST:PORT]
//       a playback token (the payer's signature: this gateway may serve this content, paid on
//       this lane, for M minutes, at most a day); with --url, the master playlist URL carrying
//       it (/t/<token>/content/<id>/master.m3u8) for ffplay, VLC or hls.js; with --player
//       --price P [--seconds S], the player page's session link (below).
//   poe-cli channel open ... --player-content ID --gateway-url http://HOST:PORT --price P
//                        [--seconds S]
//       also prints "session <link>": the player page (/player/) with, in the URL's fragment,
//       a playback token for lane 0 and a lane commitment to a fresh hash chain of S ticks
//       (default 600) with its seed — the browser pays a tick a second with it (WebCrypto
//       SHA-256); the fragment never reaches a server. The link can spend at most S × P.
//
// `pay` is one playback session: a lane of its own with a fresh hash chain of S ticks (one
// tick = one second of the content); the payer commits to it once, then reveals one tick per
// second to the payee's channel role and signs a voucher (a checkpoint) every K ticks and at
// the end. Each tick is answered only after the payee stored it; the closing "paid N s on lane
// L" line (stdout) counts the acknowledged ticks, also when the session ends early (the payee
// refused or became unreachable: exit 1 or 3). A payer's `close` starts the
// chain's challenge window (the payee's best state wins); `collect` returns the rest after it.
//
// Exit codes: 0 done, 1 refused (the reason is printed), 2 usage, 3 unreachable.

#include "commands.hpp"
#include "node_client.hpp"
#include "tool_support.hpp"
#include "tx_support.hpp"

#include "poe/chain/payments.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <openssl/rand.h>

#include <chrono>
#include <iostream>
#include <thread>

namespace poe::cli {

namespace {

hash256 id_or_die(const std::string& hex, const std::string& what) {
  auto id = hash256::from_hex(hex);
  if (!id) tools::die(what + ": " + id.err().message, usage);
  return *id;
}

nlohmann::json json_or_die(result<std::string> text, const std::string& what) {
  if (!text) tools::die(what + ": " + text.err().message, text.err().code == errc::unavailable ? unreachable : invalid);
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) tools::die(what + ": not JSON: " + *text);
  return j;
}

/// Prints a JSON view: whole (--json) or as "key: value" lines.
void show(const nlohmann::json& j, bool as_json) {
  if (as_json) {
    std::cout << j.dump(2) << '\n';
    return;
  }
  for (auto& [k, v] : j.items()) {
    if (v.is_array()) {
      std::cout << k << ": " << v.size() << '\n';
      for (auto& x : v) std::cout << "  " << x.dump() << '\n';
    } else {
      std::cout << k << ": " << (v.is_string() ? v.get<std::string>() : v.dump()) << '\n';
    }
  }
}

void add_publish(CLI::App* content) {
  auto a = std::make_shared<tx_args>();
  auto verifier = std::make_shared<std::string>();
  auto job = std::make_shared<std::string>();
  auto price = std::make_shared<std::string>();
  auto split = std::make_shared<std::string>();
  auto* publish = content->add_subcommand(
    "publish", "ask the job's verifier for its signed output statement and publish it (you must own the job)");
  publish->add_option("JOB", *job, "job id (poe-cli job submit printed it)")->required();
  publish->add_option("--price-per-second", *price, "base units per second of playback")->required();
  publish->add_option("--split", *split,
                      "creator/operators/platform/treasury in percent (default: the chain's, 70/10/15/5)");
  publish->add_option("--verifier", *verifier, "HOST:PORT of the job's verifier (default: --node)");
  add_tx_options(publish, *a, "the job owner's private key (PEM)");
  publish->callback([a, verifier, job, price, split] {
    auto target = a->node;
    if (!verifier->empty()) target.address = *verifier;
    if (target.address.empty()) tools::die("give --node HOST:PORT (or POE_NODE) or --verifier", usage);
    auto value = tools::or_die(parse_amount(*price), "--price-per-second", usage);
    auto rule = split->empty() ? chain::split_rule{} : tools::or_die(chain::parse_split(*split), "--split", usage);
    bytes raw;
    {
      auto v = client_or_die<tools::verifier_client>(target);
      raw = or_exit(v->job_output(*job));
    }
    auto out = tools::or_die(chain::decode_job_output(raw), "the verifier's statement");
    auto owner = tools::or_die(private_key::load(a->key), "--key", usage).id();
    if (out.owner != owner)
      tools::die("job " + *job + " is owned by " + out.owner.hex() + ", not by --key (" + owner.hex() + ")", invalid);
    std::cout << "content " << chain::content_id(out).hex() << " (" << out.outputs.size()
              << " outputs, vouched for by verifier " << out.verifier.hex().substr(0, 16) << ")\n";
    write_tx(*a, chain::content_publish{std::move(out), value, rule});
  });
}

void add_show(CLI::App* content) {
  struct args {
    std::string id;
    bool json = false;
    tools::node_target node;
  };
  auto a = std::make_shared<args>();
  auto* cmd = content->add_subcommand("show", "published content: creator, price, split, outputs");
  cmd->add_option("ID", a->id, "content id (hex, printed by content publish)")->required();
  cmd->add_flag("--json", a->json, "print JSON");
  tools::add_node_options(cmd, a->node);
  cmd->callback([a] {
    auto id = id_or_die(a->id, "ID");
    auto j = json_or_die(connect_or_die(a->node)->content(id), "content");
    show(j, a->json);
    if (!j.value("found", false)) std::exit(invalid);
  });
}

// -- channels ---------------------------------------------------------------------------------

/// What a payer needs of the chain before paying: the chain id, the channel and the content.
struct pay_terms {
  std::string chain_id;
  std::uint64_t price = 0; ///< per tick = per second
  std::uint64_t escrow = 0;
};

pay_terms terms_or_die(const tools::node_target& node, const hash256& channel, const hash256& content,
                       const node_id& payer) {
  auto c = connect_or_die(node);
  pay_terms t;
  t.chain_id = json_or_die(c->chain_status(), "chain status").value("chain_id", "");
  auto ch = json_or_die(c->channel(channel), "channel");
  if (!ch.value("found", false)) tools::die("channel " + channel.hex() + " is not open on chain", invalid);
  if (ch.value("payer", "") != payer.hex())
    tools::die("channel " + channel.hex() + " is paid by " + ch.value("payer", "") + ", not by --key", invalid);
  if (ch.value("state", "") != "open")
    tools::die("channel " + channel.hex() + " is " + ch.value("state", "") + ", not open", invalid);
  t.escrow = std::stoull(ch.value("escrow", "0"));
  auto ct = json_or_die(c->content(content), "content");
  if (!ct.value("found", false)) tools::die("content " + content.hex() + " is not published", invalid);
  t.price = std::stoull(ct.value("price_per_second", "0"));
  if (t.price == 0) tools::die("content " + content.hex() + " is free: nothing to pay", invalid);
  return t;
}

/// Sends a lane commitment; a lane already bound to another commitment moves on to the next.
/// The channel (or the content) may not have reached the payee's view of the chain yet: it is
/// asked again for up to `wait`.
std::uint32_t commit_lane(tools::channel_client& payee, chain::lane_commit c, const private_key& key,
                          const std::string& chain_id, std::chrono::seconds wait) {
  auto until = std::chrono::steady_clock::now() + wait;
  for (int tries = 0; tries < 1024;) {
    chain::sign(c, key, chain_id);
    auto ack = or_exit(payee.lane(chain::encode(c)));
    if (ack.ok) return c.lane;
    if (ack.reason == "lane_taken") {
      ++c.lane;
      ++tries;
      continue;
    }
    bool lagging = ack.reason == "unknown_channel" || ack.reason == "unknown_content";
    if (!lagging || std::chrono::steady_clock::now() >= until)
      tools::die("the payee refused the lane: " + ack.reason, invalid);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  tools::die("no free lane from --lane on (1024 tried)", invalid);
}

void add_pay(CLI::App* channel) {
  struct args {
    std::string channel, content, key, payee_node, chain_id;
    std::uint32_t seconds = 60, lane = 0, voucher_every = 10;
    std::uint32_t interval_ms = 1000;
    int wait_s = 30;
    tools::node_target node;
  };
  auto a = std::make_shared<args>();
  auto* cmd = channel->add_subcommand("pay", "pay a payee per second of content: one session on a lane of its own");
  cmd->add_option("CHANNEL", a->channel, "channel id (hex, printed by channel open)")->required();
  cmd->add_option("--content", a->content, "content id (hex) the seconds are for")->required();
  cmd->add_option("--seconds", a->seconds, "seconds to pay (one tick each; default 60)")
    ->check(CLI::Range(1u, chain::max_lane_length));
  cmd->add_option("--key", a->key, "the payer's private key (PEM)")->required();
  cmd->add_option("--payee-node", a->payee_node, "HOST:PORT of the payee node (its channel role)")->required();
  cmd->add_option("--lane", a->lane, "first lane to try (default 0; a taken lane moves to the next)");
  cmd->add_option("--voucher-every", a->voucher_every, "ticks between signed checkpoints (default 10)")
    ->check(CLI::Range(1u, 4096u));
  cmd->add_option("--interval-ms", a->interval_ms, "milliseconds per tick (default 1000: real time)")
    ->check(CLI::Range(1u, 60'000u));
  cmd->add_option("--wait", a->wait_s, "seconds to wait for the payee to see the channel (default 30)");
  tools::add_node_options(cmd, a->node);
  cmd->callback([a] {
    auto channel = id_or_die(a->channel, "CHANNEL");
    auto content = id_or_die(a->content, "--content");
    auto key = tools::or_die(private_key::load(a->key), "--key", usage);
    auto t = terms_or_die(a->node, channel, content, key.id());
    if (t.price * a->seconds > t.escrow)
      std::cerr << "warning: " << a->seconds << " s at " << t.price << " = " << t.price * a->seconds
                << " exceeds the escrow left (" << t.escrow << "); the payee will stop there\n";
    hash256 seed;
    if (RAND_bytes(seed.data.data(), static_cast<int>(seed.data.size())) != 1)
      tools::die("no randomness for the hash chain (RAND_bytes)");
    chain::tick_chain ticks(seed, a->seconds);
    auto payee_target = a->node;
    payee_target.address = a->payee_node;
    auto payee = client_or_die<tools::channel_client>(payee_target);

    chain::lane_commit c;
    c.channel = channel;
    c.lane = a->lane;
    c.content = content;
    c.top = ticks.top();
    c.length = a->seconds;
    c.price_per_tick = amount{t.price};
    auto lane = commit_lane(*payee, c, key, t.chain_id, std::chrono::seconds(a->wait_s));
    std::cerr << "lane " << lane << ": " << a->seconds << " ticks at " << t.price << " each\n";

    struct {
      std::uint32_t ticks = 0;
      std::uint64_t owed = 0;
    } last;
    // What the payee acknowledged (stored) so far, on stdout whether the session ends or is cut
    // short: a payer's record of what it paid.
    auto report = [&] {
      std::cout << "paid " << last.ticks << " s on lane " << lane << " of channel " << channel.hex() << ": "
                << std::uint64_t{last.ticks} * t.price << " base units (channel owes " << last.owed << ")"
                << std::endl;
    };
    auto ack_or_stop = [&](result<tools::channel_client::ack> r, const std::string& what) {
      if (r && r->ok) return *r;
      report();
      if (!r) tools::die(what + ": " + r.err().message, r.err().code == errc::unavailable ? unreachable : invalid);
      tools::die("the payee refused " + what + ": " + r->reason, invalid);
    };
    auto vouch = [&](std::uint32_t i) {
      chain::voucher v{channel, lane, i, ticks.at(i), {}};
      chain::sign(v, key, t.chain_id);
      ack_or_stop(payee->voucher(chain::encode(v)), "the voucher at tick " + std::to_string(i));
    };
    auto start = std::chrono::steady_clock::now();
    for (std::uint32_t i = 1; i <= a->seconds; ++i) {
      // Each tick pays for the second it starts (prepaid, as a player pays for what it shows).
      std::this_thread::sleep_until(start + std::chrono::milliseconds(std::uint64_t{a->interval_ms} * (i - 1)));
      auto ack = ack_or_stop(payee->tick(channel, lane, i, ticks.at(i)), "tick " + std::to_string(i));
      last = {ack.ticks, ack.owed};
      if (i % a->voucher_every == 0 || i == a->seconds) vouch(i);
      if (i % 10 == 0 || i == a->seconds)
        std::cerr << "  " << i << "/" << a->seconds << " s paid (channel owes " << ack.owed << ")\n";
    }
    report();
  });
}

/// A playback token for `gateway` (the payer's signature), good for `minutes`.
chain::playback_token make_token(const private_key& key, const std::string& chain_id, const node_id& gateway,
                                 const hash256& content, const hash256& channel, std::uint32_t lane,
                                 std::uint64_t minutes) {
  chain::playback_token t;
  t.gateway = gateway;
  t.content = content;
  t.channel = channel;
  t.lane = lane;
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch()).count();
  t.not_after_ms = static_cast<std::uint64_t>(now) + minutes * 60'000;
  chain::sign(t, key, chain_id);
  return t;
}

/// The player page's session link: the token, and a lane commitment (signed here) to a fresh
/// hash chain of `seconds` ticks at `price` whose seed rides in the URL's fragment — the
/// browser pays with it and the fragment never reaches a server. Whoever holds the link can
/// spend at most seconds × price on that lane.
std::string session_link(const std::string& url, const private_key& key, const std::string& chain_id,
                         const chain::playback_token& t, std::uint64_t price, std::uint32_t seconds) {
  hash256 seed;
  if (RAND_bytes(seed.data.data(), static_cast<int>(seed.data.size())) != 1) tools::die("no randomness");
  chain::tick_chain ticks(seed, seconds);
  chain::lane_commit c{t.channel, t.lane, t.content, ticks.top(), seconds, amount{price}, {}};
  chain::sign(c, key, chain_id);
  return url + "/player/#token=" + chain::to_url(t) + "&content=" + t.content.hex() +
         "&commit=" + to_hex(chain::encode(c)) + "&seed=" + seed.hex() + "&length=" + std::to_string(seconds);
}

void add_channel_txs(CLI::App* channel) {
  auto a = std::make_shared<tx_args>();
  auto payee = std::make_shared<std::string>();
  auto id = std::make_shared<std::string>();
  auto expiry = std::make_shared<std::uint64_t>(0);
  auto expiry_blocks = std::make_shared<std::uint64_t>(0);

  auto* open = channel->add_subcommand("open", "open a channel to a payee: the deposit goes into escrow");
  add_tx_options(open, *a, "the payer's private key (PEM)");
  open->add_option("--payee", *payee, "the payee's node id (hex): the node whose channel role is paid")->required();
  open->add_option("--deposit", a->amount, "base units into escrow")->required();
  auto* e1 = open->add_option("--expiry", *expiry, "block height the channel expires at");
  auto* e2 = open->add_option("--expiry-blocks", *expiry_blocks, "expires this many blocks from the tip (default 10000)");
  e1->excludes(e2);
  struct player_args {
    std::string content, url;
    std::uint64_t price = 0;
    std::uint32_t seconds = 600;
  };
  auto pl = std::make_shared<player_args>();
  auto* pc = open->add_option("--player-content", pl->content,
                              "also print the player page's session link for this content (hex) at the payee's gateway");
  auto* pu = open->add_option("--gateway-url", pl->url, "with --player-content: http://HOST:PORT of the payee's gateway");
  auto* pp = open->add_option("--price", pl->price, "with --player-content: the content's price per second")
               ->check(CLI::PositiveNumber);
  open->add_option("--seconds", pl->seconds, "with --player-content: the most seconds the link pays for (default 600)")
    ->check(CLI::Range(1u, 86'400u));
  pc->needs(pu)->needs(pp);
  open->callback([a, payee, expiry, expiry_blocks, pl] {
    auto to = node_id::from_hex(*payee);
    if (!to) tools::die("--payee: " + to.err().message, usage);
    auto deposit = tools::or_die(parse_amount(a->amount), "--deposit", usage);
    auto at = *expiry;
    if (at == 0) {
      if (a->node.address.empty()) tools::die("--expiry is required without --node", usage);
      auto st = json_or_die(connect_or_die(a->node)->chain_status(), "chain status");
      at = st.value("height", std::uint64_t{0}) + (*expiry_blocks ? *expiry_blocks : 10'000);
    }
    auto tx = write_tx(*a, chain::channel_open{*to, deposit, at});
    auto payer = tools::or_die(private_key::load(a->key), "--key", usage).id();
    auto channel = chain::channel_id(payer, tx.nonce);
    std::cout << "channel " << channel.hex() << " (expires at block " << at << ")\n";
    if (!pl->content.empty()) {
      // Lane 0 of the new channel, for a token good as long as the link pays (at most a day).
      auto key = tools::or_die(private_key::load(a->key), "--key", usage);
      auto minutes = std::min<std::uint64_t>(1440, pl->seconds / 60 + 60);
      auto t = make_token(key, a->chain_id, *to, id_or_die(pl->content, "--player-content"), channel, 0, minutes);
      std::cout << "session " << session_link(pl->url, key, a->chain_id, t, pl->price, pl->seconds) << "\n";
    }
  });

  auto* topup = channel->add_subcommand("topup", "add to an open channel's escrow");
  add_tx_options(topup, *a, "the payer's private key (PEM)");
  topup->add_option("CHANNEL", *id, "channel id (hex)")->required();
  topup->add_option("--amount", a->amount, "base units")->required();
  topup->callback([a, id] {
    write_tx(*a, chain::channel_topup{id_or_die(*id, "CHANNEL"), tools::or_die(parse_amount(a->amount), "--amount", usage)});
  });

  auto* close = channel->add_subcommand(
    "close", "the payer starts the challenge window (the payee's best state wins); then collect");
  add_tx_options(close, *a, "the payer's private key (PEM)");
  close->add_option("CHANNEL", *id, "channel id (hex)")->required();
  close->callback([a, id] { write_tx(*a, chain::channel_close{id_or_die(*id, "CHANNEL"), {}}); });

  auto* collect = channel->add_subcommand(
    "collect", "after the challenge window or at expiry: the escrow left goes back to the payer");
  add_tx_options(collect, *a, "any account's private key (PEM; pays the fee)");
  collect->add_option("CHANNEL", *id, "channel id (hex)")->required();
  collect->callback([a, id] { write_tx(*a, chain::channel_collect{id_or_die(*id, "CHANNEL")}); });
}

void add_token(CLI::App* channel) {
  struct args {
    std::string channel, content, gateway, key, chain_id = "poe-devnet", url;
    std::uint32_t lane = 0, seconds = 0;
    std::uint64_t minutes = 60, price = 0;
    bool player = false;
  };
  auto a = std::make_shared<args>();
  auto* cmd = channel->add_subcommand("token", "a viewer's playback token for a gateway (printed, or as a playlist URL)");
  cmd->add_option("CHANNEL", a->channel, "channel id (hex), opened by --key to the gateway's node")->required();
  cmd->add_option("--content", a->content, "content id (hex)")->required();
  cmd->add_option("--gateway", a->gateway, "the gateway's node id (hex)")->required();
  cmd->add_option("--key", a->key, "the payer's private key (PEM)")->required();
  cmd->add_option("--lane", a->lane, "the lane the session pays on (default 0)");
  cmd->add_option("--minutes", a->minutes, "how long the token is good (1..1440, default 60)")
    ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1440}));
  cmd->add_option("--chain-id", a->chain_id, "chain id (default poe-devnet)");
  auto* url = cmd->add_option("--url", a->url, "http://HOST:PORT of the gateway: print the master playlist URL");
  auto* player = cmd->add_flag("--player", a->player,
                               "print the player page's session link instead (a lane commitment and its seed, "
                               "so the browser pays; needs --url and --price)");
  player->needs(url);
  cmd->add_option("--price", a->price, "with --player: the content's price per second")->check(CLI::PositiveNumber);
  cmd->add_option("--seconds", a->seconds, "with --player: the most seconds the link pays for (default: the token's life)")
    ->check(CLI::Range(1u, 86'400u));
  cmd->callback([a] {
    auto key = tools::or_die(private_key::load(a->key), "--key", usage);
    auto t = make_token(key, a->chain_id, tools::or_die(node_id::from_hex(a->gateway), "--gateway", usage),
                        id_or_die(a->content, "--content"), id_or_die(a->channel, "CHANNEL"), a->lane, a->minutes);
    if (a->player) {
      if (a->price == 0) tools::die("--player needs --price (the content's price per second)", usage);
      auto seconds = a->seconds ? a->seconds : static_cast<std::uint32_t>(a->minutes * 60);
      std::cout << session_link(a->url, key, a->chain_id, t, a->price, seconds) << "\n";
    } else if (a->url.empty()) {
      std::cout << chain::to_url(t) << "\n";
    } else {
      std::cout << a->url << "/t/" << chain::to_url(t) << "/content/" << a->content << "/master.m3u8\n";
    }
  });
}

void add_status(CLI::App* channel) {
  struct args {
    std::string id, payee_node;
    bool json = false;
    tools::node_target node;
  };
  auto a = std::make_shared<args>();
  auto* cmd = channel->add_subcommand("status", "a channel on chain (and, with --payee-node, the payee's view)");
  cmd->add_option("CHANNEL", a->id, "channel id (hex)")->required();
  cmd->add_option("--payee-node", a->payee_node, "HOST:PORT of the payee node: also show what it holds");
  cmd->add_flag("--json", a->json, "print JSON");
  tools::add_node_options(cmd, a->node);
  cmd->callback([a] {
    auto id = id_or_die(a->id, "CHANNEL");
    auto j = json_or_die(connect_or_die(a->node)->channel(id), "channel");
    if (!a->payee_node.empty()) {
      auto t = a->node;
      t.address = a->payee_node;
      auto report = json_or_die(client_or_die<tools::channel_client>(t)->status(), "payee");
      j["payee_view"] = nullptr;
      for (auto& c : report["channels"])
        if (c.value("id", "") == a->id) j["payee_view"] = c;
    }
    show(j, a->json);
    if (!j.value("found", false)) std::exit(invalid);
  });
}

} // namespace

void add_content_commands(CLI::App& app) {
  auto* content = app.add_subcommand("content", "content on chain: publish a job's verified output, show it");
  content->require_subcommand(1);
  add_publish(content);
  add_show(content);
}

void add_channel_commands(CLI::App& app) {
  auto* channel = app.add_subcommand("channel", "payment channels, the payer's side: open, pay per second, close");
  channel->require_subcommand(1);
  add_channel_txs(channel);
  add_pay(channel);
  add_status(channel);
  add_token(channel);
}

} // namespace poe::cli
