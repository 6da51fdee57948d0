/* test_insn.c - unit tests for the host-quirk instruction fallback: decoder, each instruction and
 * its faults. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "arch/x86/insn.h"
#include "tap.h"

/*
 * Fake guest memory, by linear address: NPAGES pages from MEM_BASE, each
 * absent, read-only, read-write or "refused" (the op returns -EPERM, as the
 * caller's ops do for a write onto a page-table page). Like the caller's ops,
 * every page of an access is checked before any byte moves, and a fault
 * reports the first byte of the faulting page (or the access's start).
 */
#define MEM_BASE 0x10000ull
#define PAGE 0x1000ull
#define NPAGES 4
enum perm { ABSENT, RO, RW, REFUSE };

#define PF_P 1u
#define PF_W 2u
#define PF_U 4u

static struct {
	uint8_t data[NPAGES * PAGE];
	enum perm perm[NPAGES];
	unsigned cpl;
	unsigned reads, writes, cmpxchgs;
} mem;

static void mem_reset(void)
{
	memset(&mem, 0, sizeof(mem));
	mem.perm[0] = RW;
	mem.perm[1] = RW;
	mem.perm[2] = RO;
	mem.perm[3] = ABSENT;
}

static int mem_check(uint64_t linear, unsigned len, bool write, struct insn_fault *f)
{
	uint64_t end;

	if (__builtin_add_overflow(linear, (uint64_t)len, &end))
		end = ~0ull;
	for (uint64_t p = linear & ~(PAGE - 1); p < end; p += PAGE) {
		enum perm pm = ABSENT;
		uint32_t ec = (write ? PF_W : 0) | (mem.cpl == 3 ? PF_U : 0);

		if (p >= MEM_BASE && p - MEM_BASE < NPAGES * PAGE)
			pm = mem.perm[(p - MEM_BASE) / PAGE];
		if (pm == REFUSE)
			return -EPERM;
		if (pm == ABSENT || (pm == RO && write)) {
			*f = (struct insn_fault){.vector = INSN_VEC_PF,
						 .has_error_code = true,
						 .error_code = ec | (pm == RO ? PF_P : 0),
						 .addr = p > linear ? p : linear};
			return INSN_OPS_FAULT;
		}
		if (p + PAGE < p)
			break;
	}
	return 0;
}

static uint8_t *host(uint64_t linear)
{
	return mem.data + (linear - MEM_BASE);
}

static int op_read(void *ctx, uint64_t linear, void *buf, unsigned len, struct insn_fault *f)
{
	int r = mem_check(linear, len, false, f);

	mem.reads++;
	if (r == 0)
		memcpy(buf, host(linear), len);
	return r;
}

static int op_write(void *ctx, uint64_t linear, const void *buf, unsigned len, struct insn_fault *f)
{
	int r = mem_check(linear, len, true, f);

	mem.writes++;
	if (r == 0)
		memcpy(host(linear), buf, len);
	return r;
}

static int op_cmpxchg(void *ctx, uint64_t linear, void *old, const void *new, unsigned len,
		      struct insn_fault *f)
{
	int r = mem_check(linear, len, true, f);
	uint8_t cur[16];

	mem.cmpxchgs++;
	if (r != 0)
		return r;
	memcpy(cur, host(linear), len);
	if (memcmp(cur, old, len) == 0)
		memcpy(host(linear), new, len);
	memcpy(old, cur, len);
	return 0;
}

static const struct insn_ops ops = {op_read, op_write, op_cmpxchg};

#define RIP0 0x401000ull

/* A 64-bit CPL0 vCPU with every feature and the control bits a Linux guest sets. */
static struct insn_cpu cpu64(void)
{
	struct insn_cpu c = {0};

	c.rip = RIP0;
	c.rflags = 2;
	c.cr0 = INSN_CR0_PE | INSN_CR0_MP | (1ull << 31);
	c.cr4 = INSN_CR4_OSFXSR | INSN_CR4_OSXSAVE | INSN_CR4_SMAP | INSN_CR4_PCIDE | (1ull << 5);
	c.efer = 0xd01;
	c.xcr0 = 0x200000007ull;
	c.long_mode = c.cs_l = true;
	c.mxcsr = 0x1f80;
	c.features = INSN_F_ALL;
	for (unsigned i = 0; i < 16; i++)
		c.gpr[i] = 0x1111111111111111ull * i;
	return c;
}

/* A 32-bit protected-mode vCPU (no long mode). */
static struct insn_cpu cpu32(void)
{
	struct insn_cpu c = cpu64();

	c.long_mode = c.cs_l = false;
	c.cs_db = true;
	c.cr4 &= ~INSN_CR4_PCIDE;
	for (unsigned i = 0; i < 16; i++)
		c.gpr[i] &= 0xffffffffull;
	return c;
}

static struct insn_result res;

static enum insn_outcome run(struct insn_cpu *c, const char *bytes, unsigned n)
{
	mem.cpl = c->cpl;
	return insn_emulate(c, &ops, NULL, (const uint8_t *)bytes, n, &res);
}

#define RUN(c, lit) run((c), (lit), (unsigned)sizeof(lit) - 1)

/* DONE, with rip advanced by len and no register but those the caller allows changed. */
static int done(enum insn_outcome o, const struct insn_cpu *before, const struct insn_cpu *after,
		unsigned len, enum insn_id id, const char *what)
{
	int ok = TAP_EQ_INT(o, INSN_DONE, "%s: done (%s)", what, res.why);

	ok &= TAP_EQ_U64(after->rip, before->rip + len, "%s: rip advanced by %u", what, len);
	ok &= TAP_EQ_INT(res.len, len, "%s: length %u", what, len);
	ok &=
	    TAP_EQ_STR(insn_name(res.id), insn_name(id), "%s: decoded as %s", what, insn_name(id));
	return ok;
}

/* A fault: vector (and error code), and the vCPU left exactly as it was. */
static int faulted(enum insn_outcome o, const struct insn_cpu *before, const struct insn_cpu *after,
		   unsigned vector, int ec, const char *what)
{
	int ok = TAP_EQ_INT(o, INSN_EXCEPTION, "%s: exception", what);

	ok &= TAP_EQ_INT(res.exc.vector, vector, "%s: vector %u", what, vector);
	ok &= TAP_EQ_INT(res.exc.kind, INSN_EXC_FAULT, "%s: a fault", what);
	if (ec >= 0)
		ok &= TAP_OK(res.exc.has_error_code && res.exc.error_code == (uint32_t)ec,
			     "%s: error code %#x", what, ec);
	else
		ok &= TAP_OK(!res.exc.has_error_code, "%s: no error code", what);
	ok &= TAP_OK(memcmp(before, after, sizeof(*before)) == 0, "%s: vCPU unchanged", what);
	return ok;
}

