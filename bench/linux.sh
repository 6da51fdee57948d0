#!/bin/bash
# linux.sh - one Linux boot under a VMM, with its milestones and exits (issue 15): spawn to each
# kernel message that marks a stage, and the VMM's exits by kind and port from perf's kvm tracepoints.
#
# Usage: bench/linux.sh [-t SECS] [-s MARKER] [-o DIR] NAME CMD [ARGS...]
#        bench/linux.sh -S DIR      (the report again, from a DIR kept with -o)
#   -t SECS  stop the boot SECS after spawn (default 240): CMD should carry its own timeout too
#            (kestrel --timeout, `timeout` before QEMU); this one is the backstop
#   -s MARKER stop the boot (SIGTERM) when the console shows MARKER: the same window for two VMMs
#   -o DIR   keep the console output, stderr and the perf data in DIR (default: a temporary one)
#   NAME     a label for the report
#
# One boot at a time: run it in the background and poll, never two at once on a
# 2-CPU host. CMD runs under `perf record -e kvm:kvm_userspace_exit,kvm:kvm_pio,
# kvm:kvm_mmio` (the vCPU threads inherit it), itself under bench/first-output.c,
# which stamps the first console byte and these markers (ms from spawn):
#   "Decompressing Linux", "Booting the kernel" (the bzImage's own decompressor),
#   "Linux version", "Freeing unused kernel", "Run /init",
#   "KESTREL-LINUX-INIT-OK" and "KESTREL-LINUX-POWEROFF" (tests/linux/fetch.sh's /init).
# Then: the exits by tracepoint, port accesses by port and direction (kvm_pio
# counts the in-kernel PIT's too), MMIO by page, the last console lines, and the
# lines of stderr that say how the VMM stopped (kestrel --stats goes there).
# Needs root and perf (linux-perf, scripts/deps.sh).
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
B=$BUILD/bench
SECS=240 DIR="" STOP=() AGAIN=""
while getopts ":t:s:o:S:" o; do
	case $o in
	t) SECS=$OPTARG ;;
	o) DIR=$OPTARG ;;
	s) STOP=(-s "$OPTARG") ;;
	S) AGAIN=$OPTARG ;;
	*) sed -n '5,11s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ -n "$AGAIN" ]; then
	[ -f "$AGAIN/first-output" ] || { echo "linux: $AGAIN has no first-output line" >&2; exit 2; }
	DIR=$AGAIN
	set -- "$(cat "$DIR/name")" -
elif [ $# -lt 2 ] || ! [[ "$SECS" =~ ^[0-9]+$ ]]; then
	sed -n '5,11s/^# \{0,1\}//p' "$0" >&2
	exit 2
fi
NAME=$1
shift
if [ -z "$DIR" ]; then
	DIR=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-linux.XXXXXX") || exit 2
	trap 'rm -rf "$DIR"' EXIT
fi
mkdir -p "$DIR" "$B" || exit 2
if ! cc -O2 -Wall -Wextra -o "$B/first-output" bench/first-output.c; then
	echo "linux: building bench/first-output.c failed" >&2
	exit 1
fi
if ! perf stat -e kvm:kvm_pio true >/dev/null 2>&1; then
	echo "linux: perf's kvm tracepoints are not available (root? linux-perf installed?)" >&2
	exit 1
fi

markers=("Decompressing Linux" "Booting the kernel" "Linux version" "Freeing unused kernel"
	"Run /init" "KESTREL-LINUX-INIT-OK" "KESTREL-LINUX-POWEROFF")
margs=()
for m in "${markers[@]}"; do margs+=(-m "$m"); done

if [ -z "$AGAIN" ]; then
	echo "$NAME" >"$DIR/name"
	{
		echo "== $NAME"
		bench/host-info.sh
		echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
		echo "command: $*"
	} | tee "$DIR/head"
	"$B/first-output" -o "$DIR/console" -e "$DIR/stderr" -t "$SECS" ${STOP[@]+"${STOP[@]}"} "${margs[@]}" \
		perf record -q -m 64M -o "$DIR/perf.data" \
		-e kvm:kvm_userspace_exit,kvm:kvm_pio,kvm:kvm_mmio -- "$@" >"$DIR/first-output"
	echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$DIR/head"
else
	cat "$DIR/head"
fi
line=$(cat "$DIR/first-output")
echo "first-output: $line"

field() { # field NAME -> value from first-output's line
	local w
	for w in $line; do
		[ "${w%%=*}" = "$1" ] && { echo "${w#*=}"; return; }
	done
	echo -
}
ms() { [ "$1" = - ] && echo "not reached" || awk -v n="$1" 'BEGIN { printf "%.1f s", n / 1e9 }'; }
echo "status $(field status), $(field bytes) console bytes$([ "$(field timeout)" = 1 ] && echo ", stopped by the -t backstop")$([ "$(field stopped)" = 1 ] && echo ", stopped at the -s marker")"
echo "milestones, from spawn:"
printf '  %-26s %s\n' "first console byte" "$(ms "$(field first_ns)")"
for i in "${!markers[@]}"; do
	printf '  %-26s %s\n' "${markers[$i]}" "$(ms "$(field m$((i + 1)))")"
done
printf '  %-26s %s\n' "exit" "$(ms "$(field exit_ns)")"

perf script -i "$DIR/perf.data" -F event,trace 2>"$DIR/perf-script.err" >"$DIR/events" || true
lost=$(grep -ci 'lost' "$DIR/perf-script.err" 2>/dev/null || true)
echo "exits (perf record; ${lost:-0} lost-event notes from perf script):"
awk '{ sub(/:$/, "", $1); n[$1]++ } END { for (e in n) printf "  %-24s %10d\n", e, n[e] }' "$DIR/events" | sort
echo "kvm_userspace_exit by reason (INTR: KVM_RUN interrupted by a signal, not a guest exit):"
awk '$1 ~ /kvm_userspace_exit/ { $1 = ""; sub(/^ +/, ""); k[$0]++ }
	END { for (x in k) printf "%10d  %s\n", k[x], x }' "$DIR/events" | sort -rn | head -10 | sed 's/^/  /'
echo "port accesses (kvm_pio: port, direction, size; count; top 25):"
awk '$1 ~ /kvm_pio/ {
		# kvm_pio: pio_write at 0x3f8 size 1 count 1 val 0x41
		for (i = 2; i <= NF; i++) {
			if ($i == "at") port = $(i + 1)
			if ($i == "size") size = $(i + 1)
		}
		k[port " " $2 " " size]++
	}
	END { for (x in k) printf "%10d  %s\n", k[x], x }' "$DIR/events" | sort -rn | head -25 | sed 's/^/  /'
echo "MMIO (kvm_mmio: page, kind; count; top 10):"
awk '$1 ~ /kvm_mmio/ {
		# kvm_mmio: mmio write len 4 gpa 0xfee000b0 val 0x0
		for (i = 2; i <= NF; i++) {
			if ($i == "gpa") gpa = $(i + 1)
		}
		page = substr(gpa, 1, length(gpa) - 3) "000"
		k[page " " $3]++
	}
	END { for (x in k) printf "%10d  %s\n", k[x], x }' "$DIR/events" | sort -rn | head -10 | sed 's/^/  /'
echo "last console lines:"
tr -d '\r' <"$DIR/console" | grep -v '^$' | tail -n 6 | sed 's/^/  | /'
echo "stderr (how it stopped; kestrel --stats):"
grep -v '^$' "$DIR/stderr" | tail -n 60 | sed 's/^/  ! /'
