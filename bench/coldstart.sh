#!/bin/bash
# coldstart.sh - cold start (spawn to exit): raw-KVM floors (one exit; hello's port work), kestrel,
# QEMU microvm, interleaved in one run; medians, ratios, teardown, kestrel bench (issue 16).
#
# Usage: bench/coldstart.sh [-n ROUNDS] [-b BENCH_RUNS] [-Q] [-O] [-d] [-K KESTREL] [-s SEED | -F]
#   -n ROUNDS      interleaved rounds, each command once per round (default 30)
#   -s SEED        the order within each round is shuffled, from this seed (default 1)
#   -F             the same order in every round, as the table lists them (before 2026-12-03)
#   -b BENCH_RUNS  runs of `kestrel bench` on exit-now at the end (default 20; 0 skips it)
#   -Q             leave QEMU out even when qemu-system-x86_64 is installed
#   -O             also raw-KVM with one kind of object at a time (what each costs, mostly teardown)
#   -d             also kestrel linked dynamically, `make STATIC=0` (build-dyn/kestrel; the default
#                  build is a static PIE), on exit-now and hello
#   -K KESTREL     also another kestrel binary (a build of an older commit) on exit-now and hello
#
# Builds what it needs (make kestrel and the two guests; bench/rawkvm-min.c, bench/spawn-time.c and
# bench/pvh-exit.S into $BUILD/bench/), prints the host, then runs every
# command below once per round, in the same order each round (A B C ... A B C
# ...), each timed by spawn-time (CLOCK_MONOTONIC, just before posix_spawn to
# just after waitpid; stdout+stderr to a file). A run whose status is not the
# expected one is a failure: counted, shown once, left out of the figures.
#
# The commands (each guest but hello's and raw-hello's makes exactly one port write, then the VMM
# exits):
#   raw-min      bench/rawkvm-min -T: VM, 2 MiB slot, vCPU, long mode, one `out`
#   raw-kestrel  + TSS, split irqchip, CPUID: what kestrel creates for exit-now
#                and for hello (its fast paths are armed once a device is
#                used: the doorbell's on its first ring, the UART's zone on
#                its 256th THR write; exit-now touches no device, hello
#                prints 75 bytes)
#   raw-hello    raw-kestrel's objects, the guest doing hello's port work (-H 75):
#                75 bytes, each an LSR poll then a THR write, through the same
#                guest code per byte as hello's printf, one PUTS-like out, the
#                final out: hello's 152 port exits (rawkvm-min answers LSR,
#                keeps the bytes, writes them with one write(2)). The floor for
#                k-hello: on a host whose KVM emulates CPL0 code, hello's guest
#                time (152 exits, 2434 emulated instructions; raw-hello 1877,
#                without printf's conversions) is more than a one-exit floor
#   raw-zone     + the UART's coalesced zone, undone before close() as kestrel
#                does (vm_fast_undo): what kestrel creates for a guest that
#                prints more than 256 bytes (raw registers it at start)
#   raw-kestrel-D  + coalesced zone and ioeventfd, both undone: a guest that
#                uses the UART and the doorbell (fastpath)
#   kestrel      build/kestrel run build/guests/exit-now.elf (one exit hypercall)
#   k-json       the same with --stats-json: its timeline gives kestrel's
#                teardown in this run (run end -> process exit; the JSON
#                report is written inside it, as under `kestrel bench`)
#   k-hello      build/kestrel run build/guests/hello.elf (console output)
#   kh-json      the same with --stats-json (hello's teardown)
#   k-pvh        build/kestrel run pvh-exit.elf: the very image QEMU runs
#   qemu         qemu-system-x86_64 -M microvm on pvh-exit.elf (PVH boot,
#                firmware qboot, isa-debug-exit)
#   qemu-lean    the same with x-option-roms, PIT, PIC, RTC, ISA serial off
# Teardown (guest exit -> process exit): rawkvm-min -T prints when KVM_RUN
# returned (exit_ns); spawn-time prints when waitpid returned; the difference
# is the teardown. kestrel's comes from --stats-json (t0 + run_end).
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
K=$BUILD/kestrel G=$BUILD/guests B=$BUILD/bench
ROUNDS=30 BENCH_RUNS=20 QEMU=1 OBJECTS=0 DYN=0 OTHER=
SEED=1
while getopts ":n:b:QOdK:s:F" o; do
	case $o in
	n) ROUNDS=$OPTARG ;;
	b) BENCH_RUNS=$OPTARG ;;
	Q) QEMU=0 ;;
	O) OBJECTS=1 ;;
	d) DYN=1 ;;
	K) OTHER=$OPTARG ;;
	s) SEED=$OPTARG ;;
	F) SEED= ;;
	*) sed -n '5,14s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
	esac
