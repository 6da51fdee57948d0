/* plan.h - what a loader hands the VM: a boot plan (protocol, entry state, the memory it claims,
 * the platform it needs). */
#ifndef KESTREL_LOAD_PLAN_H
#define KESTREL_LOAD_PLAN_H

/*
 * A loader is pure code: it checks an untrusted image, writes the image and
 * whatever tables its protocol defines (a Linux zero page, a multiboot
 * information block, a PVH start info) into guest RAM through
 * guest_mem_ptr(), and describes the result here. It makes no KVM call.
 * Arch code (src/arch/x86/) turns the plan into vCPU state and kernel
 * objects; the core never looks inside an image.
 *
 * Model: Firecracker's EntryPoint/BootProtocol (src/vmm/src/arch/mod.rs).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/guestmem.h"

enum boot_protocol {
	BOOT_KESTREL,	 /* kestrel's bare-metal ELF64 ABI (abi.h): every vCPU starts in
			  * 64-bit mode at entry, RSI = boot info, kestrel's tables below 1 MiB */
	BOOT_LINUX64,	 /* Linux 64-bit boot protocol: BSP in 64-bit mode at entry,
			  * RSI = zero page, GDT with __BOOT_CS 0x10 / __BOOT_DS 0x18,
			  * identity map; APs wait for INIT/SIPI */
	BOOT_PVH,	 /* PVH (Xen hvm_start_info): BSP in 32-bit protected mode, paging
			  * off, EBX = start info; APs wait for INIT/SIPI */
	BOOT_MULTIBOOT1, /* multiboot v1: BSP in 32-bit protected mode, paging off,
			  * EAX = 0x2BADB002, EBX = info block; APs wait for INIT/SIPI;
			  * nothing of kestrel's below 1 MiB */
};

/* A guest-physical range a loader wrote or reserved, for overlap checks and messages. */
struct boot_claim {
	gpa_t start;
	uint64_t size;
	const char *what; /* "kernel", "initrd", "zero page", "module 1", ... */
};

#define BOOT_MAX_CLAIMS 24u

struct boot_plan {
	enum boot_protocol proto;
	gpa_t entry;	    /* RIP (EIP) the boot CPU starts at */
	uint64_t arg;	    /* BOOT_KESTREL: boot info gpa (RSI); BOOT_LINUX64: zero page (RSI);
			     * BOOT_PVH / BOOT_MULTIBOOT1: start info / info block (EBX) */
	uint32_t magic;	    /* BOOT_MULTIBOOT1: 0x2BADB002 in EAX; BOOT_PVH: 0 */
	bool aps_wait_sipi; /* only the BSP runs; the others wait for INIT/SIPI in the LAPIC */
	bool low_tables;    /* kestrel's GDT/TSS/page tables below 1 MiB (BOOT_KESTREL,
			     * BOOT_LINUX64); false: low memory is the guest's */
	bool acpi;	    /* the platform needs ACPI tables (0xE0000-0xFFFFF) */
	bool pit;	    /* the guest may calibrate against or tick from the PIT (the VM then
			     * gets KVM's PIT and the full in-kernel irqchip it needs) */
	bool ioapic;	    /* the guest routes ISA interrupts through an IOAPIC (Linux) */
	unsigned nclaims;
	struct boot_claim claims[BOOT_MAX_CLAIMS];
	char note[256]; /* a remark for -v (e.g. "video mode request ignored"), or "" */
};

/* boot_plan_claim - record [start, start + size) as `what`. Returns 0, or
 * -ENOSPC when the plan is full, -EEXIST when it overlaps an earlier claim,
 * -EINVAL when it wraps. Pure. */
static inline int boot_plan_claim(struct boot_plan *p, gpa_t start, uint64_t size, const char *what)
{
	uint64_t end;

	if (__builtin_add_overflow(start, size, &end))
		return -22; /* EINVAL */
	for (unsigned i = 0; i < p->nclaims; i++) {
		const struct boot_claim *c = &p->claims[i];
		if (size && c->size && start < c->start + c->size && c->start < end)
			return -17; /* EEXIST */
	}
	if (p->nclaims >= BOOT_MAX_CLAIMS)
		return -28; /* ENOSPC */
	p->claims[p->nclaims++] = (struct boot_claim){start, size, what};
	return 0;
}

/* What a loader gets besides the image: all untrusted bytes from files. */
struct boot_module {
	const uint8_t *data;
	size_t len;
	const char *string; /* multiboot module string / file name, may be NULL */
};

#define BOOT_MAX_MODULES 16u

struct boot_input {
	const uint8_t *image; /* the kernel image (untrusted) */
	size_t len;
	const char *image_name; /* its file name, for messages and multiboot's argv[0] */
	const char *cmdline;	/* kernel command line / guest arguments ("" if none) */
	unsigned ncpus;
	uint64_t tsc_khz;  /* 0 if unknown */
	bool no_cpuid_tsc; /* CPUID carries no TSC rate (--no-cpuid-tsc): a guest may
			    * calibrate against the PIT */
	unsigned nmodules; /* modules[0] is the initrd (Linux) or the first module (multiboot) */
	struct boot_module modules[BOOT_MAX_MODULES];
	bool no_host_decompress; /* Linux: boot the bzImage's own decompressor */
	/* kestrel_config.field_name: how messages name a setting (util/error.h's error_name) */
	const char *(*field_name)(const char *field);
};

/* boot_name - how a loader's message names a setting: "mem_size", or what
 * in->field_name makes of it ("--mem" for the kestrel command). */
static inline const char *boot_name(const struct boot_input *in, const char *field)
{
	const char *n = in && in->field_name ? in->field_name(field) : NULL;

	return n ? n : field;
}

#endif
