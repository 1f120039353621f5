// Playback sessions on the gateway role (gateway_role.hpp): each request under a token
// touches its session (session_state.hpp); the seconds a lane paid come from the channel role
// (gw_paid), a viewer's lane commitment and ticks go to it (ticks of concurrent requests in one
// ch_ticks: group commit); sessions that ended or ran long get playback receipts, signed,
// stored ("q/" id → attested receipt; "n/" session → next sequence) and handed to a builder
// until one takes them.
#include "gateway_role.hpp"

#include "poe/chain/payments.hpp"
#include "poe/core/byte_io.hpp"
#include "poe/store/store.hpp"
#include "storage_io.hpp"

#include <nlohmann/json.hpp>

#include <set>

namespace poe::actors::gw_role {

/// The receipt sequence a session starts at: past those a previous run made ("n/" ‖ session).
std::uint32_t first_sequence(const state_ptr& s, const hash256& session) {
  auto raw = s->ctx.store->get(cf, key_of('n', session.view()));
  return raw && *raw && (*raw)->size() == 4 ? get_u32_be((*raw)->data()) : 0;
}

/// The session of a request under `token_text` (checked by the HTTP edge before it asked).
gateway::session* session_of(const state_ptr& s, const std::string& token_text) {
  // Only this node's HTTP threads send the token, after checking its signature.
  auto token = chain::playback_token_from_url(token_text);
  auto key = token ? public_key::from_der(token->viewer_key) : result<public_key>(token.err());
  if (!key) return nullptr;
  auto id = chain::session_id(token->channel, token->lane);
  auto now = s->ctx.clock.now_ms();
  auto* known = s->sessions.find(id);
  return &s->sessions.touch(*token, key->id(), now, known ? 0 : first_sequence(s, id));
}

/// The viewer-visible summary of `x` in the edge (GET /t/<token>/session).
void note(const state_ptr& s, const gateway::session& x, const gateway::due_receipt* made, const std::string& status) {
  std::lock_guard<std::mutex> lock(s->edge->m);
  auto& n = s->edge->sessions[x.id.hex()];
  n.id = x.id.hex();
  n.ticks = x.tick_index;
  n.segments = x.segments.size();
  n.started_ms = x.started_ms;
  n.last_ms = x.last_ms;
  n.ended = x.ended;
  if (made) {
    auto& r = made->receipt;
    n.receipts.push_back({chain::playback_receipt_id(r.session, r.sequence).hex(), r.sequence, r.seconds, r.tick_index,
                          r.segments, status});
  }
}

/// A receipt's status as a builder answered (in its session's summary).
void receipt_status(const state_ptr& s, const std::string& id, const std::string& status) {
  std::lock_guard<std::mutex> lock(s->edge->m);
  for (auto& [_, n] : s->edge->sessions)
    for (auto& r : n.receipts)
      if (r.id == id) r.status = status;
}

/// Hands the queued receipts to a builder (any node's); those it takes leave the queue, those
/// it refuses as invalid too (logged); the rest are offered again later.
void submit_receipts(caf::event_based_actor* self, const state_ptr& s) {
  if (s->submitting || s->queued.empty() || s->ctx.clock.now_ms() < s->next_submit_ms) return;
  s->submitting = true;
  std::vector<std::string> ids;
  std::vector<bytes_t> raws;
  for (auto& [id, raw] : s->queued) {
    ids.push_back(id);
    raws.emplace_back(raw.begin(), raw.end());
    if (raws.size() == 256) break;
  }
  auto retry_later = [self, s](const std::string& why) {
    s->submitting = false;
    s->next_submit_ms = s->ctx.clock.now_ms() + 5'000;
    s->ctx.log->warn("{} playback receipt(s) not handed to a builder yet: {}", s->queued.size(), why);
  };
  find_role(
    self, s->ctx.directory, "builder", s->ctx.node_id,
    [=](caf::actor builder) {
      self->request(builder, std::chrono::seconds(30), bd_receipts_atom::value, raws)
        .then(
          [=](const std::vector<submit_reply>& replies) {
            s->submitting = false;
            std::size_t later = 0;
            for (std::size_t i = 0; i < replies.size() && i < ids.size(); ++i) {
              auto& r = replies[i];
              if (!r.taken() && r.reason != "invalid") {
                ++later;
                receipt_status(s, ids[i], "waiting: " + r.reason + ": " + r.detail);
                continue;
              }
              if (r.taken()) {
                s->receipts_taken->inc();
                receipt_status(s, ids[i], "accepted");
                s->ctx.log->info("playback receipt {} taken by a builder", ids[i]);
              } else {
                receipt_status(s, ids[i], "refused: " + r.detail);
                s->ctx.log->error("playback receipt {} refused: {}", ids[i], r.text());
              }
              s->queued.erase(ids[i]);
              (void)s->ctx.store->erase(cf, key_of('q', as_bytes(ids[i])));
            }
            if (later > 0) s->next_submit_ms = s->ctx.clock.now_ms() + 5'000;
            else submit_receipts(self, s);
          },
          [=](caf::error& e) { retry_later(self->system().render(e)); });
    },
    retry_later);
}

/// Makes the receipts due (signed, stored, queued) and offers the queue to a builder.
void make_receipts(caf::event_based_actor* self, const state_ptr& s) {
  auto now = s->ctx.clock.now_ms();
  for (auto& d : s->sessions.due(now)) {
    chain::attested_playback a{chain::encode(d.receipt), d.token, d.commit, {}, {}};
    chain::sign(a, *s->ctx.key, s->ctx.chain_id);
    auto id = chain::playback_receipt_id(d.receipt.session, d.receipt.sequence).hex();
    auto raw = chain::encode(a);
    store::batch ops;
    ops.put(cf, key_of('q', as_bytes(id)), raw);
    bytes next;
    append_u32_be(next, d.receipt.sequence + 1);
    ops.put(cf, key_of('n', d.receipt.session.view()), next);
    if (auto st = s->ctx.store->write(ops); !st) {
      s->ctx.log->error("playback receipt {} not stored: {}", id, st.err().message);
      continue;
    }
    s->queued[id] = std::move(raw);
    s->receipts_made->inc();
    s->ctx.log->info("playback receipt {} ({}): session {} of content {}, {} s ({} paid), {} segments", id,
                     d.final ? "final" : "interim", d.receipt.session.hex().substr(0, 16),
                     d.receipt.content.hex().substr(0, 16), d.receipt.seconds, d.receipt.tick_index,
                     d.receipt.segments);
    if (auto* x = s->sessions.find(d.receipt.session)) note(s, *x, &d);
  }
  for (auto& [id, x] : s->sessions.all())
    if (x.ended) note(s, x);
  submit_receipts(self, s);
}

/// Sends the gathered ticks to the channel role in one message (when none is out); their acks
/// go back to each request, and the acknowledged ticks to their sessions.
void flush_ticks(caf::event_based_actor* self, const state_ptr& s) {
  if (s->ticks_out || s->ticks.records.empty()) return;
  auto batch = std::make_shared<tick_batch>(std::move(s->ticks));
  s->ticks = {};
  auto fail_all = [s, batch](const std::string& why) {
    s->ticks_out = false;
    for (auto& [rp, n] : batch->waiting) rp.deliver(caf::make_error(caf::sec::runtime_error, why));
  };
  auto send = [=](caf::actor channel) {
    s->channel = channel;
    s->ticks_out = true;
    s->ticks_batches->inc();
    self->request(channel, std::chrono::seconds(30), ch_ticks_atom::value, batch->records)
      .then(
        [=](std::vector<channel_ack>& acks) {
          s->ticks_out = false;
          if (acks.size() != batch->records.size()) return fail_all("the channel role answered a batch short");
          s->ticks_relayed->inc(static_cast<double>(acks.size()));
          std::set<hash256> touched;
          for (std::size_t i = 0; i < acks.size(); ++i)
            if (acks[i].ok) {
              auto& t = batch->of[i];
              s->sessions.paid(t.session, t.index, t.w);
              touched.insert(t.session);
            }
          std::size_t at = 0;
          for (auto& [rp, n] : batch->waiting) {
            rp.deliver(std::vector<channel_ack>(acks.begin() + at, acks.begin() + at + n));
            at += n;
          }
          for (auto& session : touched) // each session's summary once per batch
            if (auto* x = s->sessions.find(session)) note(s, *x);
          flush_ticks(self, s);
        },
        [=](caf::error& e) {
          s->channel = caf::actor{};
          fail_all("the channel role did not answer: " + self->system().render(e));
          flush_ticks(self, s);
        });
  };
  if (s->channel) return send(s->channel);
  find_role(self, s->ctx.directory, "channel", s->ctx.node_id, send,
            [=](std::string why) { fail_all("no channel role on the gateway's node: " + why); });
}

caf::result<std::string> paid(caf::event_based_actor* self, const state_ptr& s, const std::string& key,
                              const std::string& token_text) {
  auto token = chain::playback_token_from_url(token_text);
  if (!token) return std::string("401 malformed_token ") + token.err().message;
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
  std::uint64_t price = 0;
  {
    std::lock_guard<std::mutex> lock(s->edge->m);
    price = s->edge->price[r.content];
  }
  auto cid = x->segments[r.segment].cid;
  auto rp = self->make_response_promise();
  auto ask = [=](caf::actor channel) mutable {
    s->channel = channel;
    self->request(channel, std::chrono::seconds(10), ch_paid_atom::value,
                  bytes_t(token->channel.data.begin(), token->channel.data.end()), token->lane,
                  bytes_t(r.content.data.begin(), r.content.data.end()))
      .then(
        [=](const channel_ack& a) mutable {
          std::uint64_t paid = a.ok ? a.ticks : 0;
          if (a.ok && paid + s->credit_seconds >= needed) {
            // Served: the segment counts in the viewer's session.
            if (auto* x = session_of(s, token_text)) {
              s->sessions.served(x->id, cid);
              note(s, *x);
            }
            return rp.deliver(std::string{});
          }
          nlohmann::json body{
            {"type", "https://poe.example/problems/payment-required"},
            {"title", "Payment Required"},
            {"status", 402},
            {"detail", a.ok ? "the lane has paid " + std::to_string(paid) + " s; this segment ends at " +
                                std::to_string(needed) + " s"
                            : "the lane is not open for this content: " + a.reason},
            {"channel", token->channel.hex()},
            {"lane", token->lane},
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
}

caf::result<channel_ack> commit_lane(caf::event_based_actor* self, const state_ptr& s, const std::string& token_text,
                                     const bytes_t& raw) {
  auto* x = session_of(s, token_text);
  if (!x) return caf::make_error(caf::sec::runtime_error, "malformed token");
  auto session = x->id;
  auto rp = self->make_response_promise<channel_ack>();
  auto send = [=](caf::actor channel) mutable {
    s->channel = channel;
    self->request(channel, std::chrono::seconds(30), ch_lane_atom::value, raw)
      .then(
        [=](channel_ack& a) mutable {
          if (a.ok) {
            s->sessions.committed(session, bytes(raw.begin(), raw.end()));
            if (auto* x = s->sessions.find(session)) note(s, *x);
          }
          rp.deliver(std::move(a));
        },
        [=](caf::error& e) mutable {
          s->channel = caf::actor{};
          rp.deliver(e);
        });
  };
  if (s->channel) send(s->channel);
  else
    find_role(self, s->ctx.directory, "channel", s->ctx.node_id, send, [=](std::string why) mutable {
      rp.deliver(caf::make_error(caf::sec::runtime_error, "no channel role on the gateway's node: " + why));
    });
  return rp;
}

caf::result<std::vector<channel_ack>> take_ticks(caf::event_based_actor* self, const state_ptr& s,
                                                 const std::string& token_text,
                                                 const std::vector<std::uint32_t>& indices,
                                                 const std::vector<bytes_t>& hashes) {
  auto token = chain::playback_token_from_url(token_text);
  auto* x = token ? session_of(s, token_text) : nullptr;
  if (!x || indices.size() != hashes.size() || indices.empty())
    return caf::make_error(caf::sec::runtime_error, "malformed ticks");
  auto& b = s->ticks;
  for (std::size_t i = 0; i < indices.size(); ++i) {
    if (hashes[i].size() != 32) return caf::make_error(caf::sec::runtime_error, "a tick is 32 bytes");
    bytes_t r(token->channel.data.begin(), token->channel.data.end());
    bytes tail;
    append_u32_be(tail, token->lane);
    append_u32_be(tail, indices[i]);
    r.insert(r.end(), tail.begin(), tail.end());
    r.insert(r.end(), hashes[i].begin(), hashes[i].end());
    b.records.push_back(std::move(r));
    hash256 w;
    std::copy(hashes[i].begin(), hashes[i].end(), w.data.begin());
    b.of.push_back({x->id, indices[i], w});
  }
  auto rp = self->make_response_promise<std::vector<channel_ack>>();
  b.waiting.emplace_back(rp, indices.size());
  flush_ticks(self, s);
  return rp;
}

} // namespace poe::actors::gw_role
