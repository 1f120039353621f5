# Enforces the dependency graph of docs/architecture.md. Run:
#   cmake -DSOURCE_DIR=<repo> -P check_layering.cmake
#
# - The protocol core (include/poe/core, runtime/core), every state machine
#   (*_state.hpp/.cpp) and the runtime's pure logic (runtime/logic, poe_runtime_logic, and its
#   public headers below) include no CAF, RocksDB, Cap'n Proto (nor generated *.capnp.h), kj,
#   FFmpeg, prometheus-cpp or spdlog header.
# - The runtime logic includes of poe's own headers only poe/core/* and the pure runtime
#   headers, so nothing forbidden comes in through another poe header (e.g. log.hpp, role.hpp).
# - The chain's pure logic (runtime/chain, poe_chain, and include/poe/chain) is held to the
#   same rules; of poe's own headers it includes only poe/core/*, poe/chain/* and
#   poe/wire/codec.hpp (plain structs; Cap'n Proto stays inside poe_wire).
# - So is the storage role's pure logic (runtime/storage, poe_storage, include/poe/storage):
#   only poe/core/* and poe/storage/*; and the execution layer's (runtime/exec, poe_exec,
#   include/poe/exec): only poe/core/* and poe/exec/*.
set(pure_runtime_headers supervisor_state directory_state peer_auth peer_registry settings role_options
    basp_binder)

file(GLOB_RECURSE core_files
  "${SOURCE_DIR}/include/poe/core/*.hpp"
  "${SOURCE_DIR}/runtime/core/*.hpp"
  "${SOURCE_DIR}/runtime/core/*.cpp")
file(GLOB_RECURSE state_files
  "${SOURCE_DIR}/actors/*_state.hpp" "${SOURCE_DIR}/actors/*_state.cpp"
  "${SOURCE_DIR}/include/poe/*_state.hpp"
  "${SOURCE_DIR}/runtime/*_state.hpp" "${SOURCE_DIR}/runtime/*_state.cpp")
file(GLOB_RECURSE logic_files
  "${SOURCE_DIR}/runtime/logic/*.hpp" "${SOURCE_DIR}/runtime/logic/*.cpp")
file(GLOB_RECURSE chain_files
  "${SOURCE_DIR}/include/poe/chain/*.hpp"
  "${SOURCE_DIR}/runtime/chain/*.hpp" "${SOURCE_DIR}/runtime/chain/*.cpp")
file(GLOB_RECURSE storage_files
  "${SOURCE_DIR}/include/poe/storage/*.hpp"
  "${SOURCE_DIR}/runtime/storage/*.hpp" "${SOURCE_DIR}/runtime/storage/*.cpp")
set(allowed_poe_includes "poe/core/")
set(allowed_storage_includes "poe/core/" "poe/storage/")
file(GLOB_RECURSE exec_files
  "${SOURCE_DIR}/include/poe/exec/*.hpp"
  "${SOURCE_DIR}/runtime/exec/*.hpp" "${SOURCE_DIR}/runtime/exec/*.cpp")
set(allowed_exec_includes "poe/core/" "poe/exec/")
# The chain reads executors' task results (fraud evidence) and verifiers' receipts through
# poe_wire's codec header, which carries no Cap'n Proto type.
set(allowed_chain_includes "poe/core/" "poe/chain/" "poe/wire/codec.hpp")
foreach(h IN LISTS pure_runtime_headers)
  set(f "${SOURCE_DIR}/include/poe/runtime/${h}.hpp")
  if(NOT EXISTS "${f}")
    message(FATAL_ERROR "layering check: pure runtime header ${f} is missing "
                        "(renamed? update pure_runtime_headers in check_layering.cmake)")
  endif()
  list(APPEND logic_files "${f}")
  list(APPEND allowed_poe_includes "poe/runtime/${h}.hpp")
endforeach()

set(checked ${core_files} ${state_files} ${logic_files} ${chain_files} ${storage_files}
            ${exec_files})
list(REMOVE_DUPLICATES checked)
set(violations "")
set(count 0)
foreach(f IN LISTS checked)
  file(RELATIVE_PATH rel "${SOURCE_DIR}" "${f}")
  file(STRINGS "${f}" hits REGEX
    "^[ \t]*#[ \t]*include[ \t]*[<\"](caf/|rocksdb/|capnp/|kj/|libav|libsw|prometheus/|spdlog/|[^>\"]*\\.capnp\\.h)")
  foreach(h IN LISTS hits)
    string(APPEND violations "  ${rel}: ${h}\n")
    math(EXPR count "${count} + 1")
  endforeach()
endforeach()
# Reports every include of a poe header in `files` that starts with none of `prefixes`.
function(check_poe_includes files prefixes what)
  foreach(f IN LISTS files)
    file(RELATIVE_PATH rel "${SOURCE_DIR}" "${f}")
    file(STRINGS "${f}" hits REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]poe/")
    foreach(h IN LISTS hits)
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*[<\"](poe/[^>\"]*)[>\"].*$" "\\1" inc "${h}")
      set(ok FALSE)
      foreach(prefix IN LISTS prefixes)
        string(FIND "${inc}" "${prefix}" at)
        if(at EQUAL 0)
          set(ok TRUE)
        endif()
      endforeach()
      if(NOT ok)
        string(APPEND violations "  ${rel}: ${h}  (${what})\n")
        math(EXPR count "${count} + 1")
      endif()
    endforeach()
  endforeach()
  set(violations "${violations}" PARENT_SCOPE)
  set(count "${count}" PARENT_SCOPE)
endfunction()
check_poe_includes("${logic_files}" "${allowed_poe_includes}"
  "runtime logic may include only poe/core/* and the pure runtime headers")
check_poe_includes("${chain_files}" "${allowed_chain_includes}"
  "chain logic may include only poe/core/* and poe/chain/*")
check_poe_includes("${storage_files}" "${allowed_storage_includes}"
  "storage logic may include only poe/core/* and poe/storage/*")
check_poe_includes("${exec_files}" "${allowed_exec_includes}"
  "execution logic may include only poe/core/* and poe/exec/*")
# A role's state machine (actors/<role>/*_state.*) may use the pure layers below it: core,
# chain, exec, storage logic, the wire codecs' plain structs, the pure runtime headers.
set(allowed_state_includes ${allowed_poe_includes} "poe/chain/" "poe/exec/" "poe/storage/"
                           "poe/wire/codec.hpp")
check_poe_includes("${state_files}" "${allowed_state_includes}"
  "a state machine may include only the pure layers (core, chain, exec, storage, wire codecs)")

list(LENGTH core_files n_core)
list(LENGTH logic_files n_logic)
list(LENGTH chain_files n_chain)
list(LENGTH storage_files n_storage)
list(LENGTH state_files n_state)
list(LENGTH checked n)
if(n_core EQUAL 0)
  message(FATAL_ERROR "layering check found no core files under ${SOURCE_DIR}")
endif()
if(n_state EQUAL 0)
  message(FATAL_ERROR "layering check found no state machine (*_state.*) under ${SOURCE_DIR}")
endif()
if(violations)
  message(FATAL_ERROR "${count} forbidden includes in core, state-machine, runtime-logic and "
                      "chain files:\n${violations}")
endif()
message(STATUS "layering: ${n} files clean (${n_core} core, ${n_state} state machines, "
               "${n_logic} runtime logic, ${n_chain} chain, ${n_storage} storage)")
