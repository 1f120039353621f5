#include "poe/media/media.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/cpu.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>

namespace poe::media {

namespace {

// ---------------------------------------------------------------- small helpers

std::string av_error(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

error bad(const std::string& what) {
  return error{errc::invalid_argument, what};
}

error bad(const std::string& what, int code) {
  return error{errc::invalid_argument, what + ": " + av_error(code)};
}

/// FFmpeg's own log goes quiet: every failure reaches the caller as an error instead.
void quiet_ffmpeg() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_level(AV_LOG_QUIET); });
}

std::int64_t to_ms(std::int64_t ts, AVRational tb) {
  return av_rescale_q(ts, tb, AVRational{1, 1000});
}

struct codec_ctx_deleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
using codec_ctx = std::unique_ptr<AVCodecContext, codec_ctx_deleter>;
struct frame_deleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
using frame_ptr = std::unique_ptr<AVFrame, frame_deleter>;
struct packet_deleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
using packet_ptr = std::unique_ptr<AVPacket, packet_deleter>;
struct sws_deleter {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
struct swr_deleter {
  void operator()(SwrContext* s) const { swr_free(&s); }
};
struct fifo_deleter {
  void operator()(AVAudioFifo* f) const { av_audio_fifo_free(f); }
};

// ---------------------------------------------------------------- input from memory

struct input {
  byte_view data;
  std::int64_t pos = 0;
  AVIOContext* io = nullptr;
  AVFormatContext* fmt = nullptr;
  int v = -1, a = -1; ///< the video stream (always found) and the audio stream (-1: none)

  input() = default;
  input(const input&) = delete;
  input& operator=(const input&) = delete;
  ~input() {
    if (fmt) avformat_close_input(&fmt);
    if (io) {
      av_freep(&io->buffer);
      avio_context_free(&io);
    }
  }

  static int read(void* opaque, std::uint8_t* buf, int size) {
    auto* in = static_cast<input*>(opaque);
    auto left = static_cast<std::int64_t>(in->data.size()) - in->pos;
    if (left <= 0) return AVERROR_EOF;
    auto n = static_cast<int>(std::min<std::int64_t>(size, left));
    std::memcpy(buf, in->data.data() + in->pos, static_cast<std::size_t>(n));
    in->pos += n;
    return n;
  }

