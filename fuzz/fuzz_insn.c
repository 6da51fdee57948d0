/* fuzz_insn.c - libFuzzer target: insn_emulate on random bytes and vCPU state, guest memory a small
 * buffer that faults outside. */
#include <errno.h>

#include "arch/x86/insn.h"
#include "fuzz.h"

/*
 * Input: 1 byte n (how many instruction bytes KVM "gave", 0-15), 15 bytes of
 * instruction, then the vCPU state, field by field (missing bytes read 0).
 * Guest memory: 3 pages at a linear base taken from the input; page 0
 * read-write, page 1 read-only, page 2 refused (-EPERM); everything else is
 * absent (#PF). The ops check every page first, like the real walker.
 */
#define PAGE 0x1000ull
#define NPAGES 3

static uint8_t ram[NPAGES * PAGE];
static uint8_t snap[NPAGES * PAGE];
static uint64_t ram_base;
static uint64_t last_fault;
static unsigned cpl;

static int check(uint64_t linear, unsigned len, bool write, struct insn_fault *f)
{
	unsigned pages;

	FUZZ_ASSERT(len >= 1 && len <= 16, "op with length %u", len);
	pages = (unsigned)(((linear & (PAGE - 1)) + len - 1) / PAGE + 1);
	for (unsigned k = 0; k < pages; k++) {
		uint64_t p = (linear & ~(PAGE - 1)) + k * PAGE; /* wraps like the CPU */
		uint64_t off = p - ram_base;
		bool in = off < NPAGES * PAGE;

		if (in && off / PAGE == 2)
			return -EPERM;
		if (!in || (write && off / PAGE == 1)) {
			last_fault = k ? p : linear;
			*f = (struct insn_fault){.vector = INSN_VEC_PF,
						 .has_error_code = true,
						 .error_code = (write ? 2u : 0u) | (in ? 1u : 0u) |
							       (cpl == 3 ? 4u : 0u),
						 .addr = last_fault};
			return INSN_OPS_FAULT;
		}
	}
	return 0;
}

static int op_read(void *ctx, uint64_t linear, void *buf, unsigned len, struct insn_fault *f)
{
	int r = check(linear, len, false, f);

	if (r == 0)
		memcpy(buf, ram + (linear - ram_base), len);
	return r;
}

static int op_write(void *ctx, uint64_t linear, const void *buf, unsigned len, struct insn_fault *f)
{
	int r = check(linear, len, true, f);

	if (r == 0)
		memcpy(ram + (linear - ram_base), buf, len);
	return r;
}

static int op_cmpxchg(void *ctx, uint64_t linear, void *old, const void *new, unsigned len,
		      struct insn_fault *f)
{
	uint8_t cur[16];
	int r;

	FUZZ_ASSERT(len == 8 || len == 16, "cmpxchg of %u bytes", len);
	FUZZ_ASSERT(len != 16 || (linear & 15) == 0, "misaligned 16-byte cmpxchg");
	r = check(linear, len, true, f);
	if (r != 0)
		return r;
	memcpy(cur, ram + (linear - ram_base), len);
	if (memcmp(cur, old, len) == 0)
		memcpy(ram + (linear - ram_base), new, len);
	memcpy(old, cur, len);
	return 0;
}

static const struct insn_ops ops = {op_read, op_write, op_cmpxchg};

