#!/usr/bin/env bash
# Fails when an #include goes against the direction of DESIGN.md section 10:
# app -> net -> actors -> {config, crypto, storage}, and third-party headers stay in the
# one folder that owns them (sodium: crypto, RocksDB: storage, Beast/Asio/ldns: net .cpp).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
status=0
check() {  # folder, forbidden include pattern, why
  local hits
  hits=$(grep -rnE "#include *[<\"]($2)" "$1" 2>/dev/null)
  if [ -n "$hits" ]; then
    echo "layering: $1 must not include $2 ($3):"
    echo "$hits"
    status=1
  fi
}
check config "actors/|net/|storage/|crypto/|app/" "config knows no other folder"
check crypto "actors/|net/|storage/|config/|app/" "crypto knows no other folder"
check storage "actors/|net/|crypto/|config/|app/" "storage knows no other folder"
check actors "net/|app/|boost/|rocksdb/|ldns/|sodium.h" "the domain core declares ports; net implements them"
check net "app/" "net is below app"
check "config actors net app" "sodium.h" "only crypto/ includes libsodium"
for f in $(ls config/* actors/* net/* app/* crypto/* 2>/dev/null | grep -v '^storage/'); do
  grep -qE '#include *<rocksdb/' "$f" && { echo "layering: $f includes RocksDB (only storage/ may)"; status=1; }
done
# The net headers app/ uses are its public ones: they must be Beast-, Asio- and ldns-free.
for f in $(grep -rhoE '#include *"net/[a-z_]+\.hpp"' app | sed -E 's/.*"(net\/[a-z_]+\.hpp)"/\1/' | sort -u); do
  grep -qE '#include *<(boost/|ldns/)' "$f" && { echo "layering: $f (used by app/) includes Beast/Asio/ldns"; status=1; }
done
ldns_users=$(grep -lE '#include *<ldns/' net/*.cpp | wc -l)
[ "$ldns_users" -le 1 ] || { echo "layering: ldns is included by $ldns_users files (keep it in one)"; status=1; }
[ $status -eq 0 ] && echo "layering: ok"
exit $status
