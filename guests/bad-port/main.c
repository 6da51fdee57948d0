/* bad-port - touch a port no device claims: reads must return 0, writes are dropped.
 * With `all`: read every one of the 65,536 ports once (what a probing guest does to the
 * log: kestrel must not print a line for each). */
#include "guest.h"

#define UNHANDLED_PORT 0x6666

int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	uint8_t v;

	if (cpu != 0)
		return 0;

	if (cmdline_has_word(bi, "all")) {
		unsigned nonzero = 0;
		printf("bad-port: reading all 65536 ports\n");
		for (uint32_t port = 0; port <= 0xffff; port++)
			nonzero += inb((uint16_t)port) != 0;
		/* Devices answer on their own ports; the rest must read 0. */
		printf("KESTREL-BAD-PORT-ALL-OK ports=65536 nonzero=%u\n", nonzero);
		return 0;
	}
	printf("bad-port: probing unhandled port\n");
	v = inb(UNHANDLED_PORT);
	outb(UNHANDLED_PORT, 0x5a);
	if (v != 0) {
		printf("bad-port: read 0x%02x from port 0x%x, expected 0\n", v, UNHANDLED_PORT);
		return 1;
	}
	printf("KESTREL-BAD-PORT-OK read=0x%02x\n", v);
	return 0;
}
