// The execution role's task kinds through their one interface (no actors).
//
// Scenarios:
//  1. The registry holds the kinds found in actors/execution/kinds/ (compute, transcode).
//  2. compute: an iterated SHA-256 with a known answer; parameters checked; outputs checked.
//  3. transcode: a segment (made with the ffmpeg CLI, split by poe_media) into a two-rung
//     ladder, deterministic; the cheap checks pass for the real outputs and fail for lazy
//     ones; a task without every byte-affecting setting, with an unknown parameter or a bad
//     ladder is refused before any work; non-media input fails with the reason.
#include "poe/core/sha256.hpp"
#include "poe/media/media.hpp"
#include "task_kind.hpp"
#include "../media_clip.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <unistd.h>

using namespace poe;
using namespace poe::execution;

namespace {

task make_task(std::string kind, std::vector<param> params, std::size_t inputs = 1) {
  task t;
  t.kind = std::move(kind);
  std::sort(params.begin(), params.end(), [](auto& a, auto& b) { return a.key < b.key; });
  t.params = std::move(params);
  for (std::size_t i = 0; i < inputs; ++i) t.inputs.push_back("bafkreiinput" + std::to_string(i));
  return t;
}

const bytes& segment() {
  static bytes seg = [] {
    auto segs = media::split(test::test_clip(2, 24), 1000);
    REQUIRE(segs);
    return (*segs)[0].data;
  }();
  return seg;
}

std::vector<param> transcode_params() {
  return {{"audio_rate", "48000"}, {"cpu", media::cpu_supported("avx2") ? "avx2" : "sse2"},
          {"gop", "48"},          {"ladder", "240p:426x240:400:64,144p:256x144:200:48"},
          {"preset", "veryfast"}, {"threads", "1"}};
}

} // namespace

TEST_CASE("the registry holds every kind folder") {
  CHECK(kind_names() == std::vector<std::string>{"compute", "transcode"});
  REQUIRE(find_kind("compute"));
  CHECK(find_kind("compute")->name() == "compute");
  CHECK_FALSE(find_kind("mine-bitcoin"));
}

TEST_CASE("compute: an iterated SHA-256 with a known answer") {
  auto& k = *find_kind("compute");
  const std::string text = "useful work";
  auto input = as_bytes(text);
  auto t = make_task("compute", {{"iterations", "3"}});
  REQUIRE(k.check(t));
  auto r = k.run(t, {bytes(input.begin(), input.end())});
  REQUIRE(r);
  auto want = sha256::digest(sha256::digest(sha256::digest(input).view()).view());
  REQUIRE(r->outputs.size() == 1);
  CHECK(r->outputs[0].name == "digest");
  CHECK(r->outputs[0].data == bytes(want.data.begin(), want.data.end()));
  CHECK(r->work_units == 3);
  CHECK(k.check_outputs(t, {}, r->outputs, {}));
  CHECK_FALSE(k.check_outputs(t, {}, {{"digest", bytes(31)}}, {}));
  CHECK_FALSE(k.check(make_task("compute", {})));
  CHECK_FALSE(k.check(make_task("compute", {{"iterations", "0"}})));
  CHECK_FALSE(k.check(make_task("compute", {{"iterations", "12abc"}})));
  CHECK_FALSE(k.check(make_task("compute", {{"iterations", "5"}, {"zeal", "1"}})));
  CHECK_FALSE(k.check(make_task("compute", {{"iterations", "5"}}, 2)));
}

