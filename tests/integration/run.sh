#!/bin/bash
# run.sh - integration tests: every guest under the real kestrel binary, checked by exit status AND output.
#
# Usage: KESTREL=build/kestrel GUESTS=build/guests tests/integration/run.sh
# Prints TAP-style "ok N - name" lines and ends with "N passed, N failed".
# Needs /dev/kvm. Without it every KVM case is skipped LOUDLY, and under CI
# (CI=true) a missing /dev/kvm is a failure: these machines have KVM.

set -u
# Standard input is the guest's console input (a terminal would be put in raw
# mode): no case reads the caller's; those that give input say so.
exec </dev/null
KESTREL=${KESTREL:-build/kestrel}
GUESTS=${GUESTS:-build/guests}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-it.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

n=0 passed=0 failed=0 skipped=0
have_kvm=1
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then have_kvm=0; fi

# expect NAME STATUS [--in FILE] [--out REGEX]... [--no-out REGEX]... [--err REGEX]... [--no-err REGEX]... -- CMD...
# Runs CMD with a 60 s safety limit, standard input from FILE (default
# /dev/null), then checks its exit status and that stdout/stderr match every
# given extended regex.
expect() {
	local name=$1 want=$2; shift 2
	local outs=() noouts=() errs=() noerrs=() in=/dev/null
	while [ "$1" != "--" ]; do
		case $1 in
		--in) in=$2; shift 2 ;;
		--out) outs+=("$2"); shift 2 ;;
		--no-out) noouts+=("$2"); shift 2 ;;
		--err) errs+=("$2"); shift 2 ;;
		--no-err) noerrs+=("$2"); shift 2 ;;
		*) echo "bad expect option $1" >&2; exit 2 ;;
		esac
	done
	shift
	n=$((n + 1))
	timeout -k 5 60 "$@" >"$tmp/out" 2>"$tmp/err" <"$in"
	local got=$? why=""
	[ "$got" -eq "$want" ] || why="exit status $got, expected $want"
	for re in "${outs[@]+"${outs[@]}"}"; do
		grep -Eq -- "$re" "$tmp/out" || why="${why:+$why; }stdout lacks /$re/"
	done
	for re in "${noouts[@]+"${noouts[@]}"}"; do
		! grep -Eq -- "$re" "$tmp/out" || why="${why:+$why; }stdout has /$re/"
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
# --- issue 14: the habits of lkvm/QEMU users, subcommands, help ---
expect "kestrel version" 0 --out '^kestrel [0-9]+\.[0-9]+\.[0-9]+$' -- $K version
expect "kestrel help: the commands" 0 --out '^Commands:' --out '^  bench ' --out '^  159 ' -- $K help
expect "kestrel help run: every option and status, unlike the overview" 0 --out '--no-halt-exits' --out '^  159 ' --out 'a bare number is MiB' -- $K help run
expect "kestrel run --help is run's help" 0 --out '--no-pause-exits' --out '--json-status FILE' -- $K run --help
expect "kestrel help bench" 0 --out '^Usage: kestrel bench' --out '--warmup N' -- $K help bench
expect "kestrel bench --help" 0 --out '^Usage: kestrel bench' --out '--runs N' -- $K bench --help
expect "a bare kestrel prints a short usage" $USAGE --err '^kestrel: no guest given' --err '^Usage: kestrel \[run\]' --err "kestrel help run" -- $K
expect "kestrel rn: unknown command, did you mean, the list" $USAGE --err "^kestrel: unknown command 'rn' \(did you mean 'run'\?\); the commands are run, bench, help, version" --no-err 'No such file' -- $K rn
expect "kestrel help rn" $USAGE --err "unknown command 'rn' \(did you mean 'run'\?\)" -- $K help rn
expect "--hepl: did you mean --help" $USAGE --err "unknown option '--hepl' \(did you mean --help\?\)" -- $K --hepl
expect "--mme: did you mean --mem" $USAGE --err "unknown option '--mme' \(did you mean --mem\?\)" -- $K run --mme 8 $G/hello.elf
expect "every usage-error line starts with kestrel:" $USAGE --no-err '^[^k]' --no-err '^k[^e]' -- $K run --bogus $G/hello.elf
expect "bench with an image that is none fails before the first run" $IMAGE --err '^kestrel: bench: .*: not a guest image kestrel boots' --no-err 'runs failed' -- $K bench --runs 50 $0
expect "bench with a directory as image" $IMAGE --err 'not a regular file' -- $K bench --runs 50 $G
expect "bench with a bad run option fails before the first run" $USAGE --err "^kestrel: bench: B: kestrel run --bogus: unknown option '--bogus'" -- $K bench --runs 50 --a "" --b "--bogus" $G/hello.elf
expect "bench with a bad option after --" $USAGE --err "unknown option '--nope'" -- $K bench --runs 50 $G/hello.elf -- --nope
expect "bench --runs=0 is a usage error" $USAGE --err "bad number '0' for --runs" -- $K bench --runs=0 $G/hello.elf
expect "bench --rusn: did you mean --runs" $USAGE --err "did you mean --runs\?" -- $K bench --rusn 3 $G/hello.elf
# Usage errors, configurations the host refuses and bad images live in the
# bad-input catalogue: tests/bad-input/cases.txt (run by tests/check.sh).

