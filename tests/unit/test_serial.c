/* test_serial.c - the 16550A model through its device contract: registers, the RX FIFO, IIR
 * priorities, the interrupt line's edges, loopback, odd accesses. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev/serial.h"
#include "tap.h"

/*
 * A fake VM: the dev_*() calls serial.c makes, defined here (so the linker
 * takes these and not src/core/devhost.c's). It records the console output,
 * hands out "host input" from a buffer, and logs every change of IRQ 4.
 */
static struct fake {
	bus_handler thr, regs;
	void *opaque;
	uint8_t out[256];
	size_t out_len;
	uint8_t in[256];
	size_t in_len, in_pos;
	int line;	  /* last level driven, -1 before any */
	unsigned calls;	  /* dev_irq_line calls */
	unsigned rises;	  /* 0 -> 1 */
	unsigned bad_gsi; /* calls for another line */
	int irq_errno;	  /* what dev_irq_line returns */
	unsigned logs;	  /* dev_log lines */
	char last_log[400];
} f;

int dev_register(struct dev_host *h, const struct dev_region *r)
{
	if (r->space != BUS_PIO)
		return -EINVAL;
	if (r->base == KESTREL_PORT_COM1 && r->len == 1)
		f.thr = r->fn;
	else if (r->base == KESTREL_PORT_COM1 + 1 && r->len == 7)
		f.regs = r->fn;
	else
		return -EINVAL;
	f.opaque = r->opaque;
	return 0;
}

void dev_console_write(struct dev_host *h, const void *buf, size_t len)
{
	if (f.out_len + len <= sizeof(f.out)) {
		memcpy(f.out + f.out_len, buf, len);
		f.out_len += len;
	}
}

size_t dev_console_read(struct dev_host *h, uint8_t *buf, size_t len)
{
	size_t k = f.in_len - f.in_pos < len ? f.in_len - f.in_pos : len;

	memcpy(buf, f.in + f.in_pos, k);
	f.in_pos += k;
	return k;
}

int dev_irq_line(struct dev_host *h, unsigned gsi, bool level)
{
	f.calls++;
	if (gsi != 4)
		f.bad_gsi++;
	if (level && f.line != 1)
		f.rises++;
	f.line = level;
	return f.irq_errno;
}

void dev_log(struct dev_host *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f.last_log, sizeof(f.last_log), fmt, ap);
	va_end(ap);
	f.logs++;
}

const char *dev_config_name(const struct dev_host *h, const char *field)
{
	return !strcmp(field, "pit") ? "PIT-FIELD" : field;
}

static void *state;

/* A fresh UART: every test starts from reset. */
static void uart_new(void)
{
	if (state)
		serial_dev.fini(state);
	free(state);
	memset(&f, 0, sizeof(f));
	f.line = -1;
	state = calloc(1, serial_dev.state_size);
	if (serial_dev.init((struct dev_host *)&f, state) < 0 || !f.thr || !f.regs)
		abort();
}

static void outb_(unsigned off, uint8_t v)
{
	uint8_t d[8] = {v};

	if (off == 0)
		f.thr(NULL, f.opaque, 0, d, 1, true);
	else
		f.regs(NULL, f.opaque, off - 1, d, 1, true);
}

static uint8_t inb_(unsigned off)
{
	uint8_t d[8] = {0};

	if (off == 0)
		f.thr(NULL, f.opaque, 0, d, 1, false);
	else
		f.regs(NULL, f.opaque, off - 1, d, 1, false);
	return d[0];
}

/* Host input arrives: into the fake's buffer, then the device's input hook. */
static void host_input(const char *s, size_t n)
{
	memcpy(f.in + f.in_len, s, n);
	f.in_len += n;
	serial_dev.input(state);
}

