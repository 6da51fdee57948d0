#!/bin/bash
# pv.sh - Before/After tables for PV features, the exit-disabling options, halt polling and kestrel's
# exit fast paths: IPI round trip and timer wake-up latency, userspace vs in-kernel exit counts.
#
# Usage: bench/pv.sh [RUNS] [N]      (defaults 10 and 200; run `make` first)
# Every comparison runs its two option sets interleaved (B A B A ...), RUNS times each, one
# `kestrel run --stats-json` process per run, and prints medians with the min-max spread:
#   - ipi-pingpong -- N (2 vCPUs): round-trip p50/p99 from the guest's TSC;
#   - timer-latency -- N (2 vCPUs, 100 us deadlines): wake-up latency p50/p99 from the guest's TSC;
#   - the exit profile (--stats-json): exits that reached kestrel, KVM's own exit counter
#     (in-kernel = KVM's minus kestrel's), interrupts KVM injected, HLT exits, emulated instructions;
#   - for the fast paths: hello, `fastpath uart N` (LSR poll + THR write per byte), `fastpath
#     uart-raw N` and `fastpath doorbell N`: userspace exits, console write(2) calls, wall time.
# With valgrind installed (and CALLGRIND=1, the default), host instructions per console byte and
# per doorbell ring come from callgrind (a 1000- and an 11000-iteration run, the difference / 10000).
set -eu
cd "$(dirname "$0")/.."
K=${KESTREL:-build/kestrel} G=${GUESTS:-build/guests}
RUNS=${1:-10} N=${2:-200} CALLGRIND=${CALLGRIND:-1}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-pv.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

for f in "$K" "$G/ipi-pingpong.elf" "$G/timer-latency.elf" "$G/fastpath.elf" "$G/hello.elf"; do
	[ -e "$f" ] || { echo "pv: $f is missing; run make first" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "pv: needs python3 (JSON and medians)" >&2; exit 2; }

# metrics SIDE OUT JSON WALL_US: one "side metric value" line per figure of this run into $tmp/rec.
metrics() {
	python3 - "$1" "$2" "$3" "$4" >>"$tmp/rec" <<'EOF'
import json, re, sys
side, out, js, wall = sys.argv[1], open(sys.argv[2]).read(), json.load(open(sys.argv[3])), int(sys.argv[4])
m = {}
g = re.search(r'KESTREL-(IPI-PINGPONG|TIMER-LATENCY)-OK .*p50_ns=(\d+) p90_ns=(\d+) p99_ns=(\d+) max_ns=(\d+)', out)
if g:
    m['p50_ns'], m['p99_ns'] = int(g.group(2)), int(g.group(4))
pv = [int(x) for x in re.findall(r'(\d+) (?:on vCPU \d|EOIs by PV EOI)', out)]
m['pv_eoi'] = sum(pv)
k = js['kvm_stats']
m['userspace_exits'] = js['vm']['exits']
if k.get('available'):
    t = k['vcpu_total']
    m['kvm_exits'], m['in_kernel_exits'] = k['kvm_exits'], k['in_kernel_exits']
    for s in ('irq_injections', 'halt_exits', 'insn_emulation', 'halt_attempted_poll'):
        m[s] = t.get(s, 0)
w = re.search(r'(\d+) console write\(2\) calls', out)
if w:
    m['console_writes'] = int(w.group(1))
m['wall_us'] = wall
for key, v in m.items():
    print(side, key, v)
EOF
}

# one SIDE OPTS GUEST ARGS...: one run; any failure ends the benchmark.
one() {
	local side=$1 opts=$2 guest=$3 t0 t1
	shift 3
	t0=$(date +%s%N)
	if ! $K run -t 60 $opts --stats --stats-json "$tmp/s.json" "$G/$guest" -- "$@" >"$tmp/out" 2>"$tmp/err"; then
		echo "pv: $guest $* failed with options '$opts':" >&2
		cat "$tmp/out" "$tmp/err" >&2
		exit 1
	fi
	t1=$(date +%s%N)
	cat "$tmp/err" >>"$tmp/out"
	metrics "$side" "$tmp/out" "$tmp/s.json" $(((t1 - t0) / 1000))
}

