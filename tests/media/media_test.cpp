// poe_media on real FFmpeg: a clip made with the ffmpeg CLI (testsrc2 + a sine tone, H.264 +
// AAC in MP4, a keyframe every second) is probed, split and transcoded in process.
//
// Scenarios:
//  1. Probing reports codec, size, frames and duration from the packets; non-media, empty,
//     truncated and audio-only inputs are refused with a reason.
//  2. Splitting remuxes into MPEG-TS segments that start on keyframes, last at least the
//     target, and together hold every frame.
//  3. Transcoding a segment into a ladder is deterministic (the same bytes twice), each output
//     passes the verifier's cheap checks, and lazy outputs fail them: the input copied, the
//     wrong rendition, a truncated output.
#include "poe/core/sha256.hpp"
#include "poe/media/media.hpp"
#include "../media_clip.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <unistd.h>

using namespace poe;
using namespace poe::media;

namespace {

/// Makes a clip with the ffmpeg CLI.
bytes clip(const std::string& name, const std::string& args) { return test::ffmpeg_clip(name, args); }

const bytes& source() {
  static bytes b = clip("clip.mp4",
                        "-f lavfi -i testsrc2=size=640x360:rate=24 -f lavfi -i "
                        "sine=frequency=440:sample_rate=44100 -t 4 -c:v libx264 -preset "
                        "ultrafast -g 24 -pix_fmt yuv420p -c:a aac -b:a 96k -shortest");
  return b;
}

const std::vector<rendition> small_ladder{{"240p", 426, 240, 400, 64}, {"144p", 256, 144, 200, 48}};

} // namespace

