#!/bin/bash
# multiboot.sh - spawn to the multiboot test kernel's first console line and to its exit: kestrel
# against QEMU (-machine pc as given, pc without its default devices, microvm), interleved in one run
# (issue 12); then exit counts of each under perf's kvm tracepoints.
#
# Usage: bench/multiboot.sh [-n ROUNDS] [-p PERF_RUNS] [-Q]
#   -n ROUNDS     interleaved rounds, each command once per round (default 10: a QEMU pc boot
#                 is ~3-5 s here, its firmware run by KVM's emulator)
#   -p PERF_RUNS  runs of each command under perf stat at the end (default 3; 0 skips them)
#   -Q            kestrel only (no QEMU lines)
#
# Every command boots build/guests/mb-test.elf with one CPU, the module ENV
# (MBTEST_ENV=1 CPUS=1 MBTEST_END=1, as QEMU's -initrd gives a multiboot kernel
# its first module) and the arguments "cpus=1 mods=1"; each run is timed by
# bench/first-output.c (CLOCK_MONOTONIC from just before posix_spawn; stdout on
# a pipe): the first byte of any output (QEMU: SeaBIOS's banner), the kernel's
# first line ("mb-test: multiboot"), its verdict ("MB-TEST "), and the exit.
# A run whose status is not the expected one is a failure: counted, shown once,
# left out of the figures. microvm's expected status is 3 (the kernel's FAIL):
# its multiboot map has an empty entry and its FADT no PM timer (docs/multiboot.md).
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
K=$BUILD/kestrel G=$BUILD/guests B=$BUILD/bench
ROUNDS=10 PERF_RUNS=3 QEMU=1
while getopts ":n:p:Q" o; do
	case $o in
	n) ROUNDS=$OPTARG ;;
	p) PERF_RUNS=$OPTARG ;;
	Q) QEMU=0 ;;
	*) sed -n '6,9s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
	esac
done
if ! [[ "$ROUNDS" =~ ^[1-9][0-9]*$ && "$PERF_RUNS" =~ ^[0-9]+$ ]]; then
	echo "multiboot: -n takes a number from 1 up, -p a number from 0 up" >&2
	exit 2
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-multiboot.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

# --- build ---
mkdir -p "$B"
if ! make -j2 BUILD="$BUILD" "$K" "$G/mb-test.elf" >"$tmp/make.log" 2>&1; then
	tail -20 "$tmp/make.log" >&2
	echo "multiboot: make failed (log above)" >&2
	exit 1
fi
if ! cc -O2 -Wall -Wextra -o "$B/first-output" bench/first-output.c; then
	echo "multiboot: building bench/first-output.c failed" >&2
	exit 1
fi
ENV=$tmp/env
printf 'MBTEST_ENV=1\nCPUS=1\nMBTEST_END=1\n' >"$ENV"
MB=$G/mb-test.elf

# --- the commands: name | expected status | label | command ---
Q="qemu-system-x86_64 -accel kvm -cpu qemu64 -m 128 -smp 1 -no-reboot"
Q+=" -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel $MB -initrd $ENV"
cmds=("kestrel|1|kestrel run --cpus 1 --initrd ENV mb-test.elf|$K run --cpus 1 --initrd $ENV $MB -- cpus=1 mods=1")
qemu_line="QEMU: not installed (apt-get install qemu-system-x86 adds the QEMU lines)"
if [ "$QEMU" -eq 0 ]; then
	qemu_line="QEMU: left out (-Q)"
elif command -v qemu-system-x86_64 >/dev/null; then
	qemu_line="QEMU: $(qemu-system-x86_64 --version | head -n 1)"
	cmds+=("qemu-pc|1|QEMU -machine pc -nographic|$Q -machine pc -nographic")
	cmds+=("qemu-pc-bare|1|QEMU -machine pc -nodefaults (no NIC/VGA ROM)|$Q -machine pc -nodefaults -no-user-config -display none -serial stdio")
	cmds+=("qemu-microvm|3|QEMU -machine microvm -nographic|$Q -machine microvm -nographic")
fi
# The -append value has a space: it is added as one word where the command runs.
APPEND="cpus=1 mods=1"
run() { # run NAME CMD... -> first-output's line
	local name=$1
	shift
	case $name in
	qemu*) "$B/first-output" -o "$tmp/out" -e "$tmp/err" -t 60 -m "mb-test: multiboot" -m "MB-TEST " \
		"$@" -append "$APPEND" ;;
	*) "$B/first-output" -o "$tmp/out" -e "$tmp/err" -t 60 -m "mb-test: multiboot" -m "MB-TEST " "$@" ;;
	esac
}

# --- the host ---
bench/host-info.sh
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$qemu_line"
echo "kestrel: $($K --version 2>&1 | head -n 1), $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "rounds: $ROUNDS, interleaved, order: $(for c in "${cmds[@]}"; do printf '%s ' "${c%%|*}"; done)"

field() { # field LINE NAME -> value
	local w
	for w in $1; do
		[ "${w%%=*}" = "$2" ] && { echo "${w#*=}"; return; }
	done
	echo -
}

