#!/usr/bin/env bash
# Installs the Debian 12 packages fedrelay needs to build, test and benchmark.
# Idempotent: packages already present are skipped by apt.
set -euo pipefail
packages=(
  libcaf-dev libsodium-dev libboost-dev libssl-dev libldns-dev ldnsutils librocksdb-dev
  libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libcli11-dev libtoml11-dev libsimdjson-dev ninja-build ccache cmake g++ dnsmasq-base
  knot-dnsutils openssl libcurl4-openssl-dev python3 procps python3-aiosmtpd
  python3-prometheus-client chromium chromium-driver libjemalloc-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
