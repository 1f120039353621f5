# Enforces the dependency graph of docs/architecture.md: the protocol core (include/poe/core,
# runtime/core) and every state machine (*_state.hpp/.cpp) include no CAF, RocksDB,
# Cap'n Proto, kj or FFmpeg header. Run: cmake -DSOURCE_DIR=<repo> -P check_layering.cmake
file(GLOB_RECURSE core_files
  "${SOURCE_DIR}/include/poe/core/*.hpp"
  "${SOURCE_DIR}/runtime/core/*.hpp"
  "${SOURCE_DIR}/runtime/core/*.cpp")
file(GLOB_RECURSE state_files
  "${SOURCE_DIR}/actors/*_state.hpp" "${SOURCE_DIR}/actors/*_state.cpp"
  "${SOURCE_DIR}/runtime/*_state.hpp" "${SOURCE_DIR}/runtime/*_state.cpp")
set(violations "")
foreach(f IN LISTS core_files state_files)
  file(STRINGS "${f}" hits REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"](caf/|rocksdb/|capnp/|kj/|libav|libsw)")
  foreach(h IN LISTS hits)
    file(RELATIVE_PATH rel "${SOURCE_DIR}" "${f}")
    string(APPEND violations "  ${rel}: ${h}\n")
  endforeach()
endforeach()
list(LENGTH core_files n)
if(n EQUAL 0)
  message(FATAL_ERROR "layering check found no core files under ${SOURCE_DIR}")
endif()
if(violations)
  message(FATAL_ERROR "core/state-machine files include forbidden headers:\n${violations}")
endif()
message(STATUS "layering: ${n} core files clean")
