#!/bin/bash
# boot.sh - boot Debian's cloud kernel with the busybox initramfs (tests/linux/fetch.sh) under kestrel.
#
# Usage: KESTREL=build/kestrel tests/linux/boot.sh [CPUS...]     (default: 1 2)
#   BOOT_TIMEOUT=1500   seconds per boot (on a host whose KVM emulates guest
#                       kernel code a boot takes minutes; see tests/linux/README.md)
#   KESTREL_ARGS=...    extra `kestrel run` options (e.g. --no-host-decompress)
# For each vCPU count N: `kestrel run -m 256M --cpus N --initrd INITRD
# --cmdline "console=ttyS0 panic=-1" --stats VMLINUZ`, exactly as a user would
# type it (panic=-1: a guest panic resets at once instead of sitting until the
# timeout, so a failure costs seconds, not BOOT_TIMEOUT),
# must end with status 0 (the guest powered off) and print the initramfs's
# KESTREL-LINUX-INIT-OK and KESTREL-CPUS=N (every vCPU seen by Linux).
# Prints TAP-style lines with the time to each milestone (Linux version,
# Run /init, the marker, the end) and the host-quirk counts, then
# "linux-boot: N passed, N failed, N skipped"; exits 1 on a failure.
# Without /dev/kvm every boot is skipped LOUDLY; under CI=true that is a failure.
set -u
KESTREL=${KESTREL:-build/kestrel}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-1500}
here=$(cd "$(dirname "$0")" && pwd)
cpus=${*:-1 2}
n=0 passed=0 failed=0 skipped=0

if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "# !!!!!!!! /dev/kvm is missing or not accessible: the Linux boot tests are SKIPPED. !!!!!!!!"
	for c in $cpus; do
		n=$((n + 1)) skipped=$((skipped + 1))
		echo "ok $n - linux boot, $c vCPU(s) # SKIP no usable /dev/kvm"
	done
	echo "# linux-boot: 0 passed, 0 failed, $skipped skipped"
	if [ "${CI:-}" = true ]; then
		echo "linux-boot: CI=true but no usable /dev/kvm: failing (CI machines have KVM)" >&2
		exit 1
	fi
	exit 0
fi
[ -x "$KESTREL" ] || { echo "linux-boot: $KESTREL is missing: run make first" >&2; exit 2; }
inputs=$("$here/fetch.sh") || { echo "linux-boot: tests/linux/fetch.sh failed (see above)" >&2; exit 2; }
eval "$inputs"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-linux.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

# The seconds since the start at which the first line matching $1 was logged.
at() {
	awk -v re="$1" '$0 ~ re { sub(/ .*/, ""); print; exit }' "$tmp/log"
}

for c in $cpus; do
	n=$((n + 1))
	t0=$(date +%s)
	# Each line is stamped with the seconds since the start as it arrives.
	# shellcheck disable=SC2086
	timeout -k 10 "$BOOT_TIMEOUT" "$KESTREL" run -m 256M --cpus "$c" --initrd "$INITRD" \
		--cmdline "console=ttyS0 panic=-1" --stats ${KESTREL_ARGS:-} "$KERNEL" </dev/null 2>&1 |
		while IFS= read -r l; do printf '%s %s\n' "$(($(date +%s) - t0))" "${l%$'\r'}"; done >"$tmp/log"
	got=${PIPESTATUS[0]}
	secs=$(($(date +%s) - t0))
	why=""
	[ "$got" -eq 0 ] || why="exit status $got, expected 0 (the guest powering off)"
	[ "$got" -eq 124 ] && why="timed out after ${BOOT_TIMEOUT} s (BOOT_TIMEOUT)"
	grep -q ' KESTREL-LINUX-INIT-OK' "$tmp/log" || why="${why:+$why; }no KESTREL-LINUX-INIT-OK"
	grep -q " KESTREL-CPUS=$c\$" "$tmp/log" ||
		why="${why:+$why; }no KESTREL-CPUS=$c (got '$(grep -o 'KESTREL-CPUS=.*' "$tmp/log")')"
	echo "# $c vCPU(s): Linux version at $(at 'Linux version') s, Run /init at $(at 'Run /init') s," \
		"marker at $(at KESTREL-LINUX-INIT-OK) s, end at $secs s"
	# --stats: "kestrel: host quirk: instructions KVM could not emulate, carried
	# out by kestrel: clac N stac N ... syscall N"
	quirks=$(sed -n 's/.*host quirk: instructions KVM could not emulate, carried out by kestrel: //p' \
		"$tmp/log" | tail -n 1)
	echo "# $c vCPU(s): host quirks: ${quirks:-none}"
	if [ -z "$why" ]; then
		passed=$((passed + 1))
		echo "ok $n - linux boot, $c vCPU(s) (${secs} s)"
	else
		failed=$((failed + 1))
		echo "not ok $n - linux boot, $c vCPU(s): $why"
		# What went wrong inside the guest, if it said so (the tail below is
		# mostly --stats).
		grep -E 'segfault at|Kernel panic|BUG:|Oops|RIP: ' "$tmp/log" | head -n 20 | sed 's/^/#   guest: /'
		sed 's/^/#   /' "$tmp/log" | tail -n 60
	fi
done
echo "# linux-boot: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
