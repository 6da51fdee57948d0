/* hello - the smallest end-to-end check: boot info, UART output, PUTS hypercall, exit 0. */
#include "guest.h"

int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	static const char hc_line[] = "hello via the PUTS hypercall\n";
	size_t len;
	const char *args = cmdline_str(bi, &len);
	int64_t ret;

	if (cpu != 0)
		return 0; /* only CPU 0 talks; the others halt */

	printf("hello from kestrel guest: cpu %u of %u, %lu MiB RAM, args '%.*s'\n", cpu, bi->ncpus,
	       bi->ram_size >> 20, (int)len, args);

	ret = puts_hc(hc_line, sizeof(hc_line) - 1);
	if (ret != (int64_t)(sizeof(hc_line) - 1)) {
		printf("hello: PUTS hypercall returned %ld, expected %lu\n", ret,
		       sizeof(hc_line) - 1);
		return 1;
	}

	printf("KESTREL-HELLO-OK\n");
	return 0;
}
