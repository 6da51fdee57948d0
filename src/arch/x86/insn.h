/* insn.h - decoder and executor for the few instructions this host's KVM cannot emulate (pure
 * code). */
#ifndef KESTREL_ARCH_X86_INSN_H
#define KESTREL_ARCH_X86_INSN_H

/*
 * The host quirk (issue 15 item 4): on some nested hosts KVM emulates all
 * guest CPL0 code, and its emulator lacks instructions a stock kernel uses.
 * KVM then exits with KVM_EXIT_INTERNAL_ERROR / KVM_INTERNAL_ERROR_EMULATION
 * and, with KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES, hands over
 * up to 15 instruction bytes (run->emulation_failure.insn_bytes/insn_size).
 * insn_emulate() decodes those bytes and, for an instruction in its table,
 * carries it out on a struct insn_cpu the caller filled from the register
 * cache, touching guest memory only through struct insn_ops. Nothing here
 * calls KVM or knows the VM; the caller writes the registers back and injects
 * the exception, if any.
 *
 * Supported (SDM vol. 2 / AMD APM vol. 3 checks, in the SDM's order):
 *   clac, stac         NP 0F 01 CA/CB    #UD: lock, CPL>0, no SMAP
 *   popcnt r, r/m      F3 0F B8 /r       16/32/64 (66, REX.W); ZF = (src == 0), OF SF AF PF CF = 0
 *   fwait              9B                #NM if CR0.MP and CR0.TS; else a no-op (see below)
 *   int3               CC                #BP, a trap (RIP after the CC)
 *   int imm8           CD ib             software interrupt n (RIP after the instruction)
 *   into               CE                #UD in 64-bit mode; #OF trap if RFLAGS.OF; else a no-op
 *   ldmxcsr m32        NP 0F AE /2       #UD: CR0.EM, !CR4.OSFXSR, no SSE; #NM: CR0.TS;
 *                                        #GP(0): bits outside mxcsr_mask
 *   stmxcsr m32        NP 0F AE /3       as ldmxcsr, without the reserved-bit check
 *   xgetbv             NP 0F 01 D0       #UD: !CR4.OSXSAVE; ECX 0: XCR0, ECX 1: XINUSE (with
 *                                        INSN_F_XGETBV1); #GP(0) for any other ECX
 *   cmpxchg8b m64      0F C7 /1          lockable; ZF; EDX:EAX vs m64, ECX:EBX stored
 *   cmpxchg16b m128    REX.W 0F C7 /1    lockable; #GP(0) unless 16-byte aligned; #UD without CX16
 *   clflush m8         NP 0F AE /7       a no-op that checks m8 is readable (#PF)
 *   clflushopt m8      66 0F AE /7       same
 *   clwb m8            66 0F AE /6       same
 *   lfence/mfence/sfence  NP 0F AE E8/F0/F8   a host fence
 *   invpcid r, m128    66 0F 38 82 /r    #GP(0): CPL>0, type > 3, type 0 with a non-canonical
 *                                        address or PCID bits 63:12 set, PCID != 0 for type 0/1
 *                                        without CR4.PCIDE; done: INSN_SIDE_TLB_FLUSH
 *   rdpid r            F3 0F C7 /7 (mod 3)  IA32_TSC_AUX (cpu->tsc_aux) into r32 / r64
 *   rdpru              NP 0F 01 FD       #UD without INSN_F_RDPRU, or CR4.TSD at CPL>0;
 *                                        ECX 0/1: cpu->mperf/aperf, CF=1; others 0, CF=0
 *
 * Decoding: legacy prefixes (66, 67, F2, F3, F0, 2E 36 3E 26 64 65; CS/DS/ES/SS
 * overrides are ignored in 64-bit mode), REX (64-bit mode only, and only
 * right before the opcode), the one-byte, 0F, 0F 38 and 0F 3A maps, ModRM,
 * SIB, displacement (16-bit forms too), RIP-relative addressing, immediate.
 * An instruction longer than 15 bytes is #GP(0). The mandatory prefix is the
 * last of F2/F3 if any, else 66; an encoding whose mandatory prefix, REX.W,
 * ModRM.mod or ModRM.reg does not fit a table row is INSN_UNKNOWN (the CPU
 * may know it; kestrel does not). A LOCK prefix on a row that is not
 * lockable, or with a register operand, is #UD.
 *
 * Not modelled (documented limits): segment limit and type checks outside
 * 64-bit mode (flat segments assumed; the caller supplies segment bases),
 * alignment checks (#AC), data breakpoints, virtual-8086 mode (INSN_UNKNOWN),
 * pending x87 exceptions at fwait (a guest never unmasks them before fwait
 * on this path: fwait here never raises #MF), VEX/EVEX encodings
 * (vldmxcsr: INSN_UNKNOWN), the interrupt shadow (an executed instruction ends
 * it: the caller clears it).
 */

