#!/usr/bin/env bash
# Installs what is missing, builds, and runs one fedrelay node on loopback with the
# settings in ./run/node.toml (written from examples/node.toml on first use).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
mkdir -p "$root/run"
if [ ! -f "$root/run/node.toml" ]; then
  # A token of its own: the example's is known to anyone who reads it.
  token=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  sed "s/^token = \"change-me\"/token = \"$token\"/" "$root/examples/node.toml" >"$root/run/node.toml"
  chmod 600 "$root/run/node.toml"
  echo "wrote $root/run/node.toml with a local API token of its own (edit it to join the real network)"
fi
"$root/build/app/fedrelay" keygen -c "$root/run/node.toml" >/dev/null
"$root/build/app/fedrelay" dns-records -c "$root/run/node.toml"
exec "$root/build/app/fedrelay" run -c "$root/run/node.toml"
