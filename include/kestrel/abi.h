/* abi.h - the contract between kestrel and bare-metal guests: ports, hypercalls, boot state. */
#ifndef KESTREL_ABI_H
#define KESTREL_ABI_H

/*
 * This header is shared by the VMM and the freestanding test guests, so it
 * may only depend on <stdint.h>.
 *
 * vCPU start state (every vCPU, all started at once, no INIT/SIPI dance):
 *   - 64-bit long mode, CPL0, paging on with the identity map described
 *     below, interrupts disabled (RFLAGS = 0x2), no IDT (base 0, limit 0);
 *   - CS = KESTREL_SEL_CODE, DS/ES/SS/FS/GS = KESTREL_SEL_DATA, TR = KESTREL_SEL_TSS;
 *   - RIP = ELF e_entry;
 *   - RSP = top of this vCPU's own KESTREL_STACK_SIZE stack, 16-byte aligned;
 *   - RDI = vCPU index (0 .. ncpus-1; equal to its APIC ID);
 *   - RSI = guest-physical (= virtual) address of struct kestrel_boot_info;
 *   - every other general-purpose register is 0.
 *   CR0 = PE|MP|ET|NE|WP|PG, CR4 = PAE|OSFXSR|OSXMMEXCPT, EFER = LME|LMA.
 *
 * Guest-physical memory map:
 *   [0, KESTREL_LOW_RESERVED)   kestrel's: GDT, TSS, boot info, page tables;
 *                               an ELF segment may not load here.
 *   RAM below KESTREL_HOLE_START, then (with more RAM than that) the rest
 *   from 4 GiB up; boot_info.regions lists the RAM regions.
 *   The stacks sit at the top of the first region: vCPU i's stack is
 *   [top - (i+1)*KESTREL_STACK_SIZE, top - i*KESTREL_STACK_SIZE).
 *   Page tables identity-map (2 MiB pages) everything from 0 up to
 *   max(4 GiB, end of RAM), so the LAPIC/IOAPIC windows are reachable.
 */

#include <stdint.h>

/* Guest-physical layout. */
#define KESTREL_GDT_ADDR 0x1000u
#define KESTREL_TSS_ADDR 0x1080u
#define KESTREL_BOOT_INFO_ADDR 0x2000u
#define KESTREL_PML4_ADDR 0x3000u
#define KESTREL_PDPT_ADDR 0x4000u
#define KESTREL_PD_ADDR 0x5000u		  /* one page of PDEs per GiB mapped */
#define KESTREL_PD_MAX_PAGES 123u	  /* PDs fit below 0x80000 */
#define KESTREL_LOW_RESERVED 0x100000u	  /* images load at or above 1 MiB */
#define KESTREL_HOLE_START 0xC0000000ull  /* 3 GiB: MMIO hole up to 4 GiB */
#define KESTREL_HIGH_START 0x100000000ull /* RAM resumes at 4 GiB */
#define KESTREL_STACK_SIZE 0x8000u	  /* 32 KiB per vCPU */

/* GDT selectors. */
#define KESTREL_SEL_CODE 0x08u
#define KESTREL_SEL_DATA 0x10u
#define KESTREL_SEL_TSS 0x18u

/* Boot information handed to every vCPU in RSI. */
#define KESTREL_BOOT_MAGIC 0x4c4552545345424bull /* "KBESTREL" */
#define KESTREL_BOOT_VERSION 1u
#define KESTREL_CMDLINE_MAX 1024u
#define KESTREL_MAX_REGIONS 2u

struct kestrel_mem_region {
	uint64_t base;
	uint64_t size;
};

struct kestrel_boot_info {
	uint64_t magic;	   /* KESTREL_BOOT_MAGIC */
	uint32_t version;  /* KESTREL_BOOT_VERSION */
	uint32_t ncpus;	   /* number of vCPUs started */
	uint64_t ram_size; /* total guest RAM in bytes */
	uint64_t tsc_khz;  /* guest TSC frequency, 0 if KVM does not know it */
	uint32_t nregions;
	uint32_t cmdline_len; /* bytes in cmdline, not counting the NUL */
	struct kestrel_mem_region regions[KESTREL_MAX_REGIONS];
	char cmdline[KESTREL_CMDLINE_MAX]; /* guest arguments, NUL-terminated */
};

