#!/bin/sh
# deps.sh - install the Debian packages kestrel's build and tests need, only if something is missing.
set -e
# libclang-rt-dev: the libFuzzer and sanitizer runtimes (`make fuzz`); clang only recommends it.
# valgrind: the memcheck step of `make check`.
# liblzma-dev liblz4-dev libzstd-dev zlib1g-dev: host-side decompression of Linux bzImages.
# qemu-system-x86: the reference the multiboot test kernels run under (tests/integration/multiboot-qemu.sh).
# python3: the pty-driven console tests (tests/integration/pty.py, tests/linux/shell.sh) and JSON checks.
# linux-perf: exit counts from KVM's tracepoints in bench/ (bench/linux.sh, bench/multiboot.sh, coldstart.sh).
pkgs="gcc make binutils libc6-dev linux-libc-dev clang clang-format git libclang-rt-dev valgrind coreutils liblzma-dev liblz4-dev libzstd-dev zlib1g-dev qemu-system-x86 linux-perf python3"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all present ($pkgs)"
	exit 0
fi
echo "deps: installing$missing"
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