done
if ! [[ "$ROUNDS" =~ ^[1-9][0-9]*$ && "$BENCH_RUNS" =~ ^[0-9]+$ && "$SEED" =~ ^[0-9]*$ ]]; then
	echo "coldstart: -n takes a number from 1 up, -b and -s a number from 0 up" >&2
	exit 2
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-coldstart.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

# --- build ---
mkdir -p "$B"
# Only what is timed: a half-made guest elsewhere in the tree must not stop the benchmark.
if ! make -j2 BUILD="$BUILD" "$K" "$G/exit-now.elf" "$G/hello.elf" >"$tmp/make.log" 2>&1; then
	tail -20 "$tmp/make.log" >&2
	echo "coldstart: make failed (log above)" >&2
	exit 1
fi
if [ "$DYN" -eq 1 ] && ! make -j2 STATIC=0 build-dyn/kestrel >"$tmp/make-dyn.log" 2>&1; then
	tail -20 "$tmp/make-dyn.log" >&2
	echo "coldstart: make STATIC=0 failed (log above)" >&2
	exit 1
fi
if [ -n "$OTHER" ] && ! [ -x "$OTHER" ]; then
	echo "coldstart: -K $OTHER is not an executable" >&2
	exit 2
fi
if ! { cc -O2 -Wall -o "$B/rawkvm-min" bench/rawkvm-min.c &&
	cc -O2 -Wall -o "$B/spawn-time" bench/spawn-time.c &&
	gcc -nostdlib -static -no-pie -Wl,-Ttext-segment=0x100000 -Wl,--build-id=none \
		-o "$B/pvh-exit.elf" bench/pvh-exit.S; }; then
	echo "coldstart: building the bench/ tools failed" >&2
	exit 1
fi

# --- the commands: name | expected status | teardown source | label | command ---
RAW="$B/rawkvm-min -T"
QEMU_ARGS="-enable-kvm -cpu host,-arch-capabilities -m 64M -smp 1 -nodefaults -no-user-config"
QEMU_ARGS+=" -display none -serial none -monitor none -device isa-debug-exit,iobase=0xf4,iosize=4"
QEMU_ARGS+=" -kernel $B/pvh-exit.elf"
cmds=(
	"raw-min|0|raw|raw-KVM minimal (no objects)|$RAW"
	"raw-kestrel|0|raw|raw-KVM, exit-now's, hello's objects (-t -S -c)|$RAW -t -S -c"
	"raw-hello|0|raw|raw-KVM doing hello's port work (-t -S -c -H 75)|$RAW -t -S -c -H 75"
	"raw-zone|0|raw|raw-KVM + the UART zone (-t -S -c -C -D)|$RAW -t -S -c -C -D"
	"raw-kestrel-D|0|raw|raw-KVM, UART + doorbell paths (-t -S -c -C -E -D)|$RAW -t -S -c -C -E -D"
	"kestrel|0|-|kestrel run exit-now.elf|$K run $G/exit-now.elf"
	"k-json|0|json|kestrel run --stats-json F exit-now.elf|$K run --stats-json $tmp/stats.json $G/exit-now.elf"
	"k-hello|0|-|kestrel run hello.elf|$K run $G/hello.elf"
	"kh-json|0|json|kestrel run --stats-json F hello.elf|$K run --stats-json $tmp/stats.json $G/hello.elf"
	"k-pvh|33|-|kestrel run pvh-exit.elf (QEMU's image)|$K run $B/pvh-exit.elf"
)
if [ "$DYN" -eq 1 ]; then
	cmds+=("kd|0|-|kestrel (STATIC=0, dynamic) run exit-now.elf|build-dyn/kestrel run $G/exit-now.elf"
		"kd-hello|0|-|kestrel (STATIC=0, dynamic) run hello.elf|build-dyn/kestrel run $G/hello.elf")