static void test_names(void)
{
	const char *seen[INSN_ID_COUNT];
	int distinct = 1;

	for (unsigned i = 1; i < INSN_ID_COUNT; i++) {
		seen[i] = insn_name((enum insn_id)i);
		for (unsigned j = 1; j < i; j++)
			if (strcmp(seen[i], seen[j]) == 0)
				distinct = 0;
		if (!TAP_OK(seen[i] && strcmp(seen[i], "unknown") != 0, "insn_name(%u) is named",
			    i))
			return;
	}
	TAP_OK(distinct, "every instruction has its own name");
	TAP_EQ_STR(insn_name(INSN_ID_NONE), "unknown", "insn_name(NONE)");
	TAP_EQ_STR(insn_name(INSN_ID_COUNT), "unknown", "insn_name(out of range)");
	TAP_EQ_STR(insn_name((enum insn_id) - 1), "unknown", "insn_name(-1)");
	TAP_EQ_STR(insn_name(INSN_ID_CMPXCHG16B), "cmpxchg16b", "cmpxchg16b's name");
}

static void test_clac_stac(void)
{
	struct insn_cpu c = cpu64(), b;

	c.rflags |= INSN_RFLAGS_AC | INSN_RFLAGS_RF;
	b = c;
	done(RUN(&c, "\x0f\x01\xca"), &b, &c, 3, INSN_ID_CLAC, "clac");
	TAP_EQ_U64(c.rflags, 2, "clac clears AC (and RF), nothing else");
	TAP_EQ_INT(res.side, 0, "clac: no side effect");
	b = c;
	done(RUN(&c, "\x0f\x01\xcb"), &b, &c, 3, INSN_ID_STAC, "stac");
	TAP_EQ_U64(c.rflags, 2 | INSN_RFLAGS_AC, "stac sets AC");

	c = cpu64();
	c.cpl = 3;
	b = c;
	faulted(RUN(&c, "\x0f\x01\xca"), &b, &c, INSN_VEC_UD, -1, "clac at CPL3");
	faulted(RUN(&c, "\x0f\x01\xcb"), &b, &c, INSN_VEC_UD, -1, "stac at CPL3");
	c = cpu64();
	c.features &= ~INSN_F_SMAP;
	b = c;
	faulted(RUN(&c, "\x0f\x01\xca"), &b, &c, INSN_VEC_UD, -1, "clac without SMAP");
	c = cpu64();
	b = c;
	faulted(RUN(&c, "\xf0\x0f\x01\xca"), &b, &c, INSN_VEC_UD, -1, "lock clac");
	TAP_EQ_INT(RUN(&c, "\xf3\x0f\x01\xca"), INSN_UNKNOWN, "f3 0f 01 ca (not clac) is unknown");
	TAP_STR_CONTAINS(res.why, "f3 0f 01 ca", "the reason shows the bytes");
	TAP_EQ_INT(RUN(&c, "\x66\x0f\x01\xca"), INSN_UNKNOWN, "66 0f 01 ca is unknown");
	TAP_EQ_INT(RUN(&c, "\x0f\x01\xc8"), INSN_UNKNOWN, "monitor (0f 01 c8) is unknown");
	TAP_OK(memcmp(&b, &c, sizeof(b)) == 0, "unknown instructions leave the vCPU alone");

	/* Single step: the instruction completes, the caller owes a #DB. */
	c = cpu64();
	c.rflags |= INSN_RFLAGS_TF;
	b = c;
	done(RUN(&c, "\x0f\x01\xcb"), &b, &c, 3, INSN_ID_STAC, "stac with TF");
	TAP_EQ_INT(res.side, INSN_SIDE_SINGLE_STEP, "TF set: single-step side effect");

	/* Real mode: CPL 0, 16-bit, still fine; RIP wraps at 64 KiB. */
	c = cpu64();
	c.long_mode = c.cs_l = c.cs_db = false;
	c.cr0 = 0;
	c.rip = 0xfffe;
	TAP_EQ_INT(RUN(&c, "\x0f\x01\xca"), INSN_DONE, "clac in real mode");
	TAP_EQ_U64(c.rip, 1, "16-bit IP wraps");
}

