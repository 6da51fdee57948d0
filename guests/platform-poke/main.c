/* platform-poke - drive the PC/QEMU platform devices from a kestrel guest, well and badly, one mode
 * per word on the command line. */
#include "guest.h"

/*
 * Modes (any number, run in order; a mode that ends the VM ends the list):
 *   check     fw_cfg signature/ID/CPU count/RAM size, CMOS RAM size and BCD
 *             time, a PCI bus scan (no device), the ACPI PM timer moving,
 *             pc-testdev scratch and MMIO: prints KESTREL-PLATFORM-OK or the
 *             first mismatch and exits 1
 *   hostile   fw_cfg selector 0xffff and 0x4000|0x19 read far past their
 *             end, 32-bit fw_cfg accesses, pc-testdev flushes of pages that
 *             are not RAM (0xfffff000) and odd widths, IRQ line writes of
 *             widths other than 1 (ignored), an ACPI S3 request (ignored), half of "Shutdown",
 *             PCI writes of garbage, CMOS index 0xff: must all be survived
 *   irq       every pc-testdev IRQ line raised and lowered (KVM_IRQ_LINE)
 *   s5        ACPI poweroff through PM1a_CNT (SLP_TYP 5 | SLP_EN)
 *   sleepctl  ACPI poweroff through the hardware-reduced SLEEP_CONTROL
 *   shutdown  "Shutdown" to port 0x8900
 *   cf9       reset through 0xcf9
 * Without a mode that ends the VM it exits 0 after the last one; 3 when such
 * a mode did not end it.
 */

#define PM1A_CNT 0x604
#define PM_TMR 0x608
#define SLEEP_CTL 0x60c

static void fw_sel(uint16_t key)
{
	outw(KESTREL_PORT_FW_CFG, key);
}

static uint64_t fw_read_le(unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)inb(KESTREL_PORT_FW_CFG_DATA) << (8 * i);
	return v;
}

static uint8_t cmos(uint8_t idx)
{
	outb(KESTREL_PORT_CMOS_INDEX, idx);
	return inb(KESTREL_PORT_CMOS_DATA);
}

static int fail(const char *what, uint64_t got, uint64_t want)
{
	printf("platform-poke: %s: got 0x%lx, want 0x%lx\n", what, (unsigned long)got,
	       (unsigned long)want);
	return 1;
}

static int check(const struct kestrel_boot_info *bi)
{
	volatile uint32_t *mmio = (volatile uint32_t *)(uintptr_t)KESTREL_TESTDEV_MMIO;
	uint64_t v, below = bi->regions[0].size;
	unsigned found = 0;

	fw_sel(0x0000);
	v = fw_read_le(4);
	if (v != 0x554d4551) /* "QEMU" */
		return fail("fw_cfg signature", v, 0x554d4551);
	fw_sel(0x0001);
	if ((v = fw_read_le(4)) != 1)
		return fail("fw_cfg ID", v, 1);
	fw_sel(0x0005);
	if ((v = fw_read_le(2)) != bi->ncpus)
		return fail("fw_cfg CPU count", v, bi->ncpus);
	fw_sel(0x0003);
	if ((v = fw_read_le(8)) != bi->ram_size)
		return fail("fw_cfg RAM size", v, bi->ram_size);
	v = cmos(0x17) | (uint64_t)cmos(0x18) << 8;
	if (v != (below - 0x100000) / 1024 && v != 0xffff)
		return fail("CMOS extended memory", v, (below - 0x100000) / 1024);
	if ((v = cmos(0x5f)) != bi->ncpus - 1)
		return fail("CMOS CPUs - 1", v, bi->ncpus - 1);
	v = cmos(0x32);
	if (v < 0x20 || (v & 0xf) > 9)
		return fail("CMOS century (BCD, >= 20)", v, 0x20);
	for (unsigned dev = 0; dev < 32; dev++) {
		outl(KESTREL_PORT_PCI_ADDR, 0x80000000u | dev << 11);
		if (inl(KESTREL_PORT_PCI_ADDR) != (0x80000000u | dev << 11))
			return fail("PCI address register", inl(KESTREL_PORT_PCI_ADDR), dev << 11);
		found += inw(KESTREL_PORT_PCI_DATA) != 0xffff;
	}
	if (found)
		return fail("PCI devices on bus 0", found, 0);
	uint32_t t0 = inl(PM_TMR), t1;
	for (unsigned i = 0; i < 1000000 && (t1 = inl(PM_TMR)) == t0; i++)
		pause();
	if (t1 == t0)
		return fail("ACPI PM timer moves", t1, t0 + 1);
	outl(KESTREL_PORT_TESTDEV, 0x12345678);
	outb(KESTREL_PORT_TESTDEV + 2, 0xab);
	if ((v = inl(KESTREL_PORT_TESTDEV_BYTE)) != 0x12ab5678)
		return fail("pc-testdev scratch", v, 0x12ab5678);
	mmio[0x100] = 0xdeadbeef;
	if ((v = mmio[0x100]) != 0xdeadbeef)
		return fail("pc-testdev MMIO", v, 0xdeadbeef);
	printf("KESTREL-PLATFORM-OK fw_cfg cmos pci pm-timer testdev\n");
	return 0;
}

