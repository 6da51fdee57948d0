# pv.sh - integration tests for the PV CPUID leaves, dedicated-CPU mode and kestrel's exit fast paths.
# Sourced by tests/integration/run.sh: uses its expect/kvm_expect/check_range/json_check,
# $K, $G, $tmp and $have_kvm.

# --- the guest's view: x2APIC/TSC-deadline in leaf 1, KVM's PV leaf, --no-pv, enforcement ---
kvm_expect "--cpuid: leaf 1 offers x2APIC and TSC-deadline (in-kernel LAPIC)" 0 --out '^0x00000001 +- .*# x2APIC: yes, TSC-deadline: yes' -- $K run --cpuid
# kvmclock2 is in every KVM since 2.6.35; async PF is one KVM offers that kestrel filters out.
kvm_expect "--cpuid: leaf 0x40000001 lists the PV features, async PF filtered out" 0 --out '^0x40000001 +- +0x[0-9a-f]{8} .*# PV:.* kvmclock2' --no-err . -- sh -c "$K run --cpuid | grep -v '^0x40000001 .*async-pf' | grep '^0x40000001 '"
kvm_expect "--cpuid --no-pv: leaf 0x40000001 all zero" 0 --out '^# CPUID table .*--no-pv: no PV features' --out '^0x40000001 +- +0x00000000 0x00000000 0x00000000 0x00000000 +# PV: none' -- $K run --cpuid --no-pv
kvm_expect "--cpuid --cpus 3: 0xB core level says 3 CPUs, shift 2; vCPU 2's x2APIC ID" 0 --out '^0x0000000b 0x01 +0x00000002 0x00000003 0x00000201 0x00000000' --out '^0x0000000b 0x01 +0x00000002 0x00000003 0x00000201 0x00000002' -- $K run --cpuid --cpus 3
kvm_expect "pv-probe: kvmclock works through both MSRs when offered" 0 --out 'kvmclock \(MSR 0x12\): on' --out 'kvmclock2 \(MSR 0x4b564d01\): on' --out 'KESTREL-PV-PROBE-OK pv=0x[0-9a-f]{8} kvmclock=on' -- $K run -t 30 $G/pv-probe.elf
kvm_expect "pv-probe --no-pv: the kvmclock MSRs raise #GP (KVM_CAP_ENFORCE_PV_FEATURE_CPUID)" 0 --out 'PV features 0x00000000: none' --out 'kvmclock \(MSR 0x12\): refused with #GP, as CPUID said' --out 'kvmclock2 \(MSR 0x4b564d01\): refused with #GP, as CPUID said' --out 'KESTREL-PV-PROBE-OK pv=0x00000000 kvmclock=off' -- $K run -t 30 --no-pv $G/pv-probe.elf

# --- dedicated-CPU mode: each option works, or is refused with a named reason ---
# works_or_refused NAME REFUSAL-REGEX WORKS-REGEX -- CMD...: status 0 and WORKS-REGEX on stderr,
# or status 122 (KVM lacks it) and REFUSAL-REGEX on stderr.
works_or_refused() {
	local name=$1 refusal=$2 works=$3; shift 4
	if [ "$have_kvm" -eq 0 ]; then
		n=$((n + 1)); skipped=$((skipped + 1)); echo "ok $n - $name # SKIP no usable /dev/kvm"; return
	fi
	n=$((n + 1))
	timeout -k 5 60 "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	local got=$?
	if [ $got -eq 0 ] && grep -Eq -- "$works" "$tmp/err"; then
		passed=$((passed + 1)); echo "ok $n - $name (works)"
	elif [ $got -eq 122 ] && grep -Eq -- "$refusal" "$tmp/err"; then
		passed=$((passed + 1)); echo "ok $n - $name (refused by this host: $(head -1 "$tmp/err"))"
	else
		failed=$((failed + 1)); echo "not ok $n - $name: status $got"
		sed 's/^/#   stderr: /' "$tmp/err" | head -10
	fi
}
works_or_refused "--no-halt-exits: lapic-calib's HLTs with KVM_CAP_X86_DISABLE_EXITS" \
	'--no-halt-exits: this KVM (lacks KVM_CAP_X86_DISABLE_EXITS|does not allow disabling HLT exits)' \
	'dedicated-CPU mode: HLT exits off \(in the guest\); PAUSE exits on' -- \
	$K run -t 30 --stats --no-halt-exits $G/lapic-calib.elf -- 5
