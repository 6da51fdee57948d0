#!/bin/bash
# run.sh - the bad-input catalogue: every case in cases.txt must end with its documented status and reason, never a crash or hang.
#
# Usage: KESTREL=build/kestrel GUESTS=build/guests tests/bad-input/run.sh [CASES-FILE]
# Prints TAP-style "ok N - name" lines and "# bad-input: N passed, ...".
# The file format is described at the top of cases.txt. Cases that boot a
# VM are skipped LOUDLY without /dev/kvm (a failure under CI=true).
set -u
K=${KESTREL:-build/kestrel}
G=${GUESTS:-build/guests}
here=$(cd "$(dirname "$0")" && pwd)
cases=${1:-$here/cases.txt}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-bad.XXXXXX") || exit 2
# Only the main shell cleans up: a background child killed before it execs
# (the watchdog below) would otherwise run this trap too.
trap '[ "$BASHPID" = "$$" ] && rm -rf "$tmp"' EXIT

declare -A named=([USAGE]=120 [IMAGE]=121 [HOST]=122 [TRIPLE]=123 [TIMEOUT]=124 [GUESTERR]=125
	[STRICT]=126 [RESET]=127 [SIGINT]=130 [SIGTERM]=143)
have_kvm=1
{ [ -r /dev/kvm ] && [ -w /dev/kvm ]; } || have_kvm=0
n=0 passed=0 failed=0 skipped=0 xfailed=0

if ! ${CC:-gcc} -std=gnu11 -O1 -Wall -Wextra -o "$tmp/mkelf" "$here/mkelf.c" 2>"$tmp/cc"; then
	echo "not ok 1 - build tests/bad-input/mkelf.c"; sed 's/^/#   /' "$tmp/cc"
	exit 1
fi
long=$(printf 'x%.0s' $(seq 1100)) # one guest argument longer than KESTREL_CMDLINE_MAX

# make_input SPEC PATH: create the input the case runs on; prints its path.
make_input() {
	local spec=$1 p=$2
	case $spec in
	-) echo "/nonexistent" ;;
	missing) echo "$p" ;;
	empty) : >"$p"; echo "$p" ;;
	text) printf 'this is not an ELF file at all, just text\n' >"$p"; echo "$p" ;;
	dir) mkdir -p "$p"; echo "$p" ;;
	fifo) mkfifo "$p"; echo "$p" ;;
	chardev) echo /dev/zero ;;
	unreadable) cp "$G/hello.elf" "$p"; chmod 000 "$p"; echo "$p" ;;
	head:*) head -c "${spec#head:}" "$G/hello.elf" >"$p"; echo "$p" ;;
	elf:*) "$tmp/mkelf" "${spec#elf:}" "$p" && echo "$p" ;;
	guest:*) echo "$G/${spec#guest:}.elf" ;;
	filehead:*) # filehead:FILE:N - the first N bytes of $G/FILE
		local rest=${spec#filehead:}
		head -c "${rest##*:}" "$G/${rest%:*}" >"$p"; echo "$p" ;;
	patch:*) # patch:FILE:OFF:HEX - $G/FILE with the bytes at OFF (hex) replaced by HEX
		local rest=${spec#patch:} f off hex
		f=${rest%%:*}; rest=${rest#*:}; off=${rest%%:*}; hex=${rest#*:}
		cp "$G/$f" "$p" && printf "$(echo "$hex" | sed 's/../\\x&/g')" |
			dd of="$p" bs=1 seek=$((off)) conv=notrunc status=none && echo "$p" ;;
	*) return 1 ;;
	esac
}

# result NAME WHY: one TAP line (WHY empty = pass), honouring xfail.
result() {
	n=$((n + 1))
	if [ -n "$xfail" ]; then
		if [ -n "$2" ]; then
			xfailed=$((xfailed + 1))
			echo "ok $n - $1 # SKIP known bug ($xfail): $2"
		else
			failed=$((failed + 1))
			echo "not ok $n - $1: passes now; remove its xfail=$xfail"
		fi
		return
	fi
	if [ -z "$2" ]; then
		passed=$((passed + 1)); echo "ok $n - $1"
	else
		failed=$((failed + 1)); echo "not ok $n - $1: $2"
		echo "#   command: ${cmd[*]:0:12}"
		[ -f "$tmp/out" ] && head -c 2000 "$tmp/out" | head -10 | sed 's/^/#   stdout: /'
		head -20 "$tmp/err" | sed 's/^/#   stderr: /'
	fi
}

