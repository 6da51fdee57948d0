/* mb.h - layout shared by mb-test's 32-bit entry (head.S) and its 64-bit C code. */
#ifndef MB_TEST_MB_H
#define MB_TEST_MB_H

/* Multiboot v1 (the Multiboot Specification 0.6.96, section 3.1). */
#define MB_HEADER_MAGIC 0x1BADB002
#define MB_BOOT_MAGIC 0x2BADB002   /* in EAX at the entry */
#define MB_HF_PAGE_ALIGN (1u << 0) /* modules on 4 KiB boundaries */
#define MB_HF_MEMINFO (1u << 1)	   /* mem_lower/mem_upper (and the memory map) wanted */
#define MB_HEADER_FLAGS (MB_HF_PAGE_ALIGN | MB_HF_MEMINFO)

/* Our own GDT (head.S): the selectors every CPU uses. */
#define SEL_CODE64 0x08
#define SEL_DATA 0x10
#define SEL_CODE32 0x18

/* Stacks: the BSP's, and one page for each AP (APs beyond MAX_APS park uncounted). */
#define BSP_STACK_SIZE 16384
#define AP_STACK_SIZE 4096
#define MAX_APS 15

/*
 * The SIPI vector is a page number below 1 MiB: an AP starts in real mode at
 * CS = vector << 8, IP = 0. The trampoline is written without absolute
 * real-mode addresses, so any free page below 1 MiB will do (0x8000 first).
 */
#define TRAMP_DEFAULT 0x8000

#ifndef __ASSEMBLER__
#include "guest.h"

/* ---- multiboot information block (section 3.3), as the loader wrote it ---- */

#define MBI_MEM (1u << 0)
#define MBI_CMDLINE (1u << 2)
#define MBI_MODS (1u << 3)
#define MBI_MMAP (1u << 6)
#define MBI_LOADER_NAME (1u << 9)

struct mb_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper; /* KiB below 640 KiB / above 1 MiB */
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
};

struct mb_module {
	uint32_t mod_start, mod_end; /* [start, end) */
	uint32_t string;
	uint32_t reserved;
};

/* `size` counts the bytes after itself: the next entry starts at size + 4. */
struct mb_mmap_entry {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type; /* 1 = available RAM */
} __attribute__((packed));

/* ---- what the command line and the env module asked for (main.c) ---------- */

struct mb_config {
	bool testdev; /* `testdev`: probe pc-testdev's scratch ports */
	bool nosmp;   /* `nosmp`: do not start the APs */
	int64_t cpus; /* `cpus=N`, else the module's CPUS=N; -1 when neither */
	int64_t pci;  /* `pci=N`: devices expected on bus 0; -1 = any */
	int64_t mods; /* `mods=N`: modules expected; -1 = any */
};

/* ---- results -------------------------------------------------------------- */

/* Print "PASS name: ..." or "FAIL name: ..." and count a failure. */
void report(bool ok, const char *name, const char *fmt, ...) GUEST_PRINTF(3, 4);
/* Print "SKIP name: ..." (not a failure). */
void skip(const char *name, const char *fmt, ...) GUEST_PRINTF(2, 3);

/* ---- platform.c: fw_cfg, ACPI PM timer, PCI, pc-testdev, the clock --------- */

struct fwcfg_facts {
	bool present;  /* the signature matched */
	uint16_t cpus; /* key 0x05 */
	uint64_t ram;  /* key 0x03, bytes */
};

/* fw_cfg's legacy I/O interface: signature, ID, CPU count, RAM size. */
void fwcfg_checks(struct fwcfg_facts *f);

/* Find the RSDP, follow RSDT/XSDT to the FADT, check the PM timer runs (and
 * its rate when CPUID gives the TSC's). Makes the PM timer the clock. */
void acpi_checks(void);

/* Scan PCI bus 0 through mechanism #1 (0xcf8/0xcfc); `expect` -1 = any count. */
void pci_checks(int64_t expect);

/* QEMU pc-testdev's scratch register at 0xe0-0xe3: 1, 2 and 4-byte read-back. */
void testdev_checks(void);

/* TSC rate from CPUID leaf 0x15 or 0x40000010, 0 if neither gives it. */
uint32_t tsc_khz_cpuid(void);

/* Microseconds since an arbitrary origin: the TSC when its rate is known,
 * else the PM timer once acpi_checks() found one, else the TSC at an assumed
 * 3 GHz (good enough to bound a wait). Call at least once a second. */
uint64_t clock_us(void);
const char *clock_name(void);
void delay_us(uint64_t us);

/* ---- smp.c ---------------------------------------------------------------- */

/* Start the APs by INIT/SIPI/SIPI through the trampoline page `tramp` (below
 * 1 MiB, 4 KiB aligned) and check `expect` CPUs (BSP included) check in. */
void smp_checks(uint32_t tramp, int64_t expect);

/* The AP's C entry (head.S), `slot` 0..MAX_APS-1. */
void ap_main(uint32_t slot);
#endif

#endif
