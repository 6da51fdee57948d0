/* quirk.c - the host-quirk fallback: instructions KVM failed to emulate, carried out through the
 * register cache. */
#include "arch/x86/quirk.h"

#include <cpuid.h>
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/x86/cpuid.h"
#include "arch/x86/walk.h"
#include "core/vcpu.h"

struct quirk_ctx {
	struct vcpu *v;
	struct walk_mode mode;
};

/* Translate [linear, linear + len) page by page; fill gpa[] (at most 2 pages). */
static int quirk_translate(struct quirk_ctx *c, uint64_t linear, unsigned len, bool write,
			   uint8_t **host, unsigned *first, struct insn_fault *f)
{
	unsigned n1 = 4096 - (unsigned)(linear & 4095);
	struct walk_result wr[2];
	unsigned parts = len > n1 ? 2 : 1;

	if (len == 0 || len > 16)
		return -EINVAL;
	*first = parts == 2 ? n1 : len;
	for (unsigned i = 0; i < parts; i++) {
		uint64_t la = i ? (linear + n1) : linear;
		int r = walk_data(&c->v->vm->mem, &c->mode, la, write, &wr[i]);
		if (r == WALK_FAULT) {
			*f = (struct insn_fault){.vector = INSN_VEC_PF,
						 .has_error_code = true,
						 .error_code = wr[i].pf_error,
						 .addr = la};
			return INSN_OPS_FAULT;
		}
		if (r < 0)
			return r;
		unsigned n = i ? len - n1 : *first;
		host[i] = guest_mem_ptr(&c->v->vm->mem, wr[i].gpa, n);
		if (!host[i])
			return -EFAULT; /* MMIO or outside RAM: not for the fallback */
		/* A write onto a paging structure of its own walk would change a
		 * translation behind KVM's write tracking: refuse it. */
		if (write)
			for (unsigned t = 0; t < wr[i].ntables; t++)
				if ((wr[i].gpa & ~4095ull) == wr[i].tables[t])
					return -EPERM;
	}
	if (parts == 1)
		host[1] = NULL;
	return 0;
}

static int quirk_read(void *ctx, uint64_t linear, void *buf, unsigned len, struct insn_fault *f)
{
	uint8_t *h[2];
	unsigned first;
	int r = quirk_translate(ctx, linear, len, false, h, &first, f);

	if (r)
		return r;
	memcpy(buf, h[0], first);
	if (h[1])
		memcpy((uint8_t *)buf + first, h[1], len - first);
	return 0;
}

static int quirk_write(void *ctx, uint64_t linear, const void *buf, unsigned len,
		       struct insn_fault *f)
{
	uint8_t *h[2];
	unsigned first;
	int r = quirk_translate(ctx, linear, len, true, h, &first, f);

	if (r)
		return r;
	memcpy(h[0], buf, first);
	if (h[1])
		memcpy(h[1], (const uint8_t *)buf + first, len - first);
	return 0;
}

/* The LOCK prefix's atomicity against other vCPUs: the host's own cmpxchg on
 * the guest page (aligned operands only: 8 bytes crossing a page are refused). */
static int quirk_cmpxchg(void *ctx, uint64_t linear, void *old, const void *new, unsigned len,
			 struct insn_fault *f)
{
	uint8_t *h[2];
	unsigned first;
	int r = quirk_translate(ctx, linear, len, true, h, &first, f);

	if (r)
		return r;
	if (h[1] || ((uintptr_t)h[0] & (len - 1)))
		return -EOPNOTSUPP;
	if (len == 8) {
		uint64_t exp, des;
		memcpy(&exp, old, 8);
		memcpy(&des, new, 8);
		__atomic_compare_exchange_n((uint64_t *)h[0], &exp, des, false, __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST);
		memcpy(old, &exp, 8);
		return 0;
	}
	if (len == 16) {
		/* Every x86-64 host that runs KVM has CMPXCHG16B; no libatomic. */
		uint64_t o[2], n[2];
		memcpy(o, old, 16);
		memcpy(n, new, 16);
		__asm__ volatile("lock cmpxchg16b %0"
				 : "+m"(*(unsigned __int128 *)h[0]), "+a"(o[0]), "+d"(o[1])
				 : "b"(n[0]), "c"(n[1])
				 : "memory", "cc");
		memcpy(old, o, 16);
		return 0;
	}
	return -EINVAL;
}

bool x86_quirk_cpuid(struct kvm_cpuid2 *t)
{
	return t && x86_cpuid_drop_pv(t, X86_KVM_PV_HYPERCALL_FEATURES) != 0;
}

static const struct insn_ops quirk_ops = {quirk_read, quirk_write, quirk_cmpxchg};

/* What the guest was told: on these hosts the guest executes the host's
 * native CPUID for the basic leaves (see docs/), so ask the CPU. */
