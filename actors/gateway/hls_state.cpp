#include "hls_state.hpp"

#include <algorithm>
#include <charconv>
#include <map>

namespace poe::gateway {

namespace {

bool digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<std::uint64_t> number(std::string_view s) {
  if (!digits(s) || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

/// A rendition name as it may appear in a URL: 1..32 of [A-Za-z0-9_-].
bool rendition_name(std::string_view s) {
  return !s.empty() && s.size() <= 32 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::string decimal_ms(std::int64_t ms) {
  auto s = std::to_string(ms / 1000) + ".";
  auto frac = std::to_string(ms % 1000);
  return s + std::string(3 - frac.size(), '0') + frac;
}

} // namespace

result<std::vector<rendition>> renditions_of(const std::vector<chain::output_ref>& outputs) {
  std::map<std::string, std::map<std::uint32_t, segment_ref>> by_name;
  for (auto& o : outputs) {
    std::string_view n = o.name;
    auto slash = n.find('/');
    if (n.size() < 8 || n[0] != 's' || slash != 6 || !digits(n.substr(1, 5)) || !n.ends_with(".ts"))
      return fail(errc::invalid_argument, "output '" + o.name + "' is not s<segment>/<rendition>.ts");
    auto name = n.substr(7, n.size() - 7 - 3);
    if (!rendition_name(name))
      return fail(errc::invalid_argument, "output '" + o.name + "' has no usable rendition name");
    auto k = static_cast<std::uint32_t>(*number(n.substr(1, 5)));
    by_name[std::string(name)][k] = segment_ref{k, o.cid, o.size};
  }
  if (by_name.empty()) return fail(errc::invalid_argument, "no outputs");
  std::vector<rendition> out;
  std::size_t count = by_name.begin()->second.size();
  for (auto& [name, segs] : by_name) {
    if (segs.size() != count)
      return fail(errc::invalid_argument, "rendition " + name + " has " + std::to_string(segs.size()) +
                                              " segments, " + by_name.begin()->first + " " + std::to_string(count));
    rendition r{name, {}};
    for (auto& [k, s] : segs) {
      if (k != r.segments.size())
        return fail(errc::invalid_argument, "rendition " + name + " misses segment " + std::to_string(r.segments.size()));
      r.segments.push_back(s);
    }
    out.push_back(std::move(r));
  }
  return out;
}

result<variant> variant_of(const rendition& r, const std::vector<segment_facts>& facts) {
  if (facts.size() != r.segments.size() || facts.empty())
    return fail(errc::invalid_argument, "rendition " + r.name + ": facts for " + std::to_string(facts.size()) +
                                            " of " + std::to_string(r.segments.size()) + " segments");
  variant v{r.name, 0, 0, facts[0].width, facts[0].height, facts[0].codecs};
  std::uint64_t bits = 0, ms = 0;
  for (auto& f : facts) {
    if (f.duration_ms <= 0) return fail(errc::invalid_argument, "rendition " + r.name + ": a segment without duration");
    if (f.width != v.width || f.height != v.height || f.codecs != v.codecs)
      return fail(errc::invalid_argument, "rendition " + r.name + ": segments differ in resolution or codecs");
    auto seg_bits = f.bytes * 8;
    v.peak_bps = std::max(v.peak_bps, (seg_bits * 1000 + static_cast<std::uint64_t>(f.duration_ms) - 1) /
                                          static_cast<std::uint64_t>(f.duration_ms));
    bits += seg_bits;
    ms += static_cast<std::uint64_t>(f.duration_ms);
  }
  v.average_bps = (bits * 1000 + ms - 1) / ms;
  return v;
}

std::string master_playlist(const std::vector<variant>& variants) {
  auto vs = variants;
  std::stable_sort(vs.begin(), vs.end(), [](auto& a, auto& b) { return a.peak_bps > b.peak_bps; });
  std::string out = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n";
  for (auto& v : vs) {
    out += "#EXT-X-STREAM-INF:BANDWIDTH=" + std::to_string(v.peak_bps) +
           ",AVERAGE-BANDWIDTH=" + std::to_string(v.average_bps) + ",RESOLUTION=" + std::to_string(v.width) +
           "x" + std::to_string(v.height);
    if (!v.codecs.empty()) out += ",CODECS=\"" + v.codecs + "\"";
    out += "\n" + v.name + ".m3u8\n";
  }
  return out;
}

std::string media_playlist(const rendition& r, const std::vector<segment_facts>& facts) {
  std::int64_t target = 1;
  for (auto& f : facts) target = std::max<std::int64_t>(target, (f.duration_ms + 500) / 1000);
  std::string out = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:" + std::to_string(target) +
                    "\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n";
  for (std::size_t k = 0; k < r.segments.size() && k < facts.size(); ++k)
    out += "#EXTINF:" + decimal_ms(facts[k].duration_ms) + ",\n" + r.name + "/" + std::to_string(k) + ".ts\n";
  out += "#EXT-X-ENDLIST\n";
  return out;
}

route parse_path(std::string_view path) {
  route r;
  auto bad = [&](std::string why) {
    r.what = route::kind::bad;
    r.why = std::move(why);
    return r;
  };
  if (path.starts_with("/t/")) {
    auto end = path.find('/', 3);
    if (end == std::string_view::npos || end == 3) return bad("no path after the token (/t/<token>/content/...)");
    r.token = std::string(path.substr(3, end - 3));
    path.remove_prefix(end);
  }
  r.key = std::string(path);
  constexpr std::string_view prefix = "/content/";
  if (!path.starts_with(prefix)) return bad("not a content path (/content/<id>/...)");
  path.remove_prefix(prefix.size());
  auto slash = path.find('/');
  if (slash == std::string_view::npos) return bad("no playlist or segment after the content id");
  auto id = hash256::from_hex(path.substr(0, slash));
  if (!id) return bad("the content id is not 64 hex digits");
  r.content = *id;
  auto rest = path.substr(slash + 1);
  if (rest == "master.m3u8") {
    r.what = route::kind::master;
    return r;
  }
  if (auto s = rest.find('/'); s != std::string_view::npos) {
    auto name = rest.substr(0, s), file = rest.substr(s + 1);
    if (!rendition_name(name) || !file.ends_with(".ts")) return bad("not <rendition>/<segment>.ts");
    auto k = number(file.substr(0, file.size() - 3));
    if (!k || *k > 99'999) return bad("the segment is not a number");
    r.what = route::kind::segment;
    r.rendition = std::string(name);
    r.segment = static_cast<std::uint32_t>(*k);
    return r;
  }
  if (rest.ends_with(".m3u8") && rendition_name(rest.substr(0, rest.size() - 5))) {
    r.what = route::kind::media;
    r.rendition = std::string(rest.substr(0, rest.size() - 5));
    return r;
  }
  return bad("not master.m3u8, <rendition>.m3u8 or <rendition>/<segment>.ts");
}

std::optional<result<byte_range>> parse_range(std::string_view header, std::uint64_t size) {
  constexpr std::string_view unit = "bytes=";
  if (header.empty() || !header.starts_with(unit)) return std::nullopt;
  auto spec = header.substr(unit.size());
  if (spec.find(',') != std::string_view::npos) return std::nullopt; // several ranges: the whole body
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto a = spec.substr(0, dash), b = spec.substr(dash + 1);
  auto unsatisfiable = [&] {
    return std::optional<result<byte_range>>(fail(errc::invalid_argument, "range not satisfiable"));
  };
  if (a.empty()) { // the last n bytes
    auto n = number(b);
    if (!n) return std::nullopt;
    if (*n == 0 || size == 0) return unsatisfiable();
    return result<byte_range>(byte_range{size - std::min(*n, size), size - 1});
  }
  auto first = number(a);
  if (!first) return std::nullopt;
  if (*first >= size) return unsatisfiable();
  std::uint64_t last = size - 1;
  if (!b.empty()) {
    auto l = number(b);
    if (!l || *l < *first) return std::nullopt;
    last = std::min(*l, size - 1);
  }
  return result<byte_range>(byte_range{*first, last});
}

} // namespace poe::gateway
