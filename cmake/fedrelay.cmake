# Helpers that give every folder the same shape: one library per folder, one test binary
# per folder, one benchmark binary per hot piece.

set(FEDRELAY_WARNINGS -Wall -Wextra -Wno-unused-parameter)

# fedrelay_add_library(NAME SOURCES a.cpp b.cpp DEPS fedrelay::x Some::lib)
# makes the static library fedrelay_NAME, aliased fedrelay::NAME. Includes are written
# from the project root ("config/settings.hpp"), so the direction of dependencies shows
# in every #include.
function(fedrelay_add_library name)
  cmake_parse_arguments(arg "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(fedrelay_${name} STATIC ${arg_SOURCES})
  add_library(fedrelay::${name} ALIAS fedrelay_${name})
  target_include_directories(fedrelay_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_options(fedrelay_${name} PRIVATE ${FEDRELAY_WARNINGS})
  target_link_libraries(fedrelay_${name} PUBLIC ${arg_DEPS} PRIVATE ${arg_PRIVATE_DEPS})
endfunction()

# fedrelay_add_test(NAME SOURCES ... DEPS ... LABEL unit|integration [TIMEOUT s] [NEEDS_BINARY])
# builds one GoogleTest binary and registers each of its tests with ctest. NEEDS_BINARY:
# the tests start the real `fedrelay` executable (its path is FEDRELAY_BINARY).
function(fedrelay_add_test name)
  cmake_parse_arguments(arg "NEEDS_BINARY" "LABEL;TIMEOUT" "SOURCES;DEPS" ${ARGN})
  if(NOT arg_LABEL)
    set(arg_LABEL unit)
  endif()
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 120)
  endif()
  add_executable(${name} ${arg_SOURCES})
  target_compile_options(${name} PRIVATE ${FEDRELAY_WARNINGS})
  target_link_libraries(${name} PRIVATE ${arg_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    FEDRELAY_BINARY="$<TARGET_FILE:fedrelay>"
    FEDRELAY_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  if(arg_NEEDS_BINARY)
    add_dependencies(${name} fedrelay)
  endif()
  gtest_discover_tests(${name}
    TEST_PREFIX "${name}."
    DISCOVERY_TIMEOUT 30
    PROPERTIES TIMEOUT ${arg_TIMEOUT} LABELS ${arg_LABEL})
endfunction()

# fedrelay_add_bench(NAME SOURCES ... DEPS ...): a Google Benchmark binary under bench/.
function(fedrelay_add_bench name)
  cmake_parse_arguments(arg "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${arg_SOURCES})
  target_compile_options(${name} PRIVATE ${FEDRELAY_WARNINGS})
  target_link_libraries(${name} PRIVATE ${arg_DEPS} benchmark::benchmark benchmark::benchmark_main)
endfunction()