# --- issue 14: what is documented is all there (derived from the sources, nothing listed here) ---
root=$(cd "$(dirname "$0")/../.." && pwd)
# Every status kestrel itself exits with: abi.h's KESTREL_STATUS_* (less GUEST_MAX, the
# guest's top), 128 + each signal cli/guard.c stops cleanly on, and 159 (SIGSYS).
statuses="$(cpp -dM "$root/include/kestrel/abi.h" | awk '$2 ~ /^KESTREL_STATUS_/ && $2 != "KESTREL_STATUS_GUEST_MAX" {print $3}' | sort -n | tr '\n' ' ')"
for sig in $(sed -n 's/^const int guard_stop_signals.*{\(.*\)};/\1/p' "$root/cli/guard.c" | tr -d ' ' | tr ',' ' '); do
	statuses="$statuses $((128 + $(kill -l "${sig#SIG}")))"
done
statuses="$statuses 159"
"$K" help run >"$tmp/runhelp" 2>&1
sed -n '/^### Exit statuses/,/^## /p' "$root/README.md" >"$tmp/readme-st"
missing="" missing_readme=""
for st in $statuses; do
	grep -Eq "(^| |/)$st( |/|$)" <(sed -n '/^Exit status:/,$p' "$tmp/runhelp") || missing="$missing $st"
	grep -Eq "(^\| |/ )$st( \||  *\|| /)" "$tmp/readme-st" || missing_readme="$missing_readme $st"
done
expect "kestrel help run lists every status kestrel exits with ($(echo $statuses | wc -w) of them)" 0 -- sh -c "[ -z '$missing' ] || { echo 'missing:$missing' >&2; exit 1; }"
expect "the README's exit-status table lists every one" 0 -- sh -c "[ -z '$missing_readme' ] || { echo 'missing:$missing_readme' >&2; exit 1; }"
# Every hypercall of abi.h's enum, by number and name, in the README's ABI list.
hc_missing=""
tr '\n' ' ' <"$root/README.md" | tr -s ' ' >"$tmp/readme-flat"
for hc in $(tr '\n' ' ' <"$root/include/kestrel/abi.h" | grep -oE 'KESTREL_HC_[A-Z]+ *= *[0-9]+' | tr -d ' '); do
	name=$(echo "${hc%%=*}" | sed 's/KESTREL_HC_//' | tr 'A-Z' 'a-z') nr=${hc##*=}
	grep -q "\`$nr\` $name" "$tmp/readme-flat" || hc_missing="$hc_missing $nr:$name"
done
expect "the README lists every hypercall of abi.h (number and name)" 0 -- sh -c "[ -z '$hc_missing' ] || { echo 'missing:$hc_missing' >&2; exit 1; }"
expect "a LICENSE, and the README names it" 0 -- sh -c "grep -q 'Apache License' '$root/LICENSE' && grep -q '(LICENSE)' '$root/README.md'"
expect "kestrel.h documents the signal and the process-wide handler the library installs" 0 -- sh -c "grep -q 'SIGRTMIN+1' '$root/include/kestrel/kestrel.h' && grep -q 'process-wide' '$root/include/kestrel/kestrel.h' && grep -q 'kick_signal' '$root/include/kestrel/kestrel.h'"
# kestrel bench: a counter on a terminal (script(1) gives it one), nothing off one.
if command -v script >/dev/null; then
	kvm_expect "bench on a terminal: a one-line counter on stderr" 0 --out 'kestrel: bench: run 4 of 4' -- sh -c "script -qec '$K bench --runs 3 $G/hello.elf' /dev/null </dev/null | tr '\r' '\n'"
fi
kvm_expect "bench off a terminal: no counter" 0 --no-err 'run [0-9]+ of' -- $K bench --runs 3 $G/hello.elf

# --- a real 3.8 KB path (15 directories of 250 bytes): shortened in its middle, the reason whole ---
deep=$tmp
for i in $(seq 15); do deep=$deep/$(printf "d%.0s" $(seq 250)); done
mkdir -p "$deep" && cp "$0" "$deep/not-an-image.sh"
expect "a 3.8 KB path to a text file: the reason survives" $IMAGE --err '^kestrel: /.*d\.\.\.[d/]+/not-an-image\.sh: not an ELF file \(bad magic\)' -- $K run "$deep/not-an-image.sh"
expect "a 3.8 KB path to a missing initrd: the reason survives" $IMAGE --err '\.\.\.[d/]+/none: No such file or directory$' -- $K run --initrd "$deep/none" $G/bzimage-test.bzImage

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

# --- guests ---
kvm_expect "hello prints its marker and exits 0" 0 --out 'KESTREL-HELLO-OK' --out "cpu 0 of 1, 64 MiB RAM" -- $K run $G/hello.elf
# One usable CPU: the CPUID table is asked on the creating thread, not on a
# helper (arch/x86/vm.c: a helper there would only take turns with it); with
# two, on the helper.
kvm_expect "one usable CPU (taskset): CPUID asked inline, hello as on two, 2 vCPUs too" 0 --out 'KESTREL-HELLO-OK' --out "cpu 0 of 2" --err "CPUID: KVM's table asked on the creating thread \(no helper" -- taskset -c 0 $K run -v --cpus 2 $G/hello.elf
if [ "$(nproc)" -ge 2 ]; then
	kvm_expect "two usable CPUs: CPUID asked on the helper thread" 0 --out 'KESTREL-HELLO-OK' --no-err "CPUID: KVM's table asked on the creating thread" --err 'VM created' -- taskset -c 0,1 $K run -v $G/hello.elf
fi
kvm_expect "lkvm's habits: -k IMAGE -m 256 -c 2 -p ARGS" 0 --out 'cpu 0 of 2, 256 MiB RAM, args .a b.' --out 'KESTREL-HELLO-OK' -- $K run -k $G/hello.elf -m 256 -c 2 -p "a b"
kvm_expect "attached values -m256M -c2, --mem=, QEMU's -kernel and -append" 0 --out 'cpu 0 of 2, 256 MiB RAM, args .x.' -- $K run -m256M -c2 -kernel $G/hello.elf -append x
kvm_expect "--mem 65536 is MiB too (64 GiB is refused as more than the host has, or accepted)" 0 --out '16 MiB RAM' -- $K run --mem 16 $G/hello.elf
kvm_expect "-v: the set-up steps" 0 --err '^kestrel: /dev/kvm: API 12' --err '^kestrel: guest RAM slot 0: ' --err '^kestrel: VM created: 1 vCPU' --err 'kestrel ELF64 image' -- $K run -v $G/hello.elf
kvm_expect "-q: no set-up steps" 0 --no-err '.' -- $K run -q $G/hello.elf
kvm_expect "--cpus above the host's CPU count: a warning" 0 --err "^kestrel: warning: $(( $(nproc) + 1 )) vCPUs on $(nproc) host CPU" -- $K run --cpuid -c $(( $(nproc) + 1 ))
kvm_expect "-q silences that warning" 0 --no-err 'warning' -- $K run --cpuid -q -c $(( $(nproc) + 1 ))
kvm_expect "a triple fault: one reason line, no doubled parentheses, the dump prefixed" $TRIPLE --err '^kestrel: cpu 0: triple fault \(KVM_EXIT_SHUTDOWN\); exit status 123$' --err '^kestrel: rip=' --err '^kestrel: code at rip' --no-err '^[^k]' --no-err '\) \(' -- $K run $G/triple-fault.elf
kvm_expect "reset: no doubled parentheses" $RESET --err '; exit status 127$' --no-err '\) \(exit status' -- $K run $G/reset.elf
# --- Linux boot protocol: the synthetic bzImage checks the zero page, e820, initrd and ACPI it is given ---
printf "XYZ-initrd" >"$tmp/initrd-xyz"
kvm_expect "bzImage: 64-bit entry, zero page, e820, initrd, RSDP" 1 --out 'KESTREL-BZIMAGE-OK' --out 'PASS initrd starts with initrd-magic' --out 'PASS acpi_rsdp_addr' -- $K run --initrd "$tmp/initrd-xyz" --cmdline "initrd-magic=XYZ expect-acpi" $G/bzimage-test.bzImage
kvm_expect "bzImage: lkvm-style -k/-i/-p/-m/-c" 1 --out 'KESTREL-BZIMAGE-OK' -- $K run -k $G/bzimage-test.bzImage -i "$tmp/initrd-xyz" -p "initrd-magic=XYZ" -m 128M -c 2
kvm_expect "bzImage: a wrong initrd magic fails the guest's check (could fail)" 3 --out 'KESTREL-BZIMAGE-FAIL' -- $K run --initrd "$tmp/initrd-xyz" --cmdline "initrd-magic=ABC" $G/bzimage-test.bzImage
kvm_expect "bzImage: initrd-magic without an initrd fails" 3 --out 'KESTREL-BZIMAGE-FAIL' -- $K run --cmdline "initrd-magic=XYZ" $G/bzimage-test.bzImage
# --- multiboot kernels written the QEMU way: info block, module, fw_cfg, ACPI PM timer, PCI scan, pc-testdev, INIT/SIPI ---
printf 'MBTEST_ENV=1\nCPUS=3\nMBTEST_END=1\n' >"$tmp/mbenv3"
printf 'MBTEST_ENV=1\nCPUS=1\nMBTEST_END=1\n' >"$tmp/mbenv1"
kvm_expect "multiboot mb-test, 3 vCPUs started by INIT/SIPI, --strict" 1 --out 'PASS smp-count: 3 CPUs up' --out 'PASS fwcfg-cpus: key 0x0005: 3 CPUs' --out 'PASS pm-timer-runs' --out 'PASS testdev-long' --out '^MB-TEST PASS' -- $K run --strict --cpus 3 --mem 128M --initrd "$tmp/mbenv3" $G/mb-test.elf -- cpus=3 mods=1 testdev
kvm_expect "multiboot mb-test, 1 vCPU, --strict" 1 --out 'PASS module-length' --out '^MB-TEST PASS' -- $K run --strict --cpus 1 --initrd "$tmp/mbenv1" $G/mb-test.elf -- cpus=1 mods=1
kvm_expect "multiboot mb-test: a wrong CPU count fails (could fail)" 3 --out 'MB-TEST FAIL' -- $K run --cpus 3 --initrd "$tmp/mbenv3" $G/mb-test.elf -- cpus=2 mods=1
kvm_expect "multiboot mb-realmode at 0x8000: real-mode round trip (low memory is the guest's)" 1 --out 'hello from real mode' --out 'MB-REALMODE PASS' -- $K run --strict $G/mb-realmode.bin
kvm_expect "exit-now exits 0 and prints nothing (stdout and stderr)" 0 --no-err '^' -- sh -c "exec $K run $G/exit-now.elf >&2"
kvm_expect "hello gets its arguments" 0 --out "args 'alpha beta=2'" -- $K run $G/hello.elf -- alpha beta=2
kvm_expect "hello with --mem 5G (RAM above the 4 GiB hole)" 0 --out 'KESTREL-HELLO-OK' --out '5120 MiB RAM' -- $K run --mem 5G $G/hello.elf
kvm_expect "platform-poke check --strict --cpus 2: fw_cfg, CMOS, PCI scan (no device), PM timer, pc-testdev" 0 --out "KESTREL-PLATFORM-OK" -- $K run --strict --cpus 2 $G/platform-poke.elf -- check
kvm_expect "platform-poke check --mem 5G: fw_cfg RAM size and CMOS above 4 GiB" 0 --out "KESTREL-PLATFORM-OK" -- $K run --strict --mem 5G $G/platform-poke.elf -- check
kvm_expect "platform-poke s5: ACPI PM1a_CNT S5 powers off with status 0" 0 -- $K run --strict $G/platform-poke.elf -- s5
kvm_expect "hello with --no-sync-regs" 0 --out 'KESTREL-HELLO-OK' -- $K run --no-sync-regs $G/hello.elf
kvm_expect "hello with --no-seccomp (vCPU threads unconfined)" 0 --out 'KESTREL-HELLO-OK' -- $K run --no-seccomp $G/hello.elf
kvm_expect "pio-loop 1000" 0 --out 'pio-loop: 1000 writes done' --out 'KESTREL-PIO-LOOP-OK' -- $K run $G/pio-loop.elf
kvm_expect "pio-loop N from its arguments" 0 --out 'pio-loop: 20000 writes done' -- $K run $G/pio-loop.elf -- 20000
kvm_expect "hypercall-loop, shared register page" 0 --out 'hypercall-loop: 5000 calls, 0 bad' --out 'KESTREL-HYPERCALL-LOOP-OK' -- $K run $G/hypercall-loop.elf -- 5000
kvm_expect "hypercall-loop, ioctl fallback" 0 --out 'hypercall-loop: 5000 calls, 0 bad' --out 'KESTREL-HYPERCALL-LOOP-OK' -- $K run --no-sync-regs $G/hypercall-loop.elf -- 5000
kvm_expect "smp-hello on 2 vCPUs" 0 --out 'cpu 0 of 2 reporting' --out 'cpu 1 of 2 reporting' --out 'KESTREL-SMP-OK 2 cpus' -- $K run --cpus 2 $G/smp-hello.elf
kvm_expect "smp-hello on 4 vCPUs" 0 --out 'cpu 3 of 4 reporting' --out 'KESTREL-SMP-OK 4 cpus' -- $K run --cpus 4 $G/smp-hello.elf

# --- negative guests ---
kvm_expect "bad-port passes without --strict (reads 0, logged once)" 0 --out 'KESTREL-BAD-PORT-OK read=0x00' --err 'unhandled read from port 0x6666' -- $K run $G/bad-port.elf
kvm_expect "bad-port reading all 65,536 ports: 9 log lines (8 ports, 1 summary), not one a port" 0 --out '^9$' -- sh -c "$K run $G/bad-port.elf -- all 2>&1 >/dev/null | grep -c unhandled"
kvm_expect "bad-port fails under --strict" $STRICT --err 'strict: unhandled read from port 0x6666 .* at RIP 0x' --no-err 'KESTREL-BAD-PORT-OK' -- $K run --strict $G/bad-port.elf
kvm_expect "mmio-fetch: KVM internal error with suberror, RIP and code report" $GUESTERR --out 'jumping to 0xd0000000' --err 'KVM internal error, suberror 1: instruction emulation failed' --err 'rip=00000000d0000000' --err 'gpa 0xd0000000 is not RAM' -- $K run $G/mmio-fetch.elf
kvm_expect "a fault in the last 3 bytes of RAM: the dump shows those 3, not 'is not RAM'" $TRIPLE --out 'the last 3 bytes of RAM' --err '^kestrel: code at rip \(gpa 0x3fffffd; RAM ends after 3 bytes\): 48 8b 00$' --no-err 'is not RAM' -- $K run $G/triple-fault.elf -- end
kvm_expect "triple-fault ends with its status and a register dump" $TRIPLE --out 'about to fault' --err 'triple fault' --err 'rip=' --err 'code at rip' -- $K run $G/triple-fault.elf
kvm_expect "debug-exit default 0x10 gives status 33" 33 --out 'writing 0x10 to port 0xf4' --err 'isa-debug-exit' --no-err 'still running' -- $K run $G/debug-exit.elf
kvm_expect "debug-exit 3 gives status 7" 7 --out 'writing 0x3 to port 0xf4' -- $K run $G/debug-exit.elf -- 3
kvm_expect "debug-exit 38 gives 77 (a test runner's skip)" 77 -- $K run $G/debug-exit.elf -- 38
kvm_expect "debug-exit 59 gives 119, the guest's last status" 119 -- $K run $G/debug-exit.elf -- 59
# A guest must not pose as kestrel (abi.h): statuses over 119 become 125, the real one named.
kvm_expect "debug-exit 60 (status 121, IMAGE) gives 125" $GUESTERR --err 'status 121 is outside the guest.s 0-119' -- $K run $G/debug-exit.elf -- 60
kvm_expect "debug-exit 127 (status 255) gives 125" $GUESTERR --err 'status 255 is outside' -- $K run $G/debug-exit.elf -- 127
kvm_expect "debug-exit 0x1234 (status 9321, low byte 105) gives 125" $GUESTERR --err 'status 9321 is outside' -- $K run $G/debug-exit.elf -- 4660
kvm_expect "exit hypercall 119 passes through" 119 --no-err 'outside' -- $K run $G/debug-exit.elf -- hc 119
kvm_expect "exit hypercall 124 (TIMEOUT) gives 125" $GUESTERR --err 'guest exited with status 124, outside the guest.s 0-119' --no-err 'timeout' -- $K run $G/debug-exit.elf -- hc 124
kvm_expect "exit hypercall 143 (SIGTERM) gives 125" $GUESTERR --err 'status 143, outside' -- $K run $G/debug-exit.elf -- hc 143
kvm_expect "exit hypercall 159 (SIGSYS) gives 125" $GUESTERR --err 'status 159, outside' -- $K run $G/debug-exit.elf -- hc 159
kvm_expect "exit hypercall 256 is not success" $GUESTERR --err 'status 256, outside' -- $K run $G/debug-exit.elf -- hc 256
kvm_expect "exit hypercall 2^64-1 gives 125" $GUESTERR --err 'status 18446744073709551615, outside' -- $K run $G/debug-exit.elf -- hc 18446744073709551615
kvm_expect "reset via the i8042 ends with status 127" $RESET --out 'reset: asking the i8042 for a reset' --err 'reset' --no-err 'still running' -- $K run $G/reset.elf
kvm_expect "bad-hypercall gets the right errnos" 0 --out 'KESTREL-BAD-HYPERCALL-OK' -- $K run $G/bad-hypercall.elf
kvm_expect "bad-hypercall, ioctl fallback" 0 --out 'KESTREL-BAD-HYPERCALL-OK' -- $K run --no-sync-regs $G/bad-hypercall.elf
kvm_expect "bad-hypercall with RAM above the 4 GiB hole" 0 --out 'KESTREL-BAD-HYPERCALL-OK' --out '2 RAM region' -- $K run --mem 5G $G/bad-hypercall.elf
kvm_expect "--timeout stops a guest that runs too long" $TIMEOUT --err 'timeout' -- $K run --timeout 0.3 $G/pio-loop.elf -- 4000000000

# --- host memory (docs/robustness.md): no more than MemAvailable unless --mem-overcommit; --mem-prefault ---
avail_mib=$(( $(awk '/^MemAvailable:/ {print $2}' /proc/meminfo) / 1024 ))
total_mib=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 ))
kvm_expect "--mem MemAvailable + 1 GiB ($((avail_mib + 1024))M) is refused, naming --mem-overcommit" $USAGE --err "^kestrel: --mem .* is more than this host has available: .*MemAvailable.* allow it with --mem-overcommit" -- $K run --mem $((avail_mib + 1024))M $G/hello.elf
kvm_expect "--mem MemAvailable + 1 GiB with --mem-overcommit boots" 0 --out 'KESTREL-HELLO-OK' -- $K run --mem $((avail_mib + 1024))M --mem-overcommit $G/hello.elf
if [ $((total_mib - avail_mib)) -ge 64 ]; then
	# Below all RAM (which main checked) but above what is available: main let it through.
	kvm_expect "--mem between MemAvailable and MemTotal ($(((avail_mib + total_mib) / 2))M) is refused" $USAGE --err 'is more than this host has available' -- $K run --mem $(((avail_mib + total_mib) / 2))M $G/hello.elf
