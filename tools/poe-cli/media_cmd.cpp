// poe-cli media probe | split | transcode — the execution role's media work, run locally
// (poe_media: FFmpeg's libraries in process). For checking a source before submitting it and
// for comparing outputs across machines: two honest nodes with the same settings print the
// same hashes.
//
//   poe-cli media probe FILE [--json]
//       what the source holds (read from every packet); exit 1 for non-media with the reason
//   poe-cli media split FILE --out DIR [--segment-ms 2000]
//       keyframe-aligned MPEG-TS segments by remuxing: DIR/seg-000.ts ...
//   poe-cli media transcode SEGMENT --out DIR [--ladder default|NAME:WxH:VKBPS:AKBPS,...]
//                           [--threads 1] [--cpu avx2|sse2] [--preset veryfast] [--gop 48]
//       one decode, every rendition encoded: DIR/<name>.ts; prints name, size, frames,
//       SHA-256 per rendition
// Exit codes: 0 ok, 1 refused (not media, encoder error), 2 usage.

#include "commands.hpp"
#include "poe/core/sha256.hpp"
#include "poe/media/media.hpp"
#include "tool_support.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

namespace poe::cli {

namespace {

template <class T>
T or_refuse(result<T> r, const std::string& what) {
  if (!r) tools::die(what + ": " + r.err().message, invalid);
  return std::move(r).value();
}

nlohmann::json facts_json(const media::media_facts& f) {
  return {{"container", f.container}, {"video_codec", f.video_codec}, {"width", f.width},
          {"height", f.height},       {"fps", std::to_string(f.fps_num) + "/" + std::to_string(f.fps_den)},
          {"frames", f.frames},       {"keyframes", f.keyframes},
          {"start_ms", f.start_ms},   {"duration_ms", f.duration_ms},
          {"audio_codec", f.audio_codec}, {"sample_rate", f.sample_rate},
          {"channels", f.channels},   {"bytes", f.bytes},
          {"bit_rate", f.bit_rate}};
}

void write_or_die(const std::filesystem::path& p, const bytes& data) {
  if (auto st = tools::write_file(p, data); !st) tools::die(st.err().message, invalid);
}

} // namespace

void add_media_commands(CLI::App& app) {
  auto* media_cmd = app.add_subcommand("media", "probe, split and transcode media locally");
  media_cmd->require_subcommand(1);
  struct args {
    std::string file, out, ladder = "default", cpu = "avx2", preset = "veryfast";
    bool json = false;
    std::int64_t segment_ms = 2000;
    int threads = 1, gop = 48;
  };
  auto a = std::make_shared<args>();

  auto* probe = media_cmd->add_subcommand("probe", "what a media file holds");
  probe->add_option("FILE", a->file, "media file")->required();
  probe->add_flag("--json", a->json, "print JSON");
  probe->callback([a] {
    auto data = tools::or_die(tools::read_file(a->file), "FILE", usage);
    auto f = or_refuse(media::probe(data), a->file);
    if (a->json) {
      std::cout << facts_json(f).dump(2) << "\n";
      return;
    }
    std::cout << f.container << ": " << f.video_codec << " " << f.width << "x" << f.height << " "
              << f.fps_num << "/" << f.fps_den << " fps, " << f.frames << " frames ("
              << f.keyframes << " keyframes), " << f.duration_ms << " ms";
    if (!f.audio_codec.empty())
      std::cout << "; " << f.audio_codec << " " << f.sample_rate << " Hz " << f.channels << " ch";
    std::cout << "; " << f.bit_rate / 1000 << " kb/s\n";
  });

  auto* split = media_cmd->add_subcommand("split", "keyframe-aligned MPEG-TS segments (remux)");
  split->add_option("FILE", a->file, "source media file")->required();
  split->add_option("--out", a->out, "directory for seg-NNN.ts")->required();
  split->add_option("--segment-ms", a->segment_ms, "minimum segment length")->capture_default_str();
  split->callback([a] {
    auto data = tools::or_die(tools::read_file(a->file), "FILE", usage);
    auto segs = or_refuse(media::split(data, a->segment_ms), a->file);
    std::filesystem::create_directories(a->out);
    for (std::size_t i = 0; i < segs.size(); ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "seg-%03zu.ts", i);
      write_or_die(std::filesystem::path(a->out) / name, segs[i].data);
      std::cout << name << " start " << segs[i].start_ms << " ms, " << segs[i].duration_ms
                << " ms, " << segs[i].frames << " frames, " << segs[i].data.size() << " bytes\n";
    }
  });

  auto* tc = media_cmd->add_subcommand("transcode", "a segment into a ladder (one decode)");
  tc->add_option("SEGMENT", a->file, "segment (or any media file)")->required();
  tc->add_option("--out", a->out, "directory for NAME.ts per rendition")->required();
  tc->add_option("--ladder", a->ladder, "default, or NAME:WxH:VKBPS:AKBPS,...")->capture_default_str();
  tc->add_option("--threads", a->threads, "encoder/decoder threads (pinned)")->capture_default_str();
  tc->add_option("--cpu", a->cpu, "CPU level: avx2 or sse2 (pinned SIMD paths)")->capture_default_str();
  tc->add_option("--preset", a->preset, "x264 preset")->capture_default_str();
  tc->add_option("--gop", a->gop, "maximum keyframe interval (frames)")->capture_default_str();
  tc->callback([a] {
    auto ladder = media::parse_ladder(a->ladder);
    if (!ladder) tools::die("--ladder: " + ladder.err().message, usage);
    media::encode_settings s;
    s.preset = a->preset;
    s.threads = a->threads;
    s.cpu = a->cpu;
    s.gop = a->gop;
    auto data = tools::or_die(tools::read_file(a->file), "SEGMENT", usage);
    auto outs = or_refuse(media::transcode(data, *ladder, s), a->file);
    std::filesystem::create_directories(a->out);
    for (auto& o : outs) {
      write_or_die(std::filesystem::path(a->out) / (o.r.name + ".ts"), o.data);
      std::cout << o.r.name << " " << o.r.width << "x" << o.r.height << " " << o.frames
                << " frames " << o.data.size() << " bytes sha256 "
                << sha256::digest(o.data).hex() << "\n";
    }
  });
}

} // namespace poe::cli
