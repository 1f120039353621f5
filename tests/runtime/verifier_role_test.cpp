// The verifier role end to end under the deterministic harness, with real worker threads and
// real FFmpeg: node 0 runs a validator (a one-validator chain), storage and the verifier;
// nodes 1-3 run storage and execution. The executors stake on chain first.
//
// Scenarios:
//  1. A job: a 4 s clip (made with the ffmpeg CLI) goes into storage; the verifier splits it
//     into segments, every task is verified, receipts are persisted and readable, and the
//     outputs are stored. With the sample rate at 100 %, every task is re-executed.
//  2. A lying executor (it encodes with another preset: outputs pass the cheap checks but
//     differ) is caught by re-execution and a third executor; its executor stake is slashed
//     on chain, no receipt names it, and every task is still verified.
//  3. Non-media sources are refused with the reason.
//  4. A compute job (inline inputs): every task verified and re-executed without storage, the
//     digests are the iterated SHA-256 of the inputs, receipts persisted; bad jobs refused.
//  5. Restarts lose nothing: after its node restarts, the verifier still answers for a job that
//     finished before (from its store) and resumes one that had not started (no executor was
//     up), which then finishes.
//  6. An executor that never answers is cut off (its node crashes): the directory reports it
//     gone and the tasks it held are handed on at once, not after verifier.task-timeout-ms.
//  7. Paid work: a compute job funded on chain (job_fund) before its verifier's node restarts
//     is paid after it, nobody asking: each verified task's executor gets work × price less
//     the verifier's share, the verifier its share, and the funder the rest when the verifier
//     closes the escrow.
#include "poe/actors/roles.hpp"
#include "poe/chain/payments.hpp"
#include "poe/store/store.hpp"
#include "poe/chain/genesis.hpp"
#include "poe/chain/transaction.hpp"
#include "poe/core/client_request.hpp"
#include "poe/core/poe_v1.hpp"
#include "poe/core/sha256.hpp"
#include "poe/media/media.hpp"
#include "poe/storage/manifest.hpp"
#include "poe/testing/harness.hpp"
#include "poe/wire/codec.hpp"
#include "render.hpp"
#include "../media_clip.hpp"
#include "test_roles.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>
#include <unistd.h>

using namespace poe;
using namespace poe::runtime;
using poe::testing::harness;
using poe::testing::node_index;
using namespace std::chrono_literals;

