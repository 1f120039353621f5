#pragma once
/// @file
/// The node host behind `poe-node`: loads and validates the configuration, opens the store,
/// starts metrics, the directory (published on one port, TLS unless told otherwise) and the
/// supervisor with the configured roles, then waits for SIGINT/SIGTERM (orderly shutdown,
/// exit 0) or for the supervisor to give up (exit 1). Configuration errors exit 2.

#include "poe/runtime/role.hpp"

#include <string>
#include <vector>

namespace poe::runtime {

/// Runs a node with `roles` as the known roles; returns the process exit code.
int run_node(std::vector<std::string> args, const role_registry& roles);

} // namespace poe::runtime
