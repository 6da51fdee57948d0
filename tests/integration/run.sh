#!/bin/bash
# run.sh - integration tests: every guest under the real kestrel binary, checked by exit status AND output.
#
# Usage: KESTREL=build/kestrel GUESTS=build/guests tests/integration/run.sh
# Prints TAP-style "ok N - name" lines and ends with "N passed, N failed".
# Needs /dev/kvm. Without it every KVM case is skipped LOUDLY, and under CI
# (CI=true) a missing /dev/kvm is a failure: these machines have KVM.

set -u
KESTREL=${KESTREL:-build/kestrel}
GUESTS=${GUESTS:-build/guests}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-it.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

n=0 passed=0 failed=0 skipped=0
have_kvm=1
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then have_kvm=0; fi

# expect NAME STATUS [--out REGEX]... [--err REGEX]... [--no-err REGEX]... -- CMD...
# Runs CMD with a 60 s safety limit, then checks its exit status and that
# stdout/stderr match every given extended regex.
expect() {
	local name=$1 want=$2; shift 2
	local outs=() errs=() noerrs=()
	while [ "$1" != "--" ]; do
		case $1 in
		--out) outs+=("$2"); shift 2 ;;
		--err) errs+=("$2"); shift 2 ;;
		--no-err) noerrs+=("$2"); shift 2 ;;
		*) echo "bad expect option $1" >&2; exit 2 ;;
		esac
	done
	shift
	n=$((n + 1))
	timeout -k 5 60 "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	local got=$? why=""
	[ "$got" -eq "$want" ] || why="exit status $got, expected $want"
	for re in "${outs[@]+"${outs[@]}"}"; do
		grep -Eq -- "$re" "$tmp/out" || why="${why:+$why; }stdout lacks /$re/"
	done
	for re in "${errs[@]+"${errs[@]}"}"; do
		grep -Eq -- "$re" "$tmp/err" || why="${why:+$why; }stderr lacks /$re/"
	done
	for re in "${noerrs[@]+"${noerrs[@]}"}"; do
		! grep -Eq -- "$re" "$tmp/err" || why="${why:+$why; }stderr has /$re/"
	done
	if [ -z "$why" ]; then
		passed=$((passed + 1))
		echo "ok $n - $name"
	else
		failed=$((failed + 1))
		echo "not ok $n - $name: $why"
		echo "#   command: $*"
		sed 's/^/#   stdout: /' "$tmp/out" | head -20
		sed 's/^/#   stderr: /' "$tmp/err" | head -20
	fi
}

# kvm_expect: the same, for cases that boot a VM.
kvm_expect() {
	if [ "$have_kvm" -eq 0 ]; then
		n=$((n + 1)); skipped=$((skipped + 1))
		echo "ok $n - $1 # SKIP no usable /dev/kvm"
		return
	fi
	expect "$@"
}

K=$KESTREL G=$GUESTS
USAGE=120 IMAGE=121 HOST=122 TRIPLE=123 TIMEOUT=124 GUESTERR=125 STRICT=126 RESET=127

echo "# kestrel integration tests ($K, guests in $G)"
if [ "$have_kvm" -eq 0 ]; then
	echo "#"
	echo "# !!!!!!!! /dev/kvm is missing or not accessible: the KVM tests are SKIPPED. !!!!!!!!"
	echo "# !!!!!!!! Nothing below proves that kestrel can run a guest.                 !!!!!!!!"
	echo "#"
fi

