#!/bin/bash
# profile-overhead.sh - what the always-on exit profiler costs: pio-loop with and without --no-profile,
# interleaved, medians; the hooks alone in a tight loop; host instructions per exit under callgrind.
#
# Usage: bench/profile-overhead.sh [REPS] [N]      (defaults 11 and 40000; run `make` first)
# Each mode runs pio-loop with N+1000 and with 1000 writes; the difference over N is the cost of one
# exit round trip with everything kestrel does for it (start-up cancels out). The modes alternate
# (on off on off ...) so drift on this shared host hits both alike.
set -eu
cd "$(dirname "$0")/.."
K=${KESTREL:-build/kestrel} G=${GUESTS:-build/guests}
REPS=${1:-11} N=${2:-40000} BASE=1000

now_ns() { date +%s%N; }
one() { # one OPTS COUNT -> elapsed ns
	local t0 t1
	t0=$(now_ns)
	$K run $1 $G/pio-loop.elf -- $2 >/dev/null
	t1=$(now_ns)
	echo $((t1 - t0))
}
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
spread() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END{print a[1] "-" a[NR]}'; }

bench/host-info.sh
echo "pio-loop: $REPS interleaved reps per mode, $N exits per measured run (minus a $BASE-exit run)"
on="" off="" ratio=""
for ((r = 0; r < REPS; r++)); do
	a=$((($(one "" $((N + BASE))) - $(one "" $BASE)) / N))
	b=$((($(one --no-profile $((N + BASE))) - $(one --no-profile $BASE)) / N))
	on+="$a " off+="$b "
	# Per-rep ratio (x100000): pairs taken seconds apart share the host's mood.
	ratio+="$((a * 100000 / b)) "
done
printf '\n%-22s %12s %16s\n' "mode" "ns/exit p50" "range (ns)"
printf '%-22s %12s %16s\n' "profile on (default)" "$(echo $on | median)" "$(echo $on | spread)"
printf '%-22s %12s %16s\n' "--no-profile" "$(echo $off | median)" "$(echo $off | spread)"
awk -v r="$(echo $ratio | median)" -v s="$(echo $ratio | spread)" 'BEGIN {
	split(s, x, "-")
	printf "on/off per exit, median of per-rep ratios: %+.2f%% (range %+.2f%% .. %+.2f%%)\n",
		r / 1000 - 100, x[1] / 1000 - 100, x[2] / 1000 - 100
}'

# The hooks alone, without KVM: a tight loop over the same three calls vcpu.c makes. This is the
# low-noise figure; divided by the exit cost above it is the profiler's share of an exit.
hooks=$(mktemp "${TMPDIR:-/tmp}/profile-hooks.XXXXXX")
if ${CC:-cc} -std=gnu11 -O2 -D_GNU_SOURCE -Iinclude -Isrc -o "$hooks" bench/profile-hooks.c \
	"$(dirname "$K")/libkestrel-internal.a" 2>/dev/null; then
	line=$("$hooks")
	echo "$line"
	hns=$(echo "$line" | sed -n 's/.*profiler: \([0-9.]*\) ns.*/\1/p')
	awk -v h="$hns" -v e="$(echo $off | median)" 'BEGIN {
		printf "profiler share of a pio-loop exit: %.1f ns of %d ns = %.2f%%\n", h, e, 100 * h / e
	}'
else
	echo "hooks micro-benchmark: could not build bench/profile-hooks.c"
fi
rm -f "$hooks"

# Host-side instructions per exit: callgrind counts every instruction kestrel runs in user space
# (KVM's own work in the kernel is not counted), so the difference is exact.
if command -v valgrind >/dev/null; then
	CN=${CALLGRIND_N:-3000}
	# valgrind cannot run a seccomp filter: drop kestrel's where it has one.
	vg=""
	if $K --help | grep -q -- --no-seccomp; then vg=--no-seccomp; fi
	ir() { # ir OPTS COUNT -> instructions of the whole process
		valgrind --tool=callgrind --callgrind-out-file=/dev/null $K run $vg $1 $G/pio-loop.elf -- $2 \
			2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
	}
	a1=$(ir "" $((CN + BASE))) a0=$(ir "" $BASE)
	b1=$(ir --no-profile $((CN + BASE))) b0=$(ir --no-profile $BASE)
	echo
	if [ -n "$a1" ] && [ -n "$a0" ] && [ -n "$b1" ] && [ -n "$b0" ]; then
		ion=$(((a1 - a0) / CN)) ioff=$(((b1 - b0) / CN))
		echo "callgrind, host instructions per exit ($CN-exit difference): profile on $ion," \
			"--no-profile $ioff, profiler $((ion - ioff)) instructions per exit"
	else
		echo "callgrind: a valgrind run failed (no instruction count), skipped"
	fi
else
	echo "callgrind: valgrind not installed, skipped"
fi
