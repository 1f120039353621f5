// The execution role under the deterministic harness, with real worker threads and real
// FFmpeg: two nodes, node 0 runs storage and execution, node 1 storage.
//
// Scenarios:
//  1. A compute task: the input comes from storage, the result is bound by a PoE v1 that
//     verifies under node 0's key, and the stored output equals a local run of the kind.
//  2. A transcode task on a segment stored as a file (manifest + chunks): every rendition is
//     stored, equals a local run byte for byte and passes the cheap checks.
//  3. Bad tasks fail with their reason and nothing is left running: an unknown kind, a
//     transcode without its pinned settings, non-media input, an input that is not stored.
//  4. A batch of inline tasks: each answered in order with its own PoE v1 (verifying under
//     node 0's key); garbage, an unknown kind and a task with input files get their reason
//     without stopping the others; an empty batch is refused.
//  5. Admission control: beyond execution.max-pending tasks held, a batch's excess tasks are
//     refused with queue_full (the admitted ones answered); answered tasks free their slots.
#include "poe/actors/roles.hpp"
#include "poe/core/poe_v1.hpp"
#include "poe/core/sha256.hpp"
#include "poe/media/media.hpp"
#include "poe/storage/cid.hpp"
#include "poe/storage/manifest.hpp"
#include "poe/testing/harness.hpp"
#include "poe/wire/codec.hpp"
#include "task_kind.hpp"
#include "../media_clip.hpp"
#include "test_roles.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>
#include <unistd.h>

using namespace poe;
using namespace poe::runtime;
using poe::testing::harness;
using poe::testing::node_index;
using namespace std::chrono_literals;

namespace {

using bytes_t = std::vector<std::uint8_t>;
using reply = std::tuple<bytes_t, bytes_t, bytes_t, bytes_t>;

struct exec_fixture {
  harness h{41};
  std::vector<node_index> ns;

  explicit exec_fixture(std::size_t max_pending = 0) {
    for (std::size_t i = 0; i < 2; ++i) {
      std::vector<runtime::role_info> roles{actors::storage_role()};
      if (i == 0) roles.push_back(actors::execution_role());
      testing::node_spec spec{"x" + std::to_string(i), roles, {}};
      if (i == 1) spec.peers.push_back(0);
      spec.net = test::fast_net();
      spec.store = true;
      ns.push_back(h.add_node(spec));
    }
    h.set("storage.replicas", "2");
    h.set("storage.acks", "2");
    h.set("storage.challenge-interval-ms", "0");
    h.set("execution.workers", "1");
    if (max_pending) h.set("execution.max-pending", std::to_string(max_pending));
    h.start_all();
    REQUIRE(h.advance_until([&] { return h.members(0, "storage").size() == 2 &&
                                         h.members(1, "storage").size() == 2; },
                            30s, 20ms));
    h.advance(500ms, 20ms);
  }

  caf::actor storage() { return h.local(0, "storage"); }
  caf::actor executor() { return h.local(0, "execution"); }

  /// Stores `data` as a file through node 0: chunks, then the manifest.
  std::string put_file(const bytes& data) {
    storage::manifest_builder mb("video/mp2t");
    for (std::size_t at = 0; at < data.size(); at += storage::default_chunk_size) {
      bytes_t chunk(data.begin() + static_cast<long>(at),
                    data.begin() + static_cast<long>(std::min(data.size(), at + storage::default_chunk_size)));
      REQUIRE(mb.add(chunk));
      REQUIRE(h.ask<std::string>(storage(), caf::make_message(st_put_atom::value, chunk)));
    }
    auto m = storage::encode(std::move(mb).finish());
    auto id = h.ask<std::string>(storage(), caf::make_message(st_putm_atom::value, bytes_t(m.begin(), m.end()),
                                                              std::string("tester")));
    REQUIRE(id);
    return *id;
  }