else
	n=$((n + 1)); skipped=$((skipped + 1)); echo "ok $n - --mem between MemAvailable and MemTotal # SKIP they are within 64 MiB"
fi
kvm_expect "mem-touch: a guest that writes all of its 1 GiB gets it (and the host gave it)" 0 --out 'KESTREL-MEM-TOUCH-OK pages=[0-9]+ touched_mib=102[0-9] ram_mib=1024' --err '^kestrel: memory: guest RAM touched 104[0-9]{4} KiB of 1024 MiB' -- $K run --mem 1G --stats $G/mem-touch.elf
kvm_expect "--mem-prefault: all 256 MiB are the process's before a guest that touches none" 0 --out 'KESTREL-HELLO-OK' --err '^kestrel: memory: guest RAM touched 262144 KiB of 256 MiB' -- $K run --mem 256M --mem-prefault --stats $G/hello.elf
kvm_expect "without --mem-prefault the same guest has the host give next to nothing" 0 --err '^kestrel: memory: guest RAM touched [0-9]{1,4} KiB of 256 MiB' -- $K run --mem 256M --stats $G/hello.elf
kvm_expect "mem-touch with --mem-prefault" 0 --out 'KESTREL-MEM-TOUCH-OK .* ram_mib=256' -- $K run --mem 256M --mem-prefault $G/mem-touch.elf

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

