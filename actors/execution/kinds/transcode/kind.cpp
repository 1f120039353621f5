// Kind "transcode": one segment (its only input) into an adaptive-bitrate ladder, with every
// setting that affects the bytes pinned in the task's parameters:
//
//   ladder      "NAME:WxH:VIDEO_KBPS:AUDIO_KBPS,..." (media::parse_ladder)
//   preset      x264 preset ("veryfast")
//   threads     encoder and decoder threads (1..16; never auto)
//   cpu         CPU level: "avx2" or "sse2" (x264 asm and libav CPU flags)
//   gop         maximum keyframe interval in frames (1..600)
//   audio_rate  AAC sample rate (8000..96000)
//
// Outputs: "<name>.ts" per rendition (MPEG-TS, H.264 + AAC). Facts: the source's frames and
// duration, and per rendition its size, frames and bytes. Work units: frames × renditions.
#include "task_kind.hpp"

#include "poe/media/media.hpp"

#include <algorithm>
#include <charconv>

namespace poe::execution {

namespace {

const char* const required[] = {"audio_rate", "cpu", "gop", "ladder", "preset", "threads"};

result<int> int_param(const task& t, const char* key, int lo, int hi) {
  auto v = param_of(t, key);
  int n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc{} || end != v->data() + v->size() || n < lo || n > hi)
    return fail(errc::invalid_argument, std::string("transcode: '") + key + "' must be " +
                                          std::to_string(lo) + ".." + std::to_string(hi) +
                                          ", got '" + *v + "'");
  return n;
}

struct plan {
  std::vector<media::rendition> ladder;
  media::encode_settings settings;
};

result<plan> plan_of(const task& t) {
  if (t.inputs.size() != 1)
    return fail(errc::invalid_argument, "transcode: exactly one input segment, got " +
                                          std::to_string(t.inputs.size()));
  for (auto* k : required)
    if (!param_of(t, k))
      return fail(errc::invalid_argument,
                  std::string("transcode: parameter '") + k +
                    "' is missing (every setting that affects the output is pinned in the task)");
  for (auto& p : t.params)
    if (std::find(std::begin(required), std::end(required), p.key) == std::end(required))
      return fail(errc::invalid_argument, "transcode: unknown parameter '" + p.key + "'");
  plan out;
  auto ladder = media::parse_ladder(*param_of(t, "ladder"));
  if (!ladder) return fail(errc::invalid_argument, "transcode: ladder: " + ladder.err().message);
  out.ladder = std::move(*ladder);
  out.settings.preset = *param_of(t, "preset");
  static const char* const presets[] = {"ultrafast", "superfast", "veryfast", "faster", "fast",
                                        "medium",    "slow",      "slower",   "veryslow"};
  if (std::find(std::begin(presets), std::end(presets), out.settings.preset) == std::end(presets))
    return fail(errc::invalid_argument, "transcode: unknown preset '" + out.settings.preset + "'");
  out.settings.cpu = *param_of(t, "cpu");
  auto threads = int_param(t, "threads", 1, 16);
  if (!threads) return threads.err();
  auto gop = int_param(t, "gop", 1, 600);
  if (!gop) return gop.err();
  auto rate = int_param(t, "audio_rate", 8000, 96000);
  if (!rate) return rate.err();
  out.settings.threads = *threads;
  out.settings.gop = *gop;
  out.settings.audio_rate = *rate;
  if (out.settings.cpu != "avx2" && out.settings.cpu != "sse2")
    return fail(errc::invalid_argument, "transcode: cpu must be avx2 or sse2");
  return out;
}

class transcode_kind final : public task_kind {
public:
  std::string_view name() const override { return "transcode"; }

  status check(const task& t) const override {
    auto p = plan_of(t);
    if (!p) return p.err();
    return {};
  }

  result<kind_result> run(const task& t, const std::vector<bytes>& inputs) const override {
    auto p = plan_of(t);
    if (!p) return p.err();
    auto src = media::probe(inputs.at(0));
    if (!src) return fail(errc::invalid_argument, "transcode: input: " + src.err().message);
    auto outs = media::transcode(inputs[0], p->ladder, p->settings);
    if (!outs) return fail(outs.err().code, "transcode: " + outs.err().message);
    kind_result r;
    r.facts.push_back({"source.duration_ms", std::to_string(src->duration_ms)});
    r.facts.push_back({"source.frames", std::to_string(src->frames)});
    for (auto& o : *outs) {
      r.facts.push_back({o.r.name + ".bytes", std::to_string(o.data.size())});
      r.facts.push_back({o.r.name + ".frames", std::to_string(o.frames)});
      r.facts.push_back({o.r.name + ".size",
                         std::to_string(o.r.width) + "x" + std::to_string(o.r.height)});
      r.outputs.push_back({o.r.name + ".ts", std::move(o.data)});
      r.work_units += static_cast<std::uint64_t>(o.frames);
    }
    std::sort(r.facts.begin(), r.facts.end(), [](auto& a, auto& b) { return a.key < b.key; });
    return r;
  }

  status check_outputs(const task& t, const std::vector<bytes>& inputs,
                       const std::vector<kind_output>& outputs,
                       const std::vector<param>&) const override {
    auto p = plan_of(t);
    if (!p) return p.err();
    auto src = media::probe(inputs.at(0));
    if (!src) return fail(errc::invalid_argument, "transcode: input: " + src.err().message);
    if (outputs.size() != p->ladder.size())
      return fail(errc::verify_failed, "transcode: " + std::to_string(outputs.size()) +
                                         " outputs for a ladder of " +
                                         std::to_string(p->ladder.size()));
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      auto& r = p->ladder[i];
      if (outputs[i].name != r.name + ".ts")
        return fail(errc::verify_failed, "transcode: output " + std::to_string(i) + " is '" +
                                           outputs[i].name + "', expected '" + r.name + ".ts'");
      if (auto f = media::check_output(outputs[i].data, r, *src); !f)
        return fail(errc::verify_failed, "transcode: " + f.err().message);
    }
    return {};
  }
};

} // namespace

const task_kind& kind_transcode() {
  static const transcode_kind k;
  return k;
}

} // namespace poe::execution
