#!/usr/bin/env python3
# pty.py - kestrel on a terminal: raw mode for the run, the Ctrl-A escape, and the terminal's
# settings restored on every way out (stty -g before and after). TAP lines on stdout.
#
# Usage: tests/integration/pty.py KESTREL GUESTS-DIR
# Each case starts kestrel as the session leader of a new pseudo-terminal (its
# controlling terminal, in the foreground, as a shell would), talks to it
# through the master side and reads the slave's settings with termios and
# `stty -g -F`. Needs /dev/kvm (the caller checks).

import fcntl
import os
import select
import signal
import subprocess
import sys
import termios
import time

K, G = sys.argv[1], sys.argv[2]
n = 0
failed = 0


def tap(ok, name, why=""):
    global n, failed
    n += 1
    if ok:
        print(f"ok {n} - {name}")
    else:
        failed += 1
        print(f"not ok {n} - {name}{': ' + why if why else ''}")
    sys.stdout.flush()


def stty_g(path):
    return subprocess.run(["stty", "-g", "-F", path], capture_output=True, text=True).stdout.strip()


class Term:
    """kestrel ARGS on a new pty; background=True puts it in a process group that is not the
    terminal's foreground one (as `kestrel ... &` from a shell)."""

    def __init__(self, args, background=False):
        self.m, self.s = os.openpty()
        self.path = os.ttyname(self.s)
        # A cooked terminal as a shell leaves it, whatever openpty gave.
        a = termios.tcgetattr(self.s)
        a[3] |= termios.ICANON | termios.ECHO | termios.ISIG
        termios.tcsetattr(self.s, termios.TCSANOW, a)
        self.before = termios.tcgetattr(self.s)
        self.before_g = stty_g(self.path)
        self.out = b""
        self.pid = os.fork()
        if self.pid == 0:
            try:
                os.close(self.m)
                os.setsid()
                fcntl.ioctl(self.s, termios.TIOCSCTTY, 0)
                if background:
                    # The session leader (this process) keeps the foreground; kestrel runs
                    # in its own group, as a shell's background job.
                    pid = os.fork()
                    if pid:
                        _, st = os.waitpid(pid, 0)
                        os._exit(os.waitstatus_to_exitcode(st) & 0xFF)
                    os.setpgid(0, 0)
                for fd in (0, 1, 2):
                    os.dup2(self.s, fd)
                os.execv(K, [K] + args)
            finally:
                os._exit(127)
        self.status = None

    def read(self, secs, until=None):
        """Collect output for up to `secs`, or until bytes `until` appear."""
        end = time.time() + secs
        while time.time() < end:
            if until is not None and until in self.out:
                break
            r, _, _ = select.select([self.m], [], [], 0.05)
            if r:
                try:
                    data = os.read(self.m, 4096)
                except OSError:
                    break
                if not data:
                    break
                self.out += data
        return self.out

    def send(self, data):
        os.write(self.m, data)

    def wait(self, secs=20):
        end = time.time() + secs
        while time.time() < end:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(st)
                self.read(0.2)
                return self.status
            self.read(0.05)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        self.status = "hung"
        return self.status

    def mode(self):
        return termios.tcgetattr(self.s)

    def restored(self, secs=0.0):
        """The settings are what they were before (waiting up to secs for the helper)."""
        end = time.time() + secs
        while True:
            if self.mode() == self.before and stty_g(self.path) == self.before_g:
                return True
            if time.time() >= end:
                return False
            time.sleep(0.05)

    def close(self):
        os.close(self.m)
        os.close(self.s)


def raw(attrs):
    lflag, iflag = attrs[3], attrs[0]
    return not (lflag & (termios.ICANON | termios.ECHO | termios.ISIG)) and not (
        iflag & (termios.ICRNL | termios.IXON)
    )


echo = [f"{G}/serial-echo.elf"]

