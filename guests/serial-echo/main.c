/* serial-echo - reads bytes from the UART and echoes them in upper case, by polling LSR or taking
 * IRQ 4 through the IOAPIC; reports the count and a checksum of what it got. */
#include "apic.h"
#include "guest.h"
#include "trap.h"

/*
 * Command line: `poll` (default) or `irq`; `n=N` reads exactly N bytes
 * (any values), else it reads up to a '.' (not counted); `quiet` does not
 * echo; `force` (with `irq`) goes on without an IOAPIC, to see what kestrel
 * says when the UART's interrupt has nowhere to go. `irq` needs the in-kernel IOAPIC (kestrel --pit
 * for an ELF guest): the guest programs IOAPIC pin 4 to a vector on this CPU, enables the UART's RX
 * interrupt (IER bit 0, MCR OUT2) and only ever reads the UART in its handler, which takes bytes
 * while LSR.DR says so; the main loop waits in `sti; hlt`. When its buffer is full the handler
 * throttles as Linux's 8250 driver does (RX interrupt off: IRQ 4 is edge-triggered, so leaving data
 * behind with it on would never interrupt again) and the main loop turns it
 * back on at half full. A TSC-deadline watchdog checks every 250 ms that data
 * is not left waiting with no interrupt (a lost edge).
 *
 * Prints `serial-echo: mode=M ready`, the echo, then
 * `KESTREL-SERIAL-ECHO-OK mode=M bytes=N fnv=0xH irqs=I timeouts=T throttled=R`
 * (FNV-1a 32 of the bytes). Exit status: N mod 100; 2 data waited with no
 * interrupt, 3 an unexpected trap, 4 no IOAPIC.
 */

#define COM1 KESTREL_PORT_COM1
#define UART_RBR 0
#define UART_IER 1
#define UART_IIR 2
#define UART_FCR 2
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define LSR_DR 0x01

#define IOAPIC_BASE 0xfec00000ul
#define UART_VECTOR 0x34u
#define WATCHDOG_VECTOR 0x35u

#define STATUS_LOST_IRQ 2
#define STATUS_NO_IOAPIC 4

/* Bytes the handler received, for the main loop (one producer, one consumer). */
static volatile uint8_t ring[4096];
static volatile uint32_t ring_head, ring_tail;
static volatile uint32_t irqs, rx_timeouts, throttled, throttles;
static volatile uint32_t watchdog_ticks, lost;
static uint64_t watchdog_period;

static void ioapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)IOAPIC_BASE = reg;
	*(volatile uint32_t *)(IOAPIC_BASE + 0x10) = v;
}

static uint32_t ioapic_read(uint32_t reg)
{
	*(volatile uint32_t *)IOAPIC_BASE = reg;
	return *(volatile uint32_t *)(IOAPIC_BASE + 0x10);
}

/* As Linux's 8250 handler: read IIR until it says "none", take every byte LSR.DR offers. */
static void uart_isr(struct trap_frame *f)
{
	(void)f;
	irqs++;
	for (unsigned guard = 0; guard < 64; guard++) {
		uint8_t iir = inb(COM1 + UART_IIR);
		if (iir & 1)
			break;
		switch (iir & 0x0e) {
		case 0x0c:
			rx_timeouts++;
			/* fall through */
		case 0x04:
			while (inb(COM1 + UART_LSR) & LSR_DR) {
				if (ring_head - ring_tail == sizeof(ring)) {
					outb(COM1 + UART_IER, 0); /* throttle */
					throttled = 1;
					throttles++;
					break;
				}
				ring[ring_head % sizeof(ring)] = inb(COM1 + UART_RBR);
				__atomic_store_n(&ring_head, ring_head + 1, __ATOMIC_RELEASE);
			}
			break;
		case 0x06:
			inb(COM1 + UART_LSR);
			break;
		case 0x00:
			inb(COM1 + UART_MSR);
			break;
		default: /* 0x02, THRE: not enabled */
			break;
		}
	}
	apic_eoi();
}

/* Data the UART says is there, and no byte arrived since the last tick: the interrupt was lost. */
static void watchdog_isr(struct trap_frame *f)
{
	static uint32_t seen_head, waiting;

	(void)f;
	watchdog_ticks++;
	if ((inb(COM1 + UART_LSR) & LSR_DR) && ring_head == seen_head) {
		if (++waiting >= 2)
			lost = 1;
	} else {
		waiting = 0;
	}
	seen_head = ring_head;
	tsc_deadline_arm(rdtsc() + watchdog_period);
	apic_eoi();
}