#include <stdbool.h>
#include <stdint.h>

/* The longest x86 instruction; one byte more is #GP(0). */
#define INSN_MAX_LEN 15u

/* What an insn_emulate() call came to. */
enum insn_outcome {
	INSN_DONE = 0,	/* registers updated, RIP advanced by res->len; see res->side */
	INSN_EXCEPTION, /* inject res->exc; cpu state as res->exc.kind says */
	INSN_UNKNOWN,	/* not an instruction kestrel carries out (res->why): report as before */
	INSN_ERROR,	/* an op refused (res->err, a negative errno, and res->why): nothing done */
};

/* The instructions in the table; insn_name() gives their names (for the profiler). */
enum insn_id {
	INSN_ID_NONE = 0,
	INSN_ID_CLAC,
	INSN_ID_STAC,
	INSN_ID_POPCNT,
	INSN_ID_FWAIT,
	INSN_ID_INT3,
	INSN_ID_INT,
	INSN_ID_INTO,
	INSN_ID_LDMXCSR,
	INSN_ID_STMXCSR,
	INSN_ID_XGETBV,
	INSN_ID_CMPXCHG8B,
	INSN_ID_CMPXCHG16B,
	INSN_ID_CLFLUSH,
	INSN_ID_CLFLUSHOPT,
	INSN_ID_CLWB,
	INSN_ID_LFENCE,
	INSN_ID_MFENCE,
	INSN_ID_SFENCE,
	INSN_ID_INVPCID,
	INSN_ID_RDPID,
	INSN_ID_RDPRU,
	INSN_ID_COUNT
};

/* General-purpose register numbers (gpr[] index, ModRM/REX encoding). */
enum insn_reg {
	INSN_RAX,
	INSN_RCX,
	INSN_RDX,
	INSN_RBX,
	INSN_RSP,
	INSN_RBP,
	INSN_RSI,
	INSN_RDI,
	INSN_R8,
	INSN_R9,
	INSN_R10,
	INSN_R11,
	INSN_R12,
	INSN_R13,
	INSN_R14,
	INSN_R15,
};

/* Segment numbers (seg_base[] index, the order of the segment-register encoding). */
enum insn_seg { INSN_ES, INSN_CS, INSN_SS, INSN_DS, INSN_FS, INSN_GS, INSN_NSEG };

/* CPU features the guest was told about (CPUID as the guest executes it: on
 * the quirky host that is the host's native CPUID). A missing one is #UD. */
