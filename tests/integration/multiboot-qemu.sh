#!/bin/bash
# multiboot-qemu.sh - run the multiboot test kernels (guests/mb-test, guests/mb-realmode) under QEMU, the reference.
#
# Usage: GUESTS=build/guests tests/integration/multiboot-qemu.sh
#   QEMU=qemu-system-x86_64   the binary (skipped, loudly, when it is not installed)
#   ACCELS="kvm tcg"          accelerators to try (kvm only with a usable /dev/kvm)
# Each case boots QEMU's `pc` machine with -kernel (SeaBIOS's multiboot
# option ROM loads the image), checks the kernel's marker lines AND the exit
# status isa-debug-exit gives ((v << 1) | 1: 1 pass, 3 fail). The negative
# cases must fail in a named way. Prints TAP-style lines, ends with
# "multiboot-qemu: N passed, N failed, N skipped" and exits 1 on a failure.
# Under nested KVM each `-accel kvm` boot costs ~6-10 s of firmware; TCG ~0.5 s.

set -u
QEMU=${QEMU:-qemu-system-x86_64}
GUESTS=${GUESTS:-build/guests}
ACCELS=${ACCELS:-kvm tcg}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-mbq.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

n=0 passed=0 failed=0 skipped=0
PASS=1 FAIL=3

if ! command -v "$QEMU" >/dev/null 2>&1; then
	echo "# !!!!!!!! $QEMU is not installed: the multiboot QEMU tests are SKIPPED (apt-get install qemu-system-x86) !!!!!!!!"
	echo "# multiboot-qemu: 0 passed, 0 failed, 1 skipped"
	exit 0
fi
for f in "$GUESTS/mb-test.elf" "$GUESTS/mb-realmode.bin"; do
	if [ ! -r "$f" ]; then
		echo "multiboot-qemu: $f is missing: run make guests first" >&2
		exit 2
	fi
done

# qemu_expect NAME ACCEL STATUS [--out REGEX]... -- QEMU-ARGS...
# Boots QEMU (60 s limit) and checks its exit status and that the console
# output (stdout) matches every extended regex.
qemu_expect() {
	local name=$1 accel=$2 want=$3; shift 3
	local outs=()
	while [ "$1" != "--" ]; do
		case $1 in
		--out) outs+=("$2"); shift 2 ;;
		*) echo "bad qemu_expect option $1" >&2; exit 2 ;;
		esac
	done
	shift
	n=$((n + 1))
	if [ "$accel" = kvm ] && { [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; }; then
		skipped=$((skipped + 1))
		echo "ok $n - [$accel] $name # SKIP no usable /dev/kvm"
		return
	fi
	local t0=$(date +%s.%N)
	timeout -k 5 60 "$QEMU" -machine pc -accel "$accel" -nographic -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	local got=$? why=""
	local secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	[ "$got" -eq "$want" ] || why="exit status $got, expected $want"
	for re in "${outs[@]+"${outs[@]}"}"; do
		grep -aEq -- "$re" "$tmp/out" || why="${why:+$why; }console lacks /$re/"
	done
	if [ -z "$why" ]; then
		passed=$((passed + 1))
		echo "ok $n - [$accel] $name ($secs s)"
	else
		failed=$((failed + 1))
		echo "not ok $n - [$accel] $name: $why"
		echo "#   command: $QEMU -machine pc -accel $accel ... $*"
		grep -a -E '^(PASS|FAIL|SKIP|MB-|mb-)' "$tmp/out" | sed 's/^/#   console: /' | head -60
		sed 's/^/#   stderr: /' "$tmp/err" | head -10
	fi
}

T=$GUESTS/mb-test.elf R=$GUESTS/mb-realmode.bin
# The env module: KEY=VALUE lines, MBTEST_END=1 last (proves the exact length).
printf 'MBTEST_ENV=1\nCPUS=3\nMBTEST_END=1\n' >"$tmp/env"
printf 'MBTEST_ENV=1\nCPUS=3\n' >"$tmp/env-cut"

echo "# multiboot kernels under $($QEMU --version | head -1)"
for accel in $ACCELS; do
	qemu_expect "mb-test, 3 CPUs, env module, pc-testdev" "$accel" $PASS \
		--out '^MB-TEST PASS' --out '^PASS smp-count: 3 CPUs up' --out '^PASS module-length' \
		--out '^PASS testdev-lane' --out '^PASS pm-timer-runs' --out '^PASS fwcfg-cpus: key 0x0005: 3 CPUs' \
		--out "^PASS cmdline: '[^']*mb-test.elf testdev cpus=3 mods=1'" -- \
		-m 128 -smp 3 -kernel "$T" -initrd "$tmp/env" -append "testdev cpus=3 mods=1" -device pc-testdev
	qemu_expect "mb-test, 1 CPU, no module, no testdev" "$accel" $PASS \
		--out '^MB-TEST PASS' --out '^PASS smp-count: 1 CPU expected' --out '^SKIP testdev' \
		--out '^PASS mods-count: 0 modules' -- \
		-m 64 -smp 1 -kernel "$T" -append "mods=0"
	qemu_expect "mb-realmode: real-mode round trip at 0x8000" "$accel" $PASS \
		--out '^mb-realmode: hello from real mode' --out '^MB-REALMODE PASS' -- \
		-m 64 -kernel "$R"
done

# The PM timer's rate is checked only when CPUID gives the TSC's (leaf 0x40000010 here).
qemu_expect "mb-test: PM timer rate against the CPUID TSC rate" kvm $PASS \
	--out '^PASS pm-timer-rate' --out '^MB-TEST PASS' -- \
	-cpu qemu64,+invtsc,vmware-cpuid-freq=on -m 128 -smp 2 -kernel "$T" -append "cpus=2"

# Negative cases (TCG: fast, and the kernel's logic is the same): each must fail by name.
qemu_expect "mb-test: cpus=2 on 3 CPUs fails the count (could fail)" tcg $FAIL \
	--out '^FAIL smp-count: 3 CPUs up' --out '^MB-TEST FAIL 1$' -- \
	-m 128 -smp 3 -kernel "$T" -append "cpus=2"
qemu_expect "mb-test: a module without MBTEST_END fails the length check" tcg $FAIL \
	--out '^FAIL module-length' --out '^MB-TEST FAIL 1$' -- \
	-m 128 -kernel "$T" -initrd "$tmp/env-cut" -append "cpus=1"
qemu_expect "mb-test: mods=2 with one module fails" tcg $FAIL \
	--out '^FAIL mods-count: 1 modules, mods=2' --out '^MB-TEST FAIL 1$' -- \
	-m 128 -kernel "$T" -initrd "$tmp/env" -append "mods=2 cpus=1"
qemu_expect "mb-test: testdev without -device pc-testdev fails the scratch checks" tcg $FAIL \
	--out '^FAIL testdev-byte' --out '^MB-TEST FAIL 4$' -- \
	-m 128 -kernel "$T" -append "testdev cpus=1"
qemu_expect "mb-test: pci=0 on QEMU's pc (6 functions) fails" tcg $FAIL \
	--out '^FAIL pci-count' --out '^MB-TEST FAIL 1$' -- \
	-m 128 -kernel "$T" -append "pci=0 cpus=1"

echo "# multiboot-qemu: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
