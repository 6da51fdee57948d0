/* serial.c - polled output on the 16550 UART at KESTREL_PORT_COM1. */
#include "guest.h"

#define UART_THR 0	   /* transmit holding register (write) */
#define UART_LSR 5	   /* line status register */
#define UART_LSR_THRE 0x20 /* THR empty: ready for the next byte */

/* Polls before giving up on THRE and writing anyway (each poll is a VM exit). */
#define THRE_POLLS 100000u

/*
 * Set once the UART failed to report THRE in time; later bytes are written
 * without polling so a broken LSR costs one timeout rather than one per byte.
 */
static bool lsr_broken;

/*
 * No initialisation (baud divisor, LCR): kestrel's UART needs none and a
 * DLAB write sequence would only risk stray bytes on an emulated device.
 */
void serial_putc(char c)
{
	if (!__atomic_load_n(&lsr_broken, __ATOMIC_RELAXED)) {
		unsigned polls = 0;

		while (!(inb(KESTREL_PORT_COM1 + UART_LSR) & UART_LSR_THRE)) {
			if (++polls == THRE_POLLS) {
				__atomic_store_n(&lsr_broken, true, __ATOMIC_RELAXED);
				break;
			}
			pause();
		}
	}
	outb(KESTREL_PORT_COM1 + UART_THR, (uint8_t)c);
}

void serial_write(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		serial_putc(s[i]);
}

void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}