  static std::int64_t seek(void* opaque, std::int64_t offset, int whence) {
    auto* in = static_cast<input*>(opaque);
    auto size = static_cast<std::int64_t>(in->data.size());
    whence &= ~AVSEEK_FORCE;
    std::int64_t to = 0;
    switch (whence) {
      case AVSEEK_SIZE: return size;
      case SEEK_SET: to = offset; break;
      case SEEK_CUR: to = in->pos + offset; break;
      case SEEK_END: to = size + offset; break;
      default: return AVERROR(EINVAL);
    }
    if (to < 0 || to > size) return AVERROR(EINVAL);
    in->pos = to;
    return to;
  }
};

result<std::unique_ptr<input>> open_input(byte_view data) {
  quiet_ffmpeg();
  if (data.empty()) return bad("not a media file: it is empty");
  auto in = std::make_unique<input>();
  in->data = data;
  constexpr int buffer_size = 1 << 16;
  auto* buffer = static_cast<std::uint8_t*>(av_malloc(buffer_size));
  if (!buffer) return error{errc::io_error, "out of memory"};
  in->io = avio_alloc_context(buffer, buffer_size, 0, in.get(), &input::read, nullptr,
                              &input::seek);
  if (!in->io) {
    av_free(buffer);
    return error{errc::io_error, "out of memory"};
  }
  in->fmt = avformat_alloc_context();
  in->fmt->pb = in->io;
  in->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
  if (int e = avformat_open_input(&in->fmt, nullptr, nullptr, nullptr); e < 0)
    return bad("not a media file", e); // fmt was freed and set to null
  if (int e = avformat_find_stream_info(in->fmt, nullptr); e < 0)
    return bad("truncated or corrupt (no stream information)", e);
  in->v = av_find_best_stream(in->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (in->v < 0) return bad("no video stream");
  in->a = av_find_best_stream(in->fmt, AVMEDIA_TYPE_AUDIO, -1, in->v, nullptr, 0);
  return in;
}

AVRational frame_rate(const AVStream* st) {
  if (st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0) return st->avg_frame_rate;
  if (st->r_frame_rate.num > 0 && st->r_frame_rate.den > 0) return st->r_frame_rate;
  return AVRational{25, 1};
}

result<codec_ctx> open_decoder(const AVStream* st, int threads) {
  const AVCodec* dec = avcodec_find_decoder(st->codecpar->codec_id);
  if (!dec)
    return bad(std::string("unsupported codec ") + avcodec_get_name(st->codecpar->codec_id));
  codec_ctx c{avcodec_alloc_context3(dec)};
  if (int e = avcodec_parameters_to_context(c.get(), st->codecpar); e < 0)
    return bad("decoder parameters", e);
  c->thread_count = threads;
  c->flags |= AV_CODEC_FLAG_BITEXACT;
  c->pkt_timebase = st->time_base;
  if (int e = avcodec_open2(c.get(), dec, nullptr); e < 0)
    return bad(std::string("cannot open the ") + dec->name + " decoder", e);
  return c;
}

// ---------------------------------------------------------------- output to memory

struct output {
  AVFormatContext* fmt = nullptr;
  output() = default;
  output(const output&) = delete;
  output& operator=(const output&) = delete;
  ~output() {
    if (!fmt) return;
    if (fmt->pb) {
      std::uint8_t* buf = nullptr;
      avio_close_dyn_buf(fmt->pb, &buf);
      av_free(buf);
    }
    avformat_free_context(fmt);
  }

  /// An MPEG-TS muxer writing into memory, bitexact.
  static result<std::unique_ptr<output>> mpegts() {
    auto out = std::make_unique<output>();
    if (int e = avformat_alloc_output_context2(&out->fmt, nullptr, "mpegts", nullptr); e < 0)
      return bad("mpegts muxer", e);
    out->fmt->flags |= AVFMT_FLAG_BITEXACT;
    if (int e = avio_open_dyn_buf(&out->fmt->pb); e < 0) return bad("output buffer", e);
    return out;
  }

  /// The bytes written so far (after the trailer: the whole file).
  bytes take() {
    std::uint8_t* buf = nullptr;
    int n = avio_close_dyn_buf(fmt->pb, &buf);
    fmt->pb = nullptr;
    bytes out(buf, buf + std::max(n, 0));
    av_free(buf);
    return out;
  }
};

} // namespace

// ---------------------------------------------------------------- probe

std::string rfc6381_codecs(const media_facts& f) {
  if (f.video_codec != "h264" || f.video_profile < 0 || f.video_level < 0) return {};
  int idc = f.video_profile & 0xFF;
  int constraints = 0;
  if (f.video_profile & FF_PROFILE_H264_CONSTRAINED) constraints |= 0x40; // constraint_set1
  if (f.video_profile & FF_PROFILE_H264_INTRA) constraints |= 0x10;       // constraint_set3
  char v[16];
  std::snprintf(v, sizeof v, "avc1.%02x%02x%02x", idc, constraints, f.video_level & 0xFF);
  std::string out = v;
  if (f.audio_codec == "aac") out += ",mp4a.40." + std::to_string(f.audio_profile >= 0 ? f.audio_profile + 1 : 2);
  else if (f.audio_codec == "mp3") out += ",mp4a.40.34";
  return out;
}

result<media_facts> probe(byte_view data) {
  auto in = open_input(data);
  if (!in) return in.err();
  auto* fmt = (*in)->fmt;
  const int v = (*in)->v, a = (*in)->a;
  const AVStream* vs = fmt->streams[v];
  media_facts f;
  f.container = fmt->iformat->name;
  f.video_codec = avcodec_get_name(vs->codecpar->codec_id);
  f.width = vs->codecpar->width;
  f.height = vs->codecpar->height;
  if (auto sar = av_guess_sample_aspect_ratio(fmt, const_cast<AVStream*>(vs), nullptr);
      sar.num > 0 && sar.den > 0) {
    f.sar_num = sar.num;
    f.sar_den = sar.den;
  }
  f.video_profile = vs->codecpar->profile;
  f.video_level = vs->codecpar->level;
  auto fps = frame_rate(vs);
  f.fps_num = fps.num;
  f.fps_den = fps.den;
  f.bytes = static_cast<std::int64_t>(data.size());
  if (a >= 0) {
    f.audio_codec = avcodec_get_name(fmt->streams[a]->codecpar->codec_id);
    f.sample_rate = fmt->streams[a]->codecpar->sample_rate;
    f.channels = fmt->streams[a]->codecpar->ch_layout.nb_channels;
    f.audio_profile = fmt->streams[a]->codecpar->profile;
  }
  if (f.width <= 0 || f.height <= 0) return bad("the video stream has no picture size");
  // Decoding the first frame proves the codec data is usable; reading every packet proves
  // the container is whole and gives the real frame count and duration.
  auto dec = open_decoder(vs, 1);
  if (!dec) return dec.err();
  packet_ptr pkt{av_packet_alloc()};
  frame_ptr frame{av_frame_alloc()};
  bool decoded = false;
  std::int64_t first = AV_NOPTS_VALUE, end = AV_NOPTS_VALUE;
  for (;;) {
    int e = av_read_frame(fmt, pkt.get());
    if (e == AVERROR_EOF) break;
    if (e < 0) return bad("truncated or corrupt", e);
    if (pkt->stream_index == v) {
      ++f.frames;
      if (pkt->flags & AV_PKT_FLAG_KEY) ++f.keyframes;
      if (pkt->pts != AV_NOPTS_VALUE) {
        if (first == AV_NOPTS_VALUE || pkt->pts < first) first = pkt->pts;
        auto e_ts = pkt->pts + std::max<std::int64_t>(pkt->duration, 0);
        if (end == AV_NOPTS_VALUE || e_ts > end) end = e_ts;
      }
      if (!decoded) {
        if (int s = avcodec_send_packet(dec->get(), pkt.get()); s < 0 && s != AVERROR(EAGAIN))
          return bad("the video does not decode", s);
        int r = avcodec_receive_frame(dec->get(), frame.get());
        if (r == 0) decoded = true;
        else if (r != AVERROR(EAGAIN)) return bad("the video does not decode", r);
      }
    }
    av_packet_unref(pkt.get());
  }
  if (!decoded) {
    avcodec_send_packet(dec->get(), nullptr); // frames held back by the decoder
    if (avcodec_receive_frame(dec->get(), frame.get()) == 0) decoded = true;
  }
  if (f.frames == 0) return bad("the video stream holds no frames");
  if (!decoded) return bad("the video does not decode (no frame came out)");
  if (first != AV_NOPTS_VALUE) {
    f.start_ms = to_ms(first, vs->time_base);
    f.duration_ms = to_ms(end - first, vs->time_base);
  }
  if (f.duration_ms <= 0) // no usable timestamps: count frames
    f.duration_ms = av_rescale(f.frames, 1000LL * fps.den, fps.num);
  f.bit_rate = f.bytes * 8 * 1000 / std::max<std::int64_t>(f.duration_ms, 1);
  return f;
}

// ---------------------------------------------------------------- split

std::vector<rendition> default_ladder() {
  return {{"720p", 1280, 720, 2500, 128}, {"480p", 854, 480, 1200, 96}, {"360p", 640, 360, 600, 64}};
}

result<std::vector<rendition>> parse_ladder(std::string_view text) {
  if (text == "default") return default_ladder();
  std::vector<rendition> out;
  std::size_t at = 0;
  while (at <= text.size()) {
    auto comma = text.find(',', at);
    auto item = std::string(text.substr(at, comma == std::string_view::npos ? text.npos : comma - at));
    at = comma == std::string_view::npos ? text.size() + 1 : comma + 1;
    rendition r;
    char name[17] = {0};
    int used = 0;
    if (std::sscanf(item.c_str(), "%16[A-Za-z0-9_-]:%dx%d:%d:%d%n", name, &r.width, &r.height,
                    &r.video_kbps, &r.audio_kbps, &used) != 5 ||
        used != static_cast<int>(item.size()))
      return bad("rendition '" + item + "': expected NAME:WxH:VIDEO_KBPS:AUDIO_KBPS");
    r.name = name;
    if (r.width < 16 || r.height < 16 || r.width > 7680 || r.height > 4320 || r.width % 2 ||
        r.height % 2)
      return bad("rendition " + r.name + ": even width and height, 16..7680 x 16..4320");
    if (r.video_kbps < 50 || r.video_kbps > 100'000 || r.audio_kbps < 0 || r.audio_kbps > 512)
      return bad("rendition " + r.name + ": video 50..100000 kb/s, audio 0..512 kb/s");
    for (auto& o : out)
      if (o.name == r.name) return bad("rendition " + r.name + " twice");
    out.push_back(r);
  }
  if (out.empty()) return bad("empty ladder");
  return out;
}

std::vector<rendition> fit_ladder(const std::vector<rendition>& ladder, int width, int height,
                                  int sar_num, int sar_den) {
  if (width <= 0 || height <= 0 || ladder.empty()) return ladder;
  if (sar_num <= 0 || sar_den <= 0) sar_num = sar_den = 1;
  // The picture as displayed, in square pixels: non-square pixels widen or narrow it.
  const double dw = static_cast<double>(width) * sar_num / sar_den, dh = height;
  const bool portrait = dh > dw;
  // The nearest even size, within the box (and at least 16, x264's floor here).
  auto even = [](double x, int box) {
    return std::max(16, std::min(box - box % 2, static_cast<int>(std::lround(x / 2)) * 2));
  };
  struct fitted {
    rendition r;
    std::int64_t box = 0;
  };
  std::vector<fitted> all;
  for (auto& r : ladder) {
    int bw = portrait ? std::min(r.width, r.height) : std::max(r.width, r.height);
    int bh = portrait ? std::max(r.width, r.height) : std::min(r.width, r.height);
    double s = std::min({bw / dw, bh / dh, 1.0});
    int w = even(dw * s, bw), h = even(dh * s, bh);
    fitted f{r, static_cast<std::int64_t>(bw) * bh};
    f.r.width = w;
    f.r.height = h;
    auto px = static_cast<double>(w) * h, box_px = static_cast<double>(f.box);
    if (px < 0.95 * box_px) // fitted well inside its box (not just rounded to even sizes)
      f.r.video_kbps = std::max(std::min(64, r.video_kbps),
                                static_cast<int>(r.video_kbps * px / box_px + 0.5));
    all.push_back(f);
  }
  std::vector<rendition> out;
  for (std::size_t i = 0; i < all.size(); ++i) {
    bool keep = true;
    for (std::size_t j = 0; j < all.size() && keep; ++j)
      if (j != i && all[j].r.width == all[i].r.width && all[j].r.height == all[i].r.height &&
          (all[j].box < all[i].box || (all[j].box == all[i].box && j < i)))
        keep = false;
    if (keep) out.push_back(all[i].r);
  }
  return out;
}

std::string ladder_spec(const std::vector<rendition>& ladder) {
  std::string out;
  for (auto& r : ladder) {
    if (!out.empty()) out += ',';
    out += r.name + ":" + std::to_string(r.width) + "x" + std::to_string(r.height) + ":" +
           std::to_string(r.video_kbps) + ":" + std::to_string(r.audio_kbps);
  }
  return out;
}

result<std::vector<segment>> split(byte_view data, std::int64_t target_ms) {
  if (target_ms <= 0) return bad("segment length must be positive");
  auto in = open_input(data);
  if (!in) return in.err();
  auto* fmt = (*in)->fmt;
  const int v = (*in)->v, a = (*in)->a;
  if (fmt->streams[v]->codecpar->codec_id != AV_CODEC_ID_H264)
    return bad(std::string("video codec ") + avcodec_get_name(fmt->streams[v]->codecpar->codec_id) +
               " is not supported (H.264 sources only)");
  if (a >= 0) {
    auto id = fmt->streams[a]->codecpar->codec_id;
    if (id != AV_CODEC_ID_AAC && id != AV_CODEC_ID_MP3 && id != AV_CODEC_ID_AC3 &&
        id != AV_CODEC_ID_OPUS)
      return bad(std::string("audio codec ") + avcodec_get_name(id) +
                 " cannot be carried in MPEG-TS segments");
  }
  const AVRational vtb = fmt->streams[v]->time_base;

  std::vector<segment> out;
  std::unique_ptr<output> cur;
  int out_v = -1, out_a = -1;
  std::int64_t seg_start = AV_NOPTS_VALUE; // video pts of the current segment's first frame
  auto finish = [&](std::int64_t end_pts) -> status {
    if (!cur) return {};
    if (int e = av_write_trailer(cur->fmt); e < 0) return bad("segment trailer", e);
    auto& s = out.back();
    s.data = cur->take();
    s.duration_ms = to_ms(end_pts - seg_start, vtb);
    cur.reset();
    return {};
  };
  auto start = [&](std::int64_t pts) -> status {
    auto o = output::mpegts();
    if (!o) return o.err();
    cur = std::move(*o);
    out_v = out_a = -1;
    for (int idx : {v, a}) {
      if (idx < 0) continue;
      AVStream* st = avformat_new_stream(cur->fmt, nullptr);
      if (int e = avcodec_parameters_copy(st->codecpar, fmt->streams[idx]->codecpar); e < 0)
        return bad("segment stream", e);
      st->codecpar->codec_tag = 0;
      st->time_base = fmt->streams[idx]->time_base;
      (idx == v ? out_v : out_a) = st->index;
    }
    if (int e = avformat_write_header(cur->fmt, nullptr); e < 0) return bad("segment header", e);
    seg_start = pts;
    out.push_back(segment{{}, to_ms(pts, vtb), 0, 0});
    return {};
  };

  packet_ptr pkt{av_packet_alloc()};
  std::vector<AVPacket*> early; // packets (audio) before the first video keyframe
  std::int64_t last_end = AV_NOPTS_VALUE;
  for (;;) {
    int e = av_read_frame(fmt, pkt.get());
    if (e == AVERROR_EOF) break;
    if (e < 0) {
      for (auto* p : early) av_packet_free(&p);
      return bad("truncated or corrupt", e);
    }
    if (pkt->stream_index != v && pkt->stream_index != a) {
      av_packet_unref(pkt.get());
      continue;
    }
    bool is_video = pkt->stream_index == v;
    if (is_video && pkt->pts != AV_NOPTS_VALUE) {
      auto end_ts = pkt->pts + std::max<std::int64_t>(pkt->duration, 0);
      if (last_end == AV_NOPTS_VALUE || end_ts > last_end) last_end = end_ts;
    }
    if (is_video && (pkt->flags & AV_PKT_FLAG_KEY) && pkt->pts != AV_NOPTS_VALUE &&
        (!cur || to_ms(pkt->pts - seg_start, vtb) >= target_ms)) {
      if (auto st = finish(pkt->pts); !st) return st.err();
      if (auto st = start(pkt->pts); !st) return st.err();
      for (auto* p : early) {
        p->stream_index = out_a;
        av_packet_rescale_ts(p, fmt->streams[a]->time_base, cur->fmt->streams[out_a]->time_base);
        av_interleaved_write_frame(cur->fmt, p);
        av_packet_free(&p);
      }
      early.clear();
    }
    if (!cur) {
      if (is_video) return bad("the video does not start with a keyframe");
      early.push_back(av_packet_clone(pkt.get()));
      av_packet_unref(pkt.get());
      continue;
    }
    int to = is_video ? out_v : out_a;
    if (is_video) ++out.back().frames;
    av_packet_rescale_ts(pkt.get(), fmt->streams[pkt->stream_index]->time_base,
                         cur->fmt->streams[to]->time_base);
    pkt->stream_index = to;
    pkt->pos = -1;
    if (int w = av_interleaved_write_frame(cur->fmt, pkt.get()); w < 0)
      return bad("segment packet", w);
  }
  for (auto* p : early) av_packet_free(&p);
  if (!cur) return bad("the video stream holds no keyframe");
  if (auto st = finish(last_end); !st) return st.err();
  return out;
}

// ---------------------------------------------------------------- transcode

namespace {

struct cpu_level {
  const char* name;
  const char* x264_asm;
  int av_flags;
};

const cpu_level* find_level(const std::string& name) {
  static const cpu_level levels[] = {
    {"sse2", "MMX2,SSE,SSE2",
     AV_CPU_FLAG_MMX | AV_CPU_FLAG_MMXEXT | AV_CPU_FLAG_SSE | AV_CPU_FLAG_SSE2 | AV_CPU_FLAG_CMOV},
    {"avx2", "MMX2,SSE,SSE2,SSE3,SSSE3,SSE4.1,SSE4.2,AVX,FMA3,BMI1,BMI2,AVX2",
     AV_CPU_FLAG_MMX | AV_CPU_FLAG_MMXEXT | AV_CPU_FLAG_SSE | AV_CPU_FLAG_SSE2 |
       AV_CPU_FLAG_CMOV | AV_CPU_FLAG_SSE3 | AV_CPU_FLAG_SSSE3 | AV_CPU_FLAG_SSE4 |
       AV_CPU_FLAG_SSE42 | AV_CPU_FLAG_AVX | AV_CPU_FLAG_FMA3 | AV_CPU_FLAG_BMI1 |
       AV_CPU_FLAG_BMI2 | AV_CPU_FLAG_AVX2},
  };
  for (auto& l : levels)
    if (name == l.name) return &l;
  return nullptr;
}

/// One rung being encoded: scaler, encoders, muxer.
struct rung {
  rendition r;
  codec_ctx venc, aenc;
  std::unique_ptr<SwsContext, sws_deleter> sws;
  std::unique_ptr<output> out;
  int out_v = -1, out_a = -1;
  std::int64_t frames = 0;
  std::int64_t last_pts = AV_NOPTS_VALUE;
};

status drain(AVCodecContext* enc, rung& g, int out_stream) {
  packet_ptr pkt{av_packet_alloc()};
  for (;;) {
    int e = avcodec_receive_packet(enc, pkt.get());
    if (e == AVERROR(EAGAIN) || e == AVERROR_EOF) return {};
    if (e < 0) return bad("encoder", e);
    av_packet_rescale_ts(pkt.get(), enc->time_base, g.out->fmt->streams[out_stream]->time_base);
    pkt->stream_index = out_stream;
    if (int w = av_interleaved_write_frame(g.out->fmt, pkt.get()); w < 0)
      return bad("muxer", w);
  }
}

status encode(AVCodecContext* enc, rung& g, int out_stream, const AVFrame* frame) {
  if (int e = avcodec_send_frame(enc, frame); e < 0) return bad("encoder", e);
  return drain(enc, g, out_stream);
}

} // namespace

std::string x264_asm_flags(const std::string& cpu) {
  auto* l = find_level(cpu);
  return l ? l->x264_asm : "";
}

status cpu_supported(const std::string& cpu) {
  auto* l = find_level(cpu);
  if (!l) return bad("unknown CPU level '" + cpu + "' (sse2, avx2)");
  if (cpu == "avx2" &&
      !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2")))
    return error{errc::unavailable, "this CPU lacks AVX2/FMA3/BMI2: it cannot run CPU level avx2"};
  return {};
}

result<std::vector<rendition_output>> transcode(byte_view segment_bytes,
                                                const std::vector<rendition>& ladder,
                                                const encode_settings& s) {
  if (ladder.empty()) return bad("empty ladder");
  if (s.threads < 1) return bad("threads must be pinned (1 or more), not auto");
  if (auto st = cpu_supported(s.cpu); !st) return st.err();
  for (auto& r : ladder)
    if (r.width <= 0 || r.height <= 0 || r.width % 2 || r.height % 2 || r.video_kbps <= 0)
      return bad("rendition " + r.name + ": even width and height and a video bit rate needed");
  // The SIMD paths of every libav* component: pinned, not detected.
  av_force_cpu_flags(find_level(s.cpu)->av_flags);

  auto in = open_input(segment_bytes);
  if (!in) return in.err();
  auto* fmt = (*in)->fmt;
  const int v = (*in)->v, a = (*in)->a;
  const AVStream* vs = fmt->streams[v];
  auto vdec = open_decoder(vs, s.threads);
  if (!vdec) return vdec.err();
  codec_ctx adec;
  if (a >= 0) {
    auto d = open_decoder(fmt->streams[a], s.threads);
    if (!d) return d.err();
    adec = std::move(*d);
  }
  const AVRational fps = frame_rate(vs);
  const AVRational vtb = av_inv_q(fps);
  const AVRational atb{1, s.audio_rate};

  const AVCodec* x264 = avcodec_find_encoder_by_name("libx264");
  const AVCodec* aac = avcodec_find_encoder_by_name("aac");
  if (!x264 || !aac) return error{errc::unavailable, "libx264 or the aac encoder is missing"};
  AVChannelLayout stereo;
  av_channel_layout_default(&stereo, 2);

  std::vector<rung> rungs(ladder.size());
  for (std::size_t i = 0; i < ladder.size(); ++i) {
    auto& g = rungs[i];
    g.r = ladder[i];
    g.venc.reset(avcodec_alloc_context3(x264));
    auto* c = g.venc.get();
    c->width = g.r.width;
    c->height = g.r.height;
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->time_base = vtb;
    c->framerate = fps;
    c->sample_aspect_ratio = AVRational{1, 1};
    c->gop_size = s.gop;
    c->bit_rate = g.r.video_kbps * 1000LL;
    c->rc_max_rate = c->bit_rate * 3 / 2;
    c->rc_buffer_size = static_cast<int>(c->bit_rate * 2);
    c->thread_count = s.threads;
    c->flags |= AV_CODEC_FLAG_BITEXACT;
    av_opt_set(c->priv_data, "preset", s.preset.c_str(), 0);
    av_opt_set(c->priv_data, "x264-params",
               (std::string("asm=") + find_level(s.cpu)->x264_asm).c_str(), 0);
    if (int e = avcodec_open2(c, x264, nullptr); e < 0)
      return bad("cannot open libx264 for " + g.r.name, e);
    g.sws.reset(sws_getContext(vdec->get()->width, vdec->get()->height, vdec->get()->pix_fmt,
                               g.r.width, g.r.height, AV_PIX_FMT_YUV420P,
                               SWS_BICUBIC | SWS_BITEXACT | SWS_ACCURATE_RND |
                                 SWS_FULL_CHR_H_INT,
                               nullptr, nullptr, nullptr));
    if (!g.sws) return bad("cannot scale to " + g.r.name);
    auto o = output::mpegts();
    if (!o) return o.err();
    g.out = std::move(*o);
    AVStream* ost = avformat_new_stream(g.out->fmt, nullptr);
    avcodec_parameters_from_context(ost->codecpar, c);
    ost->time_base = c->time_base;
    g.out_v = ost->index;
    if (adec) {
      g.aenc.reset(avcodec_alloc_context3(aac));
      auto* ac = g.aenc.get();
      ac->sample_fmt = AV_SAMPLE_FMT_FLTP;
      ac->sample_rate = s.audio_rate;
      av_channel_layout_copy(&ac->ch_layout, &stereo);
      ac->bit_rate = std::max(g.r.audio_kbps, 32) * 1000LL;
      ac->time_base = atb;
      ac->thread_count = 1;
      ac->flags |= AV_CODEC_FLAG_BITEXACT;
      if (int e = avcodec_open2(ac, aac, nullptr); e < 0)
        return bad("cannot open the aac encoder for " + g.r.name, e);
      AVStream* ast = avformat_new_stream(g.out->fmt, nullptr);
      avcodec_parameters_from_context(ast->codecpar, ac);
      ast->time_base = ac->time_base;
      g.out_a = ast->index;
    }
    if (int e = avformat_write_header(g.out->fmt, nullptr); e < 0)
      return bad("output header for " + g.r.name, e);
  }

  // Audio: resampled once (48 kHz stereo float planar), cut into the encoder's frame size.
  std::unique_ptr<SwrContext, swr_deleter> swr;
  std::unique_ptr<AVAudioFifo, fifo_deleter> fifo;
  int frame_size = 1024;
  std::int64_t audio_next = AV_NOPTS_VALUE; // pts (1/rate) of the next frame out of the fifo
  if (adec) {
    SwrContext* raw = nullptr;
    if (int e = swr_alloc_set_opts2(&raw, &stereo, AV_SAMPLE_FMT_FLTP, s.audio_rate,
                                    &adec->ch_layout, adec->sample_fmt,
                                    adec->sample_rate, 0, nullptr);
        e < 0)
      return bad("audio resampler", e);
    swr.reset(raw);
    if (int e = swr_init(raw); e < 0) return bad("audio resampler", e);
    fifo.reset(av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, 2, 4096));
    frame_size = rungs[0].aenc->frame_size > 0 ? rungs[0].aenc->frame_size : 1024;
  }

  auto video_frame = [&](AVFrame* frame) -> status {
    auto ts = frame->best_effort_timestamp != AV_NOPTS_VALUE ? frame->best_effort_timestamp
                                                             : frame->pts;
    for (auto& g : rungs) {
      frame_ptr scaled{av_frame_alloc()};
      scaled->format = AV_PIX_FMT_YUV420P;
      scaled->width = g.r.width;
      scaled->height = g.r.height;
      if (int e = av_frame_get_buffer(scaled.get(), 0); e < 0) return bad("frame buffer", e);
      sws_scale(g.sws.get(), frame->data, frame->linesize, 0, frame->height, scaled->data,
                scaled->linesize);
      auto pts = ts == AV_NOPTS_VALUE ? g.frames : av_rescale_q(ts, vs->time_base, vtb);
      if (g.last_pts != AV_NOPTS_VALUE && pts <= g.last_pts) pts = g.last_pts + 1;
      g.last_pts = pts;
      scaled->pts = pts;
      ++g.frames;
      if (auto st = encode(g.venc.get(), g, g.out_v, scaled.get()); !st) return st;
    }
    return {};
  };
  auto audio_out = [&](bool flush) -> status {
    while (av_audio_fifo_size(fifo.get()) >= frame_size ||
           (flush && av_audio_fifo_size(fifo.get()) > 0)) {
      int n = std::min(frame_size, av_audio_fifo_size(fifo.get()));
      frame_ptr f{av_frame_alloc()};
      f->nb_samples = n;
      f->format = AV_SAMPLE_FMT_FLTP;
      f->sample_rate = s.audio_rate;
      av_channel_layout_copy(&f->ch_layout, &stereo);
      if (int e = av_frame_get_buffer(f.get(), 0); e < 0) return bad("audio buffer", e);
      av_audio_fifo_read(fifo.get(), reinterpret_cast<void**>(f->data), n);
      f->pts = audio_next;
      audio_next += n;
      for (auto& g : rungs)
        if (auto st = encode(g.aenc.get(), g, g.out_a, f.get()); !st) return st;
    }
    return {};
  };
  auto audio_frame = [&](AVFrame* frame) -> status {
    if (audio_next == AV_NOPTS_VALUE) {
      auto ts = frame->best_effort_timestamp != AV_NOPTS_VALUE ? frame->best_effort_timestamp : 0;
      audio_next = av_rescale_q(ts, fmt->streams[a]->time_base, atb);
    }
    int max_out = swr_get_out_samples(swr.get(), frame->nb_samples);
    std::vector<std::uint8_t> left(static_cast<std::size_t>(max_out) * 4),
      right(static_cast<std::size_t>(max_out) * 4);
    std::uint8_t* planes[2] = {left.data(), right.data()};
    int got = swr_convert(swr.get(), planes, max_out, const_cast<const std::uint8_t**>(frame->extended_data),
                          frame->nb_samples);
    if (got < 0) return bad("audio resampling", got);
    av_audio_fifo_write(fifo.get(), reinterpret_cast<void**>(planes), got);
    return audio_out(false);
  };
  auto receive = [&](AVCodecContext* dec, bool video) -> status {
    frame_ptr frame{av_frame_alloc()};
    for (;;) {
      int e = avcodec_receive_frame(dec, frame.get());
      if (e == AVERROR(EAGAIN) || e == AVERROR_EOF) return {};
      if (e < 0) return bad(video ? "the video does not decode" : "the audio does not decode", e);
      auto st = video ? video_frame(frame.get()) : audio_frame(frame.get());
      av_frame_unref(frame.get());
      if (!st) return st;
    }
  };

  packet_ptr pkt{av_packet_alloc()};
  for (;;) {
    int e = av_read_frame(fmt, pkt.get());
    if (e == AVERROR_EOF) break;
    if (e < 0) return bad("truncated or corrupt", e);
    AVCodecContext* dec = pkt->stream_index == v ? vdec->get()
                          : (pkt->stream_index == a ? adec.get() : nullptr);
    if (dec) {
      if (int sent = avcodec_send_packet(dec, pkt.get()); sent < 0)
        return bad(dec == vdec->get() ? "the video does not decode" : "the audio does not decode",
                   sent);
      if (auto st = receive(dec, dec == vdec->get()); !st) return st.err();
    }
    av_packet_unref(pkt.get());
  }
  avcodec_send_packet(vdec->get(), nullptr);
  if (auto st = receive(vdec->get(), true); !st) return st.err();
  if (adec) {
    avcodec_send_packet(adec.get(), nullptr);
    if (auto st = receive(adec.get(), false); !st) return st.err();
    if (audio_next != AV_NOPTS_VALUE) { // what the resampler still holds
      int max_out = swr_get_out_samples(swr.get(), 0);
      if (max_out > 0) {
        std::vector<std::uint8_t> left(static_cast<std::size_t>(max_out) * 4),
          right(static_cast<std::size_t>(max_out) * 4);
        std::uint8_t* planes[2] = {left.data(), right.data()};
        int got = swr_convert(swr.get(), planes, max_out, nullptr, 0);
        if (got > 0) av_audio_fifo_write(fifo.get(), reinterpret_cast<void**>(planes), got);
      }
      if (auto st = audio_out(true); !st) return st.err();
    }
  }
  std::vector<rendition_output> outs;
  for (auto& g : rungs) {
    if (auto st = encode(g.venc.get(), g, g.out_v, nullptr); !st) return st.err();
    if (g.aenc)
      if (auto st = encode(g.aenc.get(), g, g.out_a, nullptr); !st) return st.err();
    if (int e = av_write_trailer(g.out->fmt); e < 0) return bad("output trailer", e);
    outs.push_back({g.r, g.out->take(), g.frames});
  }
  if (outs.front().frames == 0) return bad("the segment holds no video frames");
  return outs;
}

// ---------------------------------------------------------------- check_output

result<media_facts> check_output(byte_view data, const rendition& r, const media_facts& src) {
  auto f = probe(data);
  if (!f) return bad("does not decode: " + f.err().message);
  auto fail_with = [&](const std::string& why) -> result<media_facts> {
    return bad(r.name + ": " + why);
  };
  if (f->video_codec != "h264") return fail_with("video codec " + f->video_codec + ", not h264");
  if (f->width != r.width || f->height != r.height)
    return fail_with("resolution " + std::to_string(f->width) + "x" + std::to_string(f->height) +
                     ", expected " + std::to_string(r.width) + "x" + std::to_string(r.height));
  if (std::abs(f->frames - src.frames) > 1)
    return fail_with(std::to_string(f->frames) + " frames, the source has " +
                     std::to_string(src.frames));
  if (std::abs(f->duration_ms - src.duration_ms) > 100)
    return fail_with("lasts " + std::to_string(f->duration_ms) + " ms, the source " +
                     std::to_string(src.duration_ms) + " ms");
  if (src.audio_codec.empty() != f->audio_codec.empty())
    return fail_with(src.audio_codec.empty() ? "has audio the source lacks" : "has no audio");
  auto limit = 2LL * (r.video_kbps + r.audio_kbps) * 1000;
  if (f->bit_rate > limit)
    return fail_with("bit rate " + std::to_string(f->bit_rate / 1000) + " kb/s, more than 2× the " +
                     std::to_string(r.video_kbps + r.audio_kbps) + " kb/s of the rendition");
  return f;
}

} // namespace poe::media