static uint32_t quirk_features(void)
{
	unsigned a, b, c, d;
	uint32_t f = 0;

	if (__get_cpuid(1, &a, &b, &c, &d)) {
		f |= (c & (1u << 23) ? INSN_F_POPCNT : 0) | (d & (1u << 25) ? INSN_F_SSE : 0) |
		     (c & (1u << 26) ? INSN_F_XSAVE : 0) | (d & (1u << 8) ? INSN_F_CX8 : 0) |
		     (c & (1u << 13) ? INSN_F_CX16 : 0) | (d & (1u << 19) ? INSN_F_CLFLUSH : 0) |
		     (d & (1u << 26) ? INSN_F_SSE2 : 0);
	}
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
		f |= (b & (1u << 20) ? INSN_F_SMAP : 0) | (b & (1u << 23) ? INSN_F_CLFLUSHOPT : 0) |
		     (b & (1u << 24) ? INSN_F_CLWB : 0) | (b & (1u << 10) ? INSN_F_INVPCID : 0) |
		     (c & (1u << 22) ? INSN_F_RDPID : 0);
	}
	if (__get_cpuid_count(0xd, 1, &a, &b, &c, &d) && (a & (1u << 2)))
		f |= INSN_F_XGETBV1;
	if (__get_cpuid(0x80000008, &a, &b, &c, &d) && (b & (1u << 4)))
		f |= INSN_F_RDPRU;
	return f;
}

static void quirk_cpu(struct vcpu *v, struct insn_cpu *cpu)
{
	const struct kvm_regs *r = regs_group_REGS(&v->regs);
	const struct kvm_sregs *s = regs_group_SREGS(&v->regs);
	const __u64 *g = &r->rax;
	static const uint8_t order[16] = {0, 2, 3, 1, 6, 7, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15};
	struct kvm_xcrs xcrs = {0};

	/* struct kvm_regs: rax rbx rcx rdx rsi rdi rsp rbp r8..r15; insn: rax rcx rdx rbx rsp rbp
	 * rsi rdi. */
	memset(cpu, 0, sizeof(*cpu));
	for (unsigned i = 0; i < 16; i++)
		cpu->gpr[i] = g[order[i]];
	cpu->rip = r->rip;
	cpu->rflags = r->rflags;
	cpu->cr0 = s->cr0;
	cpu->cr2 = s->cr2;
	cpu->cr3 = s->cr3;
	cpu->cr4 = s->cr4;
	cpu->efer = s->efer;
	cpu->seg_base[INSN_ES] = s->es.base;
	cpu->seg_base[INSN_CS] = s->cs.base;
	cpu->seg_base[INSN_SS] = s->ss.base;
	cpu->seg_base[INSN_DS] = s->ds.base;
	cpu->seg_base[INSN_FS] = s->fs.base;
	cpu->seg_base[INSN_GS] = s->gs.base;
	cpu->cpl = s->cs.dpl & 3;
	cpu->long_mode = s->efer & (1ull << 10);
	cpu->cs_l = s->cs.l;
	cpu->cs_db = s->cs.db;
	cpu->mxcsr = regs_group_FPU(&v->regs)->mxcsr;
	if (ioctl(v->fd, KVM_GET_XCRS, &xcrs) == 0)
		for (unsigned i = 0; i < xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++)
			if (xcrs.xcrs[i].xcr == 0)
				cpu->xcr0 = xcrs.xcrs[i].value;
	cpu->features = quirk_features();
}

static void quirk_put_regs(struct vcpu *v, const struct insn_cpu *cpu)
{
	struct kvm_regs r = *regs_group_REGS(&v->regs);
	__u64 *g = &r.rax;
	static const uint8_t order[16] = {0, 2, 3, 1, 6, 7, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15};

	for (unsigned i = 0; i < 16; i++)
		g[order[i]] = cpu->gpr[i];
	r.rip = cpu->rip;
	r.rflags = cpu->rflags;
	regs_put_REGS(&v->regs, &r);
}

static void quirk_inject(struct vcpu *v, const struct insn_exception *x)
{
	struct kvm_vcpu_events ev = *regs_group_EVENTS(&v->regs);

	if (x->kind == INSN_EXC_SOFT_INT) {
		/* int n: delivered as an interrupt with RIP after the instruction. */
		ev.interrupt.injected = 1;
		ev.interrupt.nr = x->vector;
		ev.interrupt.soft = 0;
	} else {
		if (x->vector == INSN_VEC_PF) {
			struct kvm_sregs s = *regs_group_SREGS(&v->regs);
			s.cr2 = x->cr2;
			regs_put_SREGS(&v->regs, &s);
		}
		ev.exception.injected = 1;
		ev.exception.nr = x->vector;
		ev.exception.has_error_code = x->has_error_code;
		ev.exception.error_code = x->error_code;
	}
	ev.flags &= ~(uint32_t)(KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM);
	regs_put_EVENTS(&v->regs, &ev);
}

const char *x86_quirk_name(unsigned i)
{
	if (i == X86_QUIRK_SYSCALL)
		return "syscall";
	return i < INSN_ID_COUNT ? insn_name((enum insn_id)i) : "?";
}