static void test_popcnt(void)
{
	struct insn_cpu c = cpu64(), b;
	const uint64_t all = INSN_RFLAGS_CF | INSN_RFLAGS_PF | INSN_RFLAGS_AF | INSN_RFLAGS_ZF |
			     INSN_RFLAGS_SF | INSN_RFLAGS_OF;

	mem_reset();
	c.gpr[INSN_RCX] = 0xffffffff0000000full;
	c.gpr[INSN_RAX] = 0xdeadbeefdeadbeefull;
	c.rflags |= all;
	b = c;
	done(RUN(&c, "\xf3\x0f\xb8\xc1"), &b, &c, 4, INSN_ID_POPCNT, "popcnt eax, ecx");
	TAP_EQ_U64(c.gpr[INSN_RAX], 4, "32-bit count, zero-extended");
	TAP_EQ_U64(c.rflags, 2, "every flag cleared for a non-zero source");

	c = b;
	done(RUN(&c, "\xf3\x48\x0f\xb8\xc1"), &b, &c, 5, INSN_ID_POPCNT, "popcnt rax, rcx");
	TAP_EQ_U64(c.gpr[INSN_RAX], 36, "REX.W: 64-bit count");
	c = b;
	done(RUN(&c, "\x66\xf3\x0f\xb8\xc1"), &b, &c, 5, INSN_ID_POPCNT, "popcnt ax, cx");
	TAP_EQ_U64(c.gpr[INSN_RAX], 0xdeadbeefdead0004ull, "16-bit count keeps bits 63:16");
	c = b;
	done(RUN(&c, "\x48\xf3\x0f\xb8\xc1"), &b, &c, 5, INSN_ID_POPCNT, "REX before f3");
	TAP_EQ_U64(c.gpr[INSN_RAX], 4, "a REX followed by a prefix is ignored: 32-bit");
	c = b;
	c.gpr[INSN_R9] = 0x8000000000000001ull;
	done(RUN(&c, "\xf3\x4d\x0f\xb8\xc1"), &b, &c, 5, INSN_ID_POPCNT, "popcnt r8, r9");
	TAP_EQ_U64(c.gpr[INSN_R8], 2, "REX.R and REX.B pick r8 and r9");

	c = b;
	c.gpr[INSN_RCX] = 0xffffffff00000000ull;
	done(RUN(&c, "\xf3\x0f\xb8\xc1"), &b, &c, 4, INSN_ID_POPCNT, "popcnt of a zero ecx");
	TAP_EQ_U64(c.gpr[INSN_RAX], 0, "count 0");
	TAP_EQ_U64(c.rflags, 2 | INSN_RFLAGS_ZF, "ZF alone set for a zero source");

	/* Memory: rip-relative, then across a page boundary, then into an absent page. */
	c = b;
	c.rip = MEM_BASE + 0x100 - 8; /* next rip = MEM_BASE + 0x100 */
	memcpy(host(MEM_BASE + 0x180), "\xff\x00\x01\x00", 4);
	b = c;
	done(RUN(&c, "\xf3\x0f\xb8\x05\x80\x00\x00\x00"), &b, &c, 8, INSN_ID_POPCNT,
	     "popcnt eax, [rip+0x80]");
	TAP_EQ_U64(c.gpr[INSN_RAX], 9, "rip-relative operand read after the instruction");
	c = b;
	c.rip = MEM_BASE + 0x100 - 9;
	TAP_EQ_INT(RUN(&c, "\x67\xf3\x0f\xb8\x05\x80\x00\x00\x00"), INSN_DONE, "67: eip-relative");
	TAP_EQ_U64(c.gpr[INSN_RAX], 9, "same operand");

	c = cpu64();
	memset(host(MEM_BASE + PAGE - 4), 0xff, 8);
	c.gpr[INSN_RSI] = MEM_BASE + PAGE - 4;
	b = c;
	done(RUN(&c, "\xf3\x48\x0f\xb8\x06"), &b, &c, 5, INSN_ID_POPCNT, "popcnt across pages");
	TAP_EQ_U64(c.gpr[INSN_RAX], 64, "all 8 bytes read across the boundary");
	c.gpr[INSN_RSI] = MEM_BASE + 3 * PAGE - 4;
	b = c;
	faulted(RUN(&c, "\xf3\x48\x0f\xb8\x06"), &b, &c, INSN_VEC_PF, 0,
		"popcnt into an absent page");
	TAP_EQ_U64(res.exc.cr2, MEM_BASE + 3 * PAGE, "cr2 is the second page's first byte");

	c = cpu64();
	b = c;
	faulted(RUN(&c, "\xf0\xf3\x0f\xb8\xc1"), &b, &c, INSN_VEC_UD, -1, "lock popcnt");
	c.features &= ~INSN_F_POPCNT;
	b = c;
	faulted(RUN(&c, "\xf3\x0f\xb8\xc1"), &b, &c, INSN_VEC_UD, -1, "popcnt without POPCNT");
	TAP_EQ_INT(RUN(&c, "\x0f\xb8\xc1"), INSN_UNKNOWN, "0f b8 without f3 (jmpe) is unknown");
	TAP_EQ_INT(RUN(&c, "\xf2\x0f\xb8\xc1"), INSN_UNKNOWN, "f2 0f b8 is unknown");
}

static void test_truncated(void)
{
	struct insn_cpu c = cpu64(), b = c;
	struct insn d;
	char p15[16];

	TAP_EQ_INT(run(&c, "\xf3\x0f\xb8", 3), INSN_UNKNOWN, "popcnt without its ModRM");
	TAP_STR_CONTAINS(res.why, "end inside", "reason: bytes end inside the instruction");
	TAP_EQ_INT(res.len, 0, "no length for an undecoded instruction");
	TAP_EQ_INT(run(&c, "\xf3\x0f\xb8\x05\x11\x22", 6), INSN_UNKNOWN,
		   "popcnt with half a disp32");
	TAP_EQ_INT(run(&c, "\xcd", 1), INSN_UNKNOWN, "int without its immediate");
	TAP_EQ_INT(run(&c, "\x0f\x01", 2), INSN_UNKNOWN, "0f 01 without ModRM");
	TAP_EQ_INT(run(&c, "", 0), INSN_UNKNOWN, "no bytes at all");
	TAP_EQ_INT(run(&c, "\x66\x66", 2), INSN_UNKNOWN, "prefixes only");
	TAP_OK(memcmp(&b, &c, sizeof(b)) == 0, "truncated input changes nothing");
	TAP_EQ_INT(insn_decode((const uint8_t *)"\x0f\xae\x14", 3, &c, &d), INSN_DEC_TRUNCATED,
		   "decoder: SIB missing");
	TAP_EQ_INT(d.len, 3, "decoder: bytes consumed");

	/* 14 prefixes and a one-byte opcode is 15 bytes: fine. One more prefix is #GP(0). */
	memset(p15, 0x3e, sizeof(p15));
	p15[14] = (char)0x9b;
	done(run(&c, p15, 15), &b, &c, 15, INSN_ID_FWAIT, "15-byte fwait");
	c = b;
	p15[14] = 0x3e;
	faulted(run(&c, p15, 15), &b, &c, INSN_VEC_GP, 0, "16-byte instruction");
	TAP_EQ_INT(insn_decode((const uint8_t *)p15, 15, &c, &d), INSN_DEC_TOO_LONG,
		   "decoder: too long");
	p15[15] = (char)0x9b;
	TAP_EQ_INT(run(&c, p15, 16), INSN_EXCEPTION, "n > 15 is cut at 15");
}

static void test_fwait_int(void)
{
	struct insn_cpu c = cpu64(), b = c;

	done(RUN(&c, "\x9b"), &b, &c, 1, INSN_ID_FWAIT, "fwait");
	c = b;
	c.cr0 |= INSN_CR0_TS;
	b = c;
	faulted(RUN(&c, "\x9b"), &b, &c, INSN_VEC_NM, -1, "fwait with MP and TS");
	c.cr0 &= ~INSN_CR0_MP;
	b = c;
	done(RUN(&c, "\x9b"), &b, &c, 1, INSN_ID_FWAIT, "fwait with TS alone");
	c = b;
	faulted(RUN(&c, "\xf0\x9b"), &b, &c, INSN_VEC_UD, -1, "lock fwait");

	c = cpu64();
	TAP_EQ_INT(RUN(&c, "\xcc"), INSN_EXCEPTION, "int3");
	TAP_OK(res.exc.kind == INSN_EXC_SOFT && res.exc.vector == INSN_VEC_BP &&
		   !res.exc.has_error_code,
	       "int3: #BP, a software exception without error code");
	TAP_EQ_U64(c.rip, RIP0 + 1, "int3 is a trap: rip after the cc");
	TAP_EQ_INT(res.len, 1, "int3 length");
	TAP_EQ_STR(insn_name(res.id), "int3", "int3 named for the profiler");

	c = cpu64();
	TAP_EQ_INT(RUN(&c, "\xcd\x80"), INSN_EXCEPTION, "int 0x80");
	TAP_OK(res.exc.kind == INSN_EXC_SOFT_INT && res.exc.vector == 0x80,
	       "int 0x80: software interrupt 0x80");
	TAP_EQ_U64(c.rip, RIP0 + 2, "int n: rip after the instruction");
	c = cpu64();
	TAP_EQ_INT(RUN(&c, "\xcd\x03"), INSN_EXCEPTION, "int 3 (cd 03)");
	TAP_EQ_INT(res.exc.kind, INSN_EXC_SOFT_INT, "cd 03 is a software interrupt, not int3");
	c = cpu64();
	b = c;
	faulted(RUN(&c, "\xf0\xcd\x80"), &b, &c, INSN_VEC_UD, -1, "lock int");

	c = cpu64();
	c.rflags |= INSN_RFLAGS_OF;
	b = c;
	faulted(RUN(&c, "\xce"), &b, &c, INSN_VEC_UD, -1, "into in 64-bit mode");
	c = cpu32();
	c.rflags |= INSN_RFLAGS_OF;
	TAP_EQ_INT(RUN(&c, "\xce"), INSN_EXCEPTION, "into with OF (32-bit)");
	TAP_OK(res.exc.kind == INSN_EXC_SOFT && res.exc.vector == INSN_VEC_OF, "into: #OF, soft");
	TAP_EQ_U64(c.rip, RIP0 + 1, "into is a trap");
	c = cpu32();
	b = c;
	done(RUN(&c, "\xce"), &b, &c, 1, INSN_ID_INTO, "into without OF");
}

