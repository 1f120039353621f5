#pragma once
// The task kinds an executor runs, behind one interface. Each kind lives in its own folder
// (actors/execution/kinds/<name>/kind.cpp) and defines `const task_kind& kind_<name>()`; the
// build finds the folders and generates the registry, so adding a kind touches one folder.
//
// Kinds are pure computations over bytes: no CAF, no store, no network. They run on the
// execution role's worker threads, and the verifier calls `check_outputs` (the cheap checks)
// and `run` again (a re-execution) through the same interface.

#include "poe/core/error.hpp"
#include "poe/core/objects.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace poe::execution {

struct kind_output {
  std::string name; ///< e.g. "720p.ts"
  bytes data;
};

struct kind_result {
  std::vector<kind_output> outputs;
  std::vector<param> facts;    ///< sorted by key (e.g. "720p.frames", "source.duration_ms")
  std::uint64_t work_units = 0; ///< complexity for rent (frames × renditions, iterations)
};

class task_kind {
public:
  virtual ~task_kind() = default;
  virtual std::string_view name() const = 0;
  /// The parameters and input count, before anything is fetched: every setting that affects
  /// the output must be present and valid (errc::invalid_argument names the first problem).
  virtual status check(const task& t) const = 0;
  /// Runs the task on its inputs (the bytes of each input CID, in order). Deterministic: the
  /// same task and inputs give the same outputs on every honest node.
  virtual result<kind_result> run(const task& t, const std::vector<bytes>& inputs) const = 0;
  /// The verifier's cheap checks of claimed outputs (named as `run` names them) and facts,
  /// without re-running the task.
  virtual status check_outputs(const task& t, const std::vector<bytes>& inputs,
                               const std::vector<kind_output>& outputs,
                               const std::vector<param>& facts) const = 0;
};

/// The kind named `name`, or nullptr.
const task_kind* find_kind(std::string_view name);
/// Every kind of this build, sorted.
std::vector<std::string> kind_names();

/// The value of `key` in a task's parameters, or nullptr.
const std::string* param_of(const task& t, std::string_view key);

} // namespace poe::execution