  bytes get_file(const std::string& id) {
    auto top = h.ask<bytes_t>(storage(), caf::make_message(st_get_atom::value, id));
    REQUIRE(top);
    auto m = storage::decode_manifest(*top);
    REQUIRE(m);
    bytes all;
    for (auto& c : m->chunks) {
      auto part = h.ask<bytes_t>(storage(), caf::make_message(st_get_atom::value, c.id.str()));
      REQUIRE(part);
      all.insert(all.end(), part->begin(), part->end());
    }
    return all;
  }

  using batch_reply = std::tuple<std::vector<bytes_t>, std::vector<bytes_t>, std::vector<bytes_t>,
                                 std::vector<std::string>, bytes_t>;
  /// Runs a batch of (wire-encoded) tasks, waiting in real time like `run`.
  std::optional<batch_reply> run_batch(std::vector<bytes_t> wires) {
    // Node 0's own verifier signs the batch (tasks that decode name it as their submitter).
    std::vector<bytes> signed_wires;
    for (auto& w : wires) {
      auto t = wire::decode_task(w);
      if (t) {
        t->submitter = h.key(0).id();
        auto re = wire::encode(*t);
        w.assign(re.begin(), re.end());
      }
      signed_wires.emplace_back(w.begin(), w.end());
    }
    auto auth = wire::encode(authorize_tasks(h.key(0), harness::chain_id(), signed_wires));
    auto out = std::make_shared<std::optional<batch_reply>>();
    auto done = std::make_shared<bool>(false);
    auto target = executor();
    h.system().spawn([=](caf::event_based_actor* self) {
      self->request(target, caf::infinite, ex_batch_atom::value, wires, bytes_t(auth.begin(), auth.end()))
        .then(
          [=](std::vector<bytes_t>& r, std::vector<bytes_t>& p, std::vector<bytes_t>& sg,
              std::vector<std::string>& e, bytes_t& der) {
            *out = batch_reply{std::move(r), std::move(p), std::move(sg), std::move(e), std::move(der)};
            *done = true;
          },
          [=](caf::error&) { *done = true; });
    });
    auto end = std::chrono::steady_clock::now() + 60s;
    while (!*done && std::chrono::steady_clock::now() < end) {
      h.advance(50ms, 10ms);
      std::this_thread::sleep_for(2ms);
    }
    return *out;
  }

  /// Runs a task. The worker thread runs in real time while the harness runs simulated time,
  /// so this waits in real time (bounded: 120 s), advancing the simulation as it goes.
  std::optional<reply> run(task t) {
    t.submitter = h.key(0).id(); // node 0's own verifier signs it
    auto w = wire::encode(t);
    auto auth = wire::encode(authorize_tasks(h.key(0), harness::chain_id(), {w}));
    auto out = std::make_shared<std::optional<reply>>();
    auto done = std::make_shared<bool>(false);
    auto target = executor();
    h.system().spawn([=](caf::event_based_actor* self) {
      self->request(target, caf::infinite, ex_run_atom::value, bytes_t(w.begin(), w.end()),
                    bytes_t(auth.begin(), auth.end()))
        .then(
          [=](bytes_t& a, bytes_t& b, bytes_t& c, bytes_t& d) {
            *out = reply{std::move(a), std::move(b), std::move(c), std::move(d)};
            *done = true;
          },
          [=](caf::error&) { *done = true; });
    });
    auto end = std::chrono::steady_clock::now() + 120s;
    while (!*done && std::chrono::steady_clock::now() < end) {
      h.advance(50ms, 10ms);
      std::this_thread::sleep_for(2ms);
    }
    return *out;
  }
};

task make_task(std::uint64_t n, std::string kind, std::vector<param> params,
               std::vector<std::string> inputs) {
  task t;
  auto d = sha256::digest(as_bytes("exec-role-" + std::to_string(n)));
  std::copy(d.data.begin(), d.data.begin() + t.id.data.size(), t.id.data.begin());
  t.kind = std::move(kind);
  std::sort(params.begin(), params.end(), [](auto& a, auto& b) { return a.key < b.key; });
  t.params = std::move(params);
  t.inputs = std::move(inputs);
  t.created_ms = 1000;
  return t;
}

bytes segment() {
  auto segs = media::split(test::test_clip(2, 48), 2000);
  REQUIRE(segs);
  return (*segs)[0].data;
}

} // namespace