static void test_mxcsr(void)
{
	struct insn_cpu c = cpu64(), b;
	uint32_t v;

	mem_reset();
	c.gpr[INSN_RAX] = MEM_BASE + 0x40;
	memcpy(host(MEM_BASE + 0x40), "\xa0\x1f\x00\x00", 4);
	b = c;
	done(RUN(&c, "\x0f\xae\x10"), &b, &c, 3, INSN_ID_LDMXCSR, "ldmxcsr [rax]");
	TAP_EQ_U64(c.mxcsr, 0x1fa0, "mxcsr loaded");
	TAP_EQ_INT(res.side, INSN_SIDE_MXCSR, "ldmxcsr: the caller sets the FPU state");

	c = cpu64();
	c.gpr[INSN_RAX] = MEM_BASE + 0x40;
	memcpy(host(MEM_BASE + 0x40), "\x80\x1f\x01\x00", 4);
	b = c;
	faulted(RUN(&c, "\x0f\xae\x10"), &b, &c, INSN_VEC_GP, 0, "ldmxcsr with bit 16 set");
	memcpy(host(MEM_BASE + 0x40), "\xc0\x1f\x00\x00", 4);
	faulted(RUN(&c, "\x0f\xae\x10"), &b, &c, INSN_VEC_GP, 0, "ldmxcsr DAZ, default mask");
	c.mxcsr_mask = 0xffff;
	b = c;
	done(RUN(&c, "\x0f\xae\x10"), &b, &c, 3, INSN_ID_LDMXCSR, "ldmxcsr DAZ, mask 0xffff");
	TAP_EQ_U64(c.mxcsr, 0x1fc0, "DAZ loaded");

	c = cpu64();
	c.gpr[INSN_RAX] = MEM_BASE + 0x40;
	c.cr4 &= ~INSN_CR4_OSFXSR;
	b = c;
	faulted(RUN(&c, "\x0f\xae\x10"), &b, &c, INSN_VEC_UD, -1, "ldmxcsr without CR4.OSFXSR");
	c = b;
	c.cr4 |= INSN_CR4_OSFXSR;
	c.cr0 |= INSN_CR0_EM;
	b = c;
	faulted(RUN(&c, "\x0f\xae\x10"), &b, &c, INSN_VEC_UD, -1, "ldmxcsr with CR0.EM");
	c.cr0 &= ~INSN_CR0_EM;
	c.cr0 |= INSN_CR0_TS;
	b = c;
	faulted(RUN(&c, "\x0f\xae\x10"), &b, &c, INSN_VEC_NM, -1, "ldmxcsr with CR0.TS");
	c = cpu64();
	c.gpr[INSN_RAX] = MEM_BASE + 3 * PAGE + 8;
	b = c;
	faulted(RUN(&c, "\x0f\xae\x10"), &b, &c, INSN_VEC_PF, 0, "ldmxcsr from an absent page");
	TAP_EQ_U64(res.exc.cr2, MEM_BASE + 3 * PAGE + 8, "cr2 from the op");
	c.gpr[INSN_RAX] = 0x0000800000000000ull;
	b = c;
	faulted(RUN(&c, "\x0f\xae\x10"), &b, &c, INSN_VEC_GP, 0, "ldmxcsr, non-canonical");
	c.gpr[INSN_RSP] = 0x0000800000000000ull;
	b = c;
	faulted(RUN(&c, "\x0f\xae\x14\x24"), &b, &c, INSN_VEC_SS, 0,
		"ldmxcsr [rsp], non-canonical");
	c.cr4 |= INSN_CR4_LA57;
	c.gpr[INSN_RAX] = MEM_BASE + 0x40;
	c.gpr[INSN_RSP] = 0x0000800000000000ull; /* canonical with 57 bits, not RAM: #PF */
	b = c;
	faulted(RUN(&c, "\x0f\xae\x14\x24"), &b, &c, INSN_VEC_PF, 0, "LA57: canonical, so #PF");
	c = cpu64();
	b = c;
	faulted(RUN(&c, "\xf0\x0f\xae\x10"), &b, &c, INSN_VEC_UD, -1, "lock ldmxcsr");
	TAP_EQ_INT(RUN(&c, "\x66\x0f\xae\x10"), INSN_UNKNOWN, "66 0f ae /2 is unknown");
	TAP_EQ_INT(RUN(&c, "\xc5\xf8\xae\x10"), INSN_UNKNOWN, "vldmxcsr (VEX) is unknown");

	/* stmxcsr: written only when every check passed. */
	c = cpu64();
	c.mxcsr = 0x1f80;
	c.gpr[INSN_RBX] = MEM_BASE + 0x80;
	b = c;
	done(RUN(&c, "\x0f\xae\x1b"), &b, &c, 3, INSN_ID_STMXCSR, "stmxcsr [rbx]");
	memcpy(&v, host(MEM_BASE + 0x80), 4);
	TAP_EQ_U64(v, 0x1f80, "mxcsr stored");
	c.gpr[INSN_RBX] = MEM_BASE + 2 * PAGE + 0x10;
	b = c;
	faulted(RUN(&c, "\x0f\xae\x1b"), &b, &c, INSN_VEC_PF, PF_P | PF_W,
		"stmxcsr to a read-only page");
	c.gpr[INSN_RBX] = MEM_BASE + 2 * PAGE - 2;
	memset(host(MEM_BASE + 2 * PAGE - 2), 0, 2);
	b = c;
	faulted(RUN(&c, "\x0f\xae\x1b"), &b, &c, INSN_VEC_PF, PF_P | PF_W,
		"stmxcsr across into read-only");
	TAP_EQ_U64(res.exc.cr2, MEM_BASE + 2 * PAGE, "cr2 on the second page");
	TAP_OK(host(MEM_BASE + 2 * PAGE - 2)[0] == 0, "nothing written on the first page");
	c = cpu64();
	c.cpl = 3;
	c.gpr[INSN_RBX] = MEM_BASE + 3 * PAGE;
	b = c;
	faulted(RUN(&c, "\x0f\xae\x1b"), &b, &c, INSN_VEC_PF, PF_W | PF_U,
		"stmxcsr at CPL3, absent page");
	mem.perm[1] = REFUSE;
	c.gpr[INSN_RBX] = MEM_BASE + PAGE;
	b = c;
	TAP_EQ_INT(RUN(&c, "\x0f\xae\x1b"), INSN_ERROR, "stmxcsr onto a refused page");
	TAP_EQ_INT(res.err, -EPERM, "the op's errno");
	TAP_STR_CONTAINS(res.why, "refused", "the reason says refused");
	TAP_STR_CONTAINS(res.why, "stmxcsr", "the reason names the instruction");
	TAP_OK(memcmp(&b, &c, sizeof(b)) == 0, "refusal leaves the vCPU alone");
	mem_reset();
}

