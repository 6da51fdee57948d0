#!/bin/bash
# peers.sh - one tiny guest under kestrel and, when installed, under QEMU microvm: cold start (interleaved,
# medians) and userspace exits (kvm tracepoints, counted by perf for any VMM process); ratios to kestrel.
#
# Usage: bench/peers.sh [RUNS]      (default 20; run `make` first; perf counts need root or perf access)
#
# What is compared: the same ELF file, bench/peers/pvh-hello.S, which prints one 43-byte line on the
# 16550 UART at 0x3f8 (one `out` per byte) and ends with a write to isa-debug-exit (exit status 1 under
# both). kestrel loads it itself and enters its 64-bit entry in long mode; QEMU (-kernel, PVH boot)
# runs its microvm firmware (qboot), loads the image through fw_cfg and enters the PVH note's 32-bit
# stub, which switches to long mode and joins the same code. Each VMM runs the guest its own fastest
# documented way; the wall time is exec to exit, what a user waits for. kestrel's own test guests
# (hello, ...) need kestrel's boot info and hypercalls, so they cannot run under QEMU.
set -eu
cd "$(dirname "$0")/.."
K=${KESTREL:-build/kestrel}
RUNS=${1:-20}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-peers.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

G=$tmp/pvh-hello.elf
gcc -nostdlib -static -no-pie -Wl,-T,bench/peers/pvh-hello.ld -Wl,--build-id=none \
	-Wl,--no-warn-rwx-segments -o "$G" bench/peers/pvh-hello.S 2>/dev/null ||
	gcc -nostdlib -static -no-pie -Wl,-T,bench/peers/pvh-hello.ld -Wl,--build-id=none \
		-o "$G" bench/peers/pvh-hello.S

names=("kestrel")
cmds=("$K run $G")
QEMU_COMMON="-accel kvm -m 64M -nodefaults -no-user-config -display none -serial stdio"
QEMU_COMMON+=" -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel $G"
if command -v qemu-system-x86_64 >/dev/null; then
	names+=("qemu microvm" "qemu microvm, lean")
	cmds+=("qemu-system-x86_64 -M microvm $QEMU_COMMON"
		"qemu-system-x86_64 -M microvm,x-option-roms=off,pit=off,pic=off,rtc=off $QEMU_COMMON")
	qemu_note="$(qemu-system-x86_64 --version | head -n 1)"
else
	qemu_note="QEMU not installed (apt-get install qemu-system-x86): kestrel alone, no ratios"
fi

bench/host-info.sh
echo "$qemu_note"
echo "guest: bench/peers/pvh-hello.S (43 UART bytes + isa-debug-exit), $RUNS cold starts each, interleaved"

# Every VMM must really run the guest: the line on stdout and status 1.
for i in "${!names[@]}"; do
	set +e
	out=$(${cmds[$i]} 2>/dev/null)
	st=$?
	set -e
	if [ "$st" -ne 1 ] || [[ "$out" != *"PEER-HELLO: hello from the same tiny guest"* ]]; then
		echo "${names[$i]}: the guest did not run (status $st, output '$out'): ${cmds[$i]}" >&2
		exit 1
	fi
done

declare -A t
now_ns() { date +%s%N; }
for ((r = 0; r < RUNS; r++)); do
	for i in "${!names[@]}"; do
		t0=$(now_ns)
		${cmds[$i]} >/dev/null 2>&1 || true
		t1=$(now_ns)
		t[$i]+="$(((t1 - t0) / 1000)) "
	done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
spread() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END{print a[1] "-" a[NR]}'; }

# counts NAME-INDEX -> "userspace_exits pio mmio" from the kvm tracepoints, or "- - -".
counts() {
	local f=$tmp/perf
	# perf exits with the VMM's status (1 here): judge by what it wrote.
	rm -f "$f"
	perf stat -x, -o "$f" -e kvm:kvm_userspace_exit,kvm:kvm_pio,kvm:kvm_mmio -- \
		${cmds[$1]} >/dev/null 2>&1 || true
	if ! grep -q '^[0-9][0-9]*,.*kvm:kvm_pio' "$f" 2>/dev/null; then
		echo "- - -"
		return
	fi
	awk -F, '/kvm:kvm_userspace_exit/{u=$1} /kvm:kvm_pio/{p=$1} /kvm:kvm_mmio/{m=$1}
		END{print (u==""?"-":u), (p==""?"-":p), (m==""?"-":m)}' "$f"
}
if ! command -v perf >/dev/null; then
	echo "perf not installed: no exit counts"
fi

printf '\n%-20s %12s %16s %10s %8s %8s %12s %12s\n' "VMM" "wall p50 us" "range us" "exits" "pio" "mmio" \
	"time ratio" "exit ratio"
base_t=$(echo ${t[0]} | median)
base_e=""
for i in "${!names[@]}"; do
	m=$(echo ${t[$i]} | median)
	read -r u p mm <<<"$( command -v perf >/dev/null && counts "$i" || echo "- - -")"
	[ "$i" -eq 0 ] && base_e=$u
	rt=$(awk -v a="$m" -v b="$base_t" 'BEGIN{printf "%.2fx", a / b}')
	re="-"
	if [[ "$u" =~ ^[0-9]+$ && "$base_e" =~ ^[0-9]+$ && "$base_e" -gt 0 ]]; then
		re=$(awk -v a="$u" -v b="$base_e" 'BEGIN{printf "%.2fx", a / b}')
	fi
	printf '%-20s %12s %16s %10s %8s %8s %12s %12s\n' "${names[$i]}" "$m" "$(echo ${t[$i]} | spread)" \
		"$u" "$p" "$mm" "$rt" "$re"
done
echo
echo "exits = kvm:kvm_userspace_exit (every KVM_RUN return to the VMM), pio/mmio = kvm:kvm_pio/kvm_mmio,"
echo "counted by perf over the whole VMM process; ratios are to kestrel's (time: medians)."
