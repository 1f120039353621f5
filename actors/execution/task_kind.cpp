#include "task_kind.hpp"

namespace poe::execution {

const std::string* param_of(const task& t, std::string_view key) {
  for (auto& p : t.params)
    if (p.key == key) return &p.value;
  return nullptr;
}

} // namespace poe::execution
