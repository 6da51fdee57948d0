/* insn.c - table-driven x86 decoder and executor for the instructions this host's KVM cannot
 * emulate. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86/insn.h"

/* Which mandatory prefix a row wants (insn.h: the last of F2/F3, else 66). */
enum row_pfx {
	PFX_ANY, /* one-byte opcodes: prefixes have no meaning and are ignored */
	PFX_NP,	 /* none of 66 (unless ROW_OPSIZE66), F2, F3 */
	PFX_66,
	PFX_F3,
};

/* What a row wants of ModRM. */
enum row_mod {
	MOD_NONE, /* no ModRM byte */
	MOD_MEM,  /* mod != 3 */
	MOD_REG,  /* mod == 3 */
	MOD_ANY,
};

enum row_w { W_ANY, W0, W1 };

#define ROW_LOCKABLE (1u << 0) /* a LOCK prefix is allowed (with a memory operand) */
#define ROW_OPSIZE66 (1u << 1) /* 66 is an operand-size prefix, not a mandatory one */

struct exec;
typedef enum insn_outcome (*insn_handler)(struct exec *x);

/* One supported instruction. */
struct insn_row {
	uint8_t map, opcode;
	uint8_t pfx;	  /* enum row_pfx */
	uint8_t mod;	  /* enum row_mod */
	int8_t reg;	  /* ModRM.reg (without REX.R), -1: any */
	int8_t rm;	  /* ModRM.rm (without REX.B) when mod == 3, -1: any */
	uint8_t w;	  /* enum row_w; REX.W exists only in 64-bit mode */
	uint8_t imm;	  /* immediate bytes */
	uint8_t flags;	  /* ROW_* */
	uint32_t feature; /* INSN_F_* the instruction needs (#UD without it) */
	const char *name;
	insn_handler run;
};

/* Everything a handler works with. */
struct exec {
	struct insn_cpu *cpu;
	const struct insn_ops *ops;
	void *ctx;
	const struct insn *d;
	struct insn_result *res;
	uint64_t next_rip;
};

#define RIP_MASK(mode) ((mode) == 64 ? ~0ull : (mode) == 32 ? 0xffffffffull : 0xffffull)

static uint64_t size_mask(unsigned bytes)
{
	return bytes >= 8 ? ~0ull : (1ull << (8 * bytes)) - 1;
}

/* Write a register as an instruction with that operand size does: a 32-bit
 * write zero-extends, a 16-bit one keeps bits 63:16. */
static void put_reg(struct insn_cpu *cpu, unsigned r, unsigned bytes, uint64_t v)
{
	if (bytes == 8)
		cpu->gpr[r] = v;
	else if (bytes == 4)
		cpu->gpr[r] = (uint32_t)v;
	else
		cpu->gpr[r] = (cpu->gpr[r] & ~0xffffull) | (v & 0xffff);
}

static enum insn_outcome fault(struct exec *x, uint8_t vector, bool has_ec, uint32_t ec)
{
	x->res->exc = (struct insn_exception){
	    .kind = INSN_EXC_FAULT, .vector = vector, .has_error_code = has_ec, .error_code = ec};
	return INSN_EXCEPTION;
}

static enum insn_outcome ud(struct exec *x)
{
	return fault(x, INSN_VEC_UD, false, 0);
}

static enum insn_outcome gp0(struct exec *x)
{
	return fault(x, INSN_VEC_GP, true, 0);
}

/* A trap-like event: RIP moves past the instruction before delivery. */
static enum insn_outcome trap(struct exec *x, enum insn_exc_kind kind, uint8_t vector)
{
	x->res->exc = (struct insn_exception){.kind = kind, .vector = vector};
	x->cpu->rip = x->next_rip;
	return INSN_EXCEPTION;
}

static bool canonical(const struct insn_cpu *cpu, uint64_t a)
{
	unsigned bits = (cpu->cr4 & INSN_CR4_LA57) ? 57 : 48;
	int64_t s = (int64_t)(a << (64 - bits)) >> (64 - bits);

	return (uint64_t)s == a;
}