static void read_cpu(struct fuzz_in *in, struct insn_cpu *c)
{
	uint8_t mode = fuzz_u8(in);

	for (unsigned i = 0; i < 16; i++) {
		/* Half the registers point into the buffer, so memory forms get there. */
		uint64_t v = fuzz_u64(in);

		c->gpr[i] = (v & 1) ? ram_base + (v >> 1) % (NPAGES * PAGE + 64) - 32 : v;
	}
	c->rip = fuzz_u64(in);
	c->rflags = fuzz_u64(in);
	c->cr0 = fuzz_u64(in);
	c->cr2 = fuzz_u64(in);
	c->cr3 = fuzz_u64(in);
	c->cr4 = fuzz_u64(in);
	c->efer = fuzz_u64(in);
	c->xcr0 = fuzz_u64(in);
	for (unsigned i = 0; i < INSN_NSEG; i++)
		c->seg_base[i] = (mode & 0x80) ? fuzz_u64(in) : 0;
	c->cpl = mode & 3;
	c->long_mode = mode & 4;
	c->cs_l = mode & 8;
	c->cs_db = mode & 16;
	c->mxcsr = (uint32_t)fuzz_take(in, 4);
	c->mxcsr_mask = (uint32_t)fuzz_take(in, 4);
	c->features = (uint32_t)fuzz_take(in, 4) ^ INSN_F_ALL; /* all on by default */
	c->xinuse = fuzz_u64(in);
	c->tsc_aux = fuzz_u64(in);
	c->mperf = fuzz_u64(in);
	c->aperf = fuzz_u64(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	uint8_t bytes[INSN_MAX_LEN] = {0};
	struct insn_cpu c = {0}, before;
	struct insn_result res;
	struct insn d;
	unsigned n = fuzz_u8(&in) % 16;
	enum insn_outcome o;
	uint64_t mask;

	for (unsigned i = 0; i < INSN_MAX_LEN; i++)
		bytes[i] = fuzz_u8(&in);
	ram_base = (fuzz_take(&in, 3) << 12) | (fuzz_u8(&in) & 1 ? 0xffffffff00000000ull : 0);
	if (ram_base > ~0ull - NPAGES * PAGE)
		ram_base -= NPAGES * PAGE; /* the buffer itself never wraps */
	for (unsigned i = 0; i < sizeof(ram); i++)
		ram[i] = (uint8_t)(i * 131 + (i >> 8));
	read_cpu(&in, &c);
	cpl = c.cpl;
	memcpy(snap, ram, sizeof(ram));
	before = c;
	last_fault = ~0ull;

	o = insn_emulate(&c, &ops, NULL, bytes, n, &res);
	FUZZ_ASSERT(o == res.outcome, "returned %d, recorded %d", o, res.outcome);
	FUZZ_ASSERT(memchr(res.why, '\0', sizeof(res.why)), "reason not NUL-terminated");
	FUZZ_ASSERT((unsigned)res.id < INSN_ID_COUNT, "id %d", res.id);
	FUZZ_ASSERT(insn_name(res.id) != NULL, "no name");
	if (res.id != INSN_ID_NONE) {
		int rc = insn_decode(bytes, res.len, &before, &d);

		FUZZ_ASSERT(res.len >= 1 && res.len <= n, "length %u of %u bytes", res.len, n);
		FUZZ_ASSERT(rc == 0 && d.id == res.id && d.len == res.len,
			    "exact bytes decode differently (%d)", rc);
		rc = insn_decode(bytes, res.len - 1, &before, &d);
		FUZZ_ASSERT(rc == INSN_DEC_TRUNCATED, "one byte short is not truncated (%d)", rc);
	}
	mask = (before.long_mode && before.cs_l) ? ~0ull : before.cs_db ? 0xffffffffull : 0xffffull;

	switch (o) {
	case INSN_DONE:
		FUZZ_ASSERT(res.id != INSN_ID_NONE, "done without an instruction");
		FUZZ_ASSERT(c.rip == ((before.rip + res.len) & mask),
			    "rip not advanced by the length");
		FUZZ_ASSERT(!(c.rflags & INSN_RFLAGS_RF), "RF left set");
		FUZZ_ASSERT(!!(res.side & INSN_SIDE_SINGLE_STEP) ==
				!!(before.rflags & INSN_RFLAGS_TF),
			    "single-step side effect disagrees with TF");
		FUZZ_ASSERT(!(res.side & INSN_SIDE_TLB_FLUSH) || res.id == INSN_ID_INVPCID,
			    "TLB flush from %s", insn_name(res.id));
		FUZZ_ASSERT(!(res.side & INSN_SIDE_MXCSR) || res.id == INSN_ID_LDMXCSR,
			    "MXCSR from %s", insn_name(res.id));
		FUZZ_ASSERT(c.mxcsr == before.mxcsr || res.id == INSN_ID_LDMXCSR, "mxcsr changed");
		FUZZ_ASSERT(res.id != INSN_ID_LDMXCSR ||
				!(c.mxcsr & ~(before.mxcsr_mask ? before.mxcsr_mask : 0xffbfu)),
			    "reserved MXCSR bits loaded");
		FUZZ_ASSERT(memcmp(c.seg_base, before.seg_base, sizeof(c.seg_base)) == 0 &&
				c.cr0 == before.cr0 && c.cr4 == before.cr4 && c.cpl == before.cpl,
			    "system state changed");
		if (res.id != INSN_ID_STMXCSR && res.id != INSN_ID_CMPXCHG8B &&
		    res.id != INSN_ID_CMPXCHG16B)
			FUZZ_ASSERT(memcmp(ram, snap, sizeof(ram)) == 0, "%s wrote memory",
				    insn_name(res.id));
		if (res.id == INSN_ID_CLAC || res.id == INSN_ID_STAC || res.id == INSN_ID_INVPCID)
			FUZZ_ASSERT(before.cpl == 0, "%s done at CPL%u", insn_name(res.id),
				    before.cpl);
		break;
	case INSN_EXCEPTION:
		FUZZ_ASSERT(memcmp(ram, snap, sizeof(ram)) == 0, "exception after a memory write");
		if (res.exc.kind == INSN_EXC_FAULT) {
			FUZZ_ASSERT(memcmp(&c, &before, sizeof(c)) == 0, "fault changed the vCPU");
			FUZZ_ASSERT(res.exc.vector < 32, "fault vector %u", res.exc.vector);
			if (res.exc.vector == INSN_VEC_PF)
				FUZZ_ASSERT(res.exc.cr2 == last_fault && res.exc.has_error_code,
					    "#PF without the op's address");
		} else {
			struct insn_cpu t = before;

			t.rip = (before.rip + res.len) & mask;
			FUZZ_ASSERT(memcmp(&c, &t, sizeof(c)) == 0, "trap changed more than rip");
			FUZZ_ASSERT(res.id == INSN_ID_INT3 || res.id == INSN_ID_INT ||
					res.id == INSN_ID_INTO,
				    "trap from %s", insn_name(res.id));
		}
		break;
	case INSN_UNKNOWN:
	case INSN_ERROR:
		FUZZ_ASSERT(res.why[0] != '\0', "no reason");
		FUZZ_ASSERT(memcmp(&c, &before, sizeof(c)) == 0, "vCPU changed");
		FUZZ_ASSERT(memcmp(ram, snap, sizeof(ram)) == 0, "memory changed");
		FUZZ_ASSERT(o != INSN_ERROR || res.err == -EPERM, "error %d", res.err);
		break;
	default:
		FUZZ_ASSERT(0, "outcome %d", o);
	}
	return 0;
}