static void test_xgetbv(void)
{
	struct insn_cpu c = cpu64(), b;

	c.gpr[INSN_RCX] = 0xffffffff00000000ull; /* ECX = 0: bits 63:32 are ignored */
	b = c;
	done(RUN(&c, "\x0f\x01\xd0"), &b, &c, 3, INSN_ID_XGETBV, "xgetbv 0");
	TAP_EQ_U64(c.gpr[INSN_RAX], 7, "eax = xcr0[31:0], zero-extended");
	TAP_EQ_U64(c.gpr[INSN_RDX], 2, "edx = xcr0[63:32]");
	c = cpu64();
	c.gpr[INSN_RCX] = 1;
	c.xinuse = 0x3;
	b = c;
	done(RUN(&c, "\x0f\x01\xd0"), &b, &c, 3, INSN_ID_XGETBV, "xgetbv 1");
	TAP_EQ_U64(c.gpr[INSN_RAX], 3, "XINUSE");
	c = cpu64();
	c.gpr[INSN_RCX] = 1;
	c.features &= ~INSN_F_XGETBV1;
	b = c;
	faulted(RUN(&c, "\x0f\x01\xd0"), &b, &c, INSN_VEC_GP, 0, "xgetbv 1 without XGETBV1");
	c.gpr[INSN_RCX] = 2;
	b = c;
	faulted(RUN(&c, "\x0f\x01\xd0"), &b, &c, INSN_VEC_GP, 0, "xgetbv 2");
	c = cpu64();
	c.cr4 &= ~INSN_CR4_OSXSAVE;
	c.gpr[INSN_RCX] = 0;
	b = c;
	faulted(RUN(&c, "\x0f\x01\xd0"), &b, &c, INSN_VEC_UD, -1, "xgetbv without CR4.OSXSAVE");
	c = cpu64();
	c.gpr[INSN_RCX] = 0;
	b = c;
	faulted(RUN(&c, "\xf0\x0f\x01\xd0"), &b, &c, INSN_VEC_UD, -1, "lock xgetbv");
	c.cpl = 3;
	b = c;
	done(RUN(&c, "\x0f\x01\xd0"), &b, &c, 3, INSN_ID_XGETBV, "xgetbv at CPL3 is allowed");
}

