#!/bin/bash
# tsc-calib.sh - lapic-calib cold start with the TSC rate in CPUID (after) vs --no-cpuid-tsc (before: PIT
# calibration); interleaved runs, medians and spread, plus port-access counts from kvm:kvm_pio.
#
# Usage: bench/tsc-calib.sh [RUNS] [TICKS]      (defaults 20 and 20; run `make` first)
# Each run is one `kestrel run` process, exec to exit, timed from the shell: before and after
# alternate (B A B A ...). TICKS is the guest's periodic-tick count (its default; 5 at least):
# fewer ticks shorten the run, but on a busy host a short tick check can fail.
# Port counts need perf and permission for the kvm tracepoints (root); without them that part is
# skipped. PERF_RUNS (default 5) runs of each are counted; the median is shown.
set -eu
cd "$(dirname "$0")/.."
K=${KESTREL:-build/kestrel} G=${GUESTS:-build/guests}
RUNS=${1:-20} TICKS=${2:-20} PERF_RUNS=${PERF_RUNS:-5}
BEFORE=--no-cpuid-tsc AFTER=
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-tsc.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

for f in "$K" "$G/lapic-calib.elf" "$G/hello.elf"; do
	[ -e "$f" ] || { echo "tsc-calib: $f is missing; run make first" >&2; exit 2; }
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
spread() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END{print a[1] "-" a[NR]}'; }
now_ns() { date +%s%N; }

# one OPTS: run the guest once; prints "wall-us calibration-us method". Any failure ends the benchmark.
one() {
	local t0 t1
	t0=$(now_ns)
	if ! $K run $1 $G/lapic-calib.elf -- $TICKS >"$tmp/out" 2>&1; then
		echo "tsc-calib: lapic-calib failed (options '$1'):" >&2
		cat "$tmp/out" >&2
		exit 1
	fi
	t1=$(now_ns)
	echo "$(((t1 - t0) / 1000)) $(sed -n 's/.*calibration took \([0-9]*\) us.*/\1/p' "$tmp/out")" \
		"$(sed -n 's/.*KESTREL-LAPIC-CALIB-OK method=\([a-z]*\).*/\1/p' "$tmp/out")"
}

bench/host-info.sh
echo "runs: $RUNS each, interleaved; guest: lapic-calib -- $TICKS; before = $BEFORE, after = default"
declare -A wall cal method
for ((r = 0; r < RUNS; r++)); do
	for side in before after; do
		opts=$BEFORE
		[ $side = after ] && opts=$AFTER
		res=$(one "$opts") || exit 1
		read -r w c m <<<"$res"
		wall[$side]+="$w "
		cal[$side]+="$c "
		method[$side]=$m
	done
done

# Port accesses as KVM sees them: every port, the PIT/port-0x61 ones, and exits to kestrel.
have_perf=0
if command -v perf >/dev/null && perf stat -e kvm:kvm_pio -- true >/dev/null 2>&1; then
	have_perf=1
fi
declare -A pio pit ue
# count OPTS GUEST KEY: PERF_RUNS perf runs, the counts kept under KEY.
count() {
	local i
	for ((i = 0; i < PERF_RUNS; i++)); do
		perf stat -x, -o "$tmp/perf" -e kvm:kvm_pio -e kvm:kvm_userspace_exit \
			-e kvm:kvm_pio --filter 'port == 0x61 || (port >= 0x40 && port <= 0x43)' \
			-- $K run $1 $G/$2 >/dev/null 2>&1 || { echo "tsc-calib: perf run of $2 failed" >&2; exit 1; }
		read -r a u p <<<"$(awk -F, '/kvm:kvm_pio/ {c[++n] = $1} /kvm:kvm_userspace_exit/ {u = $1}
			END {print c[1], u, c[2]}' "$tmp/perf")"
		pio[$3]+="$a "
		ue[$3]+="$u "
		pit[$3]+="$p "
	done
}
if [ $have_perf -eq 1 ]; then
	count "$BEFORE" "lapic-calib.elf -- $TICKS" before
	count "$AFTER" "lapic-calib.elf -- $TICKS" after
	count "" hello.elf hello
fi

# row NAME BEFORE AFTER: a table row with the relative change of two numbers.
row() {
	local ch
	ch=$(awk -v b="$2" -v a="$3" 'BEGIN {
		if (b ~ /^[0-9.]+$/ && a ~ /^[0-9.]+$/ && b > 0) printf "%+.1f%%", (a / b - 1) * 100; else print "" }')
	printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$ch"
}
ms() { awk -v u="$1" 'BEGIN {printf "%.1f", u / 1000}'; }
msr() { awk -v r="$1" 'BEGIN {split(r, x, "-"); printf "%.1f-%.1f", x[1] / 1000, x[2] / 1000}'; }

echo
echo "| Metric | Before (--no-cpuid-tsc) | After (TSC rate in CPUID) | Change |"
echo "|---|---:|---:|---:|"
row "calibration method" "${method[before]}" "${method[after]}"
row "cold start, exec to exit, p50 (ms)" "$(ms "$(echo ${wall[before]} | median)")" "$(ms "$(echo ${wall[after]} | median)")"
row "cold start range (ms)" "$(msr "$(echo ${wall[before]} | spread)")" "$(msr "$(echo ${wall[after]} | spread)")"
row "calibration in the guest, p50 (us)" "$(echo ${cal[before]} | median)" "$(echo ${cal[after]} | median)"
row "calibration range (us)" "$(echo ${cal[before]} | spread)" "$(echo ${cal[after]} | spread)"
if [ $have_perf -eq 1 ]; then
	row "kvm:kvm_pio, ports 0x40-0x43 and 0x61, p50" "$(echo ${pit[before]} | median)" "$(echo ${pit[after]} | median)"
	row "kvm:kvm_pio, every port, p50" "$(echo ${pio[before]} | median)" "$(echo ${pio[after]} | median)"
	row "kvm:kvm_userspace_exit, p50" "$(echo ${ue[before]} | median)" "$(echo ${ue[after]} | median)"
	echo
	echo "reference, hello (UART output, one port exit per byte): kvm:kvm_pio $(echo ${pio[hello]} | median)," \
		"kvm:kvm_userspace_exit $(echo ${ue[hello]} | median), PIT/0x61 $(echo ${pit[hello]} | median)" \
		"(p50 of $PERF_RUNS)"
	echo "PIT/0x61 accesses over the $PERF_RUNS counted runs: before $(echo ${pit[before]} | spread)," \
		"after $(echo ${pit[after]} | spread)"
else
	echo
	echo "(port counts skipped: perf cannot read the kvm tracepoints here; run as root with linux-perf)"
fi
