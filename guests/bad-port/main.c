/* bad-port - touch a port no device claims: reads must return 0, writes are dropped. */
#include "guest.h"

#define UNHANDLED_PORT 0x6666

int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	uint8_t v;

	(void)bi;
	if (cpu != 0)
		return 0;

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