enum { RBR = 0, THR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

static void test_reset(void)
{
	uart_new();
	TAP_EQ_U64(inb_(IIR), 0x01, "reset: IIR says no interrupt, FIFOs off");
	TAP_EQ_U64(inb_(LSR), 0x60, "reset: LSR = THRE | TEMT, no data");
	TAP_EQ_U64(inb_(MSR), 0xb0, "reset: MSR = DCD | DSR | CTS (a peer is there)");
	TAP_EQ_U64(inb_(LCR), 0x03, "reset: 8N1");
	TAP_EQ_U64(inb_(MCR), 0x08, "reset: OUT2 on (the IRQ gate)");
	TAP_EQ_U64(inb_(IER), 0x00, "reset: no interrupt enabled");
	TAP_EQ_U64(inb_(RBR), 0x00, "an empty RBR reads 0");
	outb_(THR, 'A');
	outb_(THR, 'b');
	TAP_OK(f.out_len == 2 && !memcmp(f.out, "Ab", 2), "THR bytes reach the console");
	TAP_EQ_U64(f.calls, 0, "no interrupt enabled: the line is never touched");
	outb_(FCR, 0x01);
	TAP_EQ_U64(inb_(IIR), 0xc1, "FCR enable: IIR bits 7:6 say 16550A FIFOs");
	outb_(FCR, 0x01 | 0x20);
	TAP_EQ_U64(inb_(IIR) & 0x20, 0, "no 64-byte FIFO (IIR bit 5 stays 0: not a 16750)");
	outb_(IER, 0xff);
	TAP_EQ_U64(inb_(IER), 0x0f, "IER keeps bits 3:0 (no XScale UUE bit)");
	outb_(SCR, 0x5a);
	TAP_EQ_U64(inb_(SCR), 0x5a, "scratch register");
}

static void test_receive(void)
{
	uint8_t got[100];

	uart_new();
	outb_(FCR, 0x01);
	host_input("abc", 3);
	TAP_EQ_U64(inb_(LSR), 0x61, "input: LSR.DR set");
	got[0] = inb_(RBR);
	got[1] = inb_(RBR);
	got[2] = inb_(RBR);
	TAP_OK(!memcmp(got, "abc", 3), "RBR gives the bytes in order");
	TAP_EQ_U64(inb_(LSR), 0x60, "FIFO empty: DR clear");
	TAP_EQ_U64(inb_(RBR), 0, "and RBR reads 0");

	/* More than the FIFO holds: 16 taken, the rest left with the host until there is room. */
	char many[100];
	for (int i = 0; i < 100; i++)
		many[i] = (char)(i + 1);
	host_input(many, 100);
	TAP_EQ_U64(f.in_pos, 3 + 16, "a 16-byte FIFO takes 16 bytes of 100");
	size_t n = 0;
	while ((inb_(LSR) & 0x01) && n < sizeof(got))
		got[n++] = inb_(RBR);
	TAP_EQ_U64(n, 100, "polling LSR.DR and RBR gets all 100 (refilled as it empties)");
	TAP_OK(!memcmp(got, many, 100), "... in order, none lost or doubled");
	TAP_EQ_U64(inb_(LSR) & 0x03, 0, "no overrun from host input: it waits instead");

	/* FIFOs off: the 16450's one-byte RBR. */
	outb_(FCR, 0x00);
	TAP_EQ_U64(inb_(IIR), 0x01, "FIFOs off: IIR bits 7:6 clear");
	host_input("xy", 2);
	TAP_EQ_U64(f.in_len - f.in_pos, 1, "FIFOs off: one byte taken, one waits");
	TAP_EQ_U64(inb_(RBR), 'x', "RBR x");
	TAP_EQ_U64(inb_(RBR), 'y', "RBR y after the refill");
	host_input("pq", 2);
	outb_(FCR, 0x02);
	TAP_EQ_U64(inb_(LSR) & 1, 1, "FIFOs off: FCR's clear bit is not programmed without bit 0");
	outb_(FCR, 0x01);
	TAP_EQ_U64(f.in_len - f.in_pos, 0, "FIFOs on: the FIFO fills up");
	TAP_EQ_U64(inb_(RBR), 'p', "switching FIFOs on keeps the byte the 16450 RBR held");
	TAP_EQ_U64(inb_(RBR), 'q', "... then the FIFO's");
	host_input("r", 1);
	outb_(FCR, 0x00);
	TAP_EQ_U64(inb_(LSR) & 1, 0, "switching FIFOs off clears them");

	/* FCR's clear bit drops what is in the FIFO, then the line fills it again. */
	outb_(FCR, 0x01);
	host_input("0123456789abcdefXYZ", 19);
	outb_(FCR, 0x03);
	TAP_EQ_U64(inb_(RBR), 'X', "FCR clear RX: the FIFO's 16 bytes are gone, the next come in");
}

static void test_rx_interrupt(void)
{
	uart_new();
	outb_(FCR, 0xc1); /* trigger level 14 */
	outb_(IER, 0x01);
	TAP_EQ_U64(f.calls, 0, "RDI enabled, no data: no edge");
	host_input("hi", 2);
	TAP_EQ_INT(f.line, 1, "data arrives: IRQ 4 goes high");
	TAP_EQ_U64(f.bad_gsi, 0, "only IRQ 4 is driven");
	TAP_EQ_U64(inb_(IIR), 0xcc, "2 bytes under the 14-byte trigger: character timeout (0xcc)");
	host_input("0123456789abcdef", 16);
	TAP_EQ_U64(inb_(IIR), 0xc4, "16 bytes at the trigger: received data available (0xc4)");
	TAP_EQ_U64(f.rises, 1, "one edge for all of it: the line stayed high");
	for (int i = 0; i < 18; i++)
		inb_(RBR);
	TAP_EQ_INT(f.line, 0, "FIFO drained: the line drops");
	TAP_EQ_U64(inb_(IIR), 0xc1, "IIR: none");
	host_input("z", 1);
	TAP_EQ_U64(f.rises, 2, "the next byte is a new edge");
	outb_(MCR, 0x00);
	TAP_EQ_INT(f.line, 0, "OUT2 off: the interrupt is gated off the line");
	TAP_EQ_U64(inb_(IIR), 0xcc, "... though IIR still shows it");
	outb_(MCR, 0x08);
	TAP_EQ_INT(f.line, 1, "OUT2 on again: the line rises");
	outb_(IER, 0x00);
	TAP_EQ_INT(f.line, 0, "IER 0: the line drops, data still there");
	TAP_EQ_U64(inb_(LSR) & 1, 1, "LSR.DR");
	TAP_EQ_U64(f.calls, f.rises * 2, "the line is driven only on changes (one call per edge)");
}

static void test_thre_interrupt(void)
{
	uart_new();
	outb_(FCR, 0x01);
	/* Linux's 8250 startup: enable THRI, IIR must show it; again after IER 0. */
	outb_(IER, 0x02);
	TAP_EQ_INT(f.line, 1, "enabling THRI with THR empty raises the interrupt");
	TAP_EQ_U64(inb_(IIR), 0xc2, "IIR: THR empty (0xc2)");
	TAP_EQ_INT(f.line, 0, "reading IIR that shows THRE clears it: the line drops");
	TAP_EQ_U64(inb_(IIR), 0xc1, "IIR: none");
	outb_(IER, 0x00);
	outb_(IER, 0x02);
	TAP_EQ_U64(inb_(IIR), 0xc2, "IER 0 then THRI again: THRE again (no UART_BUG_THRE)");
	outb_(THR, 'q');
	TAP_EQ_INT(f.line, 1, "a THR write empties at once: THRE again");
	TAP_OK(f.out_len == 1 && f.out[0] == 'q', "and the byte reached the console");
	outb_(THR, 'r');
	TAP_EQ_U64(f.rises, 3, "a THR write while THRE is pending is no new edge");

	/* Priorities: line status > received data > THRE > modem status. */
	host_input("k", 1);
	outb_(IER, 0x03);
	TAP_EQ_U64(inb_(IIR), 0xc4, "RX and THRE pending: IIR shows RX first (trigger level 1)");
	TAP_EQ_U64(inb_(IIR), 0xc4, "reading IIR for RX does not clear THRE (or RX)");
	inb_(RBR);
	TAP_EQ_U64(inb_(IIR), 0xc2, "RX read: now THRE");
	TAP_EQ_U64(inb_(IIR), 0xc1, "and then none");
}

static void test_loopback(void)
{
	uart_new();
	outb_(FCR, 0x01);
	/* Linux's autoconfig check: MCR = LOOP | OUT2 | RTS, MSR & 0xf0 must be 0x90. */
	outb_(MCR, 0x1a);
	TAP_EQ_U64(inb_(MSR) & 0xf0, 0x90, "loopback: RTS->CTS, OUT2->DCD (Linux's 0x90 test)");
	TAP_EQ_U64(inb_(MSR) & 0x0f, 0, "deltas are cleared by reading MSR");
	host_input("host", 4);
	TAP_EQ_U64(f.in_pos, 0, "loopback: host input is not received");
	outb_(THR, 'L');
	TAP_EQ_U64(f.out_len, 0, "loopback: THR does not reach the console");
	TAP_EQ_U64(inb_(LSR) & 1, 1, "loopback: the byte is received");
	TAP_EQ_U64(inb_(RBR), 'L', "... and reads back");
	for (int i = 0; i < 17; i++)
		outb_(THR, (uint8_t)('a' + i));
	outb_(IER, 0x04);
	TAP_EQ_U64(inb_(IIR), 0xc6, "17 bytes into 16: overrun, a line-status interrupt (0xc6)");
	TAP_EQ_U64(f.rises, 0, "loopback cuts the IRQ line (OUT2 is internal)");
	TAP_EQ_U64(inb_(LSR), 0x63, "LSR: DR | OE | THRE | TEMT");
	TAP_EQ_U64(inb_(LSR), 0x61, "reading LSR clears OE");
	TAP_EQ_U64(inb_(IIR), 0xc1, "... and the line-status interrupt");
	TAP_EQ_U64(inb_(RBR), 'a', "the first 16 are kept");
	outb_(IER, 0x08);
	outb_(MCR, 0x10);
	TAP_EQ_U64(inb_(IIR), 0xc0, "modem lines change with MSI enabled: IIR 0xc0");
	TAP_EQ_U64(inb_(MSR), 0x09, "MSR: all lines off, DCTS and DDCD set");
	outb_(MCR, 0x14);
	outb_(MCR, 0x10);
	TAP_EQ_U64(inb_(MSR) & 0x04, 0x04, "RI going off sets TERI");
	outb_(FCR, 0x03);
	outb_(MCR, 0x08);
	TAP_EQ_U64(f.in_pos, 4, "out of loopback: host input is received again");
	TAP_EQ_U64(inb_(RBR), 'h', "... from its first byte");
	TAP_EQ_U64(inb_(MSR) & 0xf0, 0xb0, "MSR: a peer again");
}

static void test_dlab_and_odd_accesses(void)
{
	uint8_t d[8];

	uart_new();
	outb_(LCR, 0x83);
	outb_(0, 0x0c);
	outb_(1, 0x00);
	TAP_EQ_U64(f.out_len, 0, "DLAB: offset 0 is the divisor latch, not THR");
	TAP_EQ_U64(inb_(0), 0x0c, "DLL reads back");
	outb_(LCR, 0x03);
	TAP_EQ_U64(inb_(IER), 0x00, "DLM was not IER");
	outb_(THR, 'x');
	TAP_EQ_U64(f.out_len, 1, "DLAB clear: THR again");

	memset(d, 0, sizeof(d));
	f.regs(NULL, f.opaque, LSR - 1, d, 4, false);
	TAP_OK(d[0] == 0x60 && !d[1] && !d[2] && !d[3], "a 4-byte read of LSR: LSR, then zeros");
	memset(d, 0, sizeof(d));
	d[0] = 'w';
	d[1] = 'v';
	f.thr(NULL, f.opaque, 0, d, 2, true);
	TAP_OK(f.out_len == 2 && f.out[1] == 'w', "a 2-byte THR write sends its low byte only");
	outb_(LSR, 0x00);
	outb_(MSR, 0x00);
	TAP_EQ_U64(inb_(LSR), 0x60, "LSR writes are ignored");
	TAP_EQ_U64(inb_(MSR), 0xb0, "MSR writes are ignored");
	memset(d, 0, sizeof(d));
	f.regs(NULL, f.opaque, 7, d, 1, false);
	TAP_EQ_U64(d[0], 0, "an offset past the UART (handler called out of range) reads 0");
	d[0] = 0xff;
	f.regs(NULL, f.opaque, 100, d, 1, true);
	TAP_EQ_U64(inb_(IER), 0, "... and a write there changes nothing");
}

static void test_irq_errors(void)
{
	uart_new();
	f.irq_errno = -ENODEV;
	outb_(IER, 0x02);
	outb_(IER, 0x00);
	outb_(IER, 0x02);
	TAP_EQ_U64(f.logs, 1, "no irqchip: one warning, not one per edge");
	TAP_STR_CONTAINS(f.last_log, "IRQ 4", "the warning names the IRQ");
	TAP_STR_CONTAINS(f.last_log, "PIC/IOAPIC", "and what is missing");
	TAP_STR_CONTAINS(f.last_log, "(PIT-FIELD adds one)",
			 "and the setting, as the embedder names it");
	TAP_EQ_U64(inb_(IIR), 0x02, "the register model works on without a line");
}

int main(void)
{
	test_reset();
	test_receive();
	test_rx_interrupt();
	test_thre_interrupt();
	test_loopback();
	test_dlab_and_odd_accesses();
	test_irq_errors();
	serial_dev.fini(state);
	free(state);
	return tap_done();
}
