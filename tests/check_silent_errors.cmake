# No silent error handlers: every CAF error a role, the runtime or a tool receives is handled,
# or logged (and counted where it matters). An empty `(caf::error&) {}` handler is refused.
# Run:
#   cmake -DSOURCE_DIR=<repo> -P check_silent_errors.cmake
file(GLOB_RECURSE files
  "${SOURCE_DIR}/actors/*.hpp" "${SOURCE_DIR}/actors/*.cpp"
  "${SOURCE_DIR}/runtime/*.hpp" "${SOURCE_DIR}/runtime/*.cpp"
  "${SOURCE_DIR}/tools/*.hpp" "${SOURCE_DIR}/tools/*.cpp")
set(violations "")
set(count 0)
foreach(f IN LISTS files)
  file(RELATIVE_PATH rel "${SOURCE_DIR}" "${f}")
  file(STRINGS "${f}" hits REGEX "caf::error[ ]*&[ ]*[A-Za-z_]*[ ]*\\)[ ]*{[ ]*}")
  foreach(h IN LISTS hits)
    string(STRIP "${h}" shown)
    string(APPEND violations "  ${rel}: ${shown}\n")
    math(EXPR count "${count} + 1")
  endforeach()
endforeach()
list(LENGTH files n)
if(n EQUAL 0)
  message(FATAL_ERROR "silent-error check found no files under ${SOURCE_DIR}")
endif()
if(violations)
  message(FATAL_ERROR "${count} silent error handlers (log, count or handle the error):\n${violations}")
endif()
message(STATUS "silent errors: ${n} files, no empty error handler")
