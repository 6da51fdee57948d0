#!/bin/sh
# mkbzimage-test.sh [BUILD] - mkbzimage must refuse broken inputs with a reason and
# write the documented header for a good one. Needs `make guests` first.
set -eu
b=${1:-build}
mk=$b/tests/mkbzimage
pay=$b/guests/obj/bzimage-test/payload.elf
set16=$b/guests/obj/bzimage-test/setup16.elf
for f in "$mk" "$pay" "$set16"; do
	[ -r "$f" ] || { echo "mkbzimage-test: $f missing (make guests)" >&2; exit 2; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "not ok - $1"; fail=$((fail + 1)); }

# refuse NAME REASON ARGS...: mkbzimage must fail, write no output, and say REASON.
refuse() {
	name=$1 reason=$2
	shift 2
	rm -f "$tmp/out.bz"
	if "$mk" "$@" "$tmp/out.bz" 2>"$tmp/err"; then
		bad "$name: accepted"
	elif ! grep -q "$reason" "$tmp/err"; then
		bad "$name: reason '$(cat "$tmp/err")' lacks '$reason'"
	else
		ok "$name: $(cat "$tmp/err")"
	fi
}

printf 'not an elf at all, just some text padding it out to 64 bytes......' >"$tmp/text"
head -c 40 "$pay" >"$tmp/short"
head -c 4096 "$pay" >"$tmp/cut"
# The same ELF with e_entry (offset 24) moved by one byte.
cp "$pay" "$tmp/entry"
printf '\001' | dd of="$tmp/entry" bs=1 seek=24 conv=notrunc 2>/dev/null
# e_phoff (offset 32) far past the end.
cp "$pay" "$tmp/phoff"
printf '\377\377\377\000' | dd of="$tmp/phoff" bs=1 seek=32 conv=notrunc 2>/dev/null

refuse "missing file" "No such file" "$tmp/nonexistent"
refuse "not an ELF" "not an x86-64 ELF64 executable" "$tmp/text"
refuse "truncated header" "too short" "$tmp/short"
refuse "segments cut off" "out of the file" "$tmp/cut"
refuse "program headers out of the file" "program headers out of the file" "$tmp/phoff"
refuse "wrong entry" "is not the 64-bit entry" "$tmp/entry"
refuse "setup part at the wrong address" "must be linked and entered at 0x280" --setup "$pay" "$pay"

# A good image: check the fields a loader reads (little-endian, at boot.rst offsets).
"$mk" --setup "$set16" "$pay" "$tmp/good.bz"
field() { od -An -tx1 -j "$1" -N "$2" "$tmp/good.bz" | tr -d ' \n'; }
want() {
	if [ "$(field "$1" "$2")" = "$3" ]; then ok "header $4 = $3"; else bad "header $4 = $(field "$1" "$2"), want $3"; fi
}
want 497 1 04 "setup_sects (0x1f1)"
want 510 2 55aa "boot_flag (0x1fe)"
want 514 4 48647253 "HdrS (0x202)"
want 518 2 0f02 "version 0x020f (0x206)"
want 529 1 01 "loadflags LOADED_HIGH (0x211)"
want 560 4 00002000 "kernel_alignment 2 MiB (0x230)"
want 564 1 01 "relocatable_kernel (0x234)"
want 566 2 0300 "xloadflags KERNEL_64|CAN_BE_LOADED_ABOVE_4G (0x236)"
want 568 4 ff070000 "cmdline_size 2047 (0x238)"
want 556 4 ffffff7f "initrd_addr_max (0x22c)"
want 600 8 0000000100000000 "pref_address 16 MiB (0x258)"
size=$(wc -c <"$tmp/good.bz")
pm=$((size - 2560))
sys=$(field 500 4)
want_sys=$(printf '%02x%02x%02x%02x' $(( ((pm + 15) / 16) & 255 )) $(( ((pm + 15) / 16) >> 8 & 255 )) $(( ((pm + 15) / 16) >> 16 & 255 )) 0)
if [ "$sys" = "$want_sys" ]; then ok "syssize covers the $pm-byte protected-mode kernel"; else bad "syssize $sys, want $want_sys"; fi
# The 64-bit entry: the protected-mode kernel's bytes at +0x200 are startup_64 (xor %edx,%edx = 31 d2).
if [ "$(od -An -tx1 -j $((2560 + 512)) -N 2 "$tmp/good.bz" | tr -d ' \n')" = 31d2 ]; then
	ok "startup_64 at protected-mode kernel + 0x200"
else
	bad "no startup_64 at protected-mode kernel + 0x200"
fi
echo "mkbzimage-test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