TEST_CASE("compute: inline data, the digest in the facts, nothing in storage") {
  auto& k = *find_kind("compute");
  const std::string text = "useful work";
  auto input = as_bytes(text);
  auto t = make_task("compute", {{"iterations", "2"}, {"data", to_hex(input)}}, 0);
  REQUIRE(k.check(t));
  auto r = k.run(t, {});
  REQUIRE(r);
  auto want = sha256::digest(sha256::digest(input).view());
  CHECK(r->outputs.empty());
  REQUIRE(r->facts.size() == 3);
  CHECK(r->facts[0].key == "digest");
  CHECK(r->facts[0].value == want.hex());
  CHECK(std::is_sorted(r->facts.begin(), r->facts.end(),
                       [](auto& a, auto& b) { return a.key < b.key; }));
  CHECK(k.check_outputs(t, {}, r->outputs, r->facts));
  // The same data from a stored input gives the same digest (as an output file).
  auto stored = k.run(make_task("compute", {{"iterations", "2"}}), {bytes(input.begin(), input.end())});
  REQUIRE(stored);
  CHECK(stored->outputs.at(0).data == bytes(want.data.begin(), want.data.end()));
  // Cheap checks: a digest that is not 32 bytes of hex, or an output file, is refused.
  CHECK_FALSE(k.check_outputs(t, {}, {}, {{"digest", "abc"}}));
  CHECK_FALSE(k.check_outputs(t, {}, {}, {}));
  CHECK_FALSE(k.check_outputs(t, {}, {{"digest", bytes(32)}}, r->facts));
  // Refused before running: inline data with an input CID, data that is not hex, too much.
  CHECK_FALSE(k.check(make_task("compute", {{"iterations", "2"}, {"data", "00"}}, 1)));
  CHECK_FALSE(k.check(make_task("compute", {{"iterations", "2"}, {"data", "zz"}}, 0)));
  CHECK_FALSE(k.check(make_task("compute", {{"iterations", "2"}, {"data", std::string(8194, 'a')}}, 0)));
  CHECK(k.check(make_task("compute", {{"iterations", "2"}, {"data", std::string(8192, 'a')}}, 0)));
  CHECK_FALSE(k.check(make_task("compute", {{"iterations", "2"}}, 0)));
}

TEST_CASE("transcode: deterministic ladder, cheap checks, pinned settings") {
  auto& k = *find_kind("transcode");
  auto t = make_task("transcode", transcode_params());
  REQUIRE(k.check(t));
  auto a = k.run(t, {segment()});
  REQUIRE(a);
  auto b = k.run(t, {segment()});
  REQUIRE(b);
  REQUIRE(a->outputs.size() == 2);
  CHECK(a->outputs[0].name == "240p.ts");
  CHECK(a->outputs[1].name == "144p.ts");
  for (std::size_t i = 0; i < 2; ++i) CHECK(a->outputs[i].data == b->outputs[i].data);
  CHECK(a->facts == b->facts);
  CHECK(a->work_units == 48); // 24 frames × 2 renditions
  CHECK(std::is_sorted(a->facts.begin(), a->facts.end(),
                       [](auto& x, auto& y) { return x.key < y.key; }));
  auto st = k.check_outputs(t, {segment()}, a->outputs, {});
  INFO((st ? std::string("ok") : st.err().message));
  CHECK(st);

  // Lazy: the input copied as every output; or the outputs swapped; or one missing.
  std::vector<kind_output> lazy{{"240p.ts", segment()}, {"144p.ts", segment()}};
  auto lz = k.check_outputs(t, {segment()}, lazy, {});
  REQUIRE_FALSE(lz);
  CHECK(lz.err().message.find("resolution") != std::string::npos);
  std::vector<kind_output> swapped{{"240p.ts", a->outputs[1].data}, {"144p.ts", a->outputs[0].data}};
  CHECK_FALSE(k.check_outputs(t, {segment()}, swapped, {}));
  CHECK_FALSE(k.check_outputs(t, {segment()}, {a->outputs[0]}, {}));

  // Every byte-affecting setting must be pinned; nothing unknown; a valid ladder.
  for (auto& drop : transcode_params()) {
    std::vector<param> ps;
    for (auto& p : transcode_params())
      if (p.key != drop.key) ps.push_back(p);
    auto missing = k.check(make_task("transcode", ps));
    REQUIRE_FALSE(missing);
    CHECK(missing.err().message.find("'" + drop.key + "' is missing") != std::string::npos);
  }
  auto extra = transcode_params();
  extra.push_back({"crf", "23"});
  CHECK_FALSE(k.check(make_task("transcode", extra)));
  auto bad_ladder = transcode_params();
  bad_ladder[3].value = "240p:425x240:400:64"; // odd width
  CHECK_FALSE(k.check(make_task("transcode", bad_ladder)));
  auto auto_threads = transcode_params();
  auto_threads[5].value = "0";
  CHECK_FALSE(k.check(make_task("transcode", auto_threads)));
  auto not_media = k.run(t, {bytes(1000, 0x42)});
  REQUIRE_FALSE(not_media);
  CHECK(not_media.err().message.find("not a media file") != std::string::npos);
}
