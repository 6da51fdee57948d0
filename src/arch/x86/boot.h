/* boot.h - pure builders for the x86-64 state kestrel gives bare-metal guests (no KVM calls). */
#ifndef KESTREL_ARCH_X86_BOOT_H
#define KESTREL_ARCH_X86_BOOT_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#include "core/guestmem.h"
#include "kestrel/abi.h"

/* Which selectors the GDT has: kestrel's ABI (code 0x08, data 0x10, TSS
 * 0x18), or the Linux 64-bit boot protocol's (__BOOT_CS 0x10, __BOOT_DS
 * 0x18, TSS 0x20). Both live at KESTREL_GDT_ADDR. */
enum x86_gdt_layout { X86_GDT_KESTREL, X86_GDT_LINUX };
#define X86_LINUX_SEL_CODE 0x10u
#define X86_LINUX_SEL_DATA 0x18u
#define X86_LINUX_SEL_TSS 0x20u

/*
 * x86_build_tables - write the GDT (null, 64-bit code, data, 16-byte TSS
 * descriptor), the TSS and identity-mapping page tables (PML4 at
 * KESTREL_PML4_ADDR, one PDPT, 2 MiB PDEs) covering [0, map_end) into `low`,
 * the host mapping of guest-physical [0, KESTREL_LOW_RESERVED).
 * map_end is rounded up to a GiB. Returns 0, or -E2BIG when map_end needs
 * more than KESTREL_PD_MAX_PAGES page directories.
 */
int x86_build_tables(uint8_t *low, uint64_t map_end, enum x86_gdt_layout layout);

/* x86_map_end - what kestrel identity-maps for a guest whose RAM ends at ram_end:
 * max(4 GiB, ram_end) rounded up to 1 GiB. */
uint64_t x86_map_end(uint64_t ram_end);

/*
 * x86_long_mode_sregs - turn KVM's reset-state sregs `s` into kestrel's 64-bit
 * start state (segments matching the GDT above, TR, CR0/CR3/CR4/EFER, empty IDT).
 * Leaves apic_base and interrupt_bitmap as KVM set them.
 */
void x86_long_mode_sregs(struct kvm_sregs *s, enum x86_gdt_layout layout);

/*
 * x86_protected_mode_sregs - the 32-bit entry state of multiboot and PVH:
 * flat 4 GiB code (CS 0x08) and data (0x10) segments, paging off
 * (CR0 = PE|ET), CR4 = 0, EFER = 0, a busy TSS for VM entry, GDTR/IDTR
 * empty (such guests load their own). Nothing is written to guest memory.
 */
void x86_protected_mode_sregs(struct kvm_sregs *s);

/*
 * x86_start_regs - the general registers vCPU `index` starts with (ABI in abi.h):
 * RIP = entry, RSP = its stack top, RDI = index, RSI = boot info, RFLAGS = 2.
 * stack_top is the end of the first RAM region.
 */
void x86_start_regs(struct kvm_regs *r, uint64_t entry, uint64_t stack_top, unsigned index);

/*
 * x86_build_boot_info - fill the boot info page. cmdline may be NULL.
 * Returns 0, or -E2BIG if cmdline (plus its NUL) exceeds KESTREL_CMDLINE_MAX.
 */
int x86_build_boot_info(struct kestrel_boot_info *bi, const struct guest_mem *mem, unsigned ncpus,
			uint64_t tsc_khz, const char *cmdline);

#endif