/*
 * The linear address of the ModRM memory operand, `len` bytes long. 64-bit
 * mode: only FS/GS have a base; both ends of the operand must be canonical
 * (#SS(0) for a stack reference, else #GP(0)). Other modes: base + offset
 * wraps at 4 GiB; flat segments are assumed, so an operand that would run
 * past 4 GiB is refused the way a 4 GiB limit does.
 */
static enum insn_outcome mem_addr(struct exec *x, unsigned len, uint64_t *linear)
{
	const struct insn *d = x->d;
	const struct insn_cpu *cpu = x->cpu;
	uint64_t ea = (uint64_t)d->disp;
	int seg = d->seg_override;
	uint64_t a;

	if (d->rip_rel)
		ea += x->next_rip;
	if (d->base >= 0)
		ea += cpu->gpr[d->base];
	if (d->index >= 0)
		ea += cpu->gpr[d->index] * d->scale;
	ea &= size_mask(d->addrsize);
	if (seg < 0)
		seg = (d->base == INSN_RSP || d->base == INSN_RBP) ? INSN_SS : INSN_DS;
	if (d->mode == 64) {
		a = ea + ((seg == INSN_FS || seg == INSN_GS) ? cpu->seg_base[seg] : 0);
		if (!canonical(cpu, a) || !canonical(cpu, a + len - 1))
			return fault(x, seg == INSN_SS ? INSN_VEC_SS : INSN_VEC_GP, true, 0);
	} else {
		a = (cpu->seg_base[seg] + ea) & 0xffffffffull;
		if (a + len - 1 > 0xffffffffull)
			return fault(x, seg == INSN_SS ? INSN_VEC_SS : INSN_VEC_GP, true, 0);
	}
	*linear = a;
	return INSN_DONE;
}

/* Turn an op's answer into an outcome: INSN_DONE to go on. */
static enum insn_outcome op_result(struct exec *x, int r, const struct insn_fault *f,
				   const char *what, uint64_t linear)
{
	if (r == 0)
		return INSN_DONE;
	if (r == INSN_OPS_FAULT) {
		x->res->exc = (struct insn_exception){
		    .kind = INSN_EXC_FAULT,
		    .vector = f->vector,
		    .has_error_code = f->has_error_code,
		    .error_code = f->error_code,
		    .cr2 = f->vector == INSN_VEC_PF ? f->addr : 0,
		};
		return INSN_EXCEPTION;
	}
	x->res->err = r < 0 ? r : -22 /* EINVAL: an op broke its contract */;
	snprintf(x->res->why, sizeof(x->res->why),
		 "%s: the %s of linear %#llx was refused (error %d); nothing was done",
		 insn_name(x->d->id), what, (unsigned long long)linear, x->res->err);
	return INSN_ERROR;
}

static enum insn_outcome mem_read(struct exec *x, uint64_t linear, void *buf, unsigned len)
{
	struct insn_fault f = {0};

	return op_result(x, x->ops->read(x->ctx, linear, buf, len, &f), &f, "read", linear);
}

static enum insn_outcome mem_write(struct exec *x, uint64_t linear, const void *buf, unsigned len)
{
	struct insn_fault f = {0};

	return op_result(x, x->ops->write(x->ctx, linear, buf, len, &f), &f, "write", linear);
}

/* ---- handlers: each returns INSN_DONE having changed *cpu, or an outcome having changed nothing
 * (traps excepted, which move rip) ---- */

static enum insn_outcome run_clac_stac(struct exec *x)
{
	if (x->cpu->cpl > 0)
		return ud(x);
	if (x->d->id == INSN_ID_STAC)
		x->cpu->rflags |= INSN_RFLAGS_AC;
	else
		x->cpu->rflags &= ~INSN_RFLAGS_AC;
	return INSN_DONE;
}

static enum insn_outcome run_popcnt(struct exec *x)
{
	const struct insn *d = x->d;
	uint64_t src, a;
	enum insn_outcome o;

	if (d->mod == 3) {
		src = x->cpu->gpr[d->rm];
	} else {
		src = 0;
		o = mem_addr(x, d->opsize, &a);
		if (o == INSN_DONE)
			o = mem_read(x, a, &src, d->opsize);
		if (o != INSN_DONE)
			return o;
	}
	src &= size_mask(d->opsize);
	put_reg(x->cpu, d->reg, d->opsize, (uint64_t)__builtin_popcountll(src));
	x->cpu->rflags &= ~(INSN_RFLAGS_OF | INSN_RFLAGS_SF | INSN_RFLAGS_ZF | INSN_RFLAGS_AF |
			    INSN_RFLAGS_PF | INSN_RFLAGS_CF);
	if (src == 0)
		x->cpu->rflags |= INSN_RFLAGS_ZF;
	return INSN_DONE;
}

