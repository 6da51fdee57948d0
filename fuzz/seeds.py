#!/usr/bin/env python3
"""seeds.py - (re)write the synthetic seed inputs in fuzz/corpus/<target>/ (run from anywhere).

The seeds are small, hand-shaped inputs that get each fuzzer past the first
checks quickly; libFuzzer mutates from there. fuzz/corpus/elf/hello-stripped
is not made here: it is build/guests/hello.elf after `objcopy --strip-all`.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
MIB, GIB = 1 << 20, 1 << 30
PT_LOAD, PT_INTERP, PF_X, PF_W, PF_R = 1, 3, 1, 2, 4


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def elf(segs, entry, cls=2, data=1, etype=2, machine=62, payload=b"\xf4" * 16):
    """ELF64 header, program headers, then `payload` at offset 0x100 for every segment."""
    ident = b"\x7fELF" + bytes([cls, data, 1, 0]) + bytes(8)
    phoff, off = 64, 0x100
    eh = ident + struct.pack("<HHIQQQIHHHHHH", etype, machine, 1, entry, phoff, 0, 0, 64, 56,
                             len(segs), 64, 0, 0)
    ph = b""
    for ptype, addr, filesz, memsz, flags in segs:
        ph += struct.pack("<IIQQQQQQ", ptype, flags, off if filesz else 0, addr, addr, filesz, memsz,
                          0x1000)
    img = eh + ph
    return img + bytes(off - len(img)) + payload


def seeds_elf():
    put("elf", "one-segment", elf([(PT_LOAD, MIB, 16, 16, PF_R | PF_X)], MIB))
    put("elf", "text-rodata-bss", elf([(PT_LOAD, MIB, 16, 16, PF_R | PF_X),
                                       (PT_LOAD, MIB + 0x1000, 16, 16, PF_R),
                                       (PT_LOAD, MIB + 0x2000, 0, 0x3000, PF_R | PF_W)], MIB + 4))
    put("elf", "high-region", elf([(PT_LOAD, MIB, 16, 16, PF_R | PF_X),
                                   (PT_LOAD, 4 * GIB, 16, 0x8000, PF_R | PF_W)], MIB))
    put("elf", "interp", elf([(PT_INTERP, 0, 16, 16, PF_R), (PT_LOAD, MIB, 16, 16, PF_R | PF_X)], MIB))
    put("elf", "elfclass32", elf([(PT_LOAD, MIB, 16, 16, PF_R | PF_X)], MIB, cls=1))


def seeds_boot():
    def boot(mem, tsc, raw_end, ncpus, mode, pick, cmdline):
        return struct.pack("<QQQIBH", mem, tsc, raw_end, ncpus, mode, pick) + cmdline
    put("boot", "64M-1cpu", boot(64 * MIB, 2_500_000, 0, 1, 0, 0, b"alpha beta=2"))
    put("boot", "5G-4cpu", boot(5 * GIB, 3_000_000, 0, 4, 0, 777, b"n=5000"))
    put("boot", "raw-123G", boot(2 * MIB, 0, 123 * GIB, 2, 2, 0xffff, b""))
    put("boot", "cmdline-1023", boot(64 * MIB, 0, 0, 1, 0, 0, b"x" * 1023))
    put("boot", "cmdline-1024", boot(64 * MIB, 0, 0, 1, 0, 0, b"y" * 1024))


def seeds_cli():
    put("cli", "full", b"\0".join([b"run", b"--mem", b"64M", b"--cpus", b"2", b"--timeout", b"0.5",
                                   b"--strict", b"--stats", b"--no-sync-regs", b"g.elf", b"--",
                                   b"alpha", b"beta=2"]))
    put("cli", "short", b"\0".join([b"-m", b"1G", b"-c", b"4", b"-t", b"10", b"g.elf"]))
    put("cli", "equals", b"\0".join([b"--mem=5G", b"--cpus=1", b"--timeout=1.25", b"g.elf"]))
    put("cli", "help", b"--help")
    put("cli", "version", b"run\0-V")
    put("cli", "missing-value", b"g.elf\0--mem")


def seeds_size():
    hdr = struct.pack("<QQQB", 3 * GIB + 512 * MIB, 1, 1 << 32, 40)
    for name, s in [("64M", b"64M"), ("1GiB", b"1GiB"), ("max", b"18446744073709551615"),
                    ("16E", b"16E"), ("12Q", b"12Q"), ("bytes", b"65536b")]:
        put("size", name, hdr + s)


def seeds_bus():
    ops = b""
    # kestrel's ports: COM1 (8), isa-debug-exit, i8042 data/cmd, hypercalls (16), null port.
    for base, n in [(0x3F8, 8), (0xF4, 1), (0x60, 1), (0x64, 1), (0x30, 16), (0x58, 1)]:
        ops += bytes([0x00]) + struct.pack("<HB", base, n)
    ops += bytes([0x00]) + struct.pack("<HB", 0x3FC, 2)  # overlaps COM1: -EEXIST
    ops += bytes([0x10]) + struct.pack("<I", 0xFFFF)[:3] + bytes([2])  # leaves the port space
    # MMIO: IOAPIC- and LAPIC-like windows (u16 << 16), then a 64-bit range.
    ops += bytes([0x41]) + struct.pack("<HH", 0xFEC0, 0x1000)
    ops += bytes([0x41]) + struct.pack("<HH", 0xFEE0, 0x1000)
    ops += bytes([0x02]) + struct.pack("<QQ", 1 << 40, 1 << 20)
    ops += bytes([0x03]) + struct.pack("<H", 0x3FD) + bytes([0x06, 0x07])
    ops += bytes([0x44]) + struct.pack("<H", 0xFEC0) + bytes([2])
    ops += bytes([0x05]) + struct.pack("<QQ", (1 << 40) + 8, 8)
    put("bus", "kestrel-devices", ops)


def seeds_guestmem():
    q = b""
    for how in range(8):
        q += bytes([how]) + struct.pack("<QQ", 0x1000 * (how + 1), 0x10 * how)
    put("guestmem", "layout-64M", bytes([3]) + struct.pack("<Q", 64 * MIB) + q)
    put("guestmem", "layout-5G", bytes([1]) + struct.pack("<Q", 2 * GIB) + q)
    put("guestmem", "raw-2", bytes([2]) + struct.pack("<QQQQ", MIB, 8 * MIB, 16 * MIB, 4 * MIB) + q)


def seeds_bzimage():
    """Synthetic Linux kernels for fuzz_bzimage (options come from len % 16, see the target)."""
    import gzip, lzma, shutil, subprocess
    kbase = 16 * MIB

    def vmlinux(pvh):
        text, data = b"\x90" * 0x400, b"\x01" * 0x100
        notes = struct.pack("<III", 4, 6, 6) + b"Xen\0" + b"linux\0\0\0"
        if pvh:
            notes += struct.pack("<III", 4, 8, 18) + b"Xen\0" + struct.pack("<Q", kbase + 0x40)
        eh = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8) + struct.pack(
            "<HHIQQQIHHHHHH", 2, 62, 1, kbase, 64, 0, 0, 64, 56, 3, 64, 0, 0)
        v = 0xffffffff80000000 + kbase
        ph = struct.pack("<IIQQQQQQ", PT_LOAD, PF_R | PF_X, 0x400, v, kbase, len(text), len(text), 0x1000)
        ph += struct.pack("<IIQQQQQQ", PT_LOAD, PF_R | PF_W, 0x800, v + 0x1000, kbase + 0x1000,
                          len(data), 0x2000, 0x1000)
        ph += struct.pack("<IIQQQQQQ", 4, PF_R, 0x200, 0, 0, len(notes), len(notes), 4)
        img = eh + ph
        img += bytes(0x200 - len(img)) + notes
        img += bytes(0x400 - len(img)) + text
        return img + bytes(0x800 - len(img)) + data

    def bzimage(pl, sects=4, version=0x20f, xlf=3):
        setup = bytearray((sects + 1) * 512)
        kernel = bytearray(0x200) + pl + bytes(16)
        setup[0x1f1] = sects
        struct.pack_into("<I", setup, 0x1f4, (len(kernel) + 15) // 16)
        struct.pack_into("<HBB4sH", setup, 0x1fe, 0xaa55, 0xeb, 0x6a, b"HdrS", version)
        setup[0x211] = 1
        struct.pack_into("<IIBBHI", setup, 0x22c, 0x7fffffff, 0x200000, 1, 21, xlf, 255)
        struct.pack_into("<II", setup, 0x248, 0x200, len(pl))
        struct.pack_into("<QI", setup, 0x258, kbase, MIB)
        return bytes(setup + kernel)

    def sized(img, opts):
        """Pad so that len % 16 == opts (bit 0 initrd, bit 1 no_host_decompress, 2-3 entry)."""
        return img + bytes((opts - len(img)) % 16)

    sz = lambda b: struct.pack("<I", len(b))
    v = vmlinux(True)
    put("bzimage", "own-decompressor", sized(bzimage(b"BZh9" + bytes(64)), 1))
    put("bzimage", "gzip-vmlinux", sized(bzimage(gzip.compress(v) + sz(v)), 1))
    put("bzimage", "xz-vmlinux", sized(bzimage(lzma.compress(v, check=lzma.CHECK_CRC32) + sz(v)), 0))
    put("bzimage", "lzma-vmlinux", sized(bzimage(lzma.compress(v, format=lzma.FORMAT_ALONE) + sz(v)), 9))
    put("bzimage", "vmlinux-pvh", sized(v, 1))
    put("bzimage", "vmlinux-64", sized(vmlinux(False), 5))
    put("bzimage", "old-protocol", sized(bzimage(b"\x1f\x8b", version=0x20b), 0))
    for tool, args, name in [("lz4", ["-l", "-9", "-c"], "lz4-vmlinux"), ("zstd", ["-19", "-c", "-q"], "zstd-vmlinux")]:
        if shutil.which(tool):
            c = subprocess.run([tool] + args, input=v, stdout=subprocess.PIPE, check=True).stdout
            put("bzimage", name, sized(bzimage(c + sz(v)), 1))


def seeds_platform():
    """fuzz_platform: machine (CPUs - 1, time, RAM below 4 GiB / 4 KiB, above / 4 KiB), then
    operations [device % 7, flags (width 1 << (f & 3), bit 2 write, bit 7 u64 offset), offset, 8 value bytes]."""
    def machine(cpus, t, below, above):
        return bytes([cpus - 1]) + struct.pack("<q", t) + struct.pack("<I", below >> 12) + \
            struct.pack("<Q", above >> 12)[:5]

    def op(dev, width, write, off, val, extra=b""):
        f = {1: 0, 2: 1, 4: 2, 8: 3}[width] | (4 if write else 0)
        return bytes([dev, f]) + struct.pack("<H", off) + struct.pack("<Q", val) + extra

    fw = op(0, 2, True, 0, 0x0019, b"\x00")  # select the file directory (a port access)
    fw += b"".join(op(0, 1, False, 1, 0, b"\x00") for _ in range(72))
    fw += op(0, 4, True, 0, 0x0042, bytes([240, 8]) + b"opt/blob")  # add a file
    fw += op(0, 2, True, 0, 0xffff, b"\x00") + op(0, 1, False, 1, 0, b"\x00")
    put("platform", "fw_cfg-dir", machine(3, 1796132707, 64 * MIB, 0) + fw)
    cmos = b"".join(op(4, 1, True, 0, i) + op(4, 1, False, 1, 0) for i in range(0x60))
    cmos += op(4, 2, True, 0, 0x060b) + op(4, 1, False, 1, 0)
    put("platform", "cmos-all", machine(2, 1709164859, 3 * GIB, 2 * GIB) + cmos)
    s5 = (5 << 10) | (1 << 13)
    pm = op(5, 2, True, 0, s5 | (1 << 56)) + op(5, 4, False, 0, 2 << 56) + op(5, 1, True, 0, 0x34 | (3 << 56))
    put("platform", "acpi-s5", machine(1, 0, 64 * MIB, 0) + pm)
    misc = op(1, 4, True, 0, 0x12345678) + op(1, 1, True, 2, 0xab) + op(1, 2, False, 3, 0)
    misc += op(2, 8, True, 0xfffc, 0x1122334455667788) + op(2, 4, True, 0x100, 0xffffffff)
    misc += op(3, 4, True, 0, 0x80000000) + op(3, 4, False, 4, 0) + op(3, 1, True, 1, 6)
    misc += b"".join(op(6, 1, True, 0, c) for c in b"ShutShutdown")
    put("platform", "testdev-pci-shutdown", machine(4, -3600, 2 * MIB, 0) + misc)


if __name__ == "__main__":
    seeds_elf()
    seeds_boot()
    seeds_cli()
    seeds_size()
    seeds_bus()
    seeds_guestmem()
    seeds_bzimage()
    seeds_platform()
