/* fastpath - exercise kestrel's exit fast paths: N doorbell rings (ioeventfd) or N bytes through
 * the UART (coalesced PIO). */
#include "guest.h"

/*
 * Command line: a mode word and N (the first number, default 1000):
 *   doorbell N   N `outb` to KESTREL_PORT_DOORBELL (value i & 0xff), which
 *                kestrel hands to KVM as an ioeventfd: no exit at all;
 *   uart N       N bytes through the UART the way every guest prints (an LSR
 *                poll, then the THR write), as lines of 63 characters and a
 *                newline; the THR writes go through KVM's coalesced-PIO ring,
 *                the LSR reads still exit;
 *   uart-raw N   the same without the LSR polls (a guest that trusts the
 *                transmitter, as the 16550's FIFO allows): only the ring;
 *   dlab N       ordering through the ring: first N bytes as uart-raw (so
 *                that kestrel has armed its coalesced zone: it does after
 *                the first 256 THR writes), then writes "[A]", sets DLAB (LCR,
 *                an exit), writes 0x42 ('B') to port 0x3f8 (queued: with
 *                DLAB set it is the divisor latch, not a byte to send),
 *                clears DLAB (an exit, which must apply the queued write
 *                first, under DLAB), writes "[C]\n", then reads the latch
 *                back. The console must show "[A][C]" and no 'B'.
 * Then one PUTS line with what it did, and the marker
 *   KESTREL-FASTPATH-OK mode=M n=N
 * `kestrel run --stats` says how many rings and bytes kestrel saw and how
 * many of them were exits. Exit status 0; 1 for an unknown mode or N = 0.
 */

#define DEFAULT_N 1000u
#define UART_LCR 3u
#define UART_LCR_DLAB 0x80u
#define UART_LCR_8N1 0x03u
#define LINE 64u

static char pattern(uint64_t i)
{
	return (i % LINE == LINE - 1) ? '\n' : (char)('a' + i % 26);
}

int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	uint64_t n = cmdline_uint_or(bi, DEFAULT_N);
	const char *mode;

	if (cpu != 0)
		return 0;
	if (n == 0) {
		hc_printf("fastpath: N must be at least 1\n");
		return 1;
	}
	if (cmdline_has_word(bi, "doorbell")) {
		mode = "doorbell";
		for (uint64_t i = 0; i < n; i++)
			outb(KESTREL_PORT_DOORBELL, (uint8_t)i);
		hc_printf("fastpath: rang the doorbell (port 0x%x) %lu times\n",
			  KESTREL_PORT_DOORBELL, n);
	} else if (cmdline_has_word(bi, "uart")) {
		mode = "uart";
		for (uint64_t i = 0; i < n; i++)
			serial_putc(pattern(i));
		hc_printf("%sfastpath: %lu bytes through the UART, each after an LSR poll\n",
			  n % LINE ? "\n" : "", n);
	} else if (cmdline_has_word(bi, "uart-raw")) {
		mode = "uart-raw";
		for (uint64_t i = 0; i < n; i++)
			outb(KESTREL_PORT_COM1, (uint8_t)pattern(i));
		hc_printf("%sfastpath: %lu bytes through the UART, no LSR polls\n",
			  n % LINE ? "\n" : "", n);
	} else if (cmdline_has_word(bi, "dlab")) {
		uint8_t dll;
		mode = "dlab";
		for (uint64_t i = 0; i < n; i++)
			outb(KESTREL_PORT_COM1, (uint8_t)pattern(i));
		if (n % LINE)
			outb(KESTREL_PORT_COM1, '\n');
		outb(KESTREL_PORT_COM1, '[');
		outb(KESTREL_PORT_COM1, 'A');
		outb(KESTREL_PORT_COM1, ']');
		outb(KESTREL_PORT_COM1 + UART_LCR, UART_LCR_DLAB | UART_LCR_8N1);
		outb(KESTREL_PORT_COM1, 0x42); /* DLL */
		outb(KESTREL_PORT_COM1 + UART_LCR, UART_LCR_8N1);
		outb(KESTREL_PORT_COM1, '[');
		outb(KESTREL_PORT_COM1, 'C');
		outb(KESTREL_PORT_COM1, ']');
		outb(KESTREL_PORT_COM1, '\n');
		outb(KESTREL_PORT_COM1 + UART_LCR, UART_LCR_DLAB | UART_LCR_8N1);
		dll = inb(KESTREL_PORT_COM1);
		outb(KESTREL_PORT_COM1 + UART_LCR, UART_LCR_8N1);
		hc_printf("fastpath: divisor latch low reads back 0x%02x (wrote 0x42)\n", dll);
		if (dll != 0x42)
			return 1;
	} else {
		hc_printf("fastpath: give a mode: doorbell N, uart N, uart-raw N or dlab N\n");
		return 1;
	}
	hc_printf("KESTREL-FASTPATH-OK mode=%s n=%lu\n", mode, n);
	return 0;
}
