/* console-flood - console output as fast as the guest can make it: forever, or exactly N bytes. */
#include "guest.h"

#define CHUNK 4096u /* = KESTREL_PUTS_MAX: one exit per call */

static char buf[CHUNK];

/*
 * N (first command-line number, default 0 = never stop) bytes of
 * "console-flood <digits>\n" lines through the PUTS hypercall, 4 KiB a call,
 * with one UART line every 64 calls so both console paths are busy. With
 * N > 0, exactly N bytes reach the console (UART lines count) and the guest
 * exits 0; a PUTS that does not return its length exits 1.
 */
int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	uint64_t want = cmdline_uint_or(bi, 0), sent = 0, calls = 0;
	static const char uart_line[] = "console-flood: uart\n";

	if (cpu != 0)
		return 0;
	for (unsigned i = 0; i < CHUNK; i += 32)
		snprintf(buf + i, 33, "console-flood %017u\n", i);
	while (want == 0 || sent < want) {
		uint64_t left = want ? want - sent : CHUNK;
		size_t n = left < CHUNK ? (size_t)left : CHUNK;
		int64_t r;

		if (++calls % 64 == 0 && n >= sizeof(uart_line) - 1) {
			serial_write(uart_line, sizeof(uart_line) - 1);
			sent += sizeof(uart_line) - 1;
			continue;
		}
		r = puts_hc(buf, n);
		if (r != (int64_t)n)
			return 1;
		sent += n;
	}
	return 0;
}
