#!/usr/bin/env bash
# Installs what is missing, then configures and builds fedrelay into ./build (Release,
# Ninja, ccache). Usage: scripts/build.sh [extra cmake args]; FEDRELAY_BUILD_DIR names
# another build directory (scripts/sanitize.sh uses build-sanitize).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/install-deps.sh"
# ccache hits across clones at different paths need both of these (see docs/BUILDING.md).
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
build_dir=${FEDRELAY_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja "${launcher[@]}" "$@" >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