# --- exit profile: exact counts in --stats and --stats-json ---
kvm_expect "pio-loop 2500 --stats: exactly 2500 exits on port 0x58 out" 0 --err '^  0x0058 out null +2500 ' --err '^  IO +[0-9]+ ' --err 'log2 histograms' --err "KVM's own counters \(KVM_GET_STATS_FD" --err '^  insn_emulation +[0-9]+ ' --err '^  first guest entry +[0-9]+\.[0-9] ' -- $K run --stats $G/pio-loop.elf -- 2500
kvm_expect "hypercall-loop 2000 --stats: 2001 ADD hypercalls (2000 + the register check)" 0 --err '^  2 add +2001 ' --err '^  0x0032 out hypercall +2001 ' -- $K run --stats $G/hypercall-loop.elf -- 2000
kvm_expect "smp-hello --cpus 2 --stats: a profile per vCPU and one for the VM" 0 --err 'exit profile, vCPU 0:' --err 'exit profile, vCPU 1:' --err 'exit profile, whole VM \(2 vCPUs\)' -- $K run --cpus 2 --stats $G/smp-hello.elf
kvm_expect "--no-profile: the report says the profile is off" 0 --err 'exit profile: off' --err 'register ioctls in all' -- $K run --no-profile --stats $G/pio-loop.elf
expect "--stats-json into a missing directory is a usage error" $USAGE --err "stats-json $tmp/nodir/p.json: No such file" -- $K run --stats-json $tmp/nodir/p.json $G/hello.elf