works_or_refused "--no-pause-exits on 2 vCPUs" \
	'--no-pause-exits: this KVM (lacks KVM_CAP_X86_DISABLE_EXITS|does not allow disabling PAUSE exits)' \
	'dedicated-CPU mode: HLT exits on; PAUSE exits off \(in the guest\)' -- \
	$K run -t 30 --stats --cpus 2 --no-pause-exits $G/smp-hello.elf
works_or_refused "--halt-poll 0" '--halt-poll: this KVM lacks KVM_CAP_HALT_POLL' 'halt polling up to 0 ns' -- \
	$K run -t 30 --stats --halt-poll 0 $G/hello.elf
if [ "$have_kvm" -eq 1 ] && $K run --halt-poll 0 $G/hello.elf >/dev/null 2>&1; then
	# KVM only polls after a wake-up that came within the limit: 1 ms LAPIC ticks
	# fit under 2 ms, so polling must start; with 0 it must never be tried.
	$K run -t 30 --halt-poll 2000000 --stats-json $tmp/hp.json $G/lapic-calib.elf >/dev/null 2>&1
	json_check "--halt-poll 2000000: KVM polls halted vCPUs (halt_attempted_poll > 0)" $tmp/hp.json \
		"d['exit']['status'] == 0 and d['kvm_stats']['vcpu_total']['halt_attempted_poll'] > 0"
	$K run -t 30 --halt-poll 0 --stats-json $tmp/hp0.json $G/lapic-calib.elf >/dev/null 2>&1
	json_check "--halt-poll 0: no polling at all, the same halts (halt_attempted_poll == 0)" $tmp/hp0.json \
		"d['exit']['status'] == 0 and d['kvm_stats']['vcpu_total']['halt_attempted_poll'] == 0 and d['kvm_stats']['vcpu_total']['halt_exits'] > 0"
fi
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	# Pinning as the kernel reports it (sched_getaffinity after the pin).
	kvm_expect "--pin --cpus 2 under taskset -c 0,1: vCPU i on host CPU i" 0 --out 'KESTREL-SMP-OK 2 cpus' --err 'dedicated-CPU mode: vCPU 0 pinned to host CPU 0, vCPU 1 pinned to host CPU 1;' -- taskset -c 0,1 $K run --pin --cpus 2 --stats $G/smp-hello.elf
	kvm_expect "--pin --cpus 2 under taskset -c 1: both on CPU 1, said to share" 0 --err '--pin: 2 vCPUs on 1 host CPU: some share one' --err 'vCPU 0 pinned to host CPU 1, vCPU 1 pinned to host CPU 1;' -- taskset -c 1 $K run --pin --cpus 2 --stats $G/smp-hello.elf
else
	n=$((n + 1)); skipped=$((skipped + 1)); echo "ok $n - --pin # SKIP needs taskset and 2 host CPUs"
fi

