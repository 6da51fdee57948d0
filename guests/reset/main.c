/* reset - ask the i8042 keyboard controller to pulse the reset line: kestrel ends with 127. */
#include "guest.h"

int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	(void)bi;
	if (cpu != 0)
		return 0;

	printf("reset: asking the i8042 for a reset\n");
	outb(KESTREL_PORT_I8042_CMD, KESTREL_I8042_RESET);

	printf("reset: still running after the reset command\n");
	exit(99);
}