# json_check NAME FILE CONDITION: FILE parses (python3 -m json.tool) and the Python
# expression CONDITION holds for its document `d`.
json_check() {
	n=$((n + 1))
	if ! command -v python3 >/dev/null; then
		skipped=$((skipped + 1)); echo "ok $n - $1 # SKIP no python3"; return
	fi
	if ! python3 -m json.tool "$2" >/dev/null 2>"$tmp/jerr"; then
		failed=$((failed + 1)); echo "not ok $n - $1: $2 is not valid JSON"
		sed 's/^/#   /' "$tmp/jerr" | head -5; return
	fi
	if python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$2" "$3"; then
		passed=$((passed + 1)); echo "ok $n - $1"
	else
		failed=$((failed + 1)); echo "not ok $n - $1: $3 is false"
	fi
}
if [ "$have_kvm" -eq 1 ]; then
	kvm_expect "pio-loop 2500 --stats-json runs" 0 --out 'pio-loop: 2500 writes done' -- $K run --stats-json $tmp/pio.json $G/pio-loop.elf -- 2500
	json_check "--stats-json: schema 1" $tmp/pio.json "d['schema'] == 1 and list(d)[0] == 'schema'"
	kvm_expect "--json-status FILE" $TRIPLE -- $K run --json-status $tmp/st.json $G/triple-fault.elf
	json_check "--json-status: kind, status, reason" $tmp/st.json \
		"d == {'schema': 1, 'kind': 'triple_fault', 'status': 123, 'guest_status': None, 'cpu': 0, 'reason': 'cpu 0: triple fault (KVM_EXIT_SHUTDOWN)'}"
	kvm_expect "--json-status - (stderr) for a guest's own status" 7 --err '^\{"schema":1,"kind":"debug_exit","status":7,"guest_status":7,' -- $K run --json-status - $G/debug-exit.elf -- 3
	expect "--json-status for an image that is none" $IMAGE -- $K run --json-status $tmp/st2.json $0
	json_check "--json-status: kind error, class image" $tmp/st2.json "d['kind'] == 'error' and d['error_class'] == 'image' and d['status'] == 121 and d['reason']"
	json_check "--stats-json: 2500 exits on port 0x58 out, VM and vCPU 0" $tmp/pio.json \
		"[r['samples'] for p in (d['vm'], d['per_vcpu'][0]['profile']) for r in p['pio'] if r['port'] == 0x58 and r['dir'] == 'out'] == [2500, 2500]"
	json_check "--stats-json: exits = sum over reasons = kestrel's own exit counter" $tmp/pio.json \
		"d['vm']['exits'] == sum(r['samples'] for r in d['vm']['reasons']) == d['registers']['exits'] and d['exit']['status'] == 0"
	json_check "--stats-json: KVM's binary stats per vCPU, consistent with kestrel's counts" $tmp/pio.json \
		"d['kvm_stats']['available'] and d['kvm_stats']['userspace_exits'] == d['vm']['exits'] and d['kvm_stats']['in_kernel_exits'] == max(0, d['kvm_stats']['kvm_exits'] - d['vm']['exits']) and d['kvm_stats']['vcpus'][0]['id'].endswith('/vcpu-0') and 'insn_emulation' in d['kvm_stats']['vcpu_total']"
	json_check "--stats-json: boot timeline milestones all present, in order" $tmp/pio.json \
		"[d['timeline_us'][k] for k in ('kvm_ready', 'guest_loaded', 'run_start', 'first_entry', 'first_console_byte', 'guest_exit', 'run_end')] == sorted(d['timeline_us'][k] for k in ('kvm_ready', 'guest_loaded', 'run_start', 'first_entry', 'first_console_byte', 'guest_exit', 'run_end')) and d['timeline_us']['kvm_ready'] > 0 and d['timeline_us']['origin'] == 'main'"
	# The kernel objects each guest type gets (issue 16, docs/coldstart.md): a
	# split irqchip and no PIT unless the plan (or --pit) asks for one.
	json_check "platform: a kestrel ELF guest gets the LAPIC alone (split irqchip), no PIT" $tmp/pio.json \
		"d['platform'] == {'irqchip': 'split', 'pit': False}"
	# (RSS itself is a figure for bench/, and ASan's shadow inflates it.)
	json_check "memory: pio-loop touches under 1 MiB of its 64 MiB guest RAM; RSS reported" $tmp/pio.json \
		"0 < d['memory']['guest_touched_kib'] < 1024 and d['memory']['guest_ram_kib'] == 65536 and d['memory']['rss_peak_kib'] >= d['memory']['rss_kib'] > d['memory']['guest_touched_kib']"
	kvm_expect "exit-now --pit: the PIT, with the full irqchip it needs" 0 -- $K run --pit --stats-json $tmp/pit.json $G/exit-now.elf
	json_check "platform with --pit: full in-kernel irqchip and PIT" $tmp/pit.json \
		"d['platform'] == {'irqchip': 'full', 'pit': True}"
	kvm_expect "exit-now --no-cpuid-tsc: no TSC rate in CPUID, so a PIT to calibrate against" 0 -- $K run --no-cpuid-tsc --stats-json $tmp/nt.json $G/exit-now.elf
	json_check "platform with --no-cpuid-tsc: full in-kernel irqchip and PIT" $tmp/nt.json \
		"d['platform'] == {'irqchip': 'full', 'pit': True}"
	kvm_expect "bzImage --stats-json runs" 1 --out 'KESTREL-BZIMAGE-OK' -- $K run --stats-json $tmp/bz.json $G/bzimage-test.bzImage
	json_check "platform: a Linux guest gets the full in-kernel irqchip (IOAPIC) and the PIT" $tmp/bz.json \
		"d['platform'] == {'irqchip': 'full', 'pit': True}"
	kvm_expect "hypercall-loop 2000 --stats-json runs" 0 -- $K run --stats-json $tmp/hc.json $G/hypercall-loop.elf -- 2000
	json_check "--stats-json: 2001 hypercalls number 2 (add)" $tmp/hc.json \
		"[(h['name'], h['samples']) for h in d['vm']['hypercalls'] if h['nr'] == 2] == [('add', 2001)]"