static void test_cmpxchg(void)
{
	struct insn_cpu c = cpu64(), b;
	uint64_t m[2];

	mem_reset();
	c.gpr[INSN_RSI] = MEM_BASE + 0x100;
	c.gpr[INSN_RAX] = 0xa0;
	c.gpr[INSN_RDX] = 0xd0;
	c.gpr[INSN_RBX] = 0xb0;
	c.gpr[INSN_RCX] = 0xc0;
	m[0] = 0xa0;
	m[1] = 0xd0;
	memcpy(host(MEM_BASE + 0x100), m, 16);
	b = c;
	done(RUN(&c, "\xf0\x48\x0f\xc7\x0e"), &b, &c, 5, INSN_ID_CMPXCHG16B,
	     "lock cmpxchg16b, equal");
	memcpy(m, host(MEM_BASE + 0x100), 16);
	TAP_OK(m[0] == 0xb0 && m[1] == 0xc0, "rcx:rbx stored");
	TAP_OK(c.rflags & INSN_RFLAGS_ZF, "ZF set");
	TAP_OK(c.gpr[INSN_RAX] == 0xa0 && c.gpr[INSN_RDX] == 0xd0, "rdx:rax unchanged");
	TAP_EQ_INT(mem.cmpxchgs, 1, "through ops->cmpxchg");

	b = c;
	done(RUN(&c, "\xf0\x48\x0f\xc7\x0e"), &b, &c, 5, INSN_ID_CMPXCHG16B, "cmpxchg16b, unequal");
	TAP_OK(!(c.rflags & INSN_RFLAGS_ZF), "ZF clear");
	TAP_OK(c.gpr[INSN_RAX] == 0xb0 && c.gpr[INSN_RDX] == 0xc0, "rdx:rax loaded from memory");
	memcpy(m, host(MEM_BASE + 0x100), 16);
	TAP_OK(m[0] == 0xb0 && m[1] == 0xc0, "memory unchanged");

	c = b;
	c.gpr[INSN_RSI] += 8;
	b = c;
	mem.cmpxchgs = 0;
	faulted(RUN(&c, "\xf0\x48\x0f\xc7\x0e"), &b, &c, INSN_VEC_GP, 0, "cmpxchg16b misaligned");
	TAP_EQ_INT(mem.cmpxchgs, 0, "no access when misaligned");
	c.gpr[INSN_RSI] = MEM_BASE + 2 * PAGE;
	b = c;
	faulted(RUN(&c, "\x48\x0f\xc7\x0e"), &b, &c, INSN_VEC_PF, PF_P | PF_W,
		"cmpxchg16b, read-only page");
	TAP_EQ_U64(res.exc.cr2, MEM_BASE + 2 * PAGE, "cr2");
	c = cpu64();
	c.features &= ~INSN_F_CX16;
	c.gpr[INSN_RSI] = MEM_BASE;
	b = c;
	faulted(RUN(&c, "\xf0\x48\x0f\xc7\x0e"), &b, &c, INSN_VEC_UD, -1,
		"cmpxchg16b without CX16");
	TAP_EQ_INT(RUN(&c, "\xf0\x48\x0f\xc7\xce"), INSN_UNKNOWN,
		   "cmpxchg16b with a register: unknown");

	/* cmpxchg8b, 64-bit mode: a failed compare writes EDX:EAX, zero-extending. */
	c = cpu64();
	c.gpr[INSN_RDI] = MEM_BASE + 0x204; /* 8-byte operands need no alignment */
	c.gpr[INSN_RAX] = 0xffffffff00000001ull;
	c.gpr[INSN_RDX] = 0xffffffff00000002ull;
	c.gpr[INSN_RBX] = 0x33;
	c.gpr[INSN_RCX] = 0x44;
	memcpy(host(MEM_BASE + 0x204), "\x01\0\0\0\x02\0\0\0", 8);
	b = c;
	done(RUN(&c, "\xf0\x0f\xc7\x0f"), &b, &c, 4, INSN_ID_CMPXCHG8B, "lock cmpxchg8b, equal");
	TAP_OK(memcmp(host(MEM_BASE + 0x204), "\x33\0\0\0\x44\0\0\0", 8) == 0, "ecx:ebx stored");
	TAP_OK(c.rflags & INSN_RFLAGS_ZF, "ZF set");
	TAP_EQ_U64(c.gpr[INSN_RAX], 0xffffffff00000001ull, "rax untouched on success");
	b = c;
	done(RUN(&c, "\x0f\xc7\x0f"), &b, &c, 3, INSN_ID_CMPXCHG8B, "cmpxchg8b, unequal");
	TAP_EQ_U64(c.gpr[INSN_RAX], 0x33, "eax loaded, zero-extended");
	TAP_EQ_U64(c.gpr[INSN_RDX], 0x44, "edx loaded, zero-extended");
	TAP_OK(!(c.rflags & INSN_RFLAGS_ZF), "ZF clear");

	c = cpu32();
	c.gpr[INSN_RDI] = MEM_BASE + 0x300;
	c.gpr[INSN_RAX] = 5;
	b = c;
	done(RUN(&c, "\x0f\xc7\x0f"), &b, &c, 3, INSN_ID_CMPXCHG8B, "cmpxchg8b in 32-bit mode");
	TAP_EQ_U64(c.gpr[INSN_RAX], 0, "32-bit: eax from memory");
	c = cpu32();
	TAP_EQ_INT(RUN(&c, "\x48\x0f\xc7\x0f"), INSN_UNKNOWN, "32-bit: 48 is dec eax, not REX");
	c = cpu32();
	c.gpr[INSN_RDI] = 0xfffffffcull;
	b = c;
	faulted(RUN(&c, "\x0f\xc7\x0f"), &b, &c, INSN_VEC_GP, 0, "32-bit: operand past 4 GiB");
	c = cpu64();
	c.gpr[INSN_RDI] = MEM_BASE + 2 * PAGE - 4;
	b = c;
	faulted(RUN(&c, "\xf0\x0f\xc7\x0f"), &b, &c, INSN_VEC_PF, PF_P | PF_W,
		"cmpxchg8b across into read-only");
	TAP_EQ_U64(res.exc.cr2, MEM_BASE + 2 * PAGE, "cr2 on the second page");
	c.features &= ~INSN_F_CX8;
	c.gpr[INSN_RDI] = MEM_BASE;
	b = c;
	faulted(RUN(&c, "\x0f\xc7\x0f"), &b, &c, INSN_VEC_UD, -1, "cmpxchg8b without CX8");
	mem_reset();
}

static void test_flush_fence(void)
{
	struct insn_cpu c = cpu64(), b;

	mem_reset();
	c.gpr[INSN_RSI] = MEM_BASE + 2 * PAGE + 0x40; /* read-only is readable */
	b = c;
	done(RUN(&c, "\x0f\xae\x3e"), &b, &c, 3, INSN_ID_CLFLUSH, "clflush [rsi]");
	TAP_EQ_INT(mem.reads, 1, "clflush checks the line is readable");
	c = b;
	done(RUN(&c, "\x66\x0f\xae\x3e"), &b, &c, 4, INSN_ID_CLFLUSHOPT, "clflushopt [rsi]");
	c = b;
	done(RUN(&c, "\x66\x0f\xae\x36"), &b, &c, 4, INSN_ID_CLWB, "clwb [rsi]");
	c = b;
	c.gpr[INSN_RSI] = MEM_BASE + 3 * PAGE + 0x40;
	b = c;
	faulted(RUN(&c, "\x66\x0f\xae\x36"), &b, &c, INSN_VEC_PF, 0, "clwb on an absent page");
	TAP_EQ_U64(res.exc.cr2, MEM_BASE + 3 * PAGE + 0x40, "cr2");
	faulted(RUN(&c, "\x0f\xae\x3e"), &b, &c, INSN_VEC_PF, 0, "clflush on an absent page");
	faulted(RUN(&c, "\xf0\x66\x0f\xae\x36"), &b, &c, INSN_VEC_UD, -1, "lock clwb");
	c.features &= ~INSN_F_CLWB;
	b = c;
	faulted(RUN(&c, "\x66\x0f\xae\x36"), &b, &c, INSN_VEC_UD, -1, "clwb without CLWB");
	TAP_EQ_INT(RUN(&c, "\x0f\xae\x36"), INSN_UNKNOWN, "0f ae /6 memory (xsaveopt) is unknown");
	TAP_EQ_INT(RUN(&c, "\xf3\x0f\xae\x3e"), INSN_UNKNOWN, "f3 0f ae /7 is unknown");

	c = cpu64();
	b = c;
	done(RUN(&c, "\x0f\xae\xe8"), &b, &c, 3, INSN_ID_LFENCE, "lfence");
	c = b;
	done(RUN(&c, "\x0f\xae\xf0"), &b, &c, 3, INSN_ID_MFENCE, "mfence");
	c = b;
	done(RUN(&c, "\x0f\xae\xf8"), &b, &c, 3, INSN_ID_SFENCE, "sfence");
	c = b;
	faulted(RUN(&c, "\xf0\x0f\xae\xf0"), &b, &c, INSN_VEC_UD, -1, "lock mfence");
	TAP_EQ_INT(RUN(&c, "\x66\x0f\xae\xf0"), INSN_UNKNOWN, "66 0f ae f0 (tpause) is unknown");
}

