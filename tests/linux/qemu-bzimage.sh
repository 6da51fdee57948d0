#!/bin/sh
# qemu-bzimage.sh [BZIMAGE] - boot the synthetic bzImage under QEMU (TCG, its
# BIOS and 16-bit setup path) with good and bad inputs and check the payload's
# verdict: this tests the payload's own checks against a reference loader.
# Needs qemu-system-x86_64; skips (status 77) without it. Seconds in all.
set -eu
img=${1:-build/guests/bzimage-test.bzImage}
qemu=${QEMU:-qemu-system-x86_64}
command -v "$qemu" >/dev/null || { echo "qemu-bzimage: SKIP: $qemu not found"; exit 77; }
[ -r "$img" ] || { echo "qemu-bzimage: cannot read $img (make guests)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
printf 'XYZZY-initrd-body' >"$tmp/good.img"
printf 'PLUGH-initrd-body' >"$tmp/bad.img"

pass=0 fail=0
# run NAME WANT_STATUS WANT_MARKER CMDLINE [QEMU ARGS...]
run() {
	name=$1 want=$2 marker=$3 cmdline=$4
	shift 4
	set +e
	timeout 60 "$qemu" -accel tcg -m 128 -kernel "$img" -append "$cmdline" "$@" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 -display none -serial stdio \
		-monitor none -no-reboot </dev/null >"$tmp/out" 2>&1
	got=$?
	set -e
	if [ "$got" -eq "$want" ] && grep -q "$marker" "$tmp/out"; then
		echo "ok - $name (status $got, $marker)"
		pass=$((pass + 1))
	else
		echo "not ok - $name: status $got (want $want), marker '$marker' $(grep -q "$marker" "$tmp/out" && echo found || echo missing)"
		sed 's/^/#   /' "$tmp/out" | grep -v '^#   $' | tail -n 20
		fail=$((fail + 1))
	fi
}

run "plain boot" 1 'KESTREL-BZIMAGE-OK' "console=ttyS0 hello"
run "cmdline printed" 1 "cmdline 'a b=c d'" "a b=c d"
run "initrd with its magic" 1 "PASS initrd starts with initrd-magic 'XYZZY'" "initrd-magic=XYZZY" -initrd "$tmp/good.img"
run "initrd with the wrong magic" 3 "FAIL initrd starts with initrd-magic 'XYZZY' (found 'PLUGH')" "initrd-magic=XYZZY" -initrd "$tmp/bad.img"
run "initrd-magic without an initrd" 3 'FAIL an initrd is given' "initrd-magic=XYZZY"
run "RSDP found by the setup part" 1 'PASS acpi_rsdp_addr 0x.* points at "RSD PTR "' "expect-acpi"
run "2 GiB, 2 CPUs" 1 'KESTREL-BZIMAGE-OK' "big" -m 2048 -smp 2
echo "qemu-bzimage: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