# ab TITLE BEFORE-LABEL BEFORE-OPTS AFTER-LABEL AFTER-OPTS GUEST ARGS...: RUNS interleaved pairs.
ab() {
	local title=$1 bl=$2 bo=$3 al=$4 ao=$5 r
	shift 5
	: >"$tmp/rec"
	for ((r = 0; r < RUNS; r++)); do
		one before "$bo" "$@"
		one after "$ao" "$@"
	done
	python3 - "$title" "$bl" "$al" "$tmp/rec" <<'EOF'
import sys
title, bl, al, rec = sys.argv[1:5]
vals = {}
for line in open(rec):
    side, key, v = line.split()
    vals.setdefault(key, {}).setdefault(side, []).append(int(v))
def med(a):
    a = sorted(a)
    return a[(len(a) - 1) // 2]
names = [('p50_ns', 'p50 (ns)'), ('p99_ns', 'p99 (ns)'), ('userspace_exits', 'exits to kestrel'),
         ('kvm_exits', "KVM's exits"), ('in_kernel_exits', 'kept in the kernel'),
         ('irq_injections', 'interrupts injected'), ('halt_exits', 'HLT exits'),
         ('halt_attempted_poll', 'halt polls tried'), ('pv_eoi', 'EOIs done by PV EOI'),
         ('insn_emulation', 'emulated instructions'), ('console_writes', 'console write(2) calls'),
         ('wall_us', 'exec to exit (us)')]
print()
print('### ' + title)
print()
print('| Metric | Before (%s) | After (%s) | Change | spread before | spread after |' % (bl, al))
print('|---|---:|---:|---:|---:|---:|')
for key, label in names:
    if key not in vals or 'before' not in vals[key] or 'after' not in vals[key]:
        continue
    b, a = vals[key]['before'], vals[key]['after']
    if not any(b) and not any(a) and key not in ('pv_eoi', 'halt_exits'):
        continue  # zero every run on both sides: nothing to compare (PV EOI and HLT stay: evidence)
    mb, ma = med(b), med(a)
    ch = 'same' if mb == ma else ('%+.1f%%' % ((ma - mb) * 100.0 / mb) if mb else 'new')
    print('| %s | %d | %d | %s | %d-%d | %d-%d |' % (label, mb, ma, ch, min(b), max(b), min(a), max(a)))
EOF
}

bench/host-info.sh
echo "runs: $RUNS of each side, interleaved (B A B A ...); medians; ipi-pingpong and timer-latency: N = $N on 2 vCPUs"
echo "kestrel: $($K --version)"

for g in ipi-pingpong timer-latency; do
	ab "PV features, $g -- $N, --cpus 2" "--no-pv" "--cpus 2 --no-pv" "PV on" "--cpus 2" $g.elf $N
done

for g in ipi-pingpong timer-latency; do
	ab "HLT exits, $g -- $N, --cpus 2" "default" "--cpus 2" "--no-halt-exits" "--cpus 2 --no-halt-exits" $g.elf $N
done
for g in ipi-pingpong timer-latency; do
	ab "PAUSE exits, $g -- $N, --cpus 2" "default" "--cpus 2" "--no-pause-exits" "--cpus 2 --no-pause-exits" $g.elf $N
done
for g in ipi-pingpong timer-latency; do
	ab "halt polling, $g -- $N, --cpus 2" "--halt-poll 0" "--cpus 2 --halt-poll 0" "--halt-poll 500000" "--cpus 2 --halt-poll 500000" $g.elf $N
done

ab "kestrel fast paths, hello" "--no-fast-io" "--no-fast-io" "default" "" hello.elf
ab "kestrel fast paths, fastpath uart 1000 (LSR poll + THR write per byte)" "--no-fast-io" "--no-fast-io" "default" "" fastpath.elf uart 1000
ab "kestrel fast paths, fastpath uart-raw 1000 (THR writes only)" "--no-fast-io" "--no-fast-io" "default" "" fastpath.elf uart-raw 1000
ab "kestrel fast paths, fastpath doorbell 1000" "--no-fast-io" "--no-fast-io" "default" "" fastpath.elf doorbell 1000

if [ "$CALLGRIND" = 1 ] && command -v valgrind >/dev/null; then
	# ir OPTS ARGS...: host instructions of a whole kestrel run (seccomp off: valgrind cannot run it).
	ir() {
		valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" $K run --no-seccomp --no-profile "$@" 2>&1 >/dev/null |
			sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
	}
	per() { # per OPTS MODE: instructions per iteration of `fastpath MODE`
		local a b
		a=$(ir $1 $G/fastpath.elf -- $2 1000)
		b=$(ir $1 $G/fastpath.elf -- $2 11000)
		echo $(((b - a) / 10000))
	}
	echo
	echo "### host instructions per guest access (callgrind, --no-profile; (11000-run - 1000-run) / 10000)"
	echo
	echo "| access | Before (--no-fast-io) | After (default) |"
	echo "|---|---:|---:|"
	for mode in uart uart-raw doorbell; do
		echo "| fastpath $mode: per iteration | $(per --no-fast-io $mode) | $(per "" $mode) |"
	done
fi
