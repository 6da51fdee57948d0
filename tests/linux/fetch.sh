#!/bin/sh
# fetch.sh - Debian's cloud kernel and a busybox initramfs for kestrel's Linux boot tests.
#
#	tests/linux/fetch.sh            # prints KERNEL=... INITRD=... on stdout
#	eval "$(tests/linux/fetch.sh)"; build/kestrel run --initrd "$INITRD" ... "$KERNEL"
#	(BUSYBOX: the static busybox the initramfs holds, for scripts building their own)
#
# The kernel is the image package linux-image-cloud-amd64 depends on
# (linux-image-<version>-cloud-amd64), fetched with `apt-get download` and
# unpacked just enough to take boot/vmlinuz-*; busybox is bin/busybox from
# busybox-static. Both, and the initramfs built from them (tests/linux/newc.sh,
# no root needed), live in a cache OUTSIDE the source tree:
# $KESTREL_CACHE, else /var/cache/kestrel-tests when writable, else
# ~/.cache/kestrel. A second run reuses the cache and needs no network.
#
# The initramfs's /init (busybox sh) mounts proc, sysfs and devtmpfs and prints
#	KESTREL-LINUX-INIT-OK
#	KESTREL-CPUS=<processors in /proc/cpuinfo>
#	KESTREL-NPROC=<nproc>
#	KESTREL-UNAME=<uname -r>
#	KESTREL-CMDLINE=<the kernel command line>
# then, with the word `kestrel.shell` on the kernel command line, starts an
# interactive shell on the console (every busybox applet installed; `exit`
# powers off), else prints KESTREL-LINUX-POWEROFF and runs `poweroff -f`.
#
# Environment: KESTREL_CACHE (cache root), KESTREL_KERNEL_PKG (another image
# package than the one linux-image-cloud-amd64 depends on), KESTREL_REFRESH=1
# (forget the cache). Exit status: 0, or 1 with one line saying what failed.
set -eu

me=fetch.sh
here=$(cd "$(dirname "$0")" && pwd)
die() {
	echo "$me: $*" >&2
	exit 1
}
note() {
	echo "$me: $*" >&2
}

# ---- the cache ------------------------------------------------------------
if [ -n "${KESTREL_CACHE:-}" ]; then
	cache=$KESTREL_CACHE
elif mkdir -p /var/cache/kestrel-tests 2>/dev/null && [ -w /var/cache/kestrel-tests ]; then
	cache=/var/cache/kestrel-tests
else
	cache=${HOME:?HOME is not set; set KESTREL_CACHE}/.cache/kestrel
