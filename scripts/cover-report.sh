#!/usr/bin/env bash
# cover-report.sh PROFILE MIN: the per-package table and the total of a coverage profile written by
# `go test -coverpkg=... -coverprofile=PROFILE ./...`, then exit 1 when the total is below MIN %.
#
# With -coverpkg every test binary reports every instrumented block, so one block appears once per
# test binary; a block counts as covered when any binary ran it (what `go tool cover` does too).
# Packages are listed with the most uncovered statements first: that is where tests are missing.
set -euo pipefail
profile=${1:?usage: cover-report.sh PROFILE MIN}
min=${2:?usage: cover-report.sh PROFILE MIN}
[ -s "$profile" ] || { echo "cover-report: $profile is missing or empty" >&2; exit 1; }

awk -v min="$min" '
  /^mode:/ { next }
  {
    block = $1; n = $2 + 0; hit = ($3 + 0) > 0
    if (!(block in stmts)) {
      stmts[block] = n
      file = block; sub(/:[^:]*$/, "", file)
      pkg = file; sub(/\/[^\/]*$/, "", pkg)
      pkgof[block] = pkg
    }
    if (hit) covered[block] = 1
  }
  END {
    for (b in stmts) {
      p = pkgof[b]; total[p] += stmts[b]; all += stmts[b]
      if (b in covered) { done[p] += stmts[b]; alldone += stmts[b] }
    }
    if (all == 0) { print "cover-report: no statements in the profile" > "/dev/stderr"; exit 1 }
    cmd = "sort -k3,3nr -k1,1"
    printf "%-48s %8s %9s %7s\n", "package", "stmts", "uncovered", "cover"
    fflush()
    for (p in total) {
      short = p; sub(/^github\.com\/mutt-ops\/mutt\//, "", short)
      printf "%-48s %8d %9d %6.1f%%\n", short, total[p], total[p] - done[p], 100 * done[p] / total[p] | cmd
    }
    close(cmd)
    pct = int(1000 * alldone / all) / 10 # truncated, so a printed 80.0 is never a failing 79.96
    printf "total: %d of %d statements outside main packages covered: %.1f %% (minimum %s %%)\n", alldone, all, pct, min
    if (pct + 0 < min + 0) { printf "make cover: coverage %.1f %% is below the minimum %s %%\n", pct, min; exit 1 }
  }
' "$profile"