fi

# --- timekeeping: the TSC rate in CPUID, and lapic-calib calibrating with or without it ---
kvm_expect "--cpuid prints the timing leaves, no guest needed" 0 --out '^# CPUID table of vCPU 0 of 1 \(TSC rate advertised\)' --out '^0x00000015 +- +0x[0-9a-f]{8} .*crystal 1000000000 Hz: TSC [1-9][0-9]* kHz' --out '^0x00000016 +- .*base [1-9][0-9]* MHz' --out '^0x40000010 +- .*APIC bus 1000000 kHz' --out '^0x80000007 .*invariant TSC: yes' -- $K run --cpuid
kvm_expect "--cpuid --cpus 2: 2 logical CPUs, vCPU 1's APIC ID" 0 --out '^0x00000001 +- +0x[0-9a-f]{8} 0x0002[0-9a-f]{4} ' --out '^# vCPU 1 differs in:' --out '^0x00000001 +- +0x[0-9a-f]{8} 0x0102[0-9a-f]{4} ' -- $K run --cpuid --cpus 2
kvm_expect "--cpuid --no-cpuid-tsc: KVM's own hypervisor max leaf, no 0x40000010" 0 --out '^# CPUID table .*--no-cpuid-tsc' --out '^0x40000000 +- +0x4000000[01] ' -- $K run --cpuid --no-cpuid-tsc
kvm_expect "lapic-calib: RDTSC calibration from CPUID, ticks check out" 0 --out 'method rdtsc: TSC [1-9][0-9]* kHz from leaf 0x15, .* 0 port accesses' --out 'implies a 1000000 kHz LAPIC timer' --out '20 ticks checked' --out 'KESTREL-LAPIC-CALIB-OK method=rdtsc' -- $K run -t 30 $G/lapic-calib.elf
kvm_expect "lapic-calib skew: a LAPIC rate off by 2x fails the tick check" 1 --out 'skew: pretending the LAPIC timer runs at' --out 'too few ticks one period apart' -- $K run -t 30 $G/lapic-calib.elf -- skew
kvm_expect "lapic-calib over xAPIC MMIO, 2 vCPUs" 0 --out 'xAPIC \(MMIO\)' --out 'KESTREL-LAPIC-CALIB-OK method=rdtsc' -- $K run -t 30 --cpus 2 $G/lapic-calib.elf -- xapic
# With --no-cpuid-tsc the guest sees what KVM offers: on hosts like this one that is no
# rate at all, so it must fall back to the PIT (elsewhere KVM may pass the host's through).
if [ "$have_kvm" -eq 1 ] && $K run --cpuid --no-cpuid-tsc 2>/dev/null |
	grep -q '^0x00000016 .*base 0 MHz' && ! $K run --cpuid --no-cpuid-tsc | grep -q '^0x40000010'; then
	kvm_expect "lapic-calib --no-cpuid-tsc: PIT calibration, ticks check out" 0 --out 'method pit: no TSC rate in CPUID; 1 ms PIT window, [1-9][0-9]* polls of port 0x61' --out 'boot info says TSC' --out 'KESTREL-LAPIC-CALIB-OK method=pit' -- $K run -t 30 --no-cpuid-tsc $G/lapic-calib.elf
	# Port accesses counted by KVM itself (in-kernel PIT included), when perf may read its tracepoints.
	if command -v perf >/dev/null && perf stat -e kvm:kvm_pio -- true >/dev/null 2>&1; then
		calib_pio() { # calib_pio OPTS: "<PIT+0x61 accesses seen by KVM> <the guest's own count or 0>"
			perf stat -x, -o "$tmp/perf" -e kvm:kvm_pio --filter 'port == 0x61 || (port >= 0x40 && port <= 0x43)' \
				-- $K run -t 30 $1 $G/lapic-calib.elf >"$tmp/lc" 2>/dev/null
			echo "$(awk -F, '/kvm:kvm_pio/ {print $1}' "$tmp/perf") $(sed -n 's/.* \([0-9][0-9]*\) port accesses.*/\1/p' "$tmp/lc" | head -1)"
		}
		read -r k g <<<"$(calib_pio "")"
		check_range "lapic-calib via CPUID: no PIT/0x61 port access (kvm:kvm_pio)" "$k" 0 0
		read -r k g <<<"$(calib_pio --no-cpuid-tsc)"
		check_range "lapic-calib --no-cpuid-tsc: PIT/0x61 accesses (kvm:kvm_pio) = the guest's own count ($g)" "$k" "${g:-1}" "${g:-0}"
		check_range "lapic-calib --no-cpuid-tsc: the PIT window costs dozens of port accesses" "$k" 20 1000000
	fi