# --- guests that measure the in-kernel paths: IPIs and TSC-deadline timer writes stay in KVM ---
kvm_expect "ipi-pingpong --cpus 2: 50 x2APIC round trips, percentiles" 0 --out 'x2APIC \(ICR = MSR 0x830\)' --out 'round trip, ns \(TSC [0-9]+ kHz\): min [0-9]+ p50 [0-9]+ p90 [0-9]+ p99 [0-9]+ max [0-9]+' --out 'KESTREL-IPI-PINGPONG-OK rounds=50 p50_ns=[1-9]' -- $K run -t 30 --cpus 2 $G/ipi-pingpong.elf -- 50
kvm_expect "ipi-pingpong over xAPIC MMIO" 0 --out 'xAPIC \(ICR in the MMIO page\)' --out 'KESTREL-IPI-PINGPONG-OK rounds=20 ' -- $K run -t 30 --cpus 2 $G/ipi-pingpong.elf -- 20 xapic
kvm_expect "ipi-pingpong on 1 vCPU refuses" 1 --out 'needs 2 vCPUs' --no-err 'PINGPONG-OK' -- $K run -t 30 $G/ipi-pingpong.elf
kvm_expect "timer-latency --cpus 2: 100 TSC-deadline wake-ups per vCPU" 0 --out 'TSC-deadline timer \(MSR 0x6E0\), x2APIC' --out 'cpu 1: latency ns p50 [0-9]+ .* 0 early, 0 stray, 0 deadline MSR not cleared' --out 'KESTREL-TIMER-LATENCY-OK cpus=2 loops=100 interval_us=100 p50_ns=[1-9]' -- $K run -t 30 --cpus 2 $G/timer-latency.elf -- 100
if [ "$have_kvm" -eq 1 ]; then
	# The honest check: kestrel does not enable KVM_CAP_X86_USER_SPACE_MSR, so no
	# MSR access can reach it anyway; what can is an exit per IPI/EOI/timer write
	# taken some other way (an xAPIC MMIO access to a LAPIC not in the kernel, a
	# port poll). So: the exits that reach kestrel are its hypercalls (one per
	# output line, and exit) plus at most one kick per vCPU at the end, the same
	# count for N = 20 and N = 200, while KVM's own injection counter grows with N.
	for g in ipi-pingpong timer-latency; do
		for r in 20 200; do
			$K run -t 30 --cpus 2 --stats-json $tmp/$g-$r.json $G/$g.elf -- $r >/dev/null 2>&1
		done
		per_n=2 # ipi-pingpong: 2 IPIs per round; timer-latency: 1 timer per loop on each of 2 vCPUs
		json_check "$g --cpus 2: only hypercall exits reach kestrel, none from IPIs/timers/EOIs" $tmp/$g-200.json \
			"d['exit']['status'] == 0 and set(r['reason'] for r in d['vm']['reasons']) <= {'IO', 'INTR'} and all(0x30 <= p['port'] < 0x40 for p in d['vm']['pio']) and not any(m['samples'] for m in d['vm']['mmio']) and sum(r['samples'] for r in d['vm']['reasons'] if r['reason'] == 'INTR') <= 2"
		json_check "$g --cpus 2: userspace exits the same for N = 20 and 200, KVM injected >= $per_n per round" $tmp/$g-200.json \
			"d['vm']['exits'] == json.load(open('$tmp/$g-20.json'))['vm']['exits'] and d['kvm_stats']['vcpu_total']['irq_injections'] >= $per_n * 200 > json.load(open('$tmp/$g-20.json'))['kvm_stats']['vcpu_total']['irq_injections']"
	done
fi

