// Kind "compute": a generic deterministic computation, the Proof-of-Compute path of seed 002.
// An iterated SHA-256 chain over the input: digest_0 = SHA-256(input), digest_k =
// SHA-256(digest_{k-1}); the output is digest_N. Cheap to specify, exactly reproducible, and
// its cost is set by the task (`iterations`, 1 .. 100,000,000). One input.
#include "task_kind.hpp"

#include "poe/core/sha256.hpp"

#include <charconv>

namespace poe::execution {

namespace {

constexpr std::uint64_t max_iterations = 100'000'000;

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
    if (t.inputs.size() != 1)
      return fail(errc::invalid_argument, "compute: exactly one input, got " +
                                            std::to_string(t.inputs.size()));
    for (auto& p : t.params)
      if (p.key != "iterations")
        return fail(errc::invalid_argument, "compute: unknown parameter '" + p.key + "'");
    auto n = iterations_of(t);
    if (!n) return n.err();
    return {};
  }

  result<kind_result> run(const task& t, const std::vector<bytes>& inputs) const override {
    if (auto st = check(t); !st) return st.err();
    auto n = *iterations_of(t);
    auto d = sha256::digest(inputs.at(0));
    sha256 h;
    for (std::uint64_t i = 1; i < n; ++i) d = h.update(d.view()).finish();
    kind_result r;
    r.outputs.push_back({"digest", bytes(d.data.begin(), d.data.end())});
    r.facts = {{"input_bytes", std::to_string(inputs[0].size())},
               {"iterations", std::to_string(n)}};
    r.work_units = n;
    return r;
  }

  status check_outputs(const task& t, const std::vector<bytes>&,
                       const std::vector<kind_output>& outputs) const override {
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
