#!/bin/bash
# run.sh - Valgrind memcheck over real guest boots: no memory error, no definite or indirect leak.
#
# Usage: KESTREL=build/kestrel GUESTS=build/guests tests/valgrind/run.sh
# TAP-style "ok N - ..." lines. Skipped loudly without valgrind or /dev/kvm
# (a failure under CI=true, where both must be there).
#
# KVM ioctls: valgrind knows KVM_RUN and most KVM ioctls; for an ioctl it has
# no wrapper for, it follows the _IOC size/direction bits in the number.
# Only ioctls with no bits (_IO(), which pass no pointer) draw the "noted but
# unhandled ioctl ... with no size/direction hints" warning; with no memory
# passed they cannot hide or fake an error, so they are listed, not failed.
# Any other valgrind warning fails the case.
set -u
K=${KESTREL:-build/kestrel}
G=${GUESTS:-build/guests}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-vg.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0

skip_all() {
	echo "# !!!!!!!! valgrind checks SKIPPED: $1 !!!!!!!!"
	echo "ok 1 - valgrind memcheck # SKIP $1"
	[ "${CI:-}" = "true" ] && { echo "# CI=true: this is a failure."; exit 1; }
	exit 0
}
command -v valgrind >/dev/null || skip_all "valgrind is not installed (make deps)"
{ [ -r /dev/kvm ] && [ -w /dev/kvm ]; } || skip_all "no usable /dev/kvm"

# memcheck NAME STATUS [ERR-REGEX] -- ARGS...: kestrel ARGS under memcheck must
# exit STATUS (valgrind's own error status is 99, which no case expects) with
# a clean log, and its stderr match ERR-REGEX if given.
memcheck() {
	local name=$1 want=$2 errre=""; shift 2
	[ "$1" != "--" ] && { errre=$1; shift; }
	shift
	n=$((n + 1))
	timeout -k 5 120 valgrind --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite,indirect --log-file="$tmp/vg" \
		"$K" "$@" >/dev/null 2>"$tmp/err" </dev/null
	local got=$? why=""
	[ "$got" -eq "$want" ] || why="exit status $got, expected $want"
	[ -z "$errre" ] || grep -Eq -- "$errre" "$tmp/err" || why="${why:+$why; }stderr lacks /$errre/"
	grep -q 'ERROR SUMMARY: 0 errors' "$tmp/vg" || why="${why:+$why; }memcheck errors"
	grep -q 'definitely lost: [1-9]\|indirectly lost: [1-9]' "$tmp/vg" && why="${why:+$why; }leaks"
	# Warnings other than the harmless no-pointer ioctl note.
	local warn
	warn=$(grep -E '^==[0-9]+== Warning' "$tmp/vg" | grep -v 'unhandled ioctl 0x[0-9a-f]* with no size/direction hints')
	[ -z "$warn" ] || why="${why:+$why; }valgrind warning: $warn"
	if [ -z "$why" ]; then
		echo "ok $n - memcheck: $name"
	else
		failed=$((failed + 1))
		echo "not ok $n - memcheck: $name: $why"
		grep -v '^==[0-9]*== *$' "$tmp/vg" | head -60 | sed 's/^/#   /'
		sed 's/^/#   stderr: /' "$tmp/err" | head -10
	fi
	grep -o 'unhandled ioctl 0x[0-9a-f]*' "$tmp/vg" | sort -u | sed 's/^/#   (no-pointer ioctl valgrind has no wrapper for: /; s/$/)/'
}

# Valgrind does not implement seccomp(2) (and a filter would judge its own
# calls too), so the boots run with --no-seccomp; the last case checks that
# kestrel then refuses to run unconfined rather than carry on.
memcheck "hello boot" 0 -- run --no-seccomp "$G/hello.elf"
memcheck "bad-hypercall (hostile guest pointers)" 0 -- run --no-seccomp "$G/bad-hypercall.elf"
memcheck "smp-hello on 2 vCPUs (threads, teardown)" 0 -- run --no-seccomp --cpus 2 "$G/smp-hello.elf"
memcheck "triple fault (crash report path)" 123 -- run --no-seccomp "$G/triple-fault.elf"
memcheck "no seccomp(2) (valgrind): kestrel refuses to run unconfined" 122 \
	'(installing the seccomp filter .*failed|cannot confine the calling thread with seccomp)' -- run "$G/hello.elf"
[ "$failed" -eq 0 ]