else
	n=$((n + 1)); skipped=$((skipped + 1))
	echo "ok $n - lapic-calib --no-cpuid-tsc # SKIP KVM's own CPUID carries a TSC rate here (or no KVM)"
fi

# --- kestrel bench: cold starts of the binary itself ---
expect "bench without a guest is a usage error" $USAGE --err 'no guest given' -- $K bench
expect "bench --runs 0 is a usage error" $USAGE --err "bad number '0'" -- $K bench --runs 0 $G/hello.elf
kvm_expect "bench --runs 3 hello prints the phase table" 0 --out '^total \(spawn to exit\) +[0-9]' --out '^  guest exec \(entry to exit\) +[0-9]' --out '^userspace exits +[0-9]+ ' -- $K bench --runs 3 --warmup 0 $G/hello.elf
kvm_expect "bench counts a failing guest as failed runs" 1 --err 'run: 2 of 2 runs failed; last: exit status 123' -- $K bench --runs 2 --warmup 0 $G/triple-fault.elf
# (hello prints no timing figures, so its exit count is the same in every run)
kvm_expect "bench A/B prints Before/After" 0 --out '^Metric +Before +After +Change' --out '^register ioctls +1\.0 +[0-9.]+ ' --out '^userspace exits +[0-9.]+ +[0-9.]+ +same' -- $K bench --runs 2 --warmup 0 --a "" --b "--no-sync-regs" $G/hello.elf
if [ "$have_kvm" -eq 1 ]; then
	$K run --stats-json $tmp/hello.json $G/hello.elf >/dev/null 2>&1
	$K bench --runs 3 --warmup 0 --json $G/hello.elf >$tmp/bench.json 2>/dev/null
	json_check "bench --json: 3 runs, the same exit count as a direct run, p50 within min..max" $tmp/bench.json \
		"d['modes'][0]['ok'] == 3 and d['modes'][0]['counts']['userspace_exits']['min'] == d['modes'][0]['counts']['userspace_exits']['max'] == json.load(open('$tmp/hello.json'))['vm']['exits'] and all(p is None or p['min'] <= p['p50'] <= p['max'] for p in d['modes'][0]['phases_us'].values())"
	$K bench --runs 2 --warmup 0 --json --a "" --b "--no-sync-regs" $G/hypercall-loop.elf -- -- 300 >$tmp/ab.json 2>/dev/null
	json_check "bench A/B --json: register ioctls ~0 via the page, 2 per call over ioctls" $tmp/ab.json \
		"d['ab']['register_ioctls']['before'] <= 2 and 600 <= d['ab']['register_ioctls']['after'] <= 620"
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

# --- console input: the UART's receiver (docs/console.md), checked by serial-echo's count and FNV-1a ---
fnv32() { # fnv32 FILE: the guest's checksum of FILE's bytes
	local h=2166136261 c
	for c in $(od -An -v -tu1 "$1"); do h=$(( ((h ^ c) * 16777619) & 0xffffffff )); done
	printf '0x%08x' "$h"
}
printf 'hello world.' >"$tmp/hello.in"
printf 'hello world' >"$tmp/hello.sum"
head -c 20037 /dev/urandom >"$tmp/bulk.in"
E=$G/serial-echo.elf
kvm_expect "stdin reaches the UART: LSR polling, echo, status = bytes read" 11 --in "$tmp/hello.in" --out '^HELLO WORLD$' --out "KESTREL-SERIAL-ECHO-OK mode=poll bytes=11 fnv=$(fnv32 "$tmp/hello.sum") " -- $K run $E
kvm_expect "20037 random bytes from a file: back-pressure, none lost (poll)" 37 --in "$tmp/bulk.in" --out "bytes=20037 fnv=$(fnv32 "$tmp/bulk.in") " -- $K run $E -- n=20037 quiet
kvm_expect "the same through a pipe" 37 --out "bytes=20037 fnv=$(fnv32 "$tmp/bulk.in") " -- sh -c "cat '$tmp/bulk.in' | $K run $E -- n=20037 quiet"
kvm_expect "IRQ 4 through the in-kernel IOAPIC (--pit): interrupt-driven input" 11 --in "$tmp/hello.in" --out '^HELLO WORLD$' --out "mode=irq bytes=11 fnv=$(fnv32 "$tmp/hello.sum") irqs=[1-9]" -- $K run --pit $E -- irq
kvm_expect "20037 bytes interrupt-driven, none lost" 37 --in "$tmp/bulk.in" --out "mode=irq bytes=20037 fnv=$(fnv32 "$tmp/bulk.in") irqs=[1-9][0-9]* timeouts=[0-9]+ throttled=[1-9]" -- $K run --pit $E -- irq n=20037 quiet
kvm_expect "input in 3 bursts: 3 edges, 3 interrupts (below the trigger level: timeouts)" 7 --out 'mode=irq bytes=7 .*irqs=([3-9]|[1-9][0-9]+) timeouts=([3-9]|[1-9][0-9]+)' -- sh -c "(printf abc; sleep 0.4; printf def; sleep 0.4; printf 'g.') | $K run --pit $E -- irq"
kvm_expect "irq mode without an IOAPIC: the guest says so (status 4)" 4 --in "$tmp/hello.in" --out 'no IOAPIC at 0xfec00000' -- $K run $E -- irq
kvm_expect "no irqchip: kestrel says where IRQ 4 went, the guest's watchdog sees it lost (2)" 2 --in "$tmp/hello.in" --out 'IRQ 4 lost' --err 'serial: the guest enabled UART interrupts, but this VM has no in-kernel PIC/IOAPIC for IRQ 4 \(--pit adds one\)' -- $K run $E -- irq force
kvm_expect "piped Ctrl-A is data, not an escape (no terminal)" 4 --out 'bytes=4 ' -- sh -c "printf 'a\001xb.' | $K run $E"
kvm_expect "--no-stdin: the UART receives nothing" $TIMEOUT --in "$tmp/hello.in" --no-out 'HELLO' --out 'mode=poll ready' -- $K run --no-stdin --timeout 1 $E
kvm_expect "-v: end of the input is noted" 1 --out 'bytes=1 ' --err 'console input: end of file on fd' -- sh -c "printf 'x.' | $K run -v $E"
if [ "$have_kvm" -eq 1 ] && command -v python3 >/dev/null; then
	# tests/integration/pty.py: raw mode on a terminal, Ctrl-A x/h/Ctrl-A, the
	# terminal restored after every way out; its TAP lines are counted here.
	while IFS= read -r line; do
		case $line in
		"ok "*) n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - pty: ${line#ok * - }" ;;
		"not ok "*) n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - pty: ${line#not ok * - }" ;;
		1..*) ;;
		*) echo "$line" ;;
		esac
	done < <(timeout -k 5 180 python3 "$(dirname "$0")/pty.py" "$K" "$G" 2>&1)
