#!/bin/sh
# check-insns.sh ELF [NAME] - fail if a guest contains an instruction kestrel's
# host KVM cannot run for it: software interrupts (int1, int3, int $n, into),
# XSAVE-family and XCR0 access, cmpxchg16b, SMAP clac/stac, clwb, invpcid,
# rdpru, movbe, any use of SSE/AVX/AVX-512 (or MMX) registers, and bytes
# objdump cannot decode (0xce, `into`, is one of those in 64-bit mode).
# Prints one line per offending instruction and exits 1; exits 0 when clean.
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 ELF [NAME]" >&2
	exit 2
fi
elf=$1
name=${2:-$(basename "$elf" .elf)}
OBJDUMP=${OBJDUMP:-objdump}

if [ ! -r "$elf" ]; then
	echo "check-insns: $name: cannot read $elf" >&2
	exit 2
fi

dis=$("$OBJDUMP" -d --no-show-raw-insn -M att "$elf") || {
	echo "check-insns: $name: $OBJDUMP -d failed on $elf" >&2
	exit 2
}

printf '%s\n' "$dis" | awk -v name="$name" '
	/^[0-9a-f]+ <.*>:$/ {
		fn = $2
		sub(/^</, "", fn)
		sub(/>:$/, "", fn)
		next
	}
	/^ *[0-9a-f]+:\t/ {
		line = $0
		addr = line
		sub(/:.*/, "", addr)
		gsub(/ /, "", addr)
		insn = line
		sub(/^ *[0-9a-f]+:\t/, "", insn)
		n = split(insn, w, /[ \t]+/)
		# Skip prefixes objdump prints as separate words.
		i = 1
		while (i <= n && w[i] ~ /^(lock|rep|repz|repe|repnz|repne|data16|data32|addr16|addr32|notrack|bnd|xacquire|xrelease|rex(\.[wrxb]+)?|rex64|[c-gs]s)$/)
			i++
		m = (i <= n) ? w[i] : ""
		bad = ""
		if (m ~ /^(int1|int3|int|into|xgetbv|xsetbv|cmpxchg16b|clac|stac|clwb|invpcid|rdpru)$/ ||
		    m ~ /^(xrstor|xsave)/ || m ~ /^movbe/)
			bad = m
		else if (m == "(bad)")
			bad = "(undecodable bytes, e.g. into, invalid in 64-bit mode)"
		else if (insn ~ /%[xyz]mm[0-9]/)
			bad = "SSE/AVX register use"
		else if (insn ~ /%mm[0-7]/)
			bad = "MMX register use"
		if (bad != "") {
			printf "check-insns: %s: forbidden instruction %s at 0x%s in %s: %s\n", name, bad, addr, fn, insn
			found++
		}
	}
	END {
		if (found) {
			printf "check-insns: %s: %d forbidden instruction(s); kestrel guests must not use them\n", name, found
			exit 1
		}
	}
' >&2