/* fwait: #NM when both MP and TS are set (SDM vol. 3, 2.5, table 2-2). A
 * pending unmasked x87 exception would be #MF; the fallback does not see the
 * FPU status word, so it never raises one (insn.h). */
static enum insn_outcome run_fwait(struct exec *x)
{
	if ((x->cpu->cr0 & (INSN_CR0_MP | INSN_CR0_TS)) == (INSN_CR0_MP | INSN_CR0_TS))
		return fault(x, INSN_VEC_NM, false, 0);
	return INSN_DONE;
}

static enum insn_outcome run_int3(struct exec *x)
{
	return trap(x, INSN_EXC_SOFT, INSN_VEC_BP);
}

/* int n: the gate's DPL check (#GP(n*8+2) when CPL > DPL) belongs to the
 * delivery, which the caller's injection of a software interrupt performs. */
static enum insn_outcome run_int(struct exec *x)
{
	return trap(x, INSN_EXC_SOFT_INT, (uint8_t)x->d->imm);
}

static enum insn_outcome run_into(struct exec *x)
{
	if (x->d->mode == 64)
		return ud(x);
	if (x->cpu->rflags & INSN_RFLAGS_OF)
		return trap(x, INSN_EXC_SOFT, INSN_VEC_OF);
	return INSN_DONE;
}

/* The #UD / #NM checks ldmxcsr and stmxcsr share (SDM vol. 2: LDMXCSR). */
static enum insn_outcome sse_state_check(struct exec *x)
{
	if ((x->cpu->cr0 & INSN_CR0_EM) || !(x->cpu->cr4 & INSN_CR4_OSFXSR))
		return ud(x);
	if (x->cpu->cr0 & INSN_CR0_TS)
		return fault(x, INSN_VEC_NM, false, 0);
	return INSN_DONE;
}

static enum insn_outcome run_ldmxcsr(struct exec *x)
{
	uint32_t v = 0, mask = x->cpu->mxcsr_mask ? x->cpu->mxcsr_mask : 0xffbfu;
	uint64_t a;
	enum insn_outcome o = sse_state_check(x);

	if (o == INSN_DONE)
		o = mem_addr(x, 4, &a);
	if (o == INSN_DONE)
		o = mem_read(x, a, &v, 4);
	if (o != INSN_DONE)
		return o;
	if (v & ~mask)
		return gp0(x);
	x->cpu->mxcsr = v;
	x->res->side |= INSN_SIDE_MXCSR;
	return INSN_DONE;
}

static enum insn_outcome run_stmxcsr(struct exec *x)
{
	uint32_t v = x->cpu->mxcsr;
	uint64_t a;
	enum insn_outcome o = sse_state_check(x);

	if (o == INSN_DONE)
		o = mem_addr(x, 4, &a);
	if (o == INSN_DONE)
		o = mem_write(x, a, &v, 4);
	return o;
}

static enum insn_outcome run_xgetbv(struct exec *x)
{
	struct insn_cpu *cpu = x->cpu;
	uint32_t ecx = (uint32_t)cpu->gpr[INSN_RCX];
	uint64_t v;

	if (!(cpu->cr4 & INSN_CR4_OSXSAVE))
		return ud(x);
	if (ecx == 0)
		v = cpu->xcr0;
	else if (ecx == 1 && (cpu->features & INSN_F_XGETBV1))
		v = cpu->xinuse;
	else
		return gp0(x);
	put_reg(cpu, INSN_RAX, 4, v);
	put_reg(cpu, INSN_RDX, 4, v >> 32);
	return INSN_DONE;
}

/* cmpxchg8b / cmpxchg16b (SDM vol. 2: CMPXCHG8B/CMPXCHG16B): always through
 * ops->cmpxchg, locked or not, since the access is a read and a write anyway. */
