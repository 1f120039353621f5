// poe-bench media — ladder throughput of the execution role (the actor with its worker
// threads, inputs and outputs through a storage role, PoE v1 answers) and of poe_media (its
// transcoder, called directly) against the ffmpeg CLI on the same segments, settings and
// thread count, in one run with alternating order; and the execution role with two workers
// on two cores against one.
//
//   poe-bench media [--seconds 10] [--rounds 3] [--ladder default]
//
// The source: a 1280x720 30 fps clip (testsrc2 + a sine tone, H.264 + AAC) made with the ffmpeg
// CLI, split by poe_media into 2 s segments. Both sides decode each segment once and encode
// the default ladder (720p 2.5 Mb/s, 480p 1.2 Mb/s, 360p 0.6 Mb/s; veryfast; 1 thread; AVX2
// CPU level; bitexact scaling) into MPEG-TS. Figures: realtime factor (media seconds per wall
// second; the anchor: 1.28x for the CLI on this machine kind) and the ratio
// ours / ffmpeg CLI (goal >= 0.95).
#include <CLI/CLI.hpp>
#include "poe/actors/roles.hpp"
#include "poe/core/keys.hpp"
#include "poe/media/media.hpp"
#include "poe/runtime/log.hpp"
#include "poe/runtime/directory.hpp"
#include "poe/runtime/messages.hpp"
#include "poe/runtime/metrics.hpp"
#include "poe/runtime/settings.hpp"
#include "poe/storage/manifest.hpp"
#include "poe/store/store.hpp"
#include "poe/wire/codec.hpp"

#include "figures.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using clk = std::chrono::steady_clock;
using namespace poe;

