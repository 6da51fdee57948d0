#!/bin/sh
# newc.sh - write a newc ("070701") cpio archive, the initramfs format Linux
# unpacks, from a list of entries on stdin; the archive goes to stdout.
#
# No root and no cpio(1) needed: a device node is only a header here. One
# entry per line (blank lines and lines starting with # are skipped):
#	dir   PATH MODE
#	file  PATH MODE SOURCE
#	slink PATH MODE TARGET
#	nod   PATH MODE c|b MAJOR MINOR
# PATH is the name inside the archive without a leading slash ("bin/sh"),
# MODE octal permission bits (0755). Every entry is owned by root, mtime 0,
# so the same inputs give the same bytes. Parents must be listed before
# their children (the kernel does not create missing directories).
# The format: Linux's Documentation/driver-api/early-userspace/buffer-format.rst.
set -eu
export LC_ALL=C # ${#name} must count bytes

ino=300000

# pad4 N: write the zero bytes that bring N up to a multiple of 4.
pad4() {
	p=$(( (4 - $1 % 4) % 4 ))
	[ "$p" -eq 0 ] || head -c "$p" /dev/zero
}

# hdr TYPEMODE SIZE NLINK RDEVMAJOR RDEVMINOR NAME: one header (fields in
# buffer-format.rst order: ino mode uid gid nlink mtime filesize devmajor
# devminor rdevmajor rdevminor namesize check), its name, padding.
hdr() {
	ino=$((ino + 1))
	namesize=$(( ${#6} + 1 ))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		"$ino" "$1" 0 0 "$3" 0 "$2" 0 0 "$4" "$5" "$namesize" 0
	printf '%s\0' "$6"
	pad4 $((110 + namesize))
}

die() {
	echo "newc.sh: line $lineno: $*" >&2
	exit 1
}

lineno=0
while read -r type path mode a b c; do
	lineno=$((lineno + 1))
	case $type in ''|'#'*) continue ;; esac
	case $path in
	''|/*|*//*|../*|*/../*|*/..|..) die "bad path '$path' (relative, no '..', e.g. bin/sh)" ;;
	esac
	case $mode in
	0[0-7][0-7][0-7]|[0-7][0-7][0-7]|0[0-7][0-7][0-7][0-7]) ;;
	*) die "bad mode '$mode' for $path (octal, e.g. 0755)" ;;
	esac
	perm=$((0$mode))
	case $type in
	dir)
		hdr $((0040000 | perm)) 0 2 0 0 "$path"
		;;
	file)
		[ -n "$a" ] && [ -f "$a" ] && [ -r "$a" ] || die "file $path: cannot read source '$a'"
		size=$(wc -c <"$a")
		hdr $((0100000 | perm)) "$size" 1 0 0 "$path"
		cat "$a"
		pad4 "$size"
		;;
	slink)
		[ -n "$a" ] || die "slink $path: no target"
		hdr $((0120000 | perm)) ${#a} 1 0 0 "$path"
		printf '%s' "$a"
		pad4 ${#a}
		;;
	nod)
		case $a in c) t=0020000 ;; b) t=0060000 ;; *) die "nod $path: type '$a' is not c or b" ;; esac
		case "$b$c" in ''|*[!0-9]*) die "nod $path: major/minor '$b' '$c' are not numbers" ;; esac
		hdr $((t | perm)) 0 1 "$b" "$c" "$path"
		;;
	*)
		die "unknown entry type '$type' (dir, file, slink, nod)"
		;;
	esac
done

# The trailer: an entry named TRAILER!!! ends the archive.
ino=0
printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' 0 0 0 0 1 0 0 0 0 0 0 11 0
printf 'TRAILER!!!\0'
pad4 $((110 + 11))