# --- kestrel's own fast paths: coalesced UART THR writes, the doorbell ioeventfd ---
# The UART's coalesced zone is armed on the AFTER-th THR write (src/core/vm.h, VM_FAST_COALESCE_AFTER):
# the first AFTER writes exit, the rest go through KVM's ring. dlab writes 512 bytes first.
AFTER=$(sed -n 's/^#define VM_FAST_COALESCE_AFTER \([0-9][0-9]*\)u$/\1/p' "$root/src/core/vm.h")
[ -n "$AFTER" ] && [ "$AFTER" -lt 512 ] || { echo "Bail out! VM_FAST_COALESCE_AFTER not found in src/core/vm.h or not under 512"; exit 1; }
kvm_expect "fastpath dlab 512: a THR-port write queued under DLAB is the divisor latch, applied before the LCR exit" 0 --out '^\[A\]\[C\]$' --out 'divisor latch low reads back 0x42' --err 'UART THR coalesced PIO: [1-9]' --err "serial: coalesced zone at 0x3f8 armed after $AFTER writes" -- $K run -v --stats $G/fastpath.elf -- dlab 512
kvm_expect "fastpath dlab 512, --no-fast-io: the same console and latch" 0 --out '^\[A\]\[C\]$' --out 'divisor latch low reads back 0x42' --err 'UART THR off' -- $K run --stats --no-fast-io $G/fastpath.elf -- dlab 512
# Fast paths are set up with KVM only once the guest uses the device (src/core/devhost.c): a guest
# that never touches the UART or the doorbell, or prints a line or two, puts nothing on KVM's I/O
# buses, so its close() waits for no SRCU grace period (docs/coldstart.md). -v names each one armed.
kvm_expect "exit-now -v: no fast path armed (neither the UART nor the doorbell was touched)" 0 --err 'platform: split irqchip' --err 'console ring ready' --no-err 'zone at 0x3f8 armed|ioeventfd at 0x59 armed' -- $K run -v $G/exit-now.elf
kvm_expect "hello -v: fewer UART bytes than the $AFTER that arm the coalesced zone: nothing armed" 0 --out 'KESTREL-HELLO-OK' --no-err 'serial: coalesced zone' --no-err 'doorbell: ioeventfd' -- $K run -v $G/hello.elf
kvm_expect "fastpath uart-raw $AFTER -v: the zone armed on the ${AFTER}th write" 0 --out "KESTREL-FASTPATH-OK mode=uart-raw n=$AFTER" --err "^kestrel: serial: coalesced zone at 0x3f8 armed after $AFTER writes to it" -- $K run -v $G/fastpath.elf -- uart-raw $AFTER
kvm_expect "fastpath uart-raw $((AFTER - 1)) -v: one write short, not armed" 0 --out "KESTREL-FASTPATH-OK mode=uart-raw n=$((AFTER - 1))" --no-err 'zone at 0x3f8 armed' -- $K run -v $G/fastpath.elf -- uart-raw $((AFTER - 1))
kvm_expect "fastpath doorbell -v: the doorbell's ioeventfd armed, the UART's zone not" 0 --err '^kestrel: doorbell: ioeventfd at 0x59 armed' --no-err 'serial: coalesced zone' -- $K run -v $G/fastpath.elf -- doorbell 10
# The doorbell's ioeventfd is set up on its first exit (src/core/devhost.c): that first ring
# exits, every later one goes through the eventfd.
kvm_expect "fastpath doorbell 1000: the first ring exits and arms the ioeventfd, the other 999 do not" 0 --out 'KESTREL-FASTPATH-OK mode=doorbell n=1000' --err 'doorbell 0x59 ioeventfd: 1000 rings, 1 of them exits' --err '^  0x0059 out doorbell +1 ' -- $K run --stats $G/fastpath.elf -- doorbell 1000
kvm_expect "fastpath doorbell 1000, --no-fast-io: 1000 exits on port 0x59" 0 --err 'doorbell 0x59 off \(one exit per ring\): 1000 rings, 1000 of them exits' --err '^  0x0059 out doorbell +1000 ' -- $K run --stats --no-fast-io $G/fastpath.elf -- doorbell 1000
if [ "$have_kvm" -eq 1 ]; then
	for f in fast slow; do
		opt=$([ $f = slow ] && echo --no-fast-io)
		$K run $opt --stats-json $tmp/uart-$f.json $G/fastpath.elf -- uart-raw 1000 >$tmp/uart-$f.out 2>/dev/null
		$K run $opt --stats-json $tmp/uartp-$f.json $G/fastpath.elf -- uart 1000 >$tmp/uartp-$f.out 2>/dev/null
		$K run $opt --stats-json $tmp/hello-$f.json $G/hello.elf >$tmp/hello-$f.out 2>/dev/null
	done
	n=$((n + 1))
	if cmp -s $tmp/uart-fast.out $tmp/uart-slow.out && cmp -s $tmp/uartp-fast.out $tmp/uartp-slow.out && cmp -s $tmp/hello-fast.out $tmp/hello-slow.out && [ -s $tmp/uart-fast.out ]; then
		passed=$((passed + 1)); echo "ok $n - coalesced UART: the console bytes are identical with and without (fastpath uart-raw 1000, uart 1000, hello)"
	else
		failed=$((failed + 1)); echo "not ok $n - coalesced UART changed the console output"
	fi
	# The first AFTER writes exit; then KVM takes up to 169 queued writes (one page of ring)
	# before it must exit.
	# Exits but the console tick's kicks: these runs write to a file with vCPU 0
	# on the caller's thread, where a timer kicks KVM_RUN every tick once the
	# zone is armed (console.h), each an INTR exit.
	X="(lambda j: j['vm']['exits'] - sum(r['samples'] for r in j['vm']['reasons'] if r['reason'] == 'INTR'))"
	json_check "fastpath uart-raw 1000: 1003 exits one by one, $AFTER + at most (1000 - $AFTER)/169 + 1 more + 3 coalesced" $tmp/uart-fast.json \
		"$X(json.load(open('$tmp/uart-slow.json'))) == 1003 and $AFTER + 3 <= $X(d) <= $AFTER + (1000 - $AFTER) // 169 + 1 + 3 and d['exit']['status'] == 0"
	# uart polls LSR before each byte: those reads still exit, the THR writes after the first AFTER no longer do.
	json_check "fastpath uart 1000: coalescing removes exactly one exit per UART byte after the first $AFTER" $tmp/uartp-fast.json \
		"$X(json.load(open('$tmp/uartp-slow.json'))) - $X(d) == 1000 - $AFTER and d['exit']['status'] == 0"
	# hello prints fewer bytes than that: the zone is never armed, every byte exits either way.
	json_check "hello: $(grep -v 'PUTS hypercall' $tmp/hello-fast.out | wc -c) UART bytes (< $AFTER): the same exits with and without fast paths" $tmp/hello-fast.json \
		"json.load(open('$tmp/hello-slow.json'))['vm']['exits'] == d['vm']['exits'] and $(grep -v 'PUTS hypercall' $tmp/hello-fast.out | wc -c) < $AFTER and d['exit']['status'] == 0"
	# A line followed by no exit at all (spin prints, then spins): the main thread's
	# drain puts it out while the guest runs, not only when it ends.
	n=$((n + 1))
	$K run $G/spin.elf >$tmp/spin.out 2>/dev/null </dev/null &
	spid=$!
	sleep 0.5
	if grep -q 'spin: 1 cpu(s) spinning' $tmp/spin.out; then
		passed=$((passed + 1)); echo "ok $n - a UART line with no exit after it is on the console within 0.5 s"
	else
		failed=$((failed + 1)); echo "not ok $n - spin's UART line not on the console after 0.5 s"
	fi
	kill -TERM $spid 2>/dev/null; wait $spid 2>/dev/null
	# The same to a regular file with 1000 bytes first: the UART's zone arms, so
	# the last bytes sit in KVM's ring when the exits stop. vCPU 0 runs on the
	# caller's thread and a file gets no writer thread (console.h), so only the
	# tick timer's kicks (console_zone_armed) can drain them while it spins.
	n=$((n + 1))
	$K run $G/spin.elf -- 1000 >$tmp/spin.out 2>/dev/null </dev/null &
	spid=$!
	sleep 0.5
	got=$(wc -c <$tmp/spin.out)
	kill -TERM $spid 2>/dev/null; wait $spid 2>/dev/null
	if [ "$got" -eq 1024 ]; then
		passed=$((passed + 1)); echo "ok $n - spin -- 1000 to a file: all 1024 bytes (the last ones coalesced) on it within 0.5 s, no exit after them"
	else
		failed=$((failed + 1)); echo "not ok $n - spin -- 1000 to a file: $got of 1024 bytes after 0.5 s"
	fi
fi