static int irq_setup(const struct kestrel_boot_info *bi)
{
	uint32_t ver;

	trap_init("serial-echo");
	trap_set(UART_VECTOR, uart_isr);
	apic_init(cpu_has_x2apic());
	ver = ioapic_read(0x01);
	if (((ver & 0xff) == 0 || ver == 0xffffffffu) && !cmdline_has_word(bi, "force")) {
		printf("serial-echo: no IOAPIC at 0x%lx (version register 0x%x): irq mode needs "
		       "the in-kernel irqchip (kestrel --pit)\n",
		       IOAPIC_BASE, ver);
		return STATUS_NO_IOAPIC;
	}
	/* Pin 4 (ISA IRQ 4, no override): fixed delivery, physical, edge, active high, unmasked, to
	 * this CPU. */
	ioapic_write(0x10 + 2 * KESTREL_IRQ_COM1 + 1, apic_id() << 24);
	ioapic_write(0x10 + 2 * KESTREL_IRQ_COM1, UART_VECTOR);
	if (cpu_has_tsc_deadline() && bi->tsc_khz) {
		trap_set(WATCHDOG_VECTOR, watchdog_isr);
		watchdog_period = bi->tsc_khz * 250;
		apic_timer_deadline_mode(WATCHDOG_VECTOR);
		tsc_deadline_arm(rdtsc() + watchdog_period);
	}
	outb(COM1 + UART_FCR, 0x81); /* FIFOs on (not cleared: nothing is lost), trigger 8 */
	outb(COM1 + UART_MCR, 0x0b); /* DTR, RTS, OUT2: the interrupt reaches the IOAPIC */
	outb(COM1 + UART_IER, 0x01); /* received data available */
	return 0;
}

/* The next byte: from the handler's ring (irq), or by polling LSR.DR. -1: lost interrupt. */
static int next_byte(bool irq)
{
	if (!irq) {
		while (!(inb(COM1 + UART_LSR) & LSR_DR))
			pause();
		return inb(COM1 + UART_RBR);
	}
	irq_disable();
	while (__atomic_load_n(&ring_head, __ATOMIC_ACQUIRE) == ring_tail) {
		if (lost) {
			irq_enable();
			return -1;
		}
		irq_wait();
		irq_disable();
	}
	uint8_t b = ring[ring_tail % sizeof(ring)];
	__atomic_store_n(&ring_tail, ring_tail + 1, __ATOMIC_RELEASE);
	/* Unthrottle at half full: the RX interrupt comes back on, and data that
	 * waits makes INTR rise, a new edge. */
	if (throttled && ring_head - ring_tail <= sizeof(ring) / 2) {
		throttled = 0;
		outb(COM1 + UART_IER, 0x01);
	}
	irq_enable();
	return b;
}

int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	bool irq = cmdline_has_word(bi, "irq"), quiet = cmdline_has_word(bi, "quiet");
	const char *mode = irq ? "irq" : "poll";
	uint64_t want = 0;
	bool counted = cmdline_uint(bi, 0, &want);
	uint32_t fnv = 0x811c9dc5u;
	uint64_t n = 0;
	int r;

	if (cpu != 0)
		return 0;
	if (irq && (r = irq_setup(bi)) != 0)
		return r;
	printf("serial-echo: mode=%s ready\n", mode);
	while (!counted || n < want) {
		int c = next_byte(irq);
		if (c < 0) {
			printf("\nserial-echo: LSR.DR set for 2 watchdog ticks with no interrupt "
			       "(%u taken): IRQ 4 lost\n",
			       irqs);
			return STATUS_LOST_IRQ;
		}
		if (!counted && c == '.')
			break;
		n++;
		fnv = (fnv ^ (uint8_t)c) * 16777619u;
		if (quiet)
			continue;
		if (c >= 'a' && c <= 'z')
			c -= 'a' - 'A';
		serial_putc(c == '\r' ? '\n' : (char)c);
	}
	if (irq)
		outb(COM1 + UART_IER, 0);
	printf("\nKESTREL-SERIAL-ECHO-OK mode=%s bytes=%lu fnv=0x%08x irqs=%u timeouts=%u "
	       "throttled=%u\n",
	       mode, (unsigned long)n, fnv, irqs, rx_timeouts, throttles);
	return (int)(n % 100);
}
