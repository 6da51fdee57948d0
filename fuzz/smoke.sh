#!/bin/bash
# smoke.sh - replay every fuzz target's regression inputs, then fuzz each one briefly; TAP-style lines.
#
# Usage: [FUZZ_SECONDS=20] [FUZZ_JOBS=2] fuzz/smoke.sh BUILD-FUZZ-DIR
# For each build-fuzz/fuzz_<name>:
#   - every file in fuzz/regressions/<name>/ is run once (an input that once
#     crashed must not crash again);
#   - the target fuzzes for FUZZ_SECONDS from fuzz/corpus/<name>/ (new inputs
#     go to a scratch directory, so the repository does not change).
# FUZZ_JOBS targets run at a time. A crash input is kept in
# BUILD-FUZZ-DIR/artifacts/ and named in the "not ok" line.
set -u
B=${1:-build-fuzz}
S=${FUZZ_SECONDS:-20}
J=${FUZZ_JOBS:-2}
cd "$(dirname "$0")/.." || exit 2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-fuzz.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$B/artifacts"

bins=("$B"/fuzz_*)
if [ ! -x "${bins[0]}" ]; then
	echo "not ok - no fuzz targets in $B (run 'make fuzz')"
	exit 1
fi

# fuzz_one NAME: writes $tmp/NAME.{reg,run} (exit statuses) and .log files.
fuzz_one() {
	local name=$1 bin=$B/fuzz_$1 dict=() regs=()
	[ -f "fuzz/dict/$name.dict" ] && dict=(-dict="fuzz/dict/$name.dict")
	regs=(fuzz/regressions/"$name"/*)
	if [ -e "${regs[0]}" ]; then
		"$bin" -runs=1 "${regs[@]}" >"$tmp/$name.reglog" 2>&1
		echo $? >"$tmp/$name.reg"
	fi
	mkdir -p "$tmp/$name.corpus"
	"$bin" "${dict[@]}" -max_total_time="$S" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$B/artifacts/$name-" "$tmp/$name.corpus" "fuzz/corpus/$name" \
		>"$tmp/$name.log" 2>&1
	echo $? >"$tmp/$name.run"
}

names=()
for bin in "${bins[@]}"; do
	names+=("${bin##*/fuzz_}")
done
running=0
for name in "${names[@]}"; do
	fuzz_one "$name" &
	running=$((running + 1))
	if [ "$running" -ge "$J" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

status=0
n=0
for name in "${names[@]}"; do
	if [ -f "$tmp/$name.reg" ]; then
		n=$((n + 1))
		count=$(find "fuzz/regressions/$name" -type f | wc -l)
		if [ "$(cat "$tmp/$name.reg")" -eq 0 ]; then
			echo "ok $n - fuzz_$name: $count regression input(s) replayed"
		else
			echo "not ok $n - fuzz_$name: a regression input crashes again"
			sed 's/^/#   /' "$tmp/$name.reglog" | grep -v '^#   INFO' | head -40
			status=1
		fi
	fi
	n=$((n + 1))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$name.log")
	if [ "$(cat "$tmp/$name.run")" -eq 0 ]; then
		echo "ok $n - fuzz_$name: ${execs:-?} executions in ${S} s, no finding"
	else
		echo "not ok $n - fuzz_$name: finding after ${execs:-?} executions"
		grep -E 'ERROR|contract broken|runtime error|artifact_prefix|Test unit written' "$tmp/$name.log" |
			head -10 | sed 's/^/#   /'
		status=1
	fi
done
exit $status