static enum insn_outcome run_cmpxchg(struct exec *x)
{
	struct insn_cpu *cpu = x->cpu;
	unsigned half = x->d->id == INSN_ID_CMPXCHG16B ? 8 : 4;
	uint64_t hm = size_mask(half);
	uint64_t expect[2] = {cpu->gpr[INSN_RAX] & hm, cpu->gpr[INSN_RDX] & hm};
	uint64_t want[2] = {cpu->gpr[INSN_RBX] & hm, cpu->gpr[INSN_RCX] & hm};
	uint8_t old[16], new[16], exp[16];
	struct insn_fault f = {0};
	uint64_t a, lo = 0, hi = 0;
	enum insn_outcome o;

	/* Little-endian: the low half (EAX/RAX, EBX/RBX) at the lower address. */
	memcpy(exp, &expect[0], half);
	memcpy(exp + half, &expect[1], half);
	memcpy(new, &want[0], half);
	memcpy(new + half, &want[1], half);
	memcpy(old, exp, 2 * half);
	o = mem_addr(x, 2 * half, &a);
	if (o != INSN_DONE)
		return o;
	if (half == 8 && (a & 15))
		return gp0(x);
	o = op_result(x, x->ops->cmpxchg(x->ctx, a, old, new, 2 * half, &f), &f, "locked access",
		      a);
	if (o != INSN_DONE)
		return o;
	if (memcmp(old, exp, 2 * half) == 0) {
		cpu->rflags |= INSN_RFLAGS_ZF;
		return INSN_DONE;
	}
	memcpy(&lo, old, half);
	memcpy(&hi, old + half, half);
	cpu->rflags &= ~INSN_RFLAGS_ZF;
	put_reg(cpu, INSN_RAX, half, lo);
	put_reg(cpu, INSN_RDX, half, hi);
	return INSN_DONE;
}

/* clflush, clflushopt, clwb: nothing to write back on a host that keeps
 * guest RAM coherent, but the line must be reachable: a read of its byte
 * raises the #PF the CPU would (SDM: CLFLUSH "is treated as a read"). */
static enum insn_outcome run_flush(struct exec *x)
{
	uint8_t b;
	uint64_t a;
	enum insn_outcome o = mem_addr(x, 1, &a);

	if (o == INSN_DONE)
		o = mem_read(x, a, &b, 1);
	return o;
}

static enum insn_outcome run_fence(struct exec *x)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return INSN_DONE;
}

static enum insn_outcome run_invpcid(struct exec *x)
{
	struct insn_cpu *cpu = x->cpu;
	uint64_t type = cpu->gpr[x->d->reg], desc[2] = {0, 0}, a;
	enum insn_outcome o;

	if (x->d->mode != 64)
		type &= 0xffffffffull;
	if (cpu->cpl > 0)
		return gp0(x);
	o = mem_addr(x, 16, &a);
	if (o == INSN_DONE)
		o = mem_read(x, a, desc, 16);
	if (o != INSN_DONE)
		return o;
	if (type > INSN_INVPCID_ALL || (desc[0] >> 12) != 0)
		return gp0(x);
	if (type == INSN_INVPCID_ADDR && !canonical(cpu, desc[1]))
		return gp0(x);
	if (type <= INSN_INVPCID_PCID && !(cpu->cr4 & INSN_CR4_PCIDE) && desc[0] != 0)
		return gp0(x);
	x->res->side |= INSN_SIDE_TLB_FLUSH;
	x->res->invpcid.type = (enum insn_invpcid_type)type;
	x->res->invpcid.pcid = desc[0];
	x->res->invpcid.addr = desc[1];
	return INSN_DONE;
}

/* rdpid: IA32_TSC_AUX into a 64-bit register in 64-bit mode, else a 32-bit one. */
static enum insn_outcome run_rdpid(struct exec *x)
{
	put_reg(x->cpu, x->d->rm, x->d->mode == 64 ? 8 : 4, (uint32_t)x->cpu->tsc_aux);
	return INSN_DONE;
}

/* rdpru (AMD APM vol. 3): #UD at CPL > 0 with CR4.TSD; ECX 0 = MPERF,
 * 1 = APERF with CF = 1; any other ECX gives 0 with CF = 0. */
