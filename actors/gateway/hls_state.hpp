#pragma once
/// @file
/// The gateway's HLS logic, pure (no CAF, no FFmpeg, no HTTP library): a published content's
/// outputs grouped into renditions, RFC 8216 playlists from measured segments, the request
/// paths the gateway answers, and byte ranges. Tested directly (tests/exec/hls_test.cpp).
///
/// A content's outputs are named "s<5-digit segment index>/<rendition>.ts" (the verifier's
/// job_output statement); every rendition has every segment. URLs (relative URIs inherit the
/// prefix, so a token in the path travels with every request a player makes):
///
///     /content/<id>/master.m3u8            master playlist
///     /content/<id>/<rendition>.m3u8       media playlist (VOD)
///     /content/<id>/<rendition>/<k>.ts     segment k (by its CID, checked before it is sent)
///
/// each also under /t/<token>/…, a viewer's playback token (chain::playback_token, base64url):
/// paid content is served only with one.

#include "poe/chain/payments.hpp"
#include "poe/core/error.hpp"
#include "poe/core/types.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace poe::gateway {

struct segment_ref {
  std::uint32_t index = 0;
  std::string cid;
  std::uint64_t size = 0;
  friend bool operator==(const segment_ref&, const segment_ref&) = default;
};

struct rendition {
  std::string name; ///< e.g. "720p"
  std::vector<segment_ref> segments; ///< by index, 0..n-1
  friend bool operator==(const rendition&, const rendition&) = default;
};

/// The renditions of a content's outputs, by name; every rendition must hold segments 0..n-1
/// with the same n. An error names the output that does not fit.
result<std::vector<rendition>> renditions_of(const std::vector<chain::output_ref>& outputs);

/// What probing a segment gave (media::probe, measured once and kept by the gateway).
struct segment_facts {
  std::int64_t duration_ms = 0;
  int width = 0, height = 0;
  std::string codecs; ///< RFC 6381, e.g. "avc1.64001f,mp4a.40.2"
  std::uint64_t bytes = 0;
  friend bool operator==(const segment_facts&, const segment_facts&) = default;
};

/// A rendition as the master playlist describes it.
struct variant {
  std::string name;
  std::uint64_t peak_bps = 0;    ///< BANDWIDTH: the largest segment bit rate
  std::uint64_t average_bps = 0; ///< AVERAGE-BANDWIDTH: all bits over all seconds
  int width = 0, height = 0;
  std::string codecs;
};

/// The variant of `r` from its segments' facts (one per segment, in order); an error when a
/// segment has no duration or the segments disagree on resolution or codecs.
result<variant> variant_of(const rendition& r, const std::vector<segment_facts>& facts);

/// RFC 8216 master playlist: EXT-X-INDEPENDENT-SEGMENTS (segments start on keyframes), one
/// EXT-X-STREAM-INF per variant, highest BANDWIDTH first, URI "<name>.m3u8".
std::string master_playlist(const std::vector<variant>& variants);

/// RFC 8216 VOD media playlist: EXT-X-TARGETDURATION (the largest EXTINF rounded), EXTINF with
/// millisecond precision, URIs "<name>/<k>.ts", EXT-X-ENDLIST.
std::string media_playlist(const rendition& r, const std::vector<segment_facts>& facts);

/// A request path.
struct route {
  enum class kind { master, media, segment, bad } what = kind::bad;
  hash256 content;
  std::string rendition;
  std::uint32_t segment = 0;
  std::string token; ///< the /t/<token> prefix's token (base64url), empty without
  std::string key;   ///< the path without the token prefix (what the body is cached by)
  std::string why;   ///< bad: what is wrong
};
route parse_path(std::string_view path);

/// A satisfiable single byte range [first, last] of a body of `size` bytes.
struct byte_range {
  std::uint64_t first = 0, last = 0;
  friend bool operator==(const byte_range&, const byte_range&) = default;
};
/// The Range header `header` (RFC 9110 §14: "bytes=a-b", "bytes=a-", "bytes=-n"; one range).
/// nullopt: serve the whole body (no header, or a form this gateway ignores: several ranges,
/// another unit); an error: unsatisfiable (416).
std::optional<result<byte_range>> parse_range(std::string_view header, std::uint64_t size);

} // namespace poe::gateway