# 1. Raw mode, bytes unprocessed, the escape's commands, Ctrl-A x.
t = Term(["run"] + echo)
t.read(10, b"ready")
tap(b"mode=poll ready" in t.out, "the guest starts on a terminal", repr(t.out[-200:]))
tap(raw(t.mode()), "while it runs the terminal is raw: no ICANON, ECHO, ISIG, ICRNL, IXON")
tap(t.mode()[1] & termios.OPOST, "output processing stays on (a guest's \\n starts a line)")
t.send(b"abc")
t.read(5, b"ABC")
tap(b"ABC" in t.out, "bytes reach the guest without a newline (no line editing)", repr(t.out[-100:]))
t.send(b"\x03\x1a\r")
t.read(5, b"\x03\x1a\r\n")
tap(b"ABC\x03\x1a\r\n" in t.out, "^C, ^Z and CR are the guest's bytes, not signals or NL", repr(t.out[-100:]))
t.send(b"\x01\x01")
t.read(5, b"\x01")
tap(b"\x01" in t.out, "Ctrl-A Ctrl-A sends one Ctrl-A", repr(t.out[-100:]))
t.send(b"\x01h")
t.read(5, b"this help")
tap(b"Ctrl-A, then" in t.out and b"stop the VM" in t.out, "Ctrl-A h lists the commands")
t.send(b"\x01zq")
t.read(5, b"Q")
tap(b"Z" not in t.out.split(b"this help")[-1] and b"Q" in t.out,
    "Ctrl-A and an unknown byte are dropped together", repr(t.out[-100:]))
t.send(b"\x01x")
st = t.wait()
tap(st == 130, "Ctrl-A x stops kestrel with status 130", f"status {st}")
tap(b"stopped from the console (Ctrl-A x); exit status 130" in t.out, "and says why",
    repr(t.out[-200:]))
tap(t.restored(), "the terminal's settings are restored (termios and stty -g)")
t.close()

# 2. The guest ends by itself; its status is its own.
t = Term(["run"] + echo)
t.read(10, b"ready")
t.send(b"hey.")
st = t.wait()
tap(st == 3, "guest ends on its own: its status (3 bytes)", f"status {st}")
tap(b"KESTREL-SERIAL-ECHO-OK mode=poll bytes=3" in t.out, "its marker", repr(t.out[-200:]))
tap(t.restored(), "restored after the guest's own exit")
t.close()

# 3. Interrupt-driven input on a terminal, typed in bursts.
t = Term(["run", "--pit"] + echo + ["--", "irq"])
t.read(10, b"ready")
for chunk in (b"ab", b"cd", b"ef"):
    t.send(chunk)
    t.read(3, chunk.upper())
t.send(b".")
st = t.wait()
tap(st == 6, "irq mode: 6 bytes typed in 3 bursts", f"status {st}")
irqs = t.out.split(b"irqs=")[-1].split(b" ")[0] if b"irqs=" in t.out else b"0"
tap(int(irqs or b"0") >= 3, "each burst was an interrupt (irqs >= 3)", f"irqs={irqs!r}")
tap(t.restored(), "restored")
t.close()

# 4. Other ways out: SIGTERM, SIGINT from outside, --timeout, a crash, SIGKILL.
for name, args, action, want in (
    ("SIGTERM", echo, lambda t: os.kill(t.pid, signal.SIGTERM), 143),
    ("SIGINT (kill -INT)", echo, lambda t: os.kill(t.pid, signal.SIGINT), 130),
    ("--timeout", ["--timeout", "1"] + echo, None, 124),
    ("a triple fault", [f"{G}/triple-fault.elf"], None, 123),
):
    t = Term(["run"] + args)
    t.read(10, b"ready" if args is not None and "serial-echo" in args[-1] else b"fault")
    if action:
        action(t)
    st = t.wait()
    tap(st == want, f"{name}: status {want}", f"status {st}")
    tap(t.restored(), f"{name}: the terminal is restored")
    t.close()

t = Term(["run"] + echo)
t.read(10, b"ready")
was_raw = raw(t.mode())
os.kill(t.pid, signal.SIGKILL)
st = t.wait()
tap(was_raw and st == -signal.SIGKILL, "SIGKILL while raw", f"status {st}")
tap(t.restored(2.0), "SIGKILL: the helper restores the terminal when kestrel is gone")
t.close()

# 5. No raw mode: --no-stdin, and a kestrel that is a background job.
t = Term(["run", "--no-stdin", "--timeout", "1.5"] + echo)
t.read(10, b"ready")
tap(t.mode() == t.before, "--no-stdin leaves the terminal as it is")
t.send(b"typed.")
st = t.wait()
tap(st == 124, "--no-stdin: the guest receives nothing (it times out)", f"status {st}")
t.close()

t = Term(["run", "--timeout", "1.5"] + echo, background=True)
t.read(10, b"ready")
tap(t.mode() == t.before, "a background kestrel leaves the terminal alone")
st = t.wait()
tap(st == 124, "a background kestrel is not stopped by SIGTTIN (no read of the terminal)",
    f"status {st}")
t.close()

print(f"1..{n}")
sys.exit(1 if failed else 0)