static enum insn_outcome run_rdpru(struct exec *x)
{
	struct insn_cpu *cpu = x->cpu;
	uint32_t ecx = (uint32_t)cpu->gpr[INSN_RCX];
	uint64_t v = ecx == 0 ? cpu->mperf : ecx == 1 ? cpu->aperf : 0;

	if ((cpu->cr4 & INSN_CR4_TSD) && cpu->cpl > 0)
		return ud(x);
	put_reg(cpu, INSN_RAX, 4, v);
	put_reg(cpu, INSN_RDX, 4, v >> 32);
	cpu->rflags &= ~(INSN_RFLAGS_OF | INSN_RFLAGS_SF | INSN_RFLAGS_ZF | INSN_RFLAGS_AF |
			 INSN_RFLAGS_PF | INSN_RFLAGS_CF);
	if (ecx <= 1)
		cpu->rflags |= INSN_RFLAGS_CF;
	return INSN_DONE;
}

/* ---- the table: one row per instruction, indexed by enum insn_id ---- */

#define ROW(id_, map_, op_, pfx_, mod_, reg_, rm_, w_, imm_, fl_, feat_, name_, run_)              \
	[id_] = {.map = map_,                                                                      \
		 .opcode = op_,                                                                    \
		 .pfx = pfx_,                                                                      \
		 .mod = mod_,                                                                      \
		 .reg = reg_,                                                                      \
		 .rm = rm_,                                                                        \
		 .w = w_,                                                                          \
		 .imm = imm_,                                                                      \
		 .flags = fl_,                                                                     \
		 .feature = feat_,                                                                 \
		 .name = name_,                                                                    \
		 .run = run_}

static const struct insn_row insn_table[INSN_ID_COUNT] = {
    ROW(INSN_ID_CLAC, 1, 0x01, PFX_NP, MOD_REG, 1, 2, W_ANY, 0, 0, INSN_F_SMAP, "clac",
	run_clac_stac),
    ROW(INSN_ID_STAC, 1, 0x01, PFX_NP, MOD_REG, 1, 3, W_ANY, 0, 0, INSN_F_SMAP, "stac",
	run_clac_stac),
    ROW(INSN_ID_POPCNT, 1, 0xb8, PFX_F3, MOD_ANY, -1, -1, W_ANY, 0, ROW_OPSIZE66, INSN_F_POPCNT,
	"popcnt", run_popcnt),
    ROW(INSN_ID_FWAIT, 0, 0x9b, PFX_ANY, MOD_NONE, -1, -1, W_ANY, 0, 0, 0, "fwait", run_fwait),
    ROW(INSN_ID_INT3, 0, 0xcc, PFX_ANY, MOD_NONE, -1, -1, W_ANY, 0, 0, 0, "int3", run_int3),
    ROW(INSN_ID_INT, 0, 0xcd, PFX_ANY, MOD_NONE, -1, -1, W_ANY, 1, 0, 0, "int", run_int),
    ROW(INSN_ID_INTO, 0, 0xce, PFX_ANY, MOD_NONE, -1, -1, W_ANY, 0, 0, 0, "into", run_into),
    ROW(INSN_ID_LDMXCSR, 1, 0xae, PFX_NP, MOD_MEM, 2, -1, W_ANY, 0, 0, INSN_F_SSE, "ldmxcsr",
	run_ldmxcsr),
    ROW(INSN_ID_STMXCSR, 1, 0xae, PFX_NP, MOD_MEM, 3, -1, W_ANY, 0, 0, INSN_F_SSE, "stmxcsr",
	run_stmxcsr),
    ROW(INSN_ID_XGETBV, 1, 0x01, PFX_NP, MOD_REG, 2, 0, W_ANY, 0, 0, INSN_F_XSAVE, "xgetbv",
	run_xgetbv),
    ROW(INSN_ID_CMPXCHG8B, 1, 0xc7, PFX_NP, MOD_MEM, 1, -1, W0, 0, ROW_LOCKABLE | ROW_OPSIZE66,
	INSN_F_CX8, "cmpxchg8b", run_cmpxchg),
    ROW(INSN_ID_CMPXCHG16B, 1, 0xc7, PFX_NP, MOD_MEM, 1, -1, W1, 0, ROW_LOCKABLE | ROW_OPSIZE66,
	INSN_F_CX16, "cmpxchg16b", run_cmpxchg),
    ROW(INSN_ID_CLFLUSH, 1, 0xae, PFX_NP, MOD_MEM, 7, -1, W_ANY, 0, 0, INSN_F_CLFLUSH, "clflush",
	run_flush),
    ROW(INSN_ID_CLFLUSHOPT, 1, 0xae, PFX_66, MOD_MEM, 7, -1, W_ANY, 0, 0, INSN_F_CLFLUSHOPT,
	"clflushopt", run_flush),
    ROW(INSN_ID_CLWB, 1, 0xae, PFX_66, MOD_MEM, 6, -1, W_ANY, 0, 0, INSN_F_CLWB, "clwb", run_flush),
    ROW(INSN_ID_LFENCE, 1, 0xae, PFX_NP, MOD_REG, 5, -1, W_ANY, 0, 0, INSN_F_SSE2, "lfence",
	run_fence),
    ROW(INSN_ID_MFENCE, 1, 0xae, PFX_NP, MOD_REG, 6, -1, W_ANY, 0, 0, INSN_F_SSE2, "mfence",
	run_fence),
    ROW(INSN_ID_SFENCE, 1, 0xae, PFX_NP, MOD_REG, 7, -1, W_ANY, 0, 0, INSN_F_SSE, "sfence",
	run_fence),
    ROW(INSN_ID_INVPCID, 2, 0x82, PFX_66, MOD_MEM, -1, -1, W_ANY, 0, 0, INSN_F_INVPCID, "invpcid",
	run_invpcid),
    ROW(INSN_ID_RDPID, 1, 0xc7, PFX_F3, MOD_REG, 7, -1, W_ANY, 0, 0, INSN_F_RDPID, "rdpid",
	run_rdpid),
    ROW(INSN_ID_RDPRU, 1, 0x01, PFX_NP, MOD_REG, 7, 5, W_ANY, 0, 0, INSN_F_RDPRU, "rdpru",
	run_rdpru),
};