namespace {

using bytes_t = std::vector<std::uint8_t>;

using batch_reply = caf::result<std::vector<bytes_t>, std::vector<bytes_t>, std::vector<bytes_t>,
                                std::vector<std::string>, bytes_t>;

/// The real execution role (spawned linked, as `inner`) behind the handlers `front(self,
/// inner, ctx)` makes; ex_info goes to the real role, anything else `front` does not take is
/// dropped.
runtime::role_info wrapped_execution_role(
  std::function<caf::message_handler(caf::event_based_actor*, caf::actor, const role_context&)> front) {
  auto info = actors::execution_role();
  info.body = [honest = info.body, front](caf::event_based_actor* self,
                                          const role_context& ctx) -> caf::behavior {
    auto inner = self->spawn<caf::linked>([honest, ctx](caf::event_based_actor* a) {
      return honest(a, ctx);
    });
    return front(self, inner, ctx)
      .or_else(caf::behavior{[self, inner](ex_info_atom a) { return self->delegate(inner, a); }});
  };
  return info;
}

using run_reply = caf::result<bytes_t, bytes_t, bytes_t, bytes_t>;

/// An executor that lies: it encodes every task with the "ultrafast" preset instead of the
/// pinned one, so its outputs look right (they pass the cheap checks) but are not the bytes
/// an honest executor makes. Its own execution role runs the altered task (authorized by its
/// own key), then the liar names the task it was given in the result and signs it like an
/// honest result.
runtime::role_info lying_execution_role() {
  return wrapped_execution_role([](caf::event_based_actor* self, caf::actor inner, const role_context& ctx) {
    return caf::message_handler{[self, inner, ctx](ex_run_atom, const bytes_t& wire, const bytes_t&) -> run_reply {
      auto given = wire::decode_task(wire);
      if (!given) return caf::make_error(caf::sec::invalid_argument);
      auto t = *given;
      for (auto& p : t.params)
        if (p.key == "preset") p.value = "ultrafast";
      t.submitter = ctx.key->id();
      auto w = wire::encode(t);
      auto auth = wire::encode(authorize_tasks(*ctx.key, ctx.chain_id, {w}));
      auto rp = self->make_response_promise<bytes_t, bytes_t, bytes_t, bytes_t>();
      self->request(inner, caf::infinite, ex_run_atom::value, bytes_t(w.begin(), w.end()),
                    bytes_t(auth.begin(), auth.end()))
        .then(
          [rp, ctx, given = *given](bytes_t& result, bytes_t&, bytes_t&, bytes_t& der) mutable {
            auto r = wire::decode_task_result(result);
            if (!r) {
              rp.deliver(caf::make_error(caf::sec::invalid_argument));
              return;
            }
            r->task_hash = wire::object_hash(given);
            auto lie = wire::encode(*r);
            auto proof = poe_commit(*ctx.key, given.id, lie);
            rp.deliver(bytes_t(lie.begin(), lie.end()),
                       bytes_t(proof.poe.data.begin(), proof.poe.data.end()), proof.sig, der);
          },
          [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
      return rp;
    }};
  });
}

/// An executor that takes batches and never answers them (a hung node).
runtime::role_info silent_execution_role() {
  return wrapped_execution_role([](caf::event_based_actor* self, caf::actor, const role_context&) {
    auto held = std::make_shared<std::vector<caf::response_promise>>();
    return caf::message_handler{[self, held](ex_batch_atom, const std::vector<bytes_t>&, const bytes_t&) -> batch_reply {
      held->push_back(self->make_response_promise());
      return caf::delegated<std::vector<bytes_t>, std::vector<bytes_t>, std::vector<bytes_t>,
                            std::vector<std::string>, bytes_t>{};
    }};
  });
}

/// An executor that forges: it runs batches honestly but flips a bit of every signature, so its
/// answers fail the verifier's PoE check (done on the verifier's worker threads).
runtime::role_info forging_execution_role() {
  return wrapped_execution_role([](caf::event_based_actor* self, caf::actor inner, const role_context&) {
    return caf::message_handler{[self, inner](ex_batch_atom, const std::vector<bytes_t>& wires,
                                              const bytes_t& auth) -> batch_reply {
      auto rp = self->make_response_promise<std::vector<bytes_t>, std::vector<bytes_t>,
                                            std::vector<bytes_t>, std::vector<std::string>, bytes_t>();
      self->request(inner, caf::infinite, ex_batch_atom::value, wires, auth)
        .then(
          [rp](std::vector<bytes_t>& r, std::vector<bytes_t>& p, std::vector<bytes_t>& sg,
               std::vector<std::string>& e, bytes_t& der) mutable {
            for (auto& x : sg)
              if (!x.empty()) x[0] ^= 1;
            rp.deliver(std::move(r), std::move(p), std::move(sg), std::move(e), std::move(der));
          },
          [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
      return rp;
    }};
  });
}

bytes clip_bytes() { return test::test_clip(4, 24); }

struct pipeline {
  harness h{51};
  std::vector<node_index> ns;
  std::string genesis_path = "/tmp/poe-genesis-verifier-" + std::to_string(::getpid()) + ".json";

  explicit pipeline(bool with_liar, std::string sample_ppm,
                    std::map<std::string, std::string> options = {}, bool forger = false,
                    bool silent = false) {
    for (std::size_t i = 0; i < 4; ++i) {
      std::vector<runtime::role_info> roles{actors::storage_role()};
      if (i == 0) {
        roles.insert(roles.begin(), actors::validator_role());
        roles.push_back(actors::verifier_role());
      } else {
        roles.push_back(with_liar && i == 3 ? lying_execution_role()
                        : forger && i == 3  ? forging_execution_role()
                        : silent && i == 3  ? silent_execution_role()
                                            : actors::execution_role());
      }
      testing::node_spec spec{"p" + std::to_string(i), roles, {}};
      for (std::size_t j = 0; j < i; ++j) spec.peers.push_back(j);
      spec.net = test::fast_net();
      spec.store = true;
      ns.push_back(h.add_node(spec));
    }
    chain::genesis g;
    g.chain_id = harness::chain_id();
    g.validators.push_back({h.key(ns[0]).pub(), amount{1000}});
    g.params.block_interval_ms = 100;
    for (std::size_t i = 0; i < 4; ++i) g.balances.push_back({h.key(ns[i]).id(), amount{1'000'000}});
    std::sort(g.balances.begin(), g.balances.end(),
              [](auto& a, auto& b) { return a.account < b.account; });
    std::ofstream(genesis_path) << chain::to_json(g);
    h.set("validator.genesis", genesis_path);
    h.set("storage.replicas", "2");
    h.set("storage.acks", "1");
    h.set("storage.challenge-interval-ms", "0");
    h.set("verifier.sample-rate-ppm", sample_ppm);
    h.set("verifier.segment-ms", "1000");
    h.set("verifier.ladder", "240p:426x240:400:64");
    h.set("verifier.cpu", media::cpu_supported("avx2") ? "avx2" : "sse2");
    for (auto& [k, v] : options) h.set(k, v);
    h.start_all();
    REQUIRE(h.advance_until(
      [&] {
        for (auto n : ns)
          if (h.members(n, "storage").size() != 4 || h.members(n, "execution").size() != 3)
            return false;
        return true;
      },
      30s, 20ms));
    // The verifier stakes (executors run only tasks a staked verifier signed), and so do the
    // executors (the liar, node 3, stakes the most: it is drawn first most often).
    for (std::size_t i = 0; i < 4; ++i) {
      chain::transaction tx;
      tx.chain_id = harness::chain_id();
      tx.fee = amount{1};
      tx.body = i == 0 ? chain::stake{chain::stake_role::verifier, amount{1'000}}
                       : chain::stake{chain::stake_role::executor, amount{i == 3 ? 50'000u : 10'000u}};
      chain::sign(tx, h.key(ns[i]));
      auto r = h.ask<submit_reply>(h.local(0, "validator"),
                                   caf::make_message(tx_atom::value, chain::encode(tx)));
      REQUIRE(r);
      REQUIRE(r->outcome == verdict::accepted);
    }
    REQUIRE(h.advance_until([&] { return executor_stake(3) > 0 && executor_stake(1) > 0 &&
                                         executor_stake(2) > 0 &&
                                         stake_of(0, chain::stake_role::verifier) > 0; },
                            30s, 20ms));
    h.advance(1s, 20ms); // the verifier's view of the executors catches up
  }
  ~pipeline() { std::remove(genesis_path.c_str()); }

  std::uint64_t stake_of(std::size_t i, chain::stake_role role) {
    auto r = h.ask<account_view>(h.local(0, "validator"),
                                 caf::make_message(account_atom::value, h.node_id(ns[i])));
    return r ? r->stake_of(role) : 0;
  }
  std::uint64_t executor_stake(std::size_t i) { return stake_of(i, chain::stake_role::executor); }

  std::string put_file(const bytes& data) {
    auto storage = h.local(0, "storage");
    storage::manifest_builder mb("video/mp4");
    for (std::size_t at = 0; at < data.size(); at += storage::default_chunk_size) {
      bytes_t chunk(data.begin() + static_cast<long>(at),
                    data.begin() + static_cast<long>(std::min(data.size(), at + storage::default_chunk_size)));
      REQUIRE(mb.add(chunk));
      REQUIRE(h.ask<std::string>(storage, caf::make_message(st_put_atom::value, chunk)));
    }
    auto m = storage::encode(std::move(mb).finish());
    auto id = h.ask<std::string>(storage, caf::make_message(st_putm_atom::value,
                                                            bytes_t(m.begin(), m.end()),
                                                            std::string("creator")));
    REQUIRE(id);
    return *id;
  }

  /// Advances the simulation while real worker threads encode (bounded in real time).
  bool wait(const std::function<bool()>& pred, std::chrono::seconds limit = 180s) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      h.advance(100ms, 10ms);
      std::this_thread::sleep_for(2ms);
    }
    return pred();
  }

  /// The job's status as poe-cli shows it (the typed answer rendered at the edge).
  nlohmann::json status(const std::string& job) {
    auto r = h.ask<job_status>(h.local(0, "verifier"), caf::make_message(vf_status_atom::value, job));
    return r ? tools::to_json(*r) : nlohmann::json{};
  }

  /// A step receipt as poe-cli shows it (nullopt: none).
  std::optional<nlohmann::json> receipt(const std::string& request_hex) {
    auto r = h.ask<bytes_t>(h.local(0, "verifier"), caf::make_message(vf_receipt_atom::value, request_hex));
    if (!r) return std::nullopt;
    auto rc = wire::decode_step_receipt(*r);
    if (!rc) return std::nullopt;
    return tools::to_json(*rc);
  }

  std::optional<std::string> submit(const std::string& source) {
    return ask_job(caf::make_message(vf_job_atom::value, source, std::string(""), creator().hex()));
  }

  /// The owner of the jobs `submit` makes (a node id, as owners are).
  node_id creator() { return h.key(ns[2]).id();
  }

  /// The job id the verifier answers `msg` with (nullopt: refused).
  std::optional<std::string> ask_job(caf::message msg) {
    auto out = std::make_shared<std::optional<std::string>>();
    auto done = std::make_shared<bool>(false);
    auto v = h.local(0, "verifier");
    h.system().spawn([=](caf::event_based_actor* self) {
      self->request(v, caf::infinite, std::move(msg))
        .then([=](std::string& id) { *out = id; *done = true; },
              [=](caf::error&) { *done = true; });
    });
    wait([&] { return *done; }, 60s);
    return *out;
  }
};

} // namespace

TEST_CASE("a job is split, every task verified and re-executed, receipts persisted") {
  pipeline p(false, "1000000");
  auto src = p.put_file(clip_bytes());
  auto job = p.submit(src);
  REQUIRE(job);
  REQUIRE(p.wait([&] { return p.status(*job).value("done", false); }));
  auto st = p.status(*job);
  INFO(st.dump(2));
  CHECK(st["segments"] == 4);
  CHECK(st["verified"] == 4);
  for (auto& t : st["tasks"]) {
    auto r = p.receipt(t["request"].get<std::string>());
    REQUIRE(r);
    auto j = (*r);
    CHECK(j["reexecuted"] == true);
    CHECK(j["work_units"] == 24);
  }
  CHECK_FALSE(p.receipt(std::string(32, '0')));

  // The verifier's signed statement of the outputs, which the owner publishes as content.
  auto verifier = p.h.local(0, "verifier");
  auto raw = p.h.ask<bytes_t>(verifier, caf::make_message(vf_output_atom::value, *job));
  REQUIRE(raw);
  auto out = chain::decode_job_output(*raw);
  REQUIRE(out);
  CHECK(out->job == *job);
  CHECK(out->owner == p.creator());
  CHECK(chain::verify(*out, p.h.key(p.ns[0]).pub(), harness::chain_id()));
  std::size_t outputs = 0;
  for (auto& t : st["tasks"]) outputs += t["outputs"].size();
  CHECK(outputs >= 4);
  CHECK(out->outputs.size() == outputs); // every output of every segment, once
  CHECK(out->outputs.front().name.rfind("s00000/", 0) == 0);
  CHECK_FALSE(p.h.ask<bytes_t>(verifier, caf::make_message(vf_output_atom::value, std::string("no-such-job"))));

  // A ladder above the 640x360 source: the job pins it fitted — no rung upscaled, one rung per
  // size — and its outputs have those sizes (a 720p rung of this source was 1280x720 before).
  auto fitted = p.ask_job(caf::make_message(vf_job_atom::value, src,
                                            std::string("720p:1280x720:2500:128,hd:1280x720:3000:128,144p:256x144:200:48"),
                                            p.creator().hex()));
  REQUIRE(fitted);
  REQUIRE(p.wait([&] { return p.status(*fitted).value("done", false); }));
  auto fs = p.status(*fitted);
  INFO(fs.dump(2));
  CHECK(fs["ladder"] == "720p:640x360:625:128,144p:256x144:200:48");
  CHECK(fs["verified"] == 4);
  for (auto& t : fs["tasks"]) {
    REQUIRE(t["outputs"].size() == 2);
    CHECK(t["outputs"][0]["name"] == "720p.ts");
  }
}

TEST_CASE("a lying executor is caught by re-execution and slashed on chain") {
  pipeline p(true, "1000000");
  auto before = p.executor_stake(3);
  auto job = p.submit(p.put_file(clip_bytes()));
  REQUIRE(job);
  REQUIRE(p.wait([&] { return p.status(*job).value("done", false); }));
  auto st = p.status(*job);
  INFO(st.dump(2));
  CHECK(st["verified"] == 4);
  auto liar = p.h.node_id(p.ns[3]);
  for (auto& t : st["tasks"]) {
    auto r = p.receipt(t["request"].get<std::string>());
    REQUIRE(r);
    CHECK((*r)["executor"] != liar);
  }
  REQUIRE(p.wait([&] { return p.executor_stake(3) < before; }, 60s));
  CHECK(p.executor_stake(1) == 10'000);
  CHECK(p.executor_stake(2) == 10'000);
  // The reputation book is persisted (a restarted verifier restores it): the liar is banned
  // at 0, an honest executor climbed above the initial 500'000.
  auto rep = [&](std::size_t i) {
    auto id = node_id::from_hex(p.h.node_id(p.ns[i]));
    bytes k{'r', 'e', 'p', '/'};
    k.insert(k.end(), id->data.begin(), id->data.end());
    auto v = p.h.store_of(p.ns[0])->get("verifier", k);
    REQUIRE(v);
    REQUIRE(*v);
    REQUIRE((*v)->size() == 5);
    auto& b = **v;
    return std::pair{(std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) |
                       (std::uint32_t{b[2]} << 8) | b[3],
                     b[4] != 0};
  };
  CHECK(rep(3) == std::pair{std::uint32_t{0}, true});
  auto honest = std::max(rep(1).first, rep(2).first);
  CHECK(honest > 500'000);
}

TEST_CASE("a source that is not media is refused with the reason") {
  pipeline p(false, "50000");
  auto storage = p.h.local(0, "storage");
  auto junk = p.h.ask<std::string>(storage, caf::make_message(st_put_atom::value, bytes_t(4000, 0x11)));
  REQUIRE(junk);
  CHECK_FALSE(p.submit(*junk));
}

TEST_CASE("a compute job of inline inputs is verified without storage, digests right") {
  pipeline p(false, "1000000");
  std::vector<bytes_t> inputs;
  for (int i = 0; i < 5; ++i) {
    auto text = "input " + std::to_string(i);
    inputs.emplace_back(text.begin(), text.end());
  }
  auto compute = [&](std::uint64_t iterations, std::vector<bytes_t> xs) {
    return p.ask_job(caf::make_message(vf_compute_atom::value, std::string("alice"), iterations, std::move(xs)));
  };
  auto job = compute(3, inputs);
  REQUIRE(job);
  REQUIRE(p.wait([&] { return p.status(*job).value("done", false); }));
  auto st = p.status(*job);
  INFO(st.dump(2));
  CHECK(st["kind"] == "compute");
  CHECK(st["iterations"] == 3);
  CHECK(st["verified"] == 5);
  for (std::size_t i = 0; i < 5; ++i) {
    auto& t = st["tasks"][i];
    auto want = sha256::digest(sha256::digest(sha256::digest(inputs[i]).view()).view());
    CHECK(t["digest"] == want.hex());
    CHECK(t["outputs"].empty());
    auto r = p.receipt(t["request"].get<std::string>());
    REQUIRE(r);
    auto j = (*r);
    CHECK(j["kind"] == "compute");
    CHECK(j["reexecuted"] == true); // sample rate 100 %: a second executor agreed
    CHECK(j["work_units"] == 3);
  }
  // Refused with the reason, nothing started: no inputs, an input over 4 KiB, 0 iterations.
  CHECK_FALSE(compute(3, {}));
  CHECK_FALSE(compute(3, {bytes_t(4097, 1)}));
  CHECK_FALSE(compute(0, inputs));
  CHECK(compute(1, {bytes_t(4096, 1)}));
}

TEST_CASE("a job's owner is a node id: a peer submits as itself, a client with a signed request over a fresh nonce") {
  pipeline p(false, "0");
  auto v = p.h.local(0, "verifier");
  std::vector<bytes_t> inputs{bytes_t{'a'}, bytes_t{'b'}};
  auto owner_of = [&](const std::optional<std::string>& job) {
    REQUIRE(job);
    REQUIRE(p.wait([&] { return p.status(*job).value("done", false); }));
    return p.status(*job)["owner"].get<std::string>();
  };
  // As peer p1 (its connection proves it): only as itself.
  auto as_peer = [&](const std::string& claimed) {
    auto out = std::make_shared<std::optional<std::string>>();
    auto done = std::make_shared<bool>(false);
    auto asker = p.h.system().spawn([=](caf::event_based_actor* self) {
      self->request(v, caf::infinite, vf_compute_atom::value, claimed, std::uint64_t{1}, inputs)
        .then([=](std::string& id) { *out = id; *done = true; }, [=](caf::error&) { *done = true; });
    });
    p.h.speak_as(p.ns[1], asker);
    p.wait([&] { return *done; }, 60s);
    return *out;
  };
  CHECK_FALSE(as_peer("alice"));
  CHECK_FALSE(as_peer(p.h.node_id(p.ns[2])));
  CHECK(owner_of(as_peer("")) == p.h.node_id(p.ns[1]));
  // A signed request: its signer (p2's key) is the owner; good once, for these inputs only.
  auto nonce = [&] {
    auto r = p.h.ask<std::string, bytes_t>(v, caf::make_message(vf_nonce_atom::value));
    REQUIRE(r);
    hash256 n;
    std::copy(std::get<1>(*r).begin(), std::get<1>(*r).end(), n.data.begin());
    return n;
  };
  auto signed_by = [&](node_index who, std::uint64_t iterations, const std::vector<bytes_t>& xs) {
    auto e = wire::encode(sign_request(p.h.key(who), harness::chain_id(), request_op::compute,
                                       compute_subject(iterations, xs), nonce()));
    return bytes_t(e.begin(), e.end());
  };
  auto auth = signed_by(p.ns[2], 1, inputs);
  auto compute = [&](const std::string& claimed, std::uint64_t iterations, const bytes_t& a) {
    return p.ask_job(caf::make_message(vf_compute_atom::value, claimed, iterations, inputs, a));
  };
  CHECK_FALSE(compute("", 2, auth)); // signed for 1 iteration: refused, the nonce stays good
  CHECK(owner_of(compute("", 1, auth)) == p.h.node_id(p.ns[2]));
  CHECK_FALSE(compute("", 1, auth)); // replayed
  CHECK_FALSE(compute("alice", 1, signed_by(p.ns[2], 1, inputs)));
  // The verifier node's own key (its operator) names any owner.
  CHECK(owner_of(compute("alice", 1, signed_by(p.ns[0], 1, inputs))) == "alice");
}

TEST_CASE("finished jobs leave the verifier's memory beyond max-held-tasks, status and receipts stay") {
  pipeline p(false, "0", {{"verifier.max-held-tasks", "100"}});
  auto run_job = [&](int tag) {
    std::vector<bytes_t> inputs;
    for (int i = 0; i < 60; ++i) {
      auto text = "job " + std::to_string(tag) + " input " + std::to_string(i);
      inputs.emplace_back(text.begin(), text.end());
    }
    auto job = p.ask_job(caf::make_message(vf_compute_atom::value, std::string("bob"), std::uint64_t{1}, inputs));
    REQUIRE(job);
    REQUIRE(p.wait([&] { return p.status(*job).value("done", false); }));
    return *job;
  };
  auto first = run_job(1);
  std::vector<std::string> requests;
  auto st = p.status(first);
  for (auto& t : st["tasks"]) requests.push_back(t["request"]);
  REQUIRE(requests.size() == 60);
  CHECK(st["archived"] == false);
  auto second = run_job(2); // 120 tasks held > 100: the first job (finished) goes
  // Its status is read from the store from then on, the same tasks and digests.
  REQUIRE(p.wait([&] { return p.status(first).value("archived", false); }, 30s));
  auto archived = p.status(first);
  CHECK(archived["verified"] == 60);
  CHECK(archived["done"] == true);
  for (std::size_t i = 0; i < 60; ++i) {
    CHECK(archived["tasks"][i]["request"] == st["tasks"][i]["request"]);
    CHECK(archived["tasks"][i]["digest"] == st["tasks"][i]["digest"]);
  }
  CHECK(p.status(second)["verified"] == 60);
  for (auto& r : requests)
    CHECK(p.receipt(r));
}

TEST_CASE("forged signatures in batch answers are rejected and the tasks reassigned") {
  pipeline p(false, "0", {}, true);
  std::vector<bytes_t> inputs;
  for (int i = 0; i < 40; ++i) {
    auto text = "forge test " + std::to_string(i);
    inputs.emplace_back(text.begin(), text.end());
  }
  auto job = p.ask_job(caf::make_message(vf_compute_atom::value, std::string("carol"), std::uint64_t{1}, inputs));
  REQUIRE(job);
  REQUIRE(p.wait([&] { return p.status(*job).value("done", false); }));
  auto st = p.status(*job);
  INFO(st.dump(2));
  CHECK(st["verified"] == 40);
  auto forger = p.h.node_id(p.ns[3]);
  std::size_t retried = 0;
  for (auto& t : st["tasks"]) {
    auto r = p.receipt(t["request"].get<std::string>());
    REQUIRE(r);
    CHECK((*r)["executor"] != forger);
    retried += t["attempts"].get<std::size_t>() > 1;
  }
  CHECK(retried > 0); // the forger (the largest stake) was drawn for some and refused
}

TEST_CASE("a restarted verifier answers for finished jobs and resumes unfinished ones") {
  pipeline p(false, "0");
  std::vector<bytes_t> inputs;
  for (int i = 0; i < 4; ++i) {
    auto text = "restart " + std::to_string(i);
    inputs.emplace_back(text.begin(), text.end());
  }
  auto compute = [&](std::vector<bytes_t> xs) {
    return p.ask_job(caf::make_message(vf_compute_atom::value, std::string("alice"),
                                       std::uint64_t{2}, std::move(xs)));
  };
  auto finished = compute({inputs[0], inputs[1]});
  REQUIRE(finished);
  REQUIRE(p.wait([&] { return p.status(*finished).value("done", false); }));
  auto before = p.status(*finished);
  // No executor is up: the next job is taken (its record is durable) but cannot start.
  for (std::size_t i = 1; i < 4; ++i) p.h.crash(p.ns[i]);
  auto pending = compute({inputs[2], inputs[3]});
  REQUIRE(pending);
  p.h.advance(1s, 20ms);
  CHECK(p.status(*pending)["verified"] == 0);
  // The verifier's node restarts, then the executors.
  p.h.crash(p.ns[0]);
  p.h.advance(500ms, 20ms);
  p.h.start(p.ns[0]);
  REQUIRE(p.h.advance_until([&] { return p.h.local(0, "verifier") != caf::actor{}; }, 10s, 20ms));
  auto again = p.status(*finished);
  INFO(again.dump(2));
  CHECK(again["done"] == true);
  CHECK(again["verified"] == 2);
  for (std::size_t k = 0; k < 2; ++k)
    CHECK(again["tasks"][k]["digest"] == before["tasks"][k]["digest"]);
  CHECK(p.status(*pending)["segments"] == 2);
  for (std::size_t i = 1; i < 4; ++i) p.h.start(p.ns[i]);
  REQUIRE(p.wait([&] { return p.status(*pending).value("done", false); }, 60s));
  auto st = p.status(*pending);
  INFO(st.dump(2));
  CHECK(st["verified"] == 2);
  auto want = sha256::digest(sha256::digest(inputs[2]).view());
  CHECK(st["tasks"][0]["digest"] == want.hex());
  CHECK_FALSE(p.h.ask<job_status>(p.h.local(0, "verifier"),
                                  caf::make_message(vf_status_atom::value, std::string("no-such-job"))));
}

TEST_CASE("tasks held by an executor that dies are handed on at once, not after the timeout") {
  // Node 3 stakes the most (drawn first) and never answers; the task timeout is 10 minutes.
  pipeline p(false, "0", {{"verifier.task-timeout-ms", "600000"}}, false, true);
  std::vector<bytes_t> inputs;
  for (int i = 0; i < 12; ++i) {
    auto text = "hung " + std::to_string(i);
    inputs.emplace_back(text.begin(), text.end());
  }
  auto job = p.ask_job(caf::make_message(vf_compute_atom::value, std::string("alice"),
                                         std::uint64_t{1}, inputs));
  REQUIRE(job);
  p.h.advance(2s, 20ms);
  auto st = p.status(*job);
  INFO(st.dump(2));
  REQUIRE(st["verified"] < 12); // some tasks wait on the hung executor
  p.h.crash(p.ns[3]);
  // Seen gone within the connection timeout of the fast test network and handed on: done
  // within 20 s of simulated time (the timeout would take 600 s).
  bool done = false;
  for (int step = 0; step < 200 && !done; ++step) {
    p.h.advance(100ms, 10ms);
    std::this_thread::sleep_for(5ms); // the executors' worker threads run in real time
    done = p.status(*job).value("done", false);
  }
  REQUIRE(done);
  st = p.status(*job);
  CHECK(st["verified"] == 12);
}

TEST_CASE("a funded job: each verified task paid from its escrow, the rest refunded, across a verifier restart") {
  pipeline p(false, "0");
  auto validator = [&] { return p.h.local(0, "validator"); };
  auto account = [&](std::size_t i) {
    auto r = p.h.ask<account_view>(validator(), caf::make_message(account_atom::value, p.h.node_id(p.ns[i])));
    REQUIRE(r);
    return *r;
  };
  auto flow = [&](std::size_t i, const std::string& kind) {
    for (auto& f : account(i).flows)
      if (f.kind == kind) return f.amount;
    return std::uint64_t{0};
  };
  // No executor is up: the job is taken and funded, but nothing runs before the restart.
  for (std::size_t i = 1; i < 4; ++i) p.h.crash(p.ns[i]);
  std::vector<bytes_t> inputs;
  for (int i = 0; i < 3; ++i) inputs.push_back(bytes_t{std::uint8_t('a' + i)});
  auto job = p.ask_job(caf::make_message(vf_compute_atom::value, p.h.node_id(p.ns[0]), std::uint64_t{2}, inputs));
  REQUIRE(job);
  auto vid = p.h.key(p.ns[0]).id();
  auto escrow = chain::job_escrow_id(vid, *job);
  auto funder_before = account(1).balance;
  chain::transaction tx;
  tx.chain_id = harness::chain_id();
  tx.nonce = account(1).nonce;
  tx.fee = amount{1};
  tx.body = chain::job_fund{vid, *job, amount{100}, amount{5}, 200'000, 100'000};
  chain::sign(tx, p.h.key(p.ns[1]));
  auto r = p.h.ask<submit_reply>(validator(), caf::make_message(tx_atom::value, chain::encode(tx)));
  REQUIRE(r);
  REQUIRE(r->outcome == verdict::accepted);
  auto view = [&] {
    auto v = p.h.ask<job_escrow_view>(validator(), caf::make_message(escrow_atom::value, bytes_t(escrow.data.begin(), escrow.data.end())));
    REQUIRE(v);
    return *v;
  };
  REQUIRE(p.wait([&] { return view().found; }, 30s));
  p.h.advance(500ms, 20ms); // the verifier sees the funding in a pushed block (and stores it)
  // The verifier's node restarts; then the executors come up and the job runs.
  p.h.crash(p.ns[0]);
  p.h.advance(500ms, 20ms);
  p.h.start(p.ns[0]);
  REQUIRE(p.h.advance_until([&] { return p.h.local(0, "verifier") != caf::actor{}; }, 10s, 20ms));
  for (std::size_t i = 1; i < 4; ++i) p.h.start(p.ns[i]);
  REQUIRE(p.wait([&] { return p.status(*job).value("done", false); }, 60s));
  CHECK(p.status(*job)["verified"] == 3);
  // Paid and closed by the verifier, nobody asking: 3 tasks × 2 work units × 5 = 30.
  REQUIRE(p.wait([&] { return !view().found; }, 60s));
  std::uint64_t to_executors = 0;
  for (std::size_t i = 1; i < 4; ++i) to_executors += flow(i, "job_executor");
  CHECK(to_executors == 3 * 8); // each 10: 2 (20 %) to the verifier, 8 to its executor
  CHECK(flow(0, "job_verifier") == 3 * 2);
  CHECK(flow(1, "refund") == 70);
  // Node 1 funded and executed: its balance moved by −100 − fee + its refund + its own pay.
  CHECK(account(1).balance == funder_before - 100 - 1 + 70 + flow(1, "job_executor"));
}
