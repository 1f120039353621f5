#pragma once
/// @file
/// Logging through spdlog. No global registry: the node makes one logger and hands each role
/// a child whose name is "<node>/<role>", so every line names node and role:
///
///     2026-11-23T16:04:01.123 info  [n1/directory] peer 3fa9… connected (outbound 127.0.0.1:7101)

#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace poe::runtime {

using logger = std::shared_ptr<spdlog::logger>;

/// The node's logger (stderr, colour when a terminal), at `level` (see log_levels()).
logger make_node_logger(const std::string& node_name, const std::string& level);

/// A logger sharing `parent`'s sinks and level, named "<node>/<component>".
logger child_logger(const logger& parent, const std::string& node_name,
                    const std::string& component);

} // namespace poe::runtime