const char *insn_name(enum insn_id id)
{
	if ((unsigned)id == INSN_ID_NONE || (unsigned)id >= INSN_ID_COUNT)
		return "unknown";
	return insn_table[id].name;
}

/* The first row for (map, opcode): all rows of one opcode agree on ModRM and immediate. */
static const struct insn_row *row_for_opcode(unsigned map, unsigned opcode)
{
	for (unsigned i = 1; i < INSN_ID_COUNT; i++)
		if (insn_table[i].map == map && insn_table[i].opcode == opcode)
			return &insn_table[i];
	return NULL;
}

static bool row_fits(const struct insn_row *r, const struct insn *d, uint8_t last_rep)
{
	bool w = (d->rex & 8) != 0;

	if (r->map != d->map || r->opcode != d->opcode)
		return false;
	switch (r->pfx) {
	case PFX_NP:
		if (last_rep || (d->opsize_pfx && !(r->flags & ROW_OPSIZE66)))
			return false;
		break;
	case PFX_66:
		if (last_rep || !d->opsize_pfx)
			return false;
		break;
	case PFX_F3:
		if (last_rep != 0xf3 || (d->opsize_pfx && !(r->flags & ROW_OPSIZE66)))
			return false;
		break;
	default:
		break;
	}
	if ((r->w == W0 && w) || (r->w == W1 && !w))
		return false;
	if (r->mod == MOD_NONE)
		return true;
	if ((r->mod == MOD_MEM && d->mod == 3) || (r->mod == MOD_REG && d->mod != 3))
		return false;
	if (r->reg >= 0 && r->reg != ((d->modrm >> 3) & 7))
		return false;
	return r->rm < 0 || r->rm == (d->modrm & 7);
}

/* The 16-bit ModRM forms (SDM vol. 2, table 2-1). */
static const int8_t modrm16_base[8] = {INSN_RBX, INSN_RBX, INSN_RBP, INSN_RBP,
				       INSN_RSI, INSN_RDI, INSN_RBP, INSN_RBX};
static const int8_t modrm16_index[8] = {INSN_RSI, INSN_RDI, INSN_RSI, INSN_RDI, -1, -1, -1, -1};

