#!/usr/bin/env bash
# Installs what is missing, then configures and builds fedrelay into ./build (Release,
# Ninja, ccache). Usage: scripts/build.sh [extra cmake args]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/install-deps.sh"
# ccache hits across clones at different paths need both of these (see docs/BUILDING.md).
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build -G Ninja "${launcher[@]}" "$@" >/dev/null
cmake --build build -j "$(nproc)"
