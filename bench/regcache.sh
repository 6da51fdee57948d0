#!/bin/bash
# regcache.sh - cost of a register-using exit: hypercall-loop with the shared kvm_run page vs
# --no-sync-regs, against plain pio-loop exits; side by side, interleaved, medians.
#
# Usage: bench/regcache.sh [REPS] [N]      (defaults 7 and 40000; run `make` first)
# Each mode runs the guest with N+1000 and with 1000 calls; the difference over N is the
# cost of one exit round trip with everything kestrel does for it (start-up cancels out).
set -eu
cd "$(dirname "$0")/.."
K=${KESTREL:-build/kestrel} G=${GUESTS:-build/guests}
REPS=${1:-7} N=${2:-40000} BASE=1000

# name|guest|kestrel options|guest words after N
modes=("pio-loop|pio-loop.elf||"
	"nop-hc/page|hypercall-loop.elf||nop" "nop-hc/ioctl|hypercall-loop.elf|--no-sync-regs|nop"
	"add-hc/page|hypercall-loop.elf||" "add-hc/ioctl|hypercall-loop.elf|--no-sync-regs|")
declare -A samples ioctls

now_ns() { date +%s%N; }
one() { # one OPTS GUEST COUNT WORDS -> elapsed ns
	local t0 t1
	t0=$(now_ns)
	$K run $1 $G/$2 -- $3 $4 >/dev/null
	t1=$(now_ns)
	echo $((t1 - t0))
}

bench/host-info.sh
echo "reps: $REPS, calls per measured run: $N (minus a $BASE-call run to cancel start-up)"
for ((r = 0; r < REPS; r++)); do
	for m in "${modes[@]}"; do
		IFS='|' read -r name guest opts words <<<"$m"
		big=$(one "$opts" $guest $((N + BASE)) "$words")
		small=$(one "$opts" $guest $BASE "$words")
		samples[$name]+="$(((big - small) / N)) "
	done
done
for m in "${modes[@]}"; do
	IFS='|' read -r name guest opts words <<<"$m"
	ioctls[$name]=$($K run --stats $opts $G/$guest -- $N $words 2>&1 >/dev/null |
		awk '/^kestrel: 0 /{printf "%.3f", $9}')
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
spread() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END{print a[1] "-" a[NR]}'; }
printf '\n%-16s %12s %16s %18s\n' "mode" "ns/exit p50" "range (ns)" "reg ioctls/exit"
for m in "${modes[@]}"; do
	IFS='|' read -r name _ _ _ <<<"$m"
	printf '%-16s %12s %16s %18s\n' "$name" "$(echo ${samples[$name]} | median)" \
		"$(echo ${samples[$name]} | spread)" "${ioctls[$name]}"
done
pio=$(echo ${samples[pio-loop]} | median)
np=$(echo ${samples[nop-hc/page]} | median)
ni=$(echo ${samples[nop-hc/ioctl]} | median)
ap=$(echo ${samples[add-hc/page]} | median)
ai=$(echo ${samples[add-hc/ioctl]} | median)
echo
awk -v p=$pio -v np=$np -v ni=$ni -v ap=$ap -v ai=$ai 'BEGIN {
	printf "nop hypercall via the page vs plain pio exit (same guest loop): %+.1f%%\n", (np / p - 1) * 100
	printf "nop hypercall: ioctls vs page: %.2fx slower\n", ni / np
	printf "add hypercall: ioctls vs page: %.2fx slower\n", ai / ap
}'
