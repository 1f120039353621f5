// Kind "compute": a generic deterministic computation, the Proof-of-Compute path of seed 002.
// An iterated SHA-256 chain over the input: digest_0 = SHA-256(input), digest_k =
// SHA-256(digest_{k-1}); the output is digest_N. Cheap to specify, exactly reproducible, and
// its cost is set by the task (`iterations`, 1 .. 100,000,000).
//
// The input is either one file in storage (one input CID; the digest is stored as the output
// file "digest") or inline: no input CID and the parameter `data` (hex, at most 4 KiB of
// bytes); the digest then travels in the result's facts (`digest`, hex) and nothing touches
// storage, so small tasks cost a message each way and not four storage round trips.
#include "task_kind.hpp"

#include "poe/core/sha256.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

namespace poe::execution {

namespace {

constexpr std::uint64_t max_iterations = 100'000'000;
constexpr std::size_t max_inline_bytes = 4096;

/// The inline input (`data`), when the task has one.
result<std::optional<bytes>> inline_input(const task& t) {
  auto v = param_of(t, "data");
  if (!v) return std::optional<bytes>{};
  if (v->size() > 2 * max_inline_bytes)
    return fail(errc::invalid_argument, "compute: 'data' holds more than " +
                                          std::to_string(max_inline_bytes) + " bytes");
  auto raw = from_hex(*v);
  if (!raw) return fail(errc::invalid_argument, "compute: 'data' is not hex: " + raw.err().message);
  return std::optional<bytes>{std::move(*raw)};
}

result<std::uint64_t> iterations_of(const task& t) {
  auto v = param_of(t, "iterations");
  if (!v) return fail(errc::invalid_argument, "compute: parameter 'iterations' is missing");
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc{} || end != v->data() + v->size() || n == 0 || n > max_iterations)
    return fail(errc::invalid_argument, "compute: 'iterations' must be 1.." +
                                          std::to_string(max_iterations) + ", got '" + *v + "'");
  return n;
}

class compute_kind final : public task_kind {
public:
  std::string_view name() const override { return "compute"; }

  status check(const task& t) const override {
    auto data = inline_input(t);
    if (!data) return data.err();
    auto want = *data ? 0u : 1u;
    if (t.inputs.size() != want)
      return fail(errc::invalid_argument,
                  std::string("compute: ") + (*data ? "inline data and no input CID"
                                                    : "exactly one input") +
                    ", got " + std::to_string(t.inputs.size()) + " input(s)");
    for (auto& p : t.params)
      if (p.key != "iterations" && p.key != "data")
        return fail(errc::invalid_argument, "compute: unknown parameter '" + p.key + "'");
    auto n = iterations_of(t);
    if (!n) return n.err();
    return {};
  }

  result<kind_result> run(const task& t, const std::vector<bytes>& inputs) const override {
    if (auto st = check(t); !st) return st.err();
    auto n = *iterations_of(t);
    auto data = *inline_input(t);
    const bytes& input = data ? *data : inputs.at(0);
    auto d = sha256::digest(input);
    sha256 h;
    for (std::uint64_t i = 1; i < n; ++i) d = h.update(d.view()).finish();
    kind_result r;
    if (!data) r.outputs.push_back({"digest", bytes(d.data.begin(), d.data.end())});
    r.facts = {{"input_bytes", std::to_string(input.size())}, {"iterations", std::to_string(n)}};
    if (data) r.facts.insert(r.facts.begin(), param{"digest", d.hex()}); // sorted by key
    r.work_units = n;
    return r;
  }

  status check_outputs(const task& t, const std::vector<bytes>&,
                       const std::vector<kind_output>& outputs,
                       const std::vector<param>& facts) const override {
    if (param_of(t, "data")) {
      auto d = std::find_if(facts.begin(), facts.end(), [](auto& f) { return f.key == "digest"; });
      if (!outputs.empty() || d == facts.end() || !hash256::from_hex(d->value))
        return fail(errc::verify_failed, "compute: expected no output file and a 'digest' fact "
                                         "of 64 hex digits");
      return {};
    }
    if (outputs.size() != 1 || outputs[0].name != "digest" || outputs[0].data.size() != 32)
      return fail(errc::verify_failed, "compute: expected one 32-byte output named 'digest'");
    return {};
  }
};

} // namespace

const task_kind& kind_compute() {
  static const compute_kind k;
  return k;
}

} // namespace poe::execution