#define INSN_F_SMAP (1u << 0)	    /* CPUID.7.0:EBX[20]: clac, stac */
#define INSN_F_POPCNT (1u << 1)	    /* CPUID.1:ECX[23] */
#define INSN_F_SSE (1u << 2)	    /* CPUID.1:EDX[25]: ldmxcsr, stmxcsr */
#define INSN_F_XSAVE (1u << 3)	    /* CPUID.1:ECX[26]: xgetbv */
#define INSN_F_XGETBV1 (1u << 4)    /* CPUID.0xD.1:EAX[2]: xgetbv with ECX = 1 */
#define INSN_F_CX8 (1u << 5)	    /* CPUID.1:EDX[8]: cmpxchg8b */
#define INSN_F_CX16 (1u << 6)	    /* CPUID.1:ECX[13]: cmpxchg16b */
#define INSN_F_CLFLUSH (1u << 7)    /* CPUID.1:EDX[19] */
#define INSN_F_CLFLUSHOPT (1u << 8) /* CPUID.7.0:EBX[23] */
#define INSN_F_CLWB (1u << 9)	    /* CPUID.7.0:EBX[24] */
#define INSN_F_SSE2 (1u << 10)	    /* CPUID.1:EDX[26]: lfence, mfence */
#define INSN_F_INVPCID (1u << 11)   /* CPUID.7.0:EBX[10] */
#define INSN_F_RDPID (1u << 12)	    /* CPUID.7.0:ECX[22] */
#define INSN_F_RDPRU (1u << 13)	    /* CPUID.0x80000008:EBX[4] (AMD) */
#define INSN_F_ALL ((1u << 14) - 1)

/* Architectural bits the executor reads or writes. */
#define INSN_RFLAGS_CF (1ull << 0)
#define INSN_RFLAGS_PF (1ull << 2)
#define INSN_RFLAGS_AF (1ull << 4)
#define INSN_RFLAGS_ZF (1ull << 6)
#define INSN_RFLAGS_SF (1ull << 7)
#define INSN_RFLAGS_TF (1ull << 8)
#define INSN_RFLAGS_OF (1ull << 11)
#define INSN_RFLAGS_RF (1ull << 16)
#define INSN_RFLAGS_VM (1ull << 17)
#define INSN_RFLAGS_AC (1ull << 18)
#define INSN_CR0_PE (1ull << 0)
#define INSN_CR0_MP (1ull << 1)
#define INSN_CR0_EM (1ull << 2)
#define INSN_CR0_TS (1ull << 3)
#define INSN_CR4_TSD (1ull << 2)
#define INSN_CR4_OSFXSR (1ull << 9)
#define INSN_CR4_LA57 (1ull << 12)
#define INSN_CR4_PCIDE (1ull << 17)
#define INSN_CR4_OSXSAVE (1ull << 18)
#define INSN_CR4_SMAP (1ull << 21)

/* Exception vectors the executor raises. */
#define INSN_VEC_DB 1
#define INSN_VEC_BP 3
#define INSN_VEC_OF 4
#define INSN_VEC_UD 6
#define INSN_VEC_NM 7
#define INSN_VEC_SS 12
#define INSN_VEC_GP 13
#define INSN_VEC_PF 14

/*
 * The vCPU state the executor sees, filled by the caller from the register
 * cache and written back after INSN_DONE (and after a trap-like
 * INSN_EXCEPTION, which moves rip). Mode: 64-bit when long_mode && cs_l,
 * else 32-bit when cs_db, else 16-bit (real mode too: cr0.PE clear, cpl 0).
 */
struct insn_cpu {
	uint64_t gpr[16]; /* enum insn_reg order */
	uint64_t rip, rflags;
	uint64_t cr0, cr2, cr3, cr4, efer, xcr0;
	uint64_t seg_base[INSN_NSEG]; /* only FS and GS are used in 64-bit mode */
	unsigned cpl;		      /* 0-3 */
	bool long_mode;		      /* EFER.LMA */
	bool cs_l, cs_db;	      /* the code segment's L and D/B bits */
	uint32_t mxcsr;	       /* in and out: after ldmxcsr the caller sets it in the FPU state */
	uint32_t mxcsr_mask;   /* FXSAVE's MXCSR_MASK; 0 means the default 0x0000ffbf */
	uint32_t features;     /* INSN_F_* */
	uint64_t xinuse;       /* xgetbv ECX = 1 (XINUSE), with INSN_F_XGETBV1 */
	uint64_t tsc_aux;      /* IA32_TSC_AUX, for rdpid */
	uint64_t mperf, aperf; /* rdpru ECX = 0 / 1, with INSN_F_RDPRU */
};