fi
if [ -n "$OTHER" ]; then
	cmds+=("ko|0|-|-K kestrel run exit-now.elf|$OTHER run $G/exit-now.elf"
		"ko-json|0|json|-K kestrel run --stats-json F exit-now.elf|$OTHER run --stats-json $tmp/stats.json $G/exit-now.elf"
		"ko-hello|0|-|-K kestrel run hello.elf|$OTHER run $G/hello.elf")
fi
if [ "$OBJECTS" -eq 1 ]; then
	cmds+=("raw-linux|0|raw|raw-KVM, a Linux guest's objects (-t -i -p -c -C -E -D)|$RAW -t -i -p -c -C -E -D"
		"raw-i|0|raw|raw-KVM -i (irqchip)|$RAW -i" "raw-ip|0|raw|raw-KVM -i -p (irqchip + PIT)|$RAW -i -p"
		"raw-CE|0|raw|raw-KVM -C -E (coalesced PIO + ioeventfd)|$RAW -C -E"
		"raw-S|0|raw|raw-KVM -S (split irqchip)|$RAW -S"
		"raw-SCE|0|raw|raw-KVM -S -C -E|$RAW -S -C -E")
fi
qemu_line="QEMU: not installed (apt-get install qemu-system-x86 adds the QEMU lines)"
if [ "$QEMU" -eq 0 ]; then
	qemu_line="QEMU: left out (-Q)"
elif command -v qemu-system-x86_64 >/dev/null; then
	qemu_line="QEMU: $(qemu-system-x86_64 --version | head -n 1)"
	cmds+=("qemu|33|-|QEMU -M microvm pvh-exit.elf|qemu-system-x86_64 -M microvm $QEMU_ARGS")
	cmds+=("qemu-lean|33|-|QEMU -M microvm, lean|qemu-system-x86_64 -M microvm,x-option-roms=off,pit=off,pic=off,rtc=off,isa-serial=off $QEMU_ARGS")
fi

# --- the host ---
bench/host-info.sh
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$qemu_line"
echo "kestrel: $($K --version 2>&1 | head -n 1), $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
[ -n "$OTHER" ] && echo "-K kestrel: $OTHER ($("$OTHER" --version 2>&1 | head -n 1))"
if [ -n "$SEED" ]; then
	echo "rounds: $ROUNDS, interleaved, each round in its own shuffled order (seed $SEED): $(for c in "${cmds[@]}"; do printf '%s ' "${c%%|*}"; done)"
else
	echo "rounds: $ROUNDS, interleaved, order: $(for c in "${cmds[@]}"; do printf '%s ' "${c%%|*}"; done)"
fi

# Each command must work before it is timed.
for i in "${!cmds[@]}"; do
	IFS='|' read -r name want _ _ cmd <<<"${cmds[$i]}"
	read -r _ got _ < <($B/spawn-time -o "$tmp/check.out" $cmd)
	if [ "${got:-x}" != "$want" ]; then
		echo "coldstart: $name exits with ${got:-nothing}, expected $want: $cmd" >&2
		sed 's/^/    /' "$tmp/check.out" | head -5 >&2
		exit 1
	fi
done

