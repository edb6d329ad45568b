#!/usr/bin/env bash
# make fuzz: every fuzz target of the module (or of the packages given as arguments) for FUZZTIME each.
#
# Each package with fuzz targets gets one fuzz-instrumented test binary (`go test -c -fuzz=.`), and every
# target of the package runs from it, as `go test -fuzz` would run it: in the package's directory (so the
# seed corpus in testdata/fuzz/FuzzX is read and a failing input is written there) and with the go
# command's own corpus cache ($GOCACHE/fuzz/<import path>). The old loop re-linked and re-instrumented a
# test binary per target.
#
# FUZZJOBS targets run at once (default: the number of CPUs), each with FUZZPARALLEL fuzzing worker
# processes (default 1), so the machine's CPUs stay busy without oversubscribing them.
# Any failure fails the run (exit 1) after every target ran, naming each failed target, its package and
# the failing input written under the package's testdata/fuzz/, with the command that re-runs it.
#
# Usage: scripts/fuzz.sh [packages]   (default ./...; run from the module's root)
set -euo pipefail
if [ "${BASH_VERSINFO[0]}" -lt 5 ] || { [ "${BASH_VERSINFO[0]}" -eq 5 ] && [ "${BASH_VERSINFO[1]}" -lt 1 ]; }; then
	echo "make fuzz: needs bash 5.1 or later (this is $BASH_VERSION; on macOS: brew install bash)" >&2
	exit 2
fi

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
FUZZJOBS=${FUZZJOBS:-$(nproc 2>/dev/null || echo 2)}
FUZZPARALLEL=${FUZZPARALLEL:-1}
[ $# -gt 0 ] || set -- ./...
if ! [ "$FUZZJOBS" -ge 1 ] 2>/dev/null || ! [ "$FUZZPARALLEL" -ge 1 ] 2>/dev/null; then
	echo "make fuzz: FUZZJOBS ($FUZZJOBS) and FUZZPARALLEL ($FUZZPARALLEL) must be whole numbers of at least 1" >&2
	exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mutt-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
cache=$("$GO" env GOCACHE)/fuzz
root=$PWD

# One go list: each package's import path, directory and test files (build constraints applied).
# A target is a line "import/path dir FuzzName".
"$GO" list -f '{{.ImportPath}} {{.Dir}}{{range .TestGoFiles}} {{.}}{{end}}{{range .XTestGoFiles}} {{.}}{{end}}' "$@" |
	while read -r pkg dir files; do
		[ -n "$files" ] || continue
		for f in $(cd "$dir" && grep -ho '^func Fuzz[A-Za-z0-9_]*' $files | sed 's/^func //'); do
			echo "$pkg $dir $f"
		done
	done >"$work/targets"
ntargets=$(wc -l <"$work/targets")
npkgs=$(cut -d' ' -f1 "$work/targets" | sort -u | wc -l)
if [ "$ntargets" -eq 0 ]; then
	echo "make fuzz: no fuzz targets in $*"
	exit 0
fi
echo "make fuzz: $ntargets targets in $npkgs packages, $FUZZTIME each, $FUZZJOBS at a time ($FUZZPARALLEL worker(s) each)"

# bin names the test binary of a package.
bin() { echo "$work/$(echo "$1" | tr '/.' '__').test"; }

# Run "$@" in the background, at most FUZZJOBS at once; report a finished job through on_done.
declare -A running=()
reap() {
	local pid
	wait -n -p pid || true
	on_done "${running[$pid]}"
	unset "running[$pid]"
}
spawn() {
	while [ "${#running[@]}" -ge "$FUZZJOBS" ]; do reap; done
	"$@" &
	running[$!]=$*
}
drain() { while [ "${#running[@]}" -gt 0 ]; do reap; done; }

# 1. One instrumented test binary per package.
build() {
	local rc=0
	"$GO" test -c -fuzz=. -o "$(bin "$1")" "$1" >"$(bin "$1").log" 2>&1 || rc=$?
	echo $rc >"$(bin "$1").rc"
}
on_done() {
	local pkg=${1#build }
	if [ "$(cat "$(bin "$pkg").rc")" != 0 ]; then
		cat "$(bin "$pkg").log"
		echo "make fuzz: building the fuzz test binary of $pkg failed (above)" | tee -a "$work/failed"
	fi
}
for pkg in $(cut -d' ' -f1 "$work/targets" | sort -u); do spawn build "$pkg"; done
drain
if [ -s "$work/failed" ]; then exit 1; fi

# 2. Every target from its package's binary, in the package's directory (on_done now reports a target).
fuzz() {
	local pkg=$1 dir=$2 target=$3 log="$work/$4.log" rc=0
	(cd "$dir" && "$(bin "$pkg")" -test.run='^$' -test.fuzz="^$target\$" -test.fuzztime="$FUZZTIME" \
		-test.parallel="$FUZZPARALLEL" -test.fuzzcachedir="$cache/$pkg") >"$log" 2>&1 || rc=$?
	echo $rc >"$work/$4.rc"
}
on_done() {
	# shellcheck disable=SC2086 # the job's words: fuzz pkg dir target n
	set -- $1
	local pkg=$2 dir=$3 target=$4 log="$work/$5.log" rc rel input
	rc=$(cat "$work/$5.rc")
	rel=${dir#"$root"/}
	if [ "$rc" = 0 ] && grep -q 'no fuzz tests to fuzz' "$log"; then
		echo "FAIL $pkg $target: the test binary has no such fuzz test"
		echo "  $target ($pkg): not fuzzed: the test binary has no fuzz test of that name (is it a func $target(f *testing.F)?)" >>"$work/failed"
		return
	fi
	if [ "$rc" = 0 ]; then
		echo "ok   $pkg $target  $(grep -o 'elapsed: .*' "$log" | tail -1)"
		return
	fi
	echo "FAIL $pkg $target (exit $rc):"
	sed 's/^/    /' "$log"
	input=$(sed -n 's/.*Failing input written to \(testdata\/fuzz\/[^ ]*\).*/\1/p' "$log" | tail -1)
	if [ -n "$input" ]; then
		echo "  $target ($pkg): failing input $rel/$input; re-run: go test -run='^$target/${input##*/}\$' ./$rel" >>"$work/failed"
	else
		echo "  $target ($pkg): failed without a new failing input (a seed or corpus entry, or the test setup; output above); re-run: go test -run='^$target\$' ./$rel" >>"$work/failed"
	fi
}
n=0
while read -r pkg dir target; do
	n=$((n + 1))
	spawn fuzz "$pkg" "$dir" "$target" "$n"
done <"$work/targets"
drain

if [ -s "$work/failed" ]; then
	echo "make fuzz: $(wc -l <"$work/failed") of $ntargets fuzz targets failed:"
	cat "$work/failed"
	exit 1
fi
echo "make fuzz: all $ntargets fuzz targets passed"