namespace {

using bytes_t = std::vector<std::uint8_t>;

double seconds_since(clk::time_point t0) {
  return std::chrono::duration<double>(clk::now() - t0).count();
}

std::string cli_command(const fs::path& in, const fs::path& out_dir,
                        const std::vector<media::rendition>& ladder,
                        const media::encode_settings& s) {
  const std::string scale_flags = "bicubic+bitexact+accurate_rnd+full_chroma_int";
  const std::string cpuflags = s.cpu == "avx2"
                                 ? "mmx+mmxext+sse+sse2+cmov+sse3+ssse3+sse4.1+sse4.2+avx+fma3+bmi1+bmi2+avx2"
                                 : "mmx+mmxext+sse+sse2+cmov";
  const std::string x264_asm = media::x264_asm_flags(s.cpu);
  std::string graph = "[0:v]split=" + std::to_string(ladder.size());
  for (std::size_t i = 0; i < ladder.size(); ++i) graph += "[s" + std::to_string(i) + "]";
  for (std::size_t i = 0; i < ladder.size(); ++i)
    graph += ";[s" + std::to_string(i) + "]scale=" + std::to_string(ladder[i].width) + ":" +
             std::to_string(ladder[i].height) + ":flags=" + scale_flags + "[v" +
             std::to_string(i) + "]";
  auto t = std::to_string(s.threads);
  std::string cmd = "ffmpeg -nostdin -v error -y -cpuflags " + cpuflags + " -threads " + t +
                    " -i '" + in.string() + "' -filter_complex '" + graph +
                    "' -filter_threads " + t + " -filter_complex_threads " + t;
  for (std::size_t i = 0; i < ladder.size(); ++i) {
    auto& r = ladder[i];
    auto kbps = [](int k) { return std::to_string(k) + "k"; };
    cmd += " -map '[v" + std::to_string(i) + "]' -map 0:a? -c:v libx264 -preset " + s.preset +
           " -threads " + t + " -b:v " + kbps(r.video_kbps) + " -maxrate " +
           kbps(r.video_kbps * 3 / 2) + " -bufsize " + kbps(r.video_kbps * 2) + " -g " +
           std::to_string(s.gop) + " -x264-params asm=" + x264_asm + " -c:a aac -b:a " +
           kbps(std::max(r.audio_kbps, 32)) + " -ar " + std::to_string(s.audio_rate) +
           " -ac 2 -fflags +bitexact -flags:v +bitexact -flags:a +bitexact '" +
           (out_dir / (r.name + ".ts")).string() + "'";
  }
  return cmd;
}

bytes read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// The execution role in this process with `workers` worker threads, a storage role beside it
/// (a fresh RocksDB store in `dir`) and a directory that names that storage role. Every
/// segment is stored first; then one transcode task per segment (the settings pinned as the
/// verifier pins them) is sent at once, and the wall time until every answer (result, PoE v1,
/// signature) is back is returned.
double through_execution_role(caf::actor_system& sys, const fs::path& dir, int workers,
                              const std::vector<media::segment>& segs, const std::string& ladder,
                              const media::encode_settings& s) {
  using namespace poe::runtime;
  auto db = store::db::open(dir, {"storage"});
  if (!db) throw std::runtime_error("store: " + db.err().message);
  auto settings = std::make_shared<node_settings>();
  settings->options.storage.replicas = 1;
  settings->options.storage.acks = 1;
  settings->options.storage.challenge_interval_ms = 0;
  settings->options.execution.workers = static_cast<std::size_t>(workers);
  auto key = private_key::generate(key_type::ed25519);
  if (!key) throw std::runtime_error("key: " + key.err().message);
  role_context ctx;
  ctx.node_name = "bench";
  ctx.node_id = key->id().hex();
  ctx.key = std::make_shared<const private_key>(*key);
  ctx.chain_id = "poe-bench";
  // One process: every sender is this node's own (no peer connections).
  ctx.peers = std::make_shared<peer_registry>(ctx.node_id);
  ctx.connection_of = caf_connection_key(sys);
  ctx.log = make_node_logger("bench", "warn");
  ctx.metrics = &metrics::noop_factory();
  ctx.settings = settings;
  ctx.store = &*db;
  // The directory answers lookups of "storage" with the storage role below.
  auto storage_slot = std::make_shared<caf::actor>();
  auto node = ctx.node_id;
  ctx.directory = sys.spawn([=](caf::event_based_actor*) -> caf::behavior {
    return {[](subscribe_atom, const std::string&) {},
            [=](lookup_atom, const std::string& role) {
              return role == "storage" ? std::vector<role_entry>{{"storage", node, *storage_slot}}
                                       : std::vector<role_entry>{};
            }};
  });
  auto storage_ctx = ctx;
  storage_ctx.role = "storage";
  auto storage_body = actors::storage_role().body;
  auto storage = sys.spawn([=](caf::event_based_actor* a) { return storage_body(a, storage_ctx); });
  *storage_slot = storage;
  ctx.role = "execution";
  auto exec_body = actors::execution_role().body;
  auto exec = sys.spawn([=](caf::event_based_actor* a) { return exec_body(a, ctx); });
  caf::scoped_actor self{sys};
  auto fail_with = [&sys](const std::string& what) {
    return [what, &sys](caf::error& e) { throw std::runtime_error(what + ": " + sys.render(e)); };
  };
  std::vector<task> tasks;
  for (std::size_t i = 0; i < segs.size(); ++i) {
    storage::manifest_builder mb("video/mp2t");
    auto& data = segs[i].data;
    for (std::size_t at = 0; at < data.size(); at += storage::default_chunk_size) {
      auto end = std::min(data.size(), at + storage::default_chunk_size);
      bytes_t chunk(data.begin() + static_cast<long>(at), data.begin() + static_cast<long>(end));
      if (auto st = mb.add(chunk); !st) throw std::runtime_error(st.err().message);
      self->request(storage, std::chrono::seconds(30), st_put_atom::value, chunk)
        .receive([](const std::string&) {}, fail_with("storing a chunk"));
    }
    auto m = storage::encode(std::move(mb).finish());
    std::string cid;
    self
      ->request(storage, std::chrono::seconds(30), st_putm_atom::value,
                bytes_t(m.begin(), m.end()), std::string("bench"))
      .receive([&](const std::string& id) { cid = id; }, fail_with("storing a manifest"));
    task t;
    t.id.data[0] = static_cast<std::uint8_t>(i + 1);
    t.kind = "transcode";
    t.params = {{"audio_rate", std::to_string(s.audio_rate)},
                {"cpu", s.cpu},
                {"gop", std::to_string(s.gop)},
                {"ladder", ladder},
                {"preset", s.preset},
                {"threads", std::to_string(s.threads)}};
    t.inputs = {cid};
    t.submitter = key->id();
    tasks.push_back(std::move(t));
  }
  // All tasks at once, each authorized by this node's key (its own verifier): the role queues
  // them for its workers; the answers are collected after (a refusal is an error at once).
  auto t0 = clk::now();
  std::vector<decltype(self->request(exec, std::chrono::minutes(10), ex_run_atom::value, bytes_t{}, bytes_t{}))> pending;
  for (auto& t : tasks) {
    auto w = wire::encode(t);
    auto auth = wire::encode(authorize_tasks(*key, ctx.chain_id, {w}));
    pending.push_back(self->request(exec, std::chrono::minutes(10), ex_run_atom::value,
                                    bytes_t(w.begin(), w.end()), bytes_t(auth.begin(), auth.end())));
  }
  for (auto& answer : pending)
    answer.receive([](bytes_t&, bytes_t&, bytes_t&, bytes_t&) {}, fail_with("execution role"));
  auto elapsed = seconds_since(t0);
  for (auto& a : {exec, storage, ctx.directory}) {
    self->monitor(a);
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    self->receive([](const caf::down_msg&) {});
  }
  return elapsed;
}

} // namespace