while IFS= read -r line || [ -n "$line" ]; do
	case $line in '#'* | '') continue ;; esac
	# Fields are separated by " | " (a regex may still use a bare '|').
	IFS=$'\x1f' read -r name input args want errs opts <<<"${line// | /$'\x1f'}"
	opts=${opts:-}
	xfail="" limit=30 killspec="" stdout=file stderr=file outbytes="" outre="" nokvm=0
	shpre="" shpost="" truncspec="" report="" stdin=""
	read -ra optv <<<"$opts" # not `for o in $opts`: a regex would be globbed
	for o in "${optv[@]+"${optv[@]}"}"; do
		case $o in
		xfail=*) xfail=${o#xfail=} ;;
		limit=*) limit=${o#limit=} ;;
		kill=*) killspec=${o#kill=} ;;
		stdout=*) stdout=${o#stdout=} ;;
		stderr=closed) stderr=closed ;;
		outbytes=*) outbytes=${o#outbytes=} ;;
		out=*) outre=${o#out=} ;;
		nokvm) nokvm=1 ;;
		fsize=*) shpre+="ulimit -f ${o#fsize=}; " ;;
		nofile=*) shpre+="ulimit -n ${o#nofile=}; " ;;
		close=[0-2]) shpost+=" ${o#close=}>&-" ;;
		truncate=*) truncspec=${o#truncate=} ;;
		report=*) report=${o#report=} ;;
		stdin=*) stdin=${o#stdin=} ;;
		*) echo "# bad option '$o' in: $line" >&2; exit 2 ;;
		esac
	done
	if [ "$have_kvm" -eq 0 ] && [ "$nokvm" -eq 0 ]; then
		n=$((n + 1)); skipped=$((skipped + 1))
		echo "ok $n - $name # SKIP no usable /dev/kvm"
		continue
	fi
	want=${named[$want]:-$want}
	rm -rf "$tmp/in" "$tmp/out" "$tmp/err" "$tmp/pipe" "$tmp/epipe" "$tmp/stdin"
	if ! in=$(make_input "$input" "$tmp/in"); then
		xfail="" cmd=()
		result "$name" "cannot make input '$input'"
		continue
	fi
	sin=/dev/null
	if [ -n "$stdin" ] && ! sin=$(make_input "$stdin" "$tmp/stdin"); then
		xfail="" cmd=()
		result "$name" "cannot make stdin '$stdin'"
		continue
	fi
	args=${args//@IN/$in}
	args=${args//@G/$G}
	args=${args//@LONG/$long}
	args=${args//@OUT/$tmp/report.json}
	rm -f "$tmp/report.json" "$tmp"/.report.json.*
	read -ra argv <<<"$args"
	cmd=("$K" "${argv[@]}")
	if [ "$input" = unreadable ] && [ "$(id -u)" -eq 0 ]; then
		# root reads anything: drop the two capabilities that let it, so
		# open(2) meets the file's mode bits as any user would.
		if ! command -v setpriv >/dev/null; then
			n=$((n + 1)); skipped=$((skipped + 1))
			echo "ok $n - $name # SKIP running as root and setpriv(1) is missing"
			continue
		fi
		cmd=(setpriv --inh-caps=-dac_override,-dac_read_search
			--bounding-set=-dac_override,-dac_read_search "${cmd[@]}")
	fi

	# Limits and closed fds: the command runs under a shell that sets them.
	if [ -n "$shpre$shpost" ]; then
		cmd=(bash -c "$shpre"'exec "$@"'"$shpost" kestrel-case "${cmd[@]}")
	fi
	# Run with a watchdog: a case that outlives `limit` seconds is a hang.
	hpid="" epid="" spid=""
	errto=$tmp/err
	if [ "$stderr" = closed ]; then
		# stderr is a pipe whose reader has gone: every write gets EPIPE.
		mkfifo "$tmp/epipe"
		{ exec 3<"$tmp/epipe"; exec 3<&-; } &
		epid=$!
		errto=$tmp/epipe
	fi
	case $stdout in
	file) "${cmd[@]}" >"$tmp/out" 2>"$errto" <"$sin" & ;;
	null) "${cmd[@]}" >/dev/null 2>"$errto" <"$sin" & ;;
	stalled)
		# A reader that holds the pipe open and never reads: it fills.
		mkfifo "$tmp/pipe"
		{ exec 3<"$tmp/pipe"; exec sleep "$((limit + 5))"; } &
		spid=$!
		"${cmd[@]}" >"$tmp/pipe" 2>"$errto" <"$sin" &
		;;
	head:*)
		mkfifo "$tmp/pipe"
		head -c "${stdout#head:}" <"$tmp/pipe" >"$tmp/out" &
		hpid=$!
		"${cmd[@]}" >"$tmp/pipe" 2>"$errto" <"$sin" &
		;;
	esac
	pid=$!
	sleep "$limit" &
	dog=$!
	if [ -n "$truncspec" ]; then
		# The image shrinks while kestrel reads it (a rebuild, a network filesystem).
		sleep "$truncspec"
		truncate -s 4096 "$in"
	fi
	if [ -n "$killspec" ]; then
		sleep "${killspec#*@}"
		kill -"${killspec%@*}" "$pid" 2>/dev/null
	fi
	hung=""
	while kill -0 "$pid" 2>/dev/null; do
		if ! kill -0 "$dog" 2>/dev/null; then
			hung="still running after ${limit} s (killed)"
			kill -KILL "$pid" 2>/dev/null
			break
		fi
		wait -n "$pid" "$dog" 2>/dev/null
	done
	wait "$pid" 2>/dev/null
	got=$?
	kill -KILL "$dog" 2>/dev/null
	wait "$dog" 2>/dev/null
	[ -n "$hpid" ] && wait "$hpid"
	[ -n "$spid" ] && { kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null; }
	[ -n "$epid" ] && wait "$epid"
	[ "$stderr" = closed ] && : >"$tmp/err" # nothing was kept

	why=$hung
	[ "$got" -eq "$want" ] || why="${why:+$why; }exit status $got, expected $want"
	# Several stderr regexes may be joined by " && "; each must match.
	errs=${errs// && /$'\x1f'}
	IFS=$'\x1f' read -ra res <<<"$errs"
	for re in "${res[@]}"; do
		[ "$re" = "-" ] && continue
		grep -Eq -- "$re" "$tmp/err" || why="${why:+$why; }stderr lacks /$re/"
	done
	# Every refusal says why on a "kestrel: " line; nothing may be a sanitizer report.
	if [ "$want" -ne 0 ] && [ "$stderr" = file ] && ! grep -q '^kestrel: ' "$tmp/err"; then
		why="${why:+$why; }no 'kestrel: ' reason line"
	fi
	if grep -Eq 'Sanitizer|runtime error:' "$tmp/err"; then
		why="${why:+$why; }sanitizer report on stderr"
	fi
	if [ -n "$outre" ] && ! grep -Eq -- "$outre" "$tmp/out"; then
		why="${why:+$why; }stdout lacks /$outre/"
	fi
	case $report in
	'') ;;
	absent)
		[ -e "$tmp/report.json" ] && why="${why:+$why; }--stats-json left a file ($(wc -c <"$tmp/report.json") bytes)"
		ls -a "$tmp" | grep -q '^\.report\.json\.' && why="${why:+$why; }--stats-json left its temporary file" ;;
	json)
		python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if isinstance(d, dict) else 1)' "$tmp/report.json" 2>/dev/null ||
			why="${why:+$why; }--stats-json file is not one JSON document" ;;
	stdout-json)
		python3 -c 'import json, sys; t = open(sys.argv[1]).read(); i = t.index("{\"schema\""); json.loads(t[i:])' "$tmp/out" 2>/dev/null ||
			why="${why:+$why; }stdout does not end in the JSON report" ;;
	esac
	if [ -n "$outbytes" ]; then
		got_bytes=$(wc -c <"$tmp/out")
		[ "$got_bytes" -eq "$outbytes" ] || why="${why:+$why; }stdout has $got_bytes bytes, expected $outbytes"
	fi
	result "$name" "$why"
done <"$cases"

echo "# bad-input: $passed passed, $failed failed, $skipped skipped, $xfailed known bugs"
if [ "$have_kvm" -eq 0 ]; then
	echo "# !!!!!!!! bad-input KVM cases SKIPPED: no usable /dev/kvm !!!!!!!!"
	[ "${CI:-}" = "true" ] && exit 1
fi
[ "$failed" -eq 0 ]