TEST_CASE("the execution role runs a compute task under PoE v1") {
  exec_fixture f;
  bytes_t input(1000, 7);
  auto in_cid = f.h.ask<std::string>(f.storage(), caf::make_message(st_put_atom::value, input));
  REQUIRE(in_cid);
  auto t = make_task(1, "compute", {{"iterations", "1000"}}, {*in_cid});
  auto r = f.run(t);
  REQUIRE(r);
  auto& [result, poe, sig, der] = *r;
  CHECK(der == f.h.key(0).pub().der());
  // The PoE verifies under node 0's key over exactly the canonical result bytes.
  poe_v1_proof proof{t.id, f.h.key(0).id(), *hash256::from_view(poe), sig};
  CHECK(poe_verify(f.h.key(0).pub(), t.id, result, proof) == poe_check::valid);
  auto tr = wire::decode_task_result(result);
  REQUIRE(tr);
  CHECK(tr->id == t.id);
  REQUIRE(tr->outputs.size() == 1);
  auto local = execution::find_kind("compute")->run(t, {bytes(input.begin(), input.end())});
  REQUIRE(local);
  CHECK(f.get_file(tr->outputs[0].cid) == local->outputs[0].data);
  CHECK(tr->facts == local->facts);
}

TEST_CASE("the execution role transcodes a stored segment into a stored ladder") {
  exec_fixture f;
  auto seg = segment();
  auto in = f.put_file(seg);
  std::vector<param> ps{{"audio_rate", "48000"},
                        {"cpu", media::cpu_supported("avx2") ? "avx2" : "sse2"},
                        {"gop", "48"},
                        {"ladder", "240p:426x240:400:64,144p:256x144:200:48"},
                        {"preset", "veryfast"},
                        {"threads", "1"}};
  auto t = make_task(2, "transcode", ps, {in});
  auto r = f.run(t);
  REQUIRE(r);
  auto tr = wire::decode_task_result(std::get<0>(*r));
  REQUIRE(tr);
  auto& kind = *execution::find_kind("transcode");
  auto local = kind.run(t, {seg});
  REQUIRE(local);
  REQUIRE(tr->outputs.size() == 2);
  std::vector<execution::kind_output> stored;
  for (std::size_t i = 0; i < 2; ++i) {
    auto data = f.get_file(tr->outputs[i].cid);
    CHECK(tr->outputs[i].name == local->outputs[i].name);
    CHECK(tr->outputs[i].size == data.size());
    CHECK(data == local->outputs[i].data); // deterministic: same bytes as a local run
    stored.push_back({tr->outputs[i].name, std::move(data)});
  }
  CHECK(kind.check_outputs(t, {seg}, stored, {}));
}

TEST_CASE("bad tasks fail with their reason") {
  exec_fixture f;
  auto failed = [&](const task& t) { return !f.run(t).has_value(); };
  CHECK(failed(make_task(3, "mine", {}, {})));
  auto junk = f.h.ask<std::string>(f.storage(), caf::make_message(st_put_atom::value, bytes_t(5000, 0x42)));
  REQUIRE(junk);
  CHECK(failed(make_task(4, "transcode", {{"ladder", "default"}}, {*junk})));
  std::vector<param> ps{{"audio_rate", "48000"}, {"cpu", "sse2"},       {"gop", "48"},
                        {"ladder", "default"},   {"preset", "veryfast"}, {"threads", "1"}};
  CHECK(failed(make_task(5, "transcode", ps, {*junk}))); // not media
  auto missing = storage::cid::of(as_bytes(std::string("never stored"))).str();
  CHECK(failed(make_task(6, "compute", {{"iterations", "5"}}, {missing})));
  auto info = f.h.ask<executor_status>(f.executor(), caf::make_message(ex_info_atom::value));
  REQUIRE(info);
  CHECK(info->in_flight == 0);
  CHECK(info->failed == 4);
}

