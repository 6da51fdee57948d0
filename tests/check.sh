#!/bin/bash
# check.sh - everything `make check` runs: a clang build, unit tests, integration tests; one closing line.
#
# Usage: tests/check.sh BUILD-DIR   (the Makefile passes its $(BUILD))
set -u
B=${1:-build}
cd "$(dirname "$0")/.." || exit 2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-check.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
status=0
passed=0 failed=0

count() { # count FILE: add the ok / not ok lines of a TAP log
	passed=$((passed + $(grep -c '^ok ' "$1"))); failed=$((failed + $(grep -c '^not ok ' "$1")))
}

echo "== clang build (warnings are errors)"
if make -s CC=clang BUILD=build-clang WERROR=1 -j2 build-clang/kestrel build-clang/libkestrel.a >"$tmp/clang" 2>&1; then
	passed=$((passed + 1)); echo "ok - kestrel builds with clang, -Werror"
else
	failed=$((failed + 1)); echo "not ok - clang build"; cat "$tmp/clang"; status=1
fi

echo "== unit tests"
tests/unit/run.sh "$B"/tests/test_* | tee "$tmp/unit" || status=1
count "$tmp/unit"

echo "== integration tests"
KESTREL="$B/kestrel" GUESTS="$B/guests" tests/integration/run.sh | tee "$tmp/it" || status=1
count "$tmp/it"

echo
echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ] || status=1
exit $status