# --- the command line (no VM needed) ---
expect "--help lists options and exit statuses" 0 --out 'Usage: kestrel run' --out 'Exit status' --out '--timeout' -- $K --help
expect "--version" 0 --out '^kestrel [0-9]+\.[0-9]+' -- $K --version
expect "no arguments is a usage error" $USAGE --err 'no guest given' --err "Try 'kestrel --help'" -- $K
expect "unknown option" $USAGE --err "unknown option '--bogus'" -- $K run --bogus $G/hello.elf
expect "--mem without a value" $USAGE --err '--mem needs a size' -- $K run $G/hello.elf --mem
expect "--mem 0" $USAGE --err 'needs some memory' -- $K run --mem 0 $G/hello.elf
expect "--mem 12Q" $USAGE --err "--mem 12Q: not a size" -- $K run --mem 12Q $G/hello.elf
expect "--cpus 0" $USAGE --err '--cpus 0' -- $K run --cpus 0 $G/hello.elf
expect "--cpus abc" $USAGE --err '--cpus abc' -- $K run --cpus abc $G/hello.elf
expect "--timeout 0" $USAGE --err '--timeout 0' -- $K run --timeout 0 $G/hello.elf
expect "two guest images" $USAGE --err "unexpected argument" -- $K run $G/hello.elf $G/hello.elf

# --- VM configuration refused by the host ---
kvm_expect "--mem 1T is more than the host has" $USAGE --err "--mem 1 TiB is more than this host" -- $K run --mem 1T $G/hello.elf
kvm_expect "--mem 1M is too small" $USAGE --err 'too small' -- $K run --mem 1M $G/hello.elf
kvm_expect "--cpus 100000 is more than KVM allows" $USAGE --err 'this KVM allows 1 to [0-9]+ vCPUs' -- $K run --cpus 100000 $G/hello.elf

# --- no usable KVM: one clear line, status 122 (root only: a private mount namespace hides /dev/kvm) ---
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
	expect "no /dev/kvm" $HOST --err '/dev/kvm does not exist: this host has no KVM' -- \
		unshare -m sh -c "mount -t tmpfs none /dev && exec $K run $G/hello.elf"
	expect "/dev/kvm that is not KVM" $HOST --err '/dev/kvm is not a KVM device' -- \
		unshare -m sh -c "mount --bind /dev/null /dev/kvm && exec $K run $G/hello.elf"
	if [ "$have_kvm" -eq 1 ] && command -v setpriv >/dev/null; then
		expect "/dev/kvm without permission" $HOST --err '/dev/kvm: permission denied' -- \
			setpriv --reuid=65534 --regid=65534 --clear-groups $K run $G/hello.elf
	fi
fi

# --- bad images: one-line reason, status 121 ---
printf '' >"$tmp/empty.elf"
head -c 40 $G/hello.elf >"$tmp/trunc.elf"
printf 'this is not an ELF file at all, just text\n' >"$tmp/text.elf"
mkdir -p "$tmp/dir.elf"
cp $G/hello.elf "$tmp/noread.elf"; chmod 000 "$tmp/noread.elf"
kvm_expect "missing image" $IMAGE --err "nonexistent.elf: No such file" -- $K run $tmp/nonexistent.elf
kvm_expect "empty image" $IMAGE --err 'empty' -- $K run $tmp/empty.elf
kvm_expect "truncated ELF" $IMAGE --err 'trunc.elf: .*(truncated|past the end|too small|short)' -- $K run $tmp/trunc.elf
kvm_expect "not an ELF" $IMAGE --err 'not an ELF' -- $K run $tmp/text.elf
kvm_expect "directory instead of an image" $IMAGE --err 'is a directory' -- $K run $tmp/dir.elf
if [ "$(id -u)" -ne 0 ]; then
	kvm_expect "unreadable image" $IMAGE --err 'Permission denied' -- $K run $tmp/noread.elf
fi

