#include "gateway_api.hpp"

#include "poe/core/client_request.hpp"
#include "poe/core/domain.hpp"
#include "poe/media/media.hpp"
#include "poe/runtime/messages.hpp"
#include "poe/storage/cid.hpp"
#include "poe/wire/codec.hpp"

#include <nlohmann/json.hpp>

namespace poe::actors::gw {

using namespace poe::runtime;

namespace {

using bytes_t = std::vector<std::uint8_t>;
constexpr auto node_timeout = std::chrono::seconds(60);

std::string ok(int status, const nlohmann::json& j) { return std::to_string(status) + " " + j.dump(); }

/// What an owner signs for `op` on `subject` with `nonce` (a node's), as the API shows it.
nlohmann::json sign_json(const std::string& chain_id, request_op op, const std::string& subject,
                         const hash256& nonce) {
  auto payload = request_payload(op, subject, nonce);
  auto input = signing_bytes(chain_id, msg_type::client_request, payload);
  return {{"op", std::string(to_string(op))},
          {"subject", subject},
          {"nonce", nonce.hex()},
          {"chain_id", chain_id},
          {"signing_input", to_hex(input)},
          {"algorithm", "Ed25519 over signing_input; answer with public_key (hex: 32 raw bytes or "
                        "DER SubjectPublicKeyInfo) and signature (hex)"}};
}

/// The owner's signed request for `op` on `subject` with `nonce`, assembled from its public key
/// and signature and checked here: the encoded envelope the node takes, and the signer.
result<std::pair<bytes, node_id>> signed_request(const std::string& chain_id, request_op op,
                                                 const std::string& subject, const hash256& nonce,
                                                 const std::string& key_hex, const std::string& sig_hex) {
  auto key = from_hex(key_hex);
  auto sig = from_hex(sig_hex);
  if (!key || !sig) return fail(errc::bad_hex, "public_key and signature are hex");
  if (key->size() == 32) { // a raw Ed25519 key: its SubjectPublicKeyInfo
    static const bytes prefix{0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
    key->insert(key->begin(), prefix.begin(), prefix.end());
  }
  envelope env{chain_id, msg_type::client_request, std::move(*key), request_payload(op, subject, nonce),
               std::move(*sig)};
  auto who = check_request(env, chain_id, op, subject, nonce);
  if (!who) return who.err();
  return std::make_pair(wire::encode(env), *who);
}

/// A refusal of `node` rendered as an answer: a signature it did not take 401, one it could
/// not be asked 503, else `otherwise`.
std::string refused(const std::string& node, const std::string& why, int otherwise) {
  if (why.find("not_authorized") != std::string::npos) return "401 " + node + ": " + why;
  if (why.find("timeout") != std::string::npos || why.find("down") != std::string::npos)
    return "503 " + node + " unreachable: " + why;
  return std::to_string(otherwise) + " " + node + ": " + why;
}

void drop_expired(api_state& a, std::uint64_t now) {
  for (auto it = a.uploads.begin(); it != a.uploads.end();)
    if (it->second.expires_ms < now) {
      a.staged_bytes -= it->second.parts->size;
      it = a.uploads.erase(it);
    } else {
      ++it;
    }
  std::erase_if(a.job_nonces, [now](auto& x) { return x.second.second < now; });
}

/// A fresh nonce of this node's (or the first listed) `role`, asked with `Atom`: `then(node,
/// nonce)`, or `otherwise("<status> <why>")`.
template <class Atom>
void with_nonce(caf::event_based_actor* self, const api_ptr& a, const std::string& role,
                std::function<void(caf::actor, hash256)> then, std::function<void(std::string)> otherwise) {
  find_role(
    self, a->ctx.directory, role, a->ctx.node_id,
    [=](caf::actor node) {
      self->request(node, node_timeout, Atom::value)
        .then(
          [=](std::string& chain_id, bytes_t& raw) {
            auto nonce = hash256::from_view(raw);
            if (!nonce || chain_id != a->ctx.chain_id) return otherwise("502 the " + role + " node answered a bad nonce");
            then(node, *nonce);
          },
          [=](caf::error& e) { otherwise(refused("the " + role + " node", self->system().render(e), 503)); });
    },
    [=](std::string why) { otherwise("503 no " + role + " role reachable: " + why); });
}

nlohmann::json job_json(const runtime::job_status& j) {
  nlohmann::json out{{"job", j.job},
                     {"kind", j.kind},
                     {"owner", j.owner},
                     {"source", j.source},
                     {"ladder", j.ladder},
                     {"duration_ms", j.duration_ms},
                     {"segments", j.tasks.size()},
                     {"verified", j.verified},
                     {"failed", j.failed},
                     {"done", j.done},
                     {"tasks", nlohmann::json::array()}};
  for (auto& t : j.tasks) {
    nlohmann::json x{{"segment", t.segment}, {"phase", t.phase}, {"attempts", t.attempts}, {"reason", t.reason}};
    x["outputs"] = nlohmann::json::array();
    for (auto& o : t.outputs) x["outputs"].push_back({{"name", o.name}, {"cid", o.cid}, {"size", o.size}});
    out["tasks"].push_back(std::move(x));
  }
  return out;
}

} // namespace

caf::result<std::string> upload(caf::event_based_actor* self, const api_ptr& a, bytes data, std::string media_type) {
  auto now = a->ctx.clock.now_ms();
  drop_expired(*a, now);
  if (data.empty()) return std::string("400 the body is the media file; it is empty");
  if (data.size() > max_upload_bytes) return std::string("413 an upload is at most 256 MiB");
  if (a->staged_bytes + data.size() > max_staged_bytes)
    return std::string("503 too many uploads wait for their owners' signatures; try again within a minute");
  auto rp = self->make_response_promise();
  auto body = std::make_shared<const bytes>(std::move(data));
  a->off([=]() -> offload::continuation {
    auto facts = media::probe(*body);
    auto parts = facts ? split_file(*body, media_type) : result<file_parts>(facts.err());
    return [=]() mutable {
      if (!facts) return rp.deliver("422 not media ffmpeg can read: " + facts.err().message);
      if (!parts) return rp.deliver("400 " + parts.err().message);
      auto staged = std::make_shared<const file_parts>(std::move(*parts));
      with_nonce<st_nonce_atom>(
        self, a, "storage",
        [=](caf::actor storage, hash256 nonce) mutable {
          auto expires = a->ctx.clock.now_ms() + sign_within_ms;
          if (auto old = a->uploads.find(staged->cid); old != a->uploads.end())
            a->staged_bytes -= old->second.parts->size;
          a->uploads[staged->cid] = {staged, storage, nonce, expires};
          a->staged_bytes += staged->size;
          nlohmann::json out{{"upload", staged->cid},
                             {"cid", staged->cid},
                             {"size", staged->size},
                             {"media_type", media_type},
                             {"media",
                              {{"container", facts->container},
                               {"video_codec", facts->video_codec},
                               {"width", facts->width},
                               {"height", facts->height},
                               {"duration_ms", facts->duration_ms},
                               {"audio_codec", facts->audio_codec}}},
                             {"sign", sign_json(a->ctx.chain_id, request_op::put, staged->cid, nonce)},
                             {"commit", "/api/v1/uploads/" + staged->cid},
                             {"expires_ms", expires}};
          rp.deliver(ok(202, out));
        },
        [=](std::string why) mutable { rp.deliver(why); });
    };
  });
  return rp;
}

caf::result<std::string> commit(caf::event_based_actor* self, const api_ptr& a, const std::string& cid,
                                const std::string& key_hex, const std::string& sig_hex) {
  drop_expired(*a, a->ctx.clock.now_ms());
  auto it = a->uploads.find(cid);
  if (it == a->uploads.end())
    return "404 no upload " + cid + " waits for a signature (uploads wait 55 s: upload it again)";
  auto st = it->second;
  auto req = signed_request(a->ctx.chain_id, request_op::put, cid, st.nonce, key_hex, sig_hex);
  if (!req) return "401 " + req.err().message;
  // One attempt per nonce: the storage node uses it up.
  a->staged_bytes -= st.parts->size;
  a->uploads.erase(it);
  auto rp = self->make_response_promise();
  auto owner = req->second.hex();
  store_parts(self, st.storage, st.parts, std::move(req->first), [=](result<std::string> stored) mutable {
    if (!stored) return rp.deliver(refused("the storage node", stored.err().message, 502));
    if (*stored != cid) return rp.deliver("502 the storage node stored " + *stored + ", not " + cid);
    a->ctx.log->info("api: stored upload {} ({} bytes) for {}", cid, st.parts->size, owner.substr(0, 16));
    rp.deliver(ok(201, {{"cid", cid}, {"owner", owner}, {"size", st.parts->size}}));
  });
  return rp;
}

caf::result<std::string> submit_job(caf::event_based_actor* self, const api_ptr& a, const std::string& source,
                                    const std::string& ladder, const std::string& nonce_hex,
                                    const std::string& key_hex, const std::string& sig_hex) {
  auto now = a->ctx.clock.now_ms();
  drop_expired(*a, now);
  if (!storage::cid::parse(source)) return "400 source is not a CID: '" + source.substr(0, 80) + "'";
  if (!ladder.empty())
    if (auto l = media::parse_ladder(ladder); !l) return "400 ladder: " + l.err().message;
  auto subject = job_subject(source, ladder);
  // (A response promise takes the answer over: made only once nothing is answered directly.)
  if (nonce_hex.empty()) { // the challenge: a verifier's nonce and what to sign
    auto rp = self->make_response_promise();
    with_nonce<vf_nonce_atom>(
      self, a, "verifier",
      [=](caf::actor verifier, hash256 nonce) mutable {
        if (a->job_nonces.size() >= 10'000) a->job_nonces.clear(); // bounded
          a->job_nonces[nonce] = {verifier, a->ctx.clock.now_ms() + sign_within_ms};
          nlohmann::json out{{"type", "about:blank"},
                             {"title", "Unauthorized"},
                             {"status", 401},
                             {"detail", "a job is submitted for its owner, who signs it: post again with "
                                        "nonce, public_key and signature"},
                             {"sign", sign_json(a->ctx.chain_id, request_op::job, subject, nonce)}};
          rp.deliver(ok(401, out));
      },
      [=](std::string why) mutable { rp.deliver(why); });
    return rp;
  }
  auto nonce = hash256::from_hex(nonce_hex);
  if (!nonce) return std::string("400 nonce is 64 hex digits");
  auto issued = a->job_nonces.find(*nonce);
  if (issued == a->job_nonces.end())
    return std::string("401 the nonce was not handed out here or has expired: post without one for a fresh one");
  auto verifier = issued->second.first;
  auto req = signed_request(a->ctx.chain_id, request_op::job, subject, *nonce, key_hex, sig_hex);
  if (!req) return "401 " + req.err().message;
  a->job_nonces.erase(issued);
  auto owner = req->second.hex();
  auto rp = self->make_response_promise();
  self->request(verifier, node_timeout, vf_job_atom::value, source, ladder, std::string(), req->first)
    .then(
      [=](std::string& job) mutable {
        if (a->jobs.size() >= 100'000) a->jobs.clear(); // bounded; a miss asks any verifier
        a->jobs[job] = verifier;
        a->ctx.log->info("api: job {} of {} for {}", job, source, owner.substr(0, 16));
        rp.deliver(ok(202, {{"job", job}, {"owner", owner}, {"source", source}, {"status", "/api/v1/jobs/" + job}}));
      },
      [=](caf::error& e) mutable { rp.deliver(refused("the verifier", self->system().render(e), 422)); });
  return rp;
}

caf::result<std::string> job_status(caf::event_based_actor* self, const api_ptr& a, const std::string& job) {
  auto rp = self->make_response_promise();
  auto ask = [=](caf::actor verifier) mutable {
    self->request(verifier, node_timeout, vf_status_atom::value, job)
      .then([=](runtime::job_status& j) mutable { rp.deliver(ok(200, job_json(j))); },
            [=](caf::error& e) mutable {
              auto why = self->system().render(e);
              rp.deliver(refused("the verifier", why, why.find("no job") != std::string::npos ? 404 : 502));
            });
  };
  if (auto it = a->jobs.find(job); it != a->jobs.end()) {
    ask(it->second);
    return rp;
  }
  find_role(self, a->ctx.directory, "verifier", a->ctx.node_id, ask,
            [=](std::string why) mutable { rp.deliver("503 no verifier role reachable: " + why); });
  return rp;
}

} // namespace poe::actors::gw