TEST_CASE("probe reads the facts from the packets and refuses what is not media") {
  auto f = probe(source());
  REQUIRE(f);
  CHECK(f->video_codec == "h264");
  CHECK(f->width == 640);
  CHECK(f->height == 360);
  CHECK(f->fps_num == 24);
  CHECK(f->frames == 96);
  CHECK(f->keyframes == 4);
  CHECK(f->duration_ms == 4000);
  CHECK(f->audio_codec == "aac");
  CHECK(f->sample_rate == 44100);

  auto refused = [](byte_view data, const std::string& why) {
    auto r = probe(data);
    REQUIRE_FALSE(r);
    INFO(r.err().message);
    CHECK(r.err().message.find(why) != std::string::npos);
  };
  refused({}, "not a media file");
  refused(as_bytes(std::string("hello, this is a text file, not a video at all\n")),
          "not a media file");
  bytes noise(100'000);
  std::uint32_t x = 7;
  for (auto& b : noise) b = static_cast<std::uint8_t>((x = x * 1103515245u + 12345u) >> 24);
  refused(noise, "not a media file");
  auto half = source();
  half.resize(half.size() / 2); // MP4 with its index at the end cut off
  CHECK_FALSE(probe(half));
  auto audio_only = clip("tone.m4a", "-f lavfi -i sine=frequency=440 -t 1 -c:a aac");
  refused(audio_only, "no video stream");
}

TEST_CASE("split remuxes into keyframe-aligned MPEG-TS segments holding every frame") {
  auto src = probe(source());
  REQUIRE(src);
  auto segs = split(source(), 2000);
  REQUIRE(segs);
  REQUIRE(segs->size() == 2);
  std::int64_t frames = 0, duration = 0;
  for (auto& s : *segs) {
    auto f = probe(s.data);
    REQUIRE(f);
    CHECK(f->container == "mpegts");
    CHECK(f->video_codec == "h264");
    CHECK(f->frames == s.frames);
    CHECK(f->keyframes >= 1);
    CHECK(s.duration_ms >= 2000);
    CHECK(f->audio_codec == "aac");
    frames += s.frames;
    duration += s.duration_ms;
  }
  CHECK(frames == src->frames);
  CHECK(duration == src->duration_ms);
  CHECK((*segs)[1].start_ms == (*segs)[0].start_ms + (*segs)[0].duration_ms);
  CHECK_FALSE(split(source(), 0));
  CHECK_FALSE(split(as_bytes(std::string("not media")), 2000));
}

TEST_CASE("a ladder transcode is deterministic and passes the cheap checks, lazy outputs fail") {
  auto segs = split(source(), 2000);
  REQUIRE(segs);
  auto& seg = (*segs)[1];
  auto seg_facts = probe(seg.data);
  REQUIRE(seg_facts);
  encode_settings s; // veryfast, 1 thread, avx2 when this CPU has it
  if (!cpu_supported(s.cpu)) s.cpu = "sse2";
  auto a = transcode(seg.data, small_ladder, s);
  REQUIRE(a);
  auto b = transcode(seg.data, small_ladder, s);
  REQUIRE(b);
  REQUIRE(a->size() == small_ladder.size());
  for (std::size_t i = 0; i < a->size(); ++i) {
    INFO((*a)[i].r.name);
    CHECK(sha256::digest((*a)[i].data) == sha256::digest((*b)[i].data));
    auto f = check_output((*a)[i].data, small_ladder[i], *seg_facts);
    INFO((f ? std::string("ok") : f.err().message));
    REQUIRE(f);
    CHECK(f->container == "mpegts");
    CHECK(f->start_ms == seg_facts->start_ms); // timestamps continue the source's
  }
  // Lazy or wrong outputs fail the cheap checks, each with its reason.
  auto fails = [&](byte_view out, const rendition& r, const std::string& why) {
    auto f = check_output(out, r, *seg_facts);
    REQUIRE_FALSE(f);
    INFO(f.err().message);
    CHECK(f.err().message.find(why) != std::string::npos);
  };
  fails(seg.data, small_ladder[0], "resolution 640x360");          // the input copied
  fails((*a)[1].data, small_ladder[0], "resolution 256x144");       // another rendition
  auto cut = (*a)[0].data;
  cut.resize(cut.size() / 2);
  fails(cut, small_ladder[0], "frames");                            // half of it
  fails(as_bytes(std::string("junk")), small_ladder[0], "does not decode");

  SECTION("unsupported settings are refused") {
    auto bad = s;
    bad.threads = 0;
    CHECK_FALSE(transcode(seg.data, small_ladder, bad));
    bad = s;
    bad.cpu = "avx9000";
    CHECK_FALSE(transcode(seg.data, small_ladder, bad));
    CHECK_FALSE(transcode(seg.data, {{"odd", 321, 240, 300, 64}}, s));
  }
}

TEST_CASE("the ladder is fitted to the source: aspect kept, never upscaled") {
  auto sizes = [](const std::vector<rendition>& l) {
    std::string out;
    for (auto& r : l)
      out += (out.empty() ? "" : ",") + r.name + ":" + std::to_string(r.width) + "x" +
             std::to_string(r.height) + "@" + std::to_string(r.video_kbps);
    return out;
  };
  auto ladder = default_ladder();
  // 16:9 at 720p: the ladder as given.
  CHECK(sizes(fit_ladder(ladder, 1280, 720)) == "720p:1280x720@2500,480p:854x480@1200,360p:640x360@600");
  CHECK(sizes(fit_ladder(ladder, 1920, 1080)) == "720p:1280x720@2500,480p:854x480@1200,360p:640x360@600");
  // Portrait: each box turned upright (this was squashed into 1280x720 before).
  CHECK(sizes(fit_ladder(ladder, 720, 1280)) == "720p:720x1280@2500,480p:480x854@1200,360p:360x640@600");
  // Smaller than the top rungs: no upscaling; the rungs that would all be 640x360 keep the
  // one whose box fits (360p at its own rate), a 64x64 source one tiny rung.
  CHECK(sizes(fit_ladder(ladder, 640, 360)) == "360p:640x360@600");
  CHECK(sizes(fit_ladder(ladder, 854, 480)) == "480p:854x480@1200,360p:640x360@600");
  CHECK(sizes(fit_ladder(ladder, 64, 64)) == "360p:64x64@64");
  // 4:3 in 16:9 boxes: pillarboxed sizes, bit rates by pixels.
  CHECK(sizes(fit_ladder(ladder, 960, 720)) == "720p:960x720@1875,480p:640x480@899,360p:480x360@450");
  // Non-square pixels (PAL 16:15): displayed 768x576, output in square pixels.
  CHECK(sizes(fit_ladder(ladder, 720, 576, 16, 15)) == "720p:768x576@1200,480p:640x480@899,360p:480x360@450");
}

TEST_CASE("a portrait source is transcoded upright into its fitted ladder") {
  auto portrait = clip("portrait.mp4", "-f lavfi -i testsrc2=size=360x640:rate=24 -t 1 -c:v libx264 "
                                        "-preset ultrafast -g 24 -pix_fmt yuv420p");
  auto facts = probe(portrait);
  REQUIRE(facts);
  CHECK(facts->width == 360);
  CHECK(facts->sar_num == 1);
  auto fitted = fit_ladder(small_ladder, facts->width, facts->height, facts->sar_num, facts->sar_den);
  REQUIRE(fitted.size() == 2);
  CHECK(fitted[0].width == 240);
  CHECK(fitted[0].height == 426);
  auto segs = split(portrait, 2000);
  REQUIRE(segs);
  auto seg_facts = probe((*segs)[0].data);
  REQUIRE(seg_facts);
  encode_settings s;
  if (!cpu_supported(s.cpu)) s.cpu = "sse2";
  auto outs = transcode((*segs)[0].data, fitted, s);
  REQUIRE(outs);
  for (std::size_t i = 0; i < outs->size(); ++i) {
    auto f = check_output((*outs)[i].data, fitted[i], *seg_facts);
    INFO((f ? std::string("ok") : f.err().message));
    REQUIRE(f);
    CHECK(f->height > f->width); // upright, not squashed into 16:9
  }
}