# --- the rounds ---
# Shuffled: in a fixed order each command always runs in the same place and
# after the same one. The floor ran first, after the PVH image or QEMU, and
# was faster there: the same binaries back to back gave exit-now 1.23x and
# 1.26x the floor in fixed order, 1.16x and 1.14x shuffled (docs/coldstart.md,
# sixth pass; why is not known). A Fisher-Yates shuffle per round from bash's
# RANDOM, seeded: rerunnable.
order=("${!cmds[@]}")
[ -n "$SEED" ] && RANDOM=$SEED
for ((r = 0; r < ROUNDS; r++)); do
	if [ -n "$SEED" ]; then
		for ((j = ${#order[@]} - 1; j > 0; j--)); do
			k=$((RANDOM % (j + 1)))
			t=${order[j]} order[j]=${order[k]} order[k]=$t
		done
	fi
	for i in "${order[@]}"; do
		IFS='|' read -r name want td _ cmd <<<"${cmds[$i]}"
		read -r ns got end < <($B/spawn-time -o "$tmp/out" $cmd)
		if [ "${got:-x}" != "$want" ]; then
			echo "$r status=${got:-none} $(head -c 300 "$tmp/out" | tr '\n' ' ')" >>"$tmp/$name.fail"
			continue
		fi
		echo "$ns" >>"$tmp/$name.total"
		case $td in
		raw)
			# The -T line (after raw-hello's guest output)
			read -r ex _ vm _ < <(grep '^exit_ns=' "$tmp/out")
			echo "$((end - ${ex#exit_ns=})) ${vm#vm_us=}" >>"$tmp/$name.td"
			;;
		json)
			t0=$(grep -o '"t0_monotonic_ns":[0-9]*' "$tmp/stats.json" | cut -d: -f2)
			re=$(grep -o '"run_end":[0-9.]*' "$tmp/stats.json" | cut -d: -f2)
			awk -v e="$end" -v t0="$t0" -v re="$re" \
				'BEGIN { if (t0 != "" && re != "") printf "%.0f -\n", e - t0 - re * 1000 }' >>"$tmp/$name.td"
			;;
		esac
	done
done

# stats FILE COLUMN SCALE -> "median min max n" (median of an even count: mean of the middle two)
stats() {
	[ -s "$1" ] || { echo "- - - 0"; return; }
	awk -v c="$2" '{ print $c }' "$1" | grep -v '^-$' | sort -g | awk -v s="$3" '
		{ a[NR] = $1 }
		END {
			if (NR == 0) { print "- - - 0"; exit }
			m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
			printf "%.2f %.2f %.2f %d\n", m / s, a[1] / s, a[NR] / s, NR
		}'
}

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '%-48s %9s %17s %4s %5s %12s\n' "spawn to exit (ms)" "median" "min-max" "n" "fail" "teardown p50"
declare -A med
for i in "${!cmds[@]}"; do
	IFS='|' read -r name _ td label _ <<<"${cmds[$i]}"
	read -r m lo hi n < <(stats "$tmp/$name.total" 1 1e6)
	med[$name]=$m
	fails=0
	[ -f "$tmp/$name.fail" ] && fails=$(wc -l <"$tmp/$name.fail")
	tdm="-"
	[ "$td" != "-" ] && read -r tdm _ _ _ < <(stats "$tmp/$name.td" 1 1e6)
	printf '%-48s %9s %17s %4s %5s %12s\n' "$label" "$m" "$lo-$hi" "$n" "$fails" "$tdm"
done

ratio() { # ratio LABEL A B: median(A) / median(B)
	local a=${med[$2]:-} b=${med[$3]:-}
	[[ "$a" =~ ^[0-9.]+$ && "$b" =~ ^[0-9.]+$ ]] || return 0
	awk -v l="$1" -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "  %-52s %6.2fx\n", l, a / b }'
}
echo
echo "ratios of medians (same run):"
ratio "kestrel exit-now / raw-KVM minimal" kestrel raw-min
ratio "kestrel exit-now / raw-KVM with the same objects" kestrel raw-kestrel
ratio "kestrel hello / raw-KVM minimal" k-hello raw-min
ratio "kestrel hello / raw-KVM with the same objects" k-hello raw-kestrel
ratio "kestrel hello / raw-KVM doing hello's port work" k-hello raw-hello
ratio "kestrel (dynamic) exit-now / raw-KVM minimal" kd raw-min
ratio "kestrel (dynamic) hello / raw-KVM minimal" kd-hello raw-min
ratio "kestrel (dynamic) hello / raw-KVM hello's port work" kd-hello raw-hello
ratio "kestrel (dynamic) / kestrel (static), exit-now" kd kestrel
ratio "kestrel (dynamic) / kestrel (static), hello" kd-hello k-hello
ratio "-K kestrel exit-now / raw-KVM minimal" ko raw-min
ratio "-K kestrel exit-now / kestrel exit-now" ko kestrel
ratio "-K kestrel hello / kestrel hello" ko-hello k-hello
ratio "-K kestrel hello / raw-KVM doing hello's port work" ko-hello raw-hello
ratio "raw-KVM with exit-now's objects / raw-KVM minimal" raw-kestrel raw-min
ratio "raw-KVM hello's port work / raw-KVM same objects" raw-hello raw-kestrel
ratio "raw-KVM with the UART zone / raw-KVM minimal" raw-zone raw-min
ratio "raw-KVM with both fast paths / raw-KVM minimal" raw-kestrel-D raw-min
ratio "QEMU microvm / kestrel exit-now" qemu kestrel
ratio "QEMU microvm, lean / kestrel exit-now" qemu-lean kestrel
ratio "QEMU microvm / kestrel on the same pvh-exit.elf" qemu k-pvh
ratio "QEMU microvm / kestrel (dynamic) exit-now" qemu kd