int insn_decode(const uint8_t *bytes, unsigned n, const struct insn_cpu *cpu, struct insn *d)
{
	const struct insn_row *r;
	uint8_t last_rep = 0, b;
	unsigned pos = 0, i;

	memset(d, 0, sizeof(*d));
	d->id = INSN_ID_NONE;
	d->seg_override = -1;
	d->base = d->index = -1;
	d->scale = 1;
	d->mode = (cpu->long_mode && cpu->cs_l) ? 64 : cpu->cs_db ? 32 : 16;
	if (n > INSN_MAX_LEN)
		n = INSN_MAX_LEN;

/* The next byte, or the reason there is none: past 15 bytes the CPU raises
 * #GP(0); before that, KVM's bytes ended early. */
#define NEXT(v)                                                                                    \
	do {                                                                                       \
		if (pos >= n) {                                                                    \
			d->len = pos;                                                              \
			return pos >= INSN_MAX_LEN ? INSN_DEC_TOO_LONG : INSN_DEC_TRUNCATED;       \
		}                                                                                  \
		(v) = bytes[pos++];                                                                \
	} while (0)

	for (;;) {
		NEXT(b);
		if (b == 0xf0) {
			d->lock = true;
		} else if (b == 0xf2 || b == 0xf3) {
			last_rep = b;
			if (b == 0xf2)
				d->repne = true;
			else
				d->rep = true;
		} else if (b == 0x66) {
			d->opsize_pfx = true;
		} else if (b == 0x67) {
			d->addr_pfx = true;
		} else if (b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e) {
			/* ES, CS, SS, DS: ignored in 64-bit mode (an earlier FS/GS stays). */
			if (d->mode != 64)
				d->seg_override = (b >> 3) & 3;
		} else if (b == 0x64 || b == 0x65) {
			d->seg_override = b == 0x64 ? INSN_FS : INSN_GS;
		} else if (d->mode == 64 && (b & 0xf0) == 0x40) {
			d->rex = b; /* the last REX counts */
			continue;
		} else {
			break;
		}
		d->rex = 0; /* a REX followed by a legacy prefix is ignored */
	}

	d->opcode = b;
	if (b == 0x0f) {
		NEXT(b);
		d->map = 1;
		if (b == 0x38 || b == 0x3a) {
			d->map = b == 0x38 ? 2 : 3;
			NEXT(b);
		}
		d->opcode = b;
	}
	if (d->mode == 64) {
		d->opsize = (d->rex & 8) ? 8 : d->opsize_pfx ? 2 : 4;
		d->addrsize = d->addr_pfx ? 4 : 8;
	} else {
		bool big = (d->mode == 32) != d->opsize_pfx;

		d->opsize = big ? 4 : 2;
		d->addrsize = ((d->mode == 32) != d->addr_pfx) ? 4 : 2;
	}
	r = row_for_opcode(d->map, d->opcode);
	if (!r) {
		d->len = pos;
		return INSN_DEC_NOROW;
	}

	if (r->mod != MOD_NONE) {
		d->has_modrm = true;
		NEXT(d->modrm);
		d->mod = d->modrm >> 6;
		d->reg = (uint8_t)(((d->modrm >> 3) & 7) | ((d->rex & 4) << 1));
		d->rm = (uint8_t)((d->modrm & 7) | ((d->rex & 1) << 3));
		if (d->mod != 3 && d->addrsize == 2) {
			unsigned rm = d->modrm & 7;

			if (d->mod == 0 && rm == 6) {
				d->base = -1;
			} else {
				d->base = modrm16_base[rm];
				d->index = modrm16_index[rm];
			}
			if (d->mod == 1) {
				NEXT(b);
				d->disp = (int8_t)b;
			} else if (d->mod == 2 || (d->mod == 0 && rm == 6)) {
				uint8_t lo, hi;

				NEXT(lo);
				NEXT(hi);
				d->disp = (int16_t)(lo | hi << 8);
			}
		} else if (d->mod != 3) {
			unsigned nd = d->mod == 1 ? 1 : d->mod == 2 ? 4 : 0;
			uint32_t v = 0;

			if ((d->modrm & 7) == 4) {
				unsigned idx;

				d->has_sib = true;
				NEXT(d->sib);
				d->scale = 1u << (d->sib >> 6);
				idx = ((d->sib >> 3) & 7) | ((d->rex & 2) << 2);
				d->index = idx == 4 ? -1 : (int)idx;
				d->base = (d->sib & 7) | ((d->rex & 1) << 3);
				if ((d->sib & 7) == 5 && d->mod == 0) {
					d->base = -1;
					nd = 4;
				}
			} else if ((d->modrm & 7) == 5 && d->mod == 0) {
				d->rip_rel = d->mode == 64;
				nd = 4;
			} else {
				d->base = d->rm;
			}
			for (i = 0; i < nd; i++) {
				NEXT(b);
				v |= (uint32_t)b << (8 * i);
			}
			d->disp = nd == 1 ? (int8_t)v : (int32_t)v;
		}
	}
	for (i = 0; i < r->imm; i++) {
		NEXT(b);
		d->imm |= (uint64_t)b << (8 * i);
	}
#undef NEXT
	d->len = pos;
	for (i = 1; i < INSN_ID_COUNT; i++) {
		if (row_fits(&insn_table[i], d, last_rep)) {
			d->id = (enum insn_id)i;
			return 0;
		}
	}
	return INSN_DEC_NOROW;
}