int x86_quirk_read(struct vcpu *v, uint64_t la, void *buf, unsigned len)
{
	const struct kvm_sregs *s = regs_group_SREGS(&v->regs);
	struct quirk_ctx c = {.v = v};
	struct insn_fault f;

	c.mode = (struct walk_mode){
	    s->cr0, s->cr3, s->cr4, s->efer, regs_get_rflags(&v->regs), s->cs.dpl & 3u};
	return quirk_read(&c, la, buf, len, &f) ? -1 : 0;
}

int x86_quirk_emulation_failure(struct vcpu *v)
{
	const struct kvm_run *run = v->run;
	struct quirk_ctx c = {.v = v};
	struct insn_cpu cpu;
	struct insn_result res;

	if (v->vm->cfg.no_host_quirks || run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION ||
	    run->emulation_failure.ndata < 3 ||
	    !(run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES))
		return -1;
	if (run->emulation_failure.insn_size >= 3 && run->emulation_failure.insn_bytes[0] == 0x0f &&
	    run->emulation_failure.insn_bytes[1] == 0x01 &&
	    run->emulation_failure.insn_bytes[2] == 0xca) {
		int q = x86_quirk_syscall_pf(v);
		if (q != 0)
			return q < 0 ? q : 0;
	}
	quirk_cpu(v, &cpu);
	if (v->regs.error)
		return v->regs.error;
	c.mode = (struct walk_mode){cpu.cr0, cpu.cr3, cpu.cr4, cpu.efer, cpu.rflags, cpu.cpl};
	switch (insn_emulate(&cpu, &quirk_ops, &c, run->emulation_failure.insn_bytes,
			     run->emulation_failure.insn_size, &res)) {
	case INSN_DONE:
		quirk_put_regs(v, &cpu);
		if (res.side & INSN_SIDE_MXCSR) {
			struct kvm_fpu fpu = *regs_group_FPU(&v->regs);
			fpu.mxcsr = cpu.mxcsr;
			regs_put_FPU(&v->regs, &fpu);
		}
		if (res.side & INSN_SIDE_TLB_FLUSH) /* setting SREGS resets KVM's MMU context */
			regs_put_SREGS(&v->regs, regs_group_SREGS(&v->regs));
		break;
	case INSN_EXCEPTION:
		quirk_put_regs(v, &cpu); /* a trap moved RIP past the instruction */
		quirk_inject(v, &res.exc);
		break;
	case INSN_UNKNOWN:
	case INSN_ERROR:
	default:
		vm_log(v->vm,
		       "cpu %u: host quirk: cannot carry out the instruction KVM failed on: %s",
		       v->index, res.why);
		return -1;
	}
	if (res.id < X86_QUIRK_SLOTS && v->quirk_done[res.id]++ == 0)
		vm_log(v->vm,
		       "cpu %u: host quirk: KVM could not emulate %s at RIP 0x%llx; kestrel "
		       "carried it out (counted in %s; %s turns this off)",
		       v->index, insn_name(res.id), (unsigned long long)regs_get_rip(&v->regs),
		       vm_name(v->vm, "kestrel_vm_print_stats"), vm_name(v->vm, "no_host_quirks"));
	return v->regs.error;
}

/*
 * The probe: a throwaway VM (one page, one vCPU, no irqchip) runs
 * `popcnt ax, ax; hlt` in real mode. Hardware KVM runs it and exits on the
 * HLT; a KVM that emulates guest CPL0 code without popcnt stops with an
 * emulation failure. ~3 ms, only for guests that need to know (Linux).
 */
bool x86_quirk_probe(int kvm_fd)
{
	static const uint8_t code[] = {0xf3, 0x0f, 0xb8, 0xc0, 0xf4};
	int vm = -1, cpu = -1, size;
	struct kvm_run *run = MAP_FAILED;
	void *mem = MAP_FAILED;
	bool quirky = false;
	struct kvm_sregs s;
	struct kvm_regs r = {.rip = 0, .rflags = 2};

	vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (vm < 0 || size <= 0 || mem == MAP_FAILED)
		goto out;
	memcpy(mem, code, sizeof(code));
	struct kvm_userspace_memory_region slot = {.memory_size = 4096,
						   .userspace_addr = (uintptr_t)mem};
	if (ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000u) < 0 ||
	    ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0 ||
	    (cpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0)
		goto out;
	run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0);
	if (run == MAP_FAILED || ioctl(cpu, KVM_GET_SREGS, &s) < 0)
		goto out;
	s.cs.base = 0;
	s.cs.selector = 0;
	if (ioctl(cpu, KVM_SET_SREGS, &s) < 0 || ioctl(cpu, KVM_SET_REGS, &r) < 0 ||
	    ioctl(cpu, KVM_RUN, 0) < 0)
		goto out;
	quirky = run->exit_reason == KVM_EXIT_INTERNAL_ERROR &&
		 run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION;
out:
	if (run != MAP_FAILED)
		munmap(run, (size_t)size);
	if (cpu >= 0)
		close(cpu);
	if (vm >= 0)
		close(vm);
	if (mem != MAP_FAILED)
		munmap(mem, 4096);
	return quirky;
}