echo
echo "teardown, guest exit to process exit (ms; raw: KVM_RUN return -> waitpid; kestrel: run end -> waitpid):"
for name in raw-min raw-kestrel raw-hello raw-zone raw-kestrel-D raw-linux raw-i raw-ip raw-CE raw-S raw-SCE k-json kh-json ko-json; do
	[ -s "$tmp/$name.td" ] || continue
	read -r m lo hi n < <(stats "$tmp/$name.td" 1 1e6)
	extra=""
	if [ "${name#raw-}" != "$name" ]; then
		read -r vm _ _ _ < <(stats "$tmp/$name.td" 2 1e3)
		extra=", of which close(vm fd) $vm"
	fi
	printf '  %-14s median %6s  min-max %s%s\n' "$name" "$m" "$lo-$hi" "$extra"
done
if [ -s "$tmp/k-json.td" ] && [ -s "$tmp/raw-kestrel.td" ]; then
	read -r a _ _ _ < <(stats "$tmp/k-json.td" 1 1e6)
	read -r b _ _ _ < <(stats "$tmp/raw-kestrel.td" 1 1e6)
	awk -v a="$a" -v b="$b" 'BEGIN { printf "  kestrel exit-now - raw-KVM with the same objects: %+.2f ms\n", a - b }'
fi
if [ -s "$tmp/kh-json.td" ] && [ -s "$tmp/raw-kestrel.td" ]; then
	read -r a _ _ _ < <(stats "$tmp/kh-json.td" 1 1e6)
	read -r b _ _ _ < <(stats "$tmp/raw-kestrel.td" 1 1e6)
	awk -v a="$a" -v b="$b" 'BEGIN { printf "  kestrel hello - raw-KVM with the same objects: %+.2f ms\n", a - b }'
fi

for f in "$tmp"/*.fail; do
	[ -f "$f" ] || continue
	echo
	echo "failures of $(basename "$f" .fail) (round, status, output):"
	head -3 "$f" | sed 's/^/  /'
done

# Exit counts (machine-independent): one run of each under perf's kvm tracepoints.
if command -v perf >/dev/null && [ "$(id -u)" -eq 0 ]; then
	echo
	printf '%-48s %10s %8s\n' "one run under perf stat" "userspace" "kvm_pio"
	for i in "${!cmds[@]}"; do
		IFS='|' read -r name _ _ label cmd <<<"${cmds[$i]}"
		perf stat -x, -o "$tmp/perf" -e kvm:kvm_userspace_exit,kvm:kvm_pio -- $cmd >/dev/null 2>&1
		awk -F, -v l="$label" '/kvm:kvm_userspace_exit/ { u = $1 } /kvm:kvm_pio/ { p = $1 }
			END { printf "%-48s %10s %8s\n", l, u == "" ? "-" : u, p == "" ? "-" : p }' "$tmp/perf"
	done
fi

if [ "$BENCH_RUNS" -gt 0 ]; then
	echo
	echo "\$ $K bench --runs $BENCH_RUNS $G/exit-now.elf"
	$K bench --runs "$BENCH_RUNS" "$G/exit-now.elf"
fi
