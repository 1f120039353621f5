#pragma once
/// @file
/// Media work in process on FFmpeg's libraries (libavformat, libavcodec, libswscale,
/// libswresample): probing a source, cutting it into GOP-aligned segments by remuxing (no
/// re-encode), transcoding a segment into an adaptive-bitrate ladder, and inspecting an
/// output (the verifier's cheap checks). Inputs and outputs are byte buffers: they come from
/// and go to the storage role; nothing here touches the disk or calls the ffmpeg binary.
///
/// Determinism: the same segment transcoded with the same `encode_settings` gives the same
/// bytes on every node that supports the pinned CPU level. Everything that changes the bytes
/// is in the settings: encoder threads (x264 output depends on the thread count), the CPU
/// level (x264's `asm` flags and libav's forced CPU flags: the SIMD paths taken), the preset,
/// GOP and rate control; swscale runs bicubic + bitexact + accurate_rnd + full_chroma_int,
/// and every encoder and muxer runs with the bitexact flags (no version strings).
///
/// Errors are errc::invalid_argument with a message a user can act on ("not a media file",
/// "no video stream", "truncated or corrupt: ...", "unsupported codec ...").

#include "poe/core/error.hpp"
#include "poe/core/types.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace poe::media {

/// What probing (or inspecting an output) finds. Frames and duration come from reading every
/// packet, not from header claims.
struct media_facts {
  std::string container;   ///< demuxer name ("mpegts", "mov,mp4,m4a,3gp,3g2,mj2", ...)
  std::string video_codec; ///< "h264", ...
  int width = 0, height = 0;
  int sar_num = 1, sar_den = 1; ///< sample (pixel) aspect ratio; 1:1 when the stream names none
  int fps_num = 0, fps_den = 1; ///< the video stream's frame rate
  std::int64_t frames = 0;      ///< video packets (= frames)
  std::int64_t duration_ms = 0; ///< video: last pts + its duration − first pts
  std::int64_t start_ms = 0;    ///< first video pts
  std::int64_t keyframes = 0;
  int video_profile = -1, video_level = -1; ///< the codec's profile and level (-1: unknown)
  std::string audio_codec; ///< empty: no audio stream
  int sample_rate = 0, channels = 0;
  int audio_profile = -1; ///< e.g. AAC LC (-1: unknown)
  std::int64_t bytes = 0;
  std::int64_t bit_rate = 0; ///< bytes × 8 / duration
};

/// The streams as RFC 6381 names them for an HLS CODECS attribute: H.264 "avc1.PPCCLL"
/// (profile_idc, constraint flags, level_idc, hex), AAC "mp4a.40.<object type>"; empty when
/// the video codec is not H.264 or its profile is unknown.
std::string rfc6381_codecs(const media_facts& f);

/// Demuxes every packet of `data` and reports what it holds. Refuses data that is not a
/// container libavformat knows, has no video stream, or is truncated or corrupt.
result<media_facts> probe(byte_view data);

/// One remuxed piece of a source (MPEG-TS, the source's codecs and timestamps).
struct segment {
  bytes data;
  std::int64_t start_ms = 0, duration_ms = 0, frames = 0;
};

/// Cuts `data` into MPEG-TS segments that start on video keyframes and last at least
/// `target_ms` (the last one may be shorter), without re-encoding. Video must be H.264 (the
/// ladder's codec family) and audio, if any, must fit MPEG-TS (AAC, MP3, AC-3, Opus).
result<std::vector<segment>> split(byte_view data, std::int64_t target_ms);

/// One rung of a ladder.
struct rendition {
  std::string name; ///< "720p"
  int width = 0, height = 0;
  int video_kbps = 0;
  int audio_kbps = 0;
  friend bool operator==(const rendition&, const rendition&) = default;
};

/// The default ladder: 720p 2.5 Mb/s, 480p 1.2 Mb/s, 360p 0.6 Mb/s (audio 128/96/64 kb/s).
std::vector<rendition> default_ladder();

/// A ladder as text: "NAME:WxH:VIDEO_KBPS:AUDIO_KBPS,..." (e.g. "720p:1280x720:2500:128");
/// "default" is the default ladder. Names are 1..16 of [A-Za-z0-9_-], unique.
result<std::vector<rendition>> parse_ladder(std::string_view text);
/// The ladder a source of `width` x `height` pixels (sample aspect `sar_num:sar_den`) is
/// encoded into, as Apple's HLS authoring spec and ABR packagers do: each rung's WxH is a box
/// (turned upright for a portrait source) the picture is fitted into keeping its display aspect
/// ratio (square output pixels), never above the source's displayed size (no upscaling), even
/// dimensions (at least 16); a rung that fills less than 95 % of its box gets its video bit
/// rate in proportion to the pixels (at least 64 kb/s); rungs
/// that come out at the same size keep only the one with the smallest box. So a portrait
/// 720x1280 source gets 720x1280, 480x854 and 360x640; a 640x360 source one 640x360 rung at
/// 600 kb/s. Names and order are kept; the result is what tasks pin, so every executor and
/// verifier works on the same sizes.
std::vector<rendition> fit_ladder(const std::vector<rendition>& ladder, int width, int height,
                                  int sar_num = 1, int sar_den = 1);

/// The canonical text of a ladder (parse_ladder's inverse).
std::string ladder_spec(const std::vector<rendition>& ladder);

/// Every setting that affects the output bytes. A task carries all of them.
struct encode_settings {
  std::string preset = "veryfast"; ///< x264 preset
  int threads = 1;                 ///< encoder and decoder threads (never 0 = auto)
  std::string cpu = "avx2";        ///< CPU level: "sse2" (any x86-64) or "avx2"
  int gop = 48;                    ///< maximum keyframe interval, frames
  int audio_rate = 48000;          ///< AAC sample rate (stereo)
  friend bool operator==(const encode_settings&, const encode_settings&) = default;
};

/// x264's `asm` flag list for a CPU level ("" for an unknown level): what transcode pins, for
/// tools that run the ffmpeg CLI with the same settings.
std::string x264_asm_flags(const std::string& cpu);

/// Whether this machine can run `cpu` (an unknown level is an error).
status cpu_supported(const std::string& cpu);

/// The output of one rendition: MPEG-TS bytes (H.264 + AAC), HLS-ready.
struct rendition_output {
  rendition r;
  bytes data;
  std::int64_t frames = 0;
};

/// Decodes `segment` once and encodes every rendition of `ladder` from it (scaled with the
/// pinned swscale flags), each into its own MPEG-TS. Timestamps keep the segment's, so the
/// outputs of consecutive segments play on as one stream.
result<std::vector<rendition_output>> transcode(byte_view segment,
                                                const std::vector<rendition>& ladder,
                                                const encode_settings& settings);

/// The verifier's cheap checks of an output against its rendition and its source segment:
/// it decodes (every packet read, the first frame decoded), H.264 at the rendition's size,
/// as many frames as the source (± 1), a duration within 100 ms of the source's, audio when
/// the source has audio, and a bit rate of at most 2× the rendition's (total kb/s). Returns
/// the output's facts; the error names the first check that failed.
result<media_facts> check_output(byte_view output, const rendition& r,
                                 const media_facts& source);

} // namespace poe::media
