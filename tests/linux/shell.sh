#!/bin/bash
# shell.sh - an interactive busybox shell on Debian's kernel under kestrel, driven through a pty.
#
# Usage: KESTREL=build/kestrel tests/linux/shell.sh [CPUS]     (default 1)
#   BOOT_TIMEOUT=1500   seconds to wait for the shell (a boot takes minutes on a
#                       host whose KVM emulates guest kernel code)
#   KESTREL_ARGS=...    extra `kestrel run` options
# Boots `kestrel run -m 256M --cpus N --initrd INITRD --cmdline "console=ttyS0
# kestrel.shell" VMLINUZ` (tests/linux/fetch.sh's /init starts `sh -l` on the
# console with that word) on a new pseudo-terminal, as a user at a terminal
# would, and checks: the terminal is in raw mode while it runs; typed at the
# prompt, `echo ANSWER-$((6*7))` is answered `ANSWER-42` (the shell computed it:
# the typed line does not contain 42); `exit` powers the guest off, status 0;
# the terminal's settings (stty -g) are what they were. TAP lines, then
# "linux-shell: N passed, N failed, N skipped"; exits 1 on a failure.
set -u
KESTREL=${KESTREL:-build/kestrel}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-1500}
here=$(cd "$(dirname "$0")" && pwd)
cpus=${1:-1}

if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "# !!!!!!!! /dev/kvm is missing or not accessible: the Linux shell test is SKIPPED. !!!!!!!!"
	echo "ok 1 - linux shell # SKIP no usable /dev/kvm"
	echo "# linux-shell: 0 passed, 0 failed, 1 skipped"
	[ "${CI:-}" = true ] && exit 1
	exit 0
fi
command -v python3 >/dev/null || { echo "linux-shell: needs python3 (its pty module)" >&2; exit 2; }
[ -x "$KESTREL" ] || { echo "linux-shell: $KESTREL is missing: run make first" >&2; exit 2; }
inputs=$("$here/fetch.sh") || { echo "linux-shell: tests/linux/fetch.sh failed (see above)" >&2; exit 2; }
eval "$inputs"

# shellcheck disable=SC2086
exec python3 - "$BOOT_TIMEOUT" "$KESTREL" run -m 256M --cpus "$cpus" --initrd "$INITRD" \
	--cmdline "console=ttyS0 kestrel.shell" ${KESTREL_ARGS:-} "$KERNEL" <<'PY'
import fcntl, os, select, signal, subprocess, sys, termios, time

timeout, argv = float(sys.argv[1]), sys.argv[2:]
m, s = os.openpty()
path = os.ttyname(s)
a = termios.tcgetattr(s)
a[3] |= termios.ICANON | termios.ECHO | termios.ISIG
termios.tcsetattr(s, termios.TCSANOW, a)
before = subprocess.run(["stty", "-g", "-F", path], capture_output=True, text=True).stdout
t0 = time.time()
pid = os.fork()
if pid == 0:
    os.close(m)
    os.setsid()
    fcntl.ioctl(s, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(s, fd)
    os.execv(argv[0], argv)
out = b""
n = failed = 0

def tap(ok, name, why=""):
    global n, failed
    n += 1
    failed += not ok
    print(f"{'ok' if ok else 'not ok'} {n} - {name}{'' if ok or not why else ': ' + why}", flush=True)

def wait_for(needle, secs, start=0):
    """Read until `needle` appears at or after out[start] (or secs pass)."""
    global out
    end = time.time() + secs
    while needle not in out[start:] and time.time() < end:
        r, _, _ = select.select([m], [], [], 0.5)
        if r:
            try:
                out += os.read(m, 65536)
            except OSError:
                break
    return needle in out[start:]

def tail():
    return out[-600:].decode(errors="replace")

ok = wait_for(b"KESTREL-LINUX-SHELL", timeout)
tap(ok, f"the shell starts ({time.time() - t0:.0f} s)", tail())
if ok:
    mode = termios.tcgetattr(s)
    tap(not (mode[3] & (termios.ICANON | termios.ECHO | termios.ISIG)), "the terminal is raw while it runs")
    # A prompt after the marker, then a command whose answer the shell computes.
    ok = wait_for(b"# ", 300, out.index(b"KESTREL-LINUX-SHELL"))
    tap(ok, "a prompt", tail())
    start = len(out)
    for c in b"echo ANSWER-$((6*7))\r":
        os.write(m, bytes([c]))
        time.sleep(0.05)
    t1 = time.time()
    ok = wait_for(b"ANSWER-42", 600, start)
    tap(ok, f"echo ANSWER-$((6*7)) is answered ANSWER-42 ({time.time() - t1:.0f} s)", tail())
    os.write(m, b"exit\r")
st = None
end = time.time() + (600 if ok else 5)
while time.time() < end:
    p, w = os.waitpid(pid, os.WNOHANG)
    if p:
        st = os.waitstatus_to_exitcode(w)
        break
    wait_for(b"\0", 0.5)
if st is None:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
tap(st == 0, "exit powers the guest off: status 0", f"status {st}; {tail()}")
after = subprocess.run(["stty", "-g", "-F", path], capture_output=True, text=True).stdout
tap(after == before, "the terminal's settings are restored (stty -g)", f"{before!r} -> {after!r}")
print(f"# linux-shell: {n - failed} passed, {failed} failed, 0 skipped")
sys.exit(1 if failed else 0)
PY