/*
 * Ports.
 *
 * Serial console: a 16550A UART at KESTREL_PORT_COM1 (8 ports); bytes written
 * to THR go to kestrel's standard output, and RBR receives its standard input
 * (LSR bit 0 says a byte is there). Its interrupt is ISA IRQ
 * KESTREL_IRQ_COM1, which reaches a guest only through KVM's full irqchip (a
 * kestrel ELF guest gets it with --pit: IOAPIC pin 4, edge, active high).
 *
 * isa-debug-exit (QEMU compatible): writing v (1, 2 or 4 bytes) to
 * KESTREL_PORT_DEBUG_EXIT..+3 ends kestrel with status ((v << 1) | 1) & 0xff.
 *
 * i8042: writing KESTREL_I8042_RESET to KESTREL_PORT_I8042_CMD resets the
 * machine; kestrel ends with KESTREL_STATUS_RESET.
 *
 * Null port: KESTREL_PORT_NULL ignores writes and reads as zero; the pio-loop
 * benchmark guest hammers it (one plain userspace exit per access).
 *
 * Doorbell: KESTREL_PORT_DOORBELL counts writes of any size and value
 * (kestrel reports the count after the run, `kestrel run --stats`). The guest
 * gets no answer, so kestrel hands the port to KVM as an ioeventfd: a ring
 * signals an eventfd and the guest runs on without an exit. Reads return 0
 * (and do exit).
 */
#define KESTREL_PORT_COM1 0x3f8u
#define KESTREL_IRQ_COM1 4u
#define KESTREL_PORT_DEBUG_EXIT 0xf4u
#define KESTREL_PORT_I8042_DATA 0x60u
#define KESTREL_PORT_I8042_CMD 0x64u
#define KESTREL_I8042_RESET 0xfeu
#define KESTREL_PORT_NULL 0x58u
#define KESTREL_PORT_DOORBELL 0x59u

/*
 * Where kestrel's own ports live (docs/platform.md has the whole map).
 * The hypercalls need an 8-bit port (`out %al, $imm8` leaves RDX to the
 * arguments), so they sit in the one aligned block of 16 below 0x100 that no
 * PC, QEMU (pc, q35, microvm, pc-testdev, isa-debug-exit, kvmvapic) or KVM
 * in-kernel device claims and that Linux neither reserves as a standard PC
 * resource nor probes: 0x30-0x3f (real chipsets alias the PIC there; no
 * virtual one does). The null port and the doorbell take 0x58/0x59 in the
 * likewise unclaimed 0x54-0x5f (Linux's "timer1" stops at 0x53).
 */

/*
 * The PC/QEMU platform devices kestrel puts in every VM, at the ports the
 * kernels written for QEMU expect (src/dev/; the ACPI PM blocks are in
 * src/arch/x86/acpi.h).
 */
#define KESTREL_PORT_CMOS_INDEX 0x70u /* RTC/CMOS: index (bit 7 = NMI mask, ignored) */
#define KESTREL_PORT_CMOS_DATA 0x71u
#define KESTREL_PORT_TESTDEV 0xe0u	 /* pc-testdev: 4-byte scratch register */
#define KESTREL_PORT_TESTDEV_FLUSH 0xe4u /* pc-testdev: 4-byte write of a guest address */
#define KESTREL_PORT_TESTDEV_BYTE 0xe8u	 /* pc-testdev: the scratch register again, byte-wise */
#define KESTREL_PORT_TESTDEV_IRQ 0x2000u /* pc-testdev: 0x2000 + n drives IRQ line n (0..23) */
#define KESTREL_TESTDEV_IRQ_LINES 24u
#define KESTREL_TESTDEV_MMIO 0xff000000ull /* pc-testdev: 64 KiB of RAM-like MMIO */
#define KESTREL_TESTDEV_MMIO_SIZE 0x10000u
#define KESTREL_PORT_FW_CFG 0x510u	    /* fw_cfg: 16-bit write = selector; */
#define KESTREL_PORT_FW_CFG_DATA 0x511u	    /* 8-bit reads = data (either port, as on QEMU) */
#define KESTREL_PORT_PCI_ADDR 0xcf8u	    /* PCI configuration mechanism #1 */
#define KESTREL_PORT_PCI_RESET 0xcf9u	    /* reset control (byte): bit 2 resets */
#define KESTREL_PORT_PCI_DATA 0xcfcu	    /* 0xcfc-0xcff: no device, all ones */
#define KESTREL_PORT_BOCHS_SHUTDOWN 0x8900u /* "Shutdown", byte by byte: power off */