/*
 * A fault an op reports: the exception the access raises (normally #PF with
 * its error code and the faulting linear address, which becomes CR2; the
 * address may lie on the second page of an operand that crosses pages).
 */
struct insn_fault {
	uint8_t vector;
	bool has_error_code;
	uint32_t error_code;
	uint64_t addr; /* for #PF: CR2 */
};

/* What an op returns besides 0 (success) and a negative errno (refusal). */
#define INSN_OPS_FAULT 1

/*
 * Guest memory, by linear address, with the guest's own translation and
 * permission checks for a data access at cpu->cpl (the caller's ctx knows
 * the page tables, CR0.WP, CR4.SMAP/SMEP and RFLAGS.AC). An operand may
 * cross a page boundary: an op translates each page (all of them before it
 * touches any, so a write that faults on the second page wrote nothing) and
 * reports the first fault. Each op returns 0, INSN_OPS_FAULT with *f filled,
 * or a negative errno to refuse the access (for instance a write that would
 * land on a guest page-table page behind the back of KVM's write tracking):
 * insn_emulate() then returns INSN_ERROR and changes nothing.
 *
 *   read     copies len bytes at linear into buf.
 *   write    copies len bytes from buf to linear.
 *   cmpxchg  atomically (against other vCPUs: the LOCK prefix's guarantee)
 *            compares the len bytes at linear with *old and, if they are
 *            equal, stores *new; either way it leaves in *old the bytes it
 *            found. len is 8 or 16; linear is 16-aligned when len is 16.
 *            The locked access is a write for the permission checks, even
 *            when the comparison fails (SDM: the destination is always
 *            written).
 * All three are required.
 */
struct insn_ops {
	int (*read)(void *ctx, uint64_t linear, void *buf, unsigned len, struct insn_fault *f);
	int (*write)(void *ctx, uint64_t linear, const void *buf, unsigned len,
		     struct insn_fault *f);
	int (*cmpxchg)(void *ctx, uint64_t linear, void *old, const void *new, unsigned len,
		       struct insn_fault *f);
};

/* How an exception is delivered (KVM_SET_VCPU_EVENTS wants to know). */
enum insn_exc_kind {
	INSN_EXC_FAULT,	   /* cpu->rip is the instruction's own: it restarts after the handler */
	INSN_EXC_SOFT,	   /* int3 (#BP), into (#OF): software exception, cpu->rip after the insn */
	INSN_EXC_SOFT_INT, /* int n: software interrupt n, cpu->rip after the instruction */
};

struct insn_exception {
	enum insn_exc_kind kind;
	uint8_t vector;
	bool has_error_code;
	uint32_t error_code;
	uint64_t cr2; /* #PF: the faulting linear address; the caller sets CR2 on delivery */
};

/* Side effects the caller carries out after INSN_DONE (res->side bits). */
#define INSN_SIDE_TLB_FLUSH (1u << 0)	/* invpcid: flush as res->invpcid says */
#define INSN_SIDE_MXCSR (1u << 1)	/* ldmxcsr: put cpu->mxcsr into the FPU state */
#define INSN_SIDE_SINGLE_STEP (1u << 2) /* RFLAGS.TF was set: deliver a single-step #DB now */

/* invpcid types (SDM vol. 2, INVPCID). */
enum insn_invpcid_type {
	INSN_INVPCID_ADDR = 0,	     /* one address, one PCID */
	INSN_INVPCID_PCID = 1,	     /* all addresses of one PCID, except global ones */
	INSN_INVPCID_ALL_GLOBAL = 2, /* everything, global translations included */
	INSN_INVPCID_ALL = 3,	     /* everything except global translations */
};