# Each command must work before it is timed.
for i in "${!cmds[@]}"; do
	IFS='|' read -r name want _ cmd <<<"${cmds[$i]}"
	line=$(run "$name" $cmd)
	got=$(field "$line" status)
	if [ "$got" != "$want" ]; then
		echo "multiboot: $name exits with $got, expected $want: $cmd" >&2
		sed 's/^/    /' "$tmp/out" "$tmp/err" | tail -5 >&2
		exit 1
	fi
	grep -E '^(FAIL|MB-TEST)' "$tmp/out" | tr -d '\r' | sed "s/^/  $name: /"
done

# --- the rounds ---
for ((r = 0; r < ROUNDS; r++)); do
	for i in "${!cmds[@]}"; do
		IFS='|' read -r name want _ cmd <<<"${cmds[$i]}"
		line=$(run "$name" $cmd)
		if [ "$(field "$line" status)" != "$want" ]; then
			echo "$r $line $(head -c 200 "$tmp/err" | tr '\n' ' ')" >>"$tmp/$name.fail"
			continue
		fi
		echo "$(field "$line" first_ns) $(field "$line" m1) $(field "$line" m2) $(field "$line" exit_ns)" \
			>>"$tmp/$name.t"
	done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

# stats FILE COLUMN SCALE -> "median min max n" (median of an even count: mean of the middle two)
stats() {
	[ -s "$1" ] || { echo "- - - 0"; return; }
	awk -v c="$2" '{ print $c }' "$1" | grep -v '^-$' | sort -g | awk -v s="$3" '
		{ a[NR] = $1 }
		END {
			if (NR == 0) { print "- - - 0"; exit }
			m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
			printf "%.1f %.1f %.1f %d\n", m / s, a[1] / s, a[NR] / s, NR
		}'
}

echo
echo "ms from spawn: median (min-max)"
printf '%-46s %18s %18s %18s %18s %3s %4s\n' "" "first byte" "kernel's 1st line" "verdict" "exit" n fail
declare -A med
for i in "${!cmds[@]}"; do
	IFS='|' read -r name _ label _ <<<"${cmds[$i]}"
	row=""
	for col in 1 2 3 4; do
		read -r m lo hi n < <(stats "$tmp/$name.t" $col 1e6)
		row+=$(printf ' %18s' "$m ($lo-$hi)")
		[ $col -eq 2 ] && med[$name.line]=$m
		[ $col -eq 4 ] && med[$name.exit]=$m
	done
	fails=0
	[ -f "$tmp/$name.fail" ] && fails=$(wc -l <"$tmp/$name.fail")
	printf '%-46s%s %3s %4s\n' "$label" "$row" "$n" "$fails"
done

ratio() { # ratio LABEL A B: median(A) / median(B)
	local a=${med[$2]:-} b=${med[$3]:-}
	[[ "$a" =~ ^[0-9.]+$ && "$b" =~ ^[0-9.]+$ ]] || return 0
	awk -v l="$1" -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "  %-56s %7.1fx\n", l, a / b }'
}
echo
echo "ratios of medians (same run):"
for q in qemu-pc qemu-pc-bare qemu-microvm; do
	ratio "$q / kestrel, to the kernel's first line" $q.line kestrel.line
	ratio "$q / kestrel, to exit" $q.exit kestrel.exit
done

for f in "$tmp"/*.fail; do
	[ -f "$f" ] || continue
	echo
	echo "failures of $(basename "$f" .fail) (round, first-output line, stderr):"
	head -3 "$f" | sed 's/^/  /'
done

# Exit counts (machine-independent): PERF_RUNS runs of each under perf's kvm tracepoints.
if [ "$PERF_RUNS" -gt 0 ] && command -v perf >/dev/null && [ "$(id -u)" -eq 0 ]; then
	if ! perf stat -e kvm:kvm_pio true >/dev/null 2>&1; then
		echo
		echo "perf stat: the kvm tracepoints are not available here (no exit counts)"
	else
		echo
		echo "perf stat -e kvm:kvm_userspace_exit,kvm:kvm_pio,kvm:kvm_mmio, $PERF_RUNS runs each: median (min-max)"
		printf '%-46s %22s %22s %22s\n' "" "userspace exits" "kvm_pio" "kvm_mmio"
		for i in "${!cmds[@]}"; do
			IFS='|' read -r name _ label cmd <<<"${cmds[$i]}"
			: >"$tmp/$name.perf"
			for ((r = 0; r < PERF_RUNS; r++)); do
				case $name in
				qemu*) perf stat -x, -o "$tmp/perf" -e kvm:kvm_userspace_exit,kvm:kvm_pio,kvm:kvm_mmio \
					-- $cmd -append "$APPEND" </dev/null >/dev/null 2>&1 ;;
				*) perf stat -x, -o "$tmp/perf" -e kvm:kvm_userspace_exit,kvm:kvm_pio,kvm:kvm_mmio \
					-- $cmd </dev/null >/dev/null 2>&1 ;;
				esac
				awk -F, '/kvm:kvm_userspace_exit/ { u = $1 } /kvm:kvm_pio/ { p = $1 } /kvm:kvm_mmio/ { m = $1 }
					END { print u, p, m }' "$tmp/perf" >>"$tmp/$name.perf"
			done
			row=""
			for col in 1 2 3; do
				read -r m lo hi _ < <(stats "$tmp/$name.perf" $col 1)
				row+=$(printf ' %22s' "${m%.0} (${lo%.0}-${hi%.0})")
			done
			printf '%-46s%s\n' "$label" "$row"
		done
	fi
fi
