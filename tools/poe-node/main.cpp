// poe-node: hosts any mix of roles from a role profile (configs/*.ini).
#include "poe/actors/roles.hpp"
#include "poe/runtime/node.hpp"

int main(int argc, char** argv) {
  return poe::runtime::run_node(std::vector<std::string>(argv + 1, argv + argc),
                                poe::actors::builtin_roles());
}