/* A decoded instruction (insn_decode). */
struct insn {
	enum insn_id id;	   /* INSN_ID_NONE if no table row fits */
	unsigned len;		   /* bytes, prefixes included */
	unsigned mode;		   /* 16, 32, 64 */
	unsigned opsize, addrsize; /* bytes: 2, 4, 8 */
	uint8_t rex;		   /* 0 if none */
	bool lock, rep, repne, opsize_pfx, addr_pfx;
	int seg_override; /* enum insn_seg, -1 if none (or ignored in 64-bit mode) */
	uint8_t map;	  /* 0: one-byte, 1: 0F, 2: 0F 38, 3: 0F 3A */
	uint8_t opcode;
	bool has_modrm;
	uint8_t modrm, mod, reg, rm; /* reg and rm with REX.R / REX.B */
	bool has_sib;
	uint8_t sib;
	int base, index; /* enum insn_reg, -1 for none; only when mod != 3 */
	unsigned scale;	 /* 1, 2, 4, 8 */
	bool rip_rel;
	int64_t disp;
	uint64_t imm;
};

/* Decoder results besides 0. */
#define INSN_DEC_NOROW (-1)	/* prefixes and opcode read, but no table row fits */
#define INSN_DEC_TRUNCATED (-2) /* the bytes end before the instruction does */
#define INSN_DEC_TOO_LONG (-3)	/* more than 15 bytes: #GP(0) on the CPU */

/*
 * insn_decode - decode the instruction in bytes[0, n) for the mode cpu is in
 * (only the mode fields are read). Returns 0 with *d filled and d->id set,
 * or one of INSN_DEC_*; d->len is then the bytes consumed so far. n beyond
 * INSN_MAX_LEN is treated as INSN_MAX_LEN.
 */
int insn_decode(const uint8_t *bytes, unsigned n, const struct insn_cpu *cpu, struct insn *d);

/* What insn_emulate() reports. */
struct insn_result {
	enum insn_outcome outcome;
	enum insn_id id;	   /* the instruction, when decoded (INSN_ID_NONE otherwise) */
	unsigned len;		   /* its length in bytes (0 if not decoded) */
	struct insn_exception exc; /* INSN_EXCEPTION */
	unsigned side;		   /* INSN_DONE: INSN_SIDE_* */
	struct {
		enum insn_invpcid_type type;
		uint64_t pcid, addr;
	} invpcid;     /* with INSN_SIDE_TLB_FLUSH */
	int err;       /* INSN_ERROR: the op's negative errno */
	char why[112]; /* INSN_UNKNOWN / INSN_ERROR: one line, what and what to do */
};

/*
 * insn_emulate - decode bytes[0, n) (the instruction at cpu->rip) and carry it
 * out on *cpu through ops/ctx.
 *   INSN_DONE: cpu's registers (gpr, rflags, mxcsr) updated, cpu->rip =
 *     rip + res->len (truncated to the mode's width), RFLAGS.RF cleared;
 *     res->side lists what the caller must still do.
 *   INSN_EXCEPTION: res->exc to inject. A fault leaves *cpu as it was; a
 *     trap (INSN_EXC_SOFT, INSN_EXC_SOFT_INT) only advances cpu->rip.
 *   INSN_UNKNOWN, INSN_ERROR: *cpu unchanged, res->why says why.
 * Guest memory is written only on INSN_DONE, and only through ops.
 * res->id and res->len are set whenever the instruction decoded.
 */
enum insn_outcome insn_emulate(struct insn_cpu *cpu, const struct insn_ops *ops, void *ctx,
			       const uint8_t *bytes, unsigned n, struct insn_result *res);

/* insn_name - "clac", "popcnt", ... for id; "unknown" for INSN_ID_NONE or out of range. */
const char *insn_name(enum insn_id id);

#endif