static void test_invpcid(void)
{
	struct insn_cpu c = cpu64(), b;
	uint64_t desc[2] = {5, 0xffffffff81234000ull};

	mem_reset();
	memcpy(host(MEM_BASE + 0x400), desc, 16);
	c.gpr[INSN_RSI] = MEM_BASE + 0x400;
	c.gpr[INSN_RAX] = INSN_INVPCID_ADDR;
	b = c;
	done(RUN(&c, "\x66\x0f\x38\x82\x06"), &b, &c, 5, INSN_ID_INVPCID, "invpcid rax, [rsi]");
	TAP_EQ_INT(res.side, INSN_SIDE_TLB_FLUSH, "TLB flush side effect");
	TAP_OK(res.invpcid.type == INSN_INVPCID_ADDR && res.invpcid.pcid == 5 &&
		   res.invpcid.addr == 0xffffffff81234000ull,
	       "type, PCID and address reported");
	c = b;
	c.gpr[INSN_R8] = INSN_INVPCID_ALL;
	done(RUN(&c, "\x66\x44\x0f\x38\x82\x06"), &b, &c, 6, INSN_ID_INVPCID, "invpcid r8, [rsi]");
	TAP_EQ_INT(res.invpcid.type, INSN_INVPCID_ALL, "REX.R: type from r8");

	c = b;
	c.cpl = 3;
	b = c;
	faulted(RUN(&c, "\x66\x0f\x38\x82\x06"), &b, &c, INSN_VEC_GP, 0, "invpcid at CPL3");
	c = cpu64();
	c.gpr[INSN_RSI] = MEM_BASE + 0x400;
	c.gpr[INSN_RAX] = 4;
	b = c;
	faulted(RUN(&c, "\x66\x0f\x38\x82\x06"), &b, &c, INSN_VEC_GP, 0, "invpcid type 4");
	c.gpr[INSN_RAX] = INSN_INVPCID_PCID;
	desc[0] = 0x1000;
	memcpy(host(MEM_BASE + 0x400), desc, 16);
	b = c;
	faulted(RUN(&c, "\x66\x0f\x38\x82\x06"), &b, &c, INSN_VEC_GP, 0,
		"invpcid, PCID bits 63:12 set");
	c.gpr[INSN_RAX] = INSN_INVPCID_ADDR;
	desc[0] = 1;
	desc[1] = 0x0000800000000000ull;
	memcpy(host(MEM_BASE + 0x400), desc, 16);
	b = c;
	faulted(RUN(&c, "\x66\x0f\x38\x82\x06"), &b, &c, INSN_VEC_GP, 0,
		"invpcid type 0, non-canonical");
	c.gpr[INSN_RAX] = INSN_INVPCID_ALL_GLOBAL;
	b = c;
	done(RUN(&c, "\x66\x0f\x38\x82\x06"), &b, &c, 5, INSN_ID_INVPCID,
	     "type 2 ignores the address");
	c = b;
	c.gpr[INSN_RAX] = INSN_INVPCID_PCID;
	c.cr4 &= ~INSN_CR4_PCIDE;
	b = c;
	faulted(RUN(&c, "\x66\x0f\x38\x82\x06"), &b, &c, INSN_VEC_GP, 0,
		"invpcid PCID 1 without PCIDE");
	desc[0] = 0;
	memcpy(host(MEM_BASE + 0x400), desc, 16);
	done(RUN(&c, "\x66\x0f\x38\x82\x06"), &b, &c, 5, INSN_ID_INVPCID, "PCID 0 without PCIDE");
	c = cpu64();
	c.gpr[INSN_RSI] = MEM_BASE + 3 * PAGE - 8;
	c.gpr[INSN_RAX] = INSN_INVPCID_ALL;
	b = c;
	faulted(RUN(&c, "\x66\x0f\x38\x82\x06"), &b, &c, INSN_VEC_PF, 0,
		"descriptor half on an absent page");
	TAP_EQ_U64(res.exc.cr2, MEM_BASE + 3 * PAGE, "cr2");
	c.features &= ~INSN_F_INVPCID;
	b = c;
	faulted(RUN(&c, "\x66\x0f\x38\x82\x06"), &b, &c, INSN_VEC_UD, -1,
		"invpcid without INVPCID");
	c = cpu64();
	TAP_EQ_INT(RUN(&c, "\x66\x0f\x38\x82\xc0"), INSN_UNKNOWN,
		   "invpcid with a register operand");
	TAP_EQ_INT(RUN(&c, "\x0f\x38\x82\x06"), INSN_UNKNOWN, "0f 38 82 without 66");
	b = c;
	faulted(RUN(&c, "\xf0\x66\x0f\x38\x82\x06"), &b, &c, INSN_VEC_UD, -1, "lock invpcid");
}

static void test_rdpid_rdpru(void)
{
	struct insn_cpu c = cpu64(), b;

	c.tsc_aux = 0x12345;
	c.gpr[INSN_RAX] = ~0ull;
	b = c;
	done(RUN(&c, "\xf3\x0f\xc7\xf8"), &b, &c, 4, INSN_ID_RDPID, "rdpid rax");
	TAP_EQ_U64(c.gpr[INSN_RAX], 0x12345, "rax = TSC_AUX");
	c = b;
	done(RUN(&c, "\xf3\x41\x0f\xc7\xf8"), &b, &c, 5, INSN_ID_RDPID, "rdpid r8");
	TAP_EQ_U64(c.gpr[INSN_R8], 0x12345, "REX.B: r8");
	c.features &= ~INSN_F_RDPID;
	b = c;
	faulted(RUN(&c, "\xf3\x0f\xc7\xf8"), &b, &c, INSN_VEC_UD, -1, "rdpid without RDPID");
	TAP_EQ_INT(RUN(&c, "\xf3\x0f\xc7\x38"), INSN_UNKNOWN, "f3 0f c7 /7 memory is unknown");
	c = cpu32();
	c.tsc_aux = 7;
	b = c;
	done(RUN(&c, "\xf3\x0f\xc7\xf9"), &b, &c, 4, INSN_ID_RDPID, "rdpid ecx (32-bit)");
	TAP_EQ_U64(c.gpr[INSN_RCX], 7, "ecx = TSC_AUX");

	c = cpu64();
	c.features &= ~INSN_F_RDPRU;
	b = c;
	faulted(RUN(&c, "\x0f\x01\xfd"), &b, &c, INSN_VEC_UD, -1, "rdpru, not enabled");
	c = cpu64();
	c.gpr[INSN_RCX] = 1;
	c.aperf = 0x1122334455667788ull;
	b = c;
	done(RUN(&c, "\x0f\x01\xfd"), &b, &c, 3, INSN_ID_RDPRU, "rdpru 1");
	TAP_OK(c.gpr[INSN_RAX] == 0x55667788 && c.gpr[INSN_RDX] == 0x11223344, "edx:eax = APERF");
	TAP_OK(c.rflags & INSN_RFLAGS_CF, "CF set");
	c.gpr[INSN_RCX] = 9;
	c.rflags |= INSN_RFLAGS_ZF;
	b = c;
	done(RUN(&c, "\x0f\x01\xfd"), &b, &c, 3, INSN_ID_RDPRU, "rdpru 9");
	TAP_OK(c.gpr[INSN_RAX] == 0 && c.gpr[INSN_RDX] == 0 && c.rflags == 2,
	       "unsupported register: 0, flags cleared");
	c.cpl = 3;
	c.cr4 |= INSN_CR4_TSD;
	b = c;
	faulted(RUN(&c, "\x0f\x01\xfd"), &b, &c, INSN_VEC_UD, -1, "rdpru at CPL3 with CR4.TSD");
}