fi
cache=$(realpath -m "$cache")
case $cache/ in
"$(realpath "$here/../..")"/*) die "the cache $cache is inside the source tree; set KESTREL_CACHE elsewhere" ;;
esac
mkdir -p "$cache" || die "cannot create the cache $cache (set KESTREL_CACHE to a writable directory)"
note "cache: $cache"
[ "${KESTREL_REFRESH:-0}" = 1 ] && rm -rf "$cache/linux" "$cache/busybox" "$cache/initrd"

work=$(mktemp -d "$cache/.tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
# apt-get download as root drops to the _apt user, which must be able to write here.
chmod 0755 "$work"

# apt_ready: make sure the package lists exist (apt-get update once if not).
apt_ready() {
	command -v apt-get >/dev/null && command -v apt-cache >/dev/null ||
		die "apt-get/apt-cache not found: this script needs a Debian (or derived) host"
	if ! apt-cache show busybox-static >/dev/null 2>&1; then
		note "package lists missing: apt-get update"
		[ "$(id -u)" -eq 0 ] || die "the apt package lists are missing and only root can run apt-get update (run 'sudo apt-get update' once)"
		apt-get update -qq >&2 || die "apt-get update failed: no network or no reachable Debian mirror (see the messages above)"
	fi
}

# download PKG: apt-get download PKG into $work, print the .deb's path.
download() {
	(cd "$work" && apt-get download -qq "$1" >&2 2>"$work/apt.err") || {
		cat "$work/apt.err" >&2
		die "apt-get download $1 failed: no network, no reachable mirror, or stale lists (try 'apt-get update')"
	}
	deb=$(ls "$work/$1"_*.deb 2>/dev/null | head -n 1)
	[ -n "$deb" ] || die "apt-get download $1 produced no .deb in $work"
	echo "$deb"
}

# ---- the kernel -------------------------------------------------------------
# A kernel is cached as linux/<package>/vmlinuz; linux/current names the last one.
kpkg=${KESTREL_KERNEL_PKG:-}
if [ -z "$kpkg" ]; then
	if apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1 ||
		{ [ ! -s "$cache/linux/current" ] && apt_ready; }; then
		kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
			sed -n 's/^ *Depends: *\(linux-image-[0-9][^ ]*-cloud-amd64\)$/\1/p' | head -n 1)
	fi
	if [ -z "$kpkg" ] && [ -s "$cache/linux/current" ]; then
		kpkg=$(cat "$cache/linux/current")
		note "apt-cache cannot resolve linux-image-cloud-amd64; using the cached $kpkg"
	fi
	[ -n "$kpkg" ] || die "cannot find the image package linux-image-cloud-amd64 depends on ('apt-cache depends linux-image-cloud-amd64' names no linux-image-*-cloud-amd64)"
fi
case $kpkg in
linux-image-*) ;;
*) die "KESTREL_KERNEL_PKG '$kpkg' is not a linux-image-* package" ;;
esac
kdir=$cache/linux/$kpkg
kernel=$kdir/vmlinuz
if [ -s "$kernel" ]; then
	note "kernel: cached $kpkg"
else
	apt_ready
	note "kernel: apt-get download $kpkg"
	deb=$(download "$kpkg")
	# Only boot/ is unpacked: the modules are most of the package and never used.
	mkdir -p "$work/k"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work/k" --wildcards './boot/vmlinuz-*' ||
		die "$deb has no boot/vmlinuz-* (not a kernel image package?)"
	v=$(ls "$work"/k/boot/vmlinuz-* | head -n 1)
	[ -s "$v" ] || die "$deb: boot/vmlinuz-* is empty"
	mkdir -p "$kdir"
	cp "$v" "$kdir/vmlinuz.tmp"
	basename "$v" >"$kdir/name"
	dpkg-deb -f "$deb" Version >"$kdir/version"
	mv -f "$kdir/vmlinuz.tmp" "$kernel"
fi
echo "$kpkg" >"$cache/linux/current"

# ---- busybox ----------------------------------------------------------------
bdir=$cache/busybox
busybox=$bdir/busybox
if [ -s "$busybox" ]; then
	note "busybox: cached $(cat "$bdir/version" 2>/dev/null || echo '?')"
else
	apt_ready
	note "busybox: apt-get download busybox-static"
	deb=$(download busybox-static)
	mkdir -p "$work/b"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work/b" ./bin/busybox ||
		die "$deb has no bin/busybox"
	mkdir -p "$bdir"
	cp "$work/b/bin/busybox" "$bdir/busybox.tmp"
	chmod 0755 "$bdir/busybox.tmp"
	dpkg-deb -f "$deb" Version >"$bdir/version"
	mv -f "$bdir/busybox.tmp" "$busybox"
fi

# ---- the initramfs ----------------------------------------------------------
# /init below is part of this script: the archive is rebuilt when the script or
# busybox changes (the name carries a hash of both).
cat >"$work/init" <<'INIT'
#!/bin/sh
# /init of kestrel's test initramfs (tests/linux/fetch.sh).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
# The kernel opened /dev/console from the archive for us; take it again in
# case that failed, so the markers reach the console either way.
[ -c /dev/console ] && exec </dev/console >/dev/console 2>&1
echo KESTREL-LINUX-INIT-OK
echo "KESTREL-CPUS=$(grep -c '^processor' /proc/cpuinfo)"
echo "KESTREL-NPROC=$(nproc)"
echo "KESTREL-UNAME=$(uname -r)"
read -r cmdline </proc/cmdline
echo "KESTREL-CMDLINE=$cmdline"
case " $cmdline " in
*" kestrel.shell "*)
	mkdir -p /usr/bin /usr/sbin
	/bin/busybox --install -s
	echo KESTREL-LINUX-SHELL
	setsid cttyhack sh -l || sh -l
	;;
esac
echo KESTREL-LINUX-POWEROFF
poweroff -f
# poweroff -f only returns if reboot(2) failed; init exiting then panics the kernel.
echo "KESTREL-LINUX-POWEROFF-FAILED"
exit 1
INIT

id=$( (cat "$0" "$busybox") | sha256sum | cut -c1-12)
idir=$cache/initrd
initrd=$idir/initrd-$id.cpio
if [ -s "$initrd" ]; then
	note "initrd: cached $(basename "$initrd")"
else
	note "initrd: building $(basename "$initrd")"
	{
		for d in bin sbin usr dev proc sys tmp root etc; do echo "dir $d 0755"; done
		echo "nod dev/console 0600 c 5 1"
		echo "nod dev/null 0666 c 1 3"
		echo "file bin/busybox 0755 $busybox"
		echo "file init 0755 $work/init"
		# What /init runs; `kestrel.shell` installs the rest at boot.
		for a in sh mount echo cat grep nproc uname poweroff reboot setsid cttyhack \
			mkdir ls sleep dmesg; do
			echo "slink bin/$a 0777 busybox"
		done
	} >"$work/list"
	"$here/newc.sh" <"$work/list" >"$work/initrd.cpio" || die "newc.sh failed to build the initramfs"
	mkdir -p "$idir"
	rm -f "$idir"/initrd-*.cpio
	mv -f "$work/initrd.cpio" "$initrd"
fi
ln -sf "$(basename "$initrd")" "$idir/initrd.cpio"

echo "KERNEL=$kernel INITRD=$idir/initrd.cpio BUSYBOX=$busybox"
