#!/usr/bin/env bash
# fuzz-one.sh PKG TARGET FUZZTIME — run one fuzz target; retry once when the run failed only with Go's
# fuzztime deadline race (golang/go#75804: "context deadline exceeded", no failing input written).
set -uo pipefail
pkg=$1 target=$2 fuzztime=$3
go=${GO:-go}
run() { "$go" test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg" 2>&1 | tee "$out"; return "${PIPESTATUS[0]}"; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
run && exit 0
if grep -q 'context deadline exceeded' "$out" && ! grep -q 'Failing input written' "$out"; then
  echo "fuzz-one: ${target}: Go's fuzztime deadline race (golang/go#75804), no failing input: retrying once"
  run && exit 0
fi
exit 1