/* The decoder's addressing forms, checked by where ldmxcsr reads. */
static void test_addressing(void)
{
	struct insn_cpu c;
	struct insn d;
	uint64_t want = MEM_BASE + 0x500;

	mem_reset();
	memcpy(host(want), "\x80\x1f\x00\x00", 4);
	memcpy(host(want + 0x100), "\x00\x00\x01\x00", 4); /* reserved bit: #GP if read */

	c = cpu64();
	c.gpr[INSN_RAX] = want - 0x40;
	c.gpr[INSN_R12] = 0x10;
	TAP_EQ_INT(RUN(&c, "\x42\x0f\xae\x14\xa0"), INSN_DONE, "[rax + r12*4] (REX.X)");
	c = cpu64();
	c.gpr[INSN_RAX] = want;
	TAP_EQ_INT(RUN(&c, "\x0f\xae\x14\x60"), INSN_DONE, "SIB index 4 (no REX.X) is no index");
	c = cpu64();
	TAP_EQ_INT(RUN(&c, "\x0f\xae\x14\x25\x00\x05\x01\x00"), INSN_DONE, "SIB disp32, no base");
	c = cpu64();
	c.gpr[INSN_R13] = want + 0x10;
	TAP_EQ_INT(RUN(&c, "\x41\x0f\xae\x55\xf0"), INSN_DONE, "[r13 - 0x10] (disp8)");
	c = cpu64();
	c.gpr[INSN_RBX] = want - 0x12345;
	TAP_EQ_INT(RUN(&c, "\x0f\xae\x93\x45\x23\x01\x00"), INSN_DONE, "[rbx + disp32]");
	c = cpu64();
	c.seg_base[INSN_FS] = want - 0x40;
	c.gpr[INSN_RAX] = 0x40;
	TAP_EQ_INT(RUN(&c, "\x64\x0f\xae\x10"), INSN_DONE, "fs:[rax]");
	c = cpu64();
	c.seg_base[INSN_ES] = 0x1000;
	c.gpr[INSN_RAX] = want;
	TAP_EQ_INT(RUN(&c, "\x26\x0f\xae\x10"), INSN_DONE, "es: is ignored in 64-bit mode");
	c = cpu64();
	c.seg_base[INSN_FS] = want - 0x40;
	c.gpr[INSN_RAX] = 0x40;
	TAP_EQ_INT(RUN(&c, "\x64\x26\x0f\xae\x10"), INSN_DONE, "fs: then es: stays fs:");
	c = cpu32();
	c.seg_base[INSN_ES] = want - 0x40;
	c.seg_base[INSN_FS] = 0x100000;
	c.gpr[INSN_RAX] = 0x40;
	TAP_EQ_INT(RUN(&c, "\x64\x26\x0f\xae\x10"), INSN_DONE, "32-bit: the last override wins");
	c = cpu64();
	c.gpr[INSN_RAX] = 0xffffffff00000000ull | want;
	TAP_EQ_INT(RUN(&c, "\x67\x0f\xae\x10"), INSN_DONE, "67: [eax]");
	TAP_EQ_INT(insn_decode((const uint8_t *)"\x67\x0f\xae\x10", 4, &c, &d), 0,
		   "decode 67 0f ae 10");
	TAP_OK(d.addrsize == 4 && d.base == INSN_RAX && d.index == -1 && d.len == 4,
	       "32-bit address size, base rax");

	c = cpu32();
	c.gpr[INSN_RCX] = 0x40;
	c.seg_base[INSN_DS] = want - 0x1100;
	TAP_EQ_INT(RUN(&c, "\x0f\xae\x14\x8d\x00\x10\x00\x00"), INSN_DONE,
		   "32-bit: ds:[ecx*4 + 0x1000]");
	c = cpu32();
	TAP_EQ_INT(RUN(&c, "\x0f\xae\x15\x00\x05\x01\x00"), INSN_DONE,
		   "32-bit: mod 0 rm 5 is absolute");

	/* 16-bit: [bx+si+disp8], [bp+disp8] through SS, [disp16]. */
	c = cpu64();
	c.long_mode = c.cs_l = c.cs_db = false;
	c.seg_base[INSN_DS] = want - 0x30;
	c.seg_base[INSN_SS] = want - 0x100;
	c.gpr[INSN_RBX] = 0xffff0010;
	c.gpr[INSN_RSI] = 0x1c;
	TAP_EQ_INT(RUN(&c, "\x0f\xae\x50\x04"), INSN_DONE, "16-bit: [bx+si+4]");
	c.gpr[INSN_RBP] = 0xf0;
	TAP_EQ_INT(RUN(&c, "\x0f\xae\x56\x10"), INSN_DONE, "16-bit: ss:[bp+0x10]");
	TAP_EQ_INT(RUN(&c, "\x0f\xae\x16\x30\x00"), INSN_DONE, "16-bit: ds:[0x30]");
	TAP_EQ_INT(RUN(&c, "\x3e\x0f\xae\x56\x40"), INSN_EXCEPTION, "16-bit: ds:[bp+0x40] misses");
	TAP_EQ_INT(RUN(&c, "\x67\x0f\xae\x14\x25\x30\x00\x00\x00"), INSN_DONE, "16-bit + 67: SIB");
	c.gpr[INSN_RBX] = 0xfff0;
	c.gpr[INSN_RSI] = 0x40; /* bx + si wraps to 0x30 */
	TAP_EQ_INT(RUN(&c, "\x0f\xae\x10"), INSN_DONE, "16-bit: the offset wraps at 64 KiB");
}

int main(void)
{
	mem_reset();
	test_names();
	test_clac_stac();
	test_popcnt();
	test_truncated();
	test_fwait_int();
	test_mxcsr();
	test_xgetbv();
	test_cmpxchg();
	test_flush_fence();
	test_invpcid();
	test_rdpid_rdpru();
	test_addressing();
	return tap_done();
}
