#!/bin/sh
# run.sh - run TAP unit-test binaries, show their output, and total the ok / not ok lines.
#
# Usage: tests/unit/run.sh build/tests/test_*
# Ends with exactly "N passed, N failed" and exits 1 if any check failed or any
# binary crashed, exited non-zero, or printed a plan that disagrees with its checks.

if [ $# -eq 0 ]; then
	echo "usage: $0 TEST-BINARY..." >&2
	exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-unit.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

passed=0
failed=0
broken=""

for bin in "$@"; do
	echo "# $bin"
	if [ ! -x "$bin" ]; then
		echo "# $bin: not an executable file"
		broken="$broken $bin"
		continue
	fi
	# Stream the output (a hanging test is visible) and keep a copy to count;
	# the exit status has to travel out of the pipeline through a file.
	{ "$bin" 2>&1; echo $? >"$tmp/rc"; } | tee "$tmp/out"
	rc=$(cat "$tmp/rc")
	ok=$(grep -c '^ok ' "$tmp/out")
	nok=$(grep -c '^not ok ' "$tmp/out")
	passed=$((passed + ok))
	failed=$((failed + nok))

	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$tmp/out" | tail -n 1)
	if [ "$rc" -gt 128 ]; then
		echo "# $bin: killed by signal $((rc - 128))"
		broken="$broken $bin"
	elif [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
		echo "# $bin: exited with status $rc but reported no failed check"
		broken="$broken $bin"
	elif [ -z "$plan" ]; then
		echo "# $bin: no '1..N' plan line (did it stop early?)"
		broken="$broken $bin"
	elif [ "$plan" -ne $((ok + nok)) ]; then
		echo "# $bin: plan says $plan checks but $((ok + nok)) ran"
		broken="$broken $bin"
	elif [ "$rc" -ne 0 ]; then
		broken="$broken $bin"
	fi
done

if [ -n "$broken" ]; then
	echo "# failing binaries:$broken"
fi
echo "$passed passed, $failed failed"
if [ "$failed" -ne 0 ] || [ -n "$broken" ]; then
	exit 1
fi
exit 0