# --- guests ---
kvm_expect "hello prints its marker and exits 0" 0 --out 'KESTREL-HELLO-OK' --out "cpu 0 of 1, 64 MiB RAM" -- $K run $G/hello.elf
kvm_expect "hello gets its arguments" 0 --out "args 'alpha beta=2'" -- $K run $G/hello.elf -- alpha beta=2
kvm_expect "hello with --mem 5G (RAM above the 4 GiB hole)" 0 --out 'KESTREL-HELLO-OK' --out '5120 MiB RAM' -- $K run --mem 5G $G/hello.elf
kvm_expect "hello with --no-sync-regs" 0 --out 'KESTREL-HELLO-OK' -- $K run --no-sync-regs $G/hello.elf
kvm_expect "pio-loop 1000" 0 --out 'pio-loop: 1000 writes done' --out 'KESTREL-PIO-LOOP-OK' -- $K run $G/pio-loop.elf
kvm_expect "pio-loop N from its arguments" 0 --out 'pio-loop: 20000 writes done' -- $K run $G/pio-loop.elf -- 20000
kvm_expect "hypercall-loop, shared register page" 0 --out 'hypercall-loop: 5000 calls, 0 bad' --out 'KESTREL-HYPERCALL-LOOP-OK' -- $K run $G/hypercall-loop.elf -- 5000
kvm_expect "hypercall-loop, ioctl fallback" 0 --out 'hypercall-loop: 5000 calls, 0 bad' --out 'KESTREL-HYPERCALL-LOOP-OK' -- $K run --no-sync-regs $G/hypercall-loop.elf -- 5000
kvm_expect "smp-hello on 2 vCPUs" 0 --out 'cpu 0 of 2 reporting' --out 'cpu 1 of 2 reporting' --out 'KESTREL-SMP-OK 2 cpus' -- $K run --cpus 2 $G/smp-hello.elf
kvm_expect "smp-hello on 4 vCPUs" 0 --out 'cpu 3 of 4 reporting' --out 'KESTREL-SMP-OK 4 cpus' -- $K run --cpus 4 $G/smp-hello.elf

# --- negative guests ---
kvm_expect "bad-port passes without --strict (reads 0, logged once)" 0 --out 'KESTREL-BAD-PORT-OK read=0x00' --err 'unhandled read from port 0x6666' -- $K run $G/bad-port.elf
kvm_expect "bad-port fails under --strict" $STRICT --err 'strict: unhandled read from port 0x6666 .* at RIP 0x' --no-err 'KESTREL-BAD-PORT-OK' -- $K run --strict $G/bad-port.elf
kvm_expect "mmio-fetch: KVM internal error with suberror, RIP and code report" $GUESTERR --out 'jumping to 0xd0000000' --err 'KVM internal error, suberror 1: instruction emulation failed' --err 'rip=00000000d0000000' --err 'gpa 0xd0000000 is not RAM' -- $K run $G/mmio-fetch.elf
kvm_expect "triple-fault ends with its status and a register dump" $TRIPLE --out 'about to fault' --err 'triple fault' --err 'rip=' --err 'code at rip' -- $K run $G/triple-fault.elf
kvm_expect "debug-exit default 0x10 gives status 33" 33 --out 'writing 0x10 to port 0xf4' --err 'isa-debug-exit' --no-err 'still running' -- $K run $G/debug-exit.elf
kvm_expect "debug-exit 3 gives status 7" 7 --out 'writing 0x3 to port 0xf4' -- $K run $G/debug-exit.elf -- 3
kvm_expect "debug-exit 127 gives status 255 (low 8 bits)" 255 -- $K run $G/debug-exit.elf -- 127
kvm_expect "debug-exit 0x1234 keeps the low 8 bits of (v<<1)|1" 105 -- $K run $G/debug-exit.elf -- 4660
kvm_expect "reset via the i8042 ends with status 127" $RESET --out 'reset: asking the i8042 for a reset' --err 'reset' --no-err 'still running' -- $K run $G/reset.elf
kvm_expect "bad-hypercall gets the right errnos" 0 --out 'KESTREL-BAD-HYPERCALL-OK' -- $K run $G/bad-hypercall.elf
kvm_expect "bad-hypercall, ioctl fallback" 0 --out 'KESTREL-BAD-HYPERCALL-OK' -- $K run --no-sync-regs $G/bad-hypercall.elf
kvm_expect "bad-hypercall with RAM above the 4 GiB hole" 0 --out 'KESTREL-BAD-HYPERCALL-OK' --out '2 RAM region' -- $K run --mem 5G $G/bad-hypercall.elf
kvm_expect "--timeout stops a guest that runs too long" $TIMEOUT --err 'timeout' -- $K run --timeout 0.3 $G/pio-loop.elf -- 4000000000

