#include "poe/runtime/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace poe::runtime {

logger make_node_logger(const std::string& node_name, const std::string& level) {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto log = std::make_shared<spdlog::logger>(node_name + "/node", sink);
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v");
  log->set_level(spdlog::level::from_str(level));
  log->flush_on(spdlog::level::warn);
  return log;
}

logger child_logger(const logger& parent, const std::string& node_name,
                    const std::string& component) {
  auto log = parent->clone(node_name + "/" + component);
  return log;
}

} // namespace poe::runtime
