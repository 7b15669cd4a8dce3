# Finds every third-party library fedrelay uses; all come from Debian 12 packages
# (scripts/install-deps.sh). CAF 0.17 ships no CMake package, so it gets imported targets.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(Boost 1.74 REQUIRED CONFIG)
find_package(OpenSSL REQUIRED)
find_package(RocksDB 7.8 REQUIRED CONFIG)
find_package(nlohmann_json 3.11 REQUIRED CONFIG)
find_package(fmt REQUIRED CONFIG)
find_package(spdlog REQUIRED CONFIG)
find_package(CLI11 REQUIRED CONFIG)
find_package(toml11 REQUIRED CONFIG)
find_package(CURL REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(LDNS REQUIRED IMPORTED_TARGET ldns)
# The fedrelay binary allocates with jemalloc: measured with relay_bench, glibc's malloc
# and free were 10-15 % of each node's CPU, and jemalloc gave 5-10 % more relay and drain
# throughput (docs/PERFORMANCE.md). Its settings are in app/main.cpp.
pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)

find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIB caf_core REQUIRED)
find_library(CAF_IO_LIB caf_io REQUIRED)
add_library(CAF::core SHARED IMPORTED)
set_target_properties(CAF::core PROPERTIES IMPORTED_LOCATION ${CAF_CORE_LIB}
  INTERFACE_INCLUDE_DIRECTORIES ${CAF_INCLUDE_DIR} INTERFACE_LINK_LIBRARIES Threads::Threads)
add_library(CAF::io SHARED IMPORTED)
set_target_properties(CAF::io PROPERTIES IMPORTED_LOCATION ${CAF_IO_LIB}
  INTERFACE_LINK_LIBRARIES CAF::core)

if(FEDRELAY_BUILD_TESTS)
  find_package(GTest REQUIRED CONFIG)
endif()
if(FEDRELAY_BUILD_BENCH)
  find_package(benchmark REQUIRED CONFIG)
endif()