# --- register cache: same guest results under both backends, and the ioctl counts ---
kvm_expect "snapshot-loop, shared register page" 0 --out 'snapshot-loop: 300 rounds, 299 restores, 0 wrong' --out 'KESTREL-SNAPSHOT-LOOP-OK' -- $K run $G/snapshot-loop.elf -- 300
kvm_expect "snapshot-loop, ioctl fallback" 0 --out 'snapshot-loop: 300 rounds, 299 restores, 0 wrong' --out 'KESTREL-SNAPSHOT-LOOP-OK' -- $K run --no-sync-regs $G/snapshot-loop.elf -- 300

# reg_ioctls OPTS GUEST ARGS...: the "register ioctls in all" figure of a --stats run.
reg_ioctls() {
	local opts=$1 guest=$2; shift 2
	$K run --stats $opts $G/$guest -- "$@" 2>&1 >/dev/null |
		sed -n 's/.* \([0-9][0-9]*\) register ioctls in all.*/\1/p'
}
# check_range NAME VALUE MIN MAX
check_range() {
	n=$((n + 1))
	if [ -n "$2" ] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ]; then
		passed=$((passed + 1)); echo "ok $n - $1 ($2)"
	else
		failed=$((failed + 1)); echo "not ok $n - $1: got '${2}', want $3..$4"
	fi
}
if [ "$have_kvm" -eq 1 ]; then
	# With the shared page, 3000 ADD hypercalls cost no register ioctl at all:
	# only the one KVM_GET_SREGS of the start-up state remains.
	check_range "hypercall-loop 3000 via the page: register ioctls in all" \
		"$(reg_ioctls "" hypercall-loop.elf 3000)" 0 2
	# Over ioctls each call is one KVM_GET_REGS + one KVM_SET_REGS.
	check_range "hypercall-loop 3000 via ioctls: 2 register ioctls per call" \
		"$(reg_ioctls --no-sync-regs hypercall-loop.elf 3000)" 6000 6020
	# A restore moves REGS, SREGS and EVENTS on the page; only the FPU needs an ioctl.
	check_range "snapshot-loop 300 via the page: 1 register ioctl per restore" \
		"$(reg_ioctls "" snapshot-loop.elf 300)" 299 310
	# pio-loop reads no register: zero ioctls per exit either way.
	check_range "pio-loop 3000 via ioctls: no register ioctl per exit" \
		"$(reg_ioctls --no-sync-regs pio-loop.elf 3000)" 0 10
fi

# --- signals: SIGTERM/SIGINT end the VM cleanly with 128+signal ---
if [ "$have_kvm" -eq 1 ]; then
	for sig in TERM INT; do
		n=$((n + 1))
		$K run $G/pio-loop.elf -- 4000000000 >"$tmp/out" 2>"$tmp/err" </dev/null &
		pid=$!
		sleep 0.3
		kill -$sig $pid
		wait $pid
		got=$?
		want=$([ $sig = TERM ] && echo 143 || echo 130)
		if [ $got -eq $want ] && grep -q "stopped by signal" "$tmp/err"; then
			passed=$((passed + 1)); echo "ok $n - SIG$sig stops the VM with status $want"
		else
			failed=$((failed + 1)); echo "not ok $n - SIG$sig: status $got (want $want)"; cat "$tmp/err"
		fi
	done
fi

echo "# integration: $passed passed, $failed failed, $skipped skipped"
if [ "$have_kvm" -eq 0 ]; then
	echo "# !!!!!!!! KVM TESTS SKIPPED: no usable /dev/kvm !!!!!!!!"
	if [ "${CI:-}" = "true" ]; then
		echo "# CI=true: a CI machine must have /dev/kvm, so this is a failure."
		exit 1
	fi
fi
[ "$failed" -eq 0 ]
