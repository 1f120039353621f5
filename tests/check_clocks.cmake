# Time and randomness are inputs: nothing under actors/ reads a clock or an entropy source of
# its own. Roles get both from their node through role_context (clock: the system clock in
# poe-node, simulated time under the harness; rng(): seeded per node and role), so a harness
# run replays from its seed. Run:
#   cmake -DSOURCE_DIR=<repo> -P check_clocks.cmake
# Comments are not exempt: name the rule, not the forbidden call, when writing about it.
file(GLOB_RECURSE files
  "${SOURCE_DIR}/actors/*.hpp" "${SOURCE_DIR}/actors/*.cpp" "${SOURCE_DIR}/actors/*.in")
set(forbidden
  "system_clock" "steady_clock" "high_resolution_clock" "random_device" "gettimeofday"
  "clock_gettime" "std::time(" "std::rand(" "srand(" "getrandom(" "/dev/urandom")
set(violations "")
set(count 0)
foreach(f IN LISTS files)
  file(RELATIVE_PATH rel "${SOURCE_DIR}" "${f}")
  file(STRINGS "${f}" lines)
  foreach(word IN LISTS forbidden)
    foreach(line IN LISTS lines)
      string(FIND "${line}" "${word}" at)
      if(NOT at EQUAL -1)
        string(STRIP "${line}" shown)
        string(APPEND violations "  ${rel}: ${word}: ${shown}\n")
        math(EXPR count "${count} + 1")
      endif()
    endforeach()
  endforeach()
endforeach()
list(LENGTH files n)
if(n EQUAL 0)
  message(FATAL_ERROR "clock check found no files under ${SOURCE_DIR}/actors")
endif()
if(violations)
  message(FATAL_ERROR "${count} clock or entropy reads under actors/ (use role_context::clock "
                      "and role_context::rng()):\n${violations}")
endif()
message(STATUS "clocks: ${n} files under actors/ read no clock and no entropy source")
