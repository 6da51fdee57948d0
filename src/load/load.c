/* load.c - loader dispatch by contents, and kestrel's own bare-metal ELF64 protocol as a boot plan.
 */
#include "load/load.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86/boot.h"
#include "load/elf.h"
#include "load/linux.h"
#include "load/multiboot.h"

const char *load_protocol_name(enum boot_protocol p)
{
	switch (p) {
	case BOOT_KESTREL:
		return "kestrel ELF64";
	case BOOT_LINUX64:
		return "Linux (64-bit boot protocol)";
	case BOOT_PVH:
		return "Linux/PVH";
	case BOOT_MULTIBOOT1:
		return "multiboot";
	}
	return "unknown";
}

enum boot_protocol load_detect(const uint8_t *image, size_t len)
{
	/* Before the ELF64 paths: a multiboot kernel is often an ELF32 (or an
	 * ELF64 with the a.out kludge) that they would refuse or misread. */
	if (multiboot_recognise(image, len))
		return BOOT_MULTIBOOT1;
	if (linux_recognise(image, len))
		return BOOT_LINUX64; /* the loader picks the 64-bit or the PVH entry */
	return BOOT_KESTREL;
}

bool load_wants_acpi(enum boot_protocol p)
{
	return p != BOOT_KESTREL;
}

/* kestrel's ABI (abi.h): the ELF's segments at or above 1 MiB, clear of the
 * stacks at the top of the first region; the boot info page below 1 MiB. */
static int load_kestrel(const struct boot_input *in, const struct guest_mem *mem,
			struct boot_plan *plan, char *why, size_t whylen)
{
	const struct guest_mem_region *low = &mem->r[0];
	uint64_t stacks = (uint64_t)in->ncpus * KESTREL_STACK_SIZE;
	struct load_reserved reserved[] = {
	    {0, KESTREL_LOW_RESERVED, "kestrel's boot tables (below 1 MiB)"},
	    {low->gpa + low->size - stacks, stacks, "the vCPU stacks at the top of RAM"},
	};
	struct kestrel_boot_info *bi;
	int r;

	if (in->nmodules) {
		snprintf(why, whylen,
			 "kestrel's bare-metal ELF guests take no initrd or modules "
			 "(%s and %s are for Linux and multiboot kernels)",
			 boot_name(in, "initrd"), boot_name(in, "modules"));
		return -EINVAL;
	}
	/* A PIT only for a guest with no TSC rate in CPUID: guests/lib calibrates
	 * from CPUID's timing leaves, else against PIT channel 2 (lapic-calib). */
	*plan = (struct boot_plan){.proto = BOOT_KESTREL,
				   .arg = KESTREL_BOOT_INFO_ADDR,
				   .low_tables = true,
				   .pit = in->no_cpuid_tsc || !in->tsc_khz};
	r = elf_load(in->image, in->len, mem, reserved, 2, &plan->entry, why, whylen);
	if (r < 0)
		return r;
	bi = guest_mem_ptr(mem, KESTREL_BOOT_INFO_ADDR, sizeof(*bi));
	if (!bi) {
		snprintf(why, whylen, "guest RAM too small for the boot information");
		return -ENOMEM;
	}
	r = x86_build_boot_info(bi, mem, in->ncpus, in->tsc_khz, in->cmdline);
	if (r < 0)
		snprintf(why, whylen, "guest arguments are too long for the boot information");
	boot_plan_claim(plan, 0, KESTREL_LOW_RESERVED, "kestrel's boot tables");
	return r;
}

int load_image(const struct boot_input *in, const struct guest_mem *mem, gpa_t rsdp,
	       struct boot_plan *plan, char *why, size_t whylen)
{
	if (whylen)
		why[0] = '\0';
	switch (load_detect(in->image, in->len)) {
	case BOOT_MULTIBOOT1:
		return multiboot_load(in, mem, plan, why, whylen);
	case BOOT_LINUX64:
	case BOOT_PVH:
		return linux_load(in, mem, rsdp, plan, why, whylen);
	case BOOT_KESTREL:
	default:
		return load_kestrel(in, mem, plan, why, whylen);
	}
}
