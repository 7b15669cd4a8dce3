#!/usr/bin/env bash
# Installs what is missing, builds, and runs `fedrelay demo`: three nodes on loopback
# sharing a room. Extra arguments go to the demo (e.g. --keep).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
exec "$root/build/app/fedrelay" demo "$@"
