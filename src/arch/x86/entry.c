/* entry.c - apply a boot plan: kestrel's low tables per protocol, and the registers each vCPU
 * starts with. */
#include "arch/x86/entry.h"

#include <errno.h>
#include <string.h>

#include "arch/x86/boot.h"

int x86_plan_memory(const struct boot_plan *p, const struct guest_mem *mem)
{
	uint8_t *low;

	if (!p->low_tables)
		return 0; /* multiboot, PVH: low memory is the guest's */
	low = guest_mem_ptr(mem, 0, KESTREL_LOW_RESERVED);
	if (!low)
		return -ENOMEM;
	if (p->proto == BOOT_LINUX64)
		return x86_build_tables(low, X86_LINUX_MAP_END, X86_GDT_LINUX);
	return x86_build_tables(low, x86_map_end(guest_mem_end(mem)), X86_GDT_KESTREL);
}

bool x86_plan_vcpu(const struct boot_plan *p, const struct guest_mem *mem, unsigned index,
		   struct kvm_sregs *s, struct kvm_regs *r)
{
	if (index > 0 && p->aps_wait_sipi)
		return false;
	memset(r, 0, sizeof(*r));
	r->rflags = 0x2; /* bit 1 reads as 1; IF clear */
	switch (p->proto) {
	case BOOT_KESTREL:
		x86_long_mode_sregs(s, X86_GDT_KESTREL);
		x86_start_regs(r, p->entry, mem->r[0].gpa + mem->r[0].size, index);
		r->rsi = p->arg;
		break;
	case BOOT_LINUX64:
		/* boot.rst, 64-bit boot protocol: RSI = boot_params, CS/DS flat. */
		x86_long_mode_sregs(s, X86_GDT_LINUX);
		r->rip = p->entry;
		r->rsi = p->arg;
		break;
	case BOOT_PVH:
	case BOOT_MULTIBOOT1:
		/* Multiboot 1 spec 3.2 / PVH: 32-bit, paging off, EBX = info. */
		x86_protected_mode_sregs(s);
		r->rip = p->entry;
		r->rax = p->magic;
		r->rbx = p->arg;
		break;
	}
	return true;
}