/*
 * Hypercalls.
 *
 * Call number n is made by any `out` to port KESTREL_HC_PORT_BASE + n (the
 * value written is ignored; use `out %al, $imm8` so that RDX stays free).
 * Arguments are in RDI, RSI, RDX, RCX; the result comes back in RAX
 * (a negative errno on failure). No other register changes.
 */
#define KESTREL_HC_PORT_BASE 0x30u
#define KESTREL_HC_COUNT 16u

enum kestrel_hypercall {
	KESTREL_HC_EXIT =
	    0, /* exit(RDI = status 0..119; more is KESTREL_STATUS_GUEST_ERROR): ends the VM */
	KESTREL_HC_PUTS = 1,	 /* puts(RDI = guest address, RSI = length): writes to the
				    console, returns length or -EFAULT / -EINVAL */
	KESTREL_HC_ADD = 2,	 /* add(RDI, RSI, RDX, RCX): returns the sum mod 2^64;
				    lets a guest check arguments and result round-trip */
	KESTREL_HC_NOP = 3,	 /* returns 0: the cheapest register-using hypercall */
	KESTREL_HC_SNAPSHOT = 4, /* snapshot(RDI = resume address): saves this vCPU's
				    registers (general, special, FPU, events) as they
				    are, with RIP = RDI and RAX = 1; returns 0 */
	KESTREL_HC_RESTORE = 5,	 /* restore(): this vCPU continues from its snapshot
				    (RIP = the resume address, RAX = 1, every other
				    register as saved; memory is not touched);
				    -EINVAL if it has none */
};

/* Longest string one PUTS call takes; longer calls get -EINVAL. */
#define KESTREL_PUTS_MAX 4096u

/* errno values guests see (Linux numbering). */
#define KESTREL_EFAULT 14
#define KESTREL_EINVAL 22
#define KESTREL_ENOSYS 38

/*
 * kestrel's own exit statuses. A guest's status (hypercall exit or
 * isa-debug-exit) passes through unchanged when it is at most
 * KESTREL_STATUS_GUEST_MAX; a larger one (120..2^64-1, which would pose as
 * one of kestrel's own, or wrap to 0 as 256 would) becomes
 * KESTREL_STATUS_GUEST_ERROR, with the guest's real value in the reason.
 */
#define KESTREL_STATUS_GUEST_MAX 119
#define KESTREL_STATUS_USAGE 120	/* bad command line */
#define KESTREL_STATUS_IMAGE 121	/* guest image missing, unreadable or invalid */
#define KESTREL_STATUS_HOST 122		/* /dev/kvm or a host resource failed */
#define KESTREL_STATUS_TRIPLE_FAULT 123 /* guest triple-faulted (KVM_EXIT_SHUTDOWN) */
#define KESTREL_STATUS_TIMEOUT 124	/* --timeout expired */
#define KESTREL_STATUS_GUEST_ERROR                                                                 \
	125			  /* KVM internal error, emulation failure,                        \
				     failed entry, unknown exit, or a guest                        \
				     exit status over 119 */
#define KESTREL_STATUS_STRICT 126 /* --strict: unhandled port or MMIO access */
#define KESTREL_STATUS_RESET 127  /* guest asked for a reset (i8042, system event) */
/* Stopped by SIGINT / SIGTERM: 128 + signal number (130 / 143). */

#endif