static void hostile(void)
{
	volatile uint8_t *mmio = (volatile uint8_t *)(uintptr_t)KESTREL_TESTDEV_MMIO;
	unsigned nonzero = 0;

	fw_sel(0xffff);
	for (unsigned i = 0; i < 5000; i++)
		nonzero += inb(KESTREL_PORT_FW_CFG_DATA) != 0;
	fw_sel(0x4019);
	for (unsigned i = 0; i < 5000; i++)
		(void)inb(KESTREL_PORT_FW_CFG_DATA);
	outl(KESTREL_PORT_FW_CFG, 0xffffffff);
	nonzero += inl(KESTREL_PORT_FW_CFG) != 0;
	outb(KESTREL_PORT_FW_CFG_DATA, 0x5a);
	outl(KESTREL_PORT_TESTDEV_FLUSH, 0xfffff123);
	outl(KESTREL_PORT_TESTDEV_FLUSH, 0xfffff000);
	outw(KESTREL_PORT_TESTDEV_FLUSH, 0x1234);
	outb(KESTREL_PORT_TESTDEV_FLUSH + 3, 0x12);
	nonzero += inl(KESTREL_PORT_TESTDEV_FLUSH) != 0;
	outl(KESTREL_PORT_TESTDEV + 3, 0xffffffff);
	for (unsigned n = 0; n < KESTREL_TESTDEV_IRQ_LINES; n++) {
		outw((uint16_t)(KESTREL_PORT_TESTDEV_IRQ + n), 0xffff);
		outl((uint16_t)(KESTREL_PORT_TESTDEV_IRQ + n), 0);
	}
	mmio[KESTREL_TESTDEV_MMIO_SIZE - 1] = 0x77;
	nonzero += mmio[KESTREL_TESTDEV_MMIO_SIZE - 1] != 0x77;
	outw(PM1A_CNT, (3u << 10) | (1u << 13)); /* S3: logged and ignored */
	outb(SLEEP_CTL, (1u << 2) | (1u << 5));	 /* S1 via SLEEP_CONTROL: ignored */
	for (const char *s = "Shutdow"; *s; s++)
		outb(KESTREL_PORT_BOCHS_SHUTDOWN, (uint8_t)*s);
	outb(KESTREL_PORT_BOCHS_SHUTDOWN, 'X');
	outb(KESTREL_PORT_BOCHS_SHUTDOWN, 'n');
	outb(KESTREL_PORT_PCI_RESET, 0x02);
	outw(KESTREL_PORT_PCI_RESET, 0xffff);
	outl(KESTREL_PORT_PCI_DATA, 0);
	outb(KESTREL_PORT_CMOS_INDEX, 0xff);
	outb(KESTREL_PORT_CMOS_DATA, 0x12);
	outw(KESTREL_PORT_CMOS_INDEX, 0xffff);
	printf("KESTREL-PLATFORM-HOSTILE-OK nonzero=%u\n", nonzero);
}

int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	if (cpu != 0)
		return 0;
	if (cmdline_has_word(bi, "check") && check(bi))
		return 1;
	if (cmdline_has_word(bi, "hostile"))
		hostile();
	if (cmdline_has_word(bi, "irq")) {
		/* Every line up and down (IF = 0 and no IDT: nothing is delivered). */
		for (unsigned n = 0; n < KESTREL_TESTDEV_IRQ_LINES; n++) {
			outb((uint16_t)(KESTREL_PORT_TESTDEV_IRQ + n), 1);
			outb((uint16_t)(KESTREL_PORT_TESTDEV_IRQ + n), 0);
		}
		printf("KESTREL-PLATFORM-IRQ-OK lines=%u\n", KESTREL_TESTDEV_IRQ_LINES);
	}
	bool ender = false;
	if (cmdline_has_word(bi, "s5"))
		ender = true, outw(PM1A_CNT, (5u << 10) | (1u << 13));
	if (cmdline_has_word(bi, "sleepctl"))
		ender = true, outb(SLEEP_CTL, (5u << 2) | (1u << 5));
	if (cmdline_has_word(bi, "shutdown")) {
		ender = true;
		for (const char *s = "Shutdown"; *s; s++)
			outb(KESTREL_PORT_BOCHS_SHUTDOWN, (uint8_t)*s);
	}
	if (cmdline_has_word(bi, "cf9"))
		ender = true, outb(KESTREL_PORT_PCI_RESET, 0x06);
	if (ender) {
		printf("platform-poke: still running after a mode that ends the VM\n");
		return 3;
	}
	return 0;
}