fi

# --- containment (docs/containment.md): full RELRO, and every thread under seccomp while a VM runs ---
# The GOT is read-only from the start (BIND_NOW + GNU_RELRO): a vCPU thread cannot
# redirect the main thread through it; and the main thread itself is confined
# (confine_caller), so code it is tricked into running meets a filter too.
tf() { n=$((n + 1)); if [ -z "$2" ]; then passed=$((passed + 1)); echo "ok $n - $1"; else failed=$((failed + 1)); echo "not ok $n - $1: $2"; fi; }
if command -v readelf >/dev/null; then
	tf "kestrel is linked with BIND_NOW" "$(readelf -d "$K" | grep -Eq 'BIND_NOW|FLAGS_1.*NOW' || echo 'no BIND_NOW in readelf -d')"
	tf "kestrel has a GNU_RELRO segment (read-only GOT)" "$(readelf -lW "$K" | grep -q GNU_RELRO || echo 'no GNU_RELRO in readelf -l')"
fi
if [ "$have_kvm" -eq 1 ]; then
	# Output to a pipe: a console that can stall gets its writer thread.
	"$K" run --cpus 2 "$G/spin.elf" > >(cat >/dev/null) 2>&1 &
	kpid=$!
	modes=""
	for _ in $(seq 50); do
		sleep 0.1
		modes=$(for t in /proc/$kpid/task/*; do awk '/^Seccomp:/ {print $2}' "$t/status" 2>/dev/null; done | sort | uniq -c | tr -s ' ' | tr '\n' ';')
		case $modes in " "[4-9]" 2;" | " 1 0; "[3-9]" 2;") break ;; esac # main + writer + 2 vCPUs (+ KVM's own tasks)
	done
	kill -TERM "$kpid" 2>/dev/null; wait "$kpid"; st=$?
	self=$(awk '/^Seccomp:/ {print $2}' /proc/self/status)
	# Under ASan the CLI leaves the main thread free (LeakSanitizer's exit
	# check clones and ptraces): there the other three must be confined.
	if [ -n "${ASAN_OPTIONS:-}" ]; then
		tf "ASan build: every kestrel thread but main (writer, 2 vCPUs) is under seccomp" "$(case $modes in " 1 0; "[3-9]" 2;") ;; *) echo "seccomp modes (count mode): '$modes'" ;; esac)"
	else
		tf "while a VM runs every kestrel thread (main, console writer, 2 vCPUs) is under seccomp, none is free" "$(case $modes in " "[4-9]" 2;") ;; *) echo "seccomp modes (count mode): '$modes'" ;; esac)"
	fi
	tf "... and SIGTERM still stops it cleanly (143)" "$([ "$st" -eq 143 ] || echo "status $st")"
	# Output to /dev/null (or a file) cannot stall: written in place, no writer thread.
	"$K" run --cpus 2 "$G/spin.elf" >/dev/null 2>&1 &
	kpid=$!
	modes=""
	for _ in $(seq 50); do
		sleep 0.1
		# kestrel's own threads only (KVM adds a kvm-nx-lpage-re task of its own)
		modes=$(for t in /proc/$kpid/task/*; do [ "$(cat "$t/comm" 2>/dev/null)" = kestrel ] && awk '/^Seccomp:/ {print $2}' "$t/status" 2>/dev/null; done | sort | uniq -c | tr -s ' ' | tr '\n' ';')
		case $modes in " 3 2;" | " 1 0; 2 2;") break ;; esac # main + 2 vCPUs
	done
	kill -TERM "$kpid" 2>/dev/null; wait "$kpid"; st=$?
	if [ -n "${ASAN_OPTIONS:-}" ]; then
		tf "ASan build, console /dev/null: the 2 vCPU threads confined, no writer thread" "$(case $modes in " 1 0; 2 2;") ;; *) echo "seccomp modes (count mode): '$modes'" ;; esac)"
	else
		tf "console /dev/null: main and 2 vCPU threads, all under seccomp, no writer thread" "$(case $modes in " 3 2;") ;; *) echo "seccomp modes (count mode): '$modes'" ;; esac)"
	fi
	tf "... and SIGTERM still stops it cleanly (143)" "$([ "$st" -eq 143 ] || echo "status $st")"
	"$K" run --no-seccomp "$G/spin.elf" >/dev/null 2>&1 &
	kpid=$!
	sleep 0.5
	mode=$(awk '/^Seccomp:/ {print $2}' /proc/$kpid/status)
	kill -TERM "$kpid" 2>/dev/null; wait "$kpid"
	tf "--no-seccomp leaves the main thread free" "$([ "$mode" = "$self" ] || echo "Seccomp: $mode")"
fi

# --- PV CPUID leaves, dedicated-CPU mode, exit fast paths (tests/integration/pv.sh) ---
. "$(dirname "$0")/pv.sh"

echo "# integration: $passed passed, $failed failed, $skipped skipped"
if [ "$have_kvm" -eq 0 ]; then
	echo "# !!!!!!!! KVM TESTS SKIPPED: no usable /dev/kvm !!!!!!!!"
	if [ "${CI:-}" = "true" ]; then
		echo "# CI=true: a CI machine must have /dev/kvm, so this is a failure."
		exit 1
	fi
fi
[ "$failed" -eq 0 ]