TEST_CASE("a batch of inline tasks is answered in order, bad ones with their reason") {
  exec_fixture f;
  auto enc = [](const task& t) {
    auto w = wire::encode(t);
    return bytes_t(w.begin(), w.end());
  };
  std::vector<task> good;
  for (std::uint64_t i = 0; i < 3; ++i)
    good.push_back(make_task(100 + i, "compute",
                             {{"iterations", "2"}, {"data", to_hex(as_bytes("in " + std::to_string(i)))}}, {}));
  auto stored = make_task(200, "compute", {{"iterations", "2"}}, {"bafkreiabc"});
  auto unknown = make_task(201, "mine-bitcoin", {}, {});
  std::vector<bytes_t> wires{enc(good[0]), bytes_t{1, 2, 3}, enc(good[1]), enc(stored), enc(unknown),
                             enc(good[2])};
  auto r = f.run_batch(wires);
  REQUIRE(r);
  auto& [results, poes, sigs, errors, der] = *r;
  REQUIRE(results.size() == 6);
  REQUIRE(errors.size() == 6);
  CHECK(der == f.h.key(0).pub().der());
  CHECK(errors[1].find("bad task") != std::string::npos);
  CHECK(errors[3].find("not an inline task") != std::string::npos);
  CHECK(errors[4].find("unknown task kind") != std::string::npos);
  for (std::size_t i : {std::size_t{1}, std::size_t{3}, std::size_t{4}}) CHECK(results[i].empty());
  std::size_t k = 0;
  for (std::size_t i : {std::size_t{0}, std::size_t{2}, std::size_t{5}}) {
    INFO("task " << i);
    CHECK(errors[i].empty());
    auto& t = good[k++];
    poe_v1_proof proof{t.id, f.h.key(0).id(), *hash256::from_view(poes[i]), sigs[i]};
    CHECK(poe_verify(f.h.key(0).pub(), t.id, results[i], proof) == poe_check::valid);
    auto tr = wire::decode_task_result(results[i]);
    REQUIRE(tr);
    CHECK(tr->id == t.id);
    CHECK(tr->outputs.empty());
    auto local = execution::find_kind("compute")->run(t, {});
    REQUIRE(local);
    CHECK(tr->facts == local->facts);
  }
  CHECK_FALSE(f.run_batch({})); // an empty batch is refused
}

TEST_CASE("tasks beyond execution.max-pending are refused with queue_full and slots come back") {
  exec_fixture f(3);
  auto batch = [](std::uint64_t from, std::size_t n) {
    std::vector<bytes_t> wires;
    for (std::uint64_t i = 0; i < n; ++i) {
      auto w = wire::encode(make_task(from + i, "compute",
                                      {{"iterations", "2"}, {"data", to_hex(as_bytes("q" + std::to_string(i)))}}, {}));
      wires.emplace_back(w.begin(), w.end());
    }
    return wires;
  };
  auto r = f.run_batch(batch(300, 5));
  REQUIRE(r);
  auto& errors = std::get<3>(*r);
  REQUIRE(errors.size() == 5);
  for (std::size_t i = 0; i < 3; ++i) CHECK(errors[i].empty());
  for (std::size_t i = 3; i < 5; ++i) {
    CHECK(errors[i].find("queue_full") != std::string::npos);
    CHECK(std::get<0>(*r)[i].empty());
  }
  // Answered: the three slots are free again.
  auto again = f.run_batch(batch(400, 3));
  REQUIRE(again);
  for (auto& e : std::get<3>(*again)) CHECK(e.empty());
}
