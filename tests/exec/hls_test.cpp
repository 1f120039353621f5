// The gateway's HLS logic (actors/gateway/hls_state.hpp), directly: renditions from a
// content's outputs, playlists checked against RFC 8216's rules, request paths, byte ranges.
#include "hls_state.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <sstream>

using namespace poe;
using namespace poe::gateway;

namespace {

std::vector<chain::output_ref> outputs(int segments, std::vector<std::string> names = {"360p", "720p"}) {
  std::vector<chain::output_ref> out;
  for (int k = 0; k < segments; ++k)
    for (auto& n : names) {
      char idx[6];
      std::snprintf(idx, sizeof idx, "%05d", k);
      out.push_back({std::string("s") + idx + "/" + n + ".ts", "bafy" + n + std::to_string(k), 1000u * (k + 1)});
    }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return out;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

/// RFC 8216 rules a player relies on (§4.3): the header first, one EXT-X-VERSION, every
/// EXTINF rounded <= EXT-X-TARGETDURATION, a URI after each EXTINF and EXT-X-STREAM-INF,
/// BANDWIDTH on each variant, EXT-X-ENDLIST last in a VOD playlist.
void check_rfc8216(const std::string& text, bool master) {
  auto ls = lines(text);
  REQUIRE(!ls.empty());
  CHECK(ls[0] == "#EXTM3U");
  CHECK(std::count_if(ls.begin(), ls.end(), [](auto& l) { return l.starts_with("#EXT-X-VERSION:"); }) == 1);
  long target = -1;
  for (std::size_t i = 1; i < ls.size(); ++i) {
    auto& l = ls[i];
    CHECK(!l.empty());
    if (l.starts_with("#EXT-X-TARGETDURATION:")) target = std::stol(l.substr(22));
    if (l.starts_with("#EXTINF:")) {
      REQUIRE(!master);
      REQUIRE(target > 0); // the target duration comes before the segments
      auto d = std::stod(l.substr(8));
      CHECK(std::lround(d) <= target);
      REQUIRE(i + 1 < ls.size());
      CHECK(!ls[i + 1].starts_with("#"));
    }
    if (l.starts_with("#EXT-X-STREAM-INF:")) {
      REQUIRE(master);
      CHECK(l.find("BANDWIDTH=") != std::string::npos);
      REQUIRE(i + 1 < ls.size());
      CHECK(!ls[i + 1].starts_with("#"));
    }
  }
  if (!master) CHECK(ls.back() == "#EXT-X-ENDLIST");
}

} // namespace

TEST_CASE("hls: a content's outputs group into renditions of every segment") {
  auto r = renditions_of(outputs(3));
  REQUIRE(r);
  REQUIRE(r->size() == 2);
  CHECK((*r)[0].name == "360p");
  CHECK((*r)[1].name == "720p");
  CHECK((*r)[1].segments.size() == 3);
  CHECK((*r)[1].segments[2] == segment_ref{2, "bafy720p2", 3000});
  // A missing segment, a rendition short of one, names not of the form: refused with the reason.
  auto gap = outputs(3);
  gap.erase(gap.begin() + 2); // s00001/360p.ts
  CHECK_FALSE(renditions_of(gap));
  CHECK_FALSE(renditions_of({{"720p.ts", "bafy", 1}}));
  CHECK_FALSE(renditions_of({{"s00000/../x.ts", "bafy", 1}}));
  CHECK_FALSE(renditions_of({}));
}

TEST_CASE("hls: variants carry peak and average bandwidth, resolution and codecs") {
  rendition r{"720p", {{0, "a", 500'000}, {1, "b", 250'000}}};
  std::vector<segment_facts> f{{2000, 1280, 720, "avc1.64001f,mp4a.40.2", 500'000},
                               {1000, 1280, 720, "avc1.64001f,mp4a.40.2", 250'000}};
  auto v = variant_of(r, f);
  REQUIRE(v);
  CHECK(v->peak_bps == 2'000'000);    // both segments: 4 Mbit over 2 s and 2 Mbit over 1 s
  CHECK(v->average_bps == 2'000'000); // 6 Mbit over 3 s
  f[1].bytes = 500'000;
  CHECK(variant_of(r, f)->peak_bps == 4'000'000); // 4 Mbit in 1 s
  CHECK(variant_of(r, f)->average_bps == 2'666'667);
  f[1].width = 640;
  CHECK_FALSE(variant_of(r, f));
  CHECK_FALSE(variant_of(r, {f[0]}));
}

TEST_CASE("hls: playlists follow RFC 8216") {
  auto rs = *renditions_of(outputs(3));
  std::vector<variant> vs;
  for (auto& r : rs) {
    std::vector<segment_facts> f;
    for (auto& s : r.segments)
      f.push_back({s.index == 2 ? 1520 : 2480, r.name == "720p" ? 1280 : 640, r.name == "720p" ? 720 : 360,
                   "avc1.64001f,mp4a.40.2", s.size * (r.name == "720p" ? 4 : 1)});
    auto m = media_playlist(r, f);
    INFO(m);
    check_rfc8216(m, false);
    CHECK(m.find("#EXT-X-TARGETDURATION:2\n") != std::string::npos); // 2.480 rounds to 2
    CHECK(m.find("#EXTINF:2.480,\n" + r.name + "/0.ts\n") != std::string::npos);
    CHECK(m.find("#EXT-X-PLAYLIST-TYPE:VOD") != std::string::npos);
    vs.push_back(*variant_of(r, f));
  }
  auto master = master_playlist(vs);
  INFO(master);
  check_rfc8216(master, true);
  CHECK(master.find("#EXT-X-INDEPENDENT-SEGMENTS") != std::string::npos);
  // The highest bandwidth first.
  CHECK(master.find("720p.m3u8") < master.find("360p.m3u8"));
  CHECK(master.find("RESOLUTION=1280x720,CODECS=\"avc1.64001f,mp4a.40.2\"\n720p.m3u8") != std::string::npos);
}

TEST_CASE("hls: request paths") {
  auto id = std::string(64, 'a');
  auto r = parse_path("/content/" + id + "/master.m3u8");
  CHECK(r.what == route::kind::master);
  CHECK(r.content.hex() == id);
  r = parse_path("/content/" + id + "/720p.m3u8");
  CHECK(r.what == route::kind::media);
  CHECK(r.rendition == "720p");
  r = parse_path("/content/" + id + "/720p/12.ts");
  CHECK(r.what == route::kind::segment);
  CHECK(r.segment == 12);
  CHECK(r.token.empty());
  r = parse_path("/t/AbC-_9/content/" + id + "/720p/12.ts");
  CHECK(r.what == route::kind::segment);
  CHECK(r.token == "AbC-_9");
  CHECK(r.key == "/content/" + id + "/720p/12.ts");
  CHECK(parse_path("/t//content/" + id + "/master.m3u8").what == route::kind::bad);
  CHECK(parse_path("/t/abc").what == route::kind::bad);
  for (std::string bad : std::vector<std::string>{"/", "/content/", "/content/xyz/master.m3u8", "/content/" + id, "/content/" + id + "/../etc",
                   "/content/" + id + "/720p/x.ts", "/content/" + id + "/72 0p.m3u8", "/content/" + id + "/720p/1.mp4"})
    CHECK(parse_path(bad).what == route::kind::bad);
}

TEST_CASE("hls: byte ranges") {
  CHECK_FALSE(parse_range("", 100));
  CHECK(**parse_range("bytes=0-9", 100) == byte_range{0, 9});
  CHECK(**parse_range("bytes=90-", 100) == byte_range{90, 99});
  CHECK(**parse_range("bytes=90-500", 100) == byte_range{90, 99});
  CHECK(**parse_range("bytes=-10", 100) == byte_range{90, 99});
  CHECK(**parse_range("bytes=-500", 100) == byte_range{0, 99});
  CHECK_FALSE(*parse_range("bytes=100-", 100)); // unsatisfiable: 416
  CHECK_FALSE(*parse_range("bytes=-0", 100));
  CHECK_FALSE(parse_range("bytes=0-1,5-6", 100)); // several ranges: the whole body
  CHECK_FALSE(parse_range("items=0-1", 100));
  CHECK_FALSE(parse_range("bytes=5-2", 100));
  CHECK_FALSE(parse_range("bytes=a-b", 100));
}
