#!/usr/bin/env bash
# vulncheck.sh — govulncheck against an offline copy of the Go vulnerability database (vuln.go.dev is not
# reachable from our machines). The database is built from the golang.org/x/vulndb module that the Go
# module proxy serves, with that module's own cmd/indexdb, once per vulndb version, and cached outside the
# tree. Fails on any reachable (symbol-level) finding. docs/SECURITY.md says how to update the version.
#
#   scripts/vulncheck.sh            build the database if needed, self-check it, check ./...
#   scripts/vulncheck.sh db         build the database if needed and print its directory
set -euo pipefail
cd "$(dirname "$0")/.."
go=${GO:-go}
# The newest golang.org/x/vulndb the module proxy serves: `go list -m golang.org/x/vulndb@latest`.
ver=${VULNDB_VERSION:-v0.0.0-20261105234957-e22db6528018}
cache=${MUTT_VULNDB_CACHE:-$("$go" env GOCACHE)/../mutt-vulndb}
db=$cache/$ver

if [ ! -s "$db/index/db.json" ]; then
  echo "vulncheck: building the vulnerability database from golang.org/x/vulndb@$ver (once per version)"
  src=$("$go" mod download -json "golang.org/x/vulndb@$ver" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$src/data/osv" ] || { echo "vulncheck: golang.org/x/vulndb@$ver has no data/osv" >&2; exit 1; }
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  # indexdb refuses an existing output directory.
  "$go" run "golang.org/x/vulndb/cmd/indexdb@$ver" -vulns "$src/data/osv" -out "$tmp/db"
  # Other versions are stale once this one is built; rename last so a killed build is never used.
  find "$cache" -mindepth 1 -maxdepth 1 -name 'v*' ! -name "$ver" -exec rm -rf {} +
  rm -rf "$db"
  mv "$tmp/db" "$db"
fi
[ "${1:-}" = db ] && { echo "$db"; exit 0; }

govulncheck() { "$go" tool -modfile=tools/go.mod govulncheck -db "file://$db" "$@"; }

# Self-check: a tiny module that calls a vulnerable x/text symbol must be reported (exit status 3), so an
# empty or unreadable database can never pass as "No vulnerabilities found".
rc=0
out=$(govulncheck -C scripts/testdata/vulnfixture ./... 2>&1) || rc=$?
if [ "$rc" -ne 3 ] || ! grep -q 'GO-2020-0015' <<<"$out"; then
  echo "$out" >&2
  echo "vulncheck: self-check failed: govulncheck did not report GO-2020-0015 in scripts/testdata/vulnfixture (exit $rc); is $db a complete database?" >&2
  exit 1
fi

govulncheck ./...