static void hex_bytes(char *out, size_t size, const uint8_t *b, unsigned n)
{
	size_t used = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < n && used + 4 < size; i++)
		used += (size_t)snprintf(out + used, size - used, i ? " %02x" : "%02x", b[i]);
}

/* res->why, truncated to fit: a reason line, not data. */
__attribute__((format(printf, 2, 3))) static void insn_why(struct insn_result *res, const char *fmt,
							   ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->why, sizeof(res->why), fmt, ap);
	va_end(ap);
}

enum insn_outcome insn_emulate(struct insn_cpu *cpu, const struct insn_ops *ops, void *ctx,
			       const uint8_t *bytes, unsigned n, struct insn_result *res)
{
	struct insn d;
	struct insn_cpu saved = *cpu;
	struct exec x = {.cpu = cpu, .ops = ops, .ctx = ctx, .d = &d, .res = res};
	const struct insn_row *r;
	char hex[3 * INSN_MAX_LEN + 1];
	enum insn_outcome o;
	int rc;

	memset(res, 0, sizeof(*res));
	if (n > INSN_MAX_LEN)
		n = INSN_MAX_LEN;
	hex_bytes(hex, sizeof(hex), bytes, n);
	if ((cpu->rflags & INSN_RFLAGS_VM) && (cpu->cr0 & INSN_CR0_PE)) {
		insn_why(res, "virtual-8086 mode is not handled by the fallback (bytes %s)", hex);
		return res->outcome = INSN_UNKNOWN;
	}
	rc = insn_decode(bytes, n, cpu, &d);
	if (rc == INSN_DEC_TOO_LONG) {
		gp0(&x);
		return res->outcome = INSN_EXCEPTION;
	}
	if (rc == INSN_DEC_TRUNCATED) {
		insn_why(res,
			 "the %u instruction bytes end inside the instruction (%s): cannot decode",
			 n, n ? hex : "none");
		return res->outcome = INSN_UNKNOWN;
	}
	if (rc != 0) {
		insn_why(res, "not an instruction the fallback carries out (bytes %s)", hex);
		return res->outcome = INSN_UNKNOWN;
	}
	r = &insn_table[d.id];
	res->id = d.id;
	res->len = d.len;
	x.next_rip = (cpu->rip + d.len) & RIP_MASK(d.mode);
	if (d.lock && (!(r->flags & ROW_LOCKABLE) || d.mod == 3))
		o = ud(&x);
	else if (r->feature && !(cpu->features & r->feature))
		o = ud(&x);
	else
		o = r->run(&x);
	if (o == INSN_DONE) {
		if (saved.rflags & INSN_RFLAGS_TF)
			res->side |= INSN_SIDE_SINGLE_STEP;
		cpu->rflags &= ~INSN_RFLAGS_RF;
		cpu->rip = x.next_rip;
	} else if (o != INSN_EXCEPTION || res->exc.kind == INSN_EXC_FAULT) {
		/* Handlers change nothing before they fail; make it so regardless. */
		*cpu = saved;
		res->side = 0;
	}
	return res->outcome = o;
}