int run_media(int argc, char** argv, const std::string&) {
  int seconds = 10, rounds = 3;
  CLI::App app{"poe-bench media: ladder transcoding by the execution role and poe_media vs the ffmpeg CLI"};
  app.add_option("--seconds", seconds, "length of the test clip (s)")->check(CLI::Range(1, 600))->capture_default_str();
  app.add_option("--rounds", rounds, "rounds (the median is reported)")->check(CLI::Range(1, 100))->capture_default_str();
  try {
    app.parse(argc, argv); // unknown flags and values out of range are refused
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto dir = fs::temp_directory_path() / ("poe-bench-media-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  int rc = 0;
  try {
    auto clip = dir / "clip.mp4";
    auto make = "ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi "
                "-i sine=frequency=440:sample_rate=48000 -t " + std::to_string(seconds) +
                " -c:v libx264 -preset ultrafast -g 60 -pix_fmt yuv420p -c:a aac -shortest '" +
                clip.string() + "'";
    if (std::system(make.c_str()) != 0) throw std::runtime_error("ffmpeg could not make the clip");
    auto segs = media::split(read_all(clip), 2000);
    if (!segs) throw std::runtime_error("split: " + segs.err().message);
    std::vector<fs::path> files;
    double media_s = 0;
    std::int64_t frames = 0;
    for (std::size_t i = 0; i < segs->size(); ++i) {
      auto p = dir / ("seg-" + std::to_string(i) + ".ts");
      std::ofstream(p, std::ios::binary)
        .write(reinterpret_cast<const char*>((*segs)[i].data.data()),
               static_cast<std::streamsize>((*segs)[i].data.size()));
      files.push_back(p);
      media_s += static_cast<double>((*segs)[i].duration_ms) / 1000.0;
      frames += (*segs)[i].frames;
    }
    auto ladder = media::default_ladder();
    media::encode_settings s;
    if (!media::cpu_supported(s.cpu)) s.cpu = "sse2";

    auto ours = [&] {
      auto t0 = clk::now();
      for (auto& seg : *segs)
        if (auto out = media::transcode(seg.data, ladder, s); !out)
          throw std::runtime_error("transcode: " + out.err().message);
      return seconds_since(t0);
    };
    auto cli = [&] {
      auto t0 = clk::now();
      for (std::size_t i = 0; i < files.size(); ++i) {
        auto out = dir / ("cli-" + std::to_string(i));
        fs::create_directories(out);
        if (std::system(cli_command(files[i], out, ladder, s).c_str()) != 0)
          throw std::runtime_error("the ffmpeg CLI failed on " + files[i].string());
      }
      return seconds_since(t0);
    };
    // The execution role (CAF actors in this process; the clip's segments are its tasks).
    caf::actor_system_config cfg;
    runtime::register_messages(cfg);
    cfg.set("logger.verbosity", caf::atom("quiet"));
    caf::actor_system sys{cfg};
    int role_runs = 0;
    auto role = [&](int workers) {
      return through_execution_role(sys, dir / ("role-" + std::to_string(role_runs++)), workers,
                                    *segs, media::ladder_spec(ladder), s);
    };

    std::vector<double> t_ours, t_cli, t_one, t_two;
    for (int r = 0; r < rounds; ++r) {
      if (r % 2 == 0) {
        t_ours.push_back(ours());
        t_cli.push_back(cli());
      } else {
        t_cli.push_back(cli());
        t_ours.push_back(ours());
      }
      t_one.push_back(role(1));
      t_two.push_back(role(2));
    }
    auto med = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    double o = med(t_ours), c = med(t_cli), one = med(t_one), two = med(t_two);
    std::printf("media bench: %zu segments of 2 s (%.0f s of 1280x720 30 fps, %lld frames), "
                "ladder 720p/480p/360p %s, %d thread, CPU level %s; median of %d rounds\n",
                segs->size(), media_s, static_cast<long long>(frames), s.preset.c_str(),
                s.threads, s.cpu.c_str(), rounds);
    std::printf("%-36s %8s %10s %10s\n", "", "wall s", "realtime", "frames/s");
    // Realtime factors: media seconds per wall second.
    auto rt_c = media_s / c, rt_o = media_s / o, rt_one = media_s / one, rt_two = media_s / two;
    std::printf("%-36s %8.2f %9.2fx %10.1f\n", "ffmpeg CLI (anchor)", c, rt_c, frames / c);
    std::printf("%-36s %8.2f %9.2fx %10.1f   %5.2fx the CLI (goal >= 0.95)\n",
                "poe_media transcode (in process)", o, rt_o, frames / o, c / o);
    bench::figure("media", "poe_media transcode, realtime factor", rt_o, "x realtime", "ffmpeg CLI, same run",
                  rt_c, ">= 0.95");
    std::printf("%-36s %8.2f %9.2fx %10.1f   %5.2fx the CLI (goal >= 0.95)\n",
                "execution role, 1 worker", one, rt_one, frames / one, c / one);
    bench::figure("media", "execution role 1 worker, realtime factor", rt_one, "x realtime",
                  "ffmpeg CLI, same run", rt_c, ">= 0.95");
    std::printf("%-36s %8.2f %9.2fx %10.1f   %5.2fx one worker\n", "execution role, 2 workers (2 cores)",
                two, rt_two, frames / two, one / two);
    bench::figure("media", "execution role 2 workers, realtime factor", rt_two, "x realtime",
                  "execution role 1 worker, same run", rt_one);
    std::printf("(issue anchor: the ffmpeg CLI at 1.28x realtime for this ladder on one thread)\n");
    bench::figure("media", "ffmpeg CLI, realtime factor", rt_c, "x realtime",
                  "issue anchor (ffmpeg CLI, this machine kind)", 1.28);
  } catch (const std::exception& e) {
    std::cerr << "media bench: " << e.what() << "\n";
    rc = 1;
  }
  fs::remove_all(dir);
  return rc;
}
